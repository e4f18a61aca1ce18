"""The torch modules archcalc adds to torch's own: the merges, blocks, and the graph runner."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.utils import _ntuple

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


class _ExportedAdaptiveAverage:
    """torch's adaptive average pooling, which torch's ONNX exporter refuses where an output size
    is not a factor of the input's (GoogLeNet's auxiliary heads: 14 → 4). Where every window along
    an axis has one size k (⌈(i + 1)·n/m⌉ − ⌊i·n/m⌋), it is written while exported as the pooling
    with kernel k and stride 1 and the windows' starts taken from it (AveragePool, a Gather per
    axis): the same values. Run, it is torch's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.onnx.is_in_onnx_export():
            return super().forward(x)
        sizes = [int(n) for n in x.shape[2:]]  # the exporter traces sizes as tensors
        outs = _ntuple(len(sizes))(self.output_size)
        outs = [n if m is None else m for n, m in zip(sizes, outs)]
        starts = [[i * n // m for i in range(m)] for n, m in zip(sizes, outs)]
        kernels = [{-(-(i + 1) * n // m) - i * n // m for i in range(m)} for n, m in zip(sizes, outs)]
        if all(n % m == 0 for n, m in zip(sizes, outs)) or any(len(k) != 1 for k in kernels):
            return super().forward(x)
        pool = getattr(nn.functional, f"avg_pool{len(sizes)}d")
        y = pool(x, [k.pop() for k in kernels], stride=1)
        for axis, index in enumerate(starts):
            y = y.index_select(2 + axis, torch.tensor(index, device=x.device))
        return y


class AdaptiveAvgPool1d(_ExportedAdaptiveAverage, nn.AdaptiveAvgPool1d):
    """torch.nn.AdaptiveAvgPool1d, exportable to ONNX at any output size of windows of one size."""


class AdaptiveAvgPool2d(_ExportedAdaptiveAverage, nn.AdaptiveAvgPool2d):
    """torch.nn.AdaptiveAvgPool2d, exportable to ONNX at any output size of windows of one size."""


class AdaptiveAvgPool3d(_ExportedAdaptiveAverage, nn.AdaptiveAvgPool3d):
    """torch.nn.AdaptiveAvgPool3d, exportable to ONNX at any output size of windows of one size."""


class ChannelShuffle(nn.ChannelShuffle):
    """torch's channel shuffle, which torch's ONNX exporter writes as the Reshape, Transpose and
    Reshape it computes (the exporter has no rule for aten::channel_shuffle); run, it is torch's."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.onnx.is_in_onnx_export():
            return super().forward(x)
        n, c, *sizes = x.shape
        return x.reshape(n, self.groups, c // self.groups, *sizes).transpose(1, 2).reshape(x.shape)


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


class Scope(dict):
    """The live values of one forward pass by name, shared by the model and the blocks it calls,
    so that each value is dropped after its last reader wherever that runs."""


class Block(LayerHolder):
    """A block, repeat or group of the spec, run as a module of its own.

    Called with the values its layers read from outside it (`reads`, in the order first read), it
    returns those read after it or returned by the model (`gives`): one tensor, or a tuple in the
    order made. The model calls it with its `Scope` instead. A block whose layers the model runs
    interleaved with others' only groups them."""

    def __init__(self, label: str) -> None:
        super().__init__()
        self._label = label
        self._program: Program | None = None

    def forward(self, *inputs) -> torch.Tensor | tuple[torch.Tensor, ...]:
        program = self._program
        if program is None:
            raise RuntimeError("this block's layers run interleaved with others', so only the model "
                               "runs them: call the model")
        if len(inputs) == 1 and isinstance(inputs[0], Scope):
            return program.run(inputs[0])
        if len(inputs) != len(program.reads):
            raise TypeError(f"this block reads {len(program.reads)} value(s) from outside it "
                            f"({', '.join(program.reads)}), got {len(inputs)}: give them in that order")
        return program.run(Scope(zip(program.reads, inputs)))

    def extra_repr(self) -> str:
        return self._label


Step = tuple[str, tuple[str, ...], nn.Module]


@dataclass(frozen=True)
class Call:
    """One call of a program: a layer (`name`: called with what it `reads`, its result kept
    under its name) or a block (`name` None, its `block` program: called with the scope, what it
    returns kept under the names it gives); then the values whose last reader it is are dropped
    (`done`). The module called is the one its `owner` holds under `key` when it runs: a module
    put in a layer's or a block's place (`model.fc = nn.Linear(512, 10)`) runs in its place, a
    block's on the values the block reads."""

    module: nn.Module
    name: str | None
    reads: tuple[str, ...]
    done: tuple[str, ...]
    owner: nn.Module
    key: str
    block: Program | None = None


@dataclass(frozen=True)
class Program:
    """The calls of a block or of the model in run order, the values it reads and gives."""

    reads: tuple[str, ...]
    gives: tuple[str, ...]
    calls: tuple[Call, ...]

    def run(self, scope: Scope) -> torch.Tensor | tuple[torch.Tensor, ...]:
        for call in self.calls:
            module = call.owner._modules[call.key]
            if call.block is not None:  # a forward hook's return replaces what the block gives
                _keep(scope, call.block.gives,
                      module(scope) if module is call.module else module(*(scope[s] for s in call.block.reads)))
                continue
            scope[call.name] = module(*(scope[source] for source in call.reads))
            for source in call.done:
                del scope[source]
        if len(self.gives) == 1:
            return scope[self.gives[0]]
        return tuple(scope[name] for name in self.gives)


def _keep(scope: Scope, gives: tuple[str, ...], given) -> None:
    """What a block (or a module in its place) returned, under the names the block gives: one
    tensor, or a tuple of them in that order."""
    values = (given,) if len(gives) == 1 else given
    if not isinstance(values, tuple) or len(values) != len(gives):
        raise TypeError(f"a block here gives {len(gives)} value(s) ({', '.join(gives)}): the module in its place "
                        f"returned {type(given).__name__}")
    scope.update(zip(gives, values))


def compile_program(holder: LayerHolder, steps: list[Step], gives: tuple[str, ...], done: dict[str, tuple[str, ...]],
                    depth: int = 0) -> Program:
    """The program of `holder` (the model, or a block at `depth` dots) from its layers' `steps`:
    each run of steps under one child block is a call of that block, compiled in turn, or, if a
    child's steps are not all together, every step here is a call of its layer. `gives` are the
    values it returns, `done` each step's values to drop after it."""
    runs: list[tuple[str | None, list[Step]]] = []
    for step in steps:
        parts = step[0].split(".")
        child = parts[depth] if len(parts) > depth + 1 else None
        if child is not None and runs and runs[-1][0] == child:
            runs[-1][1].append(step)
        else:
            runs.append((child, [step]))
    children = [child for child, _ in runs if child is not None]
    if len(children) != len(set(children)):
        runs = [(None, [step]) for step in steps]
    calls = []
    for index, (child, run) in enumerate(runs):
        if child is None:
            name, inputs, module = run[0]
            parts = name.split(".")
            owner = holder.get_submodule(".".join(parts[depth:-1]))
            calls.append(Call(module, name, inputs, done[name], owner, parts[-1]))
            continue
        read_later = {s for _, later in runs[index + 1:] for _, inputs, _ in later for s in inputs}
        block_gives = tuple(name for name, _, _ in run if name in read_later or name in gives)
        block = holder._modules[child]
        block._program = compile_program(block, run, block_gives, done, depth + 1)
        calls.append(Call(block, None, (), (), holder, child, block._program))
    return Program(_reads(steps), gives, tuple(calls))


def _reads(steps: list[Step]) -> tuple[str, ...]:
    """The values `steps` read that they do not make, in the order first read."""
    made = {name for name, _, _ in steps}
    return tuple(dict.fromkeys(s for _, inputs, _ in steps for s in inputs if s not in made))


class GraphModule(LayerHolder):
    """A model built from a spec: each layer a submodule under its dotted name, each block a
    module that runs its layers, run in order.

    `steps` are (name, input names, module) in topological order; `labels` name the blocks;
    `outputs` the steps whose results it returns (one tensor, or a tuple of them in that order; the
    last step by default). Each other result is dropped after its last reader, so only live
    tensors take memory.
    """

    def __init__(self, steps: list[Step], labels: dict[str, str], outputs: tuple[str, ...] = ()) -> None:
        super().__init__()
        for name, _, module in steps:
            self._place(name, module, labels)
        outputs = outputs or (steps[-1][0],)
        last_reader = {source: name for name, inputs, _ in steps for source in inputs}
        done = {name: tuple(s for s in dict.fromkeys(inputs) if last_reader[s] == name and s not in outputs)
                for name, inputs, _ in steps}
        self._program = compile_program(self, steps, outputs, done)

    def _place(self, name: str, module: nn.Module, labels: dict[str, str]) -> None:
        parent: LayerHolder = self
        parts = name.split(".")
        for depth, part in enumerate(parts, start=1):
            if part not in parent._modules:
                prefix = ".".join(parts[:depth])
                parent.place(part, module if depth == len(parts) else Block(labels.get(prefix, "group")))
            parent = parent._modules[part]

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        return self._program.run(Scope({INPUT: x}))
