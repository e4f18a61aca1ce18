"""The torch modules archcalc adds to torch's own: the merges, blocks, and the graph runner."""

from __future__ import annotations

import torch
from torch import nn

from archcalc.graph import INPUT


class Add(nn.Module):
    """Elementwise sum of its inputs: a residual merge as a module of its own."""

    def forward(self, first: torch.Tensor, *others: torch.Tensor) -> torch.Tensor:
        for other in others:
            first = first + other
        return first


class Concat(nn.Module):
    """Concatenation of its inputs along `dim`, as in Inception and DenseNet."""

    def __init__(self, dim: int = 1) -> None:
        super().__init__()
        self.dim = dim

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return torch.cat(inputs, dim=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


class SpatialMean(nn.Module):
    """The mean over every spatial axis (x.mean([2, 3]) of a 2-D map): global average pooling as
    ShuffleNet V2, MNASNet and S3D write it."""

    def __init__(self, keepdim: bool = False) -> None:
        super().__init__()
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(list(range(2, x.dim())), keepdim=self.keepdim)

    def extra_repr(self) -> str:
        return f"keepdim={self.keepdim}"


class Multiply(nn.Module):
    """Elementwise product of two inputs, broadcasting: a squeeze-and-excitation scale."""

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return x * scale


class Split(nn.Module):
    """Slice `take` of `parts` equal slices of the channels (torch.chunk)."""

    def __init__(self, parts: int, take: int) -> None:
        super().__init__()
        self.parts, self.take = parts, take

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.chunk(self.parts, dim=1)[self.take]

    def extra_repr(self) -> str:
        return f"parts={self.parts}, take={self.take}"


class Permute(nn.Module):
    """torch.permute with `dims`, as torchvision.ops.misc.Permute."""

    def __init__(self, dims: list[int]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.permute(x, self.dims)

    def extra_repr(self) -> str:
        return f"dims={self.dims}"


class ChannelLayerNorm(nn.LayerNorm):
    """Layer norm over the channels of an (N, C, …) map, as torchvision's LayerNorm2d of ConvNeXt:
    the channels moved last, F.layer_norm over them, moved back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rank = x.dim()
        x = x.permute(0, *range(2, rank), 1)
        x = nn.functional.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, rank - 1, *range(1, rank - 1))


class LayerScale(nn.Module):
    """A learned scale per channel: `weight` (of `shape`, (C, 1, 1) for a map) times the input."""

    def __init__(self, shape: tuple[int, ...], init: float = 1e-6) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.full(shape, init))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight * x

    def extra_repr(self) -> str:
        return f"shape={tuple(self.weight.shape)}"


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth, written here (torchvision is no dependency): while
    training, each sample (`row`) or the whole batch (`batch`) is zeroed with probability p and
    the rest divided by 1 − p; in eval mode the input itself."""

    def __init__(self, p: float, mode: str = "row") -> None:
        super().__init__()
        self.p, self.mode = p, mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.dim() - 1) if self.mode == "row" else [1] * x.dim()
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise

    def extra_repr(self) -> str:
        return f"p={self.p}, mode={self.mode}"


def _spatial(reference: tuple[torch.Tensor, ...], given) -> tuple | None:
    """The spatial sizes asked for: the reference input's when there is one, else `given`."""
    return tuple(reference[0].shape[2:]) if reference else given


class Upsample(nn.Module):
    """torch.nn.functional.interpolate by whole-number factors, to a size, or to the size of a
    second input (whose values are not read)."""

    def __init__(self, size=None, scale=None, mode: str = "nearest", align_corners: bool | None = None) -> None:
        super().__init__()
        self.size, self.scale, self.mode, self.align_corners = size, scale, mode, align_corners

    def forward(self, x: torch.Tensor, *reference: torch.Tensor) -> torch.Tensor:
        size = _spatial(reference, self.size)
        scale = None if size is not None else tuple(float(factor) for factor in self.scale)
        return nn.functional.interpolate(x, size=size, scale_factor=scale, mode=self.mode,
                                         align_corners=self.align_corners)

    def extra_repr(self) -> str:
        return f"size={self.size}, scale={self.scale}, mode={self.mode!r}, align_corners={self.align_corners}"


class Pad(nn.Module):
    """Constant padding, the same on both sides of each axis, or up to the size of a second input
    (the odd one after)."""

    def __init__(self, padding=None, value: float = 0.0) -> None:
        super().__init__()
        self.padding, self.value = padding, value

    def forward(self, x: torch.Tensor, *reference: torch.Tensor) -> torch.Tensor:
        if reference:
            extra = [goal - size for size, goal in zip(x.shape[2:], reference[0].shape[2:])]
            sides = [(e // 2, e - e // 2) for e in extra]
        else:
            sides = [(p, p) for p in self.padding]
        flat = [side for pair in reversed(sides) for side in pair]  # torch lists the last axis first
        return nn.functional.pad(x, flat, value=self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class Crop(nn.Module):
    """Centre crop to a size or to the size of a second input: ⌊(in − out)/2⌋ cut before."""

    def __init__(self, size=None) -> None:
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor, *reference: torch.Tensor) -> torch.Tensor:
        goal = _spatial(reference, self.size)
        index = [slice(None), slice(None)]
        index += [slice((size - g) // 2, (size - g) // 2 + g) for size, g in zip(x.shape[2:], goal)]
        return x[tuple(index)]

    def extra_repr(self) -> str:
        return f"size={self.size}"


class LayerHolder(nn.Module):
    """A module that holds layers under their spec names, even a name nn.Module uses for an
    attribute (`eval`, `to`, `training`, …): such a layer is in `_modules` (so in `state_dict`,
    `named_modules`, `.to()`) and reached with `get_submodule`, while the attribute stays nn.Module's."""

    def place(self, name: str, module: nn.Module) -> None:
        """Hold `module` as the child `name`; a name nn.Module uses goes straight into `_modules`."""
        if hasattr(self, name):
            self._modules[name] = module
        else:
            self.add_module(name, module)

    def __setattr__(self, name: str, value) -> None:
        if name in self.__dict__.get("_modules", ()) and not isinstance(value, nn.Module):
            object.__setattr__(self, name, value)  # nn.Module's own attribute, e.g. `training` set by train()
        else:
            super().__setattr__(name, value)

    def get_submodule(self, target: str) -> nn.Module:
        """The layer or block at a dotted name, looked up in `_modules` (getattr would find `eval`)."""
        module: nn.Module = self
        for part in target.split(".") if target else []:
            if part not in module._modules:
                raise AttributeError(f"{module._get_name()} has no submodule `{part}`")
            module = module._modules[part]
        return module


class Block(LayerHolder):
    """A block, repeat or group of the spec. It holds its layers; the whole model runs them."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self._label = label

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("a block's layers may read from outside the block, so only the whole "
                           "model runs them: call the model")

    def extra_repr(self) -> str:
        return self._label


Step = tuple[str, tuple[str, ...], nn.Module]


class GraphModule(LayerHolder):
    """A model built from a spec: each layer a submodule under its dotted name, run in order.

    `steps` are (name, input names, module) in topological order; `labels` name the blocks;
    `outputs` the steps whose results it returns (one tensor, or a tuple of them in that order; the
    last step by default). Each other result is dropped after its last reader, so only live
    tensors take memory.
    """

    def __init__(self, steps: list[Step], labels: dict[str, str], outputs: tuple[str, ...] = ()) -> None:
        super().__init__()
        for name, _, module in steps:
            self._place(name, module, labels)
        last_reader = {source: name for name, inputs, _ in steps for source in inputs}
        self._outputs = outputs or (steps[-1][0],)
        self._steps = [(name, inputs, module,
                        [s for s in dict.fromkeys(inputs) if last_reader[s] == name and s not in self._outputs])
                       for name, inputs, module in steps]

    def _place(self, name: str, module: nn.Module, labels: dict[str, str]) -> None:
        parent: LayerHolder = self
        parts = name.split(".")
        for depth, part in enumerate(parts, start=1):
            if part not in parent._modules:
                prefix = ".".join(parts[:depth])
                parent.place(part, module if depth == len(parts) else Block(labels.get(prefix, "group")))
            parent = parent._modules[part]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {INPUT: x}
        for name, inputs, module, done in self._steps:
            values[name] = module(*(values[source] for source in inputs))
            for source in done:
                del values[source]
        if len(self._outputs) == 1:
            return values[self._outputs[0]]
        return tuple(values[name] for name in self._outputs)
