"""Several named outputs: every head counted, listed, built and validated; a branch that reaches no
output refused where it is written."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.errors import SpecError

TWO_HEADS = """
    name: heads
    input: [3, 16, 16]
    params: {aux: true}
    outputs: [out, aux]
    layers:
      - conv1: {kind: conv2d, out: 8, kernel: 3, padding: 1}
      - aux: {kind: conv2d, out: 2, kernel: 1, when: aux}
      - conv2: {kind: conv2d, from: conv1, out: 8, kernel: 3, stride: 2}
      - out: {kind: conv2d, out: 4, kernel: 1}
"""


def test_every_head_is_listed_and_counted(write_spec, cli):
    path = write_spec(TWO_HEADS)
    stats = archcalc.analyze(path)
    assert stats.outputs == ("out", "aux")
    assert stats.totals.params == (3 * 9 * 8 + 8) + (8 * 2 + 2) + (8 * 9 * 8 + 8) + (8 * 4 + 4)
    text = cli("table", str(path)).stdout
    assert text.rstrip().endswith("outputs: out 1×4×7×7 · aux 1×2×16×16")
    document = json.loads(cli("table", str(path), "--format", "json").stdout)
    assert document["outputs"] == [{"name": "out", "shape": [1, 4, 7, 7]}, {"name": "aux", "shape": [1, 2, 16, 16]}]


def test_a_single_output_adds_nothing(write_spec, cli):
    path = write_spec(TWO_HEADS.replace("params: {aux: true}", "params: {aux: false}"))
    assert archcalc.analyze(path).outputs == ("out",)  # the left-out head is dropped from 'outputs'
    assert "outputs" not in json.loads(cli("table", str(path), "--format", "json").stdout)
    assert "outputs:" not in cli("table", str(path)).stdout


@pytest.mark.parametrize("left_out", ["repeat: 0", "when: aux", "layers: [{g: {kind: relu, when: aux}}]"])
def test_a_head_left_out_by_a_repeat_of_0_is_dropped_as_one_by_when(write_spec, left_out):
    """An item a repeat of 0 (or an empty group) leaves out passes its input on: named in 'outputs',
    it made the model return that input ('outputs: out … · conv1 …'), or was refused as named twice."""
    head = "{kind: conv2d, out: 2, kernel: 1, " + left_out + "}" if "layers" not in left_out else "{" + left_out + "}"
    path = write_spec(TWO_HEADS.replace("params: {aux: true}", "params: {aux: false}").replace(
        "{kind: conv2d, out: 2, kernel: 1, when: aux}", head).replace("outputs: [out, aux]", "outputs: [out, aux, conv1]"))
    assert archcalc.analyze(path).outputs == ("out", "conv1")


def test_the_built_model_returns_every_head_in_order(write_spec):
    torch = pytest.importorskip("torch")
    model = archcalc.build_torch(write_spec(TWO_HEADS)).eval()
    with torch.no_grad():
        out, aux = model(torch.rand(1, 3, 16, 16))
    assert (tuple(out.shape), tuple(aux.shape)) == ((1, 4, 7, 7), (1, 2, 16, 16))


def test_validate_compares_every_layer_of_every_head(write_spec):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    result = archcalc.validate(write_spec(TWO_HEADS), runs=0)
    assert [layer.name for layer in result.layers] == ["conv1", "aux", "conv2", "out"]
    assert result.ok, result


@pytest.mark.parametrize("outputs, message, position", [
    ("[out]", "layer 'aux': its result reaches no output of the model", "7:5"),
    ("[out, axu]", "'outputs' names 'axu', which is not a layer (did you mean 'aux'?)", "4:16"),
    ("[out, out]", "'outputs' names 'out' twice", "4:16"),
    ("out", "'outputs' must be a list of layer names", "4:10"),
])
def test_wrong_outputs_are_refused_where_they_are_written(write_spec, outputs, message, position):
    path = write_spec(TWO_HEADS.replace("outputs: [out, aux]", f"outputs: {outputs}"))
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert message in str(error.value) and f"{path.name}:{position}:" in str(error.value)


@pytest.mark.parametrize("outputs, message", [
    ("[b, b.c, r]", "'outputs' names 'b.c' after 'b', whose output it is"),
    ("[b.c, b, r]", "'outputs' names 'b' after 'b.c', the same output ('b.c')"),
])
def test_a_block_and_its_last_layer_named_both_are_not_one_name_twice(write_spec, outputs, message):
    """'b.c' was said to be named twice, though it was named once: 'b' before it is its block."""
    path = write_spec(f"""
        name: heads
        input: [3, 8, 8]
        blocks:
          u:
            layers:
              - c: {{kind: conv2d, out: 4, kernel: 1}}
        layers:
          - b: u
          - r: relu
        outputs: {outputs}
    """)
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert error.value.message == message


def test_a_branch_that_reaches_no_output_is_refused_at_its_first_layer(write_spec):
    """`dead1` is read by `dead2`, which nothing reads: both reach no output, and the error is at
    the first of them in model order (not at `dead2`, the one that no layer reads)."""
    path = write_spec("""
        name: dead_branch
        input: [3, 16, 16]
        layers:
          - stem: {kind: conv2d, out: 8, kernel: 3, padding: 1}
          - dead1: {kind: conv2d, out: 4, kernel: 1}
          - dead2: relu
          - head: {kind: conv2d, from: stem, out: 2, kernel: 1}
    """)
    with pytest.raises(SpecError) as error:
        archcalc.analyze(path)
    assert "layer 'dead1': its result reaches no output of the model" in str(error.value)
    assert f"{path.name}:5:5:" in str(error.value)
