"""Bad input: every malformed spec gets its one exact message and exit 2; legitimate giants pass.

The corpus tests/bad_specs/ holds NAME.yaml with, beside it, NAME.err: the exact text
`archcalc table tests/bad_specs/NAME.yaml` must print on stderr (written by hand from the
messages docs/spec.md describes; the YAML syntax messages are libyaml's own words).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path

import pytest
from conftest import run_process, shown_at

from archcalc.analysis import analyze
from archcalc.errors import SpecError
from archcalc.layers.window import window_output
from archcalc.limits import (
    MAX_EXPANDED,
    MAX_FILE_BYTES,
    MAX_SYMBOLIC_COMPUTED,
    MAX_SYMBOLIC_DIVISOR,
    MAX_SYMBOLIC_LAYERS,
    MAX_SYMBOLIC_SIZES,
    MAX_VARIANTS,
)

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted((ROOT / "tests" / "bad_specs").glob("*.err"))


def test_the_corpus_has_at_least_40_bad_specs():
    assert len(CORPUS) >= 40


@pytest.mark.parametrize("expected", CORPUS, ids=[path.stem for path in CORPUS])
def test_each_bad_spec_gives_its_exact_error(expected, cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    spec = f"tests/bad_specs/{expected.stem}.yaml"
    for command in (["table", spec], ["table", spec, "--format", "json"], ["validate", spec, "--runs", "0"]):
        result = cli(*command)
        assert result.exit_code == 2, (command, result.output)
        assert result.stdout == ""
        assert result.stderr == expected.read_text(encoding="utf-8"), command


@pytest.mark.parametrize("name", ["alias_bomb", "nested_too_deep", "repeats_multiply", "blocks_in_a_cycle"])
def test_absurd_specs_are_refused_in_a_fresh_process_without_a_traceback(name):
    result = run_process("table", f"tests/bad_specs/{name}.yaml", cwd=ROOT)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (ROOT / "tests" / "bad_specs" / f"{name}.err").read_text(encoding="utf-8")


NESTED = {
    "flow lists, 300 deep": "x: " + "[" * 300 + "]" * 300,
    "flow lists, 5,000 deep (past libyaml's own bound of 1,000)": "x: " + "[" * 5000 + "]" * 5000,
    "block lists on one line, 2,000 deep": "x:\n" + "- " * 2000 + "1",
    "mappings by indentation, 260 deep": "".join(" " * level + "a:\n" for level in range(260)) + " " * 260 + "b: 1",
}


@pytest.mark.parametrize("event_pass", [False, True], ids=["composer bounds nesting", "events checked first"])
@pytest.mark.parametrize("text", NESTED.values(), ids=NESTED.keys())
def test_deep_nesting_gets_the_same_error_with_or_without_the_event_pass(text, event_pass, monkeypatch):
    """With libyaml >= 0.2.6 the text goes straight to the composer (libyaml refuses 1,000 levels
    itself); otherwise a pass over the events refuses it first. Either way: one error, ours."""
    from archcalc import yaml_text
    from archcalc.spec import source

    monkeypatch.setattr(yaml_text, "_PARSER_BOUNDS_NESTING", not event_pass)
    source.parse_yaml.cache_clear()
    with pytest.raises(SpecError) as caught:
        source.parse_yaml(text, "deep.yaml")
    assert caught.value.message == "lists and mappings are nested more than 256 deep"
    assert caught.value.location.file == "deep.yaml"


def test_nesting_up_to_the_limit_passes_either_way(monkeypatch):
    from archcalc import yaml_text
    from archcalc.spec import source

    text = "x: " + "[" * 255 + "1" + "]" * 255  # the mapping and 255 lists: 256 levels
    for event_pass in (False, True):
        monkeypatch.setattr(yaml_text, "_PARSER_BOUNDS_NESTING", not event_pass)
        source.parse_yaml.cache_clear()
        value = source.parse_yaml(text, "deep.yaml")["x"]
        for _ in range(254):
            value = value[0]
        assert value == [1]


def test_a_file_too_large_to_be_a_spec(cli, tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    result = cli("table", path)
    assert result.exit_code == 2
    assert result.stderr == (f"error: {path}:1:1: the file is larger than 4 MiB\n"
                             "  hint: is this a spec? Write repeated layers with 'repeat' or blocks\n")


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not apply to root")
def test_a_file_that_cannot_be_read(cli, tmp_path):
    path = tmp_path / "locked.yaml"
    path.write_text("name: x\n")
    path.chmod(0)
    result = cli("table", path)
    assert result.exit_code == 2
    assert result.stderr == f"error: {path}:1:1: cannot read the file: Permission denied\n"


SPECIAL_FILES = {
    "a named pipe": (lambda path: os.mkfifo(path), "this is a named pipe (FIFO), not a spec file"),
    "a link to a named pipe": (lambda path: (os.mkfifo(path.with_suffix(".fifo")),
                                             path.symlink_to(path.with_suffix(".fifo").name)),
                               "this is a named pipe (FIFO), not a spec file"),
    "a socket": (lambda path: _bound_socket(path), "this is a socket, not a spec file"),
    "a loop of links": (lambda path: (path.with_suffix(".b").symlink_to(path.name),
                                      path.symlink_to(path.with_suffix(".b").name)),
                        "cannot read the file: Too many levels of symbolic links"),
    "a link to itself": (lambda path: path.symlink_to(path.name),
                         "cannot read the file: Too many levels of symbolic links"),
}


def _bound_socket(path):
    import socket

    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    return server


@pytest.mark.parametrize("case", SPECIAL_FILES)
def test_a_special_file_is_refused_before_it_is_read(tmp_path, case, monkeypatch):
    """In a fresh process, bounded in time: a named pipe read as a spec would wait forever."""
    monkeypatch.chdir(tmp_path)
    make, message = SPECIAL_FILES[case]
    made = make(Path("spec.yaml"))
    for command in (["table", "spec.yaml"], ["check", "spec.yaml"], ["validate", "spec.yaml", "--runs", "0"]):
        result = run_process(*command, cwd=tmp_path)
        assert result.returncode == 2, (command, result.stderr)
        assert result.stderr.startswith(f"error: spec.yaml:1:1: {message}\n"), (command, result.stderr)
        assert "Traceback" not in result.stderr
    if hasattr(made, "close"):
        made.close()


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/urandom"])
def test_a_device_is_refused_as_a_spec(cli, device):
    result = cli("table", device)
    assert result.exit_code == 2
    assert result.stderr == (f"error: {device}:1:1: this is a device, not a spec file\n"
                             "  hint: give a regular .yaml file (save what the pipe or device gives to one first)\n")


@pytest.mark.parametrize("args", [["table", "net\x00.yaml"], ["table", "lenet5", "--device-profile", "h200\x00"],
                                  ["table", "lenet5", "--device-profile", "my\x00profile.yaml"],
                                  ["check", "lenet5", "--baseline", "lock\x00.yaml"]])
def test_a_nul_in_a_path_is_one_error(cli, args):
    """A NUL in the path of a spec, a device profile or a baseline (given in-process or through the
    Python API: a command line cannot hold one) was Python's ValueError 'embedded null byte',
    exit 1 with a traceback: the system's calls take no name with a NUL."""
    result = cli(*args)
    assert result.exit_code == 2, result.output
    shown = args[-1].replace("\x00", "\\x00")
    assert result.stderr == (f"error: {shown}:1:1: the path holds a NUL character (\\x00), which no file's name can\n"
                             "  hint: remove it from the path: a file's name ends at a NUL\n")


