"""Counting conventions as data: which operations a MAC/FLOP figure includes, named in every output.

A convention is a table from layer kind to a counter, derived from another by overrides
(`FVCORE = PAPER.extend(...)`), as a draft of a schema is derived from the last. A counter gives
a layer's multiply-accumulates under the convention (FLOPs are twice that under every one), or
`Uncounted` where the tool it reproduces is known to skip work it counts elsewhere, so that output
can name what was skipped instead of showing a silent 0.
"""

from __future__ import annotations

from math import prod
from typing import Callable, Mapping, NamedTuple, Union

from archcalc.layers import Attrs, LayerKind, Shape


class Uncounted(NamedTuple):
    """What a counter skips: `what` names it for the reader ('mean', "conv2d with padding 'same'")."""

    what: str


Count = Union[int, Uncounted]
Counter = Callable[[LayerKind, Attrs, list[Shape], Shape], Count]
BackwardCounter = Callable[[LayerKind, Attrs, list[Shape], Shape, int], tuple[int, int]]
"""(kind, fields, input shapes, output shape, the kind's own forward MACs) → the MACs of the
gradient of the layer's input and of its weights."""


class Convention(NamedTuple):
    """A named counting rule: a counter per layer kind; the kind's own MACs where none is named."""

    name: str
    summary: str
    counters: Mapping[str, Counter] = {}  # shared, never changed
    headline: str = "macs"
    """The figure tables show: 'macs', or 'flops' for a counter that reports FLOPs."""
    backward: Mapping[str, BackwardCounter] = {}  # shared, never changed
    """The backward pass's counters by kind, where they differ from the kind's own
    (`LayerKind.backward_macs`)."""
    no_backward: str = ""
    """Why the convention counts no backward pass ('' where it counts one): `table --train` says so."""

    def count(self, kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape, macs: int | None = None) -> Count:
        """The layer's count; `macs`, the kind's own MACs where the caller has them already."""
        counter = self.counters.get(kind.key)
        if counter is None:
            return kind.macs(a, shapes, out) if macs is None else macs
        return counter(kind, a, shapes, out)

    def backward_count(self, kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape, macs: int,
                       input_grad: bool) -> tuple[int, int]:
        """The layer's backward MACs: (the gradient of its input, 0 unless `input_grad`; of its
        weights). `macs`: the kind's own forward MACs (the `paper` count)."""
        counter = self.backward.get(kind.key)
        data, weights = counter(kind, a, shapes, out, macs) if counter else kind.backward_macs(a, shapes, out, macs)
        return (data if input_grad else 0), weights

    def extend(self, name: str, summary: str, counters: Mapping[str, Counter] | None = None,
               headline: str | None = None, backward: Mapping[str, BackwardCounter] | None = None,
               no_backward: str = "") -> Convention:
        """A convention that counts as this one except for the kinds in `counters` and `backward`."""
        return Convention(name, summary, {**self.counters, **(counters or {})}, headline or self.headline,
                          {**self.backward, **(backward or {})}, no_backward)

    @property
    def title(self) -> str:
        """The headline figure's column title: 'MACs' or 'FLOPs'."""
        return {"macs": "MACs", "flops": "FLOPs"}[self.headline]


