"""`archcalc report --format html`: one self-contained page whose charts archcalc draws as inline
SVG, photographed in a real headless browser (Debian's Chromium) to show they are drawn, on a
light page and on a dark one."""

from __future__ import annotations

import math
import os
import re
import shutil
import struct
import subprocess
import zlib
from xml.etree import ElementTree

import pytest

from archcalc.render.charts import PALETTE, WIDTH

SVG = "{http://www.w3.org/2000/svg}"
PAGES = {"light": (255, 255, 255), "dark": (0x0D, 0x11, 0x17)}
"""The page's background in each colour scheme (archcalc.render.html.STYLE)."""


def figures(page: str) -> dict[str, ElementTree.Element]:
    """Each chart of the page by its id, its SVG parsed as XML."""
    return {id: ElementTree.fromstring(svg) for id, svg in
            re.findall(r'<figure class="chart \w+" id="(chart-\d+)">(<svg .*?</svg>)</figure>', page)}


def texts(svg: ElementTree.Element) -> list[str]:
    return [element.text for element in svg.iter(f"{SVG}text")]


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """VGG-16 alone and beside ResNet-18, as HTML files (in this process, as the cli fixture runs)."""
    from conftest import CLI_ENV
    from typer.testing import CliRunner

    from archcalc.cli import app

    folder = tmp_path_factory.mktemp("html")
    for name, specs in {"vgg16": ["vgg16"], "two": ["resnet18", "vgg16"]}.items():
        result = CliRunner().invoke(app, ["report", *specs, "--format", "html", "-o", str(folder / f"{name}.html")],
                                    env=CLI_ENV)
        assert result.exit_code == 0, result.output
    return folder


def test_the_page_stands_alone_and_is_the_same_each_run(pages, cli, tmp_path):
    page = (pages / "vgg16.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>\n") and page.endswith("</html>\n")
    assert "<script" not in page and " src=" not in page and "@import" not in page and "url(" not in page
    assert set(re.findall(r"https?://[^\"' )]*", page)) == {"http://www.w3.org/2000/svg"}  # a namespace, not fetched
    assert "mermaid" not in page and "xychart" not in page
    assert "<td>138,357,544</td>" in page.replace(' style="text-align:right"', "")  # torchvision's VGG-16 parameters
    assert cli("report", "vgg16", "--format", "html").stdout == page


def test_vgg16s_first_linear_layer_holds_most_parameters_in_the_stage_bars(pages):
    """torchvision's VGG-16: 138,357,544 parameters, 102,764,544 of them in classifier.0 (fc1):
    its bar is the longest, 74.3% of the model, with "103 M" beside it."""
    svg = figures((pages / "vgg16.html").read_text(encoding="utf-8"))["chart-1"]
    bars = {rect.find(f"{SVG}title").text: float(rect.get("width")) for rect in svg.iter(f"{SVG}rect")
            if rect.find(f"{SVG}title") is not None}
    params = {name: width for name, width in bars.items() if name.startswith("parameters: ")}
    assert max(params, key=params.get) == "parameters: 103 M"
    ticks = [(float(t.get("x")), t.text) for t in svg.iter(f"{SVG}text") if t.text and t.text.endswith("%")]
    (x0, zero), (x1, last) = ticks[0], ticks[-1]
    assert zero == "0%"
    scale = (x1 - x0) / (float(last.rstrip("%")) / 100)
    assert params["parameters: 103 M"] == float(f"{102_764_544 / 138_357_544 * scale:.1f}")  # drawn to 0.1 px
    assert ["MACs", "parameters"] == texts(svg)[1:3]  # the legend


def test_the_memory_line_has_a_point_per_layer_and_peaks_at_the_peak_layer(pages):
    from archcalc.memory import analyze_memory

    memory = analyze_memory("vgg16")
    svg = figures((pages / "vgg16.html").read_text(encoding="utf-8"))["chart-2"]
    during, after = ([tuple(map(float, point.split(","))) for point in line.get("points").split()]
                     for line in svg.iter(f"{SVG}polyline"))
    assert len(during) == len(after) == len(memory.layers)
    highest = min(range(len(during)), key=lambda i: during[i][1])
    assert memory.layers[highest] == memory.peak_point
    assert all(a[1] >= d[1] for a, d in zip(after, during))  # never more alive after a layer than while it runs


