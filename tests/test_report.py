"""`archcalc report`: valid GitHub-flavoured markdown whose every number is the library's figure,
byte-identical from run to run, written in one step."""

from __future__ import annotations

import re

import pytest
from markdown_it import MarkdownIt

from archcalc.analysis import analyze
from archcalc.render.numbers import grouped, shape_text
from archcalc.sizes import human_bytes


def tables(text: str) -> list[list[list[str]]]:
    """Every table of the markdown, as rows of cell texts (header row first), via markdown-it."""
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    found, row, inside = [], None, False
    for token in tokens:
        if token.type == "table_open":
            found.append([])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            inside = True
        elif token.type == "inline" and inside:
            row.append(token.content)
            inside = False
        elif token.type in ("th_close", "td_close") and inside:
            row.append("")
            inside = False
        elif token.type == "tr_close":
            found[-1].append(row)
    return found


def mermaid_blocks(text: str) -> list[str]:
    tokens = MarkdownIt("commonmark").parse(text)
    return [t.content for t in tokens if t.type == "fence" and t.info == "mermaid"]


def charts(text: str, start: str) -> list[str]:
    """The mermaid blocks whose diagram (after a %%{init}%% directive) starts with `start`."""
    return [block for block in mermaid_blocks(text) if re.sub(r"^%%\{.*\}%%\n", "", block).startswith(start)]


def test_depth_counts_every_convolution_and_linear_layer(cli):
    """It counted conv2d and linear only: M5 1, S3D 0. Published: M5 has 5 weight layers (Dai et
    al. 2017, "Very deep CNNs for raw waveforms", Table 1: 4 convolutions and the fully connected
    one), VGG-16 16 (Simonyan and Zisserman 2015), U-Net 23 convolutional layers (Ronneberger et
    al. 2015, section 2, its 4 up-convolutions among them)."""
    text = cli("report", "m5", "vgg16", "unet").stdout
    row = next(line for line in text.splitlines() if line.startswith("| depth (conv and linear layers)"))
    assert [cell.strip() for cell in row.strip("|").split("|")][1:4] == ["5", "16", "23"], row


def test_the_largest_layers_of_a_model_without_macs_are_those_of_most_parameters(cli, tmp_path):
    """The summary's shares are of the parameters in a model without MACs, but its layers were
    picked by MACs, all 0: the first three (`r` 0.0%, `bn` 1.5%, `flat` 0.0%), not batchnorm1d's 98.5%.
    By hand: batchnorm2d over 3 channels holds 2 × 3 = 6 parameters, batchnorm1d over 3 × 8 × 8 = 192
    features 384; 390 in all."""
    spec, empty = tmp_path / "norms.yaml", tmp_path / "empty.yaml"
    spec.write_text("name: norms\ninput: [3, 8, 8]\nlayers:\n  - r: relu\n  - bn: batchnorm2d\n"
                    "  - flat: flatten\n  - bn1d: batchnorm1d\n", encoding="utf-8")
    empty.write_text("name: empty\ninput: [3, 8, 8]\nlayers:\n  - r: relu\n", encoding="utf-8")
    result = cli("report", str(spec), str(empty))
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if line.startswith("| largest layers |")]
    assert [cell.strip() for cell in row.strip("|").split("|")][1:3] == [
        f"`bn1d` {384 / 390:.1%}, `bn` {6 / 390:.1%}", "—"]  # a layer of no share is none of the largest


def test_the_layers_of_a_model_of_one_layer_are_named_in_the_singular(cli, tmp_path):
    """The <details> of every layer said "All 1 layers of one"; a thousand layers are written with a comma, as every count."""
    one, many = tmp_path / "one.yaml", tmp_path / "many.yaml"
    one.write_text("name: one\ninput: [3, 8, 8]\nlayers:\n  - r: relu\n", encoding="utf-8")
    many.write_text("name: many\ninput: [3, 8, 8]\nlayers:\n  - r: {kind: relu, repeat: 1000}\n", encoding="utf-8")
    result = cli("report", str(one), str(many))
    assert result.exit_code == 0, result.output
    summaries = [line for line in result.stdout.splitlines() if line.startswith("<summary>")]
    assert summaries == ["<summary>The one layer of one</summary>", "<summary>All 1,000 layers of many</summary>"]


