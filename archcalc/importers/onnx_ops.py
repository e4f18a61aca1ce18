"""What each ONNX operator becomes: one table, as data, of op_type → layer kind and fields.

A rule reads a `Node` (the operator's attributes, the shapes of its tensor inputs and output, the
values of its constant inputs, its parameters) and gives the layer's kind and fields, or raises
`Unsupported` with the reason it cannot be kept exact. Operators the torch exporter writes as
several nodes (SiLU, a channels-first layer norm, a linear layer on a map) are joined back into
one node before this table is read (archcalc.importers.onnx_graph).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from typing import Any, NamedTuple

from archcalc.importers.common import Unsupported, pair

Shape = tuple[int, ...]


class Node(NamedTuple):
    """One operator as the rules see it."""

    op_type: str
    attributes: dict[str, Any]
    shapes: list[Shape]          # of its tensor inputs, in order
    out: Shape
    constants: dict[int, Any]    # input position → value (numpy), for constant inputs
    params: list[tuple[str, Shape]]  # its parameters (state-dict name, shape), weight first
    opset: int = 0                   # of the default domain: what an operator's defaults are
    outputs: int = 1                 # how many outputs it names (a batch norm of five computes them in training)

    def attr(self, name: str, default: Any = None) -> Any:
        return self.attributes.get(name, default)

    @property
    def axes(self) -> int:
        return len(self.shapes[0]) - 2

    def constant(self, position: int, name: str) -> Any:
        """A constant input (as a list), or the attribute of that name in older opsets."""
        if position in self.constants:
            return self.constants[position].tolist()
        return self.attributes.get(name)


class Rule(NamedTuple):
    kind: str
    """The layer kind; `{axes}` is replaced by the number of spatial axes of the input."""
    fields: Callable[[Node], dict] = lambda node: {}


def f32(value: float) -> float:
    """A float32 attribute as it was written (1e-05, not 9.999999747378752e-06)."""
    return float(f"{value:.7g}")


def _symmetric(node: Node, name: str = "pads") -> Any:
    pads = node.attr(name) or [0] * 2 * node.axes
    half = len(pads) // 2
    if pads[:half] != pads[half:]:
        raise Unsupported(f"pads {pads} (archcalc pads both sides of an axis alike)")
    return pair(pads[:half])


def _auto_pad(node: Node) -> None:
    if node.attr("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise Unsupported(f"auto_pad {node.attr('auto_pad')} (write the pads)")


class Inconsistent(Exception):
    """A node whose tensors do not go together (a weight for other channels than its input's):
    the file's mistake, which neither exporter nor checker caught."""


class ConstantWeight(Unsupported):
    """Unsupported, and not kept opaque either: a Conv's or a Gemm's weight or bias held by a Constant
    node, whose values an opaque layer would not count (its parameters are the initializers it
    reads), as torch's import keeps no F.conv2d of a tensor no module holds as its weight."""


def _made_in_the_graph(node: Node, layer: str, weight_axes: int) -> None:
    """Unsupported where a Conv's, a Gemm's or a MatMul's weight (its second input, of at least
    `weight_axes` axes) or bias (its third) is a constant or a tensor made in the graph: a weight
    so made was an IndexError, a bias left out without a word, and with it its parameters."""
    if 1 in node.constants:
        raise ConstantWeight(f"a weight made in the graph (archcalc's {layer}'s weight is a parameter: an initializer)")
    if not node.params or len(node.params[0][1]) < weight_axes:
        raise Unsupported(f"a weight made in the graph (archcalc's {layer}'s weight is a parameter: an initializer)")
    if node.op_type == "Gemm" and 2 in node.constants and node.constants[2].size == 1:
        raise _one_value_bias(list(node.constants[2].shape), node.out[-1])  # a scalar initializer is a constant
    if 2 in node.constants:
        raise ConstantWeight(f"a bias made in the graph (archcalc's {layer}'s bias is a parameter: an initializer)")
    if len(node.shapes) > 1:
        raise Unsupported(f"a bias made in the graph (archcalc's {layer}'s bias is a parameter: an initializer)")


def _one_value_bias(shape: list[int], out: int) -> Unsupported:
    """A Gemm's bias of one value, which it broadcasts to every feature: a linear layer's bias of
    `out` parameters would count (and a torch model hold) other parameters than the graph's."""
    return Unsupported(f"a bias of shape {shape}, one value broadcast to every feature (archcalc's linear learns "
                       f"one value a feature, a bias of shape [{out}])")


def _same(node: Node, kernel: list[int]) -> str:
    """'same' for a Conv of auto_pad SAME_UPPER (or SAME_LOWER where each axis pads evenly) and stride
    1: d·(k − 1) in all, the smaller half before, as torch pads padding='same' (and exports it so)."""
    strides, dilations = node.attr("strides") or [1] * len(kernel), node.attr("dilations") or [1] * len(kernel)
    totals = [d * (k - 1) for k, d in zip(kernel, dilations)]
    if any(stride != 1 for stride in strides):
        raise Unsupported(f"auto_pad {node.attr('auto_pad')} with strides {strides} (archcalc pads 'same' as torch: "
                          "stride 1, the smaller half of an odd total before)")
    if node.attr("auto_pad") == "SAME_LOWER" and any(total % 2 for total in totals):
        raise Unsupported(f"auto_pad SAME_LOWER pads a total of {totals} (dilation × (kernel − 1)) with the larger "
                          "half of an odd total before, which neither archcalc's padding 'same' (torch's: the smaller "
                          "half before) nor a padding of both sides alike writes; export the convolution with "
                          "padding='same' (auto_pad SAME_UPPER) or with pads of both sides alike")
    return "same"


def _conv(node: Node) -> dict:
    same = node.op_type == "Conv" and node.attr("auto_pad") in ("SAME_UPPER", "SAME_LOWER")
    if not same:
        _auto_pad(node)
    _made_in_the_graph(node, "convolution", 3)
    weight = node.params[0][1]
    kernel = node.attr("kernel_shape") or list(weight[2:])
    groups = node.attr("group", 1)
    channels = node.shapes[0][1]
    takes = weight[0] if node.op_type == "ConvTranspose" else weight[1] * groups
    if takes != channels or not isinstance(groups, int) or groups < 1:
        raise Inconsistent(f"its weight of shape {list(weight)} ({groups} groups) takes {takes} input channels, "
                           f"its input has {channels}")
    if list(kernel) != list(weight[2:]):
        raise Inconsistent(f"its kernel_shape {list(kernel)} is not its weight's kernel {list(weight[2:])}")
    if 0 in weight:
        raise Inconsistent(f"its weight of shape {list(weight)} makes no output channel")
    out = weight[1] * groups if node.op_type == "ConvTranspose" else weight[0]
    if len(node.params) > 1 and list(node.params[1][1]) != [out]:
        raise Inconsistent(f"its bias of shape {list(node.params[1][1])} is not one value for each of its {out} output "
                           "channels")
    fields = {"out": out, "kernel": pair(kernel), "stride": pair(node.attr("strides") or [1]),
              "padding": _same(node, list(kernel)) if same else _symmetric(node),
              "dilation": pair(node.attr("dilations") or [1]), "groups": groups,
              "bias": len(node.params) > 1}
    if node.op_type == "ConvTranspose":
        if node.attr("output_shape"):
            raise Unsupported("output_shape (archcalc's transposed convolution takes output_padding)")
        fields["output_padding"] = pair(node.attr("output_padding") or [0])
    return fields


def _conv_bias_added(node: Node) -> dict:
    """A Conv or ConvTranspose without a bias and the Add of a parameter of one value an output
    channel after it, (C, 1, …) or (1, C, 1, …) (joined): the convolution with that bias."""
    (weight, kernel), (bias, _) = node.params
    return _conv(node._replace(op_type=node.op_type.removesuffix("BiasAdded"),
                               params=[(weight, kernel), (bias, (node.out[1],))]))


UNCHANGING = {1: 1.0, 2: 0.0}
"""A normalisation's scale (input 1) of ones and bias (input 2) of zeros: what one without them
computes (torch's exporter writes a LayerNorm without a bias, or a norm without affine
parameters, with such Constant nodes)."""


def _learned(node: Node, inputs: int, layer: str) -> list[bool]:
    """Whether each of a normalisation's `inputs` after its first (a scale, a bias, …) is a
    parameter (an initializer); False where it is left out or a Constant that changes nothing
    (UNCHANGING). Unsupported where one is made in the graph, or a Constant that changes values."""
    if len(node.shapes) > 1:
        raise Unsupported(f"a scale, bias or statistic made in the graph (archcalc's {layer} holds them: initializers)")
    given, learned = len(node.params), []
    for position in range(1, inputs + 1):
        if position in node.constants:
            if position not in UNCHANGING:
                raise Unsupported(f"a running mean or variance held by a Constant (archcalc's {layer} holds them as "
                                  "buffers: initializers)")
            if not bool((node.constants[position] == UNCHANGING[position]).all()):
                raise Unsupported(f"a {('scale', 'bias')[position - 1]} held by a Constant of other values than "
                                  f"{('ones', 'zeros')[position - 1]} (archcalc's {layer} learns its scale and bias as "
                                  "parameters: initializers, or has none)")
            learned.append(False)
        else:
            learned.append(given > 0)
            given -= 1
    return learned


def _batchnorm(node: Node) -> dict:
    if node.attr("training_mode", 0):
        raise Unsupported("training_mode 1 (export the model in eval mode)")
    if node.opset < 7 and not node.attr("is_test", 0):  # BatchNormalization-1 and -6 are in training mode unless is_test
        raise Unsupported(f"a BatchNormalization of opset {node.opset} without is_test, which normalises by the batch's "
                          "statistics (export the model in eval mode)")
    if node.outputs > 1:  # before opset 14, training mode is said so: the batch's mean and variance are outputs
        raise Unsupported(f"{node.outputs} outputs, the batch's statistics of training mode (export the model in "
                          "eval mode)")
    scale, bias, mean, variance = _learned(node, 4, "batch norm")
    channels = node.shapes[0][1:2]
    other = next((shape for _, shape in node.params if tuple(shape) != channels), None)
    if other is not None:  # spatial=0 (opset 7 and before): statistics for each element
        raise Unsupported(f"a scale, bias or statistic of shape {list(other)} (archcalc's batch norm holds one value "
                          f"a channel: {list(channels)})")
    if node.attr("spatial", 1) == 0 and node.axes > 0:  # opset 7 and before: one value an element, (C × D1 × …)
        raise Inconsistent(f"spatial 0 takes a scale, bias and statistics of shape {list(node.shapes[0][1:])}, and "
                           f"they are of shape {list(channels)}")
    if not (mean and variance) or scale != bias:
        raise Unsupported("a batch norm without running statistics, or with a scale but no bias (archcalc's holds "
                          "both statistics, and a scale and a bias or neither)")
    momentum = float(Decimal(1) - Decimal(str(f32(node.attr("momentum", 0.9)))))
    return {"eps": f32(node.attr("epsilon", 1e-5)), "momentum": momentum} | ({} if scale else {"affine": False})


def _left(node: Node) -> dict:
    raise Unsupported("a parameter on the left of the product (archcalc's linear multiplies its input by a weight "
                      "on the right)")


def _linear(node: Node) -> dict:
    if not node.params and 1 not in node.constants:
        raise Unsupported("a product of two tensors (archcalc's linear multiplies by a parameter)")
    gemm = (node.attr("transA", 0), f32(node.attr("alpha", 1.0)), f32(node.attr("beta", 1.0)))
    if node.op_type == "Gemm" and gemm != (0, 1, 1):
        raise Unsupported("transA, alpha or beta (archcalc's linear is x·Wᵀ + b)")
    _made_in_the_graph(node, "linear layer", 2)
    weight, out = node.params[0][1], node.out[-1]
    if len(weight) != 2:
        raise Unsupported(f"a product by a parameter of shape {list(weight)} (archcalc's linear multiplies by one "
                          "matrix)")
    if len(node.params) > 1 and math.prod(node.params[1][1]) == 1 != out:
        raise _one_value_bias(list(node.params[1][1]), out)
    if len(node.params) > 1 and math.prod(node.params[1][1]) != out:
        raise Unsupported(f"a bias of shape {list(node.params[1][1])} for {out} features (archcalc's linear adds one "
                          "value a feature)")
    return {"out": out, "bias": len(node.params) > 1}


def _pool(node: Node) -> dict:
    _auto_pad(node)
    kernel = node.attr("kernel_shape")
    fields = {"kernel": pair(kernel), "stride": pair(node.attr("strides") or [1]), "padding": _symmetric(node),
              "ceil_mode": bool(node.attr("ceil_mode", 0))}
    if node.op_type == "MaxPool":
        fields["dilation"] = pair(node.attr("dilations") or [1])
    else:
        if any(d != 1 for d in node.attr("dilations") or [1]):
            raise Unsupported(f"dilations {node.attr('dilations')} (archcalc's average pooling is not dilated)")
        fields["count_include_pad"] = bool(node.attr("count_include_pad", 0))
    if fields["ceil_mode"]:
        _ceiled_as_torch(node)
    return fields


def _ceiled_as_torch(node: Node) -> None:
    """Unsupported where a pooling of ceil_mode has another output size in the file than torch's
    rule gives: ONNX keeps a last window that starts in the right padding, torch drops it."""
    from archcalc.layers.window import window_output

    axes = node.axes
    sizes = zip(node.shapes[0][-axes:], node.attr("kernel_shape"), node.attr("strides") or [1] * axes,
                (node.attr("pads") or [0] * 2 * axes)[:axes], node.attr("dilations") or [1] * axes)
    torch = [window_output(n, k, s, p, d, ceil_mode=True) for n, k, s, p, d in sizes]
    if torch != list(node.out[-axes:]):
        raise Unsupported(f"ceil_mode where the file's output is {list(node.out[-axes:])} and torch's {torch} (ONNX keeps "
                          "a last window that starts in the padding; torch, as archcalc, drops it)")


def _global(node: Node) -> dict:
    return {"output_size": 1}


def _adaptive_average(node: Node) -> dict:
    """AveragePool of stride 1 and a Gather of the windows' starts along each spatial axis
    (joined): torch's adaptive average pooling where each axis's windows, ⌊i·n/m⌋ to
    ⌈(i + 1)·n/m⌉, are of one size, the pool's kernel."""
    source, out = node.shapes[0], node.out
    axes = [a % len(source) for a in node.constants[1].tolist()]
    indices = [node.constants[2 + j] for j in range(len(axes))]
    if len(out) != len(source) or len(set(axes)) != len(axes) or min(axes) < 2 or any(i.ndim != 1 for i in indices):
        raise Unsupported(f"Gathers along the axes {axes} of {list(source)} to {list(out)} (an adaptive pooling "
                          "takes a list of starts once along each spatial axis, keeping the batch and channels)")
    starts = {axis: index.tolist() for axis, index in zip(axes, indices)}
    kernel, pads = node.attr("kernel_shape"), node.attr("pads") or [0] * 2 * node.axes
    if (node.attr("strides") or [1] * node.axes) != [1] * node.axes or any(pads) or node.attr("ceil_mode", 0):
        raise Unsupported("an AveragePool with strides, pads or ceil_mode before a Gather (archcalc reads the "
                          "pair as an adaptive pooling: a kernel of the windows' size, stride 1)")
    for axis, (n, m, k) in enumerate(zip(source[2:], out[2:], kernel), start=2):
        expected = [i * n // m for i in range(m)]
        sizes = {-(-(i + 1) * n // m) - i * n // m for i in range(m)}
        if starts.get(axis, list(range(n - k + 1))) != expected or sizes != {k}:
            raise Unsupported(f"a Gather of {starts.get(axis)} from an AveragePool of kernel {k} along axis {axis} "
                              f"(an adaptive pooling of {n} to {m} takes the windows from {expected}, each "
                              f"{sorted(sizes)} wide)")
    sizes = list(out[2:])
    return {"output_size": sizes[0] if len(set(sizes)) == 1 else sizes}


LAYER_NORM_BEFORE_17 = ("torch writes nn.LayerNorm so before opset 17: export at opset 17 or later, where it is one "
                        "LayerNormalization")
"""Why a ReduceMean over the last axis, or a Sub of a map and such a mean, is no layer before opset 17."""


def _mean(node: Node) -> dict:
    rank = len(node.shapes[0])
    axes = node.constant(1, "axes")
    if sorted(a % rank for a in axes or []) != list(range(2, rank)):
        norm = f"; {LAYER_NORM_BEFORE_17}" if node.opset < 17 and [a % rank for a in axes or []] == [rank - 1] else ""
        raise Unsupported(f"a mean over the axes {axes} (archcalc's mean is over every spatial axis){norm}")
    return {"keepdim": bool(node.attr("keepdims", 1))}


def _flatten(node: Node) -> dict:
    """Flatten and Reshape that join the dimensions from one on: flatten(start_dim)."""
    source, out = node.shapes[0], node.out
    if node.op_type == "Flatten" and node.attr("axis", 1) % max(len(source), 1) == 0:
        raise Unsupported("axis 0 (the batch joined with the rest: archcalc's flatten keeps the batch)")
    for start in range(1, len(source)):
        if source[:start] + (math.prod(source[start:]),) == out:
            return {"start_dim": start}
    raise Unsupported(f"a reshape from {list(source)} to {list(out)} that is not a flatten")


def _clip(node: Node) -> dict:
    low, high = node.constant(1, "min"), node.constant(2, "max")
    if low == 0 and high == 6:
        return {}
    raise Unsupported(f"Clip to [{low}, {high}] (archcalc's relu6 clips to [0, 6])")


def _hardsigmoid(node: Node) -> dict:
    if (f32(node.attr("alpha", 0.2)), f32(node.attr("beta", 0.5))) != (f32(1 / 6), 0.5):
        raise Unsupported("alpha and beta other than torch's (1/6, 0.5)")
    return {}


def _gelu(node: Node) -> dict:
    if node.attr("approximate", "none") != "none":
        raise Unsupported(f"approximate='{node.attr('approximate')}' (archcalc's gelu is the exact one)")
    return {}


def _merge(node: Node) -> dict:
    if len(node.shapes) != 2:
        raise Unsupported("an arithmetic with a constant (archcalc's add and multiply take tensors only)")
    if node.op_type == "Add" and node.shapes[0] != node.shapes[1]:
        raise Unsupported(f"a sum of {list(node.shapes[0])} and {list(node.shapes[1])} broadcast "
                          "(archcalc's add takes tensors of one shape)")
    return {}


def _layer_norm(node: Node) -> dict:
    if node.attr("axis", -1) not in (-1, len(node.shapes[0]) - 1):
        raise Unsupported(f"axis {node.attr('axis')}: archcalc's layer_norm normalises the last axis")
    scale, bias = _learned(node, 2, "layer norm")
    if bias and not scale:
        raise Unsupported("a bias without a scale (archcalc's layer_norm learns a bias only beside its scale)")
    features = node.shapes[0][1 if node.op_type == "ChannelLayerNorm" else -1]
    for (_, shape), what in zip(node.params, ("scale", "bias")):
        if math.prod(shape) != features:
            raise Unsupported(f"a {what} of shape {list(shape)} for {features} features (archcalc's layer_norm has "
                              "one value a feature)")
    return {"eps": f32(node.attr("epsilon", 1e-5)), "bias": bias} | ({} if scale else {"elementwise_affine": False})


def _resize(node: Node) -> dict:
    """torch's nearest (as torch exports it: asymmetric coordinates, rounded down) or bilinear (half
    pixel, or align corners) to the output's size, at the scale that size gives."""
    linear = {1: "linear", 2: "bilinear", 3: "trilinear"}.get(node.axes)  # torch's name by the number of axes
    mode = {"nearest": "nearest", "linear": linear}.get(node.attr("mode", "nearest"))
    transform = node.attr("coordinate_transformation_mode", "half_pixel")
    if tuple(node.out[:2]) != tuple(node.shapes[0][:2]):
        raise Unsupported(f"a resize of the batch or the channels ({list(node.shapes[0][:2])} to {list(node.out[:2])}; "
                          "archcalc's upsampling resizes the spatial axes)")
    if node.op_type == "Upsample" or node.opset < 11:  # Upsample: Resize before opset 10
        raise Unsupported(f"a{'n' * (node.op_type == 'Upsample')} {node.op_type} of opset {node.opset} (ONNX says how "
                          "a resize maps coordinates from opset 11 on, as torch computes them); export at opset 11 or "
                          "later")
    rounding = node.attr("nearest_mode", "round_prefer_floor")
    whole = all(m % n == 0 for n, m in zip(node.shapes[0][2:], node.out[2:]))  # by whole factors, or none
    if mode == "nearest" and (transform, rounding) != ("asymmetric", "floor") and not (
            whole and transform in ("half_pixel", "pytorch_half_pixel") and rounding.startswith("round_prefer")):
        raise Unsupported(f"nearest with {transform} and {rounding} (torch's nearest takes asymmetric coordinates "
                          "rounded down, which half pixels rounded to the nearest give only by whole factors)")
    if mode is None or (mode == linear and transform not in ("align_corners", "pytorch_half_pixel", "half_pixel")):
        raise Unsupported(f"mode {node.attr('mode')} with {transform} (archcalc upsamples as torch: nearest or bilinear)")
    if transform == "pytorch_half_pixel" and 1 in node.out[2:]:
        raise Unsupported("pytorch_half_pixel to a size of 1 (it samples the first pixel, torch the middle)")
    if node.attr("antialias", 0) or node.attr("keep_aspect_ratio_policy", "stretch") != "stretch":
        raise Unsupported("antialias or keep_aspect_ratio_policy (archcalc's upsampling samples, to the size given)")
    scales, rank = node.constants.get(2), len(node.shapes[0])
    axes = [a % rank for a in node.attr("axes") or range(rank)]  # opset 18 on: a scale per axis listed
    if scales is not None and scales.size and any(abs(scale * node.shapes[0][a] - node.out[a]) > 1e-6 * node.out[a]
                                                   for scale, a in zip(scales.tolist(), axes) if a >= 2):
        raise Unsupported(f"scales {scales.tolist()} other than the output's size over the input's (archcalc "
                          "resizes by those)")
    return {"size": pair(list(node.out[2:])), "mode": mode, "align_corners": transform == "align_corners"}


def _resize_to(node: Node) -> dict:
    """A Resize to the size of a second map (joined): archcalc's upsampling of two inputs, which
    takes its size from the second."""
    return {key: value for key, value in _resize(node).items() if key != "size"}


def _full_pads(node: Node) -> list[int] | None:
    """A Pad's pads for every axis (begins, then ends), those of its `axes` (opset 18) spread over
    them; Inconsistent where their number is not two for each axis."""
    pads, axes = node.constant(1, "pads"), node.constant(3, "axes")
    rank = len(node.shapes[0])
    if pads is None:
        return None
    axes = list(range(rank)) if axes is None else [int(a) % rank for a in axes]
    if len(pads) != 2 * len(axes) or len(set(axes)) != len(axes):
        raise Inconsistent(f"its {len(pads)} pads are not a begin and an end for each of its axes {axes}")
    full = [0] * (2 * rank)
    for at, axis in enumerate(axes):
        full[axis], full[rank + axis] = pads[at], pads[len(axes) + at]
    return full


def _pad(node: Node) -> dict:
    if node.attr("mode", "constant") != "constant":
        raise Unsupported(f"mode '{node.attr('mode')}' (archcalc pads with a constant)")
    pads = _full_pads(node)
    rank = len(node.shapes[0])
    if pads is None or any(pads[i] or pads[rank + i] for i in (0, 1)):
        raise Unsupported(f"pads {pads} (archcalc pads the spatial axes only)")
    if min(pads) < 0:
        raise Unsupported(f"pads {pads} (a negative pad cuts: archcalc pads by 0 or more)")
    before, after = pads[2:rank], pads[rank + 2:]
    if before != after:
        raise Unsupported(f"pads {pads} (archcalc pads both sides of an axis alike)")
    value = node.constant(2, "value")
    if isinstance(value, list):  # a constant of shape [1], as some exporters write it
        if len(value) != 1:
            raise Unsupported(f"a padding value of {len(value)} values")
        value = value[0]
    return {"padding": pair(before), "value": float(value or 0.0)}


def _pad_to(node: Node) -> dict:
    """A Pad to the size of a second map (joined): extra // 2 before, the rest after, as archcalc's
    pad of two inputs."""
    if node.attr("mode", "constant") != "constant":
        raise Unsupported(f"mode '{node.attr('mode')}' (archcalc pads with a constant)")
    pads, (source, goal) = _full_pads(node), node.shapes
    extra = [g - n for n, g in zip(source[2:], goal[2:])]
    if pads != [0, 0, *(e // 2 for e in extra), 0, 0, *(e - e // 2 for e in extra)]:
        raise Unsupported(f"pads {pads} (archcalc pads to another map's size by half the difference before, "
                          "the rest after)")
    value = node.constant(2, "value")
    return {"value": float(value or 0.0)}


def _crop(node: Node) -> dict:
    """Slice (one, or torch's one per axis joined) of the spatial axes, steps 1, that cuts
    ⌊(in − out)/2⌋ before: archcalc's centre crop to the output's size."""
    rank, source = len(node.shapes[0]), node.shapes[0]
    starts, axes, steps = node.constant(1, "starts"), node.constant(3, "axes"), node.constant(4, "steps")
    axes = list(range(len(starts))) if axes is None else [a % rank for a in axes]
    if any(step != 1 for step in steps or []) or any(a < 2 for a in axes) or source[:2] != node.out[:2]:
        raise Unsupported(f"a slice of the axes {axes} with steps {steps} (archcalc's crop cuts the spatial axes)")
    for axis, start in zip(axes, starts):
        if max(0, start if start >= 0 else start + source[axis]) != (source[axis] - node.out[axis]) // 2:
            raise Unsupported(f"a slice from {start} of {source[axis]} to {node.out[axis]} values on axis {axis} "
                              "(archcalc's crop is centred: ⌊(in − out)/2⌋ cut before)")
    return {"size": pair(list(node.out[2:]))}


def _crop_to(node: Node) -> dict:
    """A crop (joined) whose bounds are computed from the Shape of its second input, of the size it
    makes: archcalc's crop to that input's size, where centred."""
    _crop(node._replace(shapes=node.shapes[:1]))
    return {}


def _channel_slice(node: Node) -> dict:
    """A Slice of the channels, steps 1, that is one of equal parts: archcalc's split."""
    channels, size = node.shapes[0][1], node.out[1]
    start, steps = node.constant(1, "starts")[0], node.constant(4, "steps")
    start = max(0, start if start >= 0 else start + channels)
    if size < 1 or any(step != 1 for step in steps or []) or channels % size or start % size:
        raise Unsupported(f"a slice of {size} channels from {start} of {channels} (archcalc's split takes one of "
                          "equal parts)")
    return {"parts": channels // size, "take": start // size}


def _split(node: Node) -> dict:
    """One output of a Split of the channels into equal parts."""
    rank, parts = len(node.shapes[0]), node.attr("parts")
    sizes = node.constant(1, "split")
    if node.attr("axis", 0) % rank != 1 or (sizes and len(set(sizes)) != 1) or node.shapes[0][1] % parts:
        raise Unsupported(f"a split of the axis {node.attr('axis', 0)} into {sizes or parts} (archcalc's split "
                          "cuts the channels into equal parts)")
    return {"parts": parts, "take": node.attr("take")}


def _channel_shuffle(node: Node) -> dict:
    """Reshape, Transpose, Reshape (joined): the middle shape (N, groups, C / groups, …) given as constant 1."""
    middle, source = node.constants[1].tolist(), node.shapes[0]
    groups = middle[1]
    if middle != [source[0], groups, source[1] // groups, *source[2:]] or node.out != source:
        raise Unsupported(f"a reshape to {middle} and back that is not a channel shuffle of {list(source)}")
    return {"groups": groups}


def _pixel_shuffle(node: Node) -> dict:
    if node.attr("mode", "DCR") != "CRD":
        raise Unsupported(f"mode {node.attr('mode', 'DCR')} (torch's pixel shuffle is DepthToSpace in CRD order)")
    return {"factor": node.attr("blocksize")}


def _concat(node: Node) -> dict:
    if len(node.shapes) < 2:
        raise Unsupported("a concatenation of one tensor (archcalc's concat joins two or more)")
    return {"dim": node.attr("axis")}


def _softmax(node: Node) -> dict:
    """Over one axis. Before opset 13 the input is taken as 2-D at `axis` (1 by default): one
    softmax over every axis from it on, which is torch's over one axis only where it is the last."""
    if node.opset >= 13:
        return {"dim": node.attr("axis", -1)}
    rank, axis = len(node.shapes[0]), node.attr("axis", 1)
    if not -rank <= axis < rank:  # checked by shape inference from opset 11 only
        raise Inconsistent(f"a softmax over the axis {axis} of a {rank}-D input")
    if axis % rank != rank - 1:
        raise Unsupported(f"axis {axis} of opset {node.opset}: one softmax over axes {axis % rank} to {rank - 1} together "
                          "(opset 13 and later, and torch, take one axis)")
    return {"dim": -1}


def _permute(node: Node) -> dict:
    return {"dims": list(node.attr("perm") or reversed(range(len(node.shapes[0]))))}


def _lrn(node: Node) -> dict:
    if node.attr("size") % 2 == 0:  # ONNX's window of an even size leans after the channel, torch's before
        raise Unsupported(f"size {node.attr('size')}: of an even size ONNX's window is channels c − {node.attr('size') // 2 - 1} "
                          f"to c + {node.attr('size') // 2}, torch's c − {node.attr('size') // 2} to c + {node.attr('size') // 2 - 1}")
    return {"size": node.attr("size"), "alpha": f32(node.attr("alpha", 1e-4)), "beta": f32(node.attr("beta", 0.75)),
            "k": f32(node.attr("bias", 1.0))}


def _torch_lrn(node: Node) -> dict:
    """torch's local response norm written out (joined): constants 1 the pads of the 5-D map, 2 the
    pool's kernel, strides, count_include_pad and pads, 3 (α, k, β), 4 the 5-D shape after Pad."""
    source = node.shapes[0]
    pads, pool, (alpha, k, beta) = (node.constants[i].tolist() for i in (1, 2, 3))
    size = pool[0] if pool else 0
    rank = len(source) + 1
    before, after = [0] * rank, [0] * rank
    before[2], after[2] = size // 2, (size - 1) // 2
    expected_pool = [size, *[1] * (rank - 3), *[1] * (rank - 2), 1, *[0] * 2 * (rank - 2)]
    if pads != before + after or pool != expected_pool or node.out != source:
        raise Unsupported(f"a local response norm written with pads {pads} and the pool {pool} (torch's pads "
                          "the channels by size // 2 before and (size − 1) // 2 after and averages over size of them)")
    return {"size": size, "alpha": f32(alpha), "beta": f32(beta), "k": f32(k)}


def _leaky(node: Node) -> dict:
    return {"negative_slope": f32(node.attr("alpha", 0.01))}


def _dropout(node: Node) -> dict:
    if node.opset < 7 and not node.attr("is_test", 0):  # Dropout-1 and -6 run in training mode unless is_test
        raise Unsupported(f"a Dropout of opset {node.opset} without is_test (it drops at inference too)")
    if node.constants.get(2) is not None and bool(node.constants[2]):
        raise Unsupported("training_mode true (a dropout at inference too; archcalc's drops in training only)")
    ratio = node.constant(1, "ratio")
    return {"p": f32(0.5 if ratio is None else ratio)}


def _layer_scale(node: Node) -> dict:
    """A Mul by a parameter: one value a channel (C×1×1) or one a feature of the last axis (C);
    any other scale (one value, or a value a position) is Unsupported, not counted as C."""
    scale, source = node.params[0][1], node.shapes[0]
    over = "channels" if len(scale) > 1 else "last"
    broadcast = (1,) * (len(source) - len(scale)) + tuple(scale)
    held = [1] * len(source)
    held[1 if over == "channels" else -1] = source[1 if over == "channels" else -1]
    if len(scale) > len(source) or broadcast != tuple(held):
        raise Unsupported(f"a product by a parameter of shape {list(scale)} on a map of shape {list(source)} "
                          "(archcalc's layer_scale holds one value a channel, C×1×1, or a feature of the last axis)")
    return {"over": over}


RULES: dict[str, Rule] = {
    "Conv": Rule("conv{axes}d", _conv),
    "ConvTranspose": Rule("conv_transpose{axes}d", _conv),
    "ConvBiasAdded": Rule("conv{axes}d", _conv_bias_added),  # joined: Conv without a bias, Add of a parameter
    "ConvTransposeBiasAdded": Rule("conv_transpose{axes}d", _conv_bias_added),
    "Gemm": Rule("linear", _linear), "MatMul": Rule("linear", _linear),
    "MatMulByLeft": Rule("linear", _left),  # MatMul(W, x), W a parameter
    "BatchNormalization": Rule("batchnorm{axes}d", _batchnorm),
    "LayerNormalization": Rule("layer_norm", _layer_norm),
    "ChannelLayerNorm": Rule("channel_layer_norm", _layer_norm),  # joined: Transpose, LayerNormalization, Transpose
    "LRN": Rule("lrn", _lrn),
    "LocalResponseNorm": Rule("lrn", _torch_lrn),  # joined: torch's Mul, Reshape, Pad, AveragePool, …, Div
    "MaxPool": Rule("maxpool{axes}d", _pool), "AveragePool": Rule("avgpool{axes}d", _pool),
    "GlobalAveragePool": Rule("adaptive_avgpool{axes}d", _global),
    "AdaptiveAveragePool": Rule("adaptive_avgpool{axes}d", _adaptive_average),  # joined: AveragePool, Gather
    "GlobalMaxPool": Rule("adaptive_maxpool{axes}d", _global),
    "ReduceMean": Rule("mean", _mean),
    "Relu": Rule("relu"), "Clip": Rule("relu6", _clip), "Sigmoid": Rule("sigmoid"), "Tanh": Rule("tanh"),
    "HardSwish": Rule("hardswish"), "HardSigmoid": Rule("hardsigmoid", _hardsigmoid),
    "LeakyRelu": Rule("leaky_relu", _leaky), "Gelu": Rule("gelu", _gelu), "Softmax": Rule("softmax", _softmax),
    "SiLU": Rule("silu"),  # joined: x · Sigmoid(x)
    "Dropout": Rule("dropout", _dropout),
    "Flatten": Rule("flatten", _flatten), "Reshape": Rule("flatten", _flatten),
    "Transpose": Rule("permute", _permute),
    "Add": Rule("add", _merge), "Mul": Rule("multiply", _merge),
    "LayerScale": Rule("layer_scale", _layer_scale),  # joined: Mul by a parameter
    "Concat": Rule("concat", _concat),
    "Resize": Rule("upsample{axes}d", _resize), "Upsample": Rule("upsample{axes}d", _resize),
    "Pad": Rule("pad{axes}d", _pad),
    "ResizeTo": Rule("upsample{axes}d", _resize_to),  # a Resize computed from another map's Shape: to its size
    "PadTo": Rule("pad{axes}d", _pad_to),  # a Pad computed from another map's Shape: to its size
    "Slice": Rule("crop{axes}d", _crop),  # torch's Slice per axis joined into one
    "CropTo": Rule("crop{axes}d", _crop_to),  # a Slice computed from another map's Shape: to its size
    "ChannelSlice": Rule("split", _channel_slice),  # a Slice of the channels alone
    "Split": Rule("split", _split),  # one node per output
    "ChannelShuffle": Rule("channel_shuffle", _channel_shuffle),  # joined: Reshape, Transpose, Reshape
    "DepthToSpace": Rule("pixel_shuffle", _pixel_shuffle),
}


def kind_of(rule: Rule, node: Node) -> str:
    """The rule's kind, for the node's spatial axes; a batch norm of (N, C) features is batchnorm1d,
    as torch's BatchNorm1d takes (N, C) and (N, C, L) alike."""
    if "{axes}" not in rule.kind:
        return rule.kind
    return rule.kind.format(axes=max(node.axes, 1) if rule.kind.startswith("batchnorm") else node.axes)