def test_several_models_are_drawn_side_by_side(pages):
    """ResNet-18 (11,689,512 parameters, 1.81 GMACs) beside VGG-16 (138,357,544, 15.5 GMACs): torchvision's."""
    svg = figures((pages / "two.html").read_text(encoding="utf-8"))["chart-1"]
    shown = texts(svg)
    assert shown[1:3] == ["resnet18", "vgg16"]
    for figure in ("11.7 M", "138 M", "1.81 G", "15.5 G"):
        assert figure in shown


@pytest.mark.parametrize("args", [["lenet5", "--sweep", "32"], ["lenet5", "--sweep", "16,32"]],
                         ids=["one size", "two sizes"])
def test_a_line_of_one_point_is_drawn_as_a_dot(cli, args):
    """A sweep of one size: a polyline of one point draws nothing, and the chart stood empty;
    each series' one value is a dot where its line would be (more points draw their line)."""
    result = cli("report", *args, "--format", "html")
    assert result.exit_code == 0, result.output
    svg = figures(result.stdout)["chart-1"]
    points = [point for line in svg.iter(f"{SVG}polyline") for point in line.get("points").split()]
    dots = [f"{dot.get('cx')},{dot.get('cy')}" for dot in svg.iter(f"{SVG}circle")]
    assert dots == (points if len(points) == 1 else [])


def test_the_value_ticks_of_a_tiny_model_are_plain_decimals(cli):
    """LeNet-5 at 32: 416,520 MACs (117,600 + 240,000 + 48,000 + 10,080 + 840, its five layers),
    0.0004165 G. The axis was ticked 5e-05, 0.0001, 0.00015…; its ticks are plain decimals."""
    result = cli("report", "lenet5", "--sweep", "16,32", "--format", "html")
    assert result.exit_code == 0, result.output
    svg = figures(result.stdout)["chart-1"]
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end" and t.text[0].isdigit()]
    assert ticks[:4] == ["0", "0.00005", "0.0001", "0.00015"]
    assert not any("e" in tick for tick in ticks)
    assert float(ticks[-1]) >= 0.0004165


def test_the_percent_ticks_of_small_shares_keep_their_decimals(cli, write_spec):
    """Thirty alike convolutions, each 1/30 of the MACs and parameters (3.3%): the bars' axis
    steps by 0.5% (1, 2 or 5 times a power of ten, at most ten steps to 3.3%), but its ticks were
    written as whole percents: 0%, 0%, 1%, 2%, 2%, 2%, 3%, 4%. Each is written with the decimals
    its step needs."""
    layers = "".join(f"  - c{index}: {{kind: conv2d, out: 4, kernel: 3, padding: 1}}\n" for index in range(30))
    spec = write_spec(f"name: flat\ninput: [4, 8, 8]\nlayers:\n{layers}")
    svg = figures(cli("report", spec, "--format", "html").stdout)["chart-1"]
    ticks = [t.text for t in svg.iter(f"{SVG}text") if t.text and t.text.endswith("%")]
    assert ticks == ["0%", "0.5%", "1%", "1.5%", "2%", "2.5%", "3%", "3.5%"]


def test_a_legend_too_long_for_one_row_goes_on_to_the_next(cli):
    """Four segmentation models' names are wider than the chart: the fourth ran off its right edge
    (cut at 760 px, 'deeplabv3_resnet10'). Each name ends inside the chart, the rows below one
    another and above the plot."""
    from archcalc.render.charts import _CHAR

    names = ["deeplabv3_mobilenet_v3_large_aux", "deeplabv3_mobilenet_v3_large", "fcn_resnet50_aux",
             "deeplabv3_resnet101_aux"]
    result = cli("report", *names, "--format", "html")
    assert result.exit_code == 0, result.output
    svg = figures(result.stdout)["chart-1"]
    legend = [t for t in svg.iter(f"{SVG}text") if t.text in names]
    assert [t.text for t in legend] == names
    assert all(float(t.get("x")) + _CHAR * len(t.text) <= WIDTH for t in legend)
    rows = sorted({float(t.get("y")) for t in legend})
    assert len(rows) == 2
    plot = min(float(rect.get("y")) for rect in svg.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None)
    assert plot > rows[-1] and float(svg.get("height")) == float(svg.get("viewBox").split()[3])


