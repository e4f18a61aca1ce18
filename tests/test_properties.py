"""Property tests: random layers and small random networks, archcalc against torch itself.

For every drawn case the expected figures come from torch: a layer built here straight from
torch's classes (not from archcalc's builders) gives the output shape, parameters and buffers,
fvcore's FlopCountAnalysis its count and FlopCounterMode its FLOPs. archcalc must give the same
numbers exactly, and must refuse exactly the configurations torch refuses. The fast tier
(`-m "not slow"`) draws about a fifth of a full run's examples.
"""

from __future__ import annotations

import itertools
import warnings

import pytest
from conftest import yaml_text

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

from fvcore.nn import FlopCountAnalysis
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archcalc import analyze, build_torch
from archcalc.errors import SpecError
from archcalc.validation import validate

PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True)
REFUSALS = (RuntimeError, ValueError, IndexError)  # what torch raises for a configuration it refuses
_names = itertools.count()


def tiered(fast: int, more: int, **strategies):
    """A property test of `fast` examples in the fast tier and `more` (marked slow) in a full run;
    the test's own arguments after count_example and tmp_dir are drawn from `strategies`."""
    def wrap(body):
        @pytest.mark.parametrize("examples", [pytest.param(fast, id=str(fast)),
                                              pytest.param(more, id=f"{more} more", marks=pytest.mark.slow)])
        def test(count_example, tmp_dir, examples):
            @settings(PROPERTY, max_examples=examples)
            @given(**strategies)
            def run(**drawn):
                body(count_example, tmp_dir, **drawn)

            run()

        test.__name__, test.__qualname__, test.__doc__ = body.__name__, body.__qualname__, body.__doc__
        return test
    return wrap


def write_case(tmp_dir, layers: list[dict], input_chw: tuple[int, int, int]):
    path = tmp_dir / f"case{next(_names)}.yaml"  # a new name each time: no stale cached document
    path.write_text(yaml_text({"name": "case", "input": list(input_chw), "layers": layers}))
    return path


@pytest.fixture(scope="module")
def tmp_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("cases")


def torch_figures(module: nn.Module, inputs: list) -> dict:
    """Shape, parameters, buffers and both counters of one torch module, measured by torch."""
    module.eval()
    with torch.no_grad():
        out = module(*inputs)
    if out.numel() == 0:  # archcalc refuses every empty output; torch's ConvTranspose1d returns one where
        raise ValueError("an empty output")  # its 2-D and 3-D modules refuse: counted as torch refusing
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fvcore = FlopCountAnalysis(module, tuple(inputs)).unsupported_ops_warnings(False) \
            .uncalled_modules_warnings(False).total()
    params = dict(module.named_parameters())
    return {"shape": tuple(out.shape),
            "weight": params["weight"].numel() if "weight" in params else 0,
            "bias": params["bias"].numel() if "bias" in params else 0,
            "buffers": sum(b.numel() for b in module.buffers()),
            "fvcore": fvcore, "flop_counter": counter.get_total_flops()}


def archcalc_figures(path, layer: str, batch: int) -> dict:
    """The same figures from archcalc's analysis of the spec, for the layer named `layer`."""
    by_convention = {c: analyze(path, batch=batch, convention=c) for c in ("paper", "fvcore", "torch")}
    row = {c: next(x for x in stats.layers if x.name == layer) for c, stats in by_convention.items()}
    return {"shape": row["paper"].shape, "weight": row["paper"].figures.weight,
            "bias": row["paper"].figures.bias, "buffers": row["paper"].figures.buffers,
            "fvcore": row["fvcore"].figures.macs, "flop_counter": row["torch"].figures.flops}


def check_layer(count_example, tmp_dir, layers: list[dict], input_chw, batch: int, make_reference, reference_input):
    """archcalc and torch agree on the last layer of `layers`, or both refuse it."""
    count_example()
    name = next(iter(layers[-1]))
    path = write_case(tmp_dir, layers, input_chw)
    inputs = reference_input if isinstance(reference_input, list) else [reference_input]
    try:
        expected = torch_figures(make_reference(), inputs)
    except REFUSALS as refusal:
        event("torch refuses")
        with pytest.raises(SpecError) as refused:
            analyze(path, batch=batch)
        message = str(refused.value)
        assert f"{path.name}:" in message and f"layer '{name}'" in message, (message, refusal)
        return
    event("torch accepts")
    assert archcalc_figures(path, name, batch) == expected
    built, reference = build_torch(path, batch=batch).get_submodule(name), make_reference()
    if type(reference).__module__.startswith("torch.nn"):
        assert repr(built) == repr(reference)  # archcalc's builder makes the same torch layer
    else:  # a module of the test's own: the built one must compute the same, in eval mode
        built.eval(), reference.eval()
        with torch.no_grad():
            assert torch.equal(built(*inputs), reference(*inputs))


def pairs(low: int, high: int):
    return st.tuples(st.integers(low, high), st.integers(low, high))


@st.composite
def conv_cases(draw):
    groups = draw(st.integers(1, 4))
    divisible = draw(st.integers(0, 5)) > 0
    c_in = groups * draw(st.integers(1, 3)) if divisible else draw(st.integers(1, 9))
    c_out = groups * draw(st.integers(1, 3)) if divisible else draw(st.integers(1, 9))
    padding = draw(st.one_of(st.just("same"), pairs(0, 3)))
    return {"c_in": c_in, "out": c_out, "kernel": draw(pairs(1, 7)), "stride": draw(pairs(1, 3)),
                "padding": padding, "dilation": draw(pairs(1, 3)), "groups": groups, "bias": draw(st.booleans()),
                "size": draw(pairs(1, 28)), "batch": draw(st.integers(1, 2))}


