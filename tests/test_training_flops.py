"""The backward pass of a training step (`archcalc table --train`, archcalc.backward) against
torch's FlopCounterMode run over the forward pass and `loss.backward()`, layer by layer.

Expected figures are FlopCounterMode's: the model archcalc builds from the spec runs one training
step on the meta device (nothing allocated), the input needing no gradient, and each counted
operation is charged to the layer that ran it (`archcalc.validation.measure.training_flops`: in
backward, the layer whose forward made the autograd node), the charges adding up to
FlopCounterMode's own total. The bundled models run in eval mode: FlopCounterMode counts
convolutions and matrix products, the same in train mode, where batch norm's batch statistics on
meta tensors take torch's Python reference kernels, twice the time (train mode is held to the same
counts on a small network below).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from conftest import tier
from measured import Recipe, kept

torch = pytest.importorskip("torch")

import archcalc
from archcalc.backward import needs_input_gradient, training
from archcalc.spec import bundled, load_graph
from archcalc.torchmodel import build_graph
from archcalc.validation.measure import training_flops

BATCH = 2
"""Above 1, so that a figure that forgot the batch would show (and train mode's batch norm takes it)."""


def measured(path, variant, stats, train: bool = False):
    """FlopCounterMode's (forward, backward) FLOPs of each layer in one training step, and the
    step's (every operation counted, charged to a layer or not)."""
    shape = stats.input_shape
    model = build_graph(load_graph(path, variant), shape[1:], shape[0], "meta", initialise=False).train(train)
    return training_flops(model, torch.empty(shape, device="meta"), [layer.name for layer in stats.layers])


def predicted(stats) -> dict[str, tuple[int, int]]:
    """archcalc's (forward, backward) FLOPs of each layer under the torch convention."""
    steps = training(stats)
    return {name: (2 * step.forward, 2 * step.backward) for name, step in zip(steps.names, steps.steps)}


@pytest.mark.parametrize("entry", [tier(e) for e in bundled()])
def test_every_bundled_models_training_step_is_flop_counter_modes_layer_by_layer(entry):
    """The measurement, or the kept one of this very model (tests/measured.py)."""
    stats = archcalc.analyze(entry.path, variant=entry.variant, batch=BATCH, convention="torch")
    model = Recipe(load_graph(entry.path, entry.variant), stats.input_shape[1:], BATCH)  # as `measured` builds it
    asked = {"input": stats.input_shape, "layers": [layer.name for layer in stats.layers]}
    value = kept("training_flops", entry, model, asked, ["archcalc/validation/measure.py", measured],
                 lambda: measured(entry.path, entry.variant, stats))
    layers, total = {name: tuple(pair) for name, pair in value[0].items()}, tuple(value[1])
    assert predicted(stats) == layers
    steps = training(stats).total
    assert tuple(map(sum, zip(*layers.values()))) == total == (2 * steps.forward, 2 * steps.backward)  # all charged


def test_the_charges_are_flop_counter_modes_own_per_module_counts_along_a_chain():
    """Along a chain (no merge), FlopCounterMode's own module tracking charges the backward
    correctly: there the measurement agrees with it module by module."""
    from torch.utils.flop_counter import FlopCounterMode

    stats = archcalc.analyze("lenet5", batch=BATCH, convention="torch")
    layers, _ = measured(stats.file, None, stats)
    model = build_graph(load_graph("lenet5"), stats.input_shape[1:], BATCH, "meta", initialise=False)
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(stats.input_shape, device="meta")).sum().backward()
    counts = {name.partition(".")[2]: sum(ops.values()) for name, ops in counter.get_flop_counts().items()}
    assert {name: sum(pair) for name, pair in layers.items() if sum(pair)} == \
        {name: count for name, count in counts.items() if name and "." not in name}


def test_only_layers_behind_a_trained_parameter_compute_their_inputs_gradient(write_spec):
    """The first convolution computes no input gradient, nor does any layer with nothing trained
    before it (pooling, a batch norm without affine parameters, a second branch from the input); a
    batch norm with them is trained. Grouped convolutions, a transposed one, a crop to a
    reference, a linear layer on a channels-last map and two heads: FlopCounterMode agrees, in
    train mode as in eval mode."""
    path = write_spec("""
        name: gradients
        input: [4, 12, 12]
        outputs: [head, side]
        layers:
          - pool: {kind: maxpool2d, kernel: 2}
          - plain: {kind: batchnorm2d, affine: false}
          - conv_a: {kind: conv2d, out: 8, kernel: 3, padding: 1, groups: 4}
          - conv_b: {kind: conv2d, out: 8, kernel: 3, stride: 2, padding: 1, from: input}
          - norm: {kind: batchnorm2d, from: input}
          - conv_c: {kind: conv2d, out: 8, kernel: 3, stride: 2, padding: 1}
          - sum: {kind: add, from: [conv_a, conv_b, conv_c]}
          - up: {kind: conv_transpose2d, out: 4, kernel: 2, stride: 2, groups: 2}
          - crop: {kind: crop2d, from: [up, pool]}
          - last: {kind: permute, dims: [0, 2, 3, 1]}
          - head: {kind: linear, out: 5}
          - side: {kind: linear, out: 3, from: plain}
        """)
    stats = archcalc.analyze(path, batch=BATCH, convention="torch")
    needs = dict(zip([layer.name for layer in stats.layers], needs_input_gradient(stats)))
    assert [name for name, need in needs.items() if need] == ["conv_c", "sum", "up", "crop", "last", "head"]
    for train in (True, False):
        layers, total = measured(path, None, stats, train)
        assert predicted(stats) == layers and sum(total) == 2 * training(stats).total.step
    conv_a = training(stats).steps[2]
    assert conv_a.input_grad == 0 and conv_a.weight_grad == 4 * conv_a.forward  # FlopCounterMode's groups