def test_a_bar_label_wider_than_the_margin_is_shortened_not_cut(cli, write_spec):
    """The margin of a bar chart's labels stops at 260 px: a 59-character stage name started left
    of the chart, its first characters cut off; so did the same name on the axis of the
    activations. It is shortened in the middle to fit, the whole name its tooltip."""
    from archcalc.render.charts import _CHAR

    name = "features_denseblock1_denselayer1_conv_very_long_name_indeed"
    spec = write_spec(f"name: longn\ninput: [3, 8, 8]\nlayers:\n  - {name}: {{kind: conv2d, out: 4, kernel: 3}}\n"
                      "  - b: relu\n")
    charts = figures(cli("report", spec, "--format", "html").stdout)
    (label,) = [t for t in charts["chart-1"].iter(f"{SVG}text") if t.find(f"{SVG}title") is not None]
    shown = "".join(label.itertext())[len(name):]  # after the tooltip's text
    assert label.find(f"{SVG}title").text == name and "…" in shown
    assert shown.startswith(name[:10]) and shown.endswith(name[-10:])
    assert float(label.get("x")) - _CHAR * len(shown) >= 0
    # the activations' axis names the block at its first layer, the label turned 35° down to the left
    (tick,) = [t for t in charts["chart-2"].iter(f"{SVG}text") if t.find(f"{SVG}title") is not None]
    shown = "".join(tick.itertext())[len(name):]
    assert tick.find(f"{SVG}title").text == name and "…" in shown
    assert float(tick.get("x")) - _CHAR * len(shown) * math.cos(math.radians(35)) >= 0


def test_a_title_or_legend_name_wider_than_the_chart_is_shortened(cli, write_spec):
    """A model named with 300 characters beside LeNet-5: its name in the legend ran 2,000 pixels
    past the 760 of the chart, and the titles that hold it were cut at both ends. Each is
    shortened in the middle to fit, the whole text its tooltip, as a bar's label is."""
    from archcalc.render.charts import _CHAR

    name = "a" * 150 + "z" * 150
    spec = write_spec(f"name: {name}\ninput: [3, 8, 8]\nlayers:\n  - c: {{kind: conv2d, out: 4, kernel: 3}}\n")
    charts = figures(cli("report", spec, "lenet5", "--format", "html").stdout)
    legend = [t for t in charts["chart-1"].iter(f"{SVG}text") if t.find(f"{SVG}title") is not None
              and t.find(f"{SVG}title").text == name]
    assert legend, "the legend names the model"
    for text in legend:
        shown = "".join(text.itertext())[len(name):]  # after the tooltip's text
        assert shown.startswith("aaa") and "…" in shown and shown.endswith("zzz")
        assert float(text.get("x")) + _CHAR * len(shown) <= WIDTH
    title = next(t for t in charts["chart-2"].iter(f"{SVG}text") if t.get("class") == "title")
    shown = "".join(title.itertext())[len(title.find(f"{SVG}title").text):]
    assert title.find(f"{SVG}title").text == f"{name}: MACs and parameters by stage"
    assert shown.endswith("by stage") and _CHAR * 14 / 12 * len(shown) <= WIDTH - 24  # at the title's 14 pixels


def east_asian_cells(text: str) -> int:
    """Character widths as Unicode's East Asian Width says: two for a wide (W) or full-width (F) one."""
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(character) in "WF" else 1 for character in text)


def test_a_wide_cjk_name_is_measured_by_its_width(cli, write_spec):
    """A model named by 45 CJK characters beside LeNet-5: each was measured as one Latin letter,
    though a CJK glyph is about twice as wide, so the legend set 'lenet5' over the middle of the
    name and the titles that hold it ran 300 pixels past the chart's edge. A wide character is
    measured as two (Unicode's East Asian Width: W), so the name is shortened to fit and the next
    swatch starts after it."""
    from archcalc.render.charts import _CHAR

    name = "第一阶段的卷积网络" * 5
    spec = write_spec(f"name: {name}\ninput: [3, 8, 8]\nlayers:\n  - c: {{kind: conv2d, out: 4, kernel: 3}}\n")
    charts = figures(cli("report", spec, "lenet5", "--format", "html").stdout)
    legend = {"".join(t.itertext()): float(t.get("x")) for t in charts["chart-1"].iter(f"{SVG}text")
              if t.get("y") == "40"}
    assert list(legend) == [name, "lenet5"]  # 90 widths (612 pixels) fit the legend's row
    assert legend[name] + _CHAR * east_asian_cells(name) < legend["lenet5"] - 16  # the swatch between
    for chart in charts.values():
        title = next(t for t in chart.iter(f"{SVG}text") if t.get("class") == "title")
        whole = title.find(f"{SVG}title")
        shown = "".join(title.itertext())[len(whole.text) if whole is not None else 0:]
        assert _CHAR * 14 / 12 * east_asian_cells(shown) <= WIDTH - 24, shown  # at the title's 14 pixels