@tiered(100, 300, case=conv_cases())
def test_conv2d(count_example, tmp_dir, case):
    fields = {k: list(v) if isinstance(v, tuple) else v for k, v in case.items()
              if k in ("out", "kernel", "stride", "padding", "dilation", "groups", "bias")}
    x = torch.rand(case["batch"], case["c_in"], *case["size"])
    reference = lambda: nn.Conv2d(case["c_in"], case["out"], case["kernel"], stride=case["stride"],
                                  padding=case["padding"], dilation=case["dilation"],
                                  groups=case["groups"], bias=case["bias"])
    check_layer(count_example, tmp_dir, [{"conv": {"kind": "conv2d", **fields}}], (case["c_in"], *case["size"]),
                case["batch"], reference, x)


@st.composite
def pool_cases(draw):
    kernel = draw(pairs(1, 5))
    # padding mostly within torch's limit of half the kernel, sometimes beyond it
    limit = [k // 2 + (1 if draw(st.integers(0, 6)) == 0 else 0) for k in kernel]
    return {"kind": draw(st.sampled_from(["maxpool2d", "avgpool2d"])), "kernel": kernel,
                "stride": draw(st.one_of(st.none(), pairs(1, 3))),
                "padding": (draw(st.integers(0, limit[0])), draw(st.integers(0, limit[1]))),
                "dilation": draw(pairs(1, 3)), "ceil_mode": draw(st.booleans()),
                "count_include_pad": draw(st.booleans()), "channels": draw(st.integers(1, 4)),
                "size": draw(pairs(1, 16)), "batch": draw(st.integers(1, 2))}


@tiered(50, 150, case=pool_cases())
def test_pooling(count_example, tmp_dir, case):
    fields = {"kernel": list(case["kernel"]), "padding": list(case["padding"]), "ceil_mode": case["ceil_mode"]}
    if case["stride"]:
        fields["stride"] = list(case["stride"])
    if case["kind"] == "maxpool2d":
        fields["dilation"] = list(case["dilation"])
        reference = lambda: nn.MaxPool2d(case["kernel"], stride=case["stride"], padding=case["padding"],
                                         dilation=case["dilation"], ceil_mode=case["ceil_mode"])
    else:
        fields["count_include_pad"] = case["count_include_pad"]
        reference = lambda: nn.AvgPool2d(case["kernel"], stride=case["stride"], padding=case["padding"],
                                         ceil_mode=case["ceil_mode"],
                                         count_include_pad=case["count_include_pad"])
    x = torch.rand(case["batch"], case["channels"], *case["size"])
    check_layer(count_example, tmp_dir, [{"pool": {"kind": case["kind"], **fields}}],
                (case["channels"], *case["size"]), case["batch"], reference, x)


@tiered(25, 75, kind=st.sampled_from(["adaptive_avgpool2d", "adaptive_maxpool2d"]), output=pairs(1, 8),
       size=pairs(1, 16), channels=st.integers(1, 4), batch=st.integers(1, 2))
def test_adaptive_pooling(count_example, tmp_dir, kind, output, size, channels, batch):
    module = nn.AdaptiveAvgPool2d if kind == "adaptive_avgpool2d" else nn.AdaptiveMaxPool2d
    check_layer(count_example, tmp_dir, [{"pool": {"kind": kind, "output_size": list(output)}}], (channels, *size), batch,
                lambda: module(output), torch.rand(batch, channels, *size))


@tiered(25, 75, features=st.integers(1, 64), out=st.integers(1, 64), bias=st.booleans(), batch=st.integers(1, 3))
def test_linear(count_example, tmp_dir, features, out, bias, batch):
    layers = [{"flatten": "flatten"}, {"fc": {"kind": "linear", "out": out, "bias": bias}}]
    check_layer(count_example, tmp_dir, layers, (features, 1, 1), batch, lambda: nn.Linear(features, out, bias=bias),
                torch.rand(batch, features))


@tiered(25, 75, channels=st.integers(1, 16), size=pairs(1, 6), affine=st.booleans(), running=st.booleans(),
       batch=st.integers(1, 3))
def test_batchnorm2d(count_example, tmp_dir, channels, size, affine, running, batch):
    layers = [{"bn": {"kind": "batchnorm2d", "affine": affine, "track_running_stats": running}}]
    reference = lambda: nn.BatchNorm2d(channels, affine=affine, track_running_stats=running)
    check_layer(count_example, tmp_dir, layers, (channels, *size), batch, reference, torch.rand(batch, channels, *size))


# Maps with one and three spatial axes: the same rules along each axis, drawn per number of axes.
AXES = st.sampled_from([1, 3])
LARGEST = {1: 40, 3: 9}
"""The largest size drawn along an axis, by number of axes (a 3-D case stays small)."""


def each_axis(draw, axes: int, low: int, high: int) -> tuple[int, ...]:
    return tuple(draw(st.integers(low, high)) for _ in range(axes))


def listed(value):
    return list(value) if isinstance(value, tuple) else value


@st.composite
def conv_nd_cases(draw):
    axes = draw(AXES)
    groups = draw(st.integers(1, 4))
    divisible = draw(st.integers(0, 5)) > 0
    c_in = groups * draw(st.integers(1, 3)) if divisible else draw(st.integers(1, 9))
    c_out = groups * draw(st.integers(1, 3)) if divisible else draw(st.integers(1, 9))
    padding = "same" if draw(st.integers(0, 5)) == 0 else each_axis(draw, axes, 0, 3)
    return {"axes": axes, "c_in": c_in, "out": c_out, "kernel": each_axis(draw, axes, 1, 7 if axes == 1 else 4),
                "stride": each_axis(draw, axes, 1, 3), "padding": padding, "dilation": each_axis(draw, axes, 1, 3),
                "groups": groups, "bias": draw(st.booleans()), "size": each_axis(draw, axes, 1, LARGEST[axes]),
                "batch": draw(st.integers(1, 2))}


@tiered(60, 240, case=conv_nd_cases())
def test_conv1d_and_conv3d(count_example, tmp_dir, case):
    axes = case["axes"]
    fields = {k: listed(case[k]) for k in ("out", "kernel", "stride", "padding", "dilation", "groups", "bias")}
    x = torch.rand(case["batch"], case["c_in"], *case["size"])
    module = getattr(nn, f"Conv{axes}d")
    reference = lambda: module(case["c_in"], case["out"], case["kernel"], stride=case["stride"],
                               padding=case["padding"], dilation=case["dilation"], groups=case["groups"],
                               bias=case["bias"])
    check_layer(count_example, tmp_dir, [{"conv": {"kind": f"conv{axes}d", **fields}}], (case["c_in"], *case["size"]),
                case["batch"], reference, x)


@st.composite
def pool_nd_cases(draw):
    axes = draw(AXES)
    kernel = each_axis(draw, axes, 1, 5 if axes == 1 else 3)
    limit = [k // 2 + (1 if draw(st.integers(0, 6)) == 0 else 0) for k in kernel]  # sometimes past torch's
    return {"axes": axes, "operation": draw(st.sampled_from(["max", "avg"])), "kernel": kernel,
                "stride": None if draw(st.booleans()) else each_axis(draw, axes, 1, 3),
                "padding": tuple(draw(st.integers(0, top)) for top in limit),
                "dilation": each_axis(draw, axes, 1, 3), "ceil_mode": draw(st.booleans()),
                "count_include_pad": draw(st.booleans()), "channels": draw(st.integers(1, 4)),
                "size": each_axis(draw, axes, 1, LARGEST[axes]), "batch": draw(st.integers(1, 2))}


@tiered(50, 150, case=pool_nd_cases())
def test_pooling_1d_and_3d(count_example, tmp_dir, case):
    axes, kind = case["axes"], f"{case['operation']}pool{case['axes']}d"
    fields = {"kernel": list(case["kernel"]), "padding": list(case["padding"]), "ceil_mode": case["ceil_mode"]}
    if case["stride"]:
        fields["stride"] = list(case["stride"])
    if case["operation"] == "max":
        fields["dilation"] = list(case["dilation"])
        module = getattr(nn, f"MaxPool{axes}d")
        reference = lambda: module(case["kernel"], stride=case["stride"], padding=case["padding"],
                                   dilation=case["dilation"], ceil_mode=case["ceil_mode"])
    else:
        fields["count_include_pad"] = case["count_include_pad"]
        module = getattr(nn, f"AvgPool{axes}d")
        reference = lambda: module(case["kernel"], stride=case["stride"], padding=case["padding"],
                                   ceil_mode=case["ceil_mode"], count_include_pad=case["count_include_pad"])
    x = torch.rand(case["batch"], case["channels"], *case["size"])
    check_layer(count_example, tmp_dir, [{"pool": {"kind": kind, **fields}}], (case["channels"], *case["size"]),
                case["batch"], reference, x)


@st.composite
def adaptive_nd_cases(draw):
    axes = draw(AXES)
    return {"axes": axes, "operation": draw(st.sampled_from(["avg", "max"])),
                "output": each_axis(draw, axes, 1, 8 if axes == 1 else 4), "size": each_axis(draw, axes, 1, LARGEST[axes]),
                "channels": draw(st.integers(1, 4)), "batch": draw(st.integers(1, 2))}


@tiered(25, 75, case=adaptive_nd_cases())
def test_adaptive_pooling_1d_and_3d(count_example, tmp_dir, case):
    axes, operation = case["axes"], case["operation"]
    module = getattr(nn, f"Adaptive{operation.capitalize()}Pool{axes}d")
    check_layer(count_example, tmp_dir, [{"pool": {"kind": f"adaptive_{operation}pool{axes}d",
                                                   "output_size": list(case["output"])}}],
                (case["channels"], *case["size"]), case["batch"], lambda: module(case["output"]),
                torch.rand(case["batch"], case["channels"], *case["size"]))


@tiered(25, 75, axes=AXES, channels=st.integers(1, 16), size=st.integers(1, 5), affine=st.booleans(),
       running=st.booleans(), batch=st.integers(1, 3))
def test_batchnorm1d_and_3d(count_example, tmp_dir, axes, channels, size, affine, running, batch):
    sizes = (size,) * axes
    layers = [{"bn": {"kind": f"batchnorm{axes}d", "affine": affine, "track_running_stats": running}}]
    module = getattr(nn, f"BatchNorm{axes}d")
    reference = lambda: module(channels, affine=affine, track_running_stats=running)
    check_layer(count_example, tmp_dir, layers, (channels, *sizes), batch, reference, torch.rand(batch, channels, *sizes))


@tiered(15, 45, channels=st.integers(1, 16), affine=st.booleans(), running=st.booleans(), batch=st.integers(1, 3))
def test_batchnorm1d_of_a_flat_input(count_example, tmp_dir, channels, affine, running, batch):
    layers = [{"flat": "flatten"}, {"bn": {"kind": "batchnorm1d", "affine": affine, "track_running_stats": running}}]
    reference = lambda: nn.BatchNorm1d(channels, affine=affine, track_running_stats=running)
    check_layer(count_example, tmp_dir, layers, (channels, 1, 1), batch, reference, torch.rand(batch, channels))


@st.composite
def transposed_cases(draw):
    axes = draw(st.sampled_from([1, 2, 3]))
    groups = draw(st.integers(1, 3))
    divisible = draw(st.integers(0, 5)) > 0
    c_in = groups * draw(st.integers(1, 3)) if divisible else draw(st.integers(1, 7))
    c_out = groups * draw(st.integers(1, 3)) if divisible else draw(st.integers(1, 7))
    stride, dilation = each_axis(draw, axes, 1, 3), each_axis(draw, axes, 1, 3)
    # output padding mostly below the stride or the dilation (torch's limit), sometimes not
    output_padding = tuple(draw(st.integers(0, max(s, d) - (0 if draw(st.integers(0, 7)) == 0 else 1)))
                           for s, d in zip(stride, dilation))
    return {"axes": axes, "c_in": c_in, "out": c_out, "kernel": each_axis(draw, axes, 1, 5 if axes < 3 else 3),
                "stride": stride, "padding": each_axis(draw, axes, 0, 3), "output_padding": output_padding,
                "dilation": dilation, "groups": groups, "bias": draw(st.booleans()),
                "size": each_axis(draw, axes, 1, {1: 20, 2: 9, 3: 5}[axes]), "batch": draw(st.integers(1, 2))}


@tiered(60, 240, case=transposed_cases())
def test_transposed_convolution(count_example, tmp_dir, case):
    axes = case["axes"]
    fields = {k: listed(case[k]) for k in ("out", "kernel", "stride", "padding", "output_padding", "dilation",
                                            "groups", "bias")}
    module = getattr(nn, f"ConvTranspose{axes}d")
    reference = lambda: module(case["c_in"], case["out"], case["kernel"], stride=case["stride"],
                               padding=case["padding"], output_padding=case["output_padding"],
                               groups=case["groups"], bias=case["bias"], dilation=case["dilation"])
    check_layer(count_example, tmp_dir, [{"up": {"kind": f"conv_transpose{axes}d", **fields}}],
                (case["c_in"], *case["size"]), case["batch"], reference,
                torch.rand(case["batch"], case["c_in"], *case["size"]))


class Interpolate(nn.Module):
    """F.interpolate as the test writes it: by factors, to a size, or to a second input's size."""

    def __init__(self, size, scale, mode, align_corners):
        super().__init__()
        self.size, self.scale, self.mode, self.align_corners = size, scale, mode, align_corners

    def forward(self, x, *reference):
        size = tuple(reference[0].shape[2:]) if reference else self.size
        scale = None if size else tuple(float(s) for s in self.scale)
        return nn.functional.interpolate(x, size=size, scale_factor=scale, mode=self.mode,
                                         align_corners=self.align_corners)


@st.composite
def upsample_cases(draw):
    axes = draw(st.sampled_from([1, 2, 3]))
    largest = {1: 12, 2: 7, 3: 4}[axes]
    how = draw(st.sampled_from(["scale", "size", "reference"]))
    mode = draw(st.sampled_from(["nearest", {1: "linear", 2: "bilinear", 3: "trilinear"}[axes]]))
    return {"axes": axes, "how": how, "mode": mode, "align_corners": draw(st.booleans()) if mode != "nearest" else False,
                "scale": each_axis(draw, axes, 1, 3), "size": each_axis(draw, axes, 1, 2 * largest),
                "input": each_axis(draw, axes, 1, largest), "channels": draw(st.integers(1, 3)), "batch": draw(st.integers(1, 2))}


@tiered(50, 200, case=upsample_cases())
def test_upsampling(count_example, tmp_dir, case):
    """By factors, to a size, or to the size of another layer's output (a 1×1 convolution of the
    input padded by `size − input`: only its shape is read)."""
    axes, how = case["axes"], case["how"]
    fields = {"mode": case["mode"], **({"align_corners": True} if case["align_corners"] else {})}
    layers, inputs = [], [torch.rand(case["batch"], case["channels"], *case["input"])]
    if how == "reference":
        grow = [max(0, g - n) for g, n in zip(case["size"], case["input"])]
        layers.append({"ref": {"kind": f"pad{axes}d", "padding": grow}})
        fields["from"] = ["input", "ref"]
        inputs.append(torch.rand(case["batch"], case["channels"], *(n + 2 * g for n, g in zip(case["input"], grow))))
    else:
        fields[how] = list(case[how])
    layers.append({"up": {"kind": f"upsample{axes}d", **fields}})
    size = case["size"] if how == "size" else None
    reference = lambda: Interpolate(size, case["scale"], case["mode"],
                                    None if case["mode"] == "nearest" else case["align_corners"])
    check_layer(count_example, tmp_dir, layers, (case["channels"], *case["input"]), case["batch"], reference, inputs)


@tiered(20, 60, factor=st.integers(1, 3), channels=st.integers(1, 12), size=pairs(1, 6), batch=st.integers(1, 2))
def test_pixel_shuffle(count_example, tmp_dir, factor, channels, size, batch):
    check_layer(count_example, tmp_dir, [{"shuffle": {"kind": "pixel_shuffle", "factor": factor}}], (channels, *size),
                batch, lambda: nn.PixelShuffle(factor), torch.rand(batch, channels, *size))


class CentreOrPad(nn.Module):
    """The test's own crop (slicing) and pad (F.pad), to a size or to a second input's size."""

    def __init__(self, crop: bool, sizes, padding):
        super().__init__()
        self.crop, self.sizes, self.padding = crop, sizes, padding

    def forward(self, x, *reference):
        goal = tuple(reference[0].shape[2:]) if reference else self.sizes
        if self.crop:
            if any(g > n for g, n in zip(goal, x.shape[2:])):
                raise ValueError("a crop larger than its input")
            return x[(slice(None), slice(None), *(slice((n - g) // 2, (n - g) // 2 + g) for n, g in zip(x.shape[2:], goal)))]
        if reference:
            extra = [g - n for n, g in zip(x.shape[2:], goal)]
            if min(extra) < 0:
                raise ValueError("a pad to a smaller size")
            sides = [(e // 2, e - e // 2) for e in extra]
        else:
            sides = [(p, p) for p in self.padding]
        return nn.functional.pad(x, [side for pair in reversed(sides) for side in pair])


@st.composite
def crop_pad_cases(draw):
    axes = draw(st.sampled_from([1, 2, 3]))
    largest = {1: 20, 2: 9, 3: 5}[axes]
    return {"axes": axes, "crop": draw(st.booleans()), "reference": draw(st.booleans()),
                "input": each_axis(draw, axes, 1, largest), "other": each_axis(draw, axes, 1, largest),
                "padding": each_axis(draw, axes, 0, 3), "channels": draw(st.integers(1, 3)), "batch": draw(st.integers(1, 2))}


@tiered(40, 160, case=crop_pad_cases())
def test_crop_and_pad(count_example, tmp_dir, case):
    """To a size given (crop: `other`; pad: `padding`), or to the size of another input: an average pooling of
    the input to `other` (adaptive, so any size), whose values are not read. Larger crops and smaller pads are
    refused, by archcalc as by the test's module."""
    axes, kind = case["axes"], f"{'crop' if case['crop'] else 'pad'}{case['axes']}d"
    layers, inputs = [], [torch.rand(case["batch"], case["channels"], *case["input"])]
    if case["reference"]:
        layers.append({"ref": {"kind": f"adaptive_avgpool{axes}d", "output_size": list(case["other"])}})
        fields = {"from": ["input", "ref"]}
        inputs.append(torch.rand(case["batch"], case["channels"], *case["other"]))
    else:
        fields = {"size": list(case["other"])} if case["crop"] else {"padding": list(case["padding"])}
    layers.append({"resized": {"kind": kind, **fields}})
    reference = lambda: CentreOrPad(case["crop"], case["other"], case["padding"])
    check_layer(count_example, tmp_dir, layers, (case["channels"], *case["input"]), case["batch"], reference, inputs)


@tiered(20, 40, channels=st.integers(1, 12), groups=st.integers(1, 6), size=pairs(1, 5), batch=st.integers(1, 2))
def test_channel_shuffle(count_example, tmp_dir, channels, groups, size, batch):
    check_layer(count_example, tmp_dir, [{"shuffle": {"kind": "channel_shuffle", "groups": groups}}],
                (channels, *size), batch, lambda: nn.ChannelShuffle(groups), torch.rand(batch, channels, *size))


class Mean(nn.Module):
    def __init__(self, keepdim: bool) -> None:
        super().__init__()
        self.keepdim = keepdim

    def forward(self, x):
        return x.mean([2, 3], keepdim=self.keepdim)


@tiered(15, 25, channels=st.integers(1, 8), size=pairs(1, 9), keepdim=st.booleans(), batch=st.integers(1, 2))
def test_mean(count_example, tmp_dir, channels, size, keepdim, batch):
    check_layer(count_example, tmp_dir, [{"pool": {"kind": "mean", "keepdim": keepdim}}], (channels, *size), batch,
                lambda: Mean(keepdim), torch.rand(batch, channels, *size))


class Chunk(nn.Module):
    """One slice of torch.chunk along the channels, as ShuffleNet V2 calls it."""

    def __init__(self, parts: int, take: int) -> None:
        super().__init__()
        self.parts, self.take = parts, take

    def forward(self, x):
        return torch.chunk(x, self.parts, dim=1)[self.take]


@tiered(20, 40, slices=st.integers(1, 4), width=st.integers(1, 4), parts=st.integers(1, 5), take=st.integers(-5, 5),
       uneven=st.integers(0, 4), size=pairs(1, 5), batch=st.integers(1, 2))
def test_split(count_example, tmp_dir, slices, width, parts, take, uneven, size, batch):
    channels = slices * width + (uneven if uneven < 2 else 0)  # mostly divisible by `slices`
    layers = [{"part": {"kind": "split", "parts": parts, "take": take}}]
    if channels % parts:  # torch.chunk makes unequal slices here; archcalc refuses (docs/spec.md)
        count_example()
        with pytest.raises(SpecError, match="does not divide"):
            analyze(write_case(tmp_dir, layers, (channels, *size)), batch=batch)
        return
    check_layer(count_example, tmp_dir, layers, (channels, *size), batch, lambda: Chunk(parts, take),
                torch.rand(batch, channels, *size))


class Multiply(nn.Module):
    def forward(self, x, scale):
        return x * scale


@tiered(20, 60, channels=st.integers(1, 6), size=pairs(1, 6), scale=pairs(1, 6), ones=st.tuples(st.booleans(), st.booleans()),
       swap=st.booleans(), batch=st.integers(1, 2))
def test_multiply(count_example, tmp_dir, channels, size, scale, ones, swap, batch):
    """x times an adaptive pooling of x: a squeeze-and-excitation scale when it pools to 1×1."""
    scale = tuple(1 if one else s for one, s in zip(ones, scale))
    x = torch.rand(batch, channels, *size)
    operands = [x, nn.AdaptiveAvgPool2d(scale)(x)]
    layers = [{"pool": {"kind": "adaptive_avgpool2d", "output_size": list(scale)}},
              {"scaled": {"kind": "multiply", "from": ["pool", "input"] if swap else ["input", "pool"]}}]
    check_layer(count_example, tmp_dir, layers, (channels, *size), batch, Multiply,
                operands[::-1] if swap else operands)


# ConvNeXt's and EfficientNet's kinds, on a map as it comes, made channels-last by a permute (as ConvNeXt's
# blocks do) or flattened: the layer under test reads what that first layer gives.
LAYOUTS = st.sampled_from(["map", "channels_last", "flat"])


def laid_out(layout: str, batch: int, channels: int, size: tuple) -> tuple[list[dict], torch.Tensor]:
    """The layers that put the input in `layout`, and a tensor of the shape they give."""
    if layout == "channels_last":
        return [{"to_last": {"kind": "permute", "dims": [0, 2, 3, 1]}}], torch.rand(batch, *size, channels)
    if layout == "flat":
        return [{"flat": "flatten"}], torch.rand(batch, channels * size[0] * size[1])
    return [], torch.rand(batch, channels, *size)


class LayerNorm2d(nn.LayerNorm):
    """torchvision's LayerNorm2d of ConvNeXt, written as torchvision 0.29 does (models/convnext.py)."""

    def forward(self, x):
        x = x.permute(0, 2, 3, 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


@tiered(30, 90, kind=st.sampled_from(["layer_norm", "channel_layer_norm"]), layout=LAYOUTS,
        channels=st.integers(1, 8), size=pairs(1, 5), eps=st.sampled_from([1e-5, 1e-6]), affine=st.booleans(),
        bias=st.booleans(), batch=st.integers(1, 2))
def test_layer_norm(count_example, tmp_dir, kind, layout, channels, size, eps, affine, bias, batch):
    """Over the last axis (torch.nn.LayerNorm) or the channels (LayerNorm2d, which torch refuses to run on a
    flat input)."""
    layers, x = laid_out(layout, batch, channels, size)
    layers.append({"norm": {"kind": kind, "eps": eps, "elementwise_affine": affine, "bias": bias}})
    module = nn.LayerNorm if kind == "layer_norm" else LayerNorm2d
    normalised = x.shape[-1] if kind == "layer_norm" else x.shape[1]
    reference = lambda: module(normalised, eps=eps, elementwise_affine=affine, bias=bias)
    check_layer(count_example, tmp_dir, layers, (channels, *size), batch, reference, x)


class Permute(nn.Module):
    """torchvision.ops.misc.Permute."""

    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return torch.permute(x, self.dims)


@st.composite
def permute_cases(draw):
    axes = draw(st.sampled_from([1, 2, 3]))
    rank = axes + 2
    dims = list(draw(st.permutations(range(rank))))
    dims = [d - rank if draw(st.integers(0, 3)) == 0 else d for d in dims]  # some counted from the end
    fault = draw(st.sampled_from([None] * 6 + ["twice", "outside", "short", "long"]))
    if fault == "twice":
        dims[draw(st.integers(0, rank - 1))] = dims[draw(st.integers(0, rank - 1))]
    elif fault == "outside":
        dims[draw(st.integers(0, rank - 1))] = draw(st.sampled_from([rank, rank + 1, -rank - 1]))
    elif fault == "short":
        dims = dims[:-1]
    elif fault == "long":
        dims = [*dims, draw(st.integers(-rank, rank - 1))]
    return {"dims": dims, "size": each_axis(draw, axes, 1, {1: 9, 2: 6, 3: 4}[axes]),
            "channels": draw(st.integers(1, 5)), "batch": draw(st.integers(1, 2))}


@tiered(30, 90, case=permute_cases())
def test_permute(count_example, tmp_dir, case):
    """Any permutation of the dimensions of a 1-, 2- or 3-D map; dims that name one twice, one out of
    range, or too few or many are refused, by torch as by archcalc."""
    x = torch.rand(case["batch"], case["channels"], *case["size"])
    check_layer(count_example, tmp_dir, [{"moved": {"kind": "permute", "dims": case["dims"]}}],
                (case["channels"], *case["size"]), case["batch"], lambda: Permute(case["dims"]), x)


@tiered(25, 75, axes=st.sampled_from([1, 2, 3]), layout=LAYOUTS, features=st.integers(1, 9), out=st.integers(1, 9),
        bias=st.booleans(), batch=st.integers(1, 2))
def test_linear_on_any_input(count_example, tmp_dir, axes, layout, features, out, bias, batch):
    """torch.nn.Linear acts on the last axis of any input: W of a map, the channels of a channels-last one."""
    sizes = (3, 2, features)[-axes:]
    if axes == 2:
        layers, x = laid_out(layout, batch, 4, sizes)
    else:
        layers, x = [], torch.rand(batch, 4, *sizes)
    layers.append({"fc": {"kind": "linear", "out": out, "bias": bias}})
    check_layer(count_example, tmp_dir, layers, (4, *sizes), batch, lambda: nn.Linear(x.shape[-1], out, bias=bias), x)


class LayerScale(nn.Module):
    """ConvNeXt's layer scale: a (C, 1, 1) parameter times a map (torchvision's CNBlock), or a (C,) one times a
    channels-last input."""

    def __init__(self, shape, init):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(shape) * init)

    def forward(self, x):
        return self.weight * x


@tiered(20, 60, over=st.sampled_from(["channels", "last"]), layout=LAYOUTS, channels=st.integers(1, 8),
        size=pairs(1, 5), init=st.sampled_from([1e-6, 0.1, 1.0]), batch=st.integers(1, 2))
def test_layer_scale(count_example, tmp_dir, over, layout, channels, size, init, batch):
    layers, x = laid_out(layout, batch, channels, size)
    layers.append({"scale": {"kind": "layer_scale", "over": over, "init": init}})
    shape = (x.shape[-1],) if over == "last" else (x.shape[1], *[1] * (x.dim() - 2))
    check_layer(count_example, tmp_dir, layers, (channels, *size), batch, lambda: LayerScale(shape, init), x)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth in eval mode, written as torchvision 0.29 does: it checks p and the mode,
    then returns its input."""

    def __init__(self, p, mode):
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x):
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"drop probability has to be between 0 and 1, but got {self.p}")
        if self.mode not in ("batch", "row"):
            raise ValueError(f"mode has to be either 'batch' or 'row', but got {self.mode}")
        assert not self.training
        return x


@tiered(20, 60, p=st.one_of(st.floats(0, 1), st.sampled_from([-0.1, 1.5, 20])),
        mode=st.sampled_from(["row", "row", "batch", "rows"]), channels=st.integers(1, 4), size=pairs(1, 4),
        batch=st.integers(1, 2))
def test_stochastic_depth(count_example, tmp_dir, p, mode, channels, size, batch):
    """An identity at inference; a probability outside 0 to 1 or an unknown mode refused, by torchvision as by
    archcalc."""
    layers = [{"drop": {"kind": "stochastic_depth", "p": p, "mode": mode}}]
    check_layer(count_example, tmp_dir, layers, (channels, *size), batch, lambda: StochasticDepth(p, mode),
                torch.rand(batch, channels, *size))


# Small random networks: a stem of single layers, a residual group (identity or projection
# shortcut), a concat of two branches, and sometimes a classifier head. Each is written as a
# spec and also as a plain torch program here; both must compute the same function.

def torch_layer(fields: dict, channels: int) -> nn.Module:
    """The torch module a spec layer describes, mapped here field by field (not by archcalc)."""
    kind = fields["kind"]
    if kind == "conv2d":
        return nn.Conv2d(channels, fields["out"], fields["kernel"], stride=fields["stride"],
                         padding=fields["padding"], bias=fields["bias"])
    if kind == "maxpool2d":
        return nn.MaxPool2d(fields["kernel"], stride=fields["stride"], padding=fields["padding"])
    simple = {"batchnorm2d": lambda: nn.BatchNorm2d(channels), "relu": nn.ReLU, "flatten": nn.Flatten,
              "adaptive_avgpool2d": lambda: nn.AdaptiveAvgPool2d(1)}
    if kind in simple:
        return simple[kind]()
    assert kind == "linear"
    return nn.Linear(channels, fields["out"])


@st.composite
def single_layer(draw, size: list[int], channels: int, kinds=("conv2d", "batchnorm2d", "relu", "maxpool2d")):
    """(fields, channels after it); may shrink `size` in place, never below 2."""
    kind = draw(st.sampled_from(kinds))
    stride = 2 if min(size) >= 4 and draw(st.booleans()) else 1
    if kind == "conv2d":
        kernel = draw(st.sampled_from([1, 3]))
        out = draw(st.integers(1, 6))
        fields = {"kind": kind, "out": out, "kernel": kernel, "stride": stride,
                  "padding": kernel // 2, "bias": draw(st.booleans())}
    elif kind == "maxpool2d":
        fields = {"kind": kind, "kernel": 3, "stride": stride, "padding": 1}
        out = channels
    else:
        fields, out = {"kind": kind}, channels
    if stride == 2 and kind in ("conv2d", "maxpool2d"):
        size[:] = [(s - 1) // 2 + 1 for s in size]
    return fields, out


@st.composite
def networks(draw):
    channels = draw(st.integers(1, 4))
    size = [draw(st.integers(4, 14)), draw(st.integers(4, 14))]
    input_chw = (channels, *size)
    stages = []
    for index in range(draw(st.integers(1, 3))):
        fields, out = draw(single_layer(size, channels))
        stages.append(("layer", f"stem{index}", [(fields, channels)]))
        channels = out
    # residual: conv (stride 1 or 2), bn, [relu]; identity shortcut when shapes allow
    width = draw(st.integers(1, 6))
    stride = 2 if min(size) >= 4 and draw(st.booleans()) else 1
    body = [({"kind": "conv2d", "out": width, "kernel": 3, "stride": stride, "padding": 1, "bias": False},
             channels), ({"kind": "batchnorm2d"}, width)]
    shortcut = []
    if stride != 1 or width != channels or draw(st.booleans()):
        shortcut = [({"kind": "conv2d", "out": width, "kernel": 1, "stride": stride, "padding": 0,
                      "bias": False}, channels)]
    stages.append(("residual", "res", body, shortcut))
    channels = width
    if stride == 2:
        size[:] = [(s - 1) // 2 + 1 for s in size]
    # concat of a 1×1 conv and either a 3×3 conv or a 3×3 max pool, both keeping the size
    a = draw(st.integers(1, 5))
    branch_b = draw(st.sampled_from(["conv2d", "maxpool2d"]))
    b_fields = ({"kind": "conv2d", "out": draw(st.integers(1, 5)), "kernel": 3, "stride": 1, "padding": 1,
                 "bias": True} if branch_b == "conv2d" else
                {"kind": "maxpool2d", "kernel": 3, "stride": 1, "padding": 1})
    stages.append(("concat", "mix",
                   [({"kind": "conv2d", "out": a, "kernel": 1, "stride": 1, "padding": 0, "bias": True}, channels)],
                   [(b_fields, channels)]))
    channels = a + (b_fields["out"] if branch_b == "conv2d" else channels)
    if draw(st.booleans()):
        out = draw(st.integers(1, 10))
        stages += [("layer", "pool", [({"kind": "adaptive_avgpool2d", "output_size": 1}, channels)]),
                   ("layer", "flatten", [({"kind": "flatten"}, channels)]),
                   ("layer", "fc", [({"kind": "linear", "out": out}, channels)])]
    return input_chw, draw(st.integers(1, 2)), stages


def spec_layers(stages) -> list[dict]:
    items = []
    for stage in stages:
        name = stage[1]
        if stage[0] == "layer":
            items.append({name: stage[2][0][0]})
        elif stage[0] == "residual":
            body = [{f"body{i}": f} for i, (f, _) in enumerate(stage[2])]
            short = [{f"short{i}": ({**f, "from": "input"} if i == 0 else f)} for i, (f, _) in enumerate(stage[3])]
            ends = [f"body{len(stage[2]) - 1}", f"short{len(stage[3]) - 1}" if stage[3] else "input"]
            items.append({name: {"layers": [*body, *short, {"add": {"kind": "add", "from": ends}}]}})
        else:
            left = [{f"a{i}": f} for i, (f, _) in enumerate(stage[2])]
            right = [{f"b{i}": ({**f, "from": "input"} if i == 0 else f)} for i, (f, _) in enumerate(stage[3])]
            ends = [f"a{len(stage[2]) - 1}", f"b{len(stage[3]) - 1}"]
            items.append({name: {"layers": [*left, *right, {"cat": {"kind": "concat", "from": ends}}]}})
    return items


def reference_modules(stages) -> dict[str, nn.Module]:
    modules = {}
    for stage in stages:
        if stage[0] == "layer":
            modules[stage[1]] = torch_layer(*stage[2][0])
            continue
        prefixes = ("body", "short") if stage[0] == "residual" else ("a", "b")
        for prefix, layers in zip(prefixes, stage[2:]):
            for i, (fields, channels) in enumerate(layers):
                modules[f"{stage[1]}.{prefix}{i}"] = torch_layer(fields, channels)
    return modules


def reference_forward(stages, modules: dict[str, nn.Module], x):
    """The network as a plain torch program: residual y + x, concat torch.cat."""
    for stage in stages:
        name = stage[1]
        if stage[0] == "layer":
            x = modules[name](x)
            continue
        prefixes = ("body", "short") if stage[0] == "residual" else ("a", "b")
        outputs = []
        for prefix, layers in zip(prefixes, stage[2:]):
            y = x
            for i in range(len(layers)):
                y = modules[f"{name}.{prefix}{i}"](y)
            outputs.append(y)
        x = outputs[0] + outputs[1] if stage[0] == "residual" else torch.cat(outputs, dim=1)
    return x


@tiered(10, 90, network=networks())
def test_random_networks_validate_and_compute_the_same_function(count_example, tmp_dir, network):
    count_example()
    input_chw, batch, stages = network
    path = write_case(tmp_dir, spec_layers(stages), input_chw)
    result = validate(path, batch=batch, device="cpu", runs=0)
    assert result.ok, (result.error, [(row.name, check) for row, check in result.differences])
    assert len(result.layers) == len(reference_modules(stages)) + sum(s[0] != "layer" for s in stages)

    model = build_torch(path, batch=batch).eval()
    modules = reference_modules(stages)
    for name, module in modules.items():
        module.load_state_dict(model.get_submodule(name).state_dict())
        module.eval()
    x = torch.randn(batch, *input_chw)
    with torch.no_grad():
        assert torch.equal(model(x), reference_forward(stages, modules, x))