@pytest.mark.parametrize("reader", ["crop2d", "upsample2d"])
def test_a_layer_read_only_for_its_shape_runs_no_backward(reader, write_spec):
    """A convolution whose output a crop or an upsampling takes only its size from is out of the
    loss's graph: FlopCounterMode counts no backward for it (its weights' gradient was counted)."""
    path = write_spec(f"""
        name: shape_only
        input: [3, 16, 16]
        layers:
          - scale: {{kind: conv2d, out: 3, kernel: 1}}
          - reference: {{kind: conv2d, out: 3, kernel: 1, from: input}}
          - resized: {{kind: {reader}, from: [scale, reference]}}
        """)
    stats = archcalc.analyze(path, batch=BATCH, convention="torch")
    layers, total = measured(path, None, stats, train=True)
    assert predicted(stats) == layers and sum(total) == 2 * training(stats).total.step
    assert layers["reference"][1] == 0 and layers["scale"][1] > 0


def test_table_train_in_text_json_and_csv(cli):
    result = cli("table", "lenet5", "--train", "--convention", "torch", "--batch", BATCH)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[3].endswith("share  input grad  weight grad  train step")
    stats = archcalc.analyze("lenet5", batch=BATCH, convention="torch")
    layers, total = measured(stats.file, None, stats)
    conv1 = next(line for line in lines if " conv1 " in line).split()
    assert conv1[-3:] == ["0", f"{layers['conv1'][1]:,}", f"{sum(layers['conv1']):,}"]  # no input gradient
    assert f"training step {sum(total) / 1e6:.3g} M FLOPs = forward {total[0] / 1e6:.3g} M + backward " \
           f"{total[1] / 1e6:.3g} M" in result.stdout
    assert "input grad, weight grad: the backward pass's FLOPs for the gradient of the layer's input" in result.stdout

    document = json.loads(cli("table", "lenet5", "--train", "--convention", "torch", "--batch", BATCH,
                              "--format", "json").stdout)
    for row in document["rows"]:
        assert (row["flops"], row["input_grad_flops"] + row["weight_grad_flops"]) == layers[row["name"]]
        assert row["step_flops"] == sum(layers[row["name"]]) == 2 * row["step_macs"]
    assert document["totals"]["step_flops"] == sum(total)

    rows = list(csv.DictReader(io.StringIO(cli("table", "lenet5", "--train", "--convention", "torch", "--batch",
                                               BATCH, "--format", "csv").stdout)))
    assert [(row["name"], int(row["step_flops"])) for row in rows] == \
        [*((name, sum(pair)) for name, pair in layers.items()), ("total", sum(total))]


def test_table_train_sums_blocks_and_takes_symbols(cli):
    by_layer = json.loads(cli("table", "resnet18", "--train", "--format", "json").stdout)
    blocks = json.loads(cli("table", "resnet18", "--train", "--depth", "1", "--format", "json").stdout)
    layer1 = [row for row in by_layer["rows"] if row["name"].startswith("layer1.")]
    row = next(row for row in blocks["rows"] if row["name"] == "layer1")
    assert row["weight_grad_macs"] == sum(r["weight_grad_macs"] for r in layer1) == row["macs"]  # paper: as the forward
    assert blocks["totals"] == by_layer["totals"]
    formulas = json.loads(cli("table", "lenet5", "--train", "--input", "1xHxW", "--format", "json").stdout)
    numbers = json.loads(cli("table", "lenet5", "--train", "--input", "1x40x36", "--format", "json").stdout)
    for name in ("input_grad_macs", "weight_grad_macs", "step_flops"):
        assert eval(formulas["totals"][name], {"H": 40, "W": 36}) == numbers["totals"][name]


def test_table_is_as_it_was_without_train(cli):
    assert "grad" not in cli("table", "lenet5", "--format", "csv").stdout + cli("table", "lenet5").stdout


BN_HEAD = Path(__file__).parent / "specs" / "head_bn1d.yaml"


def test_a_training_step_torch_refuses_at_batch_1_is_refused_and_bounds_the_batch(cli):
    """An attacking review found `table --train` counting a training step at batch 1 of a batch norm
    over one value a channel, and saying "valid for every N ≥ 1", where torch's training forward
    refuses it (checked here) and `memory --train` refused it too."""
    model = build_graph(load_graph(BN_HEAD), (3, 32, 32)).train()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel when training"):
        model(torch.randn(1, 3, 32, 32))
    model(torch.randn(2, 3, 32, 32)).sum().backward()  # batch 2 trains
    path = BN_HEAD
    refused = cli("table", path, "--train", "--convention", "torch")
    assert refused.exit_code == 2 and "layer 'bn': in training, batch norm normalises each channel over N = 1 " \
        "value, which torch refuses" in refused.stderr
    assert cli("table", path, "--train", "--convention", "torch", "--batch", "2").exit_code == 0
    assert "valid for N ≥ 2 (layer 'bn')" in cli("table", path, "--train", "--convention", "torch",
                                                 "--batch", "N").stdout
    assert "valid for every N ≥ 1" in cli("table", path, "--batch", "N").stdout  # inference: eval mode runs