def test_charts_split_for_their_colours_share_one_scale(cli, write_spec):
    """Thirteen models (more than the twelve colours) are drawn in two charts of 7 and 6: each
    scaled its own axis to its own largest value, so the same length meant a different figure in
    each and they could not be read against one another. Both share the scale of the largest
    figure: w13's, 100% of itself side by side, and at 16×16 13 filters × 9 taps × 14×14 outputs
    = 22,932 MACs = 0.000022932 G."""
    specs = [write_spec(f"name: w{w}\ninput: [1, 8, 8]\nlayers:\n  - c: {{kind: conv2d, out: {w}, kernel: 3}}\n",
                        f"w{w}.yaml") for w in range(1, 14)]
    charts = figures(cli("report", *specs, "--sweep", "8,16", "--format", "html").stdout)
    split = {id: chart for id, chart in charts.items() if " of 13)" in chart.find(f"{SVG}title").text}
    bars = [chart for chart in split.values() if chart.find(f"{SVG}title").text.startswith("The models side by side")]
    lines = [chart for chart in split.values() if chart.find(f"{SVG}title").text.startswith("GMACs against")]
    assert len(bars) == len(lines) == 2
    assert [[tick for tick in texts(chart) if tick.endswith("%")][-1] for chart in bars] == ["100%", "100%"]
    ends = [[float(tick) for tick in texts(chart) if re.fullmatch(r"[\d.]+", tick)][-1] for chart in lines]
    assert ends[0] == ends[1] >= 0.000022932  # both reach w13's cost, though only the second holds w13


def test_the_stage_bars_merge_stages_beyond_bars(cli, write_spec):
    """The HTML bars of MACs and parameters by stage drew every stage: 4,000 of them made an SVG
    152,092 pixels tall. Beyond BARS stages consecutive ones share a bar, named `first-last`, as
    in the mermaid charts (docs/report.md)."""
    from archcalc.render.report import BARS

    layers = "".join(f"  - c{index}: {{kind: conv2d, out: 4, kernel: 3, padding: 1}}\n" for index in range(97))
    spec = write_spec(f"name: flat\ninput: [4, 8, 8]\nlayers:\n{layers}")
    svg = figures(cli("report", spec, "--format", "html").stdout)["chart-1"]
    labels = [t.text for t in svg.iter(f"{SVG}text") if t.get("text-anchor") == "end"]
    assert len(labels) <= BARS and labels[:2] == ["c0-c2", "c3-c5"] and labels[-1] == "c96"  # 97 in runs of 3
    bars = [rect.find(f"{SVG}title").text for rect in svg.iter(f"{SVG}rect") if rect.find(f"{SVG}title") is not None]
    # each convolution: 4×4×3×3 = 144 MACs per output position × 8×8 positions = 9,216; 4×4×9 + 4 = 148 parameters
    assert bars[:2] == ["MACs: 27.6 K", "parameters: 444"] and bars[-2:] == ["MACs: 9.22 K", "parameters: 148"]
    assert float(svg.get("height")) < 2000


# The browser ------------------------------------------------------------------------------------

def browser() -> str:
    found = shutil.which("chromium")
    if found is None:
        reason = "Chromium is not installed (.ci/run installs Debian's chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def screenshot(page, chart: str, height: int, scheme: str, folder) -> list[list[tuple[int, int, int]]]:
    """The page with only `chart` shown (its `#chart-N` address), photographed at 800 × height + 60."""
    out = folder / f"{chart}-{scheme}.png"
    subprocess.run([browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--blink-settings=preferredColorScheme={0 if scheme == 'dark' else 1}",
                    f"--screenshot={out}", f"--window-size=800,{height + 60}", f"{page.as_uri()}#{chart}"],
                   check=True, capture_output=True, timeout=60)
    return png_pixels(out.read_bytes())