def test_a_single_model_report_has_the_library_figures(cli):
    text = cli("report", "resnet18").stdout
    stats = analyze("resnet18")
    header, summary, stages, _, layers = tables(text)
    assert header[0] == ["model", "resnet18 (`specs/resnet.yaml`)"]  # no empty heading row
    assert dict(row for row in header[1:])["input"] == "3×224×224"
    assert dict(row for row in header[1:])["archcalc"] == __import__("archcalc").__version__
    figures = {row[0]: row[1] for row in summary[1:]}
    assert figures["parameters"] == grouped(stats.totals.params) == "11,689,512"  # torchvision resnet18
    assert figures["MACs"].startswith(grouped(stats.totals.macs))
    assert figures["FLOPs"].startswith(grouped(stats.totals.flops))
    assert figures["depth (conv and linear layers)"] == "21"  # 17 + 3 projection convolutions, and the fc
    assert figures["activation memory"] == human_bytes(stats.totals.activation_bytes)
    costliest = sorted(stats.layers, key=lambda layer: -layer.figures.macs)[:3]
    assert figures["largest layers"] == ", ".join(
        f"`{layer.name}` {100 * layer.figures.macs / stats.totals.macs:.1f}%" for layer in costliest)
    rows = stats.rows(depth=1)
    assert [r[0].split(" (")[0] for r in stages[1:]] == [row.name for row in rows]
    assert [r[3] for r in stages[1:]] == [grouped(row.figures.params) for row in rows]
    assert [r[4] for r in stages[1:]] == [grouped(row.figures.macs) for row in rows]
    assert len(layers) - 1 == len(stats.layers)
    for cells, layer in zip(layers[1:], stats.layers):
        assert cells == [str(layer.index), layer.name, layer.kind, shape_text(layer.shape),
                         grouped(layer.figures.params), grouped(layer.figures.macs)]


def test_the_stages_cost_and_parameters_are_bars_in_human_units(cli):
    """VGG-16 as torchvision builds it: 138,357,544 parameters, 102,764,544 of them in the first
    linear layer (classifier.0, fc1 here), and 15.47 GFLOPS (MACs). Its straight chain of blocks
    has no flowchart."""
    text = cli("report", "vgg16").stdout
    assert not charts(text, "flowchart") and "## Graph" not in text
    stats = analyze("vgg16")
    stages = stats.rows(depth=1)
    macs, params = (chart for chart in charts(text, "xychart-beta") if " by stage (" in chart)
    assert sum(row.figures.params for row in stages) == 138_357_544 and round(stats.totals.macs / 1e9, 2) == 15.47
    for chart, title, unit, key, size in ((macs, "MACs", "G", "macs", 1e9), (params, "parameters", "M", "params", 1e6)):
        assert f'title "vgg16: {title} by stage ({unit})"' in chart and f'y-axis "{unit}"' in chart
        assert re.search(r"x-axis \[(.*)\]", chart)[1] == ", ".join(f'"{row.name}"' for row in stages)
        values = [float(v) for v in re.search(r"bar \[(.*)\]", chart)[1].split(", ")]
        assert values == [float(f"{getattr(row.figures, key) / size:.4g}") for row in stages]
        assert '"#3b82f6"' in chart  # the palette's blue, not mermaid's default #ECECFF
    assert "102.8" in re.search(r"bar \[(.*)\]", params)[1].split(", ")  # fc1: 102,764,544


def test_the_diagram_shows_merges_between_blocks(cli, write_spec):
    spec = write_spec("""
        name: branches
        input: [3, 16, 16]
        layers:
          - stem: {kind: conv2d, out: 8, kernel: 3, padding: 1}
          - left: {layers: [{conv: {kind: conv2d, out: 8, kernel: 1}}]}
          - right: {from: stem, layers: [{conv: {kind: conv2d, out: 8, kernel: 3, padding: 1}}]}
          - cat: {kind: concat, from: [left, right]}
    """)
    (diagram,) = charts(cli("report", spec).stdout, "flowchart TD\n")
    edges = re.findall(r"^    (n_\w+) --> (n_\w+)$", diagram, re.MULTILINE)
    assert edges == [("n_input", "n_stem"), ("n_stem", "n_left"), ("n_stem", "n_right"),
                     ("n_left", "n_cat"), ("n_right", "n_cat")]


@pytest.mark.parametrize("spec", ["lenet5", "alexnet_paper"])
def test_the_memory_section_has_memtrackers_peak_and_the_timeline_by_block(cli, spec):
    """The categories are MemTracker's (fake tensors, batch 1); the chart is the library's timeline
    grouped by top-level block, in KiB or MiB."""
    pytest.importorskip("torch")
    from archcalc.memory import analyze_memory
    from archcalc.spec import load_graph
    from archcalc.validation.peak import tracked_peak

    text = cli("report", spec).stdout
    graph = load_graph(spec)
    measured = tracked_peak(graph, (1, *graph.input_shape))
    memory = analyze_memory(spec)
    figures = {row[0]: row[1] for row in tables(text)[3][1:]}
    assert (figures["parameters"], figures["buffers"], figures["activations"], figures["peak"]) == tuple(
        grouped(n) for n in (measured.parameters, measured.buffers, measured.activations, measured.total))
    assert f"**{human_bytes(measured.total)}** while `{memory.peak_point.name}` runs." in text
    if memory.peak_point.transient:
        assert figures[f"of them `{memory.peak_point.name}`'s temporaries"] == grouped(memory.peak_point.transient)
    (chart,) = [chart for chart in charts(text, "xychart-beta") if "activations alive" in chart]
    assert chart.startswith('%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "#3b82f6, #d97706"}}}}%%')
    assert "Blue bars: the most alive while the block runs; amber line: alive after it" in text
    blocks = list(dict.fromkeys(layer.name.split(".")[0] for layer in memory.layers))
    unit = 2**20 if max(layer.during for layer in memory.layers) >= 2**20 else 2**10
    assert re.search(r'x-axis "block" \[(.*)\]', chart)[1] == ", ".join(f'"{name}"' for name in blocks)
    bars = [float(v) for v in re.search(r"bar \[(.*)\]", chart)[1].split(", ")]
    line = [float(v) for v in re.search(r"line \[(.*)\]", chart)[1].split(", ")]
    for name, bar, after in zip(blocks, bars, line, strict=True):
        layers = [layer for layer in memory.layers if layer.name.split(".")[0] == name]
        assert bar == float(f"{max(layer.during for layer in layers) / unit:.4g}")
        assert after == float(f"{layers[-1].after / unit:.4g}")


