"""The documentation stays true to the code."""

from __future__ import annotations

from pathlib import Path

from archcalc.conventions import CONVENTIONS
from archcalc.layers import LAYER_KINDS
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


def test_readme_sample_is_what_the_command_prints(cli):
    # The figures in it are checked against torchvision in test_published_figures.py.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    sample = readme.split("$ archcalc table resnet50 --depth 1\n", 1)[1].split("```", 1)[0]
    assert cli("table", "resnet50", "--depth", "1").stdout == sample
    assert "25,557,032" in sample and "4,089,184,256" in sample


def test_validation_sample_is_what_the_command_prints(cli):
    import pytest

    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    text = (ROOT / "docs" / "validation.md").read_text(encoding="utf-8")
    sample = text.split("$ archcalc validate lenet5 --runs 0\n", 1)[1].split("```", 1)[0]
    printed = cli("validate", "lenet5", "--runs", "0").stdout
    # the first line names the torch and fvcore versions of the machine that ran it
    assert printed.split("\n", 1)[1] == sample.split("\n", 1)[1]


def test_training_sample_is_what_the_command_prints(cli):
    # its figures are FlopCounterMode's over forward and backward (tests/test_training_flops.py)
    text = (ROOT / "docs" / "conventions.md").read_text(encoding="utf-8")
    sample = text.split("$ archcalc table lenet5 --train --convention torch\n", 1)[1].split("```", 1)[0]
    assert cli("table", "lenet5", "--train", "--convention", "torch").stdout == sample


def test_limits_table_states_the_limits_in_the_code():
    from archcalc import limits

    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    table = text.split("## Limits", 1)[1].split("\n\n", 2)[2].split("\n\n", 1)[0]
    rows = {row.split(" | ")[0].lstrip("| "): row.split(" | ")[1] for row in table.splitlines()[2:]}
    stated = {
        "size of a spec file": f"{limits.MAX_FILE_BYTES // 2**20} MiB",
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
        "operations nested in one expression": f"{limits.MAX_EXPRESSION_DEPTH}",
        "a number an expression produces": "10¹⁵" if limits.MAX_MAGNITUDE == 10**15 else "?",
        "the exponent of `pow` in an expression": f"{limits.MAX_EXPONENT}",
        "batch, channels, height, width or features of any tensor": f"2³¹ − 1 = {limits.MAX_DIMENSION:,}",
        "a whole-number field (`out`, `kernel`, `stride`, `padding`, `dilation`, `groups`, `dim`, …)":
            f"2³¹ − 1 = {limits.MAX_DIMENSION:,}",
        "points of one `archcalc sweep` (settings of `--set` × sizes × batch sizes)": f"{limits.MAX_SWEEP_POINTS:,}",
        "units after which the regions of a receptive field behind upsampling repeat "
        "([receptive.md](receptive.md#behind-upsampling-a-jump-of-a-fraction-of-a-pixel))":
            f"{limits.MAX_FIELD_PERIOD:,}",
        "reads of a unit’s region while working out the fields behind upsampling, per model":
            f"{limits.MAX_FIELD_READS:,}",
    }
    assert rows == stated


def test_symbolic_samples_are_what_the_commands_print(cli):
    text = (ROOT / "docs" / "symbolic.md").read_text(encoding="utf-8")
    for command in ["archcalc table resnet50 --input 3xHxW --depth 1", "archcalc sweep vgg16 --size 16:112:32,224x320",
                    "archcalc sweep resnet50 --set groups=1,32 --set base_width=4,8 --size 160,224 --max-macs 5G"]:
        sample = text.split(f"$ {command}\n", 1)[1].split("```", 1)[0]
        assert cli(*command.split()[1:]).stdout == sample
    table = cli("table", "resnet50", "--input", "3xHxW", "--format", "json").stdout
    assert '"((H + 1)//2)"' in table and '"9408*((H + 1)//2)*((W + 1)//2)"' in table


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
