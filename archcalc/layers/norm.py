"""Normalisation layers."""

from __future__ import annotations

from math import prod
from typing import ClassVar

from archcalc import layout
from archcalc.errors import SpecError
from archcalc.layers.base import (
    AXIS_LETTERS,
    IN_TRAINING,
    INDEX_BYTES,
    Attrs,
    Backward,
    Field,
    Footprint,
    LayerKind,
    Params,
    Pooled,
    Shape,
    holds,
    numel,
    spatial,
)
from archcalc.layout import Layout
from archcalc.sizes import format_shape


class _BatchNorm(LayerKind):
    """Batch normalisation of the channels of a map with `axes` spatial axes (batchnorm1d also
    of a flat (N, C) input, as torch.nn.BatchNorm1d)."""

    keeps_grid = True
    fields = {
        "eps": Field("number", 1e-5, "added to the variance"),
        "momentum": Field("number", 0.1, "running-statistics momentum"),
        "affine": Field("bool", True, "learnable scale (weight) and shift (bias) per channel"),
        "track_running_stats": Field("bool", True, "keep running mean and variance buffers"),
    }

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        cls.torch_module = f"torch.nn.BatchNorm{cls.axes}d"
        cls.doc = f"Batch normalisation over channels (torch.nn.BatchNorm{cls.axes}d), counted in eval mode."

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        shape = self.checked(shapes[0])
        n, _, *sizes = shape
        training = IN_TRAINING.get()
        if training and a.eps <= 0:
            raise SpecError(f"in training, batch norm needs eps above 0 (torch refuses {a.eps:g}: the variance "
                            "of a constant channel would divide by zero)", field="eps", hint="give eps: 1.0e-5")
        if (training or not a.track_running_stats) and not holds(n * prod(sizes) >= 2):
            values = "·".join(["N", *AXIS_LETTERS[len(sizes)].split(", ")] if sizes else ["N"])
            if training:
                raise SpecError(f"in training, batch norm normalises each channel over {values} = 1 value, "
                                "which torch refuses", hint="train with a batch above 1")
            raise SpecError("without running statistics, batch norm normalises each channel over "
                            f"{values} = 1 value, which torch refuses",
                            hint="use a batch above 1, a larger input, or track_running_stats: true")
        return shape

    def checked(self, shape: Shape) -> Shape:
        return spatial(shape, self.key, self.axes)

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        c = shapes[0][1]
        affine = c if a.affine else 0
        # running_mean, running_var and the num_batches_tracked counter
        return Params(weight=affine, bias=affine, buffers=2 * c + 1 if a.track_running_stats else 0)

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """Without running statistics torch normalises by the batch's, returning each channel's
        mean and inverse deviation with the output (dropped when it returns)."""
        if a.track_running_stats:
            return Footprint()
        statistic = shapes[0][1] * itemsize
        return Footprint(transient=2 * statistic, moments=((statistic, statistic),))

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """In training it normalises by the batch's statistics and keeps each channel's mean and
        inverse deviation with its input; torch refuses a batch of one value per channel, and an
        eps of 0 or less."""
        if a.eps <= 0:
            raise SpecError(f"in training, batch norm needs eps above 0 (torch refuses {a.eps:g}: the variance "
                            "of a constant channel would divide by zero)", field="eps", hint="give eps: 1.0e-5")
        n, c, *sizes = shapes[0]
        if n * prod(sizes) < 2:
            values = "·".join(["N", *AXIS_LETTERS[len(sizes)].split(", ")] if sizes else ["N"])
            raise SpecError(f"in training, batch norm normalises each channel over {values} = 1 value, "
                            "which torch refuses", hint="train with a batch above 1")
        return Backward(kept=2 * c * itemsize, kept_tensors=(c * itemsize, c * itemsize),
                        kept_without_gradient=a.track_running_stats)

    def buffer_bytes(self, a: Attrs, shapes: list[Shape], itemsize: int) -> int:
        """The running mean and variance in the model's dtype; the counter of batches an int64."""
        return 2 * shapes[0][1] * itemsize + INDEX_BYTES if a.track_running_stats else 0

    def buffer_tensors(self, a: Attrs, shapes: list[Shape], itemsize: int) -> tuple[int, ...]:
        """running_mean, running_var and num_batches_tracked."""
        return (shapes[0][1] * itemsize,) * 2 + (INDEX_BYTES,) if a.track_running_stats else ()

    def weights_read(self, a: Attrs, shapes: list[Shape], itemsize: int) -> int:
        """The scale and shift, and the running mean and variance: never the counter of batches."""
        stats = 2 * shapes[0][1] if a.track_running_stats else 0
        return (self.params(a, shapes).trainable + stats) * itemsize

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """Contiguous where torch's is_contiguous holds for its input (a channels-last map of one
        channel or one position too), else in the memory format torch suggests."""
        if layout.is_contiguous(shapes[0], layouts[0]):
            return layout.contiguous(out)
        return layout.suggested(out, shapes[0], layouts[0])

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(num_features=shapes[0][1], eps=a.eps, momentum=a.momentum, affine=a.affine,
                    track_running_stats=a.track_running_stats)


class BatchNorm1d(_BatchNorm):
    key, axes = "batchnorm1d", 1

    def checked(self, shape: Shape) -> Shape:
        if len(shape) not in (2, 3):
            raise SpecError(f"batchnorm1d needs a 2-D input (N, C) or a 3-D one (N, C, L), got {format_shape(shape)}",
                            hint="use batchnorm2d or batchnorm3d for maps with more spatial axes")
        return shape


class BatchNorm2d(_BatchNorm):
    key, axes = "batchnorm2d", 2