def test_anchors_and_aliases_still_work_for_reuse(write_spec):
    path = write_spec("""
        name: reuse
        input: [3, 32, 32]
        layers:
          - conv1: &conv {kind: conv2d, out: 8, kernel: 3, padding: 1}
          - relu1: relu
          - conv2: *conv
    """)
    stats = analyze(path)
    # conv 3→8 then 8→8, 3×3: k·k·C_in·C_out + C_out (the seeds' parameter formula)
    assert stats.totals.params == (3 * 3 * 3 * 8 + 8) + (3 * 3 * 8 * 8 + 8)


@pytest.mark.parametrize(("keys", "second", "first"), [
    ("  net: 1\n  *n : 2\n", (6, 3), 5),  # the alias written second, at line 6
    ("  *n : 1\n  net: 2\n", (6, 3), 5),  # the alias written first, at line 5
    ("  {net: 1, *n : 2}\n", (5, 12), 5),  # in a flow mapping, at its column
])
def test_a_duplicate_key_made_by_an_alias_is_shown_where_the_alias_is_written(write_spec, keys, second, first):
    """The composed alias is its anchor's node (line 1): the error points at the key as written."""
    path = write_spec("name: &n net\ninput: [3, 8, 8]\nlayers: [relu]\nextra:\n" + keys)
    with pytest.raises(SpecError) as caught:
        analyze(path)
    assert caught.value.message == f"duplicate key 'net' (first at line {first})"
    assert caught.value.location[1:] == second


