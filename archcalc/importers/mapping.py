"""What each torch module and function becomes: one table, as data, of layer kind and fields.

A module is looked up by its exact class (a subclass may compute something else in its own
forward), a function by the function itself, a tensor method by its name. Each rule gives the
layer kind (for kinds per number of spatial axes, a pattern such as "conv{axes}d") and a function
that reads the kind's fields from the call; a rule's `refuse` says why a call it cannot keep exact
is refused instead.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from archcalc.importers.common import Unsupported
from archcalc.importers.common import pair as _pair
from archcalc.layers.resize import INTERPOLATION
from archcalc.torchmodel import modules as own

Shape = tuple[int, ...]


class Call(NamedTuple):
    """One traced call: the module (or None), its positional and keyword arguments as values
    (tensors as they ran), the shapes of its tensor inputs, and its output shape."""

    module: nn.Module | None
    args: tuple
    kwargs: dict
    shapes: list[Shape]
    out: Shape

    def arg(self, index: int, name: str, default: Any = None) -> Any:
        """An argument given by position or by keyword."""
        if len(self.args) > index:
            return self.args[index]
        return self.kwargs.get(name, default)

    @property
    def axes(self) -> int:
        return len(self.shapes[0]) - 2


class Rule(NamedTuple):
    kind: str
    """The layer kind; `{axes}` is replaced by the number of spatial axes of the input."""
    fields: Callable[[Call], dict] = lambda call: {}


# --- modules -------------------------------------------------------------------------------

def _conv(call: Call) -> dict:
    m = call.module
    if m.padding_mode != "zeros":
        raise Unsupported(f"padding_mode '{m.padding_mode}' (archcalc's convolutions pad with zeros)")
    fields = {"out": m.out_channels, "kernel": _pair(m.kernel_size), "stride": _pair(m.stride),
              "padding": m.padding if isinstance(m.padding, str) else _pair(m.padding),
              "dilation": _pair(m.dilation), "groups": m.groups, "bias": m.bias is not None}
    if isinstance(m, nn.modules.conv._ConvTransposeNd):
        if call.arg(1, "output_size") is not None:
            raise Unsupported("output_size given at the call (archcalc's transposed convolution takes the "
                              "module's output_padding)")
        fields["output_padding"] = _pair(m.output_padding)
    return fields


def _batchnorm(call: Call) -> dict:
    m = call.module
    if m.momentum is None:
        raise Unsupported("momentum None (a cumulative average): archcalc's batch norm takes a number")
    return {"eps": m.eps, "momentum": m.momentum, "affine": m.affine, "track_running_stats": m.track_running_stats}


def _layer_norm(call: Call) -> dict:
    if list(call.module.normalized_shape) != [call.shapes[0][-1]]:
        raise Unsupported(f"normalized_shape {tuple(call.module.normalized_shape)}: archcalc's layer_norm "
                          "normalises the last axis")
    return _norm_fields(call)


def _norm_fields(call: Call) -> dict:
    m = call.module
    return {"eps": m.eps, "elementwise_affine": m.elementwise_affine,
            "bias": m.bias is not None or not m.elementwise_affine}


def _max_pool(call: Call) -> dict:
    m = call.module
    if m.return_indices:
        raise Unsupported("return_indices")
    return {"kernel": _pair(m.kernel_size), "stride": _pair(m.stride), "padding": _pair(m.padding),
            "ceil_mode": m.ceil_mode, "dilation": _pair(m.dilation)}


def _avg_pool(call: Call) -> dict:
    m = call.module
    if getattr(m, "divisor_override", None) is not None:
        raise Unsupported("divisor_override")
    return {"kernel": _pair(m.kernel_size), "stride": _pair(m.stride), "padding": _pair(m.padding),
            "ceil_mode": m.ceil_mode, "count_include_pad": m.count_include_pad}


def _adaptive(call: Call) -> dict:
    if call.module.return_indices if hasattr(call.module, "return_indices") else False:
        raise Unsupported("return_indices")
    return _adaptive_size(call, call.module.output_size)


def _adaptive_size(call: Call, given: Any) -> dict:
    """An adaptive pooling's output size; Unsupported where an axis's is None (the input's size
    along it): written as the traced size, the spec kept it at another input, the model did not."""
    if None in (given if isinstance(given, (tuple, list)) else [given]):
        raise Unsupported(f"output size {tuple(given)} (None keeps the input's size along an axis; archcalc's adaptive "
                          "pooling takes a number for each)")
    return {"output_size": _pair(list(call.out[2:]))}


def _upsample(call: Call) -> dict:
    m = call.module
    return _resize(call, m.size, m.scale_factor, m.mode, m.align_corners)


def _resize(call: Call, size: Any, scale: Any, mode: str, align_corners: bool | None) -> dict:
    """Upsampling to the output's size, or by whole-number factors where a scale was given."""
    modes = INTERPOLATION.get(call.axes, ())
    if mode not in modes:
        raise Unsupported(f"mode '{mode}' (archcalc upsamples {call.axes}-axis maps by {' or '.join(modes) or 'none'})")
    fields: dict = {"mode": mode, "align_corners": bool(align_corners)}
    if size is None and scale is not None:
        factors = [scale] * call.axes if not isinstance(scale, (tuple, list)) else list(scale)
        if not all(float(f).is_integer() for f in factors):
            raise Unsupported(f"scale factor {scale} (archcalc upsamples by whole numbers or to a size)")
        fields["scale"] = _pair([int(f) for f in factors])
    else:
        fields["size"] = _pair(list(call.out[2:]))
    if len(call.shapes) > 1:
        del fields["size"]  # to the second input's size
    return fields