class BatchNorm3d(_BatchNorm):
    key, axes = "batchnorm3d", 3


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

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """torch's local_response_norm runs in steps, each a new tensor: the squares and their copy
        padded with size − 1 channels are alive together; later the averages, ·alpha and +k (in
        one expression: three of the input's size). The output is made when they are gone."""
        n, c, h, w = out
        padded, each = n * (c + a.size - 1) * h * w * itemsize, numel(out) * itemsize
        return Footprint(transient=max(padded, 2 * each), moments=((padded,), (each, each)))

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """In training it keeps its input, the padded squares (for the pooling's backward), the
        averages ·alpha + k (for the power's) and their power (for the division's). Its backward
        begins with the division's, which makes the gradient of the input's side and of the power's,
        and −grad·x / d / d in three more tensors of the input's size, all alive at once."""
        n, c, h, w = out
        padded = n * (c + a.size - 1) * h * w
        each = numel(out) * itemsize
        return Backward(kept=padded * itemsize + 2 * each, transient=3 * each,
                        kept_tensors=(padded * itemsize, each, each), moments=((each, each, each),),
                        later=(each, padded * itemsize))

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(size=a.size, alpha=a.alpha, beta=a.beta, k=a.k)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """Its last step divides the input by the normalisers: laid out as TensorIterator follows the input."""
        return layout.iterated(out, shapes[:1], layouts[:1])

    def work(self, a: Attrs, shapes: list[Shape]) -> str:
        """An average pooling over a window of channels, at its heart (torch runs avg_pool3d)."""
        return "pooling"

    def pooled(self, a: Attrs, shapes: list[Shape], out: Shape) -> Pooled:
        """torch's avg_pool3d of a window of `size` channels (×1×1) over the squares of its 4-D input,
        padded: an output each."""
        return Pooled("avg_pool3d", numel(out), a.size)


class _LayerNorm(LayerKind):
    """Layer normalisation over one axis of C values: each position's C values are normalised
    together (mean and variance over that axis alone), then scaled and shifted per value."""

    fields: ClassVar[dict[str, Field]] = {
        "eps": Field("number", 1e-5, "added to the variance"),
        "elementwise_affine": Field("bool", True, "learnable scale (weight) per normalised value"),
        "bias": Field("bool", True, "with elementwise_affine: a learnable shift (bias) per normalised value"),
    }

    def normalised(self, shape: Shape) -> int:
        """C, the length of the axis normalised over."""
        raise NotImplementedError

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        self.normalised(shapes[0])  # refuses an input without that axis
        return shapes[0]

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        c = self.normalised(shapes[0])
        return Params(weight=c if a.elementwise_affine else 0, bias=c if a.elementwise_affine and a.bias else 0)

    def footprint(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Footprint:
        """torch's native_layer_norm returns each position's mean and inverse deviation with the
        output (dropped when it returns)."""
        statistic = numel(out) // self.normalised(out) * itemsize
        return Footprint(transient=2 * statistic, touches_input=self.moves_to_last, moments=((statistic, statistic),))

    moves_to_last: ClassVar[bool] = False
    """Whether the forward first permutes the normalised axis to the end (a view of the input)."""

    def backward(self, a: Attrs, shapes: list[Shape], out: Shape, itemsize: int) -> Backward:
        """In training the means and inverse deviations are kept with the input. Where the axis was
        moved last (a channel layer norm), the output is the result permuted back, a view: an
        in-place layer after it changes a view (`Backward.viewed_result`); and the input's gradient
        is permuted back after the layer norm's backward, so autograd makes the weights' gradients
        `.grad` before it hands the input's on (`Backward.weights_first`)."""
        statistics = self.footprint(a, shapes, out, itemsize)
        return Backward(kept=statistics.transient, kept_tensors=statistics.moments[0], viewed_result=self.moves_to_last,
                        weights_first=self.moves_to_last)

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return {"normalized_shape": self.normalised(shapes[0]), "eps": a.eps,
                "elementwise_affine": a.elementwise_affine, "bias": a.bias}


class LayerNorm(_LayerNorm):
    key = "layer_norm"
    torch_module = "torch.nn.LayerNorm"
    allocates_contiguous = True
    doc = ("Layer normalisation over the last axis (torch.nn.LayerNorm with normalized_shape the last "
           "size): the features of an (N, F) input, or the channels of a channels-last (N, H, W, C) map.")

    def normalised(self, shape: Shape) -> int:
        return shape[-1]

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...]:
        return (rank - 1,)


class ChannelLayerNorm(_LayerNorm):
    key = "channel_layer_norm"
    keeps_grid = True
    torch_module = "archcalc.torchmodel.modules.ChannelLayerNorm"
    doc = ("Layer normalisation over the channels of an (N, C, …) map at each position, as ConvNeXt's "
           "LayerNorm2d: the channels moved last, torch.nn.functional.layer_norm over them, moved back.")

    moves_to_last = True

    def mixes(self, a: Attrs, rank: int) -> tuple[int, ...]:
        return (1,)

    def laid_out(self, a: Attrs, shapes: list[Shape], layouts: list[Layout], out: Shape,
                 dtype: str = "float32") -> Layout:
        """Channels-last, whatever the input's layout: a contiguous (N, …, C) result permuted back."""
        rank = len(out)
        last = layout.contiguous((out[0], *out[2:], out[1]))
        return (last[0], last[rank - 1], *last[1:rank - 1])

    def normalised(self, shape: Shape) -> int:
        if len(shape) < 3:
            raise SpecError(f"channel_layer_norm needs a map (N, C, …) with at least one spatial axis, "
                            f"got {format_shape(shape)}",
                            hint="use layer_norm for a flat (N, features) input: it normalises the last axis")
        return shape[1]