def test_an_alias_inside_its_own_anchor_names_the_anchor_and_where_the_alias_is(write_spec):
    path = write_spec("name: n\ninput: [3, 8, 8]\nextra: &loop\n  - 1\n  - *loop\nlayers: [relu]\n")
    with pytest.raises(SpecError) as caught:
        analyze(path)
    assert "('*loop' at line 5 inside '&loop')" in caught.value.message
    assert caught.value.location[1:] == (3, 8)


# Limits: chosen so that legitimate networks pass (docs/spec.md, Limits)

def test_a_written_out_10000_layer_plain_stack_passes(tmp_path):
    lines = ["name: plain10000", "input: [3, 16, 16]", "layers:"]
    for index in range(5000):
        lines.append(f"  - conv{index}: {{kind: conv2d, out: 8, kernel: 3, padding: 1}}")
        lines.append(f"  - relu{index}: relu")
    path = tmp_path / "plain.yaml"
    path.write_text("\n".join(lines) + "\n")
    stats = analyze(path)
    assert len(stats.layers) == 10_000
    # seeds: params = k·k·C_in·C_out + C_out; MACs = H_out·W_out·C_out·k·k·C_in
    first, other = 3 * 3 * 3 * 8 + 8, 3 * 3 * 8 * 8 + 8
    assert stats.totals.params == first + 4999 * other
    assert stats.totals.macs == 16 * 16 * 8 * 9 * (3 + 4999 * 8)
    assert stats.layers[-1].shape == (1, 8, 16, 16)


def test_a_10000_layer_stack_written_with_repeat_passes(write_spec):
    stats = analyze(write_spec("""
        name: plain
        input: [3, 16, 16]
        blocks:
          unit: {layers: [{conv: {kind: conv2d, out: 8, kernel: 3, padding: 1}}, {relu: relu}]}
        layers:
          - stack: {kind: unit, repeat: 5000}
    """))
    assert len(stats.layers) == 10_000


def test_the_expansion_limit_is_exact(write_spec, cli):
    # a repeat counts as one item and each of its copies as one more
    allowed = write_spec(f"name: x\ninput: [3, 8, 8]\nlayers:\n  - r: {{kind: relu, repeat: {MAX_EXPANDED - 1}}}\n")
    assert len(analyze(allowed).layers) == MAX_EXPANDED - 1
    refused = write_spec(f"name: x\ninput: [3, 8, 8]\nlayers:\n  - r: {{kind: relu, repeat: {MAX_EXPANDED}}}\n",
                         "refused.yaml")
    result = cli("table", refused)
    assert result.exit_code == 2
    assert "the model expands to more than 60,000 layers, blocks and repeats" in result.stderr


def test_resnet_1001_passes_and_matches_its_paper():
    stats = analyze(ROOT / "tests" / "specs" / "resnet1001.yaml")
    convs = [layer for layer in stats.layers if layer.kind == "conv2d"]
    linears = [layer for layer in stats.layers if layer.kind == "linear"]
    assert len(convs) + len(linears) == 1001 + 3  # 1001 weight layers and a projection per stage
    # He et al. 2016, Table 3: ResNet-1001 has 10.2M parameters (conv and fc weights)
    weights = sum(layer.figures.weight for layer in convs + linears)
    assert round(weights / 1e6, 1) == 10.2
    assert stats.layers[-1].shape == (1, 10)
    # the 32×32 input halves twice: 32 → 16 → 8 (the seeds' output-size formula)
    assert window_output(window_output(32, 3, 2, 1, 1), 3, 2, 1, 1) == stats.layers[-5].shape[-1] == 8