def _own_upsample(call: Call) -> dict:
    m = call.module
    return _resize(call, m.size, m.scale, m.mode, m.align_corners)


def _layer_scale(call: Call) -> dict:
    return {"over": "channels" if call.module.weight.dim() > 1 else "last"}


def _flatten_module(call: Call) -> dict:
    return {"start_dim": call.module.start_dim, "end_dim": call.module.end_dim}


def _attributes(**names: str) -> Callable[[Call], dict]:
    """Fields read from the module's attributes of the given names (field=attribute)."""
    return lambda call: {field: getattr(call.module, attribute) for field, attribute in names.items()}


def _gelu_module(call: Call) -> dict:
    return _gelu_approximation(call.module.approximate)


def _gelu_approximation(approximate: str) -> dict:
    if approximate != "none":
        raise Unsupported(f"approximate='{approximate}' (archcalc's gelu is the exact one)")
    return {}


def _softmax_module(call: Call) -> dict:
    if call.module.dim is None:
        raise Unsupported("dim None")
    return {"dim": call.module.dim}


def _pad_module(call: Call) -> dict:
    return {"padding": _pair(call.module.padding), "value": call.module.value} if call.module.padding is not None else {}


def _crop_module(call: Call) -> dict:
    return {"size": _pair(call.module.size)} if call.module.size is not None else {}


