"""Receptive fields against an independent measurement on the built torch model.

For one central output unit of a layer (its channels summed), the input pixels whose gradient
is non-zero are the pixels it sees. The model is made monotone so that no path can cancel
another: every weight positive (each convolution and linear layer averages its inputs), batch
norm the identity, max pooling measured as average pooling of the same geometry, and a small
positive input; the arithmetic is float64 so that the long thin paths to a field's edge do not underflow.
The measured first and last pixel along each axis must equal `unit_region`, which walks the
graph back from the unit with every map's border in view; and wherever the unit's field (size,
jump, start) lies inside the input, the field itself must give the same pixels. (Where a field
reaches past the input, the pixels a unit really depends on are fewer than the field says: the
input ends, and a layer without padding has no units past its last whole window.)
"""

from __future__ import annotations

import itertools

import pytest
import yaml

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402

import archcalc  # noqa: E402
from archcalc.receptive import unit_region  # noqa: E402
from archcalc.spec import bundled, load_graph  # noqa: E402

SMALL_ENOUGH = 3e9
"""MACs at a spec's own input up to which the measurement runs there on the CPU; larger models
are measured at REDUCED_INPUT (their fields do not depend on the input size)."""
REDUCED_INPUT = (3, 96, 96)
_names = itertools.count()


def monotone(model: nn.Module) -> nn.Module:
    """Every weight positive and averaging, batch norm the identity, max pooling as averaging."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.constant_(module.weight, 1.0 / module.weight[0].numel())
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            if module.affine:
                nn.init.ones_(module.weight)
                nn.init.zeros_(module.bias)
            module.running_mean.zero_()
            module.running_var.fill_(1.0)
        elif isinstance(module, nn.MaxPool2d):  # the module stays (the model runs it), its function changes
            assert module.dilation in (1, (1, 1))
            module.forward = nn.AvgPool2d(module.kernel_size, module.stride, module.padding, module.ceil_mode).forward
        elif isinstance(module, nn.AdaptiveMaxPool2d):
            module.forward = nn.AdaptiveAvgPool2d(module.output_size).forward
    return model.double().eval()


def measured_regions(model: nn.Module, layers: list[str], input_chw) -> dict[str, list[tuple[int, int]]]:
    """For each layer: along height and width, the first and last input pixel whose gradient is
    non-zero for the central unit of its output."""
    outputs = {}
    for name in layers:
        model.get_submodule(name).register_forward_hook(lambda m, i, out, name=name: outputs.__setitem__(name, out))
    # small, so that residual sums stay below where relu6 and the hard activations go flat
    x = (1e-6 * (0.5 + torch.rand(1, *input_chw, dtype=torch.float64))).requires_grad_()
    model(x)
    regions = {}
    for name in layers:
        out = outputs[name]
        centre = out[0, :, (out.shape[2] - 1) // 2, (out.shape[3] - 1) // 2].sum()
        (grad,) = torch.autograd.grad(centre, x, retain_graph=True)
        seen = grad[0].abs().sum(0) > 0
        found = [seen.any(1).nonzero().flatten(), seen.any(0).nonzero().flatten()]
        # a unit that reads padding only sees no pixel: then along both axes, as the gradient is 0
        regions[name] = [(int(f[0]), int(f[-1])) if len(f) else None for f in found]
    return regions


def check_fields(spec, variant=None, input_chw=None, layers=None) -> int:
    """Measure the named layers (all with a field by default); the number of layers whose field
    lay inside the input and was compared as it is."""
    stats = archcalc.analyze(spec, variant=variant, input=input_chw)
    graph = load_graph(spec, variant)
    fields = stats.receptive_fields
    names = layers or [layer.name for layer in stats.layers if fields[layer.name] is not None]
    model = monotone(archcalc.build_torch(spec, variant=variant, input=input_chw))
    measured = measured_regions(model, names, stats.input_shape[1:])
    shapes = stats.shapes
    inside = 0
    for name in names:
        centre = tuple((size - 1) // 2 for size in shapes[name][2:])
        assert list(unit_region(graph, shapes, name, centre)) == measured[name], name
        regions = [axis.unclipped(unit) for axis, unit in zip(fields[name].axes, centre)]
        if all(region and 0 <= region[0] and region[1] < size for region, size in zip(regions, stats.input_shape[2:])):
            assert regions == measured[name], name
            inside += 1
    return inside


def stage_outputs(stats) -> list[str]:
    """The last layer of each top-level item, and every conv layer of the last one with a field."""
    fields = stats.receptive_fields
    ends = {}
    for layer in stats.layers:
        if fields[layer.name] is not None:
            ends[layer.name.split(".")[0]] = layer.name
    convs = [layer.name for layer in stats.layers if layer.kind == "conv2d" and fields[layer.name] is not None]
    return list(dict.fromkeys([*ends.values(), convs[-1]]))


@pytest.mark.parametrize("entry", bundled(), ids=lambda e: e.name)
def test_bundled_fields_match_the_gradient_of_the_built_model(entry):
    torch.set_num_threads(2)
    stats = archcalc.analyze(entry.path, variant=entry.variant)
    small = stats.totals.macs <= SMALL_ENOUGH
    input_chw = None if small else "x".join(map(str, REDUCED_INPUT))
    if not small:
        stats = archcalc.analyze(entry.path, variant=entry.variant, input=input_chw)
    layers = None if stats.totals.macs <= 0.3e9 else stage_outputs(stats)
    assert check_fields(entry.path, entry.variant, input_chw, layers) >= 1  # at least the first layers' fields


def test_the_context_module_has_table_1s_receptive_fields():
    """Yu & Koltun 2016, Table 1, 'Receptive field' row: 3, 5, 9, 17, 33, 65, 67, 67."""
    stats = archcalc.analyze("context_basic")
    sizes = [stats.receptive_fields[f"layer{i}"] for i in range(1, 9)]
    assert [(f.height.size, f.width.size, f.height.jump) for f in sizes] == \
        [(r, r, 1) for r in (3, 5, 9, 17, 33, 65, 67, 67)]


def test_vgg16_last_conv_sees_196_pixels_with_a_jump_of_16():
    """VGG-16's conv5_3: fifteen 3×3 layers and four 2×2 pools before it — 196 pixels, every 16th
    (the standard worked example: r = 1 + Σ (k − 1)·Π strides before)."""
    field = archcalc.analyze("vgg16").receptive_fields["stage5.conv.2.conv"]
    expected = 1 + 2 * (2 * 1 + 2 * 2 + 3 * 4 + 3 * 8 + 3 * 16) + 1 * (1 + 2 + 4 + 8)
    assert (field.height.size, field.height.jump) == (expected, 16) == (196, 16)


# Random chains: strided, padded, dilated and ceil-mode windows, and merges of branches that
# see different regions (a residual add, a concat, a squeeze-and-excitation style multiply).

@st.composite
def chains(draw):
    size = [draw(st.integers(8, 40)), draw(st.integers(8, 40))]
    layers = []
    for index in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["conv2d", "maxpool2d", "avgpool2d", "add", "concat", "multiply"]))
        k = [draw(st.integers(1, 5)), draw(st.integers(1, 5))]
        s = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
        if kind == "conv2d":
            d = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
            p = [draw(st.integers(0, 3)), draw(st.integers(0, 3))]
            fields = {"kind": kind, "out": draw(st.integers(1, 3)), "kernel": k, "stride": s, "padding": p,
                      "dilation": d}
        elif kind in ("maxpool2d", "avgpool2d"):
            p = [draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))]
            fields = {"kind": kind, "kernel": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
        else:  # two branches from here: a same-size 3×3 or dilated conv, and a 1×1 or a global scale
            d = draw(st.integers(1, 3))
            wide = {"kind": "conv2d", "out": 2, "kernel": 3, "padding": d, "dilation": d}
            other = ({"kind": "adaptive_avgpool2d", "output_size": 1} if kind == "multiply"
                     else {"kind": "conv2d", "out": 2, "kernel": 1})
            fields = {"layers": [{"wide": wide}, {"other": {**other, "from": "input"}},
                                 {"join": {"kind": kind, "from": ["wide", "other"]}}]}
        layers.append({f"l{index}": fields})
    return size, layers


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
          print_blob=True)
@given(chain=chains())
def test_random_chains(count_example, tmp_path_factory, chain):
    count_example()
    size, layers = chain
    path = tmp_path_factory.getbasetemp() / f"chain{next(_names)}.yaml"
    path.write_text(yaml.safe_dump({"name": "chain", "input": [2, *size], "layers": layers}))
    try:
        archcalc.analyze(path)
    except archcalc.SpecError:
        return  # a window that does not fit: the shape tests cover refusals
    check_fields(path)


def test_a_field_past_the_border_is_cut_where_the_units_end(write_spec):
    """Three unpadded 3×3 stride-2 convolutions over 16 pixels: the maps have 7, 3 and 1 units;
    the last unit's field is 15 pixels (0 to 14), and pixel 15 reaches no unit at all."""
    path = write_spec("""
        name: valid
        input: [1, 16, 16]
        layers:
          - c: {kind: conv2d, out: 1, kernel: 3, stride: 2, repeat: 3}
    """)
    stats = archcalc.analyze(path)
    field = stats.receptive_fields["c.2"]
    assert (field.height.size, field.height.jump, field.height.start) == (15, 8, 7)
    assert unit_region(load_graph(path), stats.shapes, "c.2", (0, 0)) == ((0, 14), (0, 14))
    assert check_fields(path) == 3


