"""Charts as data, drawn as inline SVG by archcalc (no script, no network): `Bars` (a group of
horizontal bars per label, one per series, with the figure written beside each) and `Lines`
(series along an axis of positions, the first one filled). The text is `currentColor` and
the series colours read on a light and a dark page alike; a legend names the series. The same
input gives the same bytes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from archcalc.render.markup import html_text
from archcalc.render.table import cell_width

PALETTE = ("#3b82f6", "#d97706", "#059669", "#ef4444", "#8b5cf6", "#ec4899", "#0891b2", "#4d7c0f",
           "#c2410c", "#6366f1", "#c026d3", "#78716c")
"""Twelve hues (Tailwind's), each at least 3:1 in contrast (WCAG 2.1's for graphics) both with a
white page and with a near-black one (#0d1117), so the same colours read on either."""
COLOUR_NAMES = ("blue", "amber", "green", "red", "violet", "pink", "cyan", "olive", "rust", "indigo", "magenta", "grey")
"""What a legend in words (under a mermaid chart) calls each colour of PALETTE."""
WIDTH = 760
"""Every chart's width in pixels; its height follows from what it holds."""
_FONT = 12
_CHAR = 6.8
"""An estimate of a character's width at _FONT pixels, to leave room for the labels: twice this
for a wide or full-width one (CJK), as `cell_width` counts it (a CJK glyph is about one em, 12
pixels)."""


@dataclass(frozen=True)
class Series:
    """A named row of values, one per label (Bars) or position (Lines); `texts`: each value as
    written beside its bar (Bars)."""
    name: str
    values: tuple[float, ...]
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Bars:
    """Horizontal bars: one group per label, one bar per series, lengths in proportion to the
    values (shares, 0 to 1, of what `axis` names); `top`: a value the axis reaches at least (`shared_top`)."""
    title: str
    labels: tuple[str, ...]
    series: tuple[Series, ...]
    axis: str
    top: float = 0.0

    def svg(self) -> str:
        left = min(260, 12 + _CHAR * max(map(cell_width, self.labels), default=0))
        top, bar, gap = 56 + _legend_height(self.series), 14, 10
        group = bar * len(self.series) + gap
        plot = WIDTH - left - 80
        height = top + group * len(self.labels) + 36
        most = max(self.top, shared_top(self.series)) or 1
        step = _step(most * 100) / 100
        end = step * math.ceil(most / step - 1e-9)
        scale = plot / end
        out = _start(self.title, height, self.series)
        for tick in range(round(end / step) + 1):
            x = left + tick * step * scale
            out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 32}" class="grid"/>'
                       f'<text x="{x:.1f}" y="{height - 18}" text-anchor="middle">'
                       f'{_tick_text(100 * tick * step, 100 * step)}%</text>')
        out.append(f'<text x="{left + plot / 2:.1f}" y="{height - 4}" text-anchor="middle">{html_text(self.axis)}</text>')
        for row, label in enumerate(self.labels):
            y = top + row * group
            out.append(f'<text x="{left - 8}" y="{y + group / 2 - 1:.1f}" text-anchor="end">{_fitted(label, left - 12)}</text>')
            for index, series in enumerate(self.series):
                length = series.values[row] * scale
                at = y + index * bar
                out.append(f'<rect x="{left}" y="{at}" width="{length:.1f}" height="{bar - 2}" '
                           f'fill="{PALETTE[index % len(PALETTE)]}"><title>{html_text(series.name)}: '
                           f'{html_text(series.texts[row])}</title></rect>'
                           f'<text x="{left + length + 4:.1f}" y="{at + bar - 4}" class="small">'
                           f'{html_text(series.texts[row])}</text>')
        return "".join([*out, "</svg>"])