def test_a_long_flat_model_shares_bars_and_int8_has_no_memory(cli, write_spec):
    spec = write_spec("name: flat\ninput: [3, 8, 8]\nlayers:\n" + "".join(
        f"  - c{i}: {{kind: conv2d, out: 4, kernel: 3, padding: 1}}\n" for i in range(100)))
    cost, params, chart = charts(cli("report", spec).stdout, "xychart-beta")
    labels = re.search(r'x-axis "block" \[(.*)\]', chart)[1].split(", ")
    assert len(labels) == 34 and labels[0] == '"c0-c2"' and labels[-1] == '"c99"'
    for stages in (cost, params):  # the stages' bars are joined alike
        assert re.search(r"x-axis \[(.*)\]", stages)[1].split(", ") == labels
    int8 = cli("report", "lenet5", "--dtype", "int8").stdout
    assert "## Inference memory\n\nNot modelled in int8" in int8 and "activations alive" not in int8


@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_a_report_links_to_no_file_beside_it(cli, dtype):
    """A report is pasted into a pull request or written anywhere: the memory section linked
    '[memory.md](memory.md)', a file beside the report that is not there (in the HTML page too)."""
    for form in ("markdown", "html"):
        page = cli("report", "lenet5", "--dtype", dtype, "--format", form).stdout
        html = MarkdownIt("commonmark").enable("table").render(page) if form == "markdown" else page
        assert re.findall(r'<a href="([^"]*)"', html) == [], form
        assert "(docs/memory.md)" in page


def test_several_models_side_by_side_with_ratios_to_the_first(cli):
    text = cli("report", "lenet5", "alexnet").stdout
    summary = tables(text)[1]
    assert summary[0] == ["figure", "lenet5", "alexnet", "alexnet / lenet5"]
    lenet, alexnet = analyze("lenet5"), analyze("alexnet")
    figures = {row[0]: row[1:] for row in summary[1:]}
    assert figures["parameters"][:2] == [grouped(lenet.totals.params), grouped(alexnet.totals.params)]
    ratio = float(figures["parameters"][2].rstrip("×").replace(",", ""))
    assert ratio == round(alexnet.totals.params / lenet.totals.params)  # 990
    mac_ratio = float(figures["MACs"][2].rstrip("×").replace(",", ""))
    assert mac_ratio == round(alexnet.totals.macs / lenet.totals.macs)
    assert "## Stages: lenet5" in text and "## Stages: alexnet" in text


def test_several_models_are_charted_side_by_side_a_chart_per_figure(cli):
    """torchvision's model docs publish resnet18's 11,689,512 parameters and 1.81 GFLOPS (MACs),
    vgg16's 138,357,544 and 15.47, mobilenet_v2's 3,504,872 and 0.30."""
    from archcalc.memory import analyze_memory

    text = cli("report", "resnet18", "vgg16", "mobilenet_v2").stdout
    section = text.split("### The models side by side\n\n")[1].split("\n## ")[0]
    shown = {}
    for chart in charts(section, "xychart-beta"):
        assert 'x-axis ["resnet18", "vgg16", "mobilenet_v2"]' in chart
        title = re.search(r'title "(.*)"', chart)[1]
        shown[title] = [float(v) for v in re.search(r"bar \[(.*)\]", chart)[1].split(", ")]
    assert list(shown) == ["parameters (M)", "MACs (G)", "inference peak (MiB)"]
    assert shown["parameters (M)"] == [11.69, 138.4, 3.505]  # four significant digits of the published counts
    assert [round(v, 2) for v in shown["MACs (G)"]] == [1.81, 15.47, 0.30]
    peaks = [analyze_memory(name).peak / 2**20 for name in ("resnet18", "vgg16", "mobilenet_v2")]
    assert shown["inference peak (MiB)"] == [float(f"{peak:.4g}") for peak in peaks]


