"""Receptive fields against an independent measurement on the built torch model.

For one central output unit of a layer (its channels summed), the input pixels whose gradient
is non-zero are the pixels it sees: on maps of 1, 2 or 3 spatial axes alike (a 1-D map's pixels
are samples along its length, a 3-D map's are voxels). The model is made monotone so that no
path can cancel another: every weight positive (each convolution and linear layer averages its
inputs), every bias small and positive, batch norm the identity, max pooling measured as average pooling of the same windows,
and a small positive input; the arithmetic is float64 so that the long thin paths to a field's
edge do not underflow, or float32 where a check at every layer proves that none does (below).
The measured first and last pixel along every spatial axis must equal `unit_region`, which
walks the graph back from the unit with every map's border in view; and wherever the unit's
field (size, jump, start) lies inside the input and the unit reads past no map's border on the
way (`meets_a_border`), the field itself must give the same pixels. (Where a field reaches past
the input, the pixels a unit really depends on are fewer than the field says: the input ends, and
a layer without padding has no units past its last whole window; and a field inside the input can
still be cut where a layer has no units that its formula counts, such as those a transposed
convolution's padding leaves out.)

Many units are measured in one backward pass, each in its own element of the batch: the model
runs in eval mode, where every layer (batch norm included) treats the samples of a batch
independently, so each sample's input gradient is its own unit's alone — no union of
overlapping regions can hide an edge. A bundled model's layer whose field fits inside a
smaller input (`smaller_inputs`) is measured at that input (fields do not depend on the input's
size; `unit_region` does, and is compared at the input the gradient is measured at); layers
whose field reaches past every smaller input are measured at the model's own input, borders and
all.
"""

from __future__ import annotations

import itertools
import math
import re
from fractions import Fraction
from pathlib import Path

import pytest
import yaml
from conftest import tier, yaml_text
from measured import Recipe, kept

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch import nn  # noqa: E402

import archcalc  # noqa: E402
from archcalc.analysis import analyze_graph  # noqa: E402
from archcalc.errors import SpecError  # noqa: E402
from archcalc.receptive import Moved, meets_a_border, unit_region  # noqa: E402
from archcalc.spec import bundled, load_graph  # noqa: E402
from archcalc.torchmodel import build_graph, build_layer  # noqa: E402

SMALL_ENOUGH = 3e9
"""MACs at a spec's own input up to which the measurement runs there on the CPU; larger models
are measured at REDUCED_INPUT (their fields do not depend on the input size)."""
REDUCED_INPUT = {2: [(96, 96), (188, 188)], 3: [(16, 32, 32)]}
"""By number of spatial axes, the spatial sizes tried in turn (with the model's own channels) until
the model accepts one, else its own input (no bundled 1-D model is above SMALL_ENOUGH): U-Net's
valid convolutions need 188×188 at least, Inception v3's auxiliary head nearly its 299×299. The video ResNets keep their 16 frames at 32×32 pixels: their last
stage's output is still 2×2×2 (16×2×2 for mc3_18)."""
_SIDES = (16, 32, 48, 64, 96, 128, 160)
SMALLER_SIDES = {1: (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384), 2: _SIDES, 3: _SIDES}
"""By number of spatial axes, the sizes at which every axis of a model's input is capped in turn
(`smaller_inputs`) to measure a layer whose field fits there: shorter lengths for a waveform,
smaller squares for an image, frames and pixels both capped for a video."""
BATCH_ELEMENTS = 2e7
"""Values of all the layers' outputs in one measured batch (float64: 160 MB), which sets how
many units share a backward pass."""
ONE_FORWARD = 1e5
"""Values of all the layers' outputs for one sample from which one forward pass of that sample
serves every unit, each with a backward pass of its own: the computation then outweighs the
overhead of a pass per unit (below it, batches of samples are quicker)."""
_names = itertools.count()

CONV = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
BATCH_NORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
AVERAGE_POOL = {nn.MaxPool1d: nn.AvgPool1d, nn.MaxPool2d: nn.AvgPool2d, nn.MaxPool3d: nn.AvgPool3d}
"""The average pooling that measures each max pooling (`averaging`)."""
ADAPTIVE_AVERAGE_POOL = {nn.AdaptiveMaxPool1d: nn.AdaptiveAvgPool1d, nn.AdaptiveMaxPool2d: nn.AdaptiveAvgPool2d,
                         nn.AdaptiveMaxPool3d: nn.AdaptiveAvgPool3d}


def monotone(model: nn.Module, dtype=torch.float64) -> nn.Module:
    """Every weight positive and averaging, biases small and positive, batch norm the identity, max
    pooling as averaging. These values depend on a tensor's shape alone: the layers' tensors of one
    shape are one constant tensor, made on the CPU (a model built on the meta device needs no other
    memory), and none takes a gradient (only the input's is measured)."""
    constants = {}

    def constant(like, value: float):
        """A tensor of `like`'s shape holding `value` as `like`'s dtype has it, as `dtype`."""
        key = (tuple(like.shape), like.dtype, value)
        if key not in constants:
            constants[key] = torch.full(like.shape, value, dtype=like.dtype, device="cpu").to(dtype)
        return nn.Parameter(constants[key], requires_grad=False)

    for module in model.modules():
        if isinstance(module, (*CONV, nn.Linear)):
            module.weight = constant(module.weight, 1.0 / module.weight[0].numel())
            if module.bias is not None:  # positive, as the input: a unit that reads only padding or
                module.bias = constant(module.bias, 1e-6)  # inserted zeros still scales a product's other input
        elif isinstance(module, BATCH_NORM):
            if module.affine:
                module.weight, module.bias = constant(module.weight, 1.0), constant(module.bias, 0.0)
            module.running_mean = constant(module.running_mean, 0.0).data
            module.running_var = constant(module.running_var, 1.0).data
            if module.num_batches_tracked is not None:
                module.num_batches_tracked = torch.zeros((), dtype=torch.long)
        elif type(module) in AVERAGE_POOL:  # the module stays (the model runs it), its function changes
            assert set(nn.modules.utils._single(module.dilation)) == {1}
            module.forward = averaging(module)
        elif type(module) in ADAPTIVE_AVERAGE_POOL:
            module.forward = ADAPTIVE_AVERAGE_POOL[type(module)](module.output_size).forward
        elif isinstance(module, nn.LayerNorm):  # over the last axis, or the channels (ChannelLayerNorm)
            # its outputs at a position sum to 0 whatever the input, so a sum has no gradient through
            # it: the identity reads the same pixels (each position's own channels) and keeps the sums
            module.forward = nn.Identity().forward
    return model.to(dtype).eval()


