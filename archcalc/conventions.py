"""Counting conventions: which operations a MAC/FLOP figure includes, named in every output."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from archcalc.layers import Attrs, LayerKind, Shape

Counter = Callable[[LayerKind, Attrs, list[Shape], Shape], tuple[int, int]]


@dataclass(frozen=True)
class Convention:
    """A name, a one-line description, and the (MACs, FLOPs) of one layer under it."""

    name: str
    summary: str
    count: Counter


def _paper(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> tuple[int, int]:
    macs = kind.macs(a, shapes, out)
    return macs, 2 * macs


def _fvcore(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> tuple[int, int]:
    count = kind.fvcore_count(a, shapes, out)
    return count, 2 * count


def _torch(kind: LayerKind, a: Attrs, shapes: list[Shape], out: Shape) -> tuple[int, int]:
    flops = kind.flop_counter_count(a, shapes, out)
    return flops // 2, flops


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in [
        Convention("paper", "MACs of conv and linear layers only, bias excluded "
                   "(the lecture tables, the ResNet paper, torchvision's GFLOPS); FLOPs = 2 × MACs", _paper),
        Convention("fvcore", "fvcore FlopCountAnalysis: conv and linear MACs, batch norm and "
                   "adaptive average pooling per element, the rest 0; FLOPs = 2 × MACs", _fvcore),
        Convention("torch", "torch FlopCounterMode: 2 FLOPs per MAC of conv and matmul, "
                   "nothing else; MACs = FLOPs / 2", _torch),
    ]
}
DEFAULT_CONVENTION = "paper"