def test_two_runs_are_byte_identical_and_written_in_one_step(cli, tmp_path):
    first, second = tmp_path / "a.md", tmp_path / "b.md"
    assert cli("report", "resnet50", "vgg11", "-o", first).exit_code == 0
    assert cli("report", "resnet50", "vgg11", "-o", second).exit_code == 0
    assert first.read_bytes() == second.read_bytes()
    assert cli("report", "resnet50", "vgg11").stdout == first.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
    stamped = cli("report", "lenet5", "--timestamp").stdout
    assert re.search(r"^\| generated \| \d{4}-\d\d-\d\d \d\d:\d\d UTC \|$", stamped, re.MULTILINE)


def test_a_spec_is_never_the_report_file(cli, write_spec):
    spec = write_spec("name: x\ninput: [3, 8, 8]\nlayers:\n  - r: relu\n")
    before = spec.read_bytes()
    result = cli("report", spec, "-o", spec)
    assert result.exit_code == 2 and spec.read_bytes() == before


def test_the_checked_layers_of_a_model_of_one_layer_are_named_in_the_singular(cli, tmp_path):
    """The cross-validation's <details> said "Each of the 1 layers", beside "its one layer" in the verdict."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    one = tmp_path / "one.yaml"
    one.write_text("name: one\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n", encoding="utf-8")
    result = cli("report", str(one), "--validate")
    assert result.exit_code == 0, result.output
    section = result.stdout.split("## Cross-validation\n\n")[1]
    assert section.startswith("✓ one: its one layer and the totals agree")
    assert "<details>\n<summary>Its one layer</summary>\n" in section


def test_validate_adds_the_cross_validation_and_stays_identical(cli):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    first = cli("report", "lenet5", "--validate")
    assert first.exit_code == 0, first.output
    assert "## Cross-validation" in first.stdout
    layers = len(analyze("lenet5").layers)
    section = first.stdout.split("## Cross-validation\n\n")[1]
    assert section.startswith(f"✓ lenet5: all {layers} layers and the totals agree")  # the verdict first
    assert f"<details>\n<summary>Each of the {layers} layers</summary>\n\n| # | layer | output |" in section  # no kind: narrower
    assert cli("report", "lenet5", "--validate").stdout == first.stdout


def test_validate_over_several_models_has_each_models_table_of_layers(cli, write_spec):
    """With two models, the cross-validation gave each verdict, header and legend ("each cell: …")
    but no table of layers, where docs/report.md promises the table of every layer checked."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    one = write_spec("name: one\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n", "one.yaml")
    two = write_spec("name: two\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 2, kernel: 1}\n"
                     "  - r: relu\n", "two.yaml")
    result = cli("report", one, two, "--validate")
    assert result.exit_code == 0, result.output
    section = result.stdout.split("## Cross-validation\n\n")[1]
    first, second = section.split("✓ two: ")
    assert "<details>\n<summary>Its one layer</summary>\n" in first
    assert "<details>\n<summary>Each of the 2 layers</summary>\n" in second
    assert [row[:3] for row in tables(first)[0][1:]] == [["1", "c", "1×4×6×6 ✓"], ["", "total", "1×4×6×6 ✓"]]
    assert [row[:5] for row in tables(second)[0][1:]] == [  # 2 × 3 weights + 2 biases
        ["1", "c", "1×2×8×8 ✓", "8 ✓", "0 ✓"], ["2", "r", "1×2×8×8 ✓", "0 ✓", "0 ✓"], ["", "total", "1×2×8×8 ✓", "8 ✓", "0 ✓"]]


