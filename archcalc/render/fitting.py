"""Fitting a table to the terminal's width, by the steps of archcalc.render.terminal's FIT_ORDER and
then wrapping (imported only when a table prints to a terminal)."""

from __future__ import annotations

import re

from archcalc.render.numbers import human
from archcalc.render.table import cell_width, padded_to
from archcalc.render.terminal import FIT_ORDER, GAP, LAST_ORDER, NARROW, WRAP_FIRST

_GROUPED = re.compile(r"([+-]?)(\d{1,3}(?:,\d{3})+)( ✓)?")


def narrow(cell: str) -> str:
    """A cell that is one exact figure (and maybe a ✓), written short: '118,013,952' → '118M'."""
    match = _GROUPED.fullmatch(cell)
    if not match:
        return cell
    sign, digits, mark = match.groups()
    return f"{sign}{human(int(digits.replace(',', '')), '')}{mark or ''}"


_BREAKS = re.compile(r"(?<=[ ·_×])|(?<=[./])(?=[A-Za-z])")
"""Where a cell may go on to the next line: after a space, a `·` or `×` of a formula or shape, an
underscore, or a dot or slash between the parts of a name or path (not inside a number, nor a
floor or ceiling)."""


CUTS = ("joins", "floors", "letters")
"""Where a cell may wrap, each a last resort after the one before: at `_BREAKS` with floors and
ceilings whole; at their spaces too; and between any two characters but those of a number (a
name longer than the terminal, such as a layer named by 150 letters)."""
_NUMBER_OR_CHARACTER = re.compile(r"[+-]?\d[\d,.]*|.", re.DOTALL)


def pieces(text: str, cut: str = "joins") -> list[str]:
    """`text` cut at `_BREAKS`, but never inside a floor or a ceiling (⌊(H + 1)/2⌋ stays whole)
    where `cut` is 'joins'; 'floors' cuts them at their spaces too ('⌊(H + ', '1)/2⌋'), 'letters'
    also between any two characters outside a number."""
    out, depth = [], 0
    for piece in _BREAKS.split(text):
        if piece:
            out[-1:] = [out[-1] + piece] if depth and out else [*out[-1:], piece]
            if cut == "joins":
                depth += piece.count("⌊") + piece.count("⌈") - piece.count("⌋") - piece.count("⌉")
    return [part for piece in out for part in _NUMBER_OR_CHARACTER.findall(piece)] if cut == "letters" else out


def wrap(text: str, width: int, cut: str = "joins") -> list[str]:
    """`text` in lines of at most `width` (wider only where one piece is), broken where `cut`
    lets it (`pieces`)."""
    if cell_width(text) <= width:
        return [text]
    lines, line = [], ""
    for piece in pieces(text, cut):
        if line and cell_width((line + piece).rstrip()) > width:
            lines.append(line.rstrip())
            line = piece
        else:
            line += piece
    return [*lines, line.rstrip()]


def tree(rows: list[list[str]], styles: list[str], column: int) -> tuple[list[list[str]], list[str]]:
    """The rows with their dotted names in `column` as a tree: a row for each block that holds
    rows (its other cells empty), and each name's last part under its block's ├─ └─ │."""
    entries: list[tuple[tuple[str, ...], list[str] | None, str]] = []
    known: set[tuple[str, ...]] = set()
    for row, style in zip(rows, styles):
        path = tuple(row[column].partition(" (")[0].split("."))
        for end in range(1, len(path)):
            if path[:end] not in known:
                known.add(path[:end])
                entries.append((path[:end], None, ""))
        known.add(path)
        entries.append((path, row, style))
    last, parents = {}, set()
    for path, _, _ in reversed(entries):
        last[path] = path[:-1] not in parents
        parents.add(path[:-1])
    out_rows, out_styles = [], []
    for path, row, style in entries:
        lines = "".join("   " if last[path[:end]] else "│  " for end in range(2, len(path)))
        branch = "" if len(path) == 1 else lines + ("└─ " if last[path] else "├─ ")
        cells = list(row) if row is not None else [""] * len(rows[0])
        name, bracket, rest = (row[column] if row is not None else path[-1]).partition(" (")
        cells[column] = branch + name.rsplit(".", 1)[-1] + bracket + rest
        out_rows.append(cells)
        out_styles.append(style)
    return out_rows, out_styles