@dataclass(frozen=True)
class Lines:
    """Series along positions 0, 1, …, the first filled below its line when `filled`; `ticks`
    (position, label) name some positions (one closer than two characters' height to the one
    before it is left out); `unit` names the values' unit on the vertical axis; `top`: a value
    the axis reaches at least (`shared_top`)."""
    title: str
    series: tuple[Series, ...]
    ticks: tuple[tuple[int, str], ...]
    axis: str
    unit: str
    filled: bool = True
    top: float = 0.0

    def svg(self) -> str:
        extra = _legend_height(self.series)
        left, top, height = 84, 56 + extra, 330 + extra
        bottom = height - 64
        plot = WIDTH - left - 24
        count = max(len(s.values) for s in self.series)
        most = max(self.top, shared_top(self.series)) or 1
        step = _step(most)
        end = step * math.ceil(most / step)
        x = (lambda i: left + plot * i / (count - 1)) if count > 1 else (lambda i: left + plot / 2)
        y = lambda v: bottom - (bottom - top) * v / end
        out = _start(self.title, height, self.series)
        for tick in range(round(end / step) + 1):
            at = y(tick * step)
            out.append(f'<line x1="{left}" y1="{at:.1f}" x2="{left + plot}" y2="{at:.1f}" class="grid"/>'
                       f'<text x="{left - 6}" y="{at + 4:.1f}" text-anchor="end">{_tick_text(tick * step, step)}</text>')
        shown = -math.inf
        for position, label in self.ticks:
            if x(position) - shown < 2 * _FONT:  # too close to the label before it: left out
                continue
            shown = x(position)
            out.append(f'<line x1="{x(position):.1f}" y1="{bottom}" x2="{x(position):.1f}" y2="{bottom + 4}" class="axis"/>'
                       f'<text x="{x(position):.1f}" y="{bottom + 8}" class="small" text-anchor="end" '
                       f'transform="rotate(-35 {x(position):.1f} {bottom + 8})">'
                       f'{_fitted(label, (x(position) - 4) / math.cos(math.radians(35)))}</text>')
        out.append(f'<text x="{left + plot / 2:.1f}" y="{height - 4}" text-anchor="middle">{html_text(self.axis)}</text>')
        lines = [" ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(s.values)) for s in self.series]
        if self.filled:
            out.append(f'<polygon points="{x(0):.1f},{bottom} {lines[0]} {x(len(self.series[0].values) - 1):.1f},'
                       f'{bottom}" fill="{PALETTE[0]}" fill-opacity="0.3"/>')
        out += [f'<polyline points="{points}" fill="none" stroke="{PALETTE[index % len(PALETTE)]}" stroke-width="2"/>'
                for index, points in enumerate(lines)]
        if count == 1:  # a line of one point draws nothing: each series' value as a dot
            out += [f'<circle cx="{x(0):.1f}" cy="{y(s.values[0]):.1f}" r="4" fill="{PALETTE[index % len(PALETTE)]}"/>'
                    for index, s in enumerate(self.series) if s.values]
        out.append(f'<line x1="{left}" y1="{bottom}" x2="{left + plot}" y2="{bottom}" class="axis"/>'
                   f'<text x="14" y="{(top + bottom) / 2}" text-anchor="middle" '
                   f'transform="rotate(-90 14 {(top + bottom) / 2})">{html_text(self.unit)}</text>')
        return "".join([*out, "</svg>"])


def _fitted(label: str, room: float) -> str:
    """A label as SVG text within `room` pixels: as it is where it fits, else shortened in the
    middle with '…', the whole label its tooltip (a label wider than the margin was cut at the
    chart's left edge)."""
    keep = int(room / _CHAR + 1e-6)  # 12 + 18 × 6.8 pixels hold 18 characters, whatever the float
    if cell_width(label) <= keep:
        return html_text(label)
    head, tail = (keep - 1) // 2, keep - 1 - (keep - 1) // 2
    short = f"{_within(label, head)}…{_within(label[::-1], tail)[::-1]}"
    return f"<title>{html_text(label)}</title>{html_text(short)}"


def _within(text: str, cells: int) -> str:
    """The longest start of `text` that takes at most `cells` character widths (`cell_width`)."""
    end, used = 0, 0
    while end < len(text) and used + cell_width(text[end]) <= cells:
        used += cell_width(text[end])
        end += 1
    return text[:end]


def _start(title: str, height: int, series: tuple[Series, ...]) -> list[str]:
    """The SVG element, its title and the legend: a swatch and the name of each series."""
    out = [(f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
            f'viewBox="0 0 {WIDTH} {height}" font-size="{_FONT}" fill="currentColor" role="img">'
            f'<title>{html_text(title)}</title>'
            f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" class="title">'
            f'{_fitted(title, (WIDTH - 24) * _FONT / _TITLE_FONT)}</text>')]
    for index, (each, (x, row)) in enumerate(zip(series, _legend(series))):
        y = 30 + _LEGEND_ROW * row
        out.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{PALETTE[index % len(PALETTE)]}"/>'
                   f'<text x="{x + 16:.1f}" y="{y + 10}">{_fitted(each.name, _LEGEND_NAME)}</text>')
    return out