MODULES: dict[type, Rule] = {
    **{cls: Rule(f"conv{n}d", _conv) for n, cls in ((1, nn.Conv1d), (2, nn.Conv2d), (3, nn.Conv3d))},
    **{cls: Rule(f"conv_transpose{n}d", _conv)
       for n, cls in ((1, nn.ConvTranspose1d), (2, nn.ConvTranspose2d), (3, nn.ConvTranspose3d))},
    nn.Linear: Rule("linear", lambda c: {"out": c.module.out_features, "bias": c.module.bias is not None}),
    **{cls: Rule(f"batchnorm{n}d", _batchnorm)
       for n, cls in ((1, nn.BatchNorm1d), (2, nn.BatchNorm2d), (3, nn.BatchNorm3d))},
    nn.LayerNorm: Rule("layer_norm", _layer_norm),
    nn.LocalResponseNorm: Rule("lrn", _attributes(size="size", alpha="alpha", beta="beta", k="k")),
    **{cls: Rule(f"maxpool{n}d", _max_pool) for n, cls in ((1, nn.MaxPool1d), (2, nn.MaxPool2d), (3, nn.MaxPool3d))},
    **{cls: Rule(f"avgpool{n}d", _avg_pool) for n, cls in ((1, nn.AvgPool1d), (2, nn.AvgPool2d), (3, nn.AvgPool3d))},
    **{cls: Rule(f"adaptive_avgpool{n}d", _adaptive)
       for n, cls in ((1, nn.AdaptiveAvgPool1d), (2, nn.AdaptiveAvgPool2d), (3, nn.AdaptiveAvgPool3d))},
    **{cls: Rule(f"adaptive_maxpool{n}d", _adaptive)
       for n, cls in ((1, nn.AdaptiveMaxPool1d), (2, nn.AdaptiveMaxPool2d), (3, nn.AdaptiveMaxPool3d))},
    nn.ReLU: Rule("relu"), nn.ReLU6: Rule("relu6"), nn.Sigmoid: Rule("sigmoid"), nn.Tanh: Rule("tanh"),
    nn.SiLU: Rule("silu"), nn.Hardswish: Rule("hardswish"), nn.Hardsigmoid: Rule("hardsigmoid"),
    nn.LeakyReLU: Rule("leaky_relu", _attributes(negative_slope="negative_slope")),
    nn.GELU: Rule("gelu", _gelu_module),
    nn.Softmax: Rule("softmax", _softmax_module),
    **{cls: Rule("dropout", _attributes(p="p")) for cls in (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d)},
    nn.Identity: Rule("identity"),
    nn.Flatten: Rule("flatten", _flatten_module),
    nn.ChannelShuffle: Rule("channel_shuffle", _attributes(groups="groups")),
    nn.PixelShuffle: Rule("pixel_shuffle", _attributes(factor="upscale_factor")),
    nn.Upsample: Rule("upsample{axes}d", _upsample),
    # archcalc's own modules (the models build_torch makes)
    own.Add: Rule("add"), own.Multiply: Rule("multiply"),
    own.Concat: Rule("concat", _attributes(dim="dim")),
    own.SpatialMean: Rule("mean", _attributes(keepdim="keepdim")),
    own.Split: Rule("split", _attributes(parts="parts", take="take")),
    own.ChannelShuffle: Rule("channel_shuffle", _attributes(groups="groups")),
    **{cls: Rule(f"adaptive_avgpool{n}d", _adaptive)
       for n, cls in ((1, own.AdaptiveAvgPool1d), (2, own.AdaptiveAvgPool2d), (3, own.AdaptiveAvgPool3d))},
    own.Permute: Rule("permute", lambda c: {"dims": list(c.module.dims)}),
    own.ChannelLayerNorm: Rule("channel_layer_norm", _norm_fields),
    own.LayerScale: Rule("layer_scale", _layer_scale),
    own.StochasticDepth: Rule("stochastic_depth", _attributes(p="p", mode="mode")),
    own.Upsample: Rule("upsample{axes}d", _own_upsample),
    own.Pad: Rule("pad{axes}d", _pad_module),
    own.Crop: Rule("crop{axes}d", _crop_module),
}

MODULES_BY_NAME: dict[str, Rule] = {
    "torchvision.ops.stochastic_depth.StochasticDepth": Rule("stochastic_depth", _attributes(p="p", mode="mode")),
}
"""Modules of packages archcalc does not import, by their class's module and name."""


def module_rule(module: nn.Module) -> Rule | None:
    cls = type(module)
    return MODULES.get(cls) or MODULES_BY_NAME.get(f"{cls.__module__}.{cls.__qualname__}")


# --- functions and tensor methods ------------------------------------------------------------

def _merge(call: Call) -> dict:
    if len(call.shapes) < 2 or len(call.shapes) != len([a for a in call.args if isinstance(a, torch.Tensor)]):
        raise Unsupported("an arithmetic with a constant (archcalc's add and multiply take tensors only)")
    if call.kwargs.get("alpha", 1) != 1:
        raise Unsupported("alpha")
    return {}


def _sum(call: Call) -> dict:
    """a + b of tensors of one shape (archcalc's add does not broadcast, as its multiply does)."""
    fields = _merge(call)
    if len(set(call.shapes)) != 1:
        raise Unsupported(f"a sum of {' and '.join(str(list(s)) for s in call.shapes)} broadcast (archcalc's add takes "
                          "tensors of one shape)")
    return fields


def _product(call: Call) -> dict:
    """a * b of tensors of one rank (archcalc's multiply broadcasts sizes of 1, not missing axes)."""
    fields = _merge(call)
    if len({len(s) for s in call.shapes}) != 1:
        raise Unsupported(f"a product of {' and '.join(str(list(s)) for s in call.shapes)} (archcalc's multiply takes "
                          "tensors of one rank)")
    return fields


def _cat(call: Call) -> dict:
    if len(call.shapes) < 2:
        raise Unsupported("a concatenation of one tensor (archcalc's concat joins two or more)")
    return {"dim": call.arg(1, "dim", 0)}


def _flatten(call: Call) -> dict:
    return {"start_dim": call.arg(1, "start_dim", 0), "end_dim": call.arg(2, "end_dim", -1)}