def averaging(pool: nn.Module):
    """A forward that averages the windows of max pooling `pool` (dilation 1), each window whole:
    over the input padded with zeros explicitly, on the right to the end of the last window (or
    cut before it), so that it runs wherever the max pooling does (torch's AvgPool3d refuses a
    kernel longer than the unpadded input, which MaxPool3d takes)."""
    average = AVERAGE_POOL[type(pool)]

    def forward(x):
        size = nn.modules.utils._ntuple(x.dim() - 2)
        kernel, stride, padding = size(pool.kernel_size), size(pool.stride), size(pool.padding)
        pads = []  # F.pad's order: the last axis first
        for n, k, s, p in reversed(list(zip(x.shape[2:], kernel, stride, padding))):
            units = (n + 2 * p - k + (s - 1 if pool.ceil_mode else 0)) // s + 1  # torch's pooling_output_shape
            if pool.ceil_mode and (units - 1) * s >= n + p:
                units -= 1  # the last window starts inside the input or its left padding
            pads += [p, (units - 1) * s + k - p - n]
        return average(kernel, stride)(nn.functional.pad(x, pads))
    return forward


# float32 where it provably loses no pixel. Every value of the monotone model's passes is a sum
# of products of non-negative factors, so a value is zero exactly when no path reaches it,
# unless a product underflows to zero. A layer cannot lose a path when (the smallest non-zero
# value coming in) × (a lower bound on its non-zero coefficients) is a normal float32: that
# product, and any float sum of non-negative terms containing it, stays non-zero. This is
# checked at every layer on the way forward (its inputs by its coefficients) and back (the
# gradient at its output by its partial derivatives). Where a check fails, or a layer's
# coefficients are not known here, the measurement is made in float64, as it is wherever a
# float32 measurement disagrees with the expected region.
NORMAL = 2.0 ** -120  # float32's smallest normal number is 2^-126
ONE = (nn.Identity, nn.Flatten, nn.Dropout, nn.ChannelShuffle, nn.PixelShuffle, nn.ReLU, nn.ReLU6)


class NotProvable(Exception):
    """float32 might lose a pixel here: measure in float64."""


def smallest(tensor) -> float:
    """The smallest non-zero value in `tensor` (inf when it is all zero). The bounds hold for
    non-negative values only, as the monotone model's are: NotProvable for a negative one. One
    pass where no value is zero (most outputs on the way forward; a gradient has zeros)."""
    tensor = tensor.detach()
    least = float(tensor.amin())
    if least > 0:
        return least
    if least < 0:
        raise NotProvable(f"a negative value, {least:.3g}")
    return float(tensor.masked_fill(tensor == 0, float("inf")).amin())


def derivative_floor(module: nn.Module, inputs) -> float:
    """A lower bound on the non-zero partial derivatives of `module`'s output by its inputs,
    from torch's definitions of the layers (the monotone model's weights are all positive)."""
    name = type(module).__name__
    if isinstance(module, (*CONV, nn.Linear)):
        return float(module.weight.detach().min())
    if isinstance(module, BATCH_NORM):
        scale = (module.weight if module.affine else 1.0) / torch.sqrt(module.running_var + module.eps)
        return float(torch.as_tensor(scale).detach().min())
    if isinstance(module, (*AVERAGE_POOL, *AVERAGE_POOL.values())):  # max pooling runs as average pooling
        kernel = nn.modules.utils._ntuple(inputs[0].dim() - 2)(module.kernel_size)  # one size or one per axis
        divisor = getattr(module, "divisor_override", None) or math.prod(kernel)
        return 1.0 / divisor
    if isinstance(module, (*ADAPTIVE_AVERAGE_POOL, *ADAPTIVE_AVERAGE_POOL.values())) or name == "SpatialMean":
        return 1.0 / math.prod(inputs[0].shape[2:])  # no window is larger than the map
    if isinstance(module, (*ONE, nn.LayerNorm)) or \
            name in ("Add", "Concat", "Split", "StochasticDepth", "Permute", "Crop", "Pad") or \
            (name == "Upsample" and module.mode == "nearest"):
        return 1.0  # relu and relu6: 1 where they pass; nearest upsampling, crop, pad and permute copy;
        # a layer norm is the identity in the monotone model
    if name == "LayerScale" and float(module.weight.detach().min()) > 0:
        return float(module.weight.detach().min())
    low, high = (float(inputs[0].detach().min()), float(inputs[0].detach().max())) if inputs else (0, 0)
    if isinstance(module, nn.Hardswish) and 0 <= low and high < 3:
        return 0.5  # (2x + 3) / 6 on [0, 3)
    if isinstance(module, nn.Hardsigmoid) and -3 < low and high < 3:
        return 1.0 / 6
    if isinstance(module, nn.SiLU) and 0 <= low:
        return 0.5  # σ(x) · (1 + x · (1 − σ(x))) ≥ σ(x) ≥ 1/2 for x ≥ 0
    if isinstance(module, nn.GELU) and module.approximate == "none" and 0 <= low:
        return 0.5  # Φ(x) + x · φ(x) ≥ Φ(x) ≥ 1/2 for x ≥ 0, and x · Φ(x) ≥ x/2
    if isinstance(module, nn.Sigmoid) and 0 <= low:
        top = 1 / (1 + math.exp(-high))
        return top * (1 - top)  # σ' falls on [0, ∞): its least at the largest input
    if name == "Multiply":  # x · scale: by x the scale, by the scale x
        return min(smallest(inputs[0]), smallest(inputs[1]))
    raise NotProvable(f"no bound on the derivatives of {module!r}")


def leaf_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, module) for name, module in model.named_modules() if not list(module.children())]


class _Enough(Exception):
    """Raised by the hook of the deepest layer a batch measures: the rest of the model is not run."""


