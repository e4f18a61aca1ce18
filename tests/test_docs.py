"""The documentation stays true to the code."""

from __future__ import annotations

import re
import statistics
from pathlib import Path

import pytest

from archcalc.conventions import CONVENTIONS
from archcalc.layers import LAYER_KINDS
from archcalc.layers.base import WorkSize
from archcalc.spec import bundled
from archcalc.spec.expand import ITEM_KEYS, TOP_KEYS

ROOT = Path(__file__).resolve().parents[1]


def test_spec_reference_covers_every_kind_field_and_key():
    import re

    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    sections = {}  # a heading may name several kinds that share their rules: ### `conv1d`, `conv3d`
    for section in re.split(r"^### ", text, flags=re.MULTILINE)[1:]:
        heading, _, body = section.partition("\n")
        for key in re.findall(r"`([a-z0-9_]+)`", heading):
            sections.setdefault(key, body)
    for key, kind in LAYER_KINDS.items():
        assert key in sections, f"docs/spec.md has no section for {key}"
        body = sections[key]
        for field in kind.fields:
            assert f"| `{field}` |" in body, f"{key}.{field} is not documented"
    for key in TOP_KEYS | ITEM_KEYS:
        assert f"| `{key}` |" in text, f"key '{key}' is not documented"


def test_conventions_are_documented():
    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    for name in CONVENTIONS:
        assert f"| `{name}`" in text


def test_readme_set_up_commands_are_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    install = 'pip install torch==2.13.0 && pip install ".[torch,test]"'
    assert f"{install} && archcalc table resnet50" in readme
    assert f"{install} && python -m pytest" in readme
    assert "pip install --quiet torch==2.13.0" in ci and 'pip install --quiet ".[torch,test]"' in ci
    assert "python -m pytest" in ci


def test_layer_kind_examples_in_the_reference_are_valid():
    import re

    import yaml

    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    kinds_section = text.split("## Layer kinds", 1)[1].split("## Errors", 1)[0]
    examples = [line for block in re.findall(r"```yaml\n(.*?)```", kinds_section, re.DOTALL)
                for line in block.splitlines() if line.startswith("- ")]
    assert len(examples) >= len([k for k in LAYER_KINDS if LAYER_KINDS[k].fields])
    for line in examples:
        (name, body), = yaml.safe_load(line)[0].items()
        body = {"kind": body} if isinstance(body, str) else body
        kind = LAYER_KINDS[body.pop("kind")]
        body.pop("from", None)
        assert set(body) <= set(kind.fields), line
        kind.resolve(body)


def test_readme_and_latency_md_name_every_option_of_device_profile(cli):
    """README's line for `archcalc device-profile` left out --dtype and --name."""
    listed = re.findall(r"^│ (--[a-z][a-z-]*)", cli("device-profile", "--help").stdout, re.MULTILINE)
    options = set(listed) - {"--help", "--output"}
    readme = next(line for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
                  if line.startswith("| `archcalc device-profile "))
    usage = (ROOT / "docs" / "latency.md").read_text(encoding="utf-8").split("`archcalc device-profile [", 1)[1]
    for text in (readme.split("` |", 1)[0], usage.split("`", 1)[0]):
        assert options == {"--device", "--threads", "--dtype", "--name"} and all(option in text for option in options)
        assert "-o FILE" in text


def test_readme_sample_shows_torchvisions_figures():
    # The sample is checked against the command below (test_every_sample_is_what_the_command_prints),
    # its figures against torchvision in test_published_figures.py.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = readme.split("$ archcalc table resnet50 --depth 1\n", 1)[1].split("```", 1)[0]
    assert "25,557,032" in sample and "4,089,184,256" in sample