_TITLE_FONT = 15
"""A title's font size (14 pixels, archcalc.render.html.STYLE) and a pixel for its weight: a title
longer than the chart is shortened in the middle, as a label, to fit at this size."""
_LEGEND_NAME = WIDTH - 40
"""The most pixels a series' name takes in the legend (a row's width less its margins and
swatch): a longer name is shortened in the middle, the whole name its tooltip."""


_LEGEND_ROW = 18
"""Pixels from one row of the legend to the next."""


def _legend(series: tuple[Series, ...]) -> list[tuple[float, int]]:
    """Where each series' swatch goes, (x, row): in a row while its name ends inside the chart,
    else at the start of the next row."""
    places, x, row = [], 12.0, 0
    for each in series:
        name = _CHAR * min(cell_width(each.name), int(_LEGEND_NAME / _CHAR + 1e-6))  # as `_fitted` writes it
        if x > 12.0 and x + 16 + name > WIDTH - 12:
            x, row = 12.0, row + 1
        places.append((x, row))
        x += 36 + name
    return places


def _legend_height(series: tuple[Series, ...]) -> int:
    """The pixels the legend's rows past the first take."""
    return _LEGEND_ROW * max((row for _, row in _legend(series)), default=0)


def _step(most: float) -> float:
    """A round step (1, 2 or 5 times a power of ten) that divides 0..most into 4 to 10 parts."""
    power = 10 ** math.floor(math.log10(most))
    for factor in (0.1, 0.2, 0.5, 1, 2, 5):
        if most / (factor * power) <= 10:
            return factor * power
    return 10 * power


def _tick_text(value: float, step: float) -> str:
    """A tick's value in plain decimals, no more than its step needs: 0.00005, not 5e-05."""
    text = f"{value:.{max(0, -math.floor(math.log10(step) + 1e-9))}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def shared_top(series: tuple[Series, ...] | list[Series]) -> float:
    """The largest value of the series: given as `top` to each chart they are split into
    (`colour_runs`), so that all of them share one scale and read against one another."""
    return max((v for s in series for v in s.values), default=0)


def colour_runs(count: int) -> list[tuple[slice, str]]:
    """A chart of `count` series as the charts that draw it, as few as hold at most len(PALETTE)
    series each (so that no two in a chart share a colour) and as even: (which series, what the
    chart's title adds), '' where one chart holds them all, else ' (8–13 of 13)'."""
    charts = -(-count // len(PALETTE))
    if charts <= 1:
        return [(slice(0, count), "")]
    ends = [count * number // charts for number in range(charts + 1)]
    return [(slice(start, end), f" ({start + 1}{f'–{end}' if end > start + 1 else ''} of {count})")
            for start, end in pairwise(ends)]


def mermaid_colours(count: int) -> str:
    """The mermaid directive that gives an `xychart-beta` the first `count` colours of PALETTE, in
    place of the default theme's (whose first, #ECECFF, hardly shows on white)."""
    variables = f'"xyChart": {{"plotColorPalette": "{", ".join(PALETTE[:count])}"}}'
    return f"%%{{init: {{\"themeVariables\": {{{variables}}}}}}}%%"


def colour_legend(names: list[str]) -> str:
    """A legend in words for a mermaid chart, which draws none: "blue: resnet18; amber: vgg16"."""
    return "; ".join(f"{COLOUR_NAMES[index % len(COLOUR_NAMES)]}: {name}" for index, name in enumerate(names))
