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


_UNIT = r"(?:[KMGTP]i?B|[KMGTP]|[mµn]?s|B)(?![A-Za-z])"
"""A unit written after a number and a space: `2.48 G`, `26.1 ms`, `143.3 MiB`."""
_BREAKS = re.compile(rf"(?<=[·_×])|(?<= )(?!(?<=\d ){_UNIT})|(?<=[./])(?=[A-Za-z])")
"""Where a cell may go on to the next line: after a space (not one between a number and its
unit), a `·` or `×` of a formula or shape, an underscore, or a dot or slash between the parts of
a name or path (not inside a number, nor a floor or ceiling)."""


CUTS = ("joins", "floors", "letters", "short")
"""Where a cell may wrap, each a last resort after the one before: at `_BREAKS` with floors and
ceilings whole; at their spaces too; between any two characters but those of a number (a name
longer than the terminal, such as a layer named by 150 letters); and that with every exact
figure in it written short as well (a formula's `25,165,824·N` as `25.2M·N`)."""
_NUMBER_OR_CHARACTER = re.compile(rf"[+-]?\d[\d,.]*(?:[KMGT]| {_UNIT})?|.", re.DOTALL)
"""A number (with the K, M, G or T of one written short, or its unit after a space) or any other
character."""
_FIGURE = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")
_BRANCH = re.compile(r"(?:[│ ]  )*[├└]─ ")
"""A tree's lines before a name (`│  ├─ `): they stay whole, on the name's first line."""


def shortened(text: str) -> str:
    """Every exact figure in `text` written short, as `narrow` writes a cell of one: 9,408·N → 9.41K·N."""
    return _FIGURE.sub(lambda match: human(int(match.group().replace(",", "")), ""), text)


def pieces(text: str, cut: str = "joins") -> list[str]:
    """`text` cut at `_BREAKS`, but never inside a floor or a ceiling (⌊(H + 1)/2⌋ stays whole)
    where `cut` is 'joins'; 'floors' cuts them at their spaces too ('⌊(H + ', '1)/2⌋'), 'letters'
    (and 'short', of the text `shortened`) also between any two characters outside a number."""
    out, depth = [], 0
    for piece in _BREAKS.split(text):
        if piece:
            out[-1:] = [out[-1] + piece] if depth and out else [*out[-1:], piece]
            if cut == "joins":
                depth += piece.count("⌊") + piece.count("⌈") - piece.count("⌋") - piece.count("⌉")
    return [part for piece in out for part in _NUMBER_OR_CHARACTER.findall(piece)] if cut in ("letters", "short") else out


def wrap(text: str, width: int, cut: str = "joins") -> list[str]:
    """`text` in lines of at most `width` (wider only where one piece is), broken where `cut`
    lets it (`pieces`; 'short' wraps the text `shortened`). A tree's branch stays whole before the
    name's first line, the lines after it under the name, the tree's lines going on beside them;
    there a piece wider than the room left breaks between letters (never inside a number): a
    line that goes on under its name reads as its name's, where a tree has one."""
    if cut == "short":
        text = shortened(text)
    if cell_width(text) <= width:
        return [text]
    branch = _BRANCH.match(text)
    if not branch:
        return _packed(pieces(text, cut), width)
    prefix = branch.group()
    room = max(1, width - cell_width(prefix))
    parts = [part for piece in pieces(text[branch.end():], cut)
             for part in (pieces(piece, "letters") if cell_width(piece.rstrip()) > room else [piece])]
    lines = _packed(parts, room)
    beside = prefix[:-3] + ("│  " if prefix[-3] == "├" else "   ")
    return [prefix + lines[0], *(beside + line for line in lines[1:])]


def _packed(parts: list[str], width: int) -> list[str]:
    """The parts on lines of at most `width`, as many on each as fit."""
    lines, line = [], ""
    for piece in parts:
        if line and cell_width((line + piece).rstrip()) > width:
            lines.append(line.rstrip())
            line = piece
        else:
            line += piece
    return [*lines, line.rstrip()]