@pytest.mark.slow
def test_resnet_1001_equals_a_hand_written_torch_model():
    torch = pytest.importorskip("torch")
    from torch import nn

    class Unit(nn.Module):  # pre-activation bottleneck, written straight from the paper
        def __init__(self, inp: int, width: int, stride: int):
            super().__init__()
            self.body = nn.Sequential(
                nn.BatchNorm2d(inp), nn.ReLU(), nn.Conv2d(inp, width, 1, bias=False),
                nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, width, 3, stride, 1, bias=False),
                nn.BatchNorm2d(width), nn.ReLU(), nn.Conv2d(width, 4 * width, 1, bias=False))
            self.shortcut = (nn.Conv2d(inp, 4 * width, 1, stride, bias=False)
                             if stride != 1 or inp != 4 * width else nn.Identity())

        def forward(self, x):
            return self.body(x) + self.shortcut(x)

    layers, channels = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)], 16
    for width, stride in ((16, 1), (32, 2), (64, 2)):
        for index in range(111):
            layers.append(Unit(channels, width, stride if index == 0 else 1))
            channels = 4 * width
    layers += [nn.BatchNorm2d(256), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10)]
    model = nn.Sequential(*layers)
    stats = analyze(ROOT / "tests" / "specs" / "resnet1001.yaml")
    assert stats.totals.params == sum(p.numel() for p in model.parameters())
    assert stats.totals.buffers == sum(b.numel() for b in model.buffers())
    with torch.no_grad():  # on the CPU: at 32×32, torch's arithmetic costs less than its meta device's shape rules
        assert tuple(model(torch.zeros(1, 3, 32, 32)).shape) == stats.layers[-1].shape


