"""Normalisation layers."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Params, Shape, holds, spatial


class BatchNorm2d(LayerKind):
    key = "batchnorm2d"
    keeps_grid = True
    torch_module = "torch.nn.BatchNorm2d"
    doc = "Batch normalisation over channels (torch.nn.BatchNorm2d), counted in eval mode."
    fields = {
        "eps": Field("number", 1e-5, "added to the variance"),
        "momentum": Field("number", 0.1, "running-statistics momentum"),
        "affine": Field("bool", True, "learnable scale (weight) and shift (bias) per channel"),
        "track_running_stats": Field("bool", True, "keep running mean and variance buffers"),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, h, w = spatial(shapes[0], self.key)
        if not a.track_running_stats and not holds(n * h * w >= 2):
            raise SpecError("without running statistics, batch norm normalises each channel over "
                            "N·H·W = 1 value, which torch refuses",
                            hint="use a batch above 1, a larger input, or track_running_stats: true")
        return shapes[0]

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        c = shapes[0][1]
        affine = c if a.affine else 0
        # running_mean, running_var and the num_batches_tracked counter
        return Params(weight=affine, bias=affine, buffers=2 * c + 1 if a.track_running_stats else 0)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(num_features=shapes[0][1], eps=a.eps, momentum=a.momentum, affine=a.affine,
                    track_running_stats=a.track_running_stats)


class LocalResponseNorm(LayerKind):
    key = "lrn"
    keeps_grid = True
    torch_module = "torch.nn.LocalResponseNorm"
    doc = "Local response normalisation across channels (torch.nn.LocalResponseNorm), as in AlexNet."
    fields = {
        "size": Field("count", doc="number of neighbouring channels"),
        "alpha": Field("number", 1e-4, "scale"),
        "beta": Field("number", 0.75, "exponent"),
        "k": Field("number", 1.0, "additive constant"),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        return spatial(shapes[0], self.key)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(size=a.size, alpha=a.alpha, beta=a.beta, k=a.k)