def test_limits_table_states_the_limits_in_the_code():
    from archcalc import limits

    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    table = text.split("## Limits", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    rows = {row.split(" | ")[0].lstrip("| "): row.split(" | ")[1] for row in table.splitlines()[2:]}
    stated = {
        "size of a spec file": f"{limits.MAX_FILE_BYTES // 2**20} MiB",
        "characters of a path a spec includes (`kind: model`) or a baseline names (`spec:`)":
            f"{limits.MAX_PATH_CHARS:,}",
        "lists and mappings nested in each other (also through aliases)": f"{limits.MAX_YAML_DEPTH}",
        "YAML nodes written in the file": f"{limits.MAX_YAML_NODES:,}",
        'YAML nodes after alias expansion ("billion laughs")': f"{limits.MAX_YAML_NODES:,}",
        "variants in one spec file": f"{limits.MAX_VARIANTS:,}",
        "layers analysed with a symbol among the sizes (`--input 3xHxW`, `--batch N`, `sweep`, `report --sweep`)":
            f"{limits.MAX_SYMBOLIC_LAYERS:,}",
        "layers of a symbolic analysis whose rules run (a repeat of an earlier layer on the same input shapes is not counted)":
            f"{limits.MAX_SYMBOLIC_COMPUTED:,}",
        "distinct formulas among the sizes of a symbolic analysis": f"{limits.MAX_SYMBOLIC_SIZES:,}",
        "divisor in a symbolic size (the strides along one axis multiplied)": f"{limits.MAX_SYMBOLIC_DIVISOR:,}",
        "items after every repeat: layers, block and group instances, repeats, items switched off by `when`":
            f"{limits.MAX_EXPANDED:,}",
        "blocks and groups nested in each other": f"{limits.MAX_NESTING}",
        "specs whose models include each other (`kind: model`)": f"{limits.MAX_INCLUDED}",
        "characters in one expression": f"{limits.MAX_EXPRESSION_CHARS:,}",
        "operations in one expression each working on the result of another, nested or chained (a sum of 33 terms "
        "chains 32 `+`)": f"{limits.MAX_EXPRESSION_DEPTH}",
        "a number an expression produces": "10¹⁵" if limits.MAX_MAGNITUDE == 10**15 else "?",
        "a value of `--set`, and each end and step of its range": "10¹⁵" if limits.MAX_MAGNITUDE == 10**15 else "?",
        "bits of a whole number in a spec or a baseline (YAML reads any number of 0x or 0b digits; Python writes at "
        "most 4,300 decimal digits)": f"{limits.MAX_INT_BITS:,}",
        "the exponent of `pow` in an expression": f"{limits.MAX_EXPONENT}",
        "batch, channels, height, width or features of any tensor": f"2³¹ − 1 = {limits.MAX_DIMENSION:,}",
        "a whole-number field (`out`, `kernel`, `stride`, `padding`, `dilation`, `groups`, `dim`, …)":
            f"2³¹ − 1 = {limits.MAX_DIMENSION:,}",
        "bytes of one tensor, for a memory figure (`memory`, `check`, `report`, `validate`; torch's storage size is an int64)":
            "2⁶³ − 1" if limits.MAX_TENSOR_BYTES == 2**63 - 1 else "?",
        "points of one `archcalc sweep` (settings of `--set` × sizes × batch sizes)": f"{limits.MAX_SWEEP_POINTS:,}",
        "torch's CPU threads while timing (`validate --threads`, `device-profile --threads`; `threads=` from Python)":
            f"{limits.MAX_THREADS:,}",
        "timed passes of `archcalc validate` (`--runs`), and warm-up passes (`--warmup`), each": f"{limits.MAX_RUNS:,}",
        "units after which the regions of a receptive field behind upsampling repeat "
        "([receptive.md](receptive.md#behind-upsampling-a-jump-of-a-fraction-of-a-pixel))":
            f"{limits.MAX_FIELD_PERIOD:,}",
        "reads of a unit’s region while working out the fields behind upsampling, per model":
            f"{limits.MAX_FIELD_READS:,}",
    }
    assert rows == stated


def test_the_zoo_page_is_what_archcalc_zoo_prints(cli):
    """docs/zoo.md is made by `archcalc zoo -o docs/zoo.md`; a spec changed without it fails here."""
    result = cli("zoo")
    assert result.exit_code == 0, result.output
    page = (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8")
    assert page == result.stdout, "docs/zoo.md is out of date: run 'archcalc zoo -o docs/zoo.md'"


def test_the_zoo_page_sets_our_figures_beside_torchvisions():
    page = (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| resnext50_32x4d |"))
    # torchvision 0.29 ResNeXt50_32X4D_Weights: num_params 25,028,904, _ops 4.23
    assert "| 25,028,904 | 25,028,904 ✓ | 4.230 | 4.23 ✓ |" in row
    models = [line for line in page.splitlines() if line.startswith("| ") and not line.startswith("| model ")]
    assert len(models) == len(bundled())


def test_the_zoo_page_writes_no_nonzero_count_as_zero():
    """LeNet-5's GMACs were written 0.000: a count below a million vanished at three decimals.
    Its MACs by hand: conv1 6×28×28 × 1×5×5 = 117,600, conv2 16×10×10 × 6×5×5 = 240,000,
    fc 400×120 + 120×84 + 84×10 = 58,920; 416,520 in all, 0.000417 G (and FLOPs 0.000833 G)."""
    page = (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8")
    row = next(line for line in page.splitlines() if line.startswith("| lenet5 |"))
    assert "| 61,706 | — | 0.000417 | — | 0.000833 |" in row


def test_the_zoo_page_writes_each_small_figure_to_three_significant_figures():
    """A figure of at least 0.1 (billions) has three decimals, its zeros kept (1.010); one below,
    three significant figures: shufflenet_v2_x0_5's GFLOPs were written 0.081, two figures beside
    0.0405, the trailing zero of 0.0810 left out."""
    page = (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8")
    rows = [line.split(" | ") for line in page.splitlines() if line.startswith("| ") and not line.startswith("| model ")]
    small = [row[column] for row in rows for column in (4, 6) if float(row[column]) < 0.1]
    assert "0.000417" in small  # LeNet-5's MACs
    assert all(len(figure.replace(".", "").lstrip("0")) == 3 for figure in small), small


def test_the_model_item_and_outputs_example_runs(tmp_path):
    """docs/spec.md's example of a model taken from another spec, with two outputs, as a spec."""
    import archcalc

    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    example = text.split("### A model of another spec", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text("name: example\ninput: [3, 64, 64]\n" + example, encoding="utf-8")
    stats = archcalc.analyze(path)
    assert stats.outputs == ("out", "aux") and stats.shapes["aux"] == (1, 21, 8, 8)
    assert stats.layers[0].name == "backbone.conv1"


def test_the_repeat_and_for_each_example_runs(tmp_path):
    """docs/spec.md's example of index, count and for_each, as a spec."""
    import archcalc

    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    example = text.split("### Repeats: index, count and for_each", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    path = tmp_path / "example.yaml"
    path.write_text("name: example\ninput: [3, 32, 32]\n" + example, encoding="utf-8")
    shapes = {layer.name: layer.shape for layer in archcalc.analyze(path).layers}
    assert [shapes[f"widen.{i}.conv"] for i in range(3)] == [(1, 8, 16, 16), (1, 16, 16, 16), (1, 24, 16, 16)]
    assert [shapes[f"stage.{i}.conv"] for i in range(3)] == [(1, 16, 16, 16), (1, 24, 8, 8), (1, 40, 4, 4)]
    assert shapes["head"] == (1, 160, 4, 4)


def test_the_memory_formula_sample_is_what_the_command_prints(cli, tmp_path, monkeypatch):
    from test_memory import TWO_LINES

    from archcalc.memory import analyze_memory

    text = (ROOT / "docs" / "memory.md").read_text(encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two_lines.yaml").write_text(TWO_LINES)
    command = "archcalc memory two_lines.yaml --batch N --fit 500000"
    sample = text.split(f"$ {command}\n", 1)[1].split("```", 1)[0]
    assert cli(*command.split()[1:]).stdout == sample
    exact, rounded = (analyze_memory("resnet50", batch=64, allocator=a).peak for a in ("exact", "cuda"))
    assert f"ResNet-50 at batch 64: {exact:,} B exact,\n{rounded:,} B rounded." in text


def test_the_zoo_page_gives_the_networks_output_field():
    """The 'output RF' column: the field of the map before the head (Araujo, Norris & Sim, "Computing
    Receptive Fields of Convolutional Neural Networks", Distill 2019, table of receptive fields:
    inception_v3 1311, vgg_16 212), not the last convolution in spec order (inception_v3: the pool
    branch's 1×1 of Mixed_7c, 1,247)."""
    page = (ROOT / "docs" / "zoo.md").read_text(encoding="utf-8")
    header = next(line for line in page.splitlines() if line.startswith("| model "))
    column = header.split(" | ").index("output RF")
    rows = {line.split(" | ")[0][2:]: line.split(" | ") for line in page.splitlines() if line.startswith("| ")}
    assert rows["inception_v3"][column] == "1311 / 32" and rows["vgg16"][column] == "212 / 32"
    assert rows["unet"][column] == "204 / 1"  # a map as the output: the output's own field


# --- every sample of what a command prints is what it prints ----------------------------------------
#
# A sample is a fenced block whose first line is `$ archcalc ARGS` (a `# comment` after it is not
# part of the command), the rest what the command prints; or a block tagged by the comment line
# before it: `<!-- output of: archcalc ARGS -->` (JSON: every key the sample shows has the value it
# shows; a list shows its first items, a text ending in "…" the start of the text), or
# `<!-- stderr of: archcalc ARGS, with FILE the block above -->`. In a printed sample a line "…"
# stands for the lines left out. A block that is not a sample says why: `<!-- illustrative: … -->`.

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def fenced_blocks(path: Path) -> list[tuple[str, str, str, str]]:
    """(where, the comment line before the fence, its info string, its text) of each fenced block."""
    lines, blocks, index = path.read_text(encoding="utf-8").split("\n"), [], 0
    while index < len(lines):
        if lines[index].startswith("```"):
            end = lines.index("```", index + 1)
            before = lines[index - 1] if index and lines[index - 1].startswith("<!-- ") else ""
            blocks.append((f"{path.name}:{index + 1}", before, lines[index][3:], "\n".join(lines[index + 1:end]) + "\n"))
            index = end
        index += 1
    return blocks


SAMPLES = [block for path in DOCS for block in fenced_blocks(path)
           if block[3].startswith("$ archcalc ") or block[1] or block[2] == "json"]


def small_family_widened(folder: Path) -> None:
    """docs/ci.md's project: tests/test_check.py's family, its baseline recorded, then small_b widened
    from 16 to 24 filters."""
    from conftest import run_in
    from test_check import FAMILY

    (folder / "specs").mkdir()
    (folder / "specs" / "small.yaml").write_text(FAMILY, encoding="utf-8")
    assert run_in(folder, "check", "specs/small.yaml", "--update").returncode == 0
    (folder / "specs" / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))


def two_lines_spec(folder: Path) -> None:
    """memory.md's two_lines.yaml: TWO_LINES of test_memory.py."""
    from test_memory import TWO_LINES

    (folder / "two_lines.yaml").write_text(TWO_LINES, encoding="utf-8")


SETUP = {"archcalc check specs/small.yaml": small_family_widened,
         "archcalc check specs/small.yaml --format github": small_family_widened,
         "archcalc memory two_lines.yaml --batch N --fit 500000": two_lines_spec}
"""Samples run in a folder made for them (from the repository root otherwise)."""


def printed_matches(sample: str, printed: str) -> bool:
    """`printed` is `sample`, a line "…" in the sample standing for one or more lines."""
    import re

    pattern = "".join("(?:.*\n)+" if line.strip() == "…" else re.escape(line) + "\n" for line in sample.splitlines())
    return re.fullmatch(pattern, printed) is not None


def abridges(sample, value) -> bool:
    """`sample` shows part of `value`: the keys it shows, a list's first items, a text's start before "…"."""
    if isinstance(sample, dict):
        return isinstance(value, dict) and all(key in value and abridges(item, value[key]) for key, item in sample.items())
    if isinstance(sample, list):
        return isinstance(value, list) and len(sample) <= len(value) and all(map(abridges, sample, value))
    if isinstance(sample, str) and sample.endswith("…"):
        return isinstance(value, str) and value.startswith(sample[:-1])
    return type(sample) is type(value) and sample == value


def found_in(sample: dict, value) -> bool:
    """`sample` abridges `value` or something inside it (a fragment of a row)."""
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else []
    return abridges(sample, value) or any(found_in(sample, child) for child in children)


@pytest.mark.parametrize("where, tag, info, text", SAMPLES, ids=[sample[0] for sample in SAMPLES])
def test_every_sample_is_what_the_command_prints(where, tag, info, text, tmp_path):
    import json
    import shlex

    from conftest import run_in

    if tag.startswith("<!-- illustrative: "):
        return  # not a sample: the tag says why (the test below holds that every other one is one)
    if text.startswith("$ archcalc "):
        command, expected = text.split("\n", 1)
        words = shlex.split(command[2:], comments=True)
    else:
        command = tag.removeprefix("<!-- output of: ").removeprefix("<!-- stderr of: ").removesuffix(" -->")
        words, expected = shlex.split(command.split(", with ")[0]), text
    if words[1] == "validate":
        pytest.importorskip("torch")
        pytest.importorskip("fvcore")
    folder = ROOT
    if " ".join(words) in SETUP:
        folder = tmp_path
        SETUP[" ".join(words)](folder)
    elif ", with " in tag:  # the file the command reads is the block above, in the same document
        name, document = tag.split(", with ")[1].split()[0], where.split(":")[0]
        blocks = fenced_blocks(ROOT / document if document == "README.md" else ROOT / "docs" / document)
        above = blocks[[block[0] for block in blocks].index(where) - 1]
        (tmp_path / name).write_text(above[3], encoding="utf-8")
        folder = tmp_path
    done = run_in(folder, *words[1:])
    if tag.startswith("<!-- stderr of: "):
        assert printed_matches(expected, done.stderr), done.stderr
    elif info == "json":
        document = json.loads(expected if expected.startswith("{") else "{" + expected.rstrip().rstrip(",") + "}")
        assert found_in(document, json.loads(done.stdout)), f"{where} is not what `{command}` prints"
    elif words[1] == "validate":  # its first line names the torch and fvcore of the machine that ran it
        assert printed_matches(expected.split("\n", 1)[1], done.stdout.split("\n", 1)[1]), done.stdout
    else:
        assert printed_matches(expected, done.stdout), f"{where} is not what `{command}` prints:\n{done.stdout}"


def test_every_command_sample_is_checked_or_says_why_not():
    """A block that shows what archcalc prints is one of the samples above or is tagged as
    illustrative with its reason."""
    for path in DOCS:
        for where, tag, info, text in fenced_blocks(path):
            shows_output = text.startswith(("$ archcalc ", "error: ", "{")) or info == "json"
            if shows_output:
                assert text.startswith("$ archcalc ") or tag.startswith(
                    ("<!-- output of: archcalc ", "<!-- stderr of: archcalc ", "<!-- illustrative: ")), where


GPU_RUNS = {"h100-sxm": ROOT / "benchmarks" / "results" / "h100-2026-12-05",
            "h200": ROOT / "benchmarks" / "results" / "h200-2026-12-04"}
"""Each GPU's kept times, by the datasheet profile of its part."""
GPU_ROW = re.compile(r"^\| (\d+) \| (float32|bfloat16) \| (?:`(h100-sxm|h200)` \(datasheet\)|measured) \| (\d+) of (\d+) \| "
                     r"(\d+) of \d+ \| (\d+) of \d+ \| ([\d.]+) \(([\d.]+)–([\d.]+)\) \|$", re.MULTILINE)


@pytest.mark.parametrize("datasheet", list(GPU_RUNS))
def test_the_gpu_latency_table_is_what_the_kept_times_give(datasheet):
    """docs/gpu-validation.md's table of per-layer latency against the roofline on each GPU, made again
    from the times measured there (benchmarks/results/…, CUDA events) by the benchmark's own
    comparison: every count and fraction as printed there."""
    import json

    from archcalc.devices import load_profile

    benchmark = _latency_benchmark()
    text = (ROOT / "docs" / "gpu-validation.md").read_text(encoding="utf-8")
    sections = re.split(r"^## ", text, flags=re.MULTILINE)
    section = next(part for part in sections if f"`{datasheet}` (datasheet)" in part)
    rows = GPU_ROW.findall(section)
    assert len(rows) == 8 and {row[2] for row in rows} == {datasheet, ""}
    run = GPU_RUNS[datasheet]
    entries = {entry.name: entry for entry in bundled()}
    for batch, dtype, which, within, models, fastest, ranked, median, low, high in rows:
        cache = json.loads((run / f"latency-cuda-{'batch32-' if batch == '32' else ''}{dtype}.json").read_text())
        profile = load_profile(which or run / f"profile-cuda-{dtype}.yaml")
        compared = [benchmark.compare(entries[name], measured, profile, dtype, int(batch))
                    for name, measured in cache.items()]
        achieved = sorted(fraction for row in compared for fraction in row["achieved"])
        deciles = [f"{achieved[round(q * (len(achieved) - 1))]:.2f}" for q in (0.1, 0.5, 0.9)]
        assert len(compared) == int(models)
        assert sum(0.5 <= row["median"][1] <= 2 for row in compared) == int(within)
        assert sum(0.5 <= row["fastest"][1] <= 2 for row in compared) == int(fastest)
        assert sum(row["median"][2] is not None and row["median"][2] >= 0.8 for row in compared) == int(ranked)
        assert deciles == [low, median, high]


PROFILE_ROW = re.compile(r"^\| (float32|float16|bfloat16|float64) GEMM, TFLOP/s \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| "
                         r"([\d.]+)–([\d.]+) \|$|^\| memory bandwidth, GB/s \| ([\d,]+) \| ([\d,]+) \| ([\d,]+) \| "
                         r"([\d.]+) \|$|^\| launch cost, µs \| 5 \(assumed\) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+)–([\d.]+) \|$",
                         re.MULTILINE)


def test_the_h100s_device_profile_table_is_the_kept_profiles_and_the_datasheets():
    """docs/gpu-validation.md's H100 table of the measured device profiles against the `h100-sxm`
    datasheet profile: every figure as the kept profiles (benchmarks/results/h100-2026-12-05) and
    the bundled datasheet profile give it, rounded as printed."""
    from archcalc.devices import load_profile

    section = re.split(r"^## ", (ROOT / "docs" / "gpu-validation.md").read_text(encoding="utf-8"),
                       flags=re.MULTILINE)[1]
    assert section.startswith("An H100")
    sheet = load_profile("h100-sxm")
    runs = [load_profile(GPU_RUNS["h100-sxm"] / f"profile-cuda-{dtype}.yaml") for dtype in ("float32", "bfloat16")]
    rows = PROFILE_ROW.findall(section)
    assert len(rows) == 6
    for row in rows:
        if row[0]:
            dtype, datasheet, *measured, low, high = row[:6]
            shown = [run.peak_tflops[dtype] for run in runs]
            assert float(datasheet) == sheet.peak_tflops[dtype] and measured == [f"{x:.1f}" for x in shown]
            ratios = sorted(x / sheet.peak_tflops[dtype] for x in shown)
            assert [low, high] == [f"{x:.2f}" for x in ratios]
        elif row[6]:
            datasheet, *measured, ratio = row[6:10]
            assert int(datasheet.replace(",", "")) == sheet.memory_gbps
            assert measured == [f"{run.memory_gbps:,.0f}" for run in runs]
            assert {f"{run.memory_gbps / sheet.memory_gbps:.2f}" for run in runs} == {ratio}
        else:
            *measured, low, high = row[10:]
            assert sheet.launch_us == 5 and measured == [f"{run.launch_us:.1f}" for run in runs]
            assert [low, high] == [f"{run.launch_us / sheet.launch_us:.1f}" for run in runs]

MODEL_ROW = re.compile(r"^\| (\w+) \| (1|32) \| (float32|bfloat16) \| ([\d.]+) \| ([\d.]+) \| ([\d.]+) \| (−?[\d.]+) \|$",
                       re.MULTILINE)


def test_the_h100s_models_are_what_the_kept_times_give():
    """docs/gpu-validation.md's H100 rows of single models (predicted and measured ms, their ratio,
    ρ) against the measured profile of their dtype, made again from the kept times."""
    import json

    from archcalc.devices import load_profile

    benchmark = _latency_benchmark()
    section = re.split(r"^## ", (ROOT / "docs" / "gpu-validation.md").read_text(encoding="utf-8"),
                       flags=re.MULTILINE)[1]
    run, entries = GPU_RUNS["h100-sxm"], {entry.name: entry for entry in bundled()}
    rows = MODEL_ROW.findall(section)
    assert len(rows) == 9
    for name, batch, dtype, predicted, measured, ratio, rho in rows:
        cache = json.loads((run / f"latency-cuda-{'batch32-' if batch == '32' else ''}{dtype}.json").read_text())
        row = benchmark.compare(entries[name], cache[name], load_profile(run / f"profile-cuda-{dtype}.yaml"), dtype,
                                int(batch))
        model_ms, times, ranked = row["median"][:3]
        assert [f"{row['predicted_ms']:.1f}", f"{model_ms:.1f}", f"{times:.2f}", f"{ranked:.2f}"] == \
            [predicted, measured, ratio, rho.replace("−", "-")]

def test_the_h100s_memory_ratios_and_layer_times_are_the_kept_logs():
    """docs/gpu-validation.md's H100 table of max_memory_allocated ÷ archcalc's peak (from the ratios
    the CUDA tests printed, pytest-cuda.log), its layer times at batch 1 (10th, 50th and 90th
    percentiles) and its counts of models slower in bfloat16, made again from the kept files."""
    import json
    import statistics

    run = GPU_RUNS["h100-sxm"]
    section = re.split(r"^## ", (ROOT / "docs" / "gpu-validation.md").read_text(encoding="utf-8"),
                       flags=re.MULTILINE)[1]
    log = (run / "pytest-cuda.log").read_text(encoding="utf-8")
    for label, step in (("inference, batch 1", ""), ("training step, batch 2", "training step ")):
        ratios = sorted(float(x) for x in re.findall(rf": NVIDIA[^:\n]*: {step}max_memory_allocated [\d,]+ B, "
                                                      rf"archcalc [\d,]+ B, ratio ([\d.]+)", log))
        row = (f"| {label} | {ratios[0]:.3f}–{ratios[-1]:.2f} | {statistics.median(ratios):.3f} | "
               f"{sum(r <= 1.03 for r in ratios)} of {len(ratios)}")
        assert row in section
    times = {dtype: json.loads((run / f"latency-cuda-{dtype}.json").read_text()) for dtype in ("float32", "bfloat16")}
    medians = []
    for dtype, cache in times.items():
        layers = sorted(t[0] * 1e3 for model in cache.values() for t in model["layers"].values() if t[0] > 0)
        low, median, high = (round(layers[int(q * (len(layers) - 1))]) for q in (0.1, 0.5, 0.9))
        assert f"{low}–{high} µs in {dtype}" in section.replace("\n  ", " ")
        medians.append(median)
    assert "medians {} and {} µs".format(*medians) in section
    assert "12 models of `memory-overhead*.jsonl` that the H200 measured reached the H200's allocator\n  peaks to the byte" \
        in section
    for kept in ("memory-overhead.jsonl", "memory-overhead-capped.jsonl"):
        here, there = ({(d := json.loads(line))["model"]: (d["inference"]["measured"], d["training"]["measured"])
                        for line in (folder / kept).read_text().splitlines()} for folder in (run, GPU_RUNS["h200"]))
        assert len(there) == 12 and all(here[model] == there[model] for model in there)
    slower = sum(times["bfloat16"][m]["ms"] > times["float32"][m]["ms"] for m in times["float32"])
    assert f"slower than float32 for {slower} of\n  the {len(times['float32'])} models" in section

def _latency_benchmark():
    import importlib.util

    spec = importlib.util.spec_from_file_location("latency_vs_roofline", ROOT / "benchmarks" / "latency_vs_roofline.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    return benchmark


CPU_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-04"


def _latency_text() -> str:
    """docs/latency.md, then docs/latency-passes.md (the passes on this project's CPU)."""
    return "\n".join((ROOT / "docs" / page).read_text(encoding="utf-8") for page in ("latency.md", "latency-passes.md"))


def test_the_cpu_latency_table_is_what_the_kept_times_and_profiles_give():
    """docs/latency.md's table of every bundled model on this project's CPU, and its counts for the
    two profiles with and without their tables by size, made again from the kept times and profiles
    (benchmarks/results/cpu-2026-12-04) by the benchmark's own comparison."""
    import json
    from dataclasses import replace

    from archcalc.devices import load_profile

    benchmark = _latency_benchmark()
    text = _latency_text()
    cache = json.loads((CPU_RUN / "latency-cpu-float32.json").read_text())
    entries = {entry.name: entry for entry in bundled()}
    assert set(cache) == set(entries)

    def compared(profile) -> list[dict]:
        return [benchmark.compare(entries[name], measured, profile) for name, measured in cache.items()]

    def counts(rows: list[dict], which: str) -> tuple[int, int]:
        return (sum(0.5 <= row[which][1] <= 2 for row in rows),
                sum(row[which][2] is not None and row[which][2] >= 0.8 for row in rows))

    first, second = (load_profile(CPU_RUN / f"profile-cpu-{which}.yaml") for which in "ab")
    rows = compared(first)
    for row in rows:
        cells = [row["model"], f"{row['macs'] / 1e9:.2f}", f"{row['predicted_ms']:.1f}",
                 *(cell for which in ("median", "fastest") for cell in benchmark._cells(row[which])), str(row["ranked"])]
        assert "\n| " + " | ".join(cells) + " |\n" in text, cells
    (within, ranked), (fastest_within, fastest_ranked) = counts(rows, "median"), counts(rows, "fastest")
    flat = " ".join(text.split())
    assert f"{within} of 98 models within a factor of 2 and {ranked} of 98 at ρ ≥ 0.8 (median runs; {fastest_within} " \
           f"and {fastest_ranked} of the fastest)" in flat
    assert "(`--no-sizes`: one efficiency per kind of work) give {} and {}.".format(
        *counts(compared(replace(first, efficiency_by_size={})), "median")) in flat
    assert "the second gives {} of 98 within a factor of 2 and {} at\n  ρ ≥ 0.8, and {} and {} without its tables".format(
        *counts(compared(second), "median"), *counts(compared(replace(second, efficiency_by_size={})), "median")) in text


def test_the_ceilings_of_the_cpu_rank_correlations_are_what_the_kept_times_give():
    """docs/latency.md's η, the ρ no prediction that times alike layers alike can pass,
    of both kept CPU passes' median runs: the models under 0.8 in the first, none in the second,
    and the least in the second, made again from the kept times by the benchmark's comparison."""
    import json

    from archcalc.devices import load_profile

    benchmark = _latency_benchmark()
    text = " ".join(_latency_text().split())
    entries = {entry.name: entry for entry in bundled()}
    ceilings = []
    for run in (CPU_RUN, ROOT / "benchmarks" / "results" / "cpu-2026-12-04-evening"):
        cache = json.loads((run / "latency-cpu-float32.json").read_text())
        profile = load_profile(run / "profile-cpu-a.yaml")  # η does not depend on it
        ceilings.append({name: benchmark.compare(entries[name], measured, profile)["median"][3]
                         for name, measured in cache.items()})
    first, second = ceilings
    under = sorted((round(eta, 2), name) for name, eta in first.items() if eta < 0.8)
    assert under == [(0.77, "resnet34"), (0.78, "resnext101_64x4d")]
    assert (f"is at least 0.8 for {sum(eta >= 0.8 for eta in first.values())} of the 98 models (ResNet-34 "
            f"{under[0][0]:.2f} and ResNeXt-101 64×4d {under[1][0]:.2f} the two under), and for all 98 in the second "
            "pass.") in text
    assert min(second.values()) >= 0.8 and len(second) == 98
    assert (f"In the second pass they are {second['resnet34']:.2f} and {second['resnext101_64x4d']:.2f}, and every "
            f"model's η is at least {min(second.values()):.2f}.") in text


THIRD_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05"


def _without_groups(profile):
    """The profile with its grids of grouped convolutions dropped: as read before they were measured."""
    from dataclasses import replace

    return replace(profile, efficiency_by_size={work: table._replace(groups=(), grouped=())
                                                for work, table in profile.efficiency_by_size.items()})


def test_the_third_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass of 5 December (each heavy layer also timed alone, ι) and
    its counts: with the profiles measured by the code with the grids of groups, the same without
    those grids, and with the pass's own profiles; the grids' counts on the passes of 4 December;
    and the roofline's time over each layer's time alone. All made again from the kept files
    (benchmarks/results/cpu-2026-12-05 and the two of 4 December) by the benchmark's own functions."""
    import json

    from archcalc.devices import load_profile

    benchmark = _latency_benchmark()
    text = _latency_text()
    flat = " ".join(text.split())
    entries = {entry.name: entry for entry in bundled()}

    def compared(run, profile) -> list[dict]:
        cache = json.loads((run / "latency-cpu-float32.json").read_text())
        assert set(cache) == set(entries)
        return [benchmark.compare(entries[name], measured, profile) for name, measured in cache.items()]

    def counts(rows: list[dict], which: str, column: int = 2) -> tuple[int, int]:
        return (sum(0.5 <= row[which][1] <= 2 for row in rows),
                sum(row[which][column] is not None and row[which][column] >= 0.8 for row in rows))

    grouped_a, grouped_b = (load_profile(THIRD_RUN / f"profile-cpu-grouped-{which}.yaml") for which in "ab")
    rows = compared(THIRD_RUN, grouped_a)
    for row in rows:
        cells = [row["model"], f"{row['macs'] / 1e9:.2f}", f"{row['predicted_ms']:.1f}",
                 *(cell for which in ("median", "fastest")
                   for cell in [*benchmark._cells(row[which]), benchmark._rho(row[which + " alone"])]), str(row["ranked"])]
        assert "\n| " + " | ".join(cells) + " |\n" in text, cells
    rows_b = compared(THIRD_RUN, grouped_b)
    assert ("96 of 98 models are within a factor of 2 and {} of 98 reach ρ ≥ 0.8 (median runs; 97 and {} of the "
            "fastest); with the second profile measured then, 96 and {} (97 and {})").format(
        counts(rows, "median")[1], counts(rows, "fastest")[1], counts(rows_b, "median")[1],
        counts(rows_b, "fastest")[1]) in flat
    assert [counts(rows, which)[0] for which in ("median", "fastest")] == [96, 97]
    assert [counts(rows_b, which)[0] for which in ("median", "fastest")] == [96, 97]
    assert min(row[which][3] for row in rows for which in ("median", "fastest")) >= 0.81
    apart = [sum(row[which + " alone"] >= 0.8 for row in rows) for which in ("median", "fastest")]
    assert "ι, the ρ of the same layers each timed on its own, is at least 0.8 for {} of the 98 ({} of the fastest " \
           "runs)".format(*apart) in flat
    dropped = [compared(THIRD_RUN, _without_groups(profile)) for profile in (grouped_a, grouped_b)]
    assert ("give {} and {} models at ρ ≥ 0.8 (median runs; {} and {} of the fastest) against {} and {} ({} and {}) "
            "with them").format(counts(dropped[0], "median")[1], counts(dropped[1], "median")[1],
                                counts(dropped[0], "fastest")[1], counts(dropped[1], "fastest")[1],
                                counts(rows, "median")[1], counts(rows_b, "median")[1],
                                counts(rows, "fastest")[1], counts(rows_b, "fastest")[1]) in flat
    assert all(counts(without, which)[0] == counts(with_, which)[0]
               for without, with_ in zip(dropped, (rows, rows_b)) for which in ("median", "fastest"))
    earlier = []
    for run in (CPU_RUN, ROOT / "benchmarks" / "results" / "cpu-2026-12-04-evening"):
        found = [counts(compared(run, profile), "median")[1]
                 for profile in (grouped_a, grouped_b, _without_groups(grouped_a), _without_groups(grouped_b))]
        earlier += found
    assert ("they give {} and {} against {} and {} (the first pass), and {} and {} against {} and {} (the "
            "second)").format(*earlier) in flat
    own = [counts(compared(THIRD_RUN, load_profile(THIRD_RUN / f"profile-cpu-{which}.yaml")), statistic)
           for which in "ab" for statistic in ("median", "fastest")]
    assert own[0] == own[2] and own[1] == own[3]
    assert "give {} and {} ({} and {}) each".format(*own[0], *own[1]) in flat
    grids = benchmark.against_alone(rows)
    said = {"all": "{} from the 10th to the 90th percentile over the {:,} of them",
            "pointwise_conv 1×1 stride 1": "1×1 convolutions of stride 1 {} ({} layers)",
            "conv 3×3 stride 1": "3×3 convolutions of stride 1 {} ({})", "conv 3×3 stride 1 grouped": "grouped ones {} ({};",
            "linear": "linear layers {} ({})", "conv 7×7 stride 2": "predicted {} times their time alone ({})",
            "conv 3×1×1 stride 1": "temporal convolutions {} ({})", "conv 3×3 stride 2": "3×3 convolutions of stride 2 {} ({})"}
    for shape, sentence in said.items():
        assert sentence.format(read_spread(grids, shape), len(grids[shape])) in flat, shape
    dense = benchmark.against_alone(compared(THIRD_RUN, load_profile(THIRD_RUN / "profile-cpu-a.yaml")))
    grouped = "conv 3×3 stride 1 grouped"
    assert f"grouped ones {read_spread(grids, grouped)} (42; {read_spread(dense, grouped)} on the pass's own first " \
           "profile" in flat
    assert "were predicted at {} of their own time alone (10th to 90th percentile; {} with a stride of 2); on the " \
           "grids of their groups at {} ({})".format(
               *(read_spread(spreads, shape) for spreads in (dense, grids)
                 for shape in (grouped, "conv 3×3 stride 2 grouped"))) in flat
    tables = [profile.efficiency_by_size["conv"] for profile in (grouped_a, grouped_b)]

    def reached(*size) -> str:
        low, high = sorted(f"{table.at(WorkSize(*size)):.2f}" for table in tables)
        return f"{low}–{high}"

    assert (f"a 3×3 convolution of 10 groups of 16 channels on 14×14 reaches {reached(16, 196, 10)} of its roofline "
            f"(the two profiles of 5 December, interpolated between 8 and 16 groups), one of 16 channels "
            f"{reached(16, 196)}; 2 groups of 48 channels on 56×56 reach {reached(48, 3136, 2)}, one of 48 "
            f"{reached(48, 3136)}") in flat


def _pass_compared(benchmark):
    """The benchmark's comparison of every bundled model in a kept pass's times with a profile."""
    import json

    entries = {entry.name: entry for entry in bundled()}

    def compared(run: Path, profile) -> dict[str, dict]:
        cache = json.loads((run / "latency-cpu-float32.json").read_text())
        assert set(cache) == set(entries)
        return {name: benchmark.compare(entries[name], measured, profile) for name, measured in cache.items()}

    return compared


def _counted(rows: dict[str, dict], which: str = "median") -> tuple[int, int]:
    """How many models are within a factor of 2, and how many reach ρ ≥ 0.8, in `which` runs."""
    return (sum(0.5 <= row[which][1] <= 2 for row in rows.values()),
            sum(row[which][2] is not None and row[which][2] >= 0.8 for row in rows.values()))


KEPT_PROFILES = ("a", "b", "before-a", "before-b")
"""The profiles of a kept pass, the first that of its table (the seventh pass's are g and h)."""


def _kept_pass(run: Path, compared, text: str, benchmark, names: tuple[str, ...] = KEPT_PROFILES,
               profiles_in: Path | None = None) -> tuple[dict, dict]:
    """A kept pass's profiles (kept beside its times, or in `profiles_in`) and each one's rows,
    the table of the first checked in the text."""
    from archcalc.devices import load_profile

    profiles = {name: load_profile((profiles_in or run) / f"profile-cpu-{name}.yaml") for name in names}
    rows = {name: compared(run, profile) for name, profile in profiles.items()}
    for row in rows[names[0]].values():
        cells = [row["model"], f"{row['macs'] / 1e9:.2f}", f"{row['predicted_ms']:.1f}",
                 *(cell for which in ("median", "fastest")
                   for cell in [*benchmark._cells(row[which]), benchmark._rho(row[which + " alone"])]), str(row["ranked"])]
        assert "\n| " + " | ".join(cells) + " |\n" in text, cells
    return profiles, rows


def _read_pass(run: Path, names: tuple[str, ...] = KEPT_PROFILES, profiles_in: Path | None = None) -> tuple:
    """The benchmark, docs/latency.md flattened, the comparison, and a kept pass's profiles (kept
    beside its times, or in `profiles_in`), rows (its first profile's table checked in the text,
    `_kept_pass`) and counts (`_counted`, median then fastest runs) by profile."""
    benchmark = _latency_benchmark()
    text = _latency_text()
    compared = _pass_compared(benchmark)
    profiles, rows = _kept_pass(run, compared, text, benchmark, names, profiles_in)
    found = {name: (*_counted(rows[name]), *_counted(rows[name], "fastest")) for name in profiles}
    return benchmark, " ".join(text.split()), compared, profiles, rows, found


RATIO, RHO = 1, 2
"""The columns of a row's runs (`compare`) read by the tests: measured ÷ predicted, and ρ."""


def _check_pass_row(ordinal: str, within: tuple[int, int], ranked: tuple[int, int], apart: int) -> None:
    """The row of the `ordinal` pass in docs/latency.md's table of the passes: its two profiles'
    counts within a factor of 2 and at ρ ≥ 0.8 (median runs), and how many models' ι is at least 0.8."""
    text = (ROOT / "docs" / "latency.md").read_text(encoding="utf-8")
    [row] = [line for line in text.splitlines() if line.startswith(f"| {ordinal} | ")]
    assert row.endswith(f" | {within[0]} and {within[1]} | {ranked[0]} and {ranked[1]} | {apart} |"), row


def _medians(rows: dict[str, dict], model: str, names: tuple[str, ...], column: int = RHO) -> list[str]:
    """A model's figure of its median runs in the rows of each profile of `names`, as the docs print it."""
    return [f"{rows[name][model]['median'][column]:.2f}" for name in names]


def _on_the_passes(compared, profiles: dict, runs: tuple[str, ...]) -> dict[str, list[tuple[int, int]]]:
    """`_counted` (median runs) of each profile on the times of each kept pass of `runs`."""
    return {name: [_counted(compared(ROOT / "benchmarks" / "results" / run, profile)) for run in runs]
            for name, profile in profiles.items()}


def _over_the_passes(found: dict[str, list[tuple[int, int]]]) -> str:
    """The sentence of a pass's four profiles' counts (`_counted`) on the passes before it."""
    def listed(name: str, column: int) -> str:
        return ", ".join(str(figures[column]) for figures in found[name])

    return ("give {} and {} models within a factor of 2 (median runs, the latest pass first) against {} and {}, and "
            "{} and {} at ρ ≥ 0.8 against {} and {}").format(*(listed(name, 0) for name in found),
                                                             *(listed(name, 1) for name in found))


FOURTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05-kernels"


def test_the_fourth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with blocks of output channels and grids of kernels and
    its counts: with its profiles by the code with them and by the code before, with the former
    read without their blocks or without their grids of kernels, and on the three passes before;
    the models they move; the roofline's time over each layer's time alone; the blocks found. All
    made again from the kept files (benchmarks/results/cpu-2026-12-05-kernels and the passes
    before) by the benchmark's own functions."""
    from dataclasses import replace

    benchmark = _latency_benchmark()
    text = _latency_text()
    flat = " ".join(text.split())
    compared = _pass_compared(benchmark)
    profiles, rows = _kept_pass(FOURTH_RUN, compared, text, benchmark)
    (within_a, ranked_a), (within_b, ranked_b) = _counted(rows["a"], "median"), _counted(rows["b"], "median")
    (fast_within_a, fast_a), (fast_within_b, fast_b) = _counted(rows["a"], "fastest"), _counted(rows["b"], "fastest")
    assert (f"{within_a} of 98 models are within a factor of 2 and {ranked_a} of 98 reach ρ ≥ 0.8 (median runs; "
            f"{fast_within_a} and {fast_a} of the fastest); with the second profile, measured just after, {within_b} "
            f"and {ranked_b} ({fast_within_b} and {fast_b})") in flat
    missed = sorted({row["model"] for name in ("a", "b") for row in rows[name].values() if row["median"][1] > 2})
    assert missed == ["lenet5"] and "The factor of 2 is missed by LeNet-5 alone (× {:.2f} and {:.2f})".format(
        rows["a"]["lenet5"]["median"][1], rows["b"]["lenet5"]["median"][1]) in flat
    assert min(row[which][3] for row in rows["a"].values() for which in ("median", "fastest")) >= 0.81
    apart = [sum(row[which + " alone"] >= 0.8 for row in rows["a"].values()) for which in ("median", "fastest")]
    assert "is at least 0.8 for {} of the 98 ({} of the fastest runs). For all but those {}".format(
        *apart, {6: "six"}[98 - apart[0]]) in flat
    before = [_counted(rows[name], which) for name in ("before-a", "before-b") for which in ("median", "fastest")]
    (_, ranked_before_a), (_, fast_before_a), (_, ranked_before_b), (_, fast_before_b) = before
    assert (f"give 96 and 96 models within a factor of 2 (96 and 96 of the fastest runs) and {ranked_before_a} and "
            f"{ranked_before_b} at ρ ≥ 0.8 ({fast_before_a} and {fast_before_b}), against {within_a} and {within_b} "
            f"({fast_within_a} and {fast_within_b}) and {ranked_a} and {ranked_b} ({fast_a} and {fast_b}) by the code "
            "with them") in flat
    assert [within for within, _ in before] == [96] * 4
    plain = [_counted(compared(FOURTH_RUN, replace(profiles[name], channel_blocks={})), which)[0]
             for name in ("a", "b") for which in ("median", "fastest")]
    untapped = [_counted(compared(FOURTH_RUN, replace(profiles[name], efficiency_by_size={
        work: table._replace(taps=(), tapped=()) for work, table in profiles[name].efficiency_by_size.items()})), which)[1]
        for name in ("a", "b") for which in ("median", "fastest")]
    assert (f"without their blocks, the pass's profiles give {plain[0]} and {plain[2]} models within a factor of 2 "
            f"({plain[1]} and {plain[3]}), and without their grids of kernels {untapped[0]} and {untapped[2]} at "
            f"ρ ≥ 0.8 ({untapped[1]} and {untapped[3]})") in flat
    found = _on_the_passes(compared, profiles, ("cpu-2026-12-05", "cpu-2026-12-04-evening", "cpu-2026-12-04"))

    assert _over_the_passes(found) in flat
    assert all(after[0] > before_[0] for new, old in (("a", "before-a"), ("b", "before-b"))
               for after, before_ in zip(found[new], found[old]))

    before, all_three = ("before-a", "before-b"), ("before-a", "before-b", "a")
    assert ("from ρ {} (both profiles of the code before) to {}; its lecture variant from {} and {} to {}; MC3-18, "
            "its 3×7×7 stem likewise, from {} and {} to {}; context_basic (21 channels: 32 computed) from × {} and {} "
            "to {}; LeNet-5 (6 output channels: 16 computed) from {} and {} to {} and {}").format(
        *_medians(rows, "alexnet", ("before-a", "a")), *_medians(rows, "alexnet_lecture", all_three),
        *_medians(rows, "mc3_18", all_three), *_medians(rows, "context_basic", all_three, RATIO),
        *_medians(rows, "lenet5", (*all_three, "b"), RATIO)) in flat
    assert len(set(_medians(rows, "alexnet", before))) == len(set(_medians(rows, "mc3_18", ("a", "b")))) == 1
    assert _medians(rows, "vgg19", tuple(profiles)) == ["0.69", "0.69", "0.69", "0.94"]
    alone = {name: benchmark.against_alone(list(rows[name].values())) for name in ("a", "before-a")}
    every = alone["a"]["all"]
    assert "is {:.2f} at the median and {} from the 10th to the 90th percentile over the {:,} of them".format(
        benchmark.percentiles(every)[1], read_spread(alone["a"], "all"), len(every)) in flat
    stems, strided, temporal = "conv 7×7 stride 2", "conv 3×3 stride 2", "conv 3×1×1 stride 1"
    assert (f"The 7×7 stems of stride 2 are predicted {read_spread(alone['a'], stems)} times their time alone "
            f"({len(alone['a'][stems])}), against {read_spread(alone['before-a'], stems)} on the first profile of the "
            f"code before, read on the 3×3 grid; 3×3 convolutions of stride 2 {read_spread(alone['a'], strided)} "
            f"({len(alone['a'][strided])}; {read_spread(alone['before-a'], strided)} before); R(2+1)D's 3×1×1 temporal "
            f"convolutions {read_spread(alone['a'], temporal)} ({len(alone['a'][temporal])})") in flat
    assert (f"the 7×7 stems of stride 2 among the bundled models' heaviest layers were predicted at "
            f"{read_spread(alone['before-a'], stems)} of their own time alone (10th to 90th percentile); on the grids "
            f"of their taps at {read_spread(alone['a'], stems)}") in flat
    blocks = {"depthwise_conv": 1, "pointwise_conv": 1, "conv": 16, "linear": 16}
    assert profiles["a"].channel_blocks == profiles["b"].channel_blocks == blocks
    assert "finds 16 for 3×3 convolutions and linear layers and 1 for 1×1 and depthwise convolutions" in flat


def read_spread(spreads: dict[str, list[float]], shape: str) -> str:
    """The 10th to the 90th percentile of a shape's ratios, as the benchmark prints them."""
    low, _, high = _latency_benchmark().percentiles(spreads[shape])
    return f"{low:.2f}–{high:.2f}"


FIFTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05-temporal"


def test_the_fifth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with the grid of temporal convolutions and the fixed
    costs among others, and its counts: with its profiles by the code with them and by the code
    before, with the former read without their temporal grid or with the fixed costs in a row of
    the code before, and on the four passes before; the models they move; the roofline's time over
    the temporal convolutions' time alone. All made again from the kept files
    (benchmarks/results/cpu-2026-12-05-temporal and the passes before) by the benchmark's own
    functions."""
    from dataclasses import replace

    benchmark, flat, compared, profiles, rows, found = _read_pass(FIFTH_RUN)
    assert all(0.5 <= row[which][1] <= 2 for name in ("a", "b") for row in rows[name].values()
               for which in ("median", "fastest"))
    assert min(row[which][3] for row in rows["a"].values() for which in ("median", "fastest")) >= 0.81
    _check_pass_row("fifth", (found["a"][0], found["b"][0]), (found["a"][1], found["b"][1]),
                    sum(row["median alone"] >= 0.8 for row in rows["a"].values()))
    assert ("The two profiles of the code before give {} and {} models within a factor of 2 and {} and {} at ρ ≥ 0.8 "
            "(median runs), against {} and {} and {} and {}").format(
        found["before-a"][0], found["before-b"][0], found["before-a"][1], found["before-b"][1],
        found["a"][0], found["b"][0], found["a"][1], found["b"][1]) in flat

    def without_temporal(profile):
        return replace(profile, efficiency_by_size={work: table._replace(temporal=())
                                                    for work, table in profile.efficiency_by_size.items()})

    untimed = [_counted(compared(FIFTH_RUN, without_temporal(profiles[name])))[1] for name in ("a", "b")]
    in_a_row = [_counted(compared(FIFTH_RUN, replace(profiles[name], fixed_us=profiles["before-" + name].fixed_us)))[0]
                for name in ("a", "b")]
    assert (f"without their temporal grid, this page's profiles give {untimed[0]} and {untimed[1]} models at ρ ≥ 0.8; "
            f"with the fixed costs in a row of the code before's profile measured beside each, {in_a_row[0]} and "
            f"{in_a_row[1]} within a factor of 2") in flat
    passes = _on_the_passes(compared, profiles, ("cpu-2026-12-05-kernels", "cpu-2026-12-05", "cpu-2026-12-04-evening",
                                                 "cpu-2026-12-04"))

    assert _over_the_passes(passes) in flat

    assert ("R(2+1)D from ρ {} and {} to {} and {}, and from × {} to {}; S3D from × {} to {}; LeNet-5 from × {} and "
            "{} to {} and {}").format(
        *_medians(rows, "r2plus1d_18", ("before-a", "before-b", "a", "b")),
        *_medians(rows, "r2plus1d_18", ("before-a", "a"), RATIO), *_medians(rows, "s3d", ("before-a", "a"), RATIO),
        *_medians(rows, "lenet5", ("before-a", "before-b", "a", "b"), RATIO)) in flat
    near = [sum(0.8 <= row["median"][1] <= 1.25 for row in rows[name].values()) for name in ("a", "before-a")]
    assert f"within 25% for {near[0]} models (median runs), against {near[1]}" in flat
    alone = {name: benchmark.against_alone(list(rows[name].values())) for name in ("a", "before-a")}
    temporal = "conv 3×1×1 stride 1"
    assert (f"R(2+1)D's and S3D's 3×1×1 temporal convolutions are predicted {read_spread(alone['a'], temporal)} times "
            f"their time alone ({len(alone['a'][temporal])}), against {read_spread(alone['before-a'], temporal)} on the "
            "first profile of the code before") in flat
    assert all(after[column] >= before_[column] for new, old in (("a", "before-a"), ("b", "before-b"))
               for after, before_ in zip(passes[new], passes[old]) for column in (0, 1))
    costs = [profiles[name].fixed_us[work] for work in ("conv", "linear", "memory", "depthwise_conv")
             for name in ("a", "before-a")]
    assert ("a 3×3 convolution costs {:.1f} µs among others on the first profile and {:.1f} in a row on the first of "
            "the code before, a linear layer {:.1f} and {:.1f}, a ReLU or batch norm {:.1f} and {:.1f}, a depthwise "
            "convolution {:.1f} and {:.1f}").format(*costs) in flat
    assert ("a linear layer at its smallest took {2:.1f} µs many in a row and {1:.1f} among others, a ReLU or batch "
            "norm {4:.1f} and {3:.1f}").format(*costs[1:]) in flat  # in "Measuring a device"
    missed = ", ".join(f"{name} ({benchmark._rho(row['median'][2])})" for name, row in rows["a"].items()
                       if row["median"][2] is None or row["median"][2] < 0.8)
    assert f"**What is left** (ρ < 0.8 on the first profile): {missed}." in flat
    assert all(0.77 < rows["a"][name]["median"][2] < 0.8 for name in ("squeezenet1_1", "efficientnet_b4"))
    strided = [f"{alone[name][shape][0]:.2f}" for name in ("a", "before-a")
               for shape in ("conv 3×1×1 stride 2", "conv 7×1×1 stride 2")]
    assert ("R(2+1)D's 3×1×1 of stride 2 is predicted at {} of its time alone, S3D's 7×1×1 stem at {} ({} and {} "
            "before)").format(*strided) in flat
    assert all(table.temporal == () for name in ("before-a", "before-b")
               for table in profiles[name].efficiency_by_size.values())
    assert all(len(profiles[name].efficiency_by_size["conv"].temporal) == 12 for name in ("a", "b"))


SIXTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05-avx512"


def test_the_sixth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass on the AVX-512 machine and its counts: with its profiles
    by the code that times the blocks in turn and by the code before, with the first machine's last
    profile on these times and this machine's on that pass's; the machines' figures, the blocks and
    the profiles' agreement; the roofline's time over each layer's time alone by the shape of its
    work, on both machines. All made again from the kept files (benchmarks/results/cpu-2026-12-05-avx512
    and cpu-2026-12-05-temporal) by the benchmark's own functions."""
    import importlib.util
    import json

    from archcalc.devices import load_profile

    benchmark, flat, compared, profiles, rows, found = _read_pass(SIXTH_RUN)
    spec = importlib.util.spec_from_file_location("grid_agreement", ROOT / "benchmarks" / "grid_agreement.py")
    agreement = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(agreement)
    assert ("With the first profile {} of 98 models are within a factor of 2 and {} of 98 reach ρ ≥ 0.8 (median runs; "
            "{} and {} of the fastest); with the second, {} and {} ({} and {}); with the two of the code before, {} and "
            "{} within a factor of 2 and {} and {} at ρ ≥ 0.8").format(
        *found["a"], *found["b"], found["before-a"][0], found["before-b"][0], found["before-a"][1],
        found["before-b"][1]) in flat
    apart = sum(row["median alone"] >= 0.8 for row in rows["a"].values())
    _check_pass_row("sixth", (found["a"][0], found["b"][0]), (found["a"][1], found["b"][1]), apart)
    assert found["a"][0] == found["b"][0] == 98 and f"and ι is at least 0.8 for {apart} of the 98" in flat
    assert [name for name, row in rows["a"].items() if row["median"][3] < 0.8] == [
        "convnext_small", "convnext_base", "convnext_large"]  # "η is under 0.8 for ConvNeXt-S, -B and -L"
    assert all(profiles[name].name == "AMD EPYC (family 26 model 2, AVX512), 1 thread" for name in ("a", "b"))
    assert all(profiles[name].name == "AMD EPYC, 1 thread" for name in ("before-a", "before-b"))
    first = load_profile(FIFTH_RUN / "profile-cpu-a.yaml")
    peaks = sorted(profile.peak_tflops["float32"] for profile in profiles.values())
    copies = sorted(profile.memory_gbps for profile in profiles.values())
    assert (f"runs a float32 GEMM of 512 at {peaks[0]:.2f}–{peaks[-1]:.2f} TFLOP/s and copies at {copies[0]:.0f}–"
            f"{copies[-1]:.0f} GB/s (the first machine: {first.peak_tflops['float32']:.3f} and {first.memory_gbps}") in flat
    conv, pointwise = (profiles["a"].efficiency_by_size[work] for work in ("conv", "pointwise_conv"))
    theirs = [first.efficiency_by_size[work] for work in ("conv", "pointwise_conv")]
    assert (f"the 3×3 grid reaches {conv.at(WorkSize(64, 3136)):.2f} of its roofline at 64 channels on 56×56, the first "
            f"machine's {theirs[0].at(WorkSize(64, 3136)):.2f}; its 1×1 grid {pointwise.at(WorkSize(256, 784)):.2f} at 256 channels on "
            f"28×28 ({theirs[1].at(WorkSize(256, 784)):.2f} there too)") in flat
    across = [_counted(compared(SIXTH_RUN, first)), _counted(compared(FIFTH_RUN, profiles["a"]))]
    assert ("the first machine's last profile puts {} of this pass's models within a factor of 2 ({} at ρ ≥ 0.8), this "
            "machine's first profile {} of that pass's ({})").format(*across[0], *across[1]) in flat
    assert {name: profile.channel_blocks["depthwise_conv"] for name, profile in profiles.items()} == {
        "a": 64, "b": 1, "before-a": 1, "before-b": 64}  # "Two of the four profiles found a block of 64 ..."
    disagree = [agreement.total({work + grid: figures for work, grids in agreement.counts(
        SIXTH_RUN / f"profile-cpu-{x}.yaml", SIXTH_RUN / f"profile-cpu-{y}.yaml").items()
        for grid, figures in grids.items()}) for x, y in (("a", "b"), ("before-a", "before-b"))]
    assert (f"differ by more than 15% at {disagree[0][0]} of their {disagree[0][1]:,} points by size (profiles a and "
            f"b) and {disagree[1][0]} (the code before)") in flat and disagree[0][1] == disagree[1][1]
    latest = load_profile(SIXTH_RUN / "profile-cpu-e.yaml").efficiency_by_size  # every grid of the latest tables counted
    assert list(agreement.grids(latest["conv"])) == ["dense", *(f"{groups} groups" for groups in (2, 4, 8, 16, 32, 64)),
                                                     "25 taps", "49 taps", "121 taps", "temporal", "strided"]
    assert list(agreement.grids(latest["pointwise_conv"])) == ["dense", "strided"]
    here = benchmark.against_alone(list(rows["a"].values()))
    there = benchmark.against_alone(list(compared(FIFTH_RUN, first).values()))

    def median(spreads: dict[str, list[float]], name: str) -> str:
        return f"{benchmark.percentiles(spreads[name])[1]:.2f}"

    def detail(name: str) -> str:
        return f"({read_spread(here, name)}, {len(here[name])}; {median(there, name)})"

    pointwise_1, dense_1, grouped_1, grouped_2 = ("pointwise_conv 1×1 stride 1", "conv 3×3 stride 1",
                                                  "conv 3×3 stride 1 grouped", "conv 3×3 stride 2 grouped")
    assert (f"1×1 convolutions of stride 1 are predicted {median(here, pointwise_1)} times their time alone at the "
            f"median ({read_spread(here, pointwise_1)} from the 10th to the 90th percentile, {len(here[pointwise_1])} "
            f"layers) and 3×3 ones {median(here, dense_1)} ({read_spread(here, dense_1)}, {len(here[dense_1])}), as on "
            f"the first machine ({median(there, pointwise_1)} and {median(there, dense_1)})") in flat
    assert (f"grouped 3×3 convolutions are predicted {median(here, grouped_1)} times their time alone "
            f"{detail(grouped_1).removesuffix(')')} on the first machine), {median(here, grouped_2)} with a stride of 2 "
            f"{detail(grouped_2)}; 1×1 convolutions of stride 2 {median(here, 'pointwise_conv 1×1 stride 2')} "
            f"{detail('pointwise_conv 1×1 stride 2')}; R(2+1)D's 1×3×3 ones {median(here, 'conv 1×3×3 stride 1')} "
            f"{detail('conv 1×3×3 stride 1')}; 5×5 depthwise ones {median(here, 'depthwise_conv 5×5 stride 1')} "
            f"{detail('depthwise_conv 5×5 stride 1')}") in flat
    alone = json.loads((SIXTH_RUN / "latency-cpu-float32.json").read_text())
    resnet, dilated = alone["resnet50"]["alone_ms"], alone["fcn_resnet101"]["alone_ms"]
    assert (f"ResNet-50's downsampling 1×1 of 256 channels to 512 took {resnet['layer2.0.downsample.conv']:.2f} ms "
            f"alone, its unstrided 1×1 of 512 to 256, the same MACs, {resnet['layer3.0.conv1']:.2f}") in flat
    blocks = {name.split(".")[2] for name in alone["fcn_resnet101"]["layers"] if name.startswith("backbone.layer3.")}
    ups, downs = ({round(ms, 1) for name, ms in dilated.items()
                   if name.startswith("backbone.layer3.") and name.endswith(conv)} for conv in (".conv3", ".conv1"))
    assert len(blocks) == 23 and len(ups) == len(downs) == 1  # each distinct layer is timed alone once
    assert (f"holds 23 alike bottlenecks whose 1×1 convolutions of 256 channels to 1024 took {ups.pop()} ms alone and "
            f"those of 1024 to 256 {downs.pop()}, the same MACs, predicted alike") in flat
    missed = ", ".join(f"{name} ({benchmark._rho(row['median'][2])})" for name, row in rows["a"].items()
                       if row["median"][2] is None or row["median"][2] < 0.8)
    assert f"**What is left** (ρ < 0.8 on the first profile): {missed}." in flat
    _check_the_strided_grid(benchmark, flat, compared, found, here)


def _check_the_strided_grid(benchmark, flat: str, compared, found: dict, here: dict) -> None:
    """The sixth pass's later profiles (c, d) by the code with the grid of strided 1×1
    convolutions: their counts, with and without that grid, the models it moves, and the strided
    1×1 convolutions' time predicted over their time alone, against the first profile's (`here`)."""
    from dataclasses import replace

    from archcalc.devices import load_profile

    later = {name: load_profile(SIXTH_RUN / f"profile-cpu-{name}.yaml") for name in ("c", "d")}
    assert all(profile.efficiency_by_size["pointwise_conv"].strided for profile in later.values())
    assert not any(table.strided for name in ("a", "b") for table in load_profile(
        SIXTH_RUN / f"profile-cpu-{name}.yaml").efficiency_by_size.values())
    late = {name: compared(SIXTH_RUN, profile) for name, profile in later.items()}
    bare = {name: compared(SIXTH_RUN, replace(profile, efficiency_by_size={
        work: table._replace(strided=()) for work, table in profile.efficiency_by_size.items()}))
        for name, profile in later.items()}
    counts = {name: (*_counted(late[name]), *_counted(late[name], "fastest")) for name in late}
    without = {name: _counted(bare[name])[1] for name in bare}
    assert ("They give {} and {} models within a factor of 2 and {} and {} at ρ ≥ 0.8 (median runs; {} and {}, {} and "
            "{} of the fastest); read without their strided grid, {} and {}").format(
        counts["c"][0], counts["d"][0], counts["c"][1], counts["d"][1], counts["c"][2], counts["d"][2],
        counts["c"][3], counts["d"][3], without["c"], without["d"]) in flat
    assert counts["c"][0] == counts["d"][0] == 98
    def reaches(row: dict) -> bool:
        return row["median"][2] is not None and row["median"][2] >= 0.8

    moved = [sorted(name for name in late[which] if reaches(late[which][name]) != reaches(bare[which][name]))
             for which in ("c", "d")]
    assert moved == [["regnet_y_128gf", "resnext50_32x4d"]] * 2

    words = {4: "four", 7: "seven"}
    assert ("the grid brings ResNeXt-50 (ρ {} to {}) and RegNetY-128GF ({} to {} and {}). The other {} and {} models "
            "over the first two profiles").format(
        *_medians(bare, "resnext50_32x4d", ("c",)), *_medians(late, "resnext50_32x4d", ("c",)),
        *_medians(bare, "regnet_y_128gf", ("c",)), *_medians(late, "regnet_y_128gf", ("c", "d")),
        words[without["c"] - found["a"][1]], words[without["d"] - found["b"][1]]) in flat
    assert all(len(set(_medians(bare, model, ("c", "d")))) == 1 for model in ("resnext50_32x4d", "regnet_y_128gf"))
    assert len(set(_medians(late, "resnext50_32x4d", ("c", "d")))) == 1
    strided = "pointwise_conv 1×1 stride 2"
    theirs = benchmark.against_alone(list(late["c"].values()))
    assert (f"predicted {benchmark.percentiles(theirs[strided])[1]:.2f} times their time alone "
            f"({read_spread(theirs, strided)}, {len(theirs[strided])}), against "
            f"{benchmark.percentiles(here[strided])[1]:.2f} on the first profile") in flat
    _check_the_strided_3x3_grid(benchmark, flat, compared)


def _check_the_strided_3x3_grid(benchmark, flat: str, compared) -> None:
    """The sixth pass's latest profiles (e, f) by the code with the grid of strided 3×3
    convolutions too: the strided 3×3 convolutions' time predicted over their time alone with and
    without it, and the counts at ρ ≥ 0.8 with both strided grids, without the 3×3 one and without either."""
    from dataclasses import replace

    from archcalc.devices import load_profile

    latest = {name: load_profile(SIXTH_RUN / f"profile-cpu-{name}.yaml") for name in ("e", "f")}

    def without(profile, works: tuple[str, ...]):
        return replace(profile, efficiency_by_size={work: table._replace(strided=()) if work in works else table
                                                    for work, table in profile.efficiency_by_size.items()})

    assert all(profile.efficiency_by_size[work].strided for profile in latest.values() for work in ("conv", "pointwise_conv"))
    rows = {(name, kept): compared(SIXTH_RUN, without(profile, dropped))
            for name, profile in latest.items()
            for kept, dropped in (("both", ()), ("1×1", ("conv",)), ("none", ("conv", "pointwise_conv")))}
    ranked = {key: _counted(found)[1] for key, found in rows.items()}
    shape = "conv 3×3 stride 2"
    first, bare = (benchmark.against_alone(list(rows["e", kept].values())) for kept in ("both", "1×1"))
    assert (f"those are predicted {benchmark.percentiles(first[shape])[1]:.2f} times their time alone "
            f"({read_spread(first, shape)}, {len(first[shape])}), against {benchmark.percentiles(bare[shape])[1]:.2f} "
            f"({read_spread(bare, shape)}) read without it, and it moves no model: {ranked['e', 'both']} and "
            f"{ranked['f', 'both']} at ρ ≥ 0.8 with it and without it ({ranked['e', 'none']} and {ranked['f', 'none']} "
            "without either strided grid)") in flat
    assert ranked["e", "1×1"] == ranked["e", "both"] and ranked["f", "1×1"] == ranked["f", "both"]


SEVENTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05-aligned"


def test_the_seventh_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with the alignments of channels a group and its counts:
    with its two profiles, read without their alignments, the pass before's latest profiles on
    these times and these on that pass's; the shares measured, the models the alignments move, the
    grouped convolutions' time predicted over their time alone, what the machine moved, what is
    left. All made again from the kept files (benchmarks/results/cpu-2026-12-05-aligned and
    cpu-2026-12-05-avx512) by the benchmark's own functions."""
    from dataclasses import replace

    from archcalc.devices import load_profile

    benchmark, flat, compared, profiles, rows, found = _read_pass(SEVENTH_RUN, ("g", "h"))
    bare = {name: compared(SEVENTH_RUN, replace(profile, efficiency_by_size={
        work: table._replace(alignments=(), aligned=()) for work, table in profile.efficiency_by_size.items()}))
        for name, profile in profiles.items()}
    without = {name: _counted(found_rows) for name, found_rows in bare.items()}
    apart = sum(row["median alone"] >= 0.8 for row in rows["g"].values())
    _check_pass_row("seventh", (found["g"][0], found["h"][0]), (found["g"][1], found["h"][1]), apart)
    assert found["g"][0] == found["h"][0] == 98
    assert ("Profiles g and h give {} and {} models within a factor of 2 and {} and {} at ρ ≥ 0.8 (median runs; {} and "
            "{}, {} and {} of the fastest); read without their alignments, {} and {} within a factor of 2 and {} and {} "
            "at ρ ≥ 0.8").format(found["g"][0], found["h"][0], found["g"][1], found["h"][1], found["g"][2],
                                 found["h"][2], found["g"][3], found["h"][3], without["g"][0], without["h"][0],
                                 without["g"][1], without["h"][1]) in flat
    _check_the_shares(profiles, flat)

    def reaches(row: dict) -> bool:
        return row["median"][2] is not None and row["median"][2] >= 0.8

    moved = {name: sorted(model for model in rows[name] if reaches(rows[name][model]) != reaches(bare[name][model]))
             for name in rows}
    assert moved["g"] == moved["h"] == ["regnet_x_32gf", "regnet_x_8gf", "regnet_y_1_6gf", "regnet_y_32gf",
                                        "regnet_y_8gf"]
    brought = [f"{shown} ({'ρ ' if shown == 'RegNetX-8GF' else ''}{_medians(bare, model, ('g',))[0]} to "
               f"{_medians(rows, model, ('g',))[0]}{' on g' if shown == 'RegNetX-8GF' else ''})"
               for model, shown in (("regnet_x_8gf", "RegNetX-8GF"), ("regnet_x_32gf", "RegNetX-32GF"),
                                    ("regnet_y_8gf", "RegNetY-8GF"), ("regnet_y_32gf", "RegNetY-32GF"))]
    assert (f"The alignments bring {', '.join(brought[:3])} and {brought[3]}, and lose RegNetY-1.6GF "
            f"({_medians(bare, 'regnet_y_1_6gf', ('g',))[0]} to {_medians(rows, 'regnet_y_1_6gf', ('g',))[0]})") in flat
    assert not reaches(rows["g"]["regnet_y_1_6gf"]) and reaches(bare["g"]["regnet_y_1_6gf"])
    here, there = (benchmark.against_alone(list(found_rows["g"].values())) for found_rows in (rows, bare))
    grouped_1, grouped_2 = "conv 3×3 stride 1 grouped", "conv 3×3 stride 2 grouped"

    def median(spreads: dict[str, list[float]], shape: str) -> str:
        return f"{benchmark.percentiles(spreads[shape])[1]:.2f}"

    assert (f"Grouped 3×3 convolutions are predicted {median(here, grouped_1)} times their time alone at the median "
            f"({read_spread(here, grouped_1)} from the 10th to the 90th percentile, {len(here[grouped_1])} layers), "
            f"against {median(there, grouped_1)} ({read_spread(there, grouped_1)}) read without the alignments; with a "
            f"stride of 2, {median(here, grouped_2)} ({read_spread(here, grouped_2)}, {len(here[grouped_2])}) against "
            f"{median(there, grouped_2)} ({read_spread(there, grouped_2)})") in flat
    small = [benchmark.against_alone([found_rows["g"]["regnet_y_1_6gf"]]) for found_rows in (rows, bare)]
    assert (f"are now predicted {median(small[0], grouped_1)} times their time alone at the median "
            f"({median(small[1], grouped_1)} read without)") in flat
    unaligned = {name: _unaligned_groups(name) for name in rows["g"] if name.startswith("regnet")}
    unaligned = {name: widths for name, widths in unaligned.items() if widths}
    ratios = [sorted(found_rows["g"][name]["median"][RATIO] for name in unaligned) for found_rows in (rows, bare)]
    widths = sorted(width for found_widths in unaligned.values() for width in found_widths)
    assert (f"measured ÷ predicted {ratios[0][0]:.2f}–{ratios[0][-1]:.2f} on g for the eight whose groups of "
            f"{widths[0]} to {widths[-1]} channels are not multiples of 16, against {ratios[1][0]:.2f}–"
            f"{ratios[1][-1]:.2f} read without") in flat
    assert len(unaligned) == 8
    before = {name: load_profile(SIXTH_RUN / f"profile-cpu-{name}.yaml") for name in ("e", "f")}
    on_these = {name: _counted(compared(SEVENTH_RUN, profile)) for name, profile in before.items()}
    on_those = {name: _counted(compared(SIXTH_RUN, profile)) for name, profile in {**profiles, **before}.items()}
    assert ("The profiles of the pass before (e, f) give {} and {} models within a factor of 2 and {} and {} at ρ ≥ 0.8 "
            "on these times; g and h give {} and {} and {} and {} on that pass's (e and f there: {} and {})").format(
        on_these["e"][0], on_these["f"][0], on_these["e"][1], on_these["f"][1], on_those["g"][0], on_those["h"][0],
        on_those["g"][1], on_those["h"][1], on_those["e"][1], on_those["f"][1]) in flat
    _check_the_machine_moved(rows, flat)
    missed = ", ".join(f"{name} ({benchmark._rho(row['median'][2])})" for name, row in rows["g"].items()
                       if not reaches(row))
    assert f"**What is left** (ρ < 0.8 on profile g): {missed}." in flat
    assert [name for name, row in rows["g"].items() if row["median"][3] < 0.8] == ["convnext_base", "convnext_large"]
    dilated = _context_module_by_dilation(SEVENTH_RUN)
    assert f"they took {dilated[1]:.2f} ms at a dilation of 1 and {dilated[16]:.2f} at 16" in flat
    assert rows["g"]["context_basic"]["median"][2] is None  # its seven layers predicted alike


def _check_the_shares(profiles: dict, flat: str) -> None:
    """The seventh pass's profiles' shares by alignment, as docs/latency.md gives them."""
    def spread(shares: tuple[float, ...]) -> str:
        return f"{min(shares):.2f}–{max(shares):.2f}"

    conv, depthwise = ({name: profile.efficiency_by_size[work].aligned for name, profile in profiles.items()}
                       for work in ("conv", "depthwise_conv"))
    assert all(profile.efficiency_by_size[work].alignments == (1, 2, 4, 8, 16, 32, 64, 128)
               for profile in profiles.values() for work in ("conv", "depthwise_conv"))
    g, h = conv["g"], conv["h"]
    assert f"{g[0]:.2f}" == f"{g[1]:.2f}" and f"{h[0]:.2f}" == f"{h[1]:.2f}"
    assert (f"Profile g: grouped layers of 2 groups of 129 or 130 channels keep {g[0]:.2f} of the rate of 2 groups of "
            f"128 (alignments of 1 and 2), of 132 (4) {g[2]:.2f}, of 136 (8) {g[3]:.2f}, of 144, 160 and 192 (16, 32 "
            f"and 64) {spread(g[4:7])}; depthwise layers of 129–136 channels {spread(depthwise['g'][:4])} of 128's, of "
            f"144–192 {spread(depthwise['g'][4:7])}. Profile h: grouped layers {h[0]:.2f}, {h[1]:.2f}, {h[2]:.2f}, "
            f"{h[3]:.2f} and {spread(h[4:7])}; depthwise ones {spread(depthwise['h'][:4])} and "
            f"{spread(depthwise['h'][4:7])}.") in flat


def _unaligned_groups(model: str) -> set[int]:
    """The channels a group of a bundled model's grouped convolutions (not depthwise) that are
    neither a multiple of 16 nor a power of two (the grids' widths) (`LayerKind.work_size`)."""
    from archcalc import analyze

    stats = analyze(model)
    sizes = (node.kind.work_size(node.attrs, [stats.shapes[name] for name in node.inputs], stats.shapes[node.name])
             for node in stats.graph.nodes)
    return {round(size.width) for size in sizes
            if size is not None and size.groups > 1 and size.alignment is not None and size.alignment < min(16, size.width)}


def _check_the_machine_moved(rows: dict, flat: str) -> None:
    """MobileNet V3 Small's times in the seventh pass and the sixth, and its measured ÷ predicted,
    the largest of every model's on both profiles."""
    import json

    now, then = (json.loads((run / "latency-cpu-float32.json").read_text()) for run in (SEVENTH_RUN, SIXTH_RUN))
    small, large, resnet = "mobilenet_v3_small", "mobilenet_v3_large", "resnet50"
    assert (f"MobileNet V3 Small took {now[small]['ms']:.2f} ms (median of 5 runs), against {then[small]['ms']:.2f} in "
            f"the pass before, an hour and a half earlier, its first layers and its classifier most (its stem "
            f"{then[small]['layers']['stem.conv'][0]:.2f} ms then, {now[small]['layers']['stem.conv'][0]:.2f} now); "
            f"MobileNet V3 Large {then[large]['ms']:.1f} and {now[large]['ms']:.1f}, ResNet-50 {then[resnet]['ms']:.1f} "
            f"and {now[resnet]['ms']:.1f}") in flat
    ratios = [rows[name][small]["median"][RATIO] for name in ("g", "h")]
    assert (f"MobileNet V3 Small's measured ÷ predicted is {ratios[0]:.2f} and {ratios[1]:.2f} on g and h, the nearest "
            "to the factor of 2 of any model") in flat
    assert all(max(rows[name].values(), key=lambda row: row["median"][RATIO])["model"] == small for name in ("g", "h"))


def _context_module_by_dilation(run: Path) -> dict[int, float]:
    """The dilated context module's median times (ms) of its 3×3 convolutions by their dilation, the
    median of those of a dilation where several are."""
    import json
    import statistics

    from archcalc import analyze

    graph = analyze("context_basic").graph
    times = json.loads((run / "latency-cpu-float32.json").read_text())["context_basic"]["layers"]
    found: dict[int, list[float]] = {}
    for node in graph.nodes:
        if node.kind.key == "conv2d" and tuple(node.attrs.kernel) == (3, 3):
            found.setdefault(node.attrs.dilation[0], []).append(times[node.name][0])
    return {dilation: statistics.median(taken) for dilation, taken in found.items()}


ELEVENTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05-weights"


def _eleventh_pass_figures() -> dict[str, str]:
    """The figures docs/latency.md gives of the pass with every layer's weights read cold, made
    from the kept files (benchmarks/results/cpu-2026-12-05-weights and cpu-2026-12-05-heap) by the
    benchmark's own functions and the roofline, as the text prints them."""
    import json
    import math
    from dataclasses import replace

    from archcalc import analyze
    from archcalc.roofline import roofline

    benchmark, flat, compared, profiles, rows, found = _read_pass(ELEVENTH_RUN, ("s", "t"))
    hot = {name: compared(ELEVENTH_RUN, replace(profile, cold_weights=0.0)) for name, profile in profiles.items()}

    def reaches(row: dict) -> bool:
        return row["median"][RHO] is not None and row["median"][RHO] >= 0.8

    def geometric(found_rows: dict) -> str:
        return f"{math.exp(sum(math.log(row['median'][RATIO]) for row in found_rows.values()) / len(found_rows)):.2f}"

    figures = {"flat": flat, "apart": str(sum(row["median alone"] >= 0.8 for row in rows["s"].values())),
               "left": ", ".join(f"{name} ({benchmark._rho(row['median'][RHO])})" for name, row in rows["s"].items()
                                 if not reaches(row))}
    for name, profile in profiles.items():
        figures |= {f"within_{name}": str(found[name][0]), f"ranked_{name}": str(found[name][1]),
                    f"fastest_{name}": str(found[name][3]), f"without_{name}": str(_counted(hot[name])[1]),
                    f"cw_{name}": f"{profile.cold_weights:.2f}", f"cache_{name}": f"{profile.cache_mib:g}",
                    f"geo_{name}": geometric(rows[name]), f"hot_{name}": geometric(hot[name]),
                    f"across_{name}": str(_counted(compared(TENTH_RUN, profile))[1])}
        moved = {which: sorted(model for model in rows[name] if reaches(rows[name][model]) == gained
                               and reaches(hot[name][model]) != gained) for which, gained in (("brought", True), ("lost", False))}
        figures |= {f"{which}_{name}": ", ".join(models) or "none" for which, models in moved.items()}
    figures["m5_s"] = f"{rows['s']['m5_paper']['median'][RATIO]:.2f}"
    assert [model for model, row in rows["s"].items() if row["median"][3] < 0.8] == [
        "convnext_small", "convnext_base", "convnext_large"]  # "η is under 0.8 for ConvNeXt-S, -B and -L"
    assert [model for model, row in rows["s"].items() if not 0.5 <= row["median"][RATIO] <= 2] == ["m5_paper"]
    for name, profile in zip(("q", "r"), _profiles_of(TENTH_RUN, ("q", "r"))):
        figures[f"back_{name}"] = str(_counted(compared(ELEVENTH_RUN, profile))[1])
    times = json.loads((ELEVENTH_RUN / "latency-cpu-float32.json").read_text())["fcn_resnet101"]["layers"]
    stats = analyze("fcn_resnet101")
    layer3 = {"pw": [f"backbone.layer3.{block}.conv3" for block in range(23)],  # 256 to 1,024, 1×1
              "dil": [f"backbone.layer3.{block}.conv2" for block in range(1, 23)]}  # 3×3, dilation 2
    for name, profile in profiles.items():
        predicted = roofline(stats, profile).by_name()
        for which, names in layer3.items():
            figures[f"{which}_{name}"] = f"{statistics.median(predicted[layer].time * 1e3 for layer in names):.2f}"
    for which, names in layer3.items():
        figures[f"{which}_m"] = f"{statistics.median(times[layer][0] for layer in names):.2f}"
    linear = _profiles_of(TENTH_RUN, ("r",))[0].efficiency_by_size["linear"]
    figures |= {f"linear_{width}": f"{linear.reached[linear.widths.index(width)][0]:.2f}" for width in (2048.0, 4096.0)}
    return figures


def test_the_eleventh_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with every layer's weights read cold (the first
    profile's, checked by `_read_pass`) and its figures (`_eleventh_pass_figures`): with its two
    profiles and read without their cold weights, on the tenth pass's times and the tenth's profiles
    on these; what the profiles measured; the models the cold weights move; the geometric mean of
    measured ÷ predicted; the layers profile s ranks apart from the model's; what is left; the
    summary above the passes."""
    f = _eleventh_pass_figures()
    flat = f["flat"]
    assert (f"cold weights of {f['cw_s']} on profile s and {f['cw_t']} on profile t, and a largest cache of "
            f"{f['cache_s']} MiB on both") in flat and f["cache_s"] == f["cache_t"]
    assert (f"Profiles s and t give {f['within_s']} and {f['within_t']} models within a factor of 2 and {f['ranked_s']} "
            f"and {f['ranked_t']} at ρ ≥ 0.8 (median runs; {f['fastest_s']} and {f['fastest_t']} of the fastest); read "
            f"without their cold weights, {f['without_s']} and {f['without_t']} at ρ ≥ 0.8. On profile s they bring "
            f"{f['brought_s']} to ρ ≥ 0.8 and lose {f['lost_s']}; on profile t they bring {f['brought_t']} to ρ ≥ 0.8 "
            f"and lose {f['lost_t']}. The geometric mean of measured ÷ predicted over the 98 models is {f['geo_s']} and "
            f"{f['geo_t']}, against {f['hot_s']} and {f['hot_t']} read without. Profiles s and t give {f['across_s']} "
            f"and {f['across_t']} on the tenth pass's times; q and r, the tenth's, {f['back_q']} and {f['back_r']} on "
            "these.") in flat
    assert f"**What is left** (ρ < 0.8 on profile s): {f['left']}." in flat
    assert f"M5 (the paper's) is out of the factor of 2 on s (measured ÷ predicted {f['m5_s']})" in flat
    assert (f"at {f['pw_s']} ms and its 3×3 ones of dilation 2 (22) at {f['dil_s']} ms, where the model ran them in "
            f"{f['pw_m']} and {f['dil_m']} ms (the medians of their layers); profile t predicts {f['pw_t']} and "
            f"{f['dil_t']} ms") in flat
    assert (float(f["pw_s"]) < float(f["dil_s"])) != (float(f["pw_m"]) < float(f["dil_m"]))  # s: the other order
    assert (float(f["pw_t"]) < float(f["dil_t"])) == (float(f["pw_m"]) < float(f["dil_m"]))  # t: the model's
    assert (f"a linear layer of 4,096 features at batch 1, with 64 MiB of weights, reaching {f['linear_4096.0']} of its "
            f"roofline where one of 2,048 reached {f['linear_2048.0']} (profile r of the tenth pass)") in flat
    _check_pass_row("eleventh", (f["within_s"], f["within_t"]), (f["ranked_s"], f["ranked_t"]), f["apart"])


def test_the_twelfth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with window poolings timed by their taps, on torch's
    own weights (the first profile's, checked by `_read_pass`) and its figures
    (`_twelfth_pass_figures`): the max poolings against the eleventh pass's, on zero weights; the
    poolings read by their bytes and at the profile's rates; the rates; the counts with its two
    profiles, and read by bytes; M5; the geometric means; across the eleventh pass; what is left;
    the summary above the passes."""
    f = _twelfth_pass_figures()
    flat = f["flat"]
    assert (f"The {f['max_layers']} max poolings of the bundled models took {f['max_slower']} times as long here as in "
            f"the pass before at the median, the other layers {f['rest_slower']},") in flat
    assert f"(ResNet-50's max pooling {f['maxpool_rn50']} ms)" in flat
    assert (f"the models' {f['pooled']} poolings took {f['bytes_spread']} times their prediction on profile u, M5's 1-D "
            f"max poolings (windows of 4) the least, S3D's 3×3×3 ones of stride 1 the most; by their outputs and taps at "
            f"its rates {f['rates_spread']} (") in flat
    assert f"| u | {f['rates_u']} | | v | {f['rates_v']} |" in flat
    assert (f"Profiles u and v give {f['within_u']} and {f['within_v']} models within a factor of 2 and {f['ranked_u']} "
            f"and {f['ranked_v']} at ρ ≥ 0.8 (median runs; {f['fastest_u']} and {f['fastest_v']} of the fastest), where "
            f"ι is at least 0.8 for {f['apart']}; their poolings read by their bytes, {f['bytes_u']} and {f['bytes_v']} "
            f"within a factor of 2: M5 (the paper's) is measured {f['m5_u']} and {f['m5_v']} times its prediction, "
            f"{f['m5_bytes_u']} and {f['m5_bytes_v']} read by bytes. The geometric mean of measured ÷ predicted over the "
            f"98 models is {f['geo_u']} and {f['geo_v']}, against {f['geo_bytes_u']} and {f['geo_bytes_v']} read by "
            f"bytes.") in flat
    assert (f"Profiles u and v give {f['across_u']} and {f['across_v']} at ρ ≥ 0.8 on the eleventh pass's times; s "
            f"and t, the eleventh's, {f['back_s']} and {f['back_t']} on these.") in flat
    assert f"**What is left** (ρ < 0.8 on profile u): {f['left']}." in flat
    assert (f"(layer2.0.conv1) took {f['stride2_now']} alone, where the pass before measured {f['stride2_before']} "
            "and it took") in flat
    _check_pass_row("twelfth", (f["within_u"], f["within_v"]), (f["ranked_u"], f["ranked_v"]), f["apart"])


TWELFTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-06-pooling"


def _twelfth_pass_figures() -> dict[str, str]:
    """The figures docs/latency.md gives of the pass with window poolings timed by their taps and
    models timed on torch's own weights, made from the kept files (benchmarks/results/
    cpu-2026-12-06-pooling and cpu-2026-12-05-weights) by the benchmark's own functions and the
    roofline, as the text prints them."""
    import json
    import math
    import statistics
    from dataclasses import replace

    from archcalc import analyze
    from archcalc.layers.base import POOLINGS
    from archcalc.roofline import roofline

    _, flat, compared, profiles, rows, found = _read_pass(TWELFTH_RUN, ("u", "v"))
    by_bytes = {name: compared(TWELFTH_RUN, replace(profile, pooling_ns={})) for name, profile in profiles.items()}

    def geometric(found_rows: dict) -> str:
        return f"{math.exp(sum(math.log(row['median'][RATIO]) for row in found_rows.values()) / len(found_rows)):.2f}"

    figures = {"flat": flat, "apart": str(sum(row["median alone"] >= 0.8 for row in rows["u"].values())),
               "left": ", ".join(f"{name} ({row['median'][RHO]:.3f})" for name, row in rows["u"].items()
                                 if row["median"][RHO] < 0.8)}
    for name, profile in profiles.items():
        rate = profile.pooling_ns
        figures |= {f"within_{name}": str(found[name][0]), f"ranked_{name}": str(found[name][1]),
                    f"fastest_{name}": str(found[name][3]), f"bytes_{name}": str(_counted(by_bytes[name])[0]),
                    f"geo_{name}": geometric(rows[name]), f"geo_bytes_{name}": geometric(by_bytes[name]),
                    f"m5_{name}": f"{rows[name]['m5_paper']['median'][RATIO]:.2f}",
                    f"m5_bytes_{name}": f"{by_bytes[name]['m5_paper']['median'][RATIO]:.3f}",
                    f"rates_{name}": " | ".join(f"{rate[pooling].output:.2f}, {rate[pooling].tap:.2f}"
                                                for pooling in POOLINGS),
                    f"across_{name}": str(_counted(compared(ELEVENTH_RUN, profile))[1])}
    figures |= {f"back_{name}": str(_counted(rows_before)[1]) for name, rows_before in
                (("s", compared(TWELFTH_RUN, _profiles_of(ELEVENTH_RUN, ("s",))[0])),
                 ("t", compared(TWELFTH_RUN, _profiles_of(ELEVENTH_RUN, ("t",))[0])))}
    times = json.loads((TWELFTH_RUN / "latency-cpu-float32.json").read_text())
    zeros = json.loads((ELEVENTH_RUN / "latency-cpu-float32.json").read_text())
    pooled: dict[str, list[float]] = {"rates": [], "bytes": []}
    slower: dict[str, list[float]] = {"max": [], "rest": []}
    profile = profiles["u"]
    for model, measured in times.items():
        stats = analyze(model)
        rated, read = (roofline(stats, each).by_name() for each in (profile, replace(profile, pooling_ns={})))
        for node in stats.graph.nodes:
            now, before, layer = measured["layers"][node.name][0], zeros[model]["layers"][node.name][0], rated[node.name]
            if not layer.launches or before <= 0:
                continue
            slower["max" if node.kind.key.startswith("maxpool") else "rest"].append(now / before)
            if layer.work == "pooling":
                pooled["rates"].append(now / (layer.time * 1e3))
                pooled["bytes"].append(now / (read[node.name].time * 1e3))
    figures |= {f"{key}_spread": f"{min(ratios):.2f}–{max(ratios):.2f}" for key, ratios in pooled.items()}
    figures |= {f"{key}_slower": f"{statistics.median(ratios):.2f}" for key, ratios in slower.items()}
    figures["pooled"], figures["max_layers"] = str(len(pooled["rates"])), str(len(slower["max"]))
    figures |= {f"stride2_{key}": f"{run['resnet18']['layers']['layer2.0.conv1'][0]:.2f}{unit} and "
                                  f"{run['resnet18']['alone_ms']['layer2.0.conv1']:.2f}"
                for key, run, unit in (("now", times, " ms in the model"), ("before", zeros, ""))}
    figures["maxpool_rn50"] = f"{times['resnet50']['layers']['maxpool'][0]:.2f} ms against {zeros['resnet50']['layers']['maxpool'][0]:.2f}"
    return figures


def test_the_thirteenth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with oneDNN's fixed cost (the first profile's, checked by
    `_read_pass`) and its figures (`_thirteenth_pass_figures`): the counts with its two profiles,
    and read without oneDNN's fixed cost; on the twelfth pass's times, its profiles' and the
    twelfth's; LeNet-5's convolutions; oneDNN's fixed cost measured; what is left; the summary."""
    f = _thirteenth_pass_figures()
    flat = f["flat"]
    assert (f"Profiles y and z give {f['within_y']} and {f['within_z']} models within a factor of 2 and "
            f"{f['ranked_y']} and {f['ranked_z']} at ρ ≥ 0.8 (median runs; {f['fastest_y']} and {f['fastest_z']} of "
            f"the fastest), where ι is at least 0.8 for {f['apart']}; read without oneDNN's fixed cost, "
            f"{f['without_within_y']} and {f['without_within_z']} within a factor of 2 and {f['without_ranked_y']} and "
            f"{f['without_ranked_z']} at ρ ≥ 0.8.") in flat
    assert (f"On the twelfth pass's times profiles y and z give {f['across_y']} and {f['across_z']} at ρ ≥ 0.8, and "
            f"w and x, measured by this code just before y, {f['across_w']} and {f['across_x']}; u and v, the "
            f"twelfth's, {f['back_u']} and {f['back_v']} there and {f['here_u']} and {f['here_v']} on these.") in flat
    assert f"The profiles measured oneDNN's fixed cost {f['onednn']} µs among the others (w, x, y, z)" in flat
    assert (f"LeNet-5 is measured {f['lenet5_y']} and {f['lenet5_z']} times its prediction on profiles y and z "
            f"({f['lenet5_without_y']} and {f['lenet5_without_z']} read without it), LeNet-5 as PyTorch's tutorial "
            f"writes it {f['lenet5_pytorch_y']} and {f['lenet5_pytorch_z']} ({f['lenet5_pytorch_without_y']} and "
            f"{f['lenet5_pytorch_without_z']})") in flat
    assert f["lenet"] in flat
    assert (f"LeNet-5's two 5×5 convolutions were predicted at {f['lenet_u']} µs on profile u and measured at "
            f"{f['lenet_twelfth']} in the model, {f['lenet_alone']} alone.") in flat
    assert (f"ResNet-101 dilated's is {f['dilated_y']} on profile y and {f['dilated_without_y']} read without "
            f"oneDNN's fixed cost; on the twelfth pass's times the FCN and DeepLabV3 ResNet-101s' are {f['fcn_u']} on "
            f"profile u and {f['fcn_vwx']} on v, w and x.") in flat
    assert f"**What is left** (ρ < 0.8 on profile y): {f['left']}." in flat
    _check_pass_row("thirteenth", (f["within_y"], f["within_z"]), (f["ranked_y"], f["ranked_z"]), f["apart"])


def test_the_latency_benchmark_takes_at_most_the_runs_validate_takes():
    """A review found `--runs 2000` given to the benchmark going as far as the library, which
    refuses more than archcalc.limits.MAX_RUNS: refused by the benchmark first, and --seconds gives
    no model more (LeNet-5, 0.14 ms a run, for 2 seconds: 14,286 runs, 1,000 taken)."""
    import argparse

    from archcalc.limits import MAX_RUNS

    benchmark = _latency_benchmark()
    assert benchmark.runs_for(5, 2.0, 0.14) == MAX_RUNS == 1000 and benchmark.runs_for(5, 2.0, 400.0) == 5
    runs, warmup = benchmark._passes(1), benchmark._passes(0)
    assert runs("1000") == 1000 and warmup("0") == 0
    # a review's: --runs 0 died in the measuring subprocess (the library times one run or more), 1_0 was 10
    for text in ("1001", "-1", "0", "1_0", "9" * 5000):
        with pytest.raises(argparse.ArgumentTypeError, match="from 1 to 1,000"):
            runs(text)


MINUTE_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-06-minute"


def _fc_medians(kept: dict, stage: int) -> tuple[float, float]:
    """The median times of a ConvNeXt stage's fc1 and of its fc2, over its blocks."""
    import statistics

    return tuple(statistics.median(times[0] for name, times in kept["layers"].items()
                                   if name.startswith(f"stages.{stage}.") and name.endswith(fc)) for fc in ("fc1", "fc2"))


def test_convnext_timed_for_a_minute_is_what_its_kept_times_give():
    """docs/latency.md's figures of the ConvNeXts timed for a minute a model, made again from the
    two kept runs (benchmarks/results/cpu-2026-12-06-minute) and the fifteenth pass's profile r by
    the benchmark's own comparison: each model's runs, ρ and η (median and fastest runs) beside
    the 2-second pass's η; ConvNeXt-S's third stage's fc1 and fc2; the stages whose fc2 is the slower."""
    import json

    from archcalc.devices import load_profile

    benchmark, flat = _latency_benchmark(), " ".join(_latency_text().split())
    profile = load_profile(FIFTEENTH_RUN / "profile-cpu-r.yaml")
    entries = {entry.name: entry for entry in bundled()}
    seconds = json.loads((FIFTEENTH_RUN / "latency-cpu-float32.json").read_text())
    runs = {which: json.loads((MINUTE_RUN / f"latency-cpu-float32{suffix}.json").read_text())
            for which, suffix in (("first", "-first"), ("second", ""))}
    for which, kept in runs.items():
        for model, times in kept.items():
            row = benchmark.compare(entries[model], times, profile)
            before = benchmark.compare(entries[model], seconds[model], profile)
            cells = [which, model, str(times["runs"]), *(f"{value:.2f}" for value in (
                row["median"][2], row["median"][3], row["fastest"][3], before["median"][3]))]
            assert "| " + " | ".join(cells) + " |" in flat, cells
    small = [runs[which]["convnext_small"] for which in ("first", "second")]
    eta = [benchmark.compare(entries["convnext_small"], kept, profile)["median"][3] for kept in small]
    assert max(eta) < 0.8
    assert f"Its η is {eta[0]:.2f} and {eta[1]:.2f} on the median runs of a minute" in flat
    (first_fc1, first_fc2), (second_fc1, second_fc2) = (_fc_medians(kept, 2) for kept in small)
    assert (f"measured at {first_fc1:.4f} and {first_fc2:.4f} ms (the medians of the 27 of each), the second at "
            f"{second_fc1:.4f} and {second_fc2:.4f}.") in flat
    slower = {which: [fc2 / fc1 - 1 for fc1, fc2 in (_fc_medians(kept[model], stage) for model in kept for stage in range(4))]
              for which, kept in runs.items()}
    first, second = ((sum(share > 0 for share in slower[which]), len(slower[which])) for which in ("first", "second"))
    apart = [share * 100 for shares in slower.values() for share in shares if share > 0]
    assert (f"fc2 is the slower of the two in {first[0]} of the first run's {first[1]} stages and {second[0]} of the "
            f"second's {second[1]} (by the medians of each stage's blocks), by {min(apart):.2f}–{max(apart):.0f}%.") in flat


def test_whether_the_rank_target_is_within_reach_is_what_the_kept_times_give():
    """docs/latency-passes.md's section on whether ρ ≥ 0.8 could be met for all four ConvNeXts at
    once, and docs/latency.md's paragraph on it, made again from every kept measurement of the
    AVX-512 machine (the passes, the minute's runs, benchmarks/results/cpu-2026-12-06-reach) by
    `benchmarks/rank_reach.py`: each measurement's two ceilings, how many could hold all four at
    0.8 (none), and how alike the third stage's layers rank from one run to another."""
    import contextlib
    import importlib.util
    import io
    import json

    spec = importlib.util.spec_from_file_location("rank_reach", ROOT / "benchmarks" / "rank_reach.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    files = [(label, benchmark.RESULTS / path) for label, path in benchmark.KEPT]
    rows = benchmark.reach(files)
    kept = [json.loads(path.read_text()) for label, path in files if label.startswith("2 seconds")]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        benchmark.print_reach(rows)
        benchmark.print_between_runs(kept)
    text = _latency_text()
    flat = " ".join(text.split())
    for line in printed.getvalue().splitlines():
        if line.startswith("| "):
            assert line in text, line
    assert len(rows) == 20 and len(kept) == 8
    assert not any(benchmark.within(ceilings, which) for _, ceilings in rows for which in (0, 1))
    complete = sum(len(ceilings) == 4 for _, ceilings in rows)
    assert f"On none of the {complete} measurements that hold all four could all four reach 0.8, by either ceiling." in flat
    under = {model: sum(ceilings[model][0] < 0.8 for _, ceilings in rows) for model in ("convnext_small", "convnext_base")}
    assert (f"ConvNeXt-S's η is under 0.8 on {under['convnext_small']} of the {len(rows)} measurements" in flat
            and f"ConvNeXt-B's on {under['convnext_base']} of {len(rows)} (" in flat)
    tiny = [ceilings["convnext_tiny"][1] for _, ceilings in rows if "convnext_tiny" in ceilings]
    assert f"(ConvNeXt-T's to {min(tiny):.2f}–{max(tiny):.2f})" in flat
    fourteenth = dict(rows)["fourteenth pass"]
    assert (f"where ConvNeXt-S and -B reach {fourteenth['convnext_small'][1]:.2f} and {fourteenth['convnext_base'][1]:.2f}, "
            f"ConvNeXt-L is at {fourteenth['convnext_large'][1]:.2f})") in flat
    medians = [statistics.median(benchmark.between_runs(kept, model, suffix))
               for model in ("convnext_small", "convnext_base", "convnext_large") for suffix in (".fc1", ".fc2")]
    assert f"the medians are {min(medians):.2f} to {max(medians):.2f}".replace("-", "−") in flat
    assert f"at a median ρ of {min(medians):.2f} to {max(medians):.2f}".replace("-", "−") in flat


ORIENTATION_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-06-orientation"


def test_a_linear_layers_orientation_timed_on_its_own_is_what_its_kept_runs_give():
    """docs/latency-passes.md's section on fc1 (C → 4C) against fc2 (4C → C) timed on their own, made
    again from the two kept runs (benchmarks/results/cpu-2026-12-06-orientation) and the fifteenth
    pass's times and profile r by the benchmark's own functions: each size's range of ratios over
    the six repeats, warm and cold; each stage's blocks whose fc2 was the slower in the model; each
    ConvNeXt's ρ with each fc2 scaled by a run's ratio at its stage's size."""
    import importlib.util
    import json

    spec = importlib.util.spec_from_file_location("linear_orientation", ROOT / "benchmarks" / "linear_orientation.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    flat = " ".join(_latency_text().split())
    runs = [(ORIENTATION_RUN / f"orientation-{run}.txt").read_text(encoding="utf-8") for run in (1, 2)]
    seconds = json.loads((FIFTEENTH_RUN / "latency-cpu-float32.json").read_text())
    shares = {}
    for line in "\n".join(runs).splitlines():
        words = line.split()
        if len(words) > 3 and words[0].isdigit():
            shares.setdefault((int(words[0]), int(words[1]), words[2]), []).extend(
                float(word.rstrip("%")) for word in words[5::3])

    def spread(values: list[float]) -> str:
        return f"{min(values):+.1f} to {max(values):+.1f}%".replace("-", "−")

    counts = benchmark.in_the_models(seconds)
    widths = {"convnext_tiny": 96, "convnext_small": 96, "convnext_base": 128, "convnext_large": 192}
    for model, width in widths.items():
        for stage, (slower, blocks) in counts[model].items():
            channels, side = width << stage, 56 >> stage
            cells = [f"{channels} on {side}²", spread(shares[channels, side, "warm"]), spread(shares[channels, side, "cold"])]
            assert "| " + " | ".join(cells) + " |" in flat, cells
            assert f"{slower} of {blocks}" in flat
    assert "| 3 | 384 on 14² | −0.0 to +0.3% | +1.1 to +2.0% | 9 of 9, 19 of 27 |" in flat
    assert "| 3 | 768 on 14² | −0.5 to +0.3% | −0.9 to −0.2% | 27 of 27 |" in flat
    found = [benchmark.with_orientation(seconds, FIFTEENTH_RUN / "profile-cpu-r.yaml", benchmark.read_ratios(run))
             for run in runs]
    for model in widths:
        plain = found[0][model][0]
        cells = [model, f"{plain:.2f}", *(f"{rho:.2f}" for run in found for rho in run[model][1:])]
        assert "| " + " | ".join(cells) + " |" in flat, cells
    reached = [(model, index) for index, run in enumerate(found) for model, rhos in run.items() if max(rhos[1:]) >= 0.8]
    assert reached == [("convnext_tiny", 1)]
    assert f"ConvNeXt-L {found[0]['convnext_large'][1]:.3f} on the first's" in flat


def test_the_fifteenth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass that timed each model for 2 seconds (on the fourteenth
    pass's profile p, checked by `_read_pass`) and its figures: the runs; the counts with p and
    q; the models whose ρ moved from the fourteenth pass's times; LeNet-5's; what is left."""
    import json

    _, flat, compared, profiles, rows, found = _read_pass(FIFTEENTH_RUN, ("p", "q"), FOURTEENTH_RUN)
    times = json.loads((FIFTEENTH_RUN / "latency-cpu-float32.json").read_text())
    runs = sorted(kept["runs"] for kept in times.values())
    before = {name: compared(FOURTEENTH_RUN, profile) for name, profile in profiles.items()}
    moved = [f"{model} ({before['q'][model]['median'][RHO]:.2f} to {row['median'][RHO]:.2f})"
             for model, row in rows["q"].items()
             if (before["q"][model]["median"][RHO] >= 0.8) != (row["median"][RHO] >= 0.8)]
    apart = sum(row["median alone"] >= 0.8 for row in rows["p"].values())
    assert (f"The models took {runs[0]} to {runs[-1]} runs, {runs[len(runs) // 2]} at the median ({sum(r > 5 for r in runs)} "
            f"of 98 more than the 5 of the passes before).") in flat
    assert (f"Profiles p and q give {found['p'][0]} and {found['q'][0]} models within a factor of 2 and {found['p'][1]} "
            f"and {found['q'][1]} at ρ ≥ 0.8 (median runs; {found['p'][3]} and {found['q'][3]} of the fastest), where ι "
            f"is at least 0.8 for {apart}.") in flat
    assert f"On profile q, against the fourteenth pass's times: {', '.join(moved)}." in flat
    from archcalc.devices import load_profile

    later = _counted(compared(FIFTEENTH_RUN, load_profile(FIFTEENTH_RUN / "profile-cpu-r.yaml")))
    assert f"gives {later[0]} within a factor of 2 and {later[1]} at ρ ≥ 0.8 on them." in flat
    lenet = [f"{rows[name]['lenet5']['median'][RHO]:.2f}" for name in ("p", "q")]
    assert f"LeNet-5's ρ is {lenet[0]} and {lenet[1]} on p and q" in flat
    left = ", ".join(f"{name} ({row['median'][RHO]:.3f}, η {row['median'][3]:.3f})" for name, row in rows["q"].items()
                     if row["median"][RHO] < 0.8)
    assert f"**What is left** (ρ < 0.8 on profile q): {left}." in flat
    measured = {model: _measured_over_predicted(times[model], model, profiles["q"]) for model in ("convnext_tiny", "zfnet")}
    assert "ConvNeXt-T's 35 heaviest layers, all linear layers of the same MACs, are each measured at {:.2f}–{:.2f} of " \
           "its prediction on q".format(min(measured["convnext_tiny"].values()), max(measured["convnext_tiny"].values())) in flat
    zfnet = measured["zfnet"]
    assert ("ZFNet's five convolutions are measured at {:.2f}–{:.2f} of their prediction (conv1, a 7×7 on 3 channels, at "
            "{:.2f}; conv3 and conv5, of the same MACs, at {:.2f} and {:.2f})").format(
        min(zfnet.values()), max(zfnet.values()), zfnet["conv1"], zfnet["conv3"], zfnet["conv5"]) in flat
    _check_pass_row("fifteenth", (found["p"][0], found["q"][0]), (found["p"][1], found["q"][1]), apart)


FIFTEENTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-06-seconds"


def test_where_the_cpu_latency_stands_is_what_the_fifteenth_pass_gives():
    """docs/latency.md's "Where it stands": the fifteenth pass's counts on profile r; the models
    under ρ 0.8 with their ρ, η and ι; ConvNeXt's heavy layers (fc2 measured the slower of a
    block's two; fc1 predicted above fc2 by its bias); RegNet-Y-128GF's two sets of layers. All
    made again from the kept times and profile (benchmarks/results/cpu-2026-12-06-seconds)."""
    import json

    from archcalc import analyze
    from archcalc.devices import load_profile
    from archcalc.roofline import roofline
    from archcalc.validation.results import heaviest

    benchmark = _latency_benchmark()
    text = (ROOT / "docs" / "latency.md").read_text(encoding="utf-8")
    flat = " ".join(text.split())
    profile = load_profile(FIFTEENTH_RUN / "profile-cpu-r.yaml")
    rows = _pass_compared(benchmark)(FIFTEENTH_RUN, profile)
    within, ranked = _counted(rows)
    assert (f"read with profile r, measured just after its times, {within} of 98 models are within a factor of 2 and "
            f"{ranked} of 98 reach ρ ≥ 0.8") in flat
    times = json.loads((FIFTEENTH_RUN / "latency-cpu-float32.json").read_text())
    left = [name for name, row in rows.items() if row["median"][RHO] < 0.8]
    assert len(left) == 98 - ranked
    above = []
    for name in left:
        row, stats = rows[name], analyze(name)
        cells = f"| {name} | {row['median'][RHO]:.2f} | {row['median'][3]:.2f} | {row['median alone']:.2f} | "
        [line] = [line for line in text.splitlines() if line.startswith(cells)]
        heavy = heaviest({layer.name: layer.figures.macs for layer in stats.layers})
        if name.startswith("convnext"):
            roof = roofline(stats, profile, "float32").by_name()
            blocks = sorted({layer.rsplit(".", 1)[0] for layer in heavy})
            measured = times[name]["layers"]
            slower = sum(measured[block + ".fc2"][0] > measured[block + ".fc1"][0] for block in blocks)
            third = sum(layer.startswith("stages.2.") for layer in heavy)
            assert all(layer.endswith((".fc1", ".fc2")) for layer in heavy)
            assert (f"| {len(heavy)} fc1 and fc2 layers" in line and f"{third} of them the third stage's;" in line
                    and f" in {slower} of {len(blocks)} blocks |" in line), line
            for block in blocks:
                above.append((name, block, roof[block + ".fc1"].time / roof[block + ".fc2"].time - 1))
        else:
            _check_grouped_against_pointwise(line, name, times[name]["layers"], heavy, stats, profile)
    over = [share for _, _, share in above if share > 0]
    assert f"puts it above fc2 by {min(over) * 100:.3f}–{max(over) * 100:.3f}% in every block of their heavy layers but one" in flat
    assert [(name, block, share) for name, block, share in above if share <= 0] == [
        ("convnext_large", "stages.3.blocks.0", 0.0)]  # "ConvNeXt-L's in its fourth stage ... predicted alike"


def _check_grouped_against_pointwise(line: str, name: str, measured: dict, heavy: list[str], stats, profile) -> None:
    """RegNet-Y-128GF's row: its second stage's grouped 3×3 convolutions of stride 1 and its third
    stage's 1×1 ones of 2,904 channels in and out, each set predicted alike, measured and predicted (ms)."""
    from archcalc.roofline import roofline

    roof = roofline(stats, profile, "float32").by_name()
    def alike(example: str) -> list[str]:
        return [layer for layer in heavy if roof[layer].time == roof[example].time]

    grouped, pointwise = alike("blocks.3.b.conv"), alike("blocks.10.a.conv")
    for layers, which in ((grouped, "grouped 3×3"), (pointwise, "1×1")):
        spread = [measured[layer][0] for layer in layers]
        [predicted] = {round(roof[layer].time * 1e3, 2) for layer in layers}
        assert (f"{len(layers)} {which} " in line and f"measured at {min(spread):.2f}–{max(spread):.2f}" in line
                and f"predicted at {predicted:.2f}" in line), (name, line)


def _measured_over_predicted(kept: dict, model: str, profile) -> dict[str, float]:
    """Each of a model's layers that hold 90% of the MACs: its median time kept over the roofline's
    prediction on `profile`."""
    from archcalc import analyze
    from archcalc.roofline import roofline
    from archcalc.validation.results import heaviest

    stats = analyze(model)
    roof = roofline(stats, profile, "float32").by_name()
    return {name: kept["layers"][name][0] / (roof[name].time * 1e3)
            for name in heaviest({layer.name: layer.figures.macs for layer in stats.layers})}


def test_the_fourteenth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass whose grids measure their points up to 2³⁴ MACs (the
    first profile's, checked by `_read_pass`) and its figures (`_fourteenth_pass_figures`): the
    grid's points between 2³⁰ and 2³⁴ as the thirteenth pass's profiles filled them against these
    profiles' measurements; RegNet-Y-128GF's grouped strided convolutions; the counts, on these
    times and the thirteenth's; what is left."""
    f = _fourteenth_pass_figures()
    flat = f["flat"]
    assert (f"At the {f['points']} points between 2³⁰ and 2³⁴, the thirteenth pass's profiles y and z, filled there, "
            f"give {f['fill_median']} times what p and q measure at the median ({f['fill_spread']} from the 10th to "
            f"the 90th percentile, {f['fill_extremes']} at the extremes), more than 1.15 apart at {f['fill_apart']} of "
            f"{f['fill_pairs']}; p and q are {f['pq_median']} apart there at the median ({f['pq_p90']} at the 90th "
            f"percentile), more than 1.15 at {f['pq_apart']}. The fill held for the linear layers and depthwise "
            f"convolutions ({f['held']} pairs more than 1.15 apart), not for the other convolutions "
            f"({f['not_held']}): a narrower layer's rate falls as its map grows past the caches, a wider one's hardly: "
            f"4 groups of 256 channels strided to 112×112 were filled at {f['strided_y']} of the roofline on profile y "
            f"and are measured at {f['strided_p']} and {f['strided_q']} on p and q.") in flat
    assert (f"are measured at {f['regnet_y']} of their prediction on profile y and {f['regnet_p']} on profile p, on "
            f"this pass's times; its ρ is {f['rho_regnet_p']} and {f['rho_regnet_q']} on p and q") in flat
    assert (f"Profiles p and q give {f['within_p']} and {f['within_q']} models within a factor of 2 and "
            f"{f['ranked_p']} and {f['ranked_q']} at ρ ≥ 0.8 (median runs; {f['fastest_p']} and {f['fastest_q']} of the "
            f"fastest), where ι is at least 0.8 for {f['apart']}; on the thirteenth pass's times p and q give "
            f"{f['back_p']} and {f['back_q']} at ρ ≥ 0.8, and y and z, that pass's profiles, {f['here_y']} and "
            f"{f['here_z']} on these.") in flat
    assert f"**What is left** (ρ < 0.8 on profile p): {f['left']}. η is under 0.8 for ConvNeXt-S, -B and -L ({f['eta']})" in flat
    assert f"which profile p predicts at {f['convnext']} of their time in ConvNeXt-B (each of its 68)" in flat
    _check_pass_row("fourteenth", (f["within_p"], f["within_q"]), (f["ranked_p"], f["ranked_q"]), f["apart"])


FOURTEENTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-06-grid"
THIRTEENTH_GRID_MACS = 2**30
"""The most MACs a point of the CPU's grids was measured at by the thirteenth pass's code (98dd3eb)."""


def _fourteenth_pass_figures() -> dict[str, str]:
    """The figures docs/latency.md gives of the pass whose grids measure their points up to 2³⁴
    MACs, made from the kept files (benchmarks/results/cpu-2026-12-06-grid and
    cpu-2026-12-06-onednn) by the benchmark's own functions and the roofline, as the text prints them."""
    import json
    import statistics

    from archcalc import analyze
    from archcalc.roofline import roofline
    from archcalc.validation.results import heaviest

    _, flat, compared, profiles, rows, found = _read_pass(FOURTEENTH_RUN, ("p", "q"))
    before = dict(zip("yz", _profiles_of(THIRTEENTH_RUN, ("y", "z"))))
    figures = {"flat": flat, "apart": str(sum(row["median alone"] >= 0.8 for row in rows["p"].values())),
               "left": ", ".join(f"{name} ({row['median'][RHO]:.3f})" for name, row in rows["p"].items()
                                 if row["median"][RHO] < 0.8),
               "eta": ", ".join(f"{rows['p'][name]['median'][3]:.3f}" for name in
                                ("convnext_small", "convnext_base")) + f" and {rows['p']['convnext_large']['median'][3]:.3f}"}
    for name in profiles:
        figures |= {f"within_{name}": str(found[name][0]), f"ranked_{name}": str(found[name][1]),
                    f"fastest_{name}": str(found[name][3]),
                    f"back_{name}": str(_counted(compared(THIRTEENTH_RUN, profiles[name]))[1]),
                    f"rho_regnet_{name}": f"{rows[name]['regnet_y_128gf']['median'][RHO]:.2f}"}
    figures |= {f"here_{name}": str(_counted(compared(FOURTEENTH_RUN, profile))[1]) for name, profile in before.items()}
    for name, profile in (*profiles.items(), ("y", before["y"])):  # 4 groups (GROUPS[1]), 256 a group, side 112
        figures[f"strided_{name}"] = f"{profile.efficiency_by_size['conv'].strided_grouped[1][7][7]:.2f}"
    times = json.loads((FOURTEENTH_RUN / "latency-cpu-float32.json").read_text())
    regnet = analyze("regnet_y_128gf")
    for name, profile in (("y", before["y"]), ("p", profiles["p"])):
        roof = roofline(regnet, profile, "float32").by_name()
        ratios = [times["regnet_y_128gf"]["layers"][layer][0] / (roof[layer].time * 1e3)
                  for layer in ("blocks.0.b.conv", "blocks.2.b.conv", "blocks.9.b.conv")]
        figures[f"regnet_{name}"] = "{:.2f}, {:.2f} and {:.2f}".format(*ratios)
    convnext = analyze("convnext_base")
    roof = roofline(convnext, profiles["p"], "float32").by_name()
    heavy = heaviest({layer.name: layer.figures.macs for layer in convnext.layers})
    predicted = [roof[name].time * 1e3 / times["convnext_base"]["layers"][name][0] for name in heavy]
    assert len(predicted) == 68
    figures["convnext"] = f"{min(predicted):.2f}–{max(predicted):.2f}"
    pairs, pq = _grid_points_beyond(THIRTEENTH_GRID_MACS, list(before.values()), list(profiles.values()))
    filled, ordered = [ratio for _, ratio in pairs], sorted(ratio for _, ratio in pairs)
    for name, held in (("held", True), ("not_held", False)):
        kept = [ratio for work, ratio in pairs if (work in ("linear", "depthwise_conv")) is held]
        figures[name] = f"{sum(max(r, 1 / r) > 1.15 for r in kept)} of {len(kept)}"
    figures |= {"points": str(len(pq)), "fill_median": f"{statistics.median(filled):.2f}",
                "fill_spread": f"{ordered[len(ordered) // 10]:.2f}–{ordered[len(ordered) * 9 // 10]:.2f}",
                "fill_extremes": f"{ordered[0]:.2f}–{ordered[-1]:.2f}",
                "fill_apart": str(sum(max(r, 1 / r) > 1.15 for r in filled)), "fill_pairs": str(len(filled)),
                "pq_median": f"{statistics.median(pq):.2f}", "pq_p90": f"{sorted(pq)[len(pq) * 9 // 10]:.2f}",
                "pq_apart": str(sum(r > 1.15 for r in pq))}
    return figures


def _grid_points_beyond(old_most: int, old: list, new: list) -> tuple[list[tuple[str, float]], list[float]]:
    """At every point of every grid of the CPU's tables over `old_most` MACs and within GRID_MACS
    (the points the code before filled in and this code measures): each old profile's efficiency
    over the new profile's beside it, with the kind of work, and the new profiles' larger over
    their smaller."""
    from archcalc import measure_device as grid
    from archcalc.analysis import analyze_graph

    def grouped(made, groups: int):  # as `_size_table` makes a grid of groups: within the widest of WIDTHS in all
        return lambda width, side: made(width, side, groups) if width * groups <= grid.WIDTHS[-1] else None

    def tapped(made, kernel: int):
        return lambda width, side: made(width, side, kernel)

    layers = {("reached", work): made for work, made in grid.SIZED.items()}
    for which, made_by in (("grouped", grid.GROUPED), ("strided_grouped", grid.STRIDED_GROUPED)):
        for work, made in made_by.items():
            layers |= {(which, work, k): grouped(made, groups) for k, groups in enumerate(grid.GROUPS)}
    for work, made in grid.TAPPED.items():
        layers |= {("tapped", work, k): tapped(made, kernel) for k, kernel in enumerate(grid.KERNELS[work])}
    for which, made_by in (("temporal", grid.TEMPORAL), ("strided", grid.STRIDED)):
        layers |= {(which, work): made for work, made in made_by.items()}
    filled, apart = [], []
    for key, made in layers.items():
        for i, width in enumerate(grid.WIDTHS):
            for j, side in enumerate(grid.SIDES):
                layer = made(width, side)
                stats = None if layer is None else analyze_graph(grid.synthetic_graph(*layer), batch=1)
                if stats is None or stats.totals.macs <= old_most or grid._over_the_grid(stats, "cpu"):
                    continue
                olds, news = ([_grid_of(p, key)[i][j] for p in profiles] for profiles in (old, new))
                filled += [(key[1], a / b) for a, b in zip(olds, news)]
                apart.append(max(news) / min(news))
    return filled, apart


def _grid_of(profile, key: tuple) -> tuple[tuple[float, ...], ...]:
    """The grid of a profile's table that `key` names: (field, work) or (field, work, index)."""
    grids = getattr(profile.efficiency_by_size[key[1]], key[0])
    return grids[key[2]] if len(key) == 3 else grids


THIRTEENTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-06-onednn"


def _thirteenth_pass_figures() -> dict[str, str]:
    """The figures docs/latency.md gives of the pass with oneDNN's fixed cost, made from the kept
    files (benchmarks/results/cpu-2026-12-06-onednn and cpu-2026-12-06-pooling) by the benchmark's
    own functions and the roofline, as the text prints them."""
    import json
    from dataclasses import replace

    from archcalc import analyze
    from archcalc.roofline import roofline

    _, flat, compared, profiles, rows, found = _read_pass(THIRTEENTH_RUN, ("y", "z"))
    before = dict(zip("wx", _profiles_of(THIRTEENTH_RUN, ("w", "x")))) | dict(
        zip("uv", _profiles_of(TWELFTH_RUN, ("u", "v"))))
    figures = {"flat": flat, "apart": str(sum(row["median alone"] >= 0.8 for row in rows["y"].values())),
               "left": ", ".join(f"{name} ({row['median'][RHO]:.3f})" for name, row in rows["y"].items()
                                 if row["median"][RHO] < 0.8),
               "onednn": "{:.1f}, {:.1f}, {:.1f} and {:.1f}".format(*(profile.onednn_fixed_us for profile in (
                   *_profiles_of(THIRTEENTH_RUN, ("w", "x")), *profiles.values())))}
    for name, profile in profiles.items():
        rows_without = compared(THIRTEENTH_RUN, replace(profile, onednn_fixed_us=0.0))
        without = _counted(rows_without)
        for model in ("lenet5", "lenet5_pytorch"):
            figures |= {f"{model}_{name}": f"{rows[name][model]['median'][RATIO]:.2f}",
                        f"{model}_without_{name}": f"{rows_without[model]['median'][RATIO]:.2f}"}
        figures |= {f"within_{name}": str(found[name][0]), f"ranked_{name}": str(found[name][1]),
                    f"fastest_{name}": str(found[name][3]), f"without_within_{name}": str(without[0]),
                    f"without_ranked_{name}": str(without[1]),
                    f"across_{name}": str(_counted(compared(TWELFTH_RUN, profile))[1])}
    figures |= {f"across_{name}": str(_counted(compared(TWELFTH_RUN, profile))[1]) for name, profile in before.items()
                if name in "wx"}
    figures |= {f"back_{name}": str(_counted(compared(TWELFTH_RUN, before[name]))[1]) for name in "uv"}
    figures |= {f"here_{name}": str(_counted(compared(THIRTEENTH_RUN, before[name]))[1]) for name in "uv"}
    figures |= {"dilated_y": f"{rows['y']['resnet101_dilated']['median'][RHO]:.2f}",
                "dilated_without_y": f"{compared(THIRTEENTH_RUN, replace(profiles['y'], onednn_fixed_us=0.0))['resnet101_dilated']['median'][RHO]:.2f}"}
    segmenting = ("fcn_resnet101", "fcn_resnet101_aux", "deeplabv3_resnet101", "deeplabv3_resnet101_aux")

    def spread(names: str) -> str:
        rhos = [rows_twelfth[model]["median"][RHO] for name in names
                for rows_twelfth in [compared(TWELFTH_RUN, before[name])] for model in segmenting]
        return f"{min(rhos):.2f}–{max(rhos):.2f}"

    figures |= {"fcn_u": spread("u"), "fcn_vwx": spread("vwx")}
    stats = analyze("lenet5")
    twelfth = json.loads((TWELFTH_RUN / "latency-cpu-float32.json").read_text())["lenet5"]
    on_u = roofline(stats, before["u"]).by_name()
    figures |= {"lenet_u": "{:.0f} and {:.0f}".format(*(on_u[name].time * 1e6 for name in ("conv1", "conv2"))),
                "lenet_twelfth": "{:.0f} and {:.0f}".format(*(twelfth["layers"][name][0] * 1e3
                                                              for name in ("conv1", "conv2"))),
                "lenet_alone": "{:.0f}–{:.0f}".format(*sorted(twelfth["alone_ms"][name] * 1e3
                                                               for name in ("conv1", "conv2")))}
    measured = json.loads((THIRTEENTH_RUN / "latency-cpu-float32.json").read_text())["lenet5"]["layers"]
    with_it, without_it = (roofline(stats, each).by_name() for each in (profiles["y"],
                                                                      replace(profiles["y"], onednn_fixed_us=0.0)))
    figures["lenet"] = (
        "LeNet-5's two 5×5 convolutions, predicted at {:.0f} and {:.0f} µs without it on profile y (its grids measured "
        "with oneDNN's taken off), are predicted at "
        "{:.0f} and {:.0f} with it and measured at {:.0f} and {:.0f} in the model".format(
            *(roof[name].time * 1e6 for roof in (without_it, with_it) for name in ("conv1", "conv2")),
            *(measured[name][0] * 1e3 for name in ("conv1", "conv2"))))
    return figures


TENTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05-heap"
MAPPED_ABOVE = 32 * 2**20
"""The block size over which glibc mapped a block on its own until the tenth pass (its cap on
M_MMAP_THRESHOLD)."""


def _over_the_cap_faster() -> dict[str, list[float]]:
    """Each layer's median time in the ninth pass over its time in the tenth, by whether the
    largest of its input and output tensors at batch 1 in float32 is over MAPPED_ABOVE ('over',
    and 'over ' + its kind of work) or not ('under'); sorted."""
    import json
    from math import prod

    from archcalc import analyze

    ninth, tenth = (json.loads((run / "latency-cpu-float32.json").read_text()) for run in (NINTH_RUN, TENTH_RUN))
    ratios: dict[str, list[float]] = {}
    for model in tenth:
        stats = analyze(model)
        for node in stats.graph.nodes:
            before, after = ninth[model]["layers"].get(node.name), tenth[model]["layers"].get(node.name)
            if not before or not after or after[0] <= 0:  # views, timed at nothing
                continue
            inputs = [stats.shapes[source] for source in node.inputs]
            over = max(prod(shape) for shape in [stats.shapes[node.name], *inputs]) * 4 > MAPPED_ABOVE
            keys = ("over", "over " + node.kind.work(node.attrs, inputs)) if over else ("under",)
            for key in keys:
                ratios.setdefault(key, []).append(before[0] / after[0])
    return {key: sorted(values) for key, values in ratios.items()}


def test_the_tenth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with every freed block kept and its counts, with its two
    profiles and the ninth pass's on these times; the layers over 32 MiB against the ninth pass's
    times; the models it moves with the same profile; what is left. All made again from the kept
    files (benchmarks/results/cpu-2026-12-05-heap and cpu-2026-12-05-native) by the benchmark's own
    functions."""
    import math

    benchmark, flat, compared, profiles, rows, found = _read_pass(TENTH_RUN, ("q", "r"))
    ratios = _over_the_cap_faster()

    def spread(values: list[float]) -> str:
        low, middle, high = benchmark.percentiles(values)
        return f"{middle:.2f} at the median ({low:.2f}–{high:.2f}, {len(values)} layers)"

    assert (f"the ninth pass's time over this one's is {spread(ratios['over'])}; over the others, "
            f"{spread(ratios['under'])}: this pass ran a little faster all through") in flat
    assert (f"The layers whose work is moving memory (batch norms, ReLUs, additions, concatenations) over 32 MiB ran "
            f"{benchmark.percentiles(ratios['over memory'])[1]:.1f} times faster at the median "
            f"({len(ratios['over memory'])} layers)") in flat
    convolutions = [benchmark.percentiles(ratios["over " + work])[1] for work in ("pointwise_conv", "conv")]
    assert f"the convolutions over it, whose work is most of their time, {min(convolutions):.2f}–{max(convolutions):.2f}" in flat
    same = {run: compared(run, profiles["r"]) for run in (NINTH_RUN, TENTH_RUN)}
    moved = ", ".join(f"{model} {same[NINTH_RUN][model]['median'][RATIO]:.2f} → {same[TENTH_RUN][model]['median'][RATIO]:.2f}"
                      for model in ("unet", "unet_padded", "s3d", "efficientnet_b6", "efficientnet_b7", "regnet_y_128gf"))
    assert f"Read with the same profile (r), measured ÷ predicted goes {moved}." in flat

    def ratios_of(run: Path) -> list[float]:
        return [row["median"][RATIO] for row in same[run].values()]

    geo = [math.exp(sum(map(math.log, ratios_of(run))) / 98) for run in (NINTH_RUN, TENTH_RUN)]
    outside = [sum(not 0.8 <= ratio <= 1.25 for ratio in ratios_of(run)) for run in (NINTH_RUN, TENTH_RUN)]
    assert (f"the geometric mean of measured ÷ predicted goes from {geo[0]:.2f} to {geo[1]:.2f} with profile r, and "
            f"the models outside 0.8–1.25 from {outside[0]} to {outside[1]}") in flat
    assert [model for model, row in same[TENTH_RUN].items() if not 0.8 <= row["median"][RATIO] <= 1.25] == [
        "context_basic", "lenet5", "lenet5_pytorch", "m5_paper", "mobilenet_v2", "mobilenet_v3_large",
        "mobilenet_v3_large_dilated", "deeplabv3_mobilenet_v3_large", "deeplabv3_mobilenet_v3_large_aux",
        "lraspp_mobilenet_v3_large"]  # "MobileNet V2 and V3 and the models built on V3, LeNet-5, ..."
    older = [_counted(compared(TENTH_RUN, profile))[1] for profile in _profiles_of(NINTH_RUN, ("m", "n", "o", "p"))]
    back = [_counted(compared(NINTH_RUN, profile))[1] for profile in _profiles_of(NINTH_RUN, ("m", "n", "o", "p"))]
    assert (f"Profiles q and r give {found['q'][0]} and {found['r'][0]} models within a factor of 2 and {found['q'][1]} "
            f"and {found['r'][1]} at ρ ≥ 0.8 (median runs; {found['q'][3]} and {found['r'][3]} of the fastest); the "
            f"ninth pass's profiles m, n, o and p give {', '.join(map(str, older[:3]))} and {older[3]} on these times, "
            f"against {', '.join(map(str, back[:3]))} and {back[3]} on the ninth's") in flat
    missed = ", ".join(f"{name} ({benchmark._rho(row['median'][2])})" for name, row in rows["q"].items()
                       if row["median"][2] is None or row["median"][2] < 0.8)
    assert f"**What is left** (ρ < 0.8 on profile q): {missed}." in flat
    apart = sum(row["median alone"] >= 0.8 for row in rows["q"].values())
    _check_pass_row("tenth", (found["q"][0], found["r"][0]), (found["q"][1], found["r"][1]), apart)
    assert [name for name in ("vgg16", "vgg16_bn", "vgg19", "vgg19_bn", "resnext101_32x8d", "resnext101_64x4d", "mc3_18")
            if not rows["r"][name]["median"][2] >= 0.8] == []  # "which r puts above 0.8"
    assert [name for name, row in rows["q"].items() if row["median"][3] < 0.8] == [
        "convnext_small", "convnext_base", "convnext_large"]  # "η is under 0.8 for ConvNeXt-S, -B and -L"


NINTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05-native"


def _without_padded_taps(profile):
    from dataclasses import replace

    return replace(profile, padded_taps=None)


def _without_native(profile):
    from dataclasses import replace

    return replace(profile, efficiency_by_size={work: table._replace(native=(), native_up_to=0.0)
                                                for work, table in profile.efficiency_by_size.items()})


def test_the_ninth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with the taps in the padding and torch's own kernel, and
    its counts: with its two profiles, read without either figure and without both, on the eighth
    pass's times and the eighth's profiles on these; what each profile measured; the models each
    figure moves; the dilated and the 1×3×3 convolutions' predictions over their time alone; the
    context module's times; profile n's grouped layer; what is left. All made again from the kept
    files (benchmarks/results/cpu-2026-12-05-native and cpu-2026-12-05-cold) by the benchmark's own
    functions and the roofline."""
    import json

    from archcalc import analyze
    from archcalc.roofline import roofline

    benchmark, flat, compared, profiles, rows, found = _read_pass(NINTH_RUN, ("m", "n"))
    bare = {name: {"padded": compared(NINTH_RUN, _without_padded_taps(profile)),
                   "native": compared(NINTH_RUN, _without_native(profile)),
                   "both": compared(NINTH_RUN, _without_native(_without_padded_taps(profile)))}
            for name, profile in profiles.items()}
    counts = {name: {which: _counted(found_rows)[1] for which, found_rows in by.items()} for name, by in bare.items()}
    apart = sum(row["median alone"] >= 0.8 for row in rows["m"].values())
    _check_pass_row("ninth", (found["m"][0], found["n"][0]), (found["m"][1], found["n"][1]), apart)
    assert ("Profiles m and n give {} and {} models within a factor of 2 and {} and {} at ρ ≥ 0.8 (median runs; {} and "
            "{}, {} and {} of the fastest); read without the taps in the padding, {} and {} at ρ ≥ 0.8; without the grid "
            "of torch's own kernel, {} and {}; without either, {} and {}").format(
        found["m"][0], found["n"][0], found["m"][1], found["n"][1], found["m"][2], found["n"][2], found["m"][3],
        found["n"][3], *(counts[name][which] for which in ("padded", "native", "both") for name in ("m", "n"))) in flat
    m, n = profiles["m"], profiles["n"]
    conv = m.efficiency_by_size["conv"]
    width, wide, narrow = conv.widths.index(256.0), conv.positions.index(784.0), conv.positions.index(49.0)
    assert (f"a share saved of {m.padded_taps.saved:.2f} on profile m and {n.padded_taps.saved:.2f} on profile n, up "
            f"to a padding of {m.padded_taps.up_to} and {n.padded_taps.up_to}; torch's own kernel up to "
            f"{int(conv.native_up_to):,} on both; on it the grid reached {conv.native[width][wide]:.2f} at 256 channels on "
            f"28×28 (oneDNN's: {conv.reached[width][wide]:.2f}) and {conv.native[width][narrow]:.2f} on 7×7 "
            f"({conv.reached[width][narrow]:.2f}: torch's own kernel either way)") in flat
    assert n.efficiency_by_size["conv"].native_up_to == conv.native_up_to

    def rho(found_rows: dict, model: str) -> str:
        return f"{found_rows[model]['median'][RHO]:.2f}"

    def reaches(row: dict) -> bool:
        return row["median"][2] is not None and row["median"][2] >= 0.8

    moved = {(name, which): sorted(model for model in rows[name] if reaches(rows[name][model]) != reaches(by[model]))
             for name in rows for which, by in bare[name].items() if which != "both"}
    assert moved == {("m", "padded"): ["context_basic"], ("m", "native"): ["r3d_18", "s3d"],
                     ("n", "padded"): ["context_basic", "resnet101_dilated", "resnet50_dilated"],
                     ("n", "native"): ["r3d_18"]}
    assert ("The taps in the padding bring the context module (ρ {} to {} on m) and lose on n the dilated ResNet-50 and "
            "ResNet-101 ({} to {}, {} to {}), whose heavy layers each timed alone rank apart from their times in the "
            "model (ι {:.2f} and {:.2f})").format(
        rho(bare["m"]["padded"], "context_basic"), rho(rows["m"], "context_basic"),
        rho(bare["n"]["padded"], "resnet50_dilated"), rho(rows["n"], "resnet50_dilated"),
        rho(bare["n"]["padded"], "resnet101_dilated"), rho(rows["n"], "resnet101_dilated"),
        rows["n"]["resnet50_dilated"]["median alone"], rows["n"]["resnet101_dilated"]["median alone"]) in flat
    assert ("torch's own kernel brings R3D-18 ({} to {} on m) and S3D ({} to {}), and R(2+1)D-18 from {} to {}").format(
        *(figure for model in ("r3d_18", "s3d", "r2plus1d_18")
          for figure in (rho(bare["m"]["native"], model), rho(rows["m"], model)))) in flat

    def spread(ratios: list[float]) -> str:
        low, middle, high = benchmark.percentiles(sorted(ratios))
        return f"{middle:.2f} at the median ({low:.2f}–{high:.2f}"

    separable = "conv 1×3×3 stride 1"
    with_grid, without_grid = (benchmark.against_alone(list(by.values()))[separable] for by in (rows["m"],
                                                                                             bare["m"]["native"]))
    assert (f"its 1×3×3 convolutions of stride 1 are predicted {spread(with_grid).replace(' at', ' times their time alone at')}"
            f", {len(with_grid)} layers), against {spread(without_grid).replace(' at the median', '')}) read without") in flat
    times = json.loads((NINTH_RUN / "latency-cpu-float32.json").read_text())
    dilated: dict[str, list[float]] = {"with": [], "without": []}
    for name in rows["m"]:
        stats = analyze(name)
        nodes = {node.name: node for node in stats.graph.nodes}
        predicted = {which: roofline(stats, profile).by_name()
                     for which, profile in (("with", m), ("without", _without_padded_taps(m)))}
        for layer, alone in times[name]["alone_ms"].items():
            if nodes[layer].kind.key == "conv2d" and max(nodes[layer].attrs.dilation) > 1:
                for which, ratios in dilated.items():
                    ratios.append(predicted[which][layer].time * 1e3 / alone)
    assert (f"the 3×3 convolutions of the bundled models that are dilated take {spread(dilated['with'])} from the 10th "
            f"to the 90th percentile, {len(dilated['with'])} layers) against "
            f"{spread(dilated['without']).replace(' at the median', '')}) read without") in flat
    context = [f"{times['context_basic']['layers'][f'layer{k}.conv'][0]:.2f}" for k in range(1, 8)]
    assert f"took {', '.join(context[:6])} and {context[6]} ms at dilations of 1, 1, 2, 4, 8, 16 and 1" in flat
    assert (f"on m (measured ÷ predicted {rows['m']['m5_paper']['median'][RATIO]:.2f}, as on l in the pass before)" in flat
            and [name for name, row in rows["m"].items() if not 0.5 <= row["median"][RATIO] <= 2] == ["m5_paper"])
    across = [_counted(compared(EIGHTH_RUN, profiles[name]))[1] for name in ("m", "n")]
    back = [_counted(compared(NINTH_RUN, eighth))[1] for eighth in _profiles_of(EIGHTH_RUN, ("k", "l"))]
    assert (f"Profiles m and n give {across[0]} and {across[1]} on the eighth pass's times; k and l, the eighth's, "
            f"{back[0]} and {back[1]} on these") in flat
    regnets = ("regnet_x_8gf", "regnet_x_32gf", "regnet_y_32gf")
    assert [model for model in regnets if reaches(rows["m"][model]) and not reaches(rows["n"][model])] == list(regnets)
    grouped = {name: benchmark.percentiles(sorted(benchmark.against_alone(
        [rows[name][model] for model in regnets])["conv 3×3 stride 1 grouped"]))[1] for name in rows}
    point = {name: profiles[name].efficiency_by_size["conv"] for name in rows}
    assert ("whose grouped convolutions its grids put at {:.2f} of their time alone at the median against {:.2f} on m: "
            "profile n measured the grouped 3×3 convolution of 2 groups of 128 channels on 28×28 at {:.2f} of its "
            "roofline where m measured {:.2f}, both on its grid of 2 groups and as the base of its alignments, whose "
            "shares all doubled ({:.2f} at an alignment of 16 against {:.2f})").format(
        grouped["n"], grouped["m"], *(point[name].grouped[0][point[name].widths.index(128.0)][wide] for name in "nm"),
        *(point[name].aligned[point[name].alignments.index(16.0)] for name in "nm")) in flat
    missed = ", ".join(f"{name} ({benchmark._rho(row['median'][2])})" for name, row in rows["m"].items()
                       if not reaches(row))
    assert f"**What is left** (ρ < 0.8 on profile m): {missed}." in flat
    assert [name for name, row in rows["m"].items() if row["median"][3] < 0.8] == [
        "convnext_small", "convnext_base", "convnext_large"]


def _a_grid_on_the_ninth_pass(name: str, stripped, what: str, shape: str) -> tuple:
    """A profile kept after the ninth pass, on its times with and without one of its grids
    (`stripped` takes it off a table): its rows each way, with the sentences of its counts and of
    the layers of `shape` predicted over their time alone checked in docs/latency.md; the
    benchmark, the comparison and the medians and spreads of `shape` each way for more."""
    from dataclasses import replace

    from archcalc.devices import load_profile

    benchmark = _latency_benchmark()
    flat = " ".join(_latency_text().split())
    compared = _pass_compared(benchmark)
    profile = load_profile(NINTH_RUN / f"profile-cpu-{name}.yaml")
    bare = replace(profile, efficiency_by_size={work: stripped(work, table) for work, table in
                                                profile.efficiency_by_size.items()})
    rows, without = compared(NINTH_RUN, profile), compared(NINTH_RUN, bare)
    assert (f"gives {_counted(rows)[0]} models within a factor of 2 and {_counted(rows)[1]} at ρ ≥ 0.8 on these times "
            f"(median runs), {_counted(without)[0]} and {_counted(without)[1]} read without its {what}") in flat
    spreads = [benchmark.percentiles(sorted(benchmark.against_alone(list(found.values()))[shape]))
               for found in (rows, without)]
    (low, middle, high), (low_, middle_, high_) = spreads
    count = len(benchmark.against_alone(list(rows.values()))[shape])
    assert (f"predicted {middle:.2f} times their time alone at the median ({low:.2f}–{high:.2f}, {count} layers), "
            f"against {middle_:.2f} ({low_:.2f}–{high_:.2f}) read without") in flat
    return profile, rows, without, flat, compared, spreads


def test_the_profile_with_strided_grouped_grids_is_what_it_gives_on_the_ninth_pass():
    """docs/latency.md's figures of profile o (benchmarks/results/cpu-2026-12-05-native) on the
    ninth pass's times: its counts with and without its strided grouped grids, the grouped 3×3
    convolutions of stride 2 predicted over their time alone, the RegNets it moves."""
    profile, rows, without, flat, _, spreads = _a_grid_on_the_ninth_pass(
        "o", lambda work, table: table._replace(strided_grouped=()), "strided grouped grids", "conv 3×3 stride 2 grouped")
    assert all(len(table.strided_grouped) == len(table.groups) for table in profile.efficiency_by_size.values())
    (low, middle, high), (low_, middle_, high_) = spreads
    assert (f"were predicted at {middle_:.2f} of their time alone at the median ({low_:.2f}–{high_:.2f} from the 10th to "
            f"the 90th percentile), on these at {middle:.2f} ({low:.2f}–{high:.2f}; profile o") in flat
    moved = [f"{name} from {without[model]['median'][RHO]:.2f} to {rows[model]['median'][RHO]:.2f}"
             for model, name in (("regnet_y_400mf", "RegNetY-400MF goes"), ("regnet_y_128gf", "RegNetY-128GF"))]
    assert f"{moved[0]}, {moved[1]}".replace("goes from", "goes from ρ") in flat


def test_the_profile_with_depthwise_grids_of_kernels_is_what_it_gives_on_the_ninth_pass():
    """docs/latency.md's figures of profile p (benchmarks/results/cpu-2026-12-05-native) on the
    ninth pass's times: its counts with and without its depthwise grids of kernels, the depthwise
    5×5 convolutions predicted over their time alone, two models' measured ÷ predicted, and the
    counts of the pass's four profiles."""
    from archcalc.devices import load_profile

    profile, rows, without, flat, compared, _ = _a_grid_on_the_ninth_pass(
        "p", lambda work, table: table._replace(taps=(), tapped=()) if work == "depthwise_conv" else table,
        "depthwise grids", "depthwise_conv 5×5 stride 1")
    assert profile.efficiency_by_size["depthwise_conv"].taps == (9.0, 25.0, 49.0)
    ratio = {model: f"{without[model]['median'][RATIO]:.2f} to {rows[model]['median'][RATIO]:.2f}"
             for model in ("efficientnet_b0", "mnasnet1_0")}
    assert (f"EfficientNet-B0's measured ÷ predicted goes from {ratio['efficientnet_b0']}, MnasNet 1.0's from "
            f"{ratio['mnasnet1_0']}") in flat
    counts = [_counted(compared(NINTH_RUN, load_profile(NINTH_RUN / f"profile-cpu-{name}.yaml")))[1] for name in "mnop"]
    assert f"Profiles m, n, o and p give {counts[0]}, {counts[1]}, {counts[2]} and {counts[3]} on these times" in flat


EIGHTH_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-05-cold"


def test_the_eighth_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's table of the pass with the cold start of the model's first kernel and its
    counts: with its two profiles, read without their cold start, on the seventh pass's times and
    the seventh's profiles on these; the first layers' time in the model over their time alone and
    their prediction over their time, with and without the cold start; the models it moves; what
    is left. All made again from the kept files (benchmarks/results/cpu-2026-12-05-cold and
    cpu-2026-12-05-aligned) by the benchmark's own functions."""
    import json
    from dataclasses import replace

    from archcalc import analyze
    from archcalc.roofline import roofline

    benchmark, flat, compared, profiles, rows, found = _read_pass(EIGHTH_RUN, ("k", "l"))
    warm = {name: compared(EIGHTH_RUN, replace(profile, cold_start=0.0)) for name, profile in profiles.items()}
    without = {name: _counted(found_rows) for name, found_rows in warm.items()}
    apart = sum(row["median alone"] >= 0.8 for row in rows["k"].values())
    _check_pass_row("eighth", (found["k"][0], found["l"][0]), (found["k"][1], found["l"][1]), apart)
    assert ("Profiles k and l give {} and {} models within a factor of 2 and {} and {} at ρ ≥ 0.8 (median runs; {} and "
            "{}, {} and {} of the fastest); read without their cold start, {} and {} within a factor of 2 and {} and {} "
            "at ρ ≥ 0.8").format(found["k"][0], found["l"][0], found["k"][1], found["l"][1], found["k"][2],
                                 found["l"][2], found["k"][3], found["l"][3], without["k"][0], without["l"][0],
                                 without["k"][1], without["l"][1]) in flat
    assert (f"The cold start (`cold_start`, [latency.md](latency.md#measuring-a-device-archcalc-device-profile)): "
            f"{profiles['k'].cold_start:.2f} on profile k, {profiles['l'].cold_start:.2f} on profile l") in flat

    def reaches(row: dict) -> bool:
        return row["median"][2] is not None and row["median"][2] >= 0.8

    moved = {name: sorted(model for model in rows[name] if reaches(rows[name][model]) != reaches(warm[name][model]))
             for name in rows}
    assert moved == {"k": ["regnet_y_400mf", "resnet18", "zfnet"], "l": ["regnet_y_400mf", "zfnet"]}
    assert ("The cold start brings ZFNet (ρ {} to {} on k), RegNetY-400MF ({} to {}) and ResNet-18 ({} to {})").format(
        *(figure for model in ("zfnet", "regnet_y_400mf", "resnet18")
          for figure in (*_medians(warm, model, ("k",)), *_medians(rows, model, ("k",))))) in flat
    outside = [name for name, row in rows["l"].items() if not 0.5 <= row["median"][RATIO] <= 2]
    assert outside == ["m5_paper"] and all(0.5 <= row["median"][RATIO] <= 2 for row in warm["l"].values())
    assert (f"measured ÷ predicted {rows['l']['m5_paper']['median'][RATIO]:.2f}, "
            f"{warm['l']['m5_paper']['median'][RATIO]:.2f} without the cold start") in flat
    times = json.loads((EIGHTH_RUN / "latency-cpu-float32.json").read_text())
    first, rest, predicted = [], [], {"cold": [], "warm": []}
    for name in rows["k"]:
        stats = analyze(name)
        layers = {which: next(layer for layer in roofline(stats, profile).layers if layer.launches)
                  for which, profile in (("cold", profiles["k"]), ("warm", replace(profiles["k"], cold_start=0.0)))}
        measured = times[name]["layers"]
        for which, layer in layers.items():
            predicted[which].append(layer.time * 1e3 / measured[layer.name][0])
        for layer, alone in times[name]["alone_ms"].items():
            (first if layer == layers["cold"].name else rest).append(measured[layer][0] / alone)

    def spread(ratios: list[float]) -> tuple[str, str]:
        low, middle, high = benchmark.percentiles(sorted(ratios))
        return f"{middle:.2f}", f"{low:.2f}–{high:.2f}"

    assert ("The model's first layer that runs a kernel took {} times its own time alone at the median in this pass ({} "
            "from the 10th to the 90th percentile, over the {} models whose first layer is among their heaviest), the "
            "heavy layers after it {} ({}, {:,} layers)").format(*spread(first), len(first), *spread(rest), len(rest)) in flat
    assert ("The models' first layers are predicted {} times their time in the model at the median on k ({}), against {} "
            "({}) read without the cold start").format(*spread(predicted["cold"]), *spread(predicted["warm"])) in flat
    across = [_counted(compared(SEVENTH_RUN, profiles[name]))[1] for name in ("k", "l")]
    back = [_counted(compared(EIGHTH_RUN, load_seventh))[1] for load_seventh in _profiles_of(SEVENTH_RUN, ("g", "h"))]
    assert (f"Profiles k and l give {across[0]} and {across[1]} on the seventh pass's times; g and h, the seventh's, "
            f"{back[0]} and {back[1]} on these") in flat
    missed = ", ".join(f"{name} ({benchmark._rho(row['median'][2])})" for name, row in rows["k"].items()
                       if not reaches(row))
    assert f"**What is left** (ρ < 0.8 on profile k): {missed}." in flat
    assert [name for name, row in rows["k"].items() if row["median"][3] < 0.8] == ["convnext_small", "convnext_base"]


def _profiles_of(run: Path, names: tuple[str, ...]) -> list:
    """A kept pass's profiles of `names`, loaded."""
    from archcalc.devices import load_profile

    return [load_profile(run / f"profile-cpu-{name}.yaml") for name in names]


def test_the_second_cpu_pass_is_what_its_kept_times_and_profiles_give():
    """docs/latency.md's counts of the second pass on this project's CPU, made again from its kept
    times and profiles (benchmarks/results/cpu-2026-12-04-evening) by the benchmark's comparison."""
    import json
    from dataclasses import replace

    from archcalc.devices import load_profile

    benchmark = _latency_benchmark()
    run = ROOT / "benchmarks" / "results" / "cpu-2026-12-04-evening"
    text = " ".join(_latency_text().split())
    cache = json.loads((run / "latency-cpu-float32.json").read_text())
    entries = {entry.name: entry for entry in bundled()}
    assert set(cache) == set(entries)

    def counts(profile) -> tuple[int, int]:
        rows = [benchmark.compare(entries[name], measured, profile)["median"] for name, measured in cache.items()]
        return sum(0.5 <= row[1] <= 2 for row in rows), sum(row[2] is not None and row[2] >= 0.8 for row in rows)

    first, second = (load_profile(run / f"profile-cpu-{which}.yaml") for which in "ab")
    found = [*counts(first), *counts(second), *counts(replace(first, efficiency_by_size={})),
             *counts(replace(second, efficiency_by_size={}))]
    assert ("with its first profile {} of 98 models within a factor of 2 and {} at ρ ≥ 0.8 (median runs), with its "
            "second {} and {}, and {} and {}, {} and {} without their tables").format(*found) in text


def _slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_relative_link_of_the_markdown_reaches_its_file_and_heading():
    """Each link of a tracked markdown page to another file of the checkout, or to a heading of
    one (`latency.md#the-roofline`), finds it: the passes moved to docs/latency-passes.md kept
    their links from the results they describe and from latency.md."""
    import subprocess

    def outside_code(page: Path) -> str:
        return re.sub(r"(?s)```.*?```", "", page.read_text(encoding="utf-8"))

    pages = [ROOT / name for name in subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True,
                                                      text=True, check=True).stdout.split()]
    headings = {page.resolve(): {_slug(h) for h in re.findall(r"(?m)^#+ (.*)$", outside_code(page))} for page in pages}
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(([^)\s]+)\)", outside_code(page)):
            if re.match(r"[a-z]+:", target):  # https:, mailto:
                continue
            path, _, heading = target.partition("#")
            reached = (page.parent / path).resolve() if path else page.resolve()
            if not reached.exists() or heading and reached.suffix == ".md" and heading not in headings.get(reached, set()):
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert len(pages) > 30 and broken == []


ALIGNMENT_RUN = ROOT / "benchmarks" / "results" / "cpu-2026-12-06-alignment"


def test_the_shares_of_8_aligned_channels_are_what_their_kept_runs_give():
    """docs/latency.md's and the kept runs' README's figures of benchmarks/alignment_shares.py:
    profile r's one share at 8, RegNet-Y-128GF's point and its neighbours on 48×48 in each run, the
    spread on 28×28, all read again from the three kept outputs."""
    from archcalc.devices import load_profile, share_at

    runs = []
    for index in (1, 2, 3):
        lines = (ALIGNMENT_RUN / f"shares-{index}.txt").read_text(encoding="utf-8").splitlines()
        runs.append({(int(cells[0]), int(cells[1]), int(cells[4])): float(cells[5])
                     for cells in (line.split() for line in lines[2:])})
    table = load_profile(FIFTEENTH_RUN / "profile-cpu-r.yaml").efficiency_by_size["conv"]
    profiled = share_at(table.alignments, table.aligned, 8)
    flat = " ".join((ROOT / "docs" / "latency.md").read_text(encoding="utf-8").split())
    readme = " ".join((ALIGNMENT_RUN / "README.md").read_text(encoding="utf-8").split())
    assert f"the profile's share at 8: {profiled:.4f}" in (ALIGNMENT_RUN / "shares-1.txt").read_text(encoding="utf-8")
    assert f"measured at 8 ({profiled:.4f}, at 136 channels a group, 2 groups, 28×28)" in flat

    def series(point: tuple[int, int, int]) -> list[float]:
        return [run[point] for run in runs]

    own = series((4, 256, 48))
    assert min(own) > profiled
    assert f"that share at their own size was above it in each of three runs ({min(own):.3f}–{max(own):.3f})" in flat
    assert "(4 groups of 136 channels: {:.3f}, {:.3f}, {:.3f}; of 520: {:.3f}, {:.3f}, {:.3f})".format(
        *series((4, 128, 48)), *series((4, 512, 48))) in flat
    wide = max(max(series(point)) - min(series(point)) for point in runs[0] if point[2] == 48)
    assert f"it moved by up to {wide:.2f} from one run to the next" in flat
    beside = [share for run in runs for point, share in run.items() if point[2] == 28]
    steady = max(max(series(point)) - min(series(point)) for point in runs[0] if point[2] == 28)
    assert f"On 28×28 the shares are {min(beside):.2f}–{max(beside):.2f}, each point within {steady:.2f} of itself" in readme
    assert (f"gave {own[0]:.3f}, {own[1]:.3f} and {own[2]:.3f}: above the profile's {profiled:.4f} in each run, by "
            f"{(min(own) / profiled - 1) * 100:.0f}–{(max(own) / profiled - 1) * 100:.0f}%") in readme
