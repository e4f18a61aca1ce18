"""Section 6: a wrong spec gets one clear message (file:line:col, layer, what, how to fix), exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_process

ROOT = Path(__file__).resolve().parents[1]

HEADER = """
name: broken
input: [3, 32, 32]
layers:
"""

# (spec body after HEADER, the text the error must point at, layer name, phrases of the message)
CASES = {
    "kernel larger than the padded input": (
        "  - conv1: {kind: conv2d, out: 8, kernel: 3}\n"
        "  - pool: {kind: maxpool2d, kernel: 2}\n"
        "  - big: {kind: conv2d, out: 8, kernel: 17}\n",
        "big: {kind: conv2d, out: 8, kernel: 17}", "big", ["kernel 17", "padded input (15 + 2·0 = 15)", "output would be empty",
                       "hint: use a smaller kernel"],
    ),
    "channel mismatch at an add": (
        "  - conv1: {kind: conv2d, out: 16, kernel: 3, padding: 1}\n"
        "  - sum: {kind: add, from: [input, conv1]}\n",
        "sum: {kind: add", "sum", ["channel mismatch", "3 channels to 16", "hint: give the shortcut a 1×1 projection"],
    ),
    "concat with mismatched spatial sizes": (
        "  - a: {kind: conv2d, out: 4, kernel: 3}\n"
        "  - b: {kind: conv2d, out: 4, kernel: 1, from: input}\n"
        "  - cat: {kind: concat, from: [a, b]}\n",
        "cat: {kind: concat", "cat", ["concat with mismatched spatial sizes", "1×4×30×30 and 1×4×32×32"],
    ),
    "groups not dividing the channels": (
        "  - conv1: {kind: conv2d, out: 8, kernel: 3, groups: 2}\n",
        "2}", "conv1", ["groups=2 does not divide the channels (in 3, out 8)",
                          "hint: choose groups that divide"],
    ),
    "unknown layer kind": (
        "  - conv1: {kind: conv2D, out: 8, kernel: 3}\n",
        "conv2D", "conv1", ["unknown layer kind 'conv2D'", "did you mean 'conv2d'?"],
    ),
    "unknown field": (
        "  - conv1: {kind: conv2d, out: 8, kernal: 3}\n",
        "kernal", "conv1", ["unknown key 'kernal'", "did you mean 'kernel'?"],
    ),
    "missing required field": (
        "  - conv1: {kind: conv2d, kernel: 3}\n",
        "conv1", "conv1", ["conv2d needs the field 'out'", "hint: add 'out: …'"],
    ),
    "reference to a layer that does not exist": (
        "  - conv1: {kind: conv2d, out: 3, kernel: 1}\n"
        "  - sum: {kind: add, from: [input, conv2]}\n",
        "conv2]", "sum", ["'from' names 'conv2', which is not a layer defined before this one",  # at the name itself
                        "did you mean 'conv1'?"],
    ),
    "wrong type": (
        "  - conv1: {kind: conv2d, out: eight, kernel: 3}\n",
        "eight", "conv1", ["'eight' is neither a number nor a known name", "a field takes a number, or an expression of parameters"],
    ),
    "wrong type of value": (
        "  - conv1: {kind: conv2d, out: 8, kernel: 3, bias: 1}\n",
        "1}", "conv1", ["field 'bias' must be true or false, got 1"],
    ),
    "a word where a number goes": (
        "  - conv1: {kind: conv2d, out: 8, kernel: 3, stride: two}\n",
        "two}", "conv1", ["'two' is neither a number nor a known name"],
    ),
    "an index past the end of a list": (
        "  - conv1: {kind: conv2d, out: \"widths[7]\", kernel: 3}\nparams:\n  widths: [8, 16]\n",
        "widths[7]", "conv1", ["index 7 is beyond the end of 'widths', a list of 2 items", "hint: an index here is 0 to 1"],
    ),
    "fractional channel count": (
        "  - conv1: {kind: conv2d, out: 9 / 2, kernel: 3}\n",
        "9 / 2", "conv1", ["field 'out' must be a whole number, got 4.5"],
    ),
    "layer norm of the channels after flatten": (
        "  - flat: flatten\n  - norm: {kind: channel_layer_norm}\n",
        "norm", "norm", ["channel_layer_norm needs a map (N, C, …) with at least one spatial axis, got 1×3072",
                         "hint: use layer_norm for a flat (N, features) input"],
    ),
}


def position_of(text: str, anchor: str) -> str:
    """'LINE:COLUMN' (1-based) of the first occurrence of anchor in text."""
    for number, line in enumerate(text.splitlines(), start=1):
        if anchor in line:
            return f"{number}:{line.index(anchor) + 1}"
    raise AssertionError(f"{anchor!r} not in the spec")


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_spec_error_message(case, cli, write_spec):
    body, anchor, layer, phrases = CASES[case]
    path = write_spec(HEADER + body)
    position = position_of(path.read_text(), anchor)
    result = cli("table", path)
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith(f"error: {path}:{position}: layer '{layer}': "), message
    for phrase in phrases:
        assert phrase in message
    assert "Traceback" not in result.output
    assert result.stdout == ""


def test_unknown_variant(cli):
    """It was shown at specs/vgg.yaml:13:3, the caret under 'vgg11:', the spec's first variant, a line
    with nothing wrong; it is at 'variants:', whose variants the hint lists."""
    result = cli("table", "vgg16", "--variant", "vgg17")
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    variants_line = (ROOT / "specs" / "vgg.yaml").read_text().splitlines().index("variants:") + 1
    assert lines[0] == f"error: specs/vgg.yaml:{variants_line}:1: unknown variant 'vgg17' (did you mean 'vgg19'?)"
    assert lines[1] == f"  {variants_line} | variants:"
    assert "vgg11, vgg11_bn" in result.stderr  # the hint lists what exists


def test_an_unknown_variant_of_a_spec_without_variants_is_shown_at_its_name(cli, write_spec):
    path = write_spec("input: [3, 8, 8]\nname: plain\nlayers:\n  - r: relu\n")
    result = cli("table", path, "--variant", "big")
    assert result.exit_code == 2
    assert result.stderr.splitlines()[:2] == [f"error: {path}:2:1: unknown variant 'big': this spec defines only 'plain'",
                                              "  2 | name: plain"]


@pytest.mark.parametrize("variant", ["", " "])
def test_a_blank_variant_is_refused_at_the_option(cli, variant):
    """--variant '' was 'unknown variant' at specs/resnet.yaml:25:3, the spec's first variant, where
    the command line named it; no spec's variant is blank (a spec's blank one is refused)."""
    result = cli("table", "resnet18", "--variant", variant)
    assert result.exit_code == 2 and result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == f"error: invalid value for --variant: a variant's name is never blank, got {variant!r}"
    assert lines[1].startswith("  hint: give one of specs/resnet.yaml's: resnet18, resnet34, ")
    assert lines[2] == "  usage: archcalc table [OPTIONS] {SPEC}"


@pytest.mark.parametrize(("spec", "variant"), [("resnet18", ""), ("resnet50", "resnet18")])
def test_a_bad_variant_given_to_the_python_api_is_a_spec_error(spec, variant):
    """analyze(variant='') raised UsageError, the command line's, where variant='nope', batch=0
    and dtype='x' raise SpecError (docs/spec.md: the API raises SpecError for a bad argument)."""
    from archcalc import analyze
    from archcalc.errors import SpecError

    with pytest.raises(SpecError, match="never blank" if not variant else "names another"):
        analyze(spec, variant=variant)


def test_unknown_model_name(cli):
    result = cli("table", "resnet51")
    assert result.exit_code == 2
    assert "'resnet51' is neither a file nor a bundled model" in result.stderr
    assert "did you mean 'resnet50'?" in result.stderr


def test_error_inside_a_block_names_the_instance(cli, write_spec):
    path = write_spec("""
        name: blocky
        input: [3, 32, 32]
        blocks:
          unit:
            params: {out: ~}
            layers:
              - conv: {kind: conv2d, out: out, kernel: 3, padding: 1}
              - sum: {kind: add, from: [input, conv]}
        layers:
          - stage: {kind: unit, repeat: 2, out: 3, first: {out: 8}}
    """)
    result = cli("table", path)
    assert result.exit_code == 2
    # the position of the add inside the block; the dotted name of the failing instance
    assert result.stderr.startswith(f"error: {path}:8:9: layer 'stage.0.sum': channel mismatch")


def test_missing_block_parameter(cli, write_spec):
    path = write_spec("""
        name: blocky
        input: [3, 32, 32]
        blocks:
          unit:
            params: {out: ~}
            layers:
              - conv: {kind: conv2d, out: out, kernel: 3}
        layers:
          - stage: unit
    """)
    result = cli("table", path)
    assert result.exit_code == 2
    assert f"{path}:9:5: layer 'stage': block 'unit' needs the parameter 'out'" in result.stderr


@pytest.mark.parametrize("text, phrase, position", [
    ("", "the file is empty", "1:1"),
    ("- a\n- b\n", "the document is a list, not a mapping", "1:1"),
    ("name: x\nname: y\ninput: [3, 8, 8]\nlayers: [{r: relu}]\n", "duplicate key 'name'", "2:1"),
    ("name: x\ninput: [3, 8, 8\nlayers: []\n", "this '[' is not closed (the YAML parser gave up at line 3, column 7)",
     "2:8"),
    ("name: x\ninput: [8]\nlayers: [{r: relu}]\n", "input must be channels and 1 to 3 sizes", "2:8"),
    ("name: x\ninput: [3, 8, 8]\n", "the spec has no 'layers'", "1:1"),
    ("name: x\ninput: [3, 8, 8]\nlayer: [{r: relu}]\n", "unknown top-level key 'layer' (did you mean 'layers'?)", "3:1"),
])
def test_document_errors(text, phrase, position, cli, tmp_path):
    path = tmp_path / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    result = cli("table", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}:{position}: "), result.stderr
    assert phrase in result.stderr


def test_missing_file_and_directory(cli, tmp_path):
    missing = cli("table", tmp_path / "nope.yaml")
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    folder = cli("table", tmp_path)
    assert folder.exit_code == 2 and "directory, not a spec file" in folder.stderr


def test_error_in_a_fresh_process_has_no_traceback(write_spec):
    path = write_spec(HEADER + "  - conv1: {kind: conv2d, out: 8, kernel: 99}\n")
    result = run_process("table", str(path))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()  # the message, the line with a caret under the kernel, the hint
    assert len(lines) == 4 and lines[1] == "  4 |   - conv1: {kind: conv2d, out: 8, kernel: 99}"
    assert lines[2] == "    |     ^" and lines[3].startswith("  hint: ")
    assert "Traceback" not in result.stderr


def test_bad_option_is_a_usage_error(cli):
    result = cli("table", "vgg16", "--convention", "ptflops")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: invalid value for '--convention'")


def test_block_that_includes_itself(cli, write_spec):
    path = write_spec("""
        name: loop
        input: [3, 8, 8]
        blocks:
          outer:
            layers:
              - inner: middle
          middle:
            layers:
              - back: outer
        layers:
          - a: outer
    """)
    result = cli("table", path)
    assert result.exit_code == 2
    assert f"{path}:9:9: layer 'a.inner.back': block 'outer' includes itself (outer → middle → outer)" \
        in result.stderr


def test_a_users_own_specs_folder_is_not_named_as_the_bundled_one(cli, tmp_path, monkeypatch):
    """A user's specs/lenet.yaml that takes the bundled lenet's layers: an error in it names
    ./specs/lenet.yaml and shows its own line, not the bundled file's line of that number."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "specs").mkdir()
    lines = ["name: my_lenet", "input: [1, 32, 32]", "layers:",
             "  - base: {kind: model, spec: lenet, until: pool2}", "  - fc: {kind: linear, out: -10}"]
    (tmp_path / "specs" / "lenet.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = cli("table", "specs/lenet.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ./specs/lenet.yaml:5:29: layer 'fc': field 'out' must be at least 1"), \
        result.stderr
    assert f"  5 | {lines[4]}\n" in result.stderr, result.stderr
    lines[4] = "  - fc: {kind: linear, out: 10}"
    (tmp_path / "specs" / "lenet.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert cli("table", "specs/lenet.yaml").exit_code == 0  # taking the bundled spec of its name is no self-inclusion


@pytest.mark.parametrize("body, said", [
    # a kind, a field, a source and an output the spec writes, quoted in the message (found by a fuzzer)
    ('  - c: {kind: "\\r\\e[2K\\e[32mOK", out: 2, kernel: 3}\n', r"unknown layer kind '\r\x1b[2K\x1b[32mOK'"),
    ('  - c: {kind: relu, "x\\e[8m": 1}\n', r"'x\x1b[8m'"),
    ('  - c: {kind: relu, from: "a\\u202eb"}\n', r"'a\u202eb'"),
])
def test_spec_text_quoted_in_an_error_reaches_the_terminal_escaped(body, said, cli, write_spec):
    """A carriage return and an erase-line could overwrite the error with a green 'OK'; a hide
    code (ESC [8m) hid what followed; a bidirectional override reordered it."""
    result = cli("table", write_spec(HEADER + body))
    assert result.exit_code == 2 and said in result.stderr, result.stderr
    assert "\x1b" not in result.stderr and "\r" not in result.stderr and "\u202e" not in result.stderr


def test_an_opaque_operation_is_printable_text_and_markdown_escapes_it(cli, write_spec):
    """An opaque layer's operation is printed in the table's header: a control sequence there reached
    the terminal (the window's title set, the screen cleared), and markdown rendered an image in it."""
    opaque = "  - op: {{kind: opaque, operation: {text}, shape: [3, 32, 32], reads: [3, 32, 32]}}\n"
    result = cli("table", write_spec(HEADER + opaque.format(text='"\'elu\\e]0;pwned\\a\'"')))
    assert result.exit_code == 2 and "field 'operation' must be printable text on one line" in result.stderr
    assert "\x1b" not in result.stderr
    shown = cli("table", write_spec(HEADER + opaque.format(text="\"'elu <img src=x.png> **b**'\"")), "--format", "markdown")
    assert shown.exit_code == 0 and r"opaque elu \<img src=x.png\> \*\*b\*\*" in shown.stdout


@pytest.mark.parametrize("line_break", ["\u2028", "\x85", "\r"])
def test_the_line_an_error_shows_is_the_line_yaml_numbers(line_break, cli, write_spec):
    """YAML ends a line at a NEL, a U+2028 or a lone carriage return as at a line feed, and numbers
    its marks so; the source line shown counted line feeds alone, and showed another line or none."""
    path = write_spec(f"# a comment{line_break}# more of it\nname: broken\ninput: [3, 8, 8]\nlayers:\n"
                      "  - ok: relu\n  - big: {kind: conv2d, out: 2, kernel: 30}\n")
    result = cli("table", path)
    assert result.exit_code == 2
    assert "big: {kind: conv2d, out: 2, kernel: 30}" in result.stderr.splitlines()[1], result.stderr


@pytest.mark.parametrize("before, line_break", [("", "\u2028"), ("", "\r"), ("", "\x85"), ("  # café, naïve", "\n")],
                         ids=["U+2028", "CR", "NEL", "UTF-8 before it"])
def test_a_character_yaml_refuses_is_shown_at_its_place(before, line_break, cli, write_spec):
    """libyaml gives the place of a character it refuses as an offset in the text's UTF-8 bytes,
    and the lines were counted at line feeds alone: a control character after 'café' was put
    lines later (past the end of the file: no source line), one in a file whose lines end at a
    carriage return or a U+2028 on line 1."""
    text = f"name: m{before}\ninput: [3, 8, 8]\nlayers:\n  - c: {{kind: conv2d, out: 4, kernel: 1}} # \x01\n"
    result = cli("table", write_spec(text.replace("\n", line_break)))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0].endswith("model.yaml:4:44: the character #x0001 is not allowed in YAML text"), result.stderr
    assert lines[1] == "  4 |   - c: {kind: conv2d, out: 4, kernel: 1} # \ufffd", result.stderr