def _reshape(call: Call) -> dict:
    """A view or reshape that joins the dimensions after the batch: flatten."""
    source, out = call.shapes[0], call.out
    for start in range(1, len(source)):
        joined = source[:start] + (int(torch.tensor(source[start:]).prod()),)
        if joined == out:
            return {"start_dim": start}
    raise Unsupported(f"a reshape from {list(source)} to {list(out)} that is not a flatten")


def _permute(call: Call) -> dict:
    dims = call.args[1:] if len(call.args) > 2 or not isinstance(call.arg(1, "dims"), (tuple, list)) \
        else call.arg(1, "dims")
    return {"dims": list(dims)}


def _transpose(call: Call) -> dict:
    """x.transpose(a, b): the permutation that swaps two axes."""
    rank = len(call.shapes[0])
    dims = list(range(rank))
    first, second = call.arg(1, "dim0") % rank, call.arg(2, "dim1") % rank
    dims[first], dims[second] = dims[second], dims[first]
    return {"dims": dims}


def _in_its_dtype(call: Call) -> None:
    """A softmax or mean computed in another dtype than its input's (`dtype=torch.float64`) gives
    a tensor of that dtype, which no layer kind writes."""
    dtype = call.kwargs.get("dtype") or next((a for a in call.args if isinstance(a, torch.dtype)), None)
    source = call.args[0] if call.args and isinstance(call.args[0], torch.Tensor) else None
    if dtype is not None and (source is None or dtype != source.dtype):  # its input's own dtype changes nothing
        raise Unsupported(f"dtype {str(dtype).removeprefix('torch.')} (a layer's output keeps its input's dtype)")


def _mean(call: Call) -> dict:
    _in_its_dtype(call)
    dims = call.arg(1, "dim")
    dims = [dims] if isinstance(dims, int) else list(dims or [])
    rank = len(call.shapes[0])
    if sorted(d % rank for d in dims) != list(range(2, rank)):
        raise Unsupported(f"a mean over the dimensions {dims} (archcalc's mean is over every spatial axis)")
    return {"keepdim": bool(call.arg(2, "keepdim", False))}


def _dropout(call: Call) -> dict:
    """F.dropout's `training` is True unless given (the module is traced in eval mode, so
    `training=self.training` is False): a dropout at inference, which archcalc's is not."""
    if call.arg(2, "training", True):
        raise Unsupported("training=True (a dropout at inference too; archcalc's drops in training only)")
    return {"p": call.arg(1, "p", 0.5)}


def _leaky(call: Call) -> dict:
    return {"negative_slope": call.arg(1, "negative_slope", 0.01)}


def _softmax(call: Call) -> dict:
    _in_its_dtype(call)
    dim = call.arg(1, "dim")
    if dim is None:
        raise Unsupported("dim None")
    return {"dim": dim}


def _pool(kind: str) -> Callable[[Call], dict]:
    def fields(call: Call) -> dict:
        kernel = call.arg(1, "kernel_size")
        stride = call.arg(2, "stride") or kernel
        values = {"kernel": _pair(kernel), "stride": _pair(stride), "padding": _pair(call.arg(3, "padding", 0))}
        if kind == "max":
            values["dilation"] = _pair(call.arg(4, "dilation", 1))
            values["ceil_mode"] = call.arg(5, "ceil_mode", False)
            if call.arg(6, "return_indices", False):
                raise Unsupported("return_indices")
        else:
            values["ceil_mode"] = call.arg(4, "ceil_mode", False)
            values["count_include_pad"] = call.arg(5, "count_include_pad", True)
            if call.arg(6, "divisor_override") is not None:
                raise Unsupported("divisor_override")
        return values
    return fields


def _adaptive_function(call: Call) -> dict:
    return _adaptive_size(call, call.arg(1, "output_size"))


def _interpolate(call: Call) -> dict:
    if call.arg(6, "antialias", False):
        raise Unsupported("antialias (a resize that filters before it samples: another operator)")
    return _resize(call, call.arg(1, "size"), call.arg(2, "scale_factor"), call.arg(3, "mode", "nearest"),
                   call.arg(4, "align_corners"))


def _pad(call: Call) -> dict:
    pad = list(call.arg(1, "pad"))
    if call.arg(2, "mode", "constant") != "constant":
        raise Unsupported(f"mode '{call.arg(2, 'mode')}' (archcalc pads with a constant)")
    if len(pad) != 2 * call.axes or any(pad[i] != pad[i + 1] for i in range(0, len(pad), 2)):
        raise Unsupported(f"padding {pad} (archcalc pads every spatial axis, the same on both sides)")
    if min(pad) < 0:
        raise Unsupported(f"padding {pad} (a negative pad cuts: archcalc pads by 0 or more)")
    return {"padding": _pair(pad[::2][::-1]), "value": float(call.arg(3, "value", 0.0) or 0.0)}


