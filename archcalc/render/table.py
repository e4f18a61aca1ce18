"""One table model for every renderer: a `Table` is built once, then written as aligned text
(styled lines for the terminal), GitHub markdown, CSV or LaTeX (booktabs)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from archcalc.render import terminal
from archcalc.render.markup import Latex, Markdown, is_plain, latex_text, markdown_text

StyledLines = list[tuple[str, str]]
"""Lines of text, each with a rich style name ('' for none): what the CLI prints."""


_new = tuple.__new__
"""Makes a named tuple from its values without its own __new__ (a Python function, as slow again):
`Table.extend` makes a `Line` for every layer so."""


class Column(NamedTuple):
    """A heading and its alignment: '<' left, '>' right, '' unsaid (left in text, `---` in markdown);
    `fixed`: never dropped to fit a terminal, whatever its heading (a sweep's parameter, which the
    user names: one named `kind` or `share` is not the column archcalc.render.terminal drops);
    `optional`: dropped from a table that a narrow terminal would otherwise cut between letters
    (validate's summary: the figures its verdict sums up)."""
    heading: str
    align: str = ""
    fixed: bool = False
    optional: bool = False


class Line(NamedTuple):
    """A row: its cells (text; CSV also takes numbers, and None as an empty field) and a rich style."""
    cells: list
    style: str = ""


class Table:
    """Columns, rows, and an optional footer (the totals, below a rule in text). `compact`: markdown
    writes an empty cell as `| |` rather than `|  |`. `tree`: the column of dotted layer names
    that a terminal shows as a tree (archcalc.render.fitting.tree). (A plain class: importing
    `dataclasses` is a tenth of the start-up of `archcalc table`.)"""

    def __init__(self, columns: list[Column], rows: list[Line] | None = None, footer: Line | None = None,
                 compact: bool = False, tree: int | None = None) -> None:
        self.columns = columns
        self.rows: list[Line] = [] if rows is None else rows
        self.footer = footer
        self.compact = compact
        self.tree = tree

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return vars(self) == vars(other)

    __hash__ = None  # it changes as rows are added

    def __repr__(self) -> str:
        return f"Table({', '.join(f'{name}={value!r}' for name, value in vars(self).items())})"

    def add(self, cells: list, style: str = "") -> None:
        """Append a row; `style` is a rich style name such as 'red'."""
        self.rows.append(Line(cells, style))

    def extend(self, rows: Iterable[Sequence], style: str = "") -> None:
        """Append rows (their cells) of one style."""
        self.rows += [_new(Line, (cells, style)) for cells in rows]

    @property
    def lines(self) -> list[Line]:
        """The rows, then the footer."""
        return [*self.rows, *([self.footer] if self.footer else [])]


def as_text(table: Table) -> StyledLines:
    """Aligned text: the headings in bold, a dim rule, the rows, then a rule and the footer; on a
    terminal, fitted to its width (archcalc.render.terminal)."""
    if terminal.WIDTH is not None:
        return _fitted(table, terminal.WIDTH)
    lines = table.lines
    columns = list(zip([column.heading for column in table.columns], *(line.cells for line in lines)))
    widths = [max(map(cell_width, texts)) for texts in columns]
    padded = [[padded_to(text, width, column.align) for text in texts]  # a column at a time
              for column, texts, width in zip(table.columns, columns, widths)]
    heading, *texts = map(str.rstrip, map("  ".join, zip(*padded)))
    rule = ("─" * (sum(widths) + 2 * (len(widths) - 1)), "dim")
    out = [(heading, "bold"), rule, *zip(texts, [line.style for line in table.rows])]
    if table.footer:
        out += [rule, (texts[-1], table.footer.style)]
    return out


def cell_width(text: str) -> int:
    """The terminal cells `text` takes, as rich (which prints the tables) measures them: two for a
    wide or full-width character (CJK, most emoji), none for a combining one. Text of ASCII and
    the narrow signs the tables write (×, ·, —, ✓, box lines) is measured without importing rich."""
    if text.isascii() or _NARROW.fullmatch(text):
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


_NARROW = re.compile("[ -~\u00a0-\u02ff\u2013\u2014\u2026\u2212\u2264\u2265\u2308-\u230b\u2500-\u257f"
                     "\u2713\u2717]*")
"""Characters one terminal cell wide each: Latin letters and signs, dashes, ≤ ≥, floors and
ceilings, box lines, ✓ ✗."""


def padded_to(text: str, width: int, align: str) -> str:
    """`text` padded with spaces to `width` terminal cells: on the left where `align` is '>'."""
    room = " " * (width - cell_width(text))
    return room + text if align == ">" else text + room


def _fitted(table: Table, width: int) -> StyledLines:
    from archcalc.render.fitting import fit, tree

    footer = table.footer
    rows, styles = [list(map(str, row.cells)) for row in table.rows], [row.style for row in table.rows]
    if table.tree is not None and rows:
        rows, styles = tree(rows, styles, table.tree)
    return fit([column.heading for column in table.columns], [column.align for column in table.columns], rows, styles,
               footer and list(map(str, footer.cells)), footer.style if footer else "", width,
               [column.fixed for column in table.columns], [column.optional for column in table.columns])


_RULES = {"<": ":--", ">": "--:", "": "---"}


def as_markdown(table: Table) -> list[str]:
    """GitHub markdown lines: headings, the alignment row, the rows and the footer. Each heading
    and cell is escaped with `markdown_text` unless it is `Markdown` (then it is written as it is)."""
    empty = " |" if table.compact else "  |"

    def line(cells: list[str]) -> str:
        if cells and (all(cells) or not table.compact) and is_plain(" ".join(cells)):
            return "| " + " | ".join(cells) + " |"  # the usual line: nothing to escape, no cell written short
        return "|" + "".join(f" {_markdown_cell(c)} |" if c else empty for c in cells)

    return [line([column.heading for column in table.columns]),
            "|" + "".join(f"{_RULES[column.align]}|" for column in table.columns),
            *(line(row.cells) for row in table.lines)]


def _markdown_cell(text: str) -> str:
    return text if isinstance(text, Markdown) else markdown_text(text)


def as_latex(table: Table) -> list[str]:
    """A LaTeX `tabular` with booktabs' rules: headings, `\\midrule`, the rows, the footer below
    another `\\midrule`; a column right-aligned ('>') is `r`, any other `l`. Each heading and cell is
    escaped with `latex_text` unless it is `Latex`."""
    def line(cells: list[str]) -> str:
        return " & ".join(cell if isinstance(cell, Latex) else latex_text(cell) for cell in cells) + r" \\"

    spec = "".join("r" if column.align == ">" else "l" for column in table.columns)
    return [rf"\begin{{tabular}}{{{spec}}}", r"\toprule", line([column.heading for column in table.columns]),
            r"\midrule", *(line(row.cells) for row in table.rows),
            *([r"\midrule", line(table.footer.cells)] if table.footer else []), r"\bottomrule", r"\end{tabular}"]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""How a field begins that a spreadsheet reads as a formula to run (OWASP, "CSV Injection")."""
QUOTED = re.compile('[,"\r\n]')
"""A field holding any of these is quoted (RFC 4180): a carriage return too, which the csv module
leaves bare where lines end in a line feed alone."""


def as_csv(table: Table) -> str:
    """CSV with a heading line: numbers as Python writes them, None as an empty field, and text a
    spreadsheet would run as a formula (a model named '=HYPERLINK(…)') with a ' before it."""
    lines = [_line([column.heading for column in table.columns])]
    lines += [_line(row.cells) for row in table.lines]
    return "\n".join(lines) + "\n"


def _line(cells: Sequence) -> str:
    """One line of fields; a line of one empty field is '""', which a reader tells from no line."""
    line = ",".join(map(_field, cells))
    return '""' if not line and len(cells) == 1 else line


def _field(cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, str):
        text = "'" + cell if cell.startswith(FORMULA_STARTS) else cell
    else:
        text = str(cell)
    return '"' + text.replace('"', '""') + '"' if QUOTED.search(text) else text