@pytest.mark.slow
def test_resnet_1001_validates_against_its_built_model(monkeypatch):
    """validate as it runs, the counters' and MemTracker's measurements of this very model kept
    (tests/measured.py)."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from measured import kept_in_validation

    from archcalc.spec import load_graph
    from archcalc.validation import validate_graph

    kept_in_validation(monkeypatch, types.SimpleNamespace(name="resnet1001 (tests/specs)"))
    result = validate_graph(load_graph(ROOT / "tests" / "specs" / "resnet1001.yaml"),
                            device="cpu", counter="both", runs=0)
    assert result.ok


def nested_groups(depth: int) -> str:
    """A spec whose only layer sits inside `depth` inline groups."""
    lines = ["name: nested", "input: [3, 8, 8]", "layers:"]
    for level in range(depth):
        lines += [" " * (4 * level + 2) + f"- g{level}:", " " * (4 * level + 6) + "layers:"]
    lines.append(" " * (4 * depth + 2) + "- r: relu")
    return "\n".join(lines) + "\n"


def test_groups_nest_up_to_the_limit_and_no_further(write_spec, cli):
    from archcalc.limits import MAX_NESTING

    deepest = analyze(write_spec(nested_groups(MAX_NESTING)))
    assert deepest.layers[0].name == ".".join(f"g{level}" for level in range(MAX_NESTING)) + ".r"
    result = cli("table", write_spec(nested_groups(MAX_NESTING + 1), "deeper.yaml"))
    assert result.exit_code == 2
    assert "blocks are nested more than 64 deep" in result.stderr


def test_validate_refuses_a_model_too_big_for_the_machine_before_allocating(write_spec, cli):
    pytest.importorskip("torch")
    # 1,000 × 2,000,000,000 float32 weights: 8 TB, more than any machine here has
    spec = write_spec("""
        name: huge
        input: [1000, 1, 1]
        layers:
          - flat: flatten
          - fc: {kind: linear, out: 2000000000, bias: false}
    """)
    result = cli("validate", spec, "--device", "cpu", "--runs", "0")
    assert result.exit_code == 2, result.output
    # 4 bytes × (2·10¹² weights + 1,000 input values + 2·10⁹ outputs) = 8,008,000,004,000 B = 7.28 TiB
    assert result.stderr.startswith("error: the model needs at least 7.3 TiB on cpu")
    assert "hint: use --device meta" in result.stderr
    on_meta = cli("validate", spec, "--device", "meta", "--runs", "0")
    assert on_meta.exit_code == 0, on_meta.output


# Limits name their real cause and are checked before the work they bound (issue "Hardening", 3).

def written_out(count: int) -> str:
    return "name: stack\ninput: [3, 8, 8]\nlayers:\n" + "".join(f"  - r{i}: relu\n" for i in range(count))


@pytest.mark.slow  # a giant at a limit: the full run
@pytest.mark.parametrize("text, location", [
    (written_out(84_000), "4:3"),  # the list being filled
    ("name: x\ninput: [3, 8, 8]\nparams:\n  big: [" + ", ".join(["1"] * 300_000) + "]\nlayers:\n  - r: relu\n", "4:8"),
    ("name: x\ninput: [3, 8, 8]\nparams:\n  big: {" + ", ".join(f"k{i}: 1" for i in range(130_000))
     + "}\nlayers:\n  - r: relu\n", "4:8"),
], ids=["a written-out stack of 84,000 layers", "a flow list of 300,000 numbers", "a mapping of 130,000 keys"])
def test_too_many_written_nodes_are_refused_as_such_not_as_an_alias_bomb(write_spec, cli, text, location):
    """The written nodes are counted while composing, so the message says what is too many, and
    where; the alias hint is kept for what aliases expand (tests/bad_specs/alias_bomb)."""
    path = write_spec(text)
    result = cli("table", path)
    assert result.exit_code == 2
    line, column = map(int, location.split(":"))
    source = text.split("\n")[line - 1]  # a source line is shown up to 100 characters, '…' marking the cut
    shown = f"  {line} | {source[:100]}{'…' if len(source) > 100 else ''}\n    | {' ' * (column - 1)}^\n"
    assert result.stderr == (f"error: {path}:{location}: the document has more than 250,000 YAML nodes\n{shown}"
                             "  hint: a spec needs far fewer: write repeated layers with 'repeat' or blocks\n")


@pytest.mark.slow  # a giant at a limit: the full run
def test_a_written_out_layer_counts_once_against_the_expansion_bound(write_spec):
    """50,001 written-out layers were refused as 'more than 100,000' when each counted twice."""
    stats = analyze(write_spec(written_out(50_001)))
    assert len(stats.layers) == 50_001


def variants(count: int) -> str:
    return ("name: family\ninput: [3, 8, 8]\nparams: {w: 1}\nvariants:\n"
            + "".join(f"  v{i}: {{w: {i % 7 + 1}}}\n" for i in range(count))
            + "layers:\n  - c: {kind: conv2d, out: w, kernel: 3}\n")


@pytest.mark.slow  # a giant at a limit: the full run
def test_a_thousand_variants_pass_and_one_more_is_refused_by_every_command(write_spec, cli, tmp_path):
    allowed = write_spec(variants(MAX_VARIANTS))
    result = cli("check", allowed, "--baseline", tmp_path / "none.yaml")
    assert result.exit_code == 1  # every variant measured, each 'not in the baseline' (no baseline yet)
    assert result.stdout.rstrip().endswith(f"{MAX_VARIANTS} of {MAX_VARIANTS} checks on {MAX_VARIANTS} models fail")
    refused = write_spec(variants(MAX_VARIANTS + 1), "more.yaml")
    for command in (["table", refused], ["check", refused], ["report", refused], ["table", refused, "--variant", "v3"]):
        result = cli(*command)
        assert result.exit_code == 2, command
        assert result.stderr == (f"error: {refused}:5:3: the spec defines 1,001 variants, more than 1,000\n"
                                 f"{shown_at(refused, 5, 3)}"
                                 "  hint: split the family into several files, or use 'archcalc sweep' for "
                                 "many input sizes\n"), command


def test_too_many_variants_are_refused_from_the_composed_yaml_before_converting_it(write_spec, cli, monkeypatch):
    """The count is plain from the YAML nodes: converting 60,000 variants first took a second more."""
    from archcalc.spec import source

    refused = write_spec(variants(MAX_VARIANTS + 1), "more.yaml")

    def never(*args):
        raise AssertionError("converted")

    monkeypatch.setattr(source._Converter, "convert", never)
    source.parse_yaml.cache_clear()
    result = cli("table", refused)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {refused}:5:3: the spec defines 1,001 variants, more than 1,000\n")


def test_check_reads_a_file_of_many_variants_once(write_spec, cli, tmp_path, monkeypatch):
    """Each variant used to read (and hash) the whole file again: quadratic in the file."""
    from archcalc.spec import source

    path = write_spec(variants(50))
    reads = []
    original = source.read_text_file
    monkeypatch.setattr(source, "read_text_file", lambda *args: reads.append(args) or original(*args))
    result = cli("check", path, "--baseline", tmp_path / "none.yaml")
    assert result.exit_code == 1
    assert len([args for args in reads if Path(args[0]) == path]) <= 2  # the variants' names, then the models


def repeated(count: int) -> str:
    return f"name: deep\ninput: [3, 8, 8]\nlayers:\n  - c: {{kind: conv2d, out: 3, kernel: 3, padding: 1, repeat: {count}}}\n"


@pytest.mark.parametrize("command", [["table", "--input", "3xHxW"], ["table", "--batch", "N"]])
def test_symbolic_sizes_for_more_layers_than_the_bound_are_refused_before_the_work(write_spec, cli, command):
    path = write_spec(repeated(MAX_SYMBOLIC_LAYERS + 1))
    result = cli(command[0], path, *command[1:])
    assert result.exit_code == 2
    assert result.stderr == (f"error: {path}:1:1: symbolic sizes are analysed for at most 4,000 layers; "
                             "this model has 4,001\n"
                             "  hint: give the sizes as numbers (--input 3x224x224, --batch 1) for a model this deep\n")


@pytest.mark.parametrize("command", [["sweep", "--size", "8:16"], ["report", "--sweep", "8:16"]])
def test_a_sweep_for_more_layers_than_the_bound_analyses_each_size_as_a_number(write_spec, cli, command):
    """sweep and report --sweep were refused with table's hint, to give the sizes as numbers, which
    they cannot take otherwise; as past the other bounds, each size is now analysed as a number
    (without sympy), as table --input gives it."""
    path = write_spec(repeated(MAX_SYMBOLIC_LAYERS + 1))
    result = cli(command[0], path, *command[1:])
    assert result.exit_code == 0, result.output
    assert "each size analysed as a number" in result.stdout if command[0] == "report" else \
        "3×16×16" in result.stdout
    macs = json.loads(cli("table", path, "--input", "3x16x16", "--format", "json").stdout)["totals"]["macs"]
    assert f"{macs:,}" in result.stdout


@pytest.mark.slow
def test_symbolic_sizes_for_as_many_layers_as_the_bound_pass(write_spec):
    stats = analyze(write_spec(repeated(MAX_SYMBOLIC_LAYERS)), input="3xHxW")
    assert len(stats.layers) == MAX_SYMBOLIC_LAYERS
    assert str(stats.layers[-1].shape) == "(1, 3, H, W)"  # 3×3 convolutions with padding 1 keep the size


def shrinking(count: int) -> str:
    """3×3 convolutions without padding: each makes a new height and width, H − 2, H − 4, …"""
    return f"name: shrinking\ninput: [3, 64, 64]\nlayers:\n  - c: {{kind: conv2d, out: 3, kernel: 3, repeat: {count}}}\n"


def test_symbolic_sizes_with_as_many_formulas_as_the_bound_pass(write_spec):
    stats = analyze(write_spec(shrinking(MAX_SYMBOLIC_SIZES // 2)), input="3xHxW")
    assert str(stats.layers[-1].shape) == f"(1, 3, H - {MAX_SYMBOLIC_SIZES}, W - {MAX_SYMBOLIC_SIZES})"


def test_symbolic_sizes_with_more_formulas_than_the_bound_are_refused_at_the_layer(write_spec, cli):
    path = write_spec(shrinking(MAX_SYMBOLIC_SIZES // 2 + 5))
    result = cli("table", path, "--input", "3xHxW")
    assert result.exit_code == 2
    assert result.stderr == (f"error: {path}:4:5: layer 'c.{MAX_SYMBOLIC_SIZES // 2}': symbolic sizes: this model "
                             f"makes more than {MAX_SYMBOLIC_SIZES} distinct formulas for its sizes\n"
                             "  4 |   - c: {kind: conv2d, out: 3, kernel: 3, repeat: 33}\n    |     ^\n"
                             "  hint: give the sizes as numbers (--input 3x224x224), or sweep over the sizes you "
                             "need (archcalc sweep)\n")


def strided(strides: list[int]) -> str:
    return "name: strided\ninput: [3, 64, 64]\nlayers:\n" + "".join(
        f"  - c{i}: {{kind: conv2d, out: 3, kernel: 1, stride: {s}}}\n" for i, s in enumerate(strides))


def test_symbolic_sizes_dividing_by_the_bound_pass_and_past_it_are_refused(write_spec, cli):
    from archcalc.symbolic.printing import readable

    assert MAX_SYMBOLIC_DIVISOR == 65_536
    stats = analyze(write_spec(strided([2] * 16)), input="3xHxW")
    assert [readable(size) for size in stats.layers[-1].shape[2:]] == ["⌊(H + 65,535)/65536⌋", "⌊(W + 65,535)/65536⌋"]
    path = write_spec(strided([2] * 17))
    result = cli("table", path, "--input", "3xHxW")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}:20:5: layer 'c16': symbolic sizes: the size ⌊(H + 131,071)/131072⌋ "
                                    "divides by 131,072, more than 65,536 (the strides along one axis multiply to more)\n")


def distinct_widths(count: int) -> str:
    return "name: widths\ninput: [3, 8, 8]\nlayers:\n" + "".join(
        f"  - c{i}: {{kind: conv2d, out: {i + 1}, kernel: 1}}\n" for i in range(count))


@pytest.mark.slow
def test_symbolic_sizes_for_as_many_distinct_layers_as_the_bound_pass(write_spec):
    stats = analyze(write_spec(distinct_widths(MAX_SYMBOLIC_COMPUTED)), input="3xHxW")
    assert len(stats.layers) == MAX_SYMBOLIC_COMPUTED


def test_symbolic_sizes_for_more_distinct_layers_than_the_bound_are_refused_at_the_layer(write_spec, cli):
    path = write_spec(distinct_widths(MAX_SYMBOLIC_COMPUTED + 1))
    result = cli("table", path, "--batch", "N")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}:{MAX_SYMBOLIC_COMPUTED + 4}:5: layer 'c{MAX_SYMBOLIC_COMPUTED}': "
                                    f"symbolic sizes: this model has more than {MAX_SYMBOLIC_COMPUTED:,} layers that "
                                    "repeat no earlier one on the same input shapes\n")


def test_symbolic_layers_past_the_bound_are_refused_before_sympy_is_imported(write_spec):
    path = write_spec(repeated(MAX_SYMBOLIC_LAYERS + 1))
    code = ("import sys\nfrom archcalc import analyze\ntry:\n    analyze(sys.argv[1], input='3xHxW')\n"
            "except Exception as error:\n    print(type(error).__name__, 'sympy' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert done.stdout == "SpecError False\n"


def test_the_report_of_many_top_level_layers_lists_each_edge_once_in_order(write_spec):
    """block_edges kept its edges in a list and searched it for each: quadratic in the layers."""
    from archcalc.analysis import analyze as analyse

    stats = analyse(write_spec(written_out(3) + "  - sum: {kind: add, from: [r0, r2]}\n"))
    assert stats.block_edges() == [("input", "r0"), ("r0", "r1"), ("r1", "r2"), ("r0", "sum"), ("r2", "sum")]