def _gelu(call: Call) -> dict:
    return _gelu_approximation(call.kwargs.get("approximate", "none"))


def _same(kind: str, fields: Callable[[Call], dict] = lambda call: {}) -> dict:
    """One rule under a function of torch, of torch.nn.functional and as a tensor method."""
    rule = Rule(kind, fields)
    found = {getattr(space, name) for space in (torch, F) for name in (kind, kind + "_") if hasattr(space, name)}
    return {**{function: rule for function in found}, kind: rule, kind + "_": rule}


FUNCTIONS: dict[Any, Rule] = {
    operator.add: Rule("add", _sum), operator.iadd: Rule("add", _sum), torch.add: Rule("add", _sum),
    "add": Rule("add", _sum), "add_": Rule("add", _sum),
    operator.mul: Rule("multiply", _product), operator.imul: Rule("multiply", _product),
    torch.mul: Rule("multiply", _product), "mul": Rule("multiply", _product), "mul_": Rule("multiply", _product),
    torch.cat: Rule("concat", _cat), torch.concat: Rule("concat", _cat),
    torch.flatten: Rule("flatten", _flatten), "flatten": Rule("flatten", _flatten),
    "view": Rule("flatten", _reshape), "reshape": Rule("flatten", _reshape), torch.reshape: Rule("flatten", _reshape),
    torch.permute: Rule("permute", _permute), "permute": Rule("permute", _permute),
    torch.transpose: Rule("permute", _transpose), "transpose": Rule("permute", _transpose),
    torch.mean: Rule("mean", _mean), "mean": Rule("mean", _mean),
    **_same("relu"), **_same("sigmoid"), **_same("tanh"), **_same("silu"), **_same("hardswish"),
    **_same("hardsigmoid"), **_same("relu6"), **_same("leaky_relu", _leaky), **_same("softmax", _softmax),
    F.gelu: Rule("gelu", _gelu),
    **{function: Rule("dropout", _dropout) for function in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d)},
    **{getattr(F, f"max_pool{n}d"): Rule(f"maxpool{n}d", _pool("max")) for n in (1, 2, 3)},
    **{getattr(F, f"avg_pool{n}d"): Rule(f"avgpool{n}d", _pool("avg")) for n in (1, 2, 3)},
    **{getattr(F, f"adaptive_avg_pool{n}d"): Rule(f"adaptive_avgpool{n}d", _adaptive_function) for n in (1, 2, 3)},
    **{getattr(F, f"adaptive_max_pool{n}d"): Rule(f"adaptive_maxpool{n}d", _adaptive_function) for n in (1, 2, 3)},
    F.interpolate: Rule("upsample{axes}d", _interpolate),
    F.pad: Rule("pad{axes}d", _pad),
}

PASS_THROUGH = {"contiguous"}
"""Tensor methods that change no value and no figure: the layer reads their input instead."""

WEIGHTED: dict[Any, tuple[str, int]] = {
    **{getattr(F, f"conv{n}d"): (f"conv{n}d", n) for n in (1, 2, 3)},
    F.linear: ("linear", 0),
}
"""Functions that take their weight as an argument (F.conv2d(x, self.weight, …)): the layer is
the module that holds the weight, so that its parameters keep their names."""


def weighted_fields(function: Any, call: Call, weight: Shape, bias: bool) -> dict:
    """The fields of F.conv*d or F.linear from the weight's shape and the call's arguments."""
    kind = WEIGHTED[function][0]
    if kind == "linear":
        return {"out": weight[0], "bias": bias}
    padding = call.arg(4, "padding", 0)
    return {"out": weight[0], "kernel": _pair(list(weight[2:])), "stride": _pair(call.arg(3, "stride", 1)),
            "padding": padding if isinstance(padding, str) else _pair(padding),
            "dilation": _pair(call.arg(5, "dilation", 1)), "groups": call.arg(6, "groups", 1), "bias": bias}


def function_rule(target: Any) -> Rule | None:
    try:
        return FUNCTIONS.get(target)
    except TypeError:  # an unhashable target
        return None


def kind_of(rule: Rule, call: Call) -> str:
    return rule.kind.format(axes=call.axes) if "{axes}" in rule.kind else rule.kind