def png_pixels(data: bytes) -> list[list[tuple[int, int, int]]]:
    """The RGB rows of an 8-bit RGB or RGBA PNG without interlacing (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, at = {}, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        chunks[kind] = chunks.get(kind, b"") + data[at + 8:at + 8 + length]
        at += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert depth == 8 and colour in (2, 6) and interlace == 0
    step = 3 if colour == 2 else 4
    raw, stride, rows, previous = zlib.decompress(chunks[b"IDAT"]), width * step, [], bytes(width * step)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        line = _up(line, previous) if kind == 2 else line if kind == 0 else _unfilter(kind, line, previous, step)
        rows.append(list(zip(line[0::step], line[1::step], line[2::step])))
        previous = line
    return rows


def _up(line: bytes, previous: bytes) -> bytes:
    """Filter 2 (each byte plus the one above, mod 256), every byte at once as one big integer."""
    low, high = int.from_bytes(b"\x7f" * len(line), "big"), int.from_bytes(b"\x80" * len(line), "big")
    a, b = int.from_bytes(line, "big"), int.from_bytes(previous, "big")
    return (((a & low) + (b & low)) ^ ((a ^ b) & high)).to_bytes(len(line), "big")


def _unfilter(kind: int, data: bytes, previous: bytes, step: int) -> bytes:
    """Filters 1, 3 and 4 (sub, average, Paeth), a byte at a time."""
    line = bytearray(data)
    for i in range(len(line)):
        a, b = line[i - step] if i >= step else 0, previous[i]
        c = previous[i - step] if i >= step else 0
        line[i] = (line[i] + (0, a, b, (a + b) // 2, _paeth(a, b, c))[kind]) & 0xFF
    return bytes(line)


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else b if pb <= pc else c


@pytest.mark.parametrize(("page", "chart", "scheme"), [("two", "chart-1", "light"), ("vgg16", "chart-1", "dark"),
                                                        ("vgg16", "chart-2", "light")],
                         ids=["models-side-by-side", "stage-bars-dark", "memory-line"])
def test_each_kind_of_chart_is_drawn_in_a_browser(pages, page, chart, scheme, tmp_path):
    """Only the chart shows, at the top left corner: inside its box the series' colours (the
    legend's swatches, the bars or the filled area) and the text; below it the empty page."""
    path = pages / f"{page}.html"
    svg = figures(path.read_text(encoding="utf-8"))[chart]
    height = int(svg.get("height"))
    rows = screenshot(path, chart, height, scheme, tmp_path)
    inside = [pixel for row in rows[:height] for pixel in row[:WIDTH]]
    background = PAGES[scheme]
    for colour in (tuple(bytes.fromhex(each[1:])) for each in PALETTE[:2]):  # each chart here has two series
        assert inside.count(colour) >= 12 * 12, f"{colour} hardly drawn"  # its legend swatch at least
    drawn = sum(pixel != background for pixel in inside)
    assert drawn >= 0.02 * len(inside), f"only {drawn} pixels drawn"
    assert all(pixel == background for row in rows[height + 4:] for pixel in row)  # nothing else on the page
    assert rows[0][WIDTH + 10] == background  # the chart ends at its width


def test_the_palette_reads_on_light_and_dark_pages():
    """WCAG 2.1 (1.4.11, non-text contrast): graphics at least 3:1 against what is next to them."""
    def luminance(rgb):
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    assert len(set(PALETTE)) == len(PALETTE) == 12
    for colour in PALETTE:
        for page in PAGES.values():
            light, dark = sorted([luminance(bytes.fromhex(colour[1:])), luminance(page)], reverse=True)
            assert (light + 0.05) / (dark + 0.05) >= 3, (colour, page)


