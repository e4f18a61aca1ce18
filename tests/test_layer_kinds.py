"""One row per layer kind: its shape, parameter and MAC rules against hand-written formulas,
and, where torch is installed, against the real torch layer (shape, parameters, buffers)."""

from __future__ import annotations

import pytest

from archcalc.conventions import PAPER, TORCH
from archcalc.errors import SpecError
from archcalc.layers import LAYER_KINDS
from archcalc.layers.base import numel

# kind: (fields, input shapes, output shape, (weight, bias, buffers), MACs) — formulas, not outputs
CASES = {
    "conv2d": ({"out": 8, "kernel": [3, 5], "stride": 2, "padding": [1, 2], "dilation": 1, "groups": 2},
               [(2, 4, 17, 20)], (2, 8, (17 + 2 - 3) // 2 + 1, (20 + 4 - 5) // 2 + 1),
               (8 * (4 // 2) * 3 * 5, 8, 0), 2 * 8 * 9 * 10 * (4 // 2) * 3 * 5),
    "linear": ({"out": 7}, [(3, 12)], (3, 7), (12 * 7, 7, 0), 3 * 12 * 7),
    "maxpool2d": ({"kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True},
                  [(1, 3, 11, 11)], (1, 3, 5, 5), (0, 0, 0), 0),
    "avgpool2d": ({"kernel": 2, "ceil_mode": True}, [(1, 3, 7, 9)], (1, 3, 4, 5), (0, 0, 0), 0),
    "adaptive_avgpool2d": ({"output_size": [2, 3]}, [(1, 5, 7, 9)], (1, 5, 2, 3), (0, 0, 0), 0),
    "adaptive_maxpool2d": ({"output_size": 1}, [(1, 5, 7, 9)], (1, 5, 1, 1), (0, 0, 0), 0),
    "batchnorm2d": ({}, [(2, 6, 4, 4)], (2, 6, 4, 4), (6, 6, 2 * 6 + 1), 0),
    "lrn": ({"size": 5, "k": 2}, [(1, 8, 6, 6)], (1, 8, 6, 6), (0, 0, 0), 0),
    "relu": ({}, [(1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "relu6": ({}, [(1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "leaky_relu": ({"negative_slope": 0.2}, [(1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "sigmoid": ({}, [(2, 5)], (2, 5), (0, 0, 0), 0),
    "tanh": ({}, [(2, 5)], (2, 5), (0, 0, 0), 0),
    "gelu": ({}, [(1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "silu": ({}, [(1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "hardswish": ({}, [(1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "hardsigmoid": ({}, [(1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "softmax": ({"dim": 1}, [(2, 10)], (2, 10), (0, 0, 0), 0),
    "dropout": ({"p": 0.3}, [(2, 10)], (2, 10), (0, 0, 0), 0),
    "identity": ({}, [(1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "flatten": ({}, [(2, 3, 4, 5)], (2, 3 * 4 * 5), (0, 0, 0), 0),
    "add": ({}, [(1, 3, 4, 4), (1, 3, 4, 4), (1, 3, 4, 4)], (1, 3, 4, 4), (0, 0, 0), 0),
    "concat": ({}, [(1, 3, 4, 4), (1, 5, 4, 4)], (1, 3 + 5, 4, 4), (0, 0, 0), 0),
    "mean": ({"keepdim": True}, [(2, 5, 3, 4)], (2, 5, 1, 1), (0, 0, 0), 0),
    "multiply": ({}, [(2, 6, 5, 7), (2, 6, 1, 1)], (2, 6, 5, 7), (0, 0, 0), 0),
    "channel_shuffle": ({"groups": 3}, [(1, 6, 4, 4)], (1, 6, 4, 4), (0, 0, 0), 0),
    "split": ({"parts": 2, "take": 1}, [(1, 6, 4, 5)], (1, 6 // 2, 4, 5), (0, 0, 0), 0),
    # 1-D (N, C, L) and 3-D (N, C, D, H, W) maps: the same rules along one and three axes
    "conv1d": ({"out": 6, "kernel": 5, "stride": 3, "padding": 2, "dilation": 2, "groups": 3},
               [(2, 9, 50)], (2, 6, (50 + 4 - 2 * 4 - 1) // 3 + 1), (6 * (9 // 3) * 5, 6, 0),
               2 * 6 * 16 * (9 // 3) * 5),
    "conv3d": ({"out": 4, "kernel": [3, 1, 5], "stride": [1, 2, 2], "padding": [1, 0, 2], "bias": False},
               [(1, 3, 8, 9, 10)], (1, 4, 8, (9 - 1) // 2 + 1, (10 + 4 - 5) // 2 + 1), (4 * 3 * 3 * 1 * 5, 0, 0),
               1 * 4 * 8 * 5 * 5 * 3 * 3 * 1 * 5),
    "maxpool1d": ({"kernel": 4}, [(2, 3, 17)], (2, 3, 17 // 4), (0, 0, 0), 0),
    "maxpool3d": ({"kernel": [1, 3, 3], "stride": [1, 2, 2], "padding": [0, 1, 1]},
                  [(1, 2, 4, 9, 9)], (1, 2, 4, 5, 5), (0, 0, 0), 0),
    "avgpool1d": ({"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": True}, [(1, 4, 10)], (1, 4, 6),
                  (0, 0, 0), 0),
    "avgpool3d": ({"kernel": 2}, [(1, 2, 4, 6, 7)], (1, 2, 2, 3, 3), (0, 0, 0), 0),
    "adaptive_avgpool1d": ({"output_size": 1}, [(2, 5, 13)], (2, 5, 1), (0, 0, 0), 0),
    "adaptive_avgpool3d": ({"output_size": [1, 2, 3]}, [(1, 5, 3, 7, 9)], (1, 5, 1, 2, 3), (0, 0, 0), 0),
    "adaptive_maxpool1d": ({"output_size": 4}, [(1, 3, 10)], (1, 3, 4), (0, 0, 0), 0),
    "adaptive_maxpool3d": ({"output_size": 2}, [(1, 3, 4, 5, 6)], (1, 3, 2, 2, 2), (0, 0, 0), 0),
    "batchnorm1d": ({"affine": False}, [(4, 7)], (4, 7), (0, 0, 2 * 7 + 1), 0),
    "batchnorm3d": ({}, [(2, 6, 2, 3, 3)], (2, 6, 2, 3, 3), (6, 6, 2 * 6 + 1), 0),
    # transposed convolutions: (n − 1)·s − 2p + d·(k − 1) + output_padding + 1; counted over the input grid
    "conv_transpose1d": ({"out": 6, "kernel": 4, "stride": 2, "padding": 1}, [(2, 4, 10)],
                         (2, 6, 9 * 2 - 2 + 3 + 1), (4 * 6 * 4, 6, 0), 2 * 10 * 4 * 6 * 4),
    "conv_transpose2d": ({"out": 8, "kernel": [3, 4], "stride": [2, 3], "padding": [1, 0], "output_padding": [1, 2],
                          "groups": 2, "dilation": [1, 2]}, [(2, 4, 6, 7)],
                         (2, 8, 5 * 2 - 2 + 2 + 1 + 1, 6 * 3 - 0 + 2 * 3 + 2 + 1), (4 * (8 // 2) * 3 * 4, 8, 0),
                         2 * 6 * 7 * 4 * (8 // 2) * 3 * 4),
    "conv_transpose3d": ({"out": 6, "kernel": 2, "stride": 2, "bias": False}, [(2, 4, 4, 5, 6)], (2, 6, 8, 10, 12),
                         (4 * 6 * 8, 0, 0), 2 * 4 * 5 * 6 * 4 * 6 * 8),
    # resampling: no weights, no MACs under the paper convention
    "upsample1d": ({"scale": 3, "mode": "linear", "align_corners": True}, [(2, 4, 10)], (2, 4, 30), (0, 0, 0), 0),
    "upsample2d": ({"size": [13, 17], "mode": "bilinear"}, [(2, 3, 7, 8)], (2, 3, 13, 17), (0, 0, 0), 0),
    "upsample3d": ({"scale": [1, 2, 2]}, [(2, 3, 4, 6, 6)], (2, 3, 4, 12, 12), (0, 0, 0), 0),
    "pixel_shuffle": ({"factor": 3}, [(2, 18, 5, 7)], (2, 18 // 9, 15, 21), (0, 0, 0), 0),
    "pad1d": ({"padding": 2, "value": 1.5}, [(2, 4, 10)], (2, 4, 14), (0, 0, 0), 0),
    "pad2d": ({}, [(2, 3, 7, 8), (1, 1, 10, 13)], (2, 3, 10, 13), (0, 0, 0), 0),
    "pad3d": ({"padding": [0, 1, 2]}, [(2, 3, 4, 6, 6)], (2, 3, 4, 8, 10), (0, 0, 0), 0),
    "crop1d": ({"size": 7}, [(2, 4, 10)], (2, 4, 7), (0, 0, 0), 0),
    "crop2d": ({}, [(2, 3, 16, 16), (1, 5, 12, 10)], (2, 3, 12, 10), (0, 0, 0), 0),
    "crop3d": ({"size": [2, 3, 4]}, [(1, 2, 4, 6, 8)], (1, 2, 2, 3, 4), (0, 0, 0), 0),
    # ConvNeXt's and EfficientNet's: layer norm over the last axis (here W) and over the channels,
    # a permute to channels-last, a scale per channel, and stochastic depth (an identity at inference)
    "layer_norm": ({"eps": 1e-6, "bias": False}, [(2, 6, 5, 7)], (2, 6, 5, 7), (7, 0, 0), 0),
    "channel_layer_norm": ({"eps": 1e-6}, [(2, 6, 5, 7)], (2, 6, 5, 7), (6, 6, 0), 0),
    "permute": ({"dims": [0, 2, 3, -3]}, [(2, 6, 5, 7)], (2, 5, 7, 6), (0, 0, 0), 0),
    "layer_scale": ({}, [(2, 6, 5, 7)], (2, 6, 5, 7), (6, 0, 0), 0),
    "stochastic_depth": ({"p": 0.2, "mode": "batch"}, [(2, 6, 5, 7)], (2, 6, 5, 7), (0, 0, 0), 0),
}


NO_TORCH_MODULE = {"opaque"}
"""Kinds with no torch layer to measure them against: their rules are tested in test_opaque.py."""


def test_every_layer_kind_has_a_row():
    assert set(CASES) == set(LAYER_KINDS) - NO_TORCH_MODULE


@pytest.mark.parametrize("key", list(CASES))
def test_rules(key):
    fields, shapes, out, (weight, bias, buffers), macs = CASES[key]
    kind = LAYER_KINDS[key]
    attrs = kind.resolve(fields)
    assert kind.output_shape(attrs, shapes) == out
    params = kind.params(attrs, shapes)
    assert (params.weight, params.bias, params.buffers) == (weight, bias, buffers)
    assert kind.macs(attrs, shapes, out) == macs
    assert 2 * TORCH.count(kind, attrs, shapes, out) == 2 * macs  # FlopCounterMode's FLOPs


@pytest.mark.parametrize("key", list(CASES))
def test_backward_is_flop_counter_modes_with_and_without_the_inputs_gradient(key):
    """FlopCounterMode over the row's torch layer, forward then backward from the output's sum:
    with inputs that need no gradient, backward computes the weights' gradient alone; with inputs
    that need one, also the input's. The torch convention counts both exactly (a grouped
    convolution's weight gradient groups times over, as FlopCounterMode counts it); the paper
    convention counts each gradient as the forward's MACs (a product's backward: two of its size)."""
    pytest.importorskip("torch")
    fields, shapes, out, _, macs = CASES[key]
    kind = LAYER_KINDS[key]
    a = kind.resolve(fields)
    layer = _torch_layer(key, fields, shapes)
    weights_only, both = (_flop_counter_backward(layer, shapes, grad) for grad in (False, True))
    data, weights = TORCH.backward_count(kind, a, shapes, out, macs, True)
    assert (2 * weights, 2 * data) == (weights_only, both - weights_only)
    assert TORCH.backward_count(kind, a, shapes, out, macs, False) == (0, weights)
    assert PAPER.backward_count(kind, a, shapes, out, macs, True) == (macs, macs)
    assert PAPER.backward_count(kind, a, shapes, out, macs, False) == (0, macs)


def _flop_counter_backward(layer, shapes: list, input_grad: bool) -> int:
    """FlopCounterMode's FLOPs in the backward pass of `layer` on inputs of `shapes`."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    inputs = [torch.rand(shape, requires_grad=input_grad) for shape in shapes]
    with FlopCounterMode(display=False) as counter:
        out = layer(*inputs)
        forward = counter.get_total_flops()
        if out.requires_grad:  # something in it is trained, or an input needs a gradient
            out.sum().backward()
    return counter.get_total_flops() - forward


def _torch_layer(key: str, fields: dict, shapes: list):
    """The torch layer the row describes, built here from torch's own classes."""
    import torch
    from torch import nn

    channels = shapes[0][1] if len(shapes[0]) > 1 else None
    a = LAYER_KINDS[key].resolve(fields)
    simple = {"relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh,
              "gelu": nn.GELU, "silu": nn.SiLU, "hardswish": nn.Hardswish,
              "hardsigmoid": nn.Hardsigmoid, "identity": nn.Identity}
    if key in simple:
        return simple[key]()
    builders = {
        "linear": lambda: nn.Linear(channels, a.out, a.bias),
        "lrn": lambda: nn.LocalResponseNorm(a.size, a.alpha, a.beta, a.k),
        "leaky_relu": lambda: nn.LeakyReLU(a.negative_slope),
        "softmax": lambda: nn.Softmax(a.dim),
        "dropout": lambda: nn.Dropout(a.p),
        "flatten": lambda: nn.Flatten(a.start_dim, a.end_dim),
        "channel_shuffle": lambda: nn.ChannelShuffle(a.groups),
    }
    for d in (1, 2, 3):  # torch's class for each number of axes
        builders |= {
            f"conv{d}d": lambda d=d: getattr(nn, f"Conv{d}d")(channels, a.out, a.kernel, a.stride, a.padding,
                                                              a.dilation, a.groups, a.bias),
            f"maxpool{d}d": lambda d=d: getattr(nn, f"MaxPool{d}d")(a.kernel, a.stride, a.padding, a.dilation,
                                                                    ceil_mode=a.ceil_mode),
            f"avgpool{d}d": lambda d=d: getattr(nn, f"AvgPool{d}d")(a.kernel, a.stride, a.padding, a.ceil_mode,
                                                                    a.count_include_pad),
            f"adaptive_avgpool{d}d": lambda d=d: getattr(nn, f"AdaptiveAvgPool{d}d")(a.output_size),
            f"adaptive_maxpool{d}d": lambda d=d: getattr(nn, f"AdaptiveMaxPool{d}d")(a.output_size),
            f"batchnorm{d}d": lambda d=d: getattr(nn, f"BatchNorm{d}d")(channels, a.eps, a.momentum, a.affine,
                                                                        a.track_running_stats),
        }
    for d in (1, 2, 3):
        builders[f"conv_transpose{d}d"] = lambda d=d: getattr(nn, f"ConvTranspose{d}d")(
            channels, a.out, a.kernel, a.stride, a.padding, a.output_padding, a.groups, a.bias, a.dilation)
    builders["pixel_shuffle"] = lambda: nn.PixelShuffle(a.factor)
    builders["layer_norm"] = lambda: nn.LayerNorm(shapes[0][-1], a.eps, a.elementwise_affine, a.bias)
    channels_last, scale = _torch_modules()
    if key == "channel_layer_norm":  # torchvision's LayerNorm2d: channels last, layer norm, channels back
        return channels_last(channels, a.eps)
    if key == "layer_scale":  # ConvNeXt's CNBlock: a (C, 1, 1) parameter times the map
        return scale(channels, a.init)
    if key == "stochastic_depth":  # torchvision.ops.StochasticDepth in eval mode: the input itself
        return lambda x: x
    if key == "permute":
        return lambda x: x.permute(*a.dims)
    if key.startswith("upsample"):  # to a size, or by whole-number factors
        return lambda x: nn.functional.interpolate(
            x, size=a.size, scale_factor=a.scale and tuple(map(float, a.scale)), mode=a.mode,
            align_corners=None if a.mode == "nearest" else a.align_corners)
    if key.startswith("pad"):  # F.pad lists (before, after) from the last axis; to a reference: the odd one after
        def pad(x, *reference):
            extra = [g - n for n, g in zip(x.shape[2:], reference[0].shape[2:])] if reference else None
            sides = [(e // 2, e - e // 2) for e in extra] if extra else [(p, p) for p in a.padding]
            return nn.functional.pad(x, [side for pair in reversed(sides) for side in pair], value=a.value)
        return pad
    if key.startswith("crop"):  # the centre: ⌊(n − size)/2⌋ cut before
        def crop(x, *reference):
            goal = reference[0].shape[2:] if reference else a.size
            return x[(slice(None), slice(None), *(slice((n - g) // 2, (n - g) // 2 + g)
                                                  for n, g in zip(x.shape[2:], goal)))]
        return crop
    if key == "add":
        return lambda *xs: sum(xs[1:], xs[0])
    if key == "mean":
        return lambda x: x.mean([2, 3], keepdim=a.keepdim)
    if key == "multiply":
        return lambda x, scale: x * scale
    if key == "split":
        return lambda x: torch.chunk(x, a.parts, dim=1)[a.take]
    if key == "concat":
        return lambda *xs: torch.cat(xs, dim=a.dim)
    return builders[key]()


def _torch_modules():
    """Modules of the test's own for kinds torch has no class for (written as torchvision writes them)."""
    import torch
    from torch import nn

    class ChannelsLast(nn.LayerNorm):
        def forward(self, x):
            x = nn.functional.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias,
                                         self.eps)
            return x.permute(0, 3, 1, 2)

    class Scale(nn.Module):
        def __init__(self, channels, init):
            super().__init__()
            self.layer_scale = nn.Parameter(torch.ones(channels, 1, 1) * init)

        def forward(self, x):
            return self.layer_scale * x

    return ChannelsLast, Scale


@pytest.mark.parametrize("key", list(CASES))
def test_rules_match_torch(key):
    torch = pytest.importorskip("torch")
    fields, shapes, out, (weight, bias, buffers), _ = CASES[key]
    layer = _torch_layer(key, fields, shapes)
    inputs = [torch.rand(shape) for shape in shapes]
    with torch.no_grad():
        assert tuple(layer(*inputs).shape) == out
    if isinstance(layer, torch.nn.Module):
        assert sum(p.numel() for p in layer.parameters()) == weight + bias
        assert sum(b.numel() for b in layer.buffers()) == buffers


@pytest.mark.parametrize("fields, shape, message", [
    ({"out": 4, "kernel": 3, "stride": 2, "padding": "same"}, (1, 3, 8, 8), "padding 'same' needs stride 1"),
    ({"out": 4, "kernel": 9}, (1, 3, 8, 8), "does not fit the padded input"),
    ({"out": 4, "kernel": 3, "dilation": 4}, (1, 3, 8, 8), "kernel 3 dilated by 4 spans 9"),
    ({"out": 4, "kernel": 3, "groups": 2}, (1, 3, 8, 8), "does not divide the channels"),
])
def test_conv_refuses_what_torch_refuses(fields, shape, message):
    kind = LAYER_KINDS["conv2d"]
    with pytest.raises(SpecError, match=message):
        kind.output_shape(kind.resolve(fields), [shape])
    torch = pytest.importorskip("torch")
    a = kind.resolve(fields)
    with pytest.raises((RuntimeError, ValueError)):
        torch.nn.Conv2d(shape[1], a.out, a.kernel, a.stride, a.padding, a.dilation, a.groups)(torch.rand(shape))


@pytest.mark.parametrize("n, k, d", [(8, 2, 1), (9, 4, 2), (7, 3, 3)])
def test_same_padding_keeps_the_size_even_for_even_kernels(n, k, d):
    kind = LAYER_KINDS["conv2d"]
    fields = {"out": 2, "kernel": k, "padding": "same", "dilation": d}
    assert kind.output_shape(kind.resolve(fields), [(1, 1, n, n)]) == (1, 2, n, n)
    torch = pytest.importorskip("torch")
    conv = torch.nn.Conv2d(1, 2, k, padding="same", dilation=d)
    assert tuple(conv(torch.rand(1, 1, n, n)).shape) == (1, 2, n, n)


def test_pool_padding_over_half_the_kernel_is_refused_like_torch():
    kind = LAYER_KINDS["maxpool2d"]
    with pytest.raises(SpecError, match="more than half the kernel"):
        kind.output_shape(kind.resolve({"kernel": 2, "padding": 2}), [(1, 1, 8, 8)])
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError):
        torch.nn.MaxPool2d(2, padding=2)(torch.rand(1, 1, 8, 8))


@pytest.mark.parametrize("key", list(CASES))
def test_builder_makes_the_torch_layer_of_the_row(key):
    torch = pytest.importorskip("torch")
    fields, shapes, out, _, _ = CASES[key]
    kind = LAYER_KINDS[key]
    from archcalc.torchmodel import build_layer

    built = build_layer(kind, kind.resolve(fields), shapes)
    expected = _torch_layer(key, fields, shapes)
    assert isinstance(built, torch.nn.Module)
    inputs = [torch.rand(shape) for shape in shapes]
    if type(expected).__module__.startswith("torch.nn"):
        assert repr(built) == repr(expected)
    else:  # the merges and the test's own modules: checked by what they compute, in eval mode
        built.eval()
        with torch.no_grad():
            assert torch.equal(built(*inputs), expected(*inputs))


@pytest.mark.parametrize("shape, keepdim", [((2, 5, 7), False), ((1, 4, 2, 3, 5), True), ((1, 4, 2, 3, 5), False)])
def test_mean_of_1d_and_3d_maps_is_torchs(shape, keepdim):
    kind = LAYER_KINDS["mean"]
    out = kind.output_shape(kind.resolve({"keepdim": keepdim}), [shape])
    torch = pytest.importorskip("torch")
    assert out == tuple(torch.rand(shape).mean(tuple(range(2, len(shape))), keepdim=keepdim).shape)


@pytest.mark.parametrize("shape", [(2, 5, 7), (2, 6, 5, 7), (1, 2, 3, 4, 7)])
def test_linear_acts_on_the_last_axis_of_any_input_as_torchs(shape):
    """A linear layer on a map is no longer refused: as torch's, it maps the last axis (W of an
    (N, C, H, W) map; to classify, flatten first), once per position of the others."""
    kind = LAYER_KINDS["linear"]
    a = kind.resolve({"out": 3})
    out = kind.output_shape(a, [shape])
    assert out == (*shape[:-1], 3)
    assert kind.params(a, [shape]) == (7 * 3, 3, 0)
    assert kind.macs(a, [shape], out) == numel(shape[:-1]) * 7 * 3
    torch = pytest.importorskip("torch")
    assert tuple(torch.nn.Linear(7, 3)(torch.rand(shape)).shape) == out


@pytest.mark.parametrize("fields, shape, message", [
    ({"dims": [0, 2, 1]}, (1, 3, 4, 5), r"dims \[0, 2, 1\] names 3 dimensions of a 4-D input"),
    ({"dims": [0, 2, 3, 4]}, (1, 3, 4, 5), "dimension 4 is out of range for a 4-D input"),
    ({"dims": [0, 1, 3, -1]}, (1, 3, 4, 5), "names a dimension twice"),
])
def test_permute_refuses_what_torch_refuses(fields, shape, message):
    kind = LAYER_KINDS["permute"]
    with pytest.raises(SpecError, match=message) as refused:
        kind.output_shape(kind.resolve(fields), [shape])
    assert refused.value.field == "dims"
    torch = pytest.importorskip("torch")
    with pytest.raises((RuntimeError, IndexError)):
        torch.rand(shape).permute(*fields["dims"])


def test_channel_layer_norm_needs_a_map():
    kind = LAYER_KINDS["channel_layer_norm"]
    with pytest.raises(SpecError, match=r"needs a map \(N, C, …\)"):
        kind.output_shape(kind.resolve({}), [(2, 6)])


@pytest.mark.parametrize("axes, mode", [(1, "linear"), (2, "bilinear"), (3, "trilinear")])
def test_an_interpolating_upsamplings_reads_are_the_pixels_torch_weighs(axes, mode):
    """Along the first spatial axis, the input pixels each output unit reads (`reads`, the
    receptive fields' rule at the borders) are those torch gives a non-zero weight (float64, one
    one-hot input per pixel): every size to 24 from every other, align_corners or not, and whole
    scales. torch rounds a position once (a fused multiply-add: (2/10)·2.5 − ½ is 2.8·10⁻¹⁷, and
    the pixel after is read) and floors it as a float32 (7 − 10⁻¹⁵ is pixel 7 alone)."""
    torch = pytest.importorskip("torch")
    kind = LAYER_KINDS[f"upsample{axes}d"]
    sizes = range(1, 25) if axes < 3 else range(1, 13)
    cases = [(n, {"size": m}) for n in sizes for m in sizes if m != n] + \
            [(n, {"scale": s}) for n in sizes for s in (2, 3, 5, 7)]
    wrong = []
    for (n, how), corners in [(case, corners) for case in cases for corners in (False, True)]:
        if corners and "scale" in how:
            continue
        a = kind.resolve({"mode": mode, "align_corners": corners, **how})
        one_hot = torch.eye(n, dtype=torch.float64).reshape(n, 1, n, *(1,) * (axes - 1))
        out = torch.nn.functional.interpolate(one_hot, mode=mode, align_corners=corners, **{
            "size" if key == "size" else "scale_factor": (value,) * axes for key, value in how.items()})
        weighs = out.flatten(2).view(n, out.shape[2], -1).sum(2).T.tolist()  # [output unit along the axis][pixel]
        source, shape = (1, 1, n, *(1,) * (axes - 1)), (1, *out.shape[1:])
        for unit, weights in enumerate(weighs):
            torchs = {pixel for pixel, weight in enumerate(weights) if weight != 0}
            if kind.reads(a, source, shape, 0, {unit}) != torchs:
                wrong.append((n, how, corners, unit))
    assert wrong == []