@pytest.mark.parametrize(("layers", "refused"), [
    (("[4, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 1}\n"
      "  - act: {kind: opaque, operation: \"'elu'\", shape: [4, 8, 8], reads: [4, 8, 8]}\n"),
     "layer 'act': opaque (elu) has no torch module in archcalc"),
    (("[4, 4, 1]\nlayers:\n  - norm: channel_layer_norm\n"  # test_validate's crashing convolution, grouped:
      # through oneDNN at a batch of 1, where it crashes
      "  - conv: {kind: conv2d, out: 12, kernel: [5, 2], stride: [1, 2], padding: 3, dilation: 2, groups: 2}\n"),
     "layer 'conv': torch's CPU convolution crashes (a segmentation fault)"),
], ids=["opaque", "crashing convolution"])
def test_validate_refuses_a_model_validate_refuses_before_building_any(cli, write_spec, layers, refused):
    """`report lenet5 odd.yaml --validate`, odd.yaml holding an opaque layer (or a convolution torch's
    CPU kernel crashes on), built and checked lenet5 against torch and only then exited 2 at
    odd.yaml: it now refuses first, with validate's error, and no model is validated (no progress
    line on stderr)."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    path = write_spec(f"name: odd\ninput: {layers}")
    refusal = cli("validate", path, "--runs", "0")
    assert refusal.exit_code == 2 and refusal.stderr.startswith(f"error: {path}:5:5: {refused}")
    result = cli("report", "lenet5", path, "--validate")
    assert result.exit_code == 2
    assert result.stderr == refusal.stderr


def test_validate_names_the_model_of_several_a_device_has_no_room_for(cli, monkeypatch):
    """`report A B --validate` refused B for want of memory saying 'the model needs at least …', of
    two models; it names B, as `validate --all` does, and validates neither (no progress line)."""
    pytest.importorskip("torch")
    import archcalc.validation

    available = iter([None, 0])  # room for the first model (not known: not refused), none for the second
    monkeypatch.setattr(archcalc.validation, "_available_memory", lambda torch, place: next(available))
    result = cli("report", "lenet5", "resnet18", "--validate")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: resnet18 (specs/resnet.yaml): the model needs at least "), result.stderr
    assert "validate 1/2" not in result.stderr


def test_a_report_over_the_specs_parameters_charts_each_setting(cli):
    """`--set` on ResNet-50's groups and base width: the setting groups=32, base_width=4 is
    ResNeXt-50 32×4d, whose torchvision 0.29 weights publish 25,028,904 parameters and 4.23 GFLOPS;
    groups=1, base_width=64 is ResNet-50 (25,557,032 and 4.09)."""
    text = cli("report", "resnet50", "--set", "groups=1,32", "--set", "base_width=4,64").stdout
    section = text.split("## Cost against the parameters", 1)[1].split("\n## ", 1)[0]
    (table,) = tables(section)
    assert table[0][:5] == ["groups", "base_width", "input", "params", "MACs"]
    rows = {(row[0], row[1]): row for row in table[1:]}
    assert len(rows) == 4 and all(row[2] == "224×224" for row in rows.values())
    assert rows["32", "4"][3] == "25,028,904" and round(int(rows["32", "4"][4].replace(",", "")) / 1e9, 2) == 4.23
    assert rows["1", "64"][3] == "25,557,032" and round(int(rows["1", "64"][4].replace(",", "")) / 1e9, 2) == 4.09
    (chart,) = mermaid_blocks(section)
    assert chart.count("bar [") == 1 and "x-axis \"setting\"" in chart


@pytest.mark.parametrize("sizes", [[], ["--sweep", "160,224"]], ids=["one size", "two sizes"])
def test_a_report_over_a_list_parameter_charts_each_setting(cli, sizes):
    """`--set depths=[3,4,6,3],[2,2,2,2]`, a list per setting as sweep takes it, ended the report in
    a traceback (TypeError: unhashable type: 'list')."""
    for form in ("markdown", "html"):
        result = cli("report", "resnet50", "--set", "depths=[3,4,6,3],[2,2,2,2]", *sizes, "--format", form)
        assert result.exit_code == 0 and "Traceback" not in result.output, result.output
    text = cli("report", "resnet50", "--set", "depths=[3,4,6,3],[2,2,2,2]", *sizes).stdout
    smaller = analyze("resnet50", input="3x224x224")  # depths [3, 4, 6, 3]: the spec's own
    (row,) = [row for row in tables(text.split("## Cost against the parameters", 1)[1])[0]
              if row[0] == "\\[3, 4, 6, 3\\]" and row[1] == "224×224"]
    assert row[2:4] == [grouped(smaller.totals.params), grouped(smaller.totals.macs)]
    assert len(mermaid_blocks(text.split("## Cost against the parameters", 1)[1].split("\n## ", 1)[0])) == 1


def test_a_settings_value_and_its_error_show_as_written(cli, write_spec):
    """An attacking review found the `--set` table escaped twice: the report showed
    "my_w\\*2 // d" and "bad\\|x", with backslashes neither the spec nor the option had. Rendered
    by markdown-it (the HTML report's own renderer), each cell is the text as written."""
    path = write_spec("""
        name: rs
        input: [1, 8, 8]
        params: {d: 1, my_w: 2, act: relu}
        layers:
          - conv1: {kind: conv2d, out: "my_w*2 // d", kernel: 3}
          - a: act
    """)
    text = cli("report", path, "--set", "d=1,0", "--set", "act=relu,bad|x").stdout
    section = text.split("## Cost against the parameters", 1)[1].split("\n## ", 1)[0]
    html = MarkdownIt("commonmark").enable("table").render(section)
    assert "division by zero in 'my_w*2 // d'" in html and "\\" not in html
    assert ">bad|x</td>" in html and "unknown layer kind 'bad|x'" in html


def test_a_report_over_parameters_and_sizes_draws_a_line_per_setting(cli):
    text = cli("report", "resnet50", "--set", "base_width=32,64", "--sweep", "160,224").stdout  # resnet18 never reads it
    (chart,) = mermaid_blocks(text.split("## Cost against the parameters", 1)[1].split("\n## ", 1)[0])
    lines = [line.strip() for line in chart.splitlines() if line.strip().startswith("line [")]
    assert len(lines) == 2 and '"160", "224"' in chart
    assert "\nblue: base_width=32; amber: base_width=64.\n" in text  # the legend mermaid does not draw
    at = [analyze("resnet50", input=f"3x{size}x{size}").totals.macs for size in (160, 224)]  # base width 64
    assert lines[1] == f"line [{at[0] / 1e9:.4g}, {at[1] / 1e9:.4g}]"


def test_a_sweep_of_one_size_charts_a_bar_per_model(cli):
    """A mermaid line of one point draws nothing: `--sweep 32` charted two such lines, an empty
    chart. At one size it is a bar per model: LeNet-5's 416,520 MACs at 32 (117,600 + 240,000 +
    48,000 + 10,080 + 840) and ResNet-18's, as torch's FlopCounterMode counts it below."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.torchmodel import build_torch

    model = build_torch("resnet18").eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 32, 32))
    conv_and_linear = sum(counter.get_flop_counts()["Global"].get(op, 0) for op in
                          (torch.ops.aten.convolution, torch.ops.aten.addmm, torch.ops.aten.mm)) // 2
    text = cli("report", "lenet5", "resnet18", "--sweep", "32").stdout
    (chart,) = [c for c in mermaid_blocks(text.split("## Cost against resolution", 1)[1].split("\n## ", 1)[0])]
    assert "line [" not in chart and 'x-axis "model" ["lenet5", "resnet18"]' in chart
    assert 'title "GMACs at input size 32"' in chart
    assert f"    bar [{416520 / 1e9:.4g}, {conv_and_linear / 1e9:.4g}]" in chart


def test_the_activations_of_a_model_of_one_block_are_two_bars(cli, write_spec):
    """A model of one top-level layer: the mermaid charts of the activations alive and of the
    predicted time drew what stays after the block, and the stage's share of the MACs, as a line
    of one point, which draws nothing, though the legends named an amber line. Over one bar it is
    a bar over it, and the legend says so."""
    spec = write_spec("name: one\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n")
    text = cli("report", spec, "--device-profile", "h200").stdout
    (memory,) = [chart for chart in charts(text, "xychart-beta") if "activations alive" in chart]
    (time,) = [chart for chart in charts(text, "xychart-beta") if "predicted time" in chart]
    for chart in (memory, time):
        assert "line [" not in chart and chart.count("    bar [") == 2
    assert "Blue bar: the most alive while the block runs; amber bar over it: alive after it" in text


def test_a_model_of_one_stage_draws_its_time_and_cost_bars_apart(cli, write_spec):
    """One stage holds all of the predicted time and all of the MACs: its two bars were both
    100.0 under one label, and mermaid draws one label's bars over one another, so the amber bar
    hid the blue one. Each is under a label of its own, the other series 0 there."""
    spec = write_spec("name: one\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n")
    text = cli("report", spec, "--device-profile", "h200").stdout
    (time,) = [chart for chart in charts(text, "xychart-beta") if "predicted time" in chart]
    bars = [line.strip() for line in time.splitlines() if line.strip().startswith("bar [")]
    assert bars == ["bar [100.0, 0]", "bar [0, 100.0]"]  # blue on the first label only, amber on the second
    assert "x-axis [\"c#58; predicted time\", \"c#58; MACs\"]" in time
    assert "Blue bar: the stage's share of the predicted time; amber bar beside it: its share of the MACs" in text


def test_settings_valid_together_at_one_size_of_several_are_a_bar_each(cli):
    """LeNet-5 at 8 is not valid (conv2's window of 5 does not fit 2 or 4 pixels), at 32 it is:
    two lines of one point each drew nothing. The settings at 32 are a bar each, the size named:
    padding 0 gives 416,520 MACs, padding 2 the sum worked out by hand below."""
    conv1 = 6 * 32 * 32 * 25  # padding 2 keeps 32×32: 6 maps of 32×32, 25 taps each
    conv2 = 16 * 12 * 12 * 6 * 25  # on 6×16×16 after the pool: 12×12 out, 150 taps
    fc1 = 120 * 16 * 6 * 6
    text = cli("report", "lenet5", "--set", "padding=0,2", "--sweep", "8,32").stdout
    (chart,) = mermaid_blocks(text.split("## Cost against the parameters", 1)[1].split("\n## ", 1)[0])
    assert "line [" not in chart and 'title "GMACs against the setting at input size 32"' in chart
    assert f"    bar [{416520 / 1e9:.4g}, {(conv1 + conv2 + fc1 + 120 * 84 + 84 * 10) / 1e9:.4g}]" in chart


def test_a_model_without_cost_or_parameters_has_no_empty_chart(cli, write_spec):
    spec = write_spec("name: relus\ninput: [3, 8, 8]\nlayers:\n  - a: relu\n  - b: relu\n")
    text = cli("report", spec).stdout
    assert "## Where the cost goes\n\nNo stage has a cost or a parameter.\n\n## " in text
    assert not [chart for chart in charts(text, "xychart-beta") if " by stage (" in chart]


def test_models_side_by_side_chart_no_figure_that_is_0_in_each(cli, write_spec):
    """Two models of no parameters and no MACs: 'parameters (count)' and 'MACs (count)' were
    charts of bar [0, 0]; only the inference peak is charted (in the HTML page too, which also drew
    each model's 'MACs and parameters by stage' bars of nothing, where the markdown says so)."""
    one = write_spec("name: relus\ninput: [3, 8, 8]\nlayers:\n  - a: relu\n", "one.yaml")
    two = write_spec("name: views\ninput: [3, 8, 8]\nlayers:\n  - a: identity\n  - b: flatten\n", "two.yaml")
    text = cli("report", one, two).stdout
    side = text.split("### The models side by side", 1)[1].split("\n## ", 1)[0]
    assert [re.search(r'title "(.*)"', chart)[1] for chart in mermaid_blocks(side)] == ["inference peak (B)"]
    page = cli("report", one, two, "--format", "html").stdout
    assert ">parameters</text>" not in page and ">MACs</text>" not in page and ">inference peak</text>" in page
    assert "and parameters by stage" not in page and page.count("No stage has a cost or a parameter.") == 2


def test_a_sweep_of_no_cost_has_no_chart_of_zeros(cli, write_spec):
    """A model of no MACs swept over sizes: 'GMACs against input size' was a chart of line [0, 0];
    the table of exact figures says it."""
    spec = write_spec("name: relus\ninput: [3, 8, 8]\nlayers:\n  - a: relu\n")
    for form in ("markdown", "html"):
        page = cli("report", spec, "--sweep", "8,16", "--format", form).stdout
        assert "against input size" not in page and "relus MACs" in page, form


def test_a_model_of_no_kernel_and_no_cost_has_no_empty_time_chart(cli, write_spec):
    """Bars of 0% and a line of 0% were drawn for a model whose layers run no kernel (views)."""
    spec = write_spec("name: views\ninput: [3, 8, 8]\nlayers:\n  - a: identity\n  - b: flatten\n")
    text = cli("report", spec, "--device-profile", "h200").stdout
    assert "## Predicted time beside MACs\n\nOn NVIDIA H200 SXM (141 GB HBM3e) in float32: no stage runs a kernel " \
           "or has a cost.\n\n## " in text
    assert not [chart for chart in charts(text, "xychart-beta") if "predicted time" in chart]
    page = cli("report", spec, "--device-profile", "h200", "--format", "html").stdout
    assert "predicted time and MACs by stage" not in page


OPAQUE = """name: opq
input: [3, 8, 8]
layers:
  - conv: {kind: conv2d, out: 4, kernel: 3, padding: 1}
  - act: {kind: opaque, operation: "'mystery'", shape: [4, 8, 8], reads: [4, 8, 8]}
  - f: flatten
  - fc: {kind: linear, out: 2}
"""


@pytest.mark.parametrize("first", [True, False])
def test_the_ratio_of_a_predicted_latency_that_is_a_lower_bound_is_a_bound(cli, tmp_path, first):
    """A fuzzer found `report opq.yaml lenet5 --device-profile P` printing '≥ 20.0 µs' for the model
    whose opaque layer's FLOPs are unknown and then an exact-looking ratio beside it: lenet5 over a
    lower bound is at most the ratio, a lower bound over lenet5 at least."""
    spec = tmp_path / "opq.yaml"
    spec.write_text(OPAQUE, encoding="utf-8")
    models = [str(spec), "lenet5"] if first else ["lenet5", str(spec)]
    result = cli("report", *models, "--device-profile", "h200")
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if line.startswith("| predicted latency |")]
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    bound = 1 if first else 2
    assert cells[bound].startswith("≥ ") and not cells[3 - bound].startswith("≥")
    assert cells[3].startswith("≤ " if first else "≥ "), row


def test_a_lower_bound_over_a_model_that_predicts_no_time_has_no_ratio(cli, tmp_path):
    """A model of views alone predicts 0: the ratio of a lower bound over it was written '≥ —'."""
    spec, views = tmp_path / "opq.yaml", tmp_path / "views.yaml"
    spec.write_text(OPAQUE, encoding="utf-8")
    views.write_text("name: views\ninput: [3, 4, 4]\nlayers:\n  - a: identity\n  - f: flatten\n", encoding="utf-8")
    result = cli("report", str(views), str(spec), "--device-profile", "h200")
    assert result.exit_code == 0, result.output
    [row] = [line for line in result.stdout.splitlines() if line.startswith("| predicted latency |")]
    assert [cell.strip() for cell in row.strip("|").split("|")][1::2] == ["0", "—"], row


def test_the_chart_of_predicted_time_merges_stages_beyond_its_bars(cli, tmp_path):
    """A fuzzer found the chart of predicted time beside MACs drawing a bar for each of 97 stages,
    where the other stage charts merge consecutive ones beyond BARS (docs/report.md)."""
    from archcalc.render.report import BARS

    layers = "".join(f"  - c{index}: {{kind: conv2d, out: 4, kernel: 3, padding: 1}}\n" for index in range(97))
    spec = tmp_path / "flat.yaml"
    spec.write_text(f"name: flat\ninput: [4, 8, 8]\nlayers:\n{layers}", encoding="utf-8")
    result = cli("report", str(spec), "--device-profile", "h200")
    assert result.exit_code == 0, result.output
    chart = result.stdout.split("## Predicted time beside MACs")[1].split("```mermaid")[1].split("```")[0]
    axis = next(line for line in chart.splitlines() if "x-axis" in line)
    bars = next(line for line in chart.splitlines() if line.strip().startswith("bar ["))
    line = next(line for line in chart.splitlines() if line.strip().startswith("line ["))
    labels = axis.count('"') // 2
    assert labels <= BARS and labels == bars.count(",") + 1 == line.count(",") + 1, axis
    assert '"c0-c2"' in axis  # 97 stages in runs of 3
    assert sum(map(float, bars.split("[")[1].rstrip("]").split(","))) == pytest.approx(100, abs=0.1 * labels)


COLOURS = ["blue", "amber", "green", "red", "violet", "pink", "cyan", "olive", "rust", "indigo", "magenta", "grey"]
"""The twelve colours a mermaid chart's legend in words names (docs/report.md)."""


def legends(section: str) -> list[list[tuple[str, str]]]:
    """Each legend in words below a mermaid chart: (colour, series) pairs."""
    return [[tuple(pair.split(": ", 1)) for pair in line.rstrip(".").split("; ")]
            for line in section.splitlines() if line.startswith("blue: ")]


def test_more_lines_than_colours_are_charts_of_twelve_or_fewer(cli, write_spec):
    """Thirteen settings against two sizes were one mermaid chart of 13 lines in twelve colours: the
    13th line blue, as the first, and its legend 'blue: w=1; …; blue: w=13'. The lines are split
    over charts as even as they go (7 and 6 here), each line of a chart its own colour and named
    once in its legend."""
    path = write_spec("""
        name: tiny
        input: [1, 8, 8]
        params: {w: 1}
        layers:
          - conv: {kind: conv2d, out: w, kernel: 3}
    """)
    text = cli("report", path, "--set", "w=1:13:1", "--sweep", "8,16").stdout
    section = text.split("## Cost against the parameters", 1)[1].split("\n## ", 1)[0]
    blocks = mermaid_blocks(section)
    assert [block.count("    line [") for block in blocks] == [6, 7]
    assert ['title "GMACs against the input size (1–6 of 13)"' in blocks[0],
            'title "GMACs against the input size (7–13 of 13)"' in blocks[1]] == [True, True]
    found = legends(section)
    assert [[colour for colour, _ in legend] for legend in found] == [COLOURS[:6], COLOURS[:7]]
    assert [name for legend in found for _, name in legend] == [f"w={w}" for w in range(1, 14)]
    # one scale in both charts (mermaid scales each to its own lines): 0 to w=13's MACs at 16×16,
    # 13 filters × 9 taps × 14×14 outputs = 22,932 = 0.00002293 G
    assert [block.count('    y-axis "GMACs" 0 --> 0.00002293\n') for block in blocks] == [1, 1]


HUES = {"#3b82f6": "blue", "#d97706": "amber"}
"""Tailwind's blue-500 and amber-600 by name: the words a caption calls the first two series."""
CAPTIONED = {"stages": "resnet18",
             "one layer": "name: one\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n",
             "one block": ("name: one\ninput: [3, 8, 8]\nlayers:\n  - stem:\n      layers:\n"
                           "        - c: {kind: conv2d, out: 4, kernel: 3}\n        - r: relu\n")}
"""Models whose captioned charts differ: many stages, one stage of one layer, one stage of two."""


def mermaid_marks(chart: str) -> set[tuple[str, str]]:
    """What an xychart draws, read from it: (colour, mark) per series, each series the palette's
    colour at its place (mermaid's plotColorPalette), its mark 'bar' or 'bars' (the values not 0)
    or 'line'."""
    palette = re.search(r'"plotColorPalette": "([^"]*)"', chart)[1].split(", ")
    series = re.findall(r"^    (bar|line) \[(.*)\]$", chart, re.MULTILINE)
    return {(HUES[palette[index]], mark if mark == "line" else
             "bar" if sum(float(v) != 0 for v in values.split(", ")) == 1 else "bars")
            for index, (mark, values) in enumerate(series)}


@pytest.mark.parametrize("spec", CAPTIONED.values(), ids=CAPTIONED.keys())
def test_each_mermaid_charts_caption_names_the_marks_it_draws(cli, write_spec, spec):
    """The paragraph beside each two-series mermaid chart (the time's before it, the memory's
    after it) names each series' colour and mark as the chart draws them."""
    spec = spec if spec == "resnet18" else write_spec(spec)
    paragraphs = cli("report", spec, "--device-profile", "h200").stdout.split("\n\n")
    checked = 0
    for index, chart in enumerate(paragraphs):
        if chart.startswith("```mermaid") and "#d97706" in chart:
            (caption,) = [p for p in (paragraphs[index - 1], paragraphs[index + 1]) if "Blue" in p]
            named = {(colour.lower(), mark) for colour, mark in re.findall(r"\b(Blue|amber) (bars?|line)\b", caption)}
            assert named == mermaid_marks(chart), caption
            checked += 1
    assert checked == 2  # the time chart and the memory chart