def fit(headings: list[str], aligns: list[str], rows: list[list[str]], styles: list[str],
        footer: list[str] | None, footer_style: str, width: int, fixed: list[bool] | None = None) -> list[tuple[str, str]]:
    """A table's lines fitted to `width` columns: FIT_ORDER's steps, then wrapping, with one space
    between columns in place of GAP where that is not enough; then LAST_ORDER's columns dropped in
    turn, and last the further CUTS (floors at their spaces, then names between any two letters),
    until it fits. A `fixed` column (a sweep's parameter, named by the user) is never dropped,
    whatever its heading."""
    columns = _Columns(headings, aligns, rows, footer, fixed or [False] * len(headings))
    for step in (None, *FIT_ORDER):
        if step == NARROW:
            columns.rows = [[narrow(cell) for cell in row] for row in columns.rows]
            columns.footer = columns.footer and [narrow(cell) for cell in columns.footer]
        elif step is not None and not columns.drop(step):
            continue
        widths = _widths(columns.lines)
        soft = [min(w, WRAP_FIRST.get(heading, w)) for w, heading in zip(widths, columns.headings)]
        if sum(soft) + GAP * (len(widths) - 1) <= width:
            break
    last, cuts = list(LAST_ORDER), list(CUTS)
    while True:
        widths, gap = _arranged(columns.lines, width, cuts[0])
        if sum(widths) + gap * (len(widths) - 1) <= width or not (last or cuts[1:]):
            break
        dropped = False
        while last and not dropped:  # the next of LAST_ORDER's columns the table has
            dropped = columns.drop(last.pop(0))
        if not dropped:
            cuts.pop(0)
    headings, aligns, footer, cut = columns.headings, columns.aligns, columns.footer, cuts[0]
    rule = ("─" * (sum(widths) + gap * (len(widths) - 1)), "dim")
    out = [*_lines(headings, aligns, widths, "bold", gap, cut), rule]
    for row, style in zip(columns.rows, styles):
        out += _lines(row, aligns, widths, style, gap, cut)
    if footer:
        out += [rule, *_lines(footer, aligns, widths, footer_style, gap, cut)]
    return out


class _Columns:
    """A table's headings, alignments, rows, footer and which columns are fixed, as columns go."""

    def __init__(self, headings: list[str], aligns: list[str], rows: list[list[str]], footer: list[str] | None,
                 fixed: list[bool]) -> None:
        self.headings, self.aligns, self.rows, self.footer, self.fixed = headings, aligns, rows, footer, fixed

    @property
    def lines(self) -> list[list[str]]:
        return [self.headings, *self.rows, *([self.footer] if self.footer else [])]

    def drop(self, heading: str) -> bool:
        """Drop every column headed `heading` that is not fixed (list's two '≈'); whether any went."""
        keep = [index for index, (text, fixed) in enumerate(zip(self.headings, self.fixed))
                if text != heading or fixed]
        if len(keep) == len(self.headings):
            return False

        def kept(cells: list) -> list:
            return [cells[index] for index in keep]

        self.headings, self.aligns, self.fixed = kept(self.headings), kept(self.aligns), kept(self.fixed)
        self.rows, self.footer = [kept(row) for row in self.rows], self.footer and kept(self.footer)
        return True


def _arranged(lines: list[list[str]], width: int, cut: str) -> tuple[list[int], int]:
    """The columns' widths, wrapped as far as needed, and the gap between them: GAP where that
    fits `width`, else one space."""
    for gap in (GAP, 1):
        widths = _shrunk(lines, _widths(lines), width, gap, cut)
        if sum(widths) + gap * (len(widths) - 1) <= width:
            break
    return widths, gap


def _widths(lines: list[list[str]]) -> list[int]:
    return [max(map(cell_width, texts)) for texts in zip(*lines)]


def _shrunk(lines: list[list[str]], widths: list[int], width: int, gap: int = GAP,
            cut: str = "joins") -> list[int]:
    """The widths narrowed, the widest wrappable column first, until the table fits `width` (with
    `gap` spaces between columns) or no column can wrap further (each column is at least as wide
    as its longest piece)."""
    least = [max(cell_width(piece.rstrip()) for text in texts for piece in pieces(text, cut) or [""])
             for texts in zip(*lines)]
    widths = list(widths)
    excess = sum(widths) + gap * (len(widths) - 1) - width
    while excess > 0:
        slack = [(w, i) for i, w in enumerate(widths) if w > least[i]]
        if not slack:
            break
        _, index = max(slack)
        widths[index] -= 1
        excess -= 1
    return [max(map(cell_width, [line for text in texts for line in wrap(text, w, cut)]))
            for texts, w in zip(zip(*lines), widths)]


def _lines(cells: list[str], aligns: list[str], widths: list[int], style: str, gap: int = GAP,
           cut: str = "joins") -> list[tuple[str, str]]:
    """One row, on as many lines as its tallest wrapped cell, `gap` spaces between its cells."""
    wrapped = [wrap(cell, w, cut) for cell, w in zip(cells, widths)]
    height = max(map(len, wrapped))
    out = []
    for number in range(height):
        texts = [(lines[number] if number < len(lines) else "") for lines in wrapped]
        text = (" " * gap).join(padded_to(t, w, a) for t, a, w in zip(texts, aligns, widths))
        out.append((text.rstrip(), style))
    return out