def measured_regions(model: nn.Module, units: list[tuple[str, tuple[int, ...]]], x,
                     per_sample: int, channels: dict[str, int] | None = None) -> list[list[tuple[int, int] | None]]:
    """For each (layer, unit) (the unit's index along each spatial axis), layers in the model's
    order: along each spatial axis, the first and last input pixel whose gradient is non-zero for
    that unit of the layer's output (its channels summed), for input x (one sample, in the model's
    dtype). Each unit is one sample of a batch, and one backward pass measures the batch;
    `per_sample` (values of all layer outputs for one sample) sets the batch's size, and from
    ONE_FORWARD on, one forward pass of one sample serves every unit, each with its own backward pass. `channels`:
    the dimension of the channels of a layer where a permute has moved them (else the second). A
    float32 model raises NotProvable where it might lose a pixel."""
    outputs, last = {}, [None]
    proving = x.dtype != torch.float64

    def keep(name, out):
        outputs[name] = out
        if name == last[0]:
            raise _Enough

    def guard(name, module, inputs, out):
        floor = derivative_floor(module, inputs)
        coming = [smallest(tensor) for tensor in inputs]
        # forward: out ≥ floor × (an input), or for a product x × scale, ≥ min x × min scale
        if (math.prod(coming) if type(module).__name__ == "Multiply" else min(coming) * floor) < NORMAL:
            raise NotProvable(f"{name}: the forward pass might underflow")

        def check(grad):
            if smallest(grad) * floor < NORMAL:
                raise NotProvable(f"{name}: a gradient of {smallest(grad):.3g} by a derivative of {floor:.3g}")
        out.register_hook(check)

    wanted = dict.fromkeys(n for n, _ in units)
    hooks = [model.get_submodule(name).register_forward_hook(lambda m, i, out, name=name: keep(name, out))
             for name in wanted]
    if proving:
        hooks += [module.register_forward_hook(lambda m, i, out, name=name: guard(name, m, i, out), prepend=True)
                  for name, module in leaf_modules(model)]
    batch = max(1, int(BATCH_ELEMENTS // max(per_sample, 1)))
    shared = per_sample >= ONE_FORWARD  # one forward pass serves every unit, a backward pass each
    chunks = [units] if shared else [units[first:first + batch] for first in range(0, len(units), batch)]
    regions = []
    try:
        for chunk in chunks:
            outputs.clear()
            last[0] = chunk[-1][0]
            inputs = x.expand(1 if shared else len(chunk), *x.shape[1:]).clone().requires_grad_()
            try:
                model(inputs)
            except _Enough:
                pass
            picked = [outputs[name][(0 if shared else sample, *unit_index(unit, (channels or {}).get(name, 1)))].sum()
                      for sample, (name, unit) in enumerate(chunk)]
            if shared:
                grads = [torch.autograd.grad(value, inputs, retain_graph=True)[0][0] for value in picked]
            else:
                grads = torch.autograd.grad(sum(picked), inputs)[0]  # one sample per unit
            for grad in grads:
                seen = grad.abs().sum(0) > 0  # (*spatial axes)
                found = [along(seen, axis).nonzero().flatten() for axis in range(seen.dim())]
                # a unit that reads padding only sees no pixel: then along every axis, as the gradient is 0
                regions.append([(int(f[0]), int(f[-1])) if len(f) else None for f in found])
    finally:
        for hook in hooks:
            hook.remove()
    return regions


def along(seen, axis: int):
    """Which positions along `axis` of a map of booleans hold a True anywhere on the other axes."""
    return seen.movedim(axis, 0).reshape(seen.shape[axis], -1).any(1)


def unit_index(unit: tuple[int, ...], channels: int) -> tuple:
    """The index of a unit (its position along each spatial axis) with all its channels, in a map
    of one sample whose channels are at dimension `channels` (1, or elsewhere behind a permute)."""
    return (*unit[:channels - 1], slice(None), *unit[channels - 1:])


def channels_of(field) -> int:
    """The dimension of a layer's channels: the second, unless a permute has moved them."""
    return field.channels if type(field) is Moved else 1


def field_region(field, shapes, name):
    """The central unit of `name` and its region by the field alone, (first, last) per axis."""
    spatial = [size for dim, size in enumerate(shapes[name]) if dim not in (0, channels_of(field))]
    centre = tuple((size - 1) // 2 for size in spatial)
    return centre, [axis.unclipped(unit) for axis, unit in zip(field.axes, centre)]


def fits(regions, input_shape) -> bool:
    return all(region and 0 <= region[0] and region[1] < size for region, size in zip(regions, input_shape[2:]))


def smaller_inputs(size: tuple[int, ...]):
    """Spatial sizes below `size`, smallest first: every axis capped at each of SMALLER_SIDES
    below the largest (a square 2-D input: the squares below it)."""
    for side in SMALLER_SIDES[len(size)]:
        if side >= max(size):
            return
        yield tuple(min(n, side) for n in size)


def check_fields(spec, variant=None, input_chw=None, layers=None, smaller=False, entry=None) -> int:
    """Measure the named layers (all with a field by default); the number of layers whose field
    lay inside the input and was compared as it is. With `smaller`, a layer whose field fits
    inside a smaller input (smaller_inputs) is measured at the smallest such input; and one whose
    field is wider than even the model's own input, so clipped at every size, at the smallest
    where its output is at least 3 along every axis (a central unit with neighbours on each side).
    With the bundled `entry`, its kept measurement where the key holds (tests/measured.py)."""
    stats = archcalc.analyze(spec, variant=variant, input=input_chw)
    fields = stats.receptive_fields
    order = {layer.name: index for index, layer in enumerate(stats.layers)}  # the model runs them so
    names = sorted(layers or [name for name in order if fields[name] is not None], key=order.__getitem__)
    if not names:  # no layer has a field (a random chain of one upsampling that torch's rounding breaks)
        return 0
    graph = upto(load_graph(spec, variant), names[-1])
    at = {}  # input (C, *spatial sizes) → the layers measured there
    placed = set()
    clipped = {name for name in names
               if not fits(field_region(fields[name], stats.shapes, name)[1], stats.input_shape)}
    channels, *size = stats.input_shape[1:]
    for sizes in smaller_inputs(tuple(size)) if smaller else ():
        if len(placed) == len(names):
            break
        small = deepest_analysis(graph, [name for name in names if name not in placed], (channels, *sizes))
        if small is None:
            continue  # too small for this model's first layers
        for name in names:
            field = small.receptive_fields.get(name)
            if name in placed or field is None:
                continue
            if fits(field_region(field, small.shapes, name)[1], small.input_shape) or \
                    (name in clipped and neighboured(small.shapes[name], stats.shapes[name])):
                at.setdefault((channels, *sizes), []).append(name)
                placed.add(name)
    rest = [name for name in names if name not in placed]
    if rest:
        at[tuple(stats.input_shape[1:])] = rest
    groups = []  # (the graph measured, its input, its analysis, each unit and region by the field)
    for shape, group in at.items():
        part = upto(graph, group[-1])
        here = analyze_graph(part, shape)
        groups.append((part, shape, here, [(name, field_region(here.receptive_fields[name], here.shapes, name))
                                           for name in group]))
    expected = [[list(unit_region(part, here.shapes, name, centre)) for name, (centre, _) in units]
                for part, _, here, units in groups]

    def measure_groups() -> list:
        return [measure(part, shape, [(name, centre) for name, (centre, _) in units],
                        sum(math.prod(row.shape[1:]) for row in here.layers), want,
                        {name: channels_of(here.receptive_fields[name]) for name, _ in units})
                for (part, shape, here, units), want in zip(groups, expected)]

    if entry is None:
        measured = measure_groups()
    else:  # the bundled model's measurement, or the kept one of these very models and units
        asked = [[shape, [[name, centre] for name, (centre, _) in units]] for _, shape, _, units in groups]
        models = [Recipe(part, shape) for part, shape, _, _ in groups]  # as `measure` builds them
        measured = [[[tuple(axis) if axis is not None else None for axis in region] for region in regions]
                    for regions in kept("receptive_fields", entry, models, asked,
                                        ["tests/test_receptive_field.py"], measure_groups)]
    inside = 0
    for (part, _, here, units), wants, founds in zip(groups, expected, measured):
        for (name, (centre, regions)), want, found in zip(units, wants, founds):
            assert want == found, (name, here.input_shape)
            if fits(regions, here.input_shape) and not meets_a_border(part, here.shapes, name, centre):
                assert regions == found, (name, here.input_shape)
                inside += 1
    return inside


def neighboured(shape, own) -> bool:
    """Whether a layer's output of `shape` has at least 3 units along every spatial axis, or as many
    as its output at the model's own input (`own`) where that has fewer: its central unit has
    neighbours on each side wherever it has them at the model's own input."""
    return all(units >= min(3, there) for units, there in zip(shape[2:], own[2:]))


def upto(graph, last: str):
    """The graph as far as the layer `last`, which it returns: what the layers up to it see does
    not depend on the rest, which may need a larger input (S3D's final 2×7×7 pooling)."""
    index = next(i for i, node in enumerate(graph.nodes) if node.name == last)
    nodes = graph.nodes[:index + 1]
    kept = {node.name for node in nodes}
    return graph._replace(nodes=nodes, outputs=(last,),
                          scopes={name: scope for name, scope in graph.scopes.items() if scope.output in kept})


def deepest_analysis(graph, names: list[str], shape):
    """The analysis at `shape` of the graph up to the deepest of `names` that it accepts there
    (found by bisection: a graph that takes a shape takes it up to any earlier layer); None when
    it accepts none of them."""
    low, high, found = 0, len(names) - 1, None
    while low <= high:
        middle = (low + high) // 2
        try:
            found = analyze_graph(upto(graph, names[middle]), shape)
            low = middle + 1
        except SpecError:
            high = middle - 1
    return found


def measure(graph, shape, units, per_sample, expected, channels):
    """measured_regions in float32 where that provably loses no pixel and agrees with `expected`;
    otherwise in float64."""
    def build(dtype):
        # on the meta device: monotone sets every tensor of the convolutions, linear layers and batch
        # norms (torch's random initialisation would be overwritten); another layer with tensors (a
        # layer norm, a layer scale) takes the ones it has when built alone on the CPU
        model = build_graph(graph, shape, device="meta")
        nodes, shapes = {node.name: node for node in graph.nodes}, None
        for name, module in leaf_modules(model):
            if isinstance(module, (*CONV, nn.Linear, *BATCH_NORM)) or not module.state_dict():
                continue
            shapes = shapes or analyze_graph(graph, shape).shapes
            node = nodes[name]
            built = build_layer(node.kind, node.attrs, [shapes[source] for source in node.inputs])
            module.load_state_dict(built.state_dict(), assign=True)
        return monotone(model, dtype)

    # small, so that residual sums stay below where relu6 and the hard activations go flat
    x = 1e-6 * (0.5 + torch.rand(1, *shape, dtype=torch.float64))
    try:
        measured = measured_regions(build(torch.float32), units, x.float(), per_sample, channels)
        if measured == expected:
            return measured
    except NotProvable:
        pass
    return measured_regions(build(torch.float64), units, x, per_sample, channels)


def stage_outputs(stats) -> list[str]:
    """The last layer of each top-level item (of the items of a model taken from another spec, as a
    segmentation network's backbone), and every conv layer of the last one with a field."""
    fields = stats.receptive_fields
    included = {name for name, (label, _) in stats.blocks.items() if label.endswith(".yaml)")}
    ends = {}
    for layer in stats.layers:
        if fields[layer.name] is not None:
            parts = layer.name.split(".")
            ends[".".join(parts[:2] if parts[0] in included else parts[:1])] = layer.name
    convs = [layer.name for layer in stats.layers
             if layer.kind in ("conv1d", "conv2d", "conv3d") and fields[layer.name] is not None]
    return list(dict.fromkeys([*ends.values(), convs[-1]]))


@pytest.mark.parametrize("entry", [tier(e) for e in bundled()])
def test_bundled_fields_match_the_gradient_of_the_built_model(entry):
    torch.set_num_threads(1)  # more threads only contend on a shared CPU
    stats = archcalc.analyze(entry.path, variant=entry.variant)
    input_chw = None  # the model's own, unless a reduced input fits it
    for sizes in [] if stats.totals.macs <= SMALL_ENOUGH else REDUCED_INPUT[len(stats.input_shape) - 2]:
        try:
            shape = "x".join(map(str, (stats.input_shape[1], *sizes)))
            stats, input_chw = archcalc.analyze(entry.path, variant=entry.variant, input=shape), shape
            break
        except archcalc.SpecError:
            continue
    # every layer of a small model; the stage outputs of a larger one, and of one measured at a reduced
    # input (efficientnet_b4 is 0.28 G MACs at 96×96, but its 267 layers with a field took 70 s there)
    layers = None if input_chw is None and stats.totals.macs <= 0.3e9 else stage_outputs(stats)
    assert check_fields(entry.path, entry.variant, input_chw, layers, smaller=True, entry=entry) >= 1  # at least the first layers' fields


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
# see different regions (a residual add, a concat, a squeeze-and-excitation style multiply),
# ConvNeXt's channels-last layers between two permutes, over maps of 1, 2 or 3 spatial axes.

CHAIN_SIZES = {1: (8, 40), 2: (8, 40), 3: (4, 16)}
"""The input's size along each axis, by number of axes (a 3-D map's voxels are its cube)."""


@st.composite
def chains(draw, axes):
    def each(low, high):  # one per axis
        return [draw(st.integers(low, high)) for _ in range(axes)]

    size = each(*CHAIN_SIZES[axes])
    conv, pools = f"conv{axes}d", (f"maxpool{axes}d", f"avgpool{axes}d")
    growing = [f"conv_transpose{axes}d", f"upsample{axes}d", *(["pixel_shuffle"] if axes == 2 else [])]
    layers = []
    for index in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from([conv, *pools, "add", "concat", "multiply", "channels_last", *growing]))
        k = each(1, 5)
        s = each(1, 3)
        if kind in growing:
            fields = draw(growing_layer(kind, axes, k, s))
        elif kind == conv:
            d = each(1, 3)
            p = each(0, 3)
            fields = {"kind": kind, "out": draw(st.integers(1, 3)), "kernel": k, "stride": s, "padding": p,
                      "dilation": d}
        elif kind == "channels_last":
            fields = {"layers": channels_last(axes, draw(st.integers(1, 3)))}
        elif kind in pools:
            p = [draw(st.integers(0, n // 2)) for n in k]
            fields = {"kind": kind, "kernel": k, "stride": s, "padding": p, "ceil_mode": draw(st.booleans())}
        else:  # two branches from here: a same-size 3×3 or dilated conv, and a 1×1 or a global scale
            d = draw(st.integers(1, 3))
            wide = {"kind": conv, "out": 2, "kernel": 3, "padding": d, "dilation": d}
            other = ({"kind": f"adaptive_avgpool{axes}d", "output_size": 1} if kind == "multiply"
                     else {"kind": conv, "out": 2, "kernel": 1})
            fields = {"layers": [{"wide": wide}, {"other": {**other, "from": "input"}},
                                 {"join": {"kind": kind, "from": ["wide", "other"]}}]}
        layers.append({f"l{index}": fields})
    return size, layers


def channels_last(axes: int, out: int) -> list[dict]:
    """ConvNeXt's block between its permutes, on a map of `axes` spatial axes: the channels moved
    last, a layer norm and linear layer over them, a layer scale, the channels moved back."""
    rank = axes + 2
    return [{"to_last": {"kind": "permute", "dims": [0, *range(2, rank), 1]}},
            {"norm": {"kind": "layer_norm", "eps": 1e-6}},
            {"fc": {"kind": "linear", "out": out}},
            {"act": "gelu"},
            {"scale": {"kind": "layer_scale", "over": "last", "init": 0.5}},
            {"to_first": {"kind": "permute", "dims": [0, rank - 1, *range(1, rank - 1)]}}]


@st.composite
def growing_layer(draw, kind, axes, k, s):
    """A transposed convolution, an upsampling or a pixel shuffle: the layers behind which the
    jump is a fraction of a pixel."""
    if kind == "pixel_shuffle":
        factor = draw(st.integers(1, 3))
        return {"layers": [{"channels": {"kind": "conv2d", "out": factor * factor, "kernel": 1}},
                           {"shuffle": {"kind": kind, "factor": factor}}]}
    if kind.startswith("conv_transpose"):
        d = [draw(st.integers(1, 2)) for _ in range(axes)]
        return {"kind": kind, "out": draw(st.integers(1, 2)), "kernel": k, "stride": s, "dilation": d,
                "padding": [draw(st.integers(0, (n - 1) * e)) for n, e in zip(k, d)],
                "output_padding": [draw(st.integers(0, max(stride, e) - 1)) for stride, e in zip(s, d)]}
    mode = draw(st.sampled_from(["nearest", "linear"]))
    fields = {"kind": kind, "mode": mode if mode == "nearest" else {1: "linear", 2: "bilinear", 3: "trilinear"}[axes]}
    if mode != "nearest":
        fields["align_corners"] = draw(st.booleans())
    if draw(st.booleans()):
        fields["scale"] = [draw(st.integers(1, 3)) for _ in range(axes)]
    else:  # a size: a whole multiple, or any ratio (patterns that repeat after many units)
        fields["size"] = [draw(st.integers(1, 24)) for _ in range(axes)]
    return fields


CHAINS = [pytest.param(2, 40, id="2d 40"), pytest.param(1, 10, id="1d 10"), pytest.param(3, 10, id="3d 10"),
          pytest.param(2, 110, id="2d 110 more", marks=pytest.mark.slow),
          pytest.param(1, 40, id="1d 40 more", marks=pytest.mark.slow),
          pytest.param(3, 40, id="3d 40 more", marks=pytest.mark.slow)]
"""Random chains per run, by number of spatial axes: 40 2-D, 10 1-D and 10 3-D in the fast tier;
150, 50 and 50 in all."""


@pytest.mark.parametrize(("axes", "examples"), CHAINS)
def test_random_chains(count_example, tmp_path_factory, axes, examples):
    @settings(deadline=None, max_examples=examples, print_blob=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
    @given(chain=chains(axes))
    def check(chain):
        count_example()
        size, layers = chain
        path = tmp_path_factory.getbasetemp() / f"chain{next(_names)}.yaml"
        path.write_text(yaml_text({"name": "chain", "input": [2, *size], "layers": layers}))
        try:
            archcalc.analyze(path)
        except archcalc.SpecError:
            return  # a window that does not fit: the shape tests cover refusals
        check_fields(path)

    check()


def test_a_field_inside_the_input_is_cut_where_a_transposed_convolution_left_out_units(write_spec):
    """Found by the random chains: a transposed convolution whose padding of 2 leaves 5 of its 9
    units along the width, then a 3×3×3 convolution of dilation 3. Its central unit reads units −1,
    2 and 5 of the 5: only unit 2, which sees pixels 1 and 2 (torch's gradient, through
    unit_region), where the field, which counts units −1 and 5, spans pixels 0 to 3, inside the
    input. The test compared the field there, and failed: the unit meets a border."""
    path = write_spec("""
        name: cut
        input: [2, 4, 7, 4]
        layers:
          - up: {kind: conv_transpose3d, out: 1, kernel: [1, 1, 3], stride: [2, 1, 2], padding: [0, 0, 2]}
          - wide: {kind: conv3d, out: 2, kernel: 3, padding: 3, dilation: 3}
    """)
    assert check_fields(path, layers=["wide"]) == 0  # compared with unit_region (torch's pixels) alone
    stats, graph = archcalc.analyze(path), load_graph(path)
    centre = (3, 3, 2)
    assert stats.receptive_fields["wide"].width.unclipped(centre[2]) == (0, 3)
    assert unit_region(graph, stats.shapes, "wide", centre)[2] == (1, 2)
    assert meets_a_border(graph, stats.shapes, "wide", centre)
    assert not meets_a_border(graph, stats.shapes, "up", centre)  # it reads inputs 1 and 2 of 4


def test_float32_is_refused_where_a_thin_path_underflows(write_spec):
    """Seventy 5×1 average poolings: the field's edge pixel reaches the unit by one path of
    weight 5^-70 ≈ 1e-49, below float32's smallest number. Measured in float32 the edge is
    lost; the guard refuses float32 there, and the float64 measurement finds the edge."""
    path = write_spec("""
        name: thin
        input: [1, 285, 1]
        layers:
          - p: {kind: avgpool2d, kernel: [5, 1], stride: 1, padding: [2, 0], repeat: 70}
    """)
    stats = archcalc.analyze(path)
    field = stats.receptive_fields["p.69"]
    assert (field.height.size, field.height.jump) == (281, 1)
    unit = [("p.69", (142, 0))]
    x = 1e-6 * (0.5 + torch.rand(1, 1, 285, 1, dtype=torch.float64))
    model = monotone(archcalc.build_torch(path), torch.float32)
    with pytest.raises(NotProvable):
        measured_regions(model, unit, x.float(), 1)
    # without the guard, float32 loses the edges (the guard is what keeps them)
    inputs = x.float().requires_grad_()
    (grad,) = torch.autograd.grad(model(inputs)[0, :, 142, 0].sum(), inputs)
    rows = (grad[0, 0, :, 0] > 0).nonzero().flatten()
    assert (int(rows[0]), int(rows[-1])) != (2, 282)
    assert measured_regions(monotone(archcalc.build_torch(path)), unit, x, 1) == [[(2, 282), (0, 0)]]
    assert check_fields(path, layers=["p.69"]) == 1


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


def test_crop_and_pad_fields_follow_the_map_they_read_not_the_one_that_sizes_them(write_spec):
    """A crop or pad to another layer's size reads only its first input: its field is that input's,
    shifted by the cut or the padding, never joined with the reference's (a 17-pixel dilated one)."""
    path = write_spec("""
        name: m
        input: [3, 40, 40]
        layers:
          - a: {kind: conv2d, out: 3, kernel: 3}
          - ref: {kind: conv2d, from: input, out: 3, kernel: 9, dilation: 2}
          - crop: {kind: crop2d, from: [a, ref]}
          - pad: {kind: pad2d, from: [crop, a]}
    """)
    fields = archcalc.analyze(path).receptive_fields
    assert (fields["crop"].height.size, fields["crop"].height.start) == (3, 1 + (38 - 24) // 2)
    assert (fields["pad"].height.size, fields["pad"].height.start) == (3, 1)
    assert check_fields(path, layers=["crop", "pad"]) == 2


# Behind upsampling: the jump is a fraction of a pixel, and the regions repeat (Periodic).

def test_nearest_upsampling_then_a_3x3_convolution_repeats_every_second_unit(write_spec):
    """Nearest ×2 then a padded 3×3 convolution: unit o reads upsampled units o − 1 to o + 1,
    that is pixels ⌊(o − 1)/2⌋ to ⌊(o + 1)/2⌋: [−1, 0], [0, 1], [0, 1], [1, 2], … — two pixels
    each, one pixel on every second unit (a jump of 1/2)."""
    path = write_spec("""
        name: up
        input: [1, 12]
        layers:
          - up: {kind: upsample1d, scale: 2}
          - conv: {kind: conv1d, out: 1, kernel: 3, padding: 1}
    """)
    (axis,) = archcalc.analyze(path).receptive_fields["conv"]
    assert [axis.unclipped(o) for o in range(5)] == [(-1, 0), (0, 1), (0, 1), (1, 2), (1, 2)]
    assert (axis.size, axis.jump, axis.start) == (2, Fraction(1, 2), -0.5)
    assert check_fields(path) == 2


def test_a_transposed_convolution_halves_the_jump(write_spec):
    """U-Net's 2×2 up-convolution at stride 2: output units 2i and 2i + 1 both come from input
    unit i alone, so behind a 3×3 convolution at stride 4 (field 3, jump 4) they see the same
    3 pixels: a jump of 2 on average, regions moving 4 pixels every second unit."""
    path = write_spec("""
        name: up
        input: [1, 16, 16]
        layers:
          - down: {kind: conv2d, out: 1, kernel: 3, stride: 4, padding: 1}
          - up: {kind: conv_transpose2d, out: 1, kernel: 2, stride: 2}
    """)
    field = archcalc.analyze(path).receptive_fields["up"]
    assert [field.height.unclipped(o) for o in range(4)] == [(-1, 1), (-1, 1), (3, 5), (3, 5)]
    assert (field.height.size, field.height.jump) == (3, 2)
    assert check_fields(path) == 2


def test_deeplabv3_mobilenets_upsampled_output_is_66_65_pixels_apart():
    """DeepLabV3-MobileNetV3's head: 33 units 16 pixels apart (output stride 16 at 520 pixels,
    ⌈520/16⌉ = 33), bilinearly upsampled to 520: 16·33/520 = 66/65 pixels apart; the ASPP's
    pooling branch shows every unit the whole image."""
    fields = archcalc.analyze("deeplabv3_mobilenet_v3_large").receptive_fields
    assert fields["deeplab.classifier"].height.jump == 16
    out = fields["out"]
    assert (out.height.jump, out.width.jump, out.height.whole) == (Fraction(66, 65), Fraction(66, 65), True)


def test_bilinear_upsampling_by_3_follows_torchs_rounding(write_spec):
    """At a scale of 3, (o + ½)/3 − ½ falls exactly on a pixel for o = 1, 4, 7, …; torch's float
    arithmetic lands just beside it and reads the neighbour too. The fields follow torch's reads
    over the whole map, as the gradient shows."""
    path = write_spec("""
        name: up
        input: [1, 10]
        layers:
          - up: {kind: upsample1d, scale: 3, mode: linear}
          - conv: {kind: conv1d, out: 1, kernel: 3}
    """)
    fields = archcalc.analyze(path).receptive_fields
    assert fields["up"] is not None and fields["conv"] is not None
    assert check_fields(path) >= 1


def test_a_pattern_longer_than_the_limit_gives_no_field(write_spec):
    """4,097 units upsampled to 4,099: the reads repeat only after 4,099 units, past
    MAX_FIELD_PERIOD (4,096): no field (—), rather than a wrong one; the layers before keep theirs."""
    path = write_spec("""
        name: up
        input: [1, 4097]
        layers:
          - conv: {kind: conv1d, out: 1, kernel: 3}
          - up: {kind: upsample1d, size: 4097}
          - after: {kind: conv1d, out: 1, kernel: 3}
    """)
    fields = archcalc.analyze(path).receptive_fields
    assert fields["conv"] is not None
    assert fields["up"] is None and fields["after"] is None


def test_paths_of_different_jumps_merged_give_no_field(write_spec):
    """An attacking review found a concat of a stride-3 path and a stride-2 one given the larger
    jump, 3, with RF 7, where torch's input gradients give jump 2 (and the conv after it RF 10, start
    4.5 against 9 and 4): unit by unit such fields move apart, and no one pattern holds in general
    (docs/receptive.md). No field (—) for the merge and after it; the paths keep theirs, which the
    gradient of the built model confirms."""
    path = write_spec("""
        name: jumps
        input: [1, 18]
        layers:
          - a: {kind: conv1d, out: 1, kernel: 1, stride: 3, bias: false}
          - b: {kind: conv1d, from: input, out: 1, kernel: 7, stride: 2, bias: false}
          - m: {kind: concat, from: [a, b]}
          - c: {kind: conv1d, out: 1, kernel: 2, bias: false}
    """)
    fields = archcalc.analyze(path).receptive_fields
    assert fields["m"] is None and fields["c"] is None
    assert (fields["a"].width.size, fields["a"].width.jump, fields["b"].width.size, fields["b"].width.jump) == \
        (1, 3, 7, 2)
    assert check_fields(path, layers=["a", "b"]) == 2


def test_the_reads_spent_on_patterns_are_bounded(write_spec):
    """1,000 units upsampled to 3,999 repeat their reads only every 3,999 units; each 3×3
    convolution behind works out 3,999 regions from three reads each. Past MAX_FIELD_READS
    (1,000,000 a model) the rest have no field (—) rather than costing more."""
    path = write_spec("""
        name: up
        input: [1, 1000]
        layers:
          - up: {kind: upsample1d, size: 3999}
          - conv: {kind: conv1d, out: 1, kernel: 3, padding: 1, repeat: 400}
    """)
    fields = archcalc.analyze(path).receptive_fields
    assert len(fields["conv.0"].width.lows) == 3999
    assert fields["conv.50"] is not None
    assert fields["conv.399"] is None


def test_a_square_maps_upsampling_is_worked_out_once_and_spends_the_reads_of_each_axis(write_spec, monkeypatch):
    """table --rf of 240 upsamplings of a square map to sizes 2,001 on took seconds: each pattern
    was worked out along each axis alike, with its exact positions in Fractions. Along alike axes it
    is worked out once and its reads spent for each (the same fields, and the same layer where
    MAX_FIELD_READS runs out, as axis by axis: u0 to u80 spend it here, as on a map of
    2,000 × 1,999, whose axes differ); the exact reads are whole-number arithmetic."""
    from archcalc import receptive
    from archcalc.layers import LAYER_KINDS
    from archcalc.layers.resize import _exact_reads, _Upsample

    def spec(width: int) -> str:
        ups = "".join(f"  - u{i}: {{kind: upsample2d, size: [{2001 + i}, {width + 1 + i}]}}\n" for i in range(90))
        return write_spec(f"name: up\ninput: [1, 2000, {width}]\nlayers:\n{ups}")

    worked = {"resize": 0, "field": 0}
    upsample, pattern = _Upsample._pattern, receptive._pattern
    monkeypatch.setattr(_Upsample, "_pattern", lambda *args: worked.__setitem__("resize", worked["resize"] + 1)
                        or upsample(*args))
    monkeypatch.setattr(receptive, "_pattern", lambda *args: worked.__setitem__("field", worked["field"] + 1)
                        or pattern(*args))
    square = archcalc.analyze(spec(2000)).receptive_fields
    assert worked == {"resize": 82, "field": 82}  # once a layer: u81's runs out of reads, u82 on are not listed
    assert [name for name, field in square.items() if field is None] == [f"u{i}" for i in range(81, 90)]
    assert all(field.height == field.width for field in square.values() if field is not None)
    oblong = archcalc.analyze(spec(1999)).receptive_fields  # 1999 + 1 + i: the width's sizes one less
    assert [name for name, field in oblong.items() if field is None] == [f"u{i}" for i in range(81, 90)]
    assert all(square[name].height == oblong[name].height for name in square if square[name] is not None)
    for n, m, mode, corners in itertools.product(range(1, 9), range(1, 19), ("nearest", "bilinear"), (False, True)):
        if mode == "nearest" and corners:
            continue
        ratio = Fraction(n, m) if not corners else Fraction(n - 1, max(m - 1, 1))
        where = [o * ratio if mode == "nearest" or corners else (o + Fraction(1, 2)) * ratio - Fraction(1, 2)
                 for o in range(ratio.denominator)]  # unit o's position in exact arithmetic
        exact = tuple((math.floor(w),) if mode == "nearest" or w == math.floor(w) else (math.floor(w), math.floor(w) + 1)
                      for w in where)
        attrs = LAYER_KINDS["upsample2d"].resolve({"size": m, "mode": mode, "align_corners": corners})
        assert _exact_reads(attrs, ratio, ratio.denominator) == exact, (n, m, mode, corners)


@pytest.mark.parametrize("spec, measured", [("fused_mbconv", 15), ("convnext_block", 18)])
def test_the_convnext_and_efficientnet_kinds_fields_match_the_gradient(spec, measured):
    """channel_layer_norm and stochastic_depth keep the field (each unit reads its own pixel); so do
    ConvNeXt's permute to channels-last, the layer norm and linear layers over the channels there,
    and the permute back."""
    torch.set_num_threads(1)
    path = Path(__file__).parent / "specs" / f"{spec}.yaml"
    assert check_fields(path, smaller=True) == measured
    fields = archcalc.analyze(path).receptive_fields
    if spec == "convnext_block":
        assert fields["stem_norm"] == fields["stem"]
        block = [fields[f"block.{name}"] for name in ("to_last", "norm", "fc1", "act", "fc2", "to_first", "add")]
        assert all(field == fields["block.dwconv"] for field in block)
        assert [channels_of(field) for field in block] == [3, 3, 3, 3, 3, 1, 1]
    else:
        assert fields["same.drop"] == fields["same.project_bn"]


@pytest.mark.parametrize("axes", [1, 2, 3])
def test_channels_last_layers_keep_the_field_on_maps_of_any_rank(write_spec, axes):
    """A window of a different size along each axis, ConvNeXt's channels-last layers (the channels
    moved to the last dimension and back) and a window after them: the field passes the channels-last
    layers as it is, along the spatial axes in their order, and grows behind them."""
    kernel, stride = [3, 5, 1][:axes], [1, 2, 2][:axes]
    spec = {"name": "channels_last", "input": [2, *[9, 14, 12][:axes]],
            "layers": [{"conv": {"kind": f"conv{axes}d", "out": 3, "kernel": kernel, "stride": stride}},
                       {"block": {"layers": channels_last(axes, 4)}},
                       {"after": {"kind": f"conv{axes}d", "out": 2, "kernel": 3, "padding": 1}}]}
    path = write_spec(yaml.safe_dump(spec))
    fields = archcalc.analyze(path).receptive_fields
    inside = ("to_last", "norm", "fc", "act", "scale")
    assert all(fields[f"block.{name}"] == fields["conv"] for name in (*inside, "to_first"))
    assert {channels_of(fields[f"block.{name}"]) for name in inside} == {axes + 1}
    assert [axis.size for axis in fields["after"]] == [k + 2 * s for k, s in zip(kernel, stride)]
    assert check_fields(path) == 8


def test_a_permute_that_reorders_the_spatial_axes_or_the_batch_gives_no_field(write_spec):
    """Height and width swapped: a unit's field along the map's first spatial axis would be the
    input's width, so there is no one field (—), as after a permute that moves the batch; and behind
    moved channels, a window, a merge, or a kind that mixes what is now a spatial axis (the channel
    layer norm reads dimension 1, now the height) has none either. A softmax over the channels keeps it."""
    path = write_spec("""
        name: permutes
        input: [2, 8, 10]
        outputs: [swap, batch, window, channel_norm, merged, sum]
        layers:
          - conv: {kind: conv2d, out: 3, kernel: [3, 5]}
          - swap: {kind: permute, dims: [0, 1, 3, 2]}
          - batch: {kind: permute, from: conv, dims: [1, 0, 2, 3]}
          - last: {kind: permute, from: conv, dims: [0, 2, 3, 1]}
          - softmax: {kind: softmax, dim: -1}
          - window: {kind: conv2d, out: 3, kernel: 1}
          - channel_norm: {kind: channel_layer_norm, from: last}
          - merged: {kind: add, from: [last, softmax]}
          - back: {kind: permute, from: softmax, dims: [0, 3, 1, 2]}
          - sum: {kind: add, from: [back, conv]}
    """)
    fields = archcalc.analyze(path).receptive_fields
    assert [fields[name] for name in ("swap", "batch", "window", "channel_norm", "merged")] == [None] * 5
    assert fields["last"] == fields["softmax"] == fields["back"] == fields["sum"] == fields["conv"]


@pytest.mark.parametrize("key, fields", [("layer_scale", {}), ("layer_scale", {"over": "last"}),
                                         ("stochastic_depth", {"p": 0.5}), ("channel_layer_norm", {})])
def test_kinds_that_scale_or_normalise_each_position_keep_the_grid(key, fields):
    from archcalc.layers import LAYER_KINDS
    from archcalc.layers.base import PIXEL

    kind = LAYER_KINDS[key]
    assert kind.window(kind.resolve(fields), [(1, 4, 6, 6)], (1, 4, 6, 6)) == PIXEL[2]


def test_a_first_unit_that_sees_no_pixel_has_no_start_and_says_so(write_spec, cli):
    """A 1×1 transposed convolution of stride 2 padded by 1: its first output unit reads a zero the
    stride put between pixels (torch: that unit's gradient over the input is all zero). The table
    printed Python's `None` for its start; it prints '—', which its legend explains."""
    path = write_spec("""
        name: none_start
        input: [1, 8, 8]
        layers:
          - up: {kind: conv_transpose2d, out: 1, kernel: 1, stride: 2, padding: 1}
    """)
    x = torch.ones(1, 1, 8, 8, requires_grad=True)
    torch.nn.functional.conv_transpose2d(x, torch.ones(1, 1, 1, 1), stride=2, padding=1)[0, 0, 0, 0].backward()
    assert not x.grad.any()
    assert archcalc.analyze(path).receptive_fields["up"].width.start is None
    text = cli("table", path, "--rf").stdout
    assert re.search(r"^1 +up .* 1/2 +—$", text, re.MULTILINE) and "None" not in text
    assert "'—': it sees no pixel" in text


def test_at_the_end_of_a_linear_upsampling_the_field_keeps_the_pattern_and_unit_region_is_torchs(write_spec):
    """10 → 25 units, linear: torch clamps unit 0's position (0.5 · 10/25 − 0.5 = −0.3) to pixel 0
    and reads it alone (its input gradient). The field keeps the pattern of the units inside, as
    padding would (pixels −1 and 0, start −0.5: docs/receptive.md), and `unit_region`, with
    `meets_a_border`, gives what torch reads."""
    path = write_spec("""
        name: lin
        input: [1, 10]
        layers:
          - u: {kind: upsample1d, size: 25, mode: linear}
    """)
    x = torch.ones(1, 1, 10, dtype=torch.float64, requires_grad=True)
    torch.nn.functional.interpolate(x, size=25, mode="linear", align_corners=False)[0, 0, 0].backward()
    assert x.grad[0, 0].nonzero().flatten().tolist() == [0]
    graph = load_graph(path)
    stats = analyze_graph(graph)
    assert stats.receptive_fields["u"].width.start == -0.5
    assert unit_region(graph, stats.shapes, "u", (0,)) == ((0, 0),) and meets_a_border(graph, stats.shapes, "u", (0,))


def test_paths_of_different_jumps_merged_into_one_unit_keep_its_field(write_spec):
    """A review found the rule above taking the field of a merge of one unit too, where no unit
    can drift from another: 0..7 at jump 4 and 0..8 at jump 3 merged see 0..8 (RF 9, start 4), as
    the built model's gradient confirms."""
    path = write_spec("""
        name: oneunit
        input: [1, 10]
        layers:
          - a1: {kind: conv1d, out: 1, kernel: 4, stride: 4, bias: false}
          - a2: {kind: conv1d, out: 1, kernel: 2, bias: false}
          - b1: {kind: conv1d, from: input, out: 1, kernel: 3, stride: 3, bias: false}
          - b2: {kind: conv1d, out: 1, kernel: 3, bias: false}
          - m: {kind: concat, from: [a2, b2]}
    """)
    field = archcalc.analyze(path).receptive_fields["m"].width
    assert (field.size, field.start) == (9, 4)
    assert check_fields(path, layers=["m"]) == 1