def least(text: str, cut: str = "joins", whole: bool = False) -> int:
    """The narrowest `wrap` can make `text` where `cut` lets it break: its widest piece; a tree's
    branch and the widest number of its name (which breaks between letters there), or with
    `whole` its widest piece, unbroken."""
    if cut == "short":
        text = shortened(text)
    branch = _BRANCH.match(text)
    start = branch.end() if branch else 0
    parts = pieces(text[start:], "letters" if branch and not whole else cut)
    return cell_width(text[:start]) + max((cell_width(piece.rstrip()) for piece in parts), default=0)


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
        footer: list[str] | None, footer_style: str, width: int, fixed: list[bool] | None = None,
        optional: list[bool] | None = None) -> list[tuple[str, str]]:
    """A table's lines fitted to `width` columns: FIT_ORDER's steps, then wrapping, with one space
    between columns in place of GAP where that is not enough; then LAST_ORDER's columns dropped in
    turn, then a formula's floors cut at their spaces; then the `optional` columns dropped, the
    widest first; and last, a column at a time (the one whose widest piece is widest first), the
    further CUTS (between any two letters, then figures written short), until it fits. A `fixed` column (a sweep's
    parameter, named by the user) is never dropped, whatever its heading."""
    count = len(headings)
    columns = _Columns(headings, aligns, rows, footer, fixed or [False] * count, optional or [False] * count)
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
    known: dict = {}
    cuts = _cut_and_dropped(columns, width, known)
    widths, gap = _arranged(columns.lines, width, cuts, known)
    rule = ("─" * (sum(widths) + gap * (len(widths) - 1)), "dim")
    out = [*_lines(columns.headings, columns.aligns, widths, "bold", gap, cuts), rule]
    for row, style in zip(columns.rows, styles):
        out += _lines(row, columns.aligns, widths, style, gap, cuts)
    if columns.footer:
        out += [rule, *_lines(columns.footer, columns.aligns, widths, footer_style, gap, cuts)]
    return out


def _cut_and_dropped(columns: _Columns, width: int, known: dict) -> list[str]:
    """Each column's cut (CUTS) that makes the table fit `width`, dropping columns on the way as
    `fit` says; the last resort's where nothing does. `known`: the columns wrapped so far."""
    last, uniform = list(LAST_ORDER), list(CUTS[:2])
    while True:
        cuts = [uniform[0]] * len(columns.headings)
        if _fits(columns.lines, width, cuts, known):
            return cuts
        dropped = False
        while last and not dropped:  # the next of LAST_ORDER's columns the table has
            dropped = columns.drop(last.pop(0))
        if not dropped and uniform[1:]:
            uniform.pop(0)
        elif not dropped:
            break
    cut = cuts[0]
    while columns.drop_optional(lambda texts: _Wrapped.of(texts, cut, known).least):
        cuts = [cut] * len(columns.headings)
        if _fits(columns.lines, width, cuts, known):
            return cuts
    while not _fits(columns.lines, width, cuts, known):
        narrowest = [(_Wrapped.of(texts, its, known).least, index)
                     for index, (texts, its) in enumerate(zip(zip(*columns.lines), cuts)) if its != CUTS[-1]]
        if not narrowest:
            break
        _, index = max(narrowest)
        cuts[index] = CUTS[CUTS.index(cuts[index]) + 1]
    return cuts


def _fits(lines: list[list[str]], width: int, cuts: list[str], known: dict) -> bool:
    widths, gap = _arranged(lines, width, cuts, known)
    return sum(widths) + gap * (len(widths) - 1) <= width


class _Columns:
    """A table's headings, alignments, rows, footer, and which columns are fixed and which
    optional, as columns go."""

    def __init__(self, headings: list[str], aligns: list[str], rows: list[list[str]], footer: list[str] | None,
                 fixed: list[bool], optional: list[bool]) -> None:
        self.headings, self.aligns, self.rows, self.footer = headings, aligns, rows, footer
        self.fixed, self.optional = fixed, optional

    @property
    def lines(self) -> list[list[str]]:
        return [self.headings, *self.rows, *([self.footer] if self.footer else [])]

    def drop(self, heading: str) -> bool:
        """Drop every column headed `heading` that is not fixed (list's two '≈'); whether any went."""
        return self._keep([index for index, (text, fixed) in enumerate(zip(self.headings, self.fixed))
                           if text != heading or fixed])

    def drop_optional(self, width) -> bool:
        """Drop the optional column that `width` (of its texts) finds widest; whether one went."""
        optional = [(width(texts), index) for index, (texts, flag) in enumerate(zip(zip(*self.lines), self.optional))
                    if flag]
        if not optional:
            return False
        _, widest = max(optional)
        return self._keep([index for index in range(len(self.headings)) if index != widest])

    def _keep(self, keep: list[int]) -> bool:
        """Keep the columns at `keep`, unless that is all of them or none; whether any went."""
        if len(keep) == len(self.headings) or not keep:
            return False

        def kept(cells: list) -> list:
            return [cells[index] for index in keep]

        self.headings, self.aligns = kept(self.headings), kept(self.aligns)
        self.fixed, self.optional = kept(self.fixed), kept(self.optional)
        self.rows, self.footer = [kept(row) for row in self.rows], self.footer and kept(self.footer)
        return True


