"""2-D convolution."""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.layers.base import Attrs, Field, LayerKind, Params, Shape, Window, same, spatial
from archcalc.layers.window import window_output


class Conv2d(LayerKind):
    key = "conv2d"
    torch_module = "torch.nn.Conv2d"
    doc = "2-D convolution (torch.nn.Conv2d). Input channels come from the incoming shape."
    fields = {
        "out": Field("count", doc="output channels (filters)"),
        "kernel": Field("size", doc="kernel size, one number or [height, width]"),
        "stride": Field("size", 1, "step of the window"),
        "padding": Field("padding", 0, "zeros added on each side; 'same' keeps the size (stride 1 only)"),
        "dilation": Field("size", 1, "spacing between kernel taps"),
        "groups": Field("count", 1, "channel groups; must divide input and output channels"),
        "bias": Field("bool", True, "whether the layer has a bias per output channel"),
    }

    def output_shape(self, a: Attrs, shapes: list[Shape]) -> Shape:
        n, c, h, w = spatial(shapes[0], self.key)
        if a.out % a.groups or not same(c % a.groups, 0):
            raise SpecError(
                f"groups={a.groups} does not divide the channels (in {c}, out {a.out})",
                field="groups", hint="choose groups that divide both input and output channels",
            )
        if a.padding == "same":
            if a.stride != (1, 1):
                raise SpecError("padding 'same' needs stride 1 (torch refuses it for strided convolutions)",
                                field="padding", hint="give the padding as a number instead")
            return (n, a.out, h, w)  # torch pads d·(k−1) in all, the odd one on the right
        sizes = [window_output(size, k, s, p, d)
                 for size, k, s, p, d in zip((h, w), a.kernel, a.stride, a.padding, a.dilation)]
        return (n, a.out, *sizes)

    def params(self, a: Attrs, shapes: list[Shape]) -> Params:
        c = shapes[0][1]
        weight = a.out * (c // a.groups) * a.kernel[0] * a.kernel[1]
        return Params(weight=weight, bias=a.out if a.bias else 0)

    def macs(self, a: Attrs, shapes: list[Shape], out: Shape) -> int:
        n, c_out, h_out, w_out = out
        c_in = shapes[0][1]
        return n * c_out * h_out * w_out * (c_in // a.groups) * a.kernel[0] * a.kernel[1]

    def window(self, a: Attrs, shapes: list[Shape], out: Shape) -> tuple[Window, Window]:
        # 'same': torch pads d·(k − 1) in all, the smaller half on the left
        pads = ([d * (k - 1) // 2 for k, d in zip(a.kernel, a.dilation)] if a.padding == "same"
                else a.padding)
        return tuple(zip(a.kernel, a.stride, pads, a.dilation))

    def strides(self, a: Attrs) -> tuple[int, int]:
        return a.stride

    def torch_arguments(self, a: Attrs, shapes: list[Shape]) -> dict:
        return dict(in_channels=shapes[0][1], out_channels=a.out, kernel_size=a.kernel, stride=a.stride,
                    padding=a.padding, dilation=a.dilation, groups=a.groups, bias=a.bias)