def test_more_models_than_colours_are_charts_of_twelve_or_fewer(cli, write_spec):
    """Thirteen models side by side and against the input size were one chart each, the 13th
    model's swatch, bars and line blue, as the first's. They are split over charts as even as they
    go (6 and 7 here), each series of a chart its own colour and named once in its legend; the
    mermaid line chart of the markdown the same, with its legend in words."""
    paths = [write_spec(f"name: tiny{index}\ninput: [1, 8, 8]\nlayers:\n  - conv: {{kind: conv2d, out: {index}, "
                        f"kernel: 3}}\n", f"tiny{index}.yaml") for index in range(1, 14)]
    names = [f"tiny{index}" for index in range(1, 14)]
    result = cli("report", *paths, "--sweep", "8,16", "--format", "html")
    assert result.exit_code == 0, result.output
    charts = [svg for svg in figures(result.stdout).values()
              if texts(svg)[0].startswith(("The models side by side", "GMACs against input size"))]
    assert [texts(svg)[0] for svg in charts] == [
        "The models side by side (1–6 of 13)", "The models side by side (7–13 of 13)",
        "GMACs against input size (1–6 of 13)", "GMACs against input size (7–13 of 13)"]
    for first, second in (charts[:2], charts[2:]):
        shown = []
        for svg in (first, second):
            swatches = [rect.get("fill") for rect in svg.iter(f"{SVG}rect") if rect.get("width") == "12"]
            assert swatches == list(PALETTE[:len(swatches)])  # a colour each
            shown += [text for text in texts(svg) if text in names]
        assert shown == names  # each model once, in the legend of one chart
    markdown = cli("report", *paths, "--sweep", "8,16").stdout
    section = markdown.split("## Cost against resolution", 1)[1].split("\n## ", 1)[0]
    legends = [line for line in section.splitlines() if line.startswith("blue: ")]
    assert legends == ["blue: tiny1; amber: tiny2; green: tiny3; red: tiny4; violet: tiny5; pink: tiny6.",
                       ("blue: tiny7; amber: tiny8; green: tiny9; red: tiny10; violet: tiny11; pink: tiny12; "
                        "cyan: tiny13.")]


HUES = {"#3b82f6": "blue", "#d97706": "amber"}
"""Tailwind's blue-500 and amber-600 by name: the words a caption calls the first two series."""
CAPTIONED = {"stages": "resnet18",
             "one layer": "name: one\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n",
             "one block": ("name: one\ninput: [3, 8, 8]\nlayers:\n  - stem:\n      layers:\n"
                           "        - c: {kind: conv2d, out: 4, kernel: 3}\n        - r: relu\n")}
"""Models whose captioned charts differ: many stages, one stage of one layer, one stage of two."""


def drawn_marks(svg: ElementTree.Element) -> set[tuple[str, str]]:
    """What the chart draws, read from its SVG: (colour, mark) per series, the mark 'bar' or 'bars'
    (a rect with a tooltip; a legend's swatch has none), 'line' (a polyline of two points or more),
    'dot' (a circle), or 'line, filled below' (a line over a polygon of its colour)."""
    bars: dict[str, int] = {}
    for rect in svg.iter(f"{SVG}rect"):
        if rect.find(f"{SVG}title") is not None:
            bars[rect.get("fill")] = bars.get(rect.get("fill"), 0) + 1
    marks = {(HUES[fill], "bar" if count == 1 else "bars") for fill, count in bars.items()}
    filled = {polygon.get("fill") for polygon in svg.iter(f"{SVG}polygon")}
    marks |= {(HUES[line.get("stroke")], "line, filled below" if line.get("stroke") in filled else "line")
              for line in svg.iter(f"{SVG}polyline") if len(line.get("points").split()) > 1}
    return marks | {(HUES[dot.get("fill")], "dot") for dot in svg.iter(f"{SVG}circle")}


@pytest.mark.parametrize("spec", CAPTIONED.values(), ids=CAPTIONED.keys())
def test_each_charts_caption_names_the_marks_the_chart_draws(cli, write_spec, spec):
    """The captions under the time and memory charts were the markdown's, for its mermaid charts
    ('amber line', 'Blue bars' per block) while the SVG draws the time's amber series as bars and
    the memory as a line per layer. Each names each series' colour and mark as the SVG draws them."""
    spec = spec if spec == "resnet18" else write_spec(spec)
    page = cli("report", spec, "--device-profile", "h200", "--format", "html").stdout
    found = re.findall(r'<figure class="chart \w+" id="chart-\d+">(<svg .*?</svg>)</figure>\s*<p>(.*?)</p>', page)
    captions = [(svg, caption) for svg, caption in found if "Blue" in caption]
    assert len(captions) == 2  # the time chart and the memory chart
    for svg, caption in captions:
        named = {(colour.lower(), mark) for colour, mark in
                 re.findall(r"\b(Blue|amber) (bars?|line, filled below|line|dot)\b", caption)}
        assert named == drawn_marks(ElementTree.fromstring(svg)), caption