def test_a_unit_that_reads_only_padding_sees_no_pixel(write_spec):
    """A 1×1 convolution at stride 3 with padding 1 over 8 pixels puts its first unit on the
    padding: that unit depends on no input pixel at all (found by the random chains)."""
    path = write_spec("""
        name: padded
        input: [1, 8, 8]
        layers:
          - c: {kind: conv2d, out: 1, kernel: 1, stride: 3, padding: 1}
    """)
    stats = archcalc.analyze(path)
    assert unit_region(load_graph(path), stats.shapes, "c", (0, 1)) == (None, None)
    assert unit_region(load_graph(path), stats.shapes, "c", (1, 1)) == ((2, 2), (2, 2))


def test_table_rf_columns_and_json(cli):
    result = cli("table", "context_basic", "--rf")
    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith(("1 ", "15 "))]
    assert rows[0][-3:] == ["3", "1", "0"] and rows[1][-3:] == ["67", "1", "0"]  # layer1.conv, layer8
    assert "jump: input pixels between neighbouring units" in result.stdout
    import json

    document = json.loads(cli("table", "lenet5", "--format", "json").stdout)
    fields = {row["name"]: row["receptive_field"] for row in document["rows"]}
    # LeNet-5: 5×5 conv, 2×2 pool, 5×5 conv: 5, then 6 at jump 2, then 6 + 4·2 = 14
    assert fields["conv1"]["height"] == {"size": 5, "jump": 1, "start": 2}
    assert fields["pool1"]["width"] == {"size": 6, "jump": 2, "start": 2.5}
    assert fields["conv2"]["height"] == {"size": 14, "jump": 2, "start": 6.5}
    assert fields["flatten"] is None


def test_rf_needs_whole_number_sizes(cli):
    result = cli("table", "resnet50", "--input", "3xHxW", "--rf")
    assert result.exit_code == 2
    assert "receptive fields need whole-number sizes" in result.output
