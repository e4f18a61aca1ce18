"""The layer kinds, one object each, registered under their spec key."""

from __future__ import annotations

from archcalc.layers.base import Attrs, Field, LayerKind, Params, Shape
from archcalc.layers.channels import ChannelShuffle, Split
from archcalc.layers.conv import Conv2d
from archcalc.layers.elementwise import ELEMENTWISE, Softmax
from archcalc.layers.linear import Linear
from archcalc.layers.merge import Add, Concat, Multiply
from archcalc.layers.norm import BatchNorm2d, LocalResponseNorm
from archcalc.layers.pooling import AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, MaxPool2d, SpatialMean
from archcalc.layers.reshape import Flatten

LAYER_KINDS: dict[str, LayerKind] = {
    kind.key: kind
    for kind in [
        Conv2d(), Linear(), MaxPool2d(), AvgPool2d(), AdaptiveAvgPool2d(), AdaptiveMaxPool2d(), SpatialMean(),
        BatchNorm2d(), LocalResponseNorm(), Softmax(), Flatten(), Add(), Concat(), Multiply(),
        ChannelShuffle(), Split(), *ELEMENTWISE,
    ]
}

__all__ = ["LAYER_KINDS", "Attrs", "Field", "LayerKind", "Params", "Shape"]