def _arranged(lines: list[list[str]], width: int, cuts: list[str], known: dict) -> tuple[list[int], int]:
    """The columns' widths, wrapped as far as each column's cut lets them, and the gap between
    them: GAP where that fits `width` and breaks no word of a tree's name between its letters,
    else one space where that fits with fewer broken."""
    arrangements = []
    for gap in (GAP, 1):
        widths = _shrunk(lines, _widths(lines), width, gap, cuts, known)
        fits = sum(widths) + gap * (len(widths) - 1) <= width
        broken = sum(_Wrapped.of(texts, cut, known).at(w)[2] for texts, cut, w in zip(zip(*lines), cuts, widths))
        arrangements.append((not fits, broken, -gap, widths))
        if fits and not broken:
            break
    *_, gap, widths = min(arrangements)
    return widths, -gap


def _widths(lines: list[list[str]]) -> list[int]:
    return [max(map(cell_width, texts)) for texts in zip(*lines)]


def _shrunk(lines: list[list[str]], widths: list[int], width: int, gap: int, cuts: list[str],
            known: dict) -> list[int]:
    """The widths narrowed a column at a time until the table fits `width` (with `gap` spaces
    between columns) or no column can wrap further (each column is at least as wide as its
    longest piece where its cut lets it break): each time the column that adds the fewest lines
    to the table (a heading that wraps under another's that does already adds none), then to its
    own cells, of those the widest."""
    columns = [_Wrapped.of(texts, cut, known) for texts, cut in zip(zip(*lines), cuts)]
    widths = [column.at(w)[0] for column, w in zip(columns, widths)]
    rows = [max(heights) for heights in zip(*(column.at(w)[1] for column, w in zip(columns, widths)))]
    while sum(widths) + gap * (len(widths) - 1) > width:
        slack = [index for index, w in enumerate(widths) if w > columns[index].least]
        if not slack:
            break
        index = min(slack, key=lambda index, rows=rows: (*columns[index].cost(widths[index], rows), -widths[index], -index))
        widths[index], heights, _ = columns[index].at(widths[index] - 1)
        rows = [max(row, lines) for row, lines in zip(rows, heights)]
    return widths


class _Wrapped:
    """A column's texts wrapped at each width asked for, once each."""

    def __init__(self, texts: tuple[str, ...], cut: str) -> None:
        self.texts, self.cut, self.known = texts, cut, {}
        self.least = max(least(text, cut) for text in texts)
        self.whole = [least(text, cut, whole=True) for text in texts if _BRANCH.match(text)]

    @classmethod
    def of(cls, texts: tuple[str, ...], cut: str, known: dict) -> _Wrapped:
        """The column of `texts` under `cut`, made once for all the arrangements `known` is kept for."""
        if (texts, cut) not in known:
            known[texts, cut] = cls(texts, cut)
        return known[texts, cut]

    def cost(self, width: int, rows: list[int]) -> tuple[int, int, int]:
        """What narrowing the column from `width` by one costs: the lines it adds to the table,
        whose rows are `rows` lines tall, the names it breaks between letters, and the lines it
        adds to its own cells."""
        (_, now, broken), (_, narrower, more) = self.at(width), self.at(width - 1)
        return sum(max(0, lines - row) for lines, row in zip(narrower, rows)), more - broken, sum(narrower) - sum(now)

    def at(self, width: int) -> tuple[int, list[int], int]:
        """The width the texts take wrapped within `width`, the lines each takes, and how many a
        tree's branch breaks between letters (a word of the name wider than the room it leaves)."""
        if width not in self.known:
            wrapped = [wrap(text, width, self.cut) for text in self.texts]
            broken = sum(whole > width for whole in self.whole)
            self.known[width] = (max(cell_width(line) for lines in wrapped for line in lines), list(map(len, wrapped)),
                                 broken)
        return self.known[width]


def _lines(cells: list[str], aligns: list[str], widths: list[int], style: str, gap: int,
           cuts: list[str]) -> list[tuple[str, str]]:
    """One row, on as many lines as its tallest wrapped cell, `gap` spaces between its cells."""
    wrapped = [wrap(cell, w, cut) for cell, w, cut in zip(cells, widths, cuts)]
    height = max(map(len, wrapped))
    out = []
    for number in range(height):
        texts = [(lines[number] if number < len(lines) else "") for lines in wrapped]
        text = (" " * gap).join(padded_to(t, w, a) for t, a, w in zip(texts, aligns, widths))
        out.append((text.rstrip(), style))
    return out