def _fvcore_conv(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> Count:
    # padding 'same' makes torch call aten::_convolution_mode, which fvcore has no handle for
    return Uncounted(f"{kind.key} with padding 'same'") if a.padding == "same" else kind.macs(a, shapes, out)


def _opaque(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> Uncounted:
    # a layer archcalc has no rules for (`archcalc import --allow-opaque`): counted by no convention
    return Uncounted(f"opaque {a.operation}")


def _fvcore_batchnorm(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> int:
    # fvcore's batchnorm handle: eval with running stats 1 per element (+1 when affine);
    # without running stats torch normalises with batch statistics and fvcore counts 4 (+1).
    per_element = (1 + a.affine) if a.track_running_stats else (4 + a.affine)
    return prod(shapes[0]) * per_element


def _fvcore_layer_norm(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> Count:
    # fvcore's norm handle on aten::layer_norm: 5 per element with a weight, 4 without; it asserts an
    # input of 2 to 5 dimensions, so of a 1-D one (after a flatten of the batch) fvcore counts nothing
    rank = len(shapes[0])
    if not 2 <= rank <= 5:
        return Uncounted(f"{kind.key} of a {rank}-D input")
    return prod(shapes[0]) * (5 if a.elementwise_affine else 4)


def _fvcore_adaptive_avgpool(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> int:
    return prod(shapes[0])  # fvcore: one op per input element of aten::adaptive_avg_pool2d


def _fvcore_skips(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> Uncounted:
    # an operation fvcore traces and has no handle for (FVCORE_UNSUPPORTED): it warns and counts 0
    return Uncounted(kind.key)


def _fvcore_upsample2d(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> int:
    # fvcore: aten::upsample_nearest2d one per output element, upsample_bilinear2d four
    return prod(out) * (1 if a.mode == "nearest" else 4)


def _flop_counter_conv_backward(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape,
                                macs: int) -> tuple[int, int]:
    # FlopCounterMode counts a convolution's weight gradient as a convolution of the input with the
    # output gradient whose channels all meet (torch/utils/flop_counter.py, conv_backward_flop):
    # it leaves out the groups, so counts `groups` times the products made
    data, weights = kind.backward_macs(a, shapes, out, macs)
    return data, weights * a.groups


FVCORE_UNSUPPORTED = (
    *(f"{pool}{axes}d" for pool in ("maxpool", "avgpool", "adaptive_maxpool") for axes in (1, 2, 3)),
    "adaptive_avgpool1d", "adaptive_avgpool3d", "mean", "upsample1d", "upsample3d", "pad1d", "pad2d", "pad3d",
    "relu6", "leaky_relu", "sigmoid", "tanh", "gelu", "silu", "hardswish", "hardsigmoid", "softmax", "lrn",
    "add", "multiply", "layer_scale", "channel_shuffle", "pixel_shuffle")
"""The kinds whose torch operation fvcore 0.1.5 traces and reports as an unsupported operator
(aten::max_pool2d, aten::hardtanh, aten::add, aten::mul, aten::pixel_shuffle, …), counting it 0:
measured kind by kind (tests/test_conventions.py). It ignores relu, dropout, flatten, cat, split,
permute and slicing without a word, and stochastic depth and identity trace no operation at all."""

PAPER = Convention(
    "paper", "MACs of conv and linear layers only, bias excluded "
    "(the lecture tables, the ResNet paper, torchvision's GFLOPS); FLOPs = 2 × MACs", {"opaque": _opaque})
FVCORE = PAPER.extend(
    "fvcore", "fvcore FlopCountAnalysis: conv and linear MACs, batch norm and 2-D "
    "adaptive average pooling per element, layer norm 5 per element (4 without affine), 2-D upsampling per "
    "output element (bilinear 4), the rest 0 (what it reports as unsupported is named); "
    "FLOPs = 2 × MACs",
    {**dict.fromkeys(FVCORE_UNSUPPORTED, _fvcore_skips),
     **{f"conv{d}d": _fvcore_conv for d in (1, 2, 3)}, **{f"batchnorm{d}d": _fvcore_batchnorm for d in (1, 2, 3)},
     "adaptive_avgpool2d": _fvcore_adaptive_avgpool, "upsample2d": _fvcore_upsample2d,
     "layer_norm": _fvcore_layer_norm, "channel_layer_norm": _fvcore_layer_norm},
    no_backward="fvcore's FlopCountAnalysis traces and counts the forward pass only")
TORCH = PAPER.extend(
    "torch", "torch FlopCounterMode: 2 FLOPs per MAC of conv and matmul, nothing else; MACs = FLOPs / 2",
    headline="flops",
    backward={f"{conv}{d}d": _flop_counter_conv_backward for conv in ("conv", "conv_transpose") for d in (1, 2, 3)})

CONVENTIONS: dict[str, Convention] = {c.name: c for c in (PAPER, FVCORE, TORCH)}
DEFAULT_CONVENTION = PAPER.name


def counted(count: Count) -> int:
    """A count as a number: what the tool reports for it (0 where it skips the work)."""
    return 0 if isinstance(count, Uncounted) else count
