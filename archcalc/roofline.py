"""The roofline of every layer: the bytes it must move, its FLOPs, its arithmetic intensity and
its predicted time on a device profile (`archcalc.devices`), and the model's predicted latency.

A layer that runs a kernel (`LayerKind.launches`) reads its inputs (those whose values it reads)
and its weights and buffers, and writes its output, each element of `dtype`; it does its FLOPs as
FlopCounterMode counts them (the `torch` convention: 2 per MAC of a convolution or matrix product,
nothing for elementwise work, which the bytes bound anyway). Its time is

    max(FLOPs / peak FLOP/s of dtype, bytes / bandwidth) / efficiency + fixed cost
        + cold weights × weights' bytes / bandwidth

where the profile measured its cold weights (a model reads each layer's weights once a pass, the
rest of the pass going through the caches in between, where the synthetic layers that measured
its efficiency read theirs again and again), the weights fit its largest cache (larger ones
came from memory on the grid too: `DeviceProfile.weights_cold`) and the model's pass does not (a
pass within it leaves them there); and for the model's first layer that runs a kernel, + cold
start × bytes / bandwidth where the profile measured a cold start (its input was written a pass
before, and its output goes where the pass before's tensors were: no cache holds them);

except that a window pooling the profile measured the rate of (`DeviceProfile.pooled`) takes
max(outputs × (ns an output + ns a tap × its window's taps), bytes / bandwidth) + fixed cost, the
first term its compute time (its comparisons or additions, which are not FLOPs): its time follows
its window, not its bytes;

where the FLOPs are those of its output channels rounded up to a whole number of the block the
profile measured for its kind of work, where it measured one (on this project's CPU a convolution
computes 16 channels at a time: 17 cost as much as 32; `DeviceProfile.rounded_up`), and less the
share the profile measured saved of the taps that fall in the padding, where the layer's do more or
less than on the grid (a dilated convolution: `LayerKind.taps_read`, `DeviceProfile.padded`); the
efficiency is what the profile measured for the layer's kind of work at the layer's width and
positions (`LayerKind.work_size`, `archcalc.devices.SizeTable`) where it gives one by size, else
for its kind of work, else 1; the fixed cost is what the profile measured for a layer
of its kind of work at its smallest (`archcalc device-profile`), else the launch cost, and for a
convolution torch runs through oneDNN on the CPU oneDNN's where the profile measured it (a 5×5
one at its smallest took 24 µs there, a 3×3 one on torch's own kernel 2.9: `WorkSize.onednn`); it is
compute-bound where the first term is the larger. A view or an identity runs no kernel and costs
nothing. A layer whose FLOPs FlopCounterMode does not count (an opaque layer, `archcalc import
--allow-opaque`) is timed by its bytes alone: a lower bound, its bound unknown. The model's
predicted latency is the sum over its layers, one after another.
No torch here: the roofline is worked out from the spec's figures alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter
from pathlib import Path
from typing import NamedTuple

from archcalc.conventions import Uncounted, counted
from archcalc.devices import DeviceProfile, load_profile
from archcalc.errors import UserError
from archcalc.layers.base import numel
from archcalc.stats import DTYPE_BYTES, ModelStats

_new = tuple.__new__
"""Makes a named tuple without its own __new__ (a Python function): one is made for every layer."""
COMPUTE, MEMORY, NONE, UNKNOWN = "compute", "memory", "none", "unknown"
"""What bounds a layer's time: its FLOPs, its bytes, nothing (it runs no kernel), or what is not
known (its FLOPs are not counted: an opaque layer)."""
FLOPS_CONVENTION = "torch"
"""The convention whose FLOPs the roofline takes, whatever the table shows."""


class LayerRoofline(NamedTuple):
    """One layer on the roofline; times in seconds."""

    name: str
    kind: str
    work: str
    """Its kind of work (`archcalc.layers.base.WORK`)."""
    launches: bool
    flops: int
    bytes: int
    """Inputs read, weights and buffers read, output written."""
    compute_time: float
    """FLOPs / peak, at its output channels rounded up to the profile's block (`DeviceProfile.rounded_up`),
    less what its kernel saves of its taps in the padding (`DeviceProfile.padded`); a window pooling's
    where the profile rates it: its outputs and taps at that rate (`DeviceProfile.pooled`)."""
    memory_time: float
    """Bytes / bandwidth."""
    time: float
    """The prediction: max(compute, memory) / efficiency (a window pooling's: max(its outputs and
    taps at the profile's rate, memory)) + fixed cost + its weights read cold (+ the cold start of
    the model's first kernel); 0 without a kernel."""
    intensity: float | None
    """FLOPs per byte moved; None for a layer that moves nothing."""
    bound: str
    """COMPUTE, MEMORY, or NONE for a layer that runs no kernel."""
    weights: int = 0
    """The bytes of weights and buffers among its bytes."""
    uncounted: bool = False
    """Its FLOPs are not counted (an opaque layer): its time, of its bytes alone, is a lower bound."""
    fixed: float = 0.0
    """Its fixed cost, among its time (`DeviceProfile.fixed`); 0 without a kernel."""


def intensity(flops: int, moved: int, uncounted: bool = False) -> float | None:
    return flops / moved if moved and not uncounted else None


def bound(launches: bool, compute_time: float, memory_time: float, uncounted: bool = False) -> str:
    if not launches:
        return NONE
    if uncounted:
        return UNKNOWN
    return COMPUTE if compute_time > memory_time else MEMORY


class Share(NamedTuple):
    """The roofline figures of a block: the sums of its layers' (its bound: what bounds the sum
    of their times)."""

    flops: int
    bytes: int
    compute_time: float
    memory_time: float
    time: float
    launches: bool
    uncounted: bool = False
    """Some of its layers' FLOPs are not counted: its time is a lower bound."""

    @property
    def intensity(self) -> float | None:
        return intensity(self.flops, self.bytes, self.uncounted)

    @property
    def bound(self) -> str:
        return bound(self.launches, self.compute_time, self.memory_time, self.uncounted)


@dataclass(frozen=True)
class Roofline:
    """Every layer of one model on one device profile, in one dtype."""

    profile: DeviceProfile
    dtype: str
    layers: list[LayerRoofline]

    @cached_property
    def total(self) -> float:
        """The model's predicted latency in seconds: its layers one after another."""
        return sum(map(attrgetter("time"), self.layers))

    @cached_property
    def flops(self) -> int:
        return sum(map(attrgetter("flops"), self.layers))

    @cached_property
    def bytes(self) -> int:
        return sum(map(attrgetter("bytes"), self.layers))

    @cached_property
    def intensity(self) -> float | None:
        """The model's FLOPs per byte moved; None where it moves nothing or some FLOPs are not counted."""
        return intensity(self.flops, self.bytes, bool(self.uncounted))

    @cached_property
    def kernels(self) -> int:
        """How many layers run a kernel."""
        return sum(map(attrgetter("launches"), self.layers))

    @cached_property
    def fixed(self) -> float:
        """The part of the total that is the layers' fixed costs, in seconds."""
        return sum(layer.fixed for layer in self.layers)

    @cached_property
    def uncounted(self) -> list[str]:
        """The layers whose FLOPs are not counted: where there are any, the total is a lower bound."""
        return [layer.name for layer in self.layers if layer.uncounted]

    def by_name(self) -> dict[str, LayerRoofline]:
        return {layer.name: layer for layer in self.layers}

    def grouped(self, depth: int | None = None) -> dict[str, LayerRoofline | Share]:
        """By row name of `ModelStats.rows(depth)`: each layer, or with `depth` each block's
        figures summed over its layers (Share)."""
        if depth is None:
            return self.by_name()
        groups: dict[str, list[LayerRoofline]] = {}
        for layer in self.layers:
            groups.setdefault(".".join(layer.name.split(".")[:depth]), []).append(layer)
        return {name: Share(*(sum(getattr(layer, figure) for layer in members) for figure in Share._fields[:-2]),
                            any(layer.launches for layer in members), any(layer.uncounted for layer in members))
                for name, members in groups.items()}

    def time_of(self, prefix: str) -> float:
        """The predicted time of a layer or of a block (its dotted name): the sum over its layers."""
        dotted = prefix + "."
        return sum(layer.time for layer in self.layers if layer.name == prefix or layer.name.startswith(dotted))


def roofline(stats: ModelStats, profile: DeviceProfile | str | Path, dtype: str | None = None) -> Roofline:
    """Every layer of an analysis (numeric sizes, `archcalc.analysis.analyze`) on a device profile
    (a DeviceProfile, a bundled name such as 'h200', or a profile file) in `dtype` (the analysis's
    own by default); a UserError where the sizes are formulas or the profile has no peak for the dtype."""
    if not isinstance(profile, DeviceProfile):
        profile = load_profile(profile)
    dtype = dtype or stats.dtype
    if stats.formulas is not None:
        raise UserError("the roofline is worked out at one size, got the input "
                        f"{'x'.join(map(str, stats.input_shape))}",
                        hint="give the batch and input as numbers (--batch 1 --input 3x224x224)")
    if stats.graph is None:
        raise UserError("the roofline needs the analysis's graph (archcalc.analysis.analyze keeps it)")
    itemsize = DTYPE_BYTES.get(dtype)
    if itemsize is None:
        raise UserError(f"unknown dtype '{dtype}'", hint=f"choose one of {', '.join(DTYPE_BYTES)}")
    peak, bandwidth = profile.peak(dtype), profile.bandwidth
    shapes = stats.shapes
    known: dict[tuple, tuple] = {}  # the copies of a repeat share their fields and shapes
    layers = []
    for node, layer in zip(stats.graph.nodes, stats.layers):
        in_shapes = [shapes[name] for name in node.inputs]
        key = (id(node.attrs), node.kind.key, *in_shapes)
        found = known.get(key)
        if found is None:
            found = known[key] = _layer(node, in_shapes, layer, itemsize, peak, bandwidth, profile)
        layers.append(_new(LayerRoofline, (layer.name, layer.kind, *found)))
    return Roofline(profile, dtype, _cold_started(_weights_read_cold(layers, profile), profile))


def _weights_read_cold(layers: list[LayerRoofline], profile: DeviceProfile) -> list[LayerRoofline]:
    """The layers, each that runs a kernel taking its weights read cold (`DeviceProfile.weights_cold`)
    where the model's pass moves more bytes than the device's largest cache, or its size is not
    known (else the pass leaves them in it: LeNet-5's moves 0.35 MiB)."""
    within = profile.cache_mib and sum(map(attrgetter("bytes"), layers)) <= profile.cache_mib * 2**20
    if not profile.cold_weights or within:
        return layers
    return [layer._replace(time=layer.time + profile.weights_cold(layer.weights)) if layer.weights else layer
            for layer in layers]


def _cold_started(layers: list[LayerRoofline], profile: DeviceProfile) -> list[LayerRoofline]:
    """The layers, the first that runs a kernel taking the profile's cold start on its bytes."""
    first = next((index for index, layer in enumerate(layers) if layer.launches), None)
    if first is not None and profile.cold_start:
        cold = layers[first]
        layers[first] = cold._replace(time=cold.time + profile.cold_start * cold.bytes / profile.bandwidth)
    return layers


def _layer(node, in_shapes, layer, itemsize, peak, bandwidth, profile) -> tuple:
    """The figures of one layer after its name and kind (LayerRoofline's)."""
    kind, a, out = node.kind, node.attrs, layer.shape
    work = kind.work(a, in_shapes)
    if not kind.launches(a, in_shapes, out):
        return work, False, 0, 0, 0.0, 0.0, 0.0, None, NONE, 0, False, 0.0
    count = layer.counts[FLOPS_CONVENTION]
    flops, uncounted = 2 * counted(count), isinstance(count, Uncounted)
    read = in_shapes if kind.value_inputs is None else in_shapes[:kind.value_inputs]
    weights = kind.weights_read(a, in_shapes, itemsize)
    moved = (sum(map(numel, read)) + numel(out)) * itemsize + weights
    size = kind.work_size(a, in_shapes, out)
    fixed = profile.fixed(work, size)
    compute = flops * profile.rounded_up(work, kind.channels_out(a, in_shapes, out)) \
        * profile.padded(kind.taps_read(a, in_shapes, out), work, size) / peak
    memory = moved / bandwidth
    pooled = profile.pooled(kind.pooled(a, in_shapes, out))
    if pooled is None:
        time = max(compute, memory) / profile.reached(work, size) + fixed
    else:  # its comparisons or additions, which FlopCounterMode does not count, at the profile's rate
        compute = pooled
        time = max(compute, memory) + fixed
    return (work, True, flops, moved, compute, memory, time, intensity(flops, moved, uncounted),
            bound(True, compute, memory, uncounted), weights, uncounted, fixed)


__all__ = ["COMPUTE", "MEMORY", "NONE", "UNKNOWN", "LayerRoofline", "Roofline", "roofline"]
