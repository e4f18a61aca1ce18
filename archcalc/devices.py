"""Device profiles: what the roofline (`archcalc.roofline`) needs to know of a device, as data.

A profile file (`archcalc/devices.yaml` holds the bundled ones; `archcalc device-profile` writes one
of the local device) maps profile names to the peak dense FLOP/s per dtype, the memory bandwidth,
the fixed cost of one kernel launch, optionally the measured fixed cost of a layer of each kind
of work (`archcalc.layers.base.WORK`) and the efficiency each reaches, and the public source of
every figure. docs/latency.md describes
the schema; a file that breaks it is refused with the file, the key and how to fix it.
"""

from __future__ import annotations

import math
import re
import reprlib
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any, NamedTuple

from archcalc.errors import (
    NOT_AS_WRITTEN,
    SOURCES,
    Location,
    SpecError,
    UserError,
    did_you_mean,
    hidden,
    not_as_written,
    on_one_line,
)
from archcalc.layers.base import MAX_COUNTED_PADDING, POOLINGS, SIZED_WORK, WORK, Pooled, TapsRead, WorkSize
from archcalc.limits import MAX_THREADS

SCHEMA = "archcalc.devices/1"
BUNDLED = Path(__file__).with_name("devices.yaml")
BUNDLED_DEVICE = "cuda"
"""The kind of device, as torch names it, of every bundled profile: each is an NVIDIA GPU's datasheet."""
PEAK_DTYPES = ("float32", "tf32", "float16", "bfloat16", "float64", "int8")
"""The dtypes a profile may give a peak for (tf32: float32 on Tensor Cores, for the reader)."""
READ_ONLY_DTYPES = ("tf32",)
"""The dtypes of PEAK_DTYPES that no --dtype names: a figure for the reader alone."""
MEASURED_DTYPES = ("float32", "float16", "bfloat16", "float64")
"""The dtypes `archcalc device-profile --dtype` measures in."""
FIGURES = {"peak_tflops": "peak dense TFLOP/s per dtype", "memory_gbps": "memory bandwidth in GB/s (10⁹ bytes/s)",
           "launch_us": "fixed cost of one kernel launch in µs",
           "fixed_us": "fixed cost in µs of one layer of each kind of work (launch_us where not given)",
           "onednn_fixed_us": "fixed cost in µs of a dense, grouped or transposed convolution torch runs through oneDNN on the CPU "
                              "(its kind of work's where not given)",
           "efficiency": "fraction of its roofline each kind of work reaches",
           "efficiency_by_size": "fraction of its roofline each kind of work reaches by width and positions",
           "channel_blocks": "output channels each kind of work computes together: a layer's are rounded up to a whole block",
           "cold_start": "how much longer the model's first kernel runs than its roofline, in times its bytes at the bandwidth",
           "cold_weights": "how much longer a layer runs whose weights no cache holds, in times their bytes at the bandwidth",
           "cache_mib": "the size of the device's largest cache in MiB (2^20 bytes)",
           "padded_taps": "the share of a tap's time a convolution saves where the tap falls in the padding, and the "
                          "widest padding it skips taps at",
           "pooling_ns": "ns each window pooling takes per output and per tap of its window"}
"""The figures of a profile, each of which needs a source (fixed_us and efficiency only where given)."""
KEYS = ("name", "cpu", "threads", "measured_in", *FIGURES, "sources")


class SizeTable(NamedTuple):
    """The fraction of its roofline a kind of work reaches, measured on a grid of sizes: `reached[i][j]`
    at `widths[i]` channels a group and `positions[j]` output positions (`LayerKind.work_size`);
    for a grouped convolution (`groups` of them, not depthwise), `grouped[k][i][j]` at `groups[k]`
    groups where the table gives them (a strided one `strided_grouped[k][i][j]` where it gives
    that: RegNet's grouped 3×3 convolutions of stride 2 were predicted at 0.86 of their time alone
    on the grids of stride 1); for a dense convolution of other kernels, `tapped[k - 1][i][j]`
    at `taps[k]` taps of its kernel where the table gives them (`taps[0]`: those of `reached`); for
    a temporal one (a 3-D kernel of k×1×1: it runs another kernel on the CPU), `temporal[i][j]`
    where the table gives it; for a strided one (a 1×1 convolution of stride 2 ran at twice the
    rate of one of stride 1 on an AVX-512 CPU) of the kernel of `reached` (of `taps[0]` taps where
    the table gives taps), `strided[i][j]` where the table gives it. Where the table gives
    `alignments` (increasing powers of two) and the share of its rate a grouped or depthwise
    layer keeps at each (`aligned`, the last 1: as aligned as the grid needs), a layer whose
    channels a group are a multiple of `alignments[k]` and of no larger one of them runs at
    `aligned[k]` of the rate the grid gives an aligned one (on an AVX-512 CPU a grouped 3×3
    convolution of 120 channels a group ran at half the rate of one of 112 or 128: its kernel
    fell back from 16 channels at a time to 8); the grid's own widths, powers of two, ran at
    their own alignment's share (`_aligned_share`). Where the table gives `native` and
    `native_up_to`, a dense convolution whose `WorkSize.dispatch` is at most `native_up_to` runs
    on torch's own kernel (an unfolding and a GEMM), at `native[i][j]`: on the CPU, at batch 1,
    torch chooses it by its input's first four sizes, which for a 3-D one leave out its width (R3D-18's
    3×3×3 convolutions of 256 channels on 4×14×14 ran it at a third of oneDNN's rate).
    Between the grid's points it is interpolated in the logarithms of the sizes and of the
    fraction; beyond its edges it is the edge's."""

    widths: tuple[float, ...]
    positions: tuple[float, ...]
    reached: tuple[tuple[float, ...], ...]
    groups: tuple[float, ...] = ()
    grouped: tuple[tuple[tuple[float, ...], ...], ...] = ()
    taps: tuple[float, ...] = ()
    tapped: tuple[tuple[tuple[float, ...], ...], ...] = ()
    temporal: tuple[tuple[float, ...], ...] = ()
    strided: tuple[tuple[float, ...], ...] = ()
    alignments: tuple[float, ...] = ()
    aligned: tuple[float, ...] = ()
    native_up_to: float = 0.0
    native: tuple[tuple[float, ...], ...] = ()
    strided_grouped: tuple[tuple[tuple[float, ...], ...], ...] = ()

    def at(self, size: WorkSize) -> float:
        """The fraction at a layer's `WorkSize` (`archcalc.layers.base`)."""
        if self.natively(size.dispatch, size.temporal):
            return math.exp(_log_at(self.native, self.widths, self.positions, size.width, size.positions))
        gridded = self._on_the_grid(size.width, size.positions, size.groups, size.taps, size.temporal, size.strided)
        if size.alignment is None or not self.alignments:
            return gridded
        return gridded * self._aligned_share(size.width, size.alignment)

    def natively(self, dispatch: int | None, temporal: bool = False) -> bool:
        """Whether a layer of this `dispatch` size (`WorkSize.dispatch`) runs on torch's own kernel,
        read on `native`: not a temporal one, whose own grid ran that kernel."""
        return dispatch is not None and bool(self.native) and not temporal and dispatch <= self.native_up_to

    def _aligned_share(self, width: float, alignment: int) -> float:
        """The share of an aligned layer's rate a layer of `width` channels a group, a multiple of
        `alignment`, keeps, over the share the grid's widths about it keep (interpolated as the
        grid is): the grid measures powers of two, each at its own alignment."""
        def log_share(at: float) -> float:
            return math.log(share_at(self.alignments, self.aligned, at))

        i, wider, across = _place(self.widths, width)
        below, above = (power_of_two_in(self.widths[k]) for k in (i, wider))
        return math.exp(log_share(alignment) - (1 - across) * log_share(below) - across * log_share(above))

    def _on_the_grid(self, width: float, positions: float, groups: float, taps: float | None, temporal: bool,
                     strided: bool) -> float:
        if groups > 1 and self.groups:
            grids = self.strided_grouped if strided and self.strided_grouped else self.grouped
            return self._between(grids, self.groups, groups, width, positions)
        if temporal and self.temporal:
            return math.exp(_log_at(self.temporal, self.widths, self.positions, width, positions))
        if strided and self.strided and (taps is None or not self.taps or taps == self.taps[0]):
            return math.exp(_log_at(self.strided, self.widths, self.positions, width, positions))
        if taps is not None and self.taps:
            return self._between((self.reached, *self.tapped), self.taps, taps, width, positions)
        return math.exp(_log_at(self.reached, self.widths, self.positions, width, positions))

    def _between(self, grids: tuple, axis: tuple[float, ...], value: float, width: float, positions: float) -> float:
        """The fraction at `value` along a third axis of grids, interpolated in its logarithm."""
        k, more, between = _place(axis, value)
        fewer = _log_at(grids[k], self.widths, self.positions, width, positions)
        return math.exp(fewer + between * (_log_at(grids[more], self.widths, self.positions, width, positions) - fewer))

    def as_dict(self) -> dict[str, list]:
        out = {"widths": list(self.widths), "positions": list(self.positions), "reached": [list(row) for row in self.reached]}
        if self.groups:
            out |= {"groups": list(self.groups), "grouped": [[list(row) for row in grid] for grid in self.grouped]}
        if self.strided_grouped:
            out["strided_grouped"] = [[list(row) for row in grid] for grid in self.strided_grouped]
        if self.taps:
            out |= {"taps": list(self.taps), "tapped": [[list(row) for row in grid] for grid in self.tapped]}
        out |= {name: [list(row) for row in getattr(self, name)] for name in SINGLE_GRIDS if getattr(self, name)}
        if self.alignments:
            out |= {"alignments": list(self.alignments), "aligned": list(self.aligned)}
        if self.native:
            out |= {"native_up_to": self.native_up_to, "native": [list(row) for row in self.native]}
        return out


def power_of_two_in(width: float) -> float:
    """The largest power of two a whole `width` is a multiple of (24: 8); 1 for one not whole."""
    return float(int(width) & -int(width)) if width == int(width) else 1.0


def share_at(alignments: tuple[float, ...], aligned: tuple[float, ...], alignment: float) -> float:
    """The share of `aligned` at the largest of `alignments` that `alignment` reaches (the first
    where it is below them all)."""
    return aligned[max(bisect_right(alignments, alignment) - 1, 0)]


def _log_at(grid: tuple[tuple[float, ...], ...], widths: tuple[float, ...], positions: tuple[float, ...],
            width: float, count: float) -> float:
    """The logarithm of a grid's fraction at `width` and `count` positions, interpolated."""
    (i, wider, across), (j, longer, along) = _place(widths, width), _place(positions, count)

    def log(row: int, column: int) -> float:
        return math.log(grid[row][column])

    narrow = log(i, j) + along * (log(i, longer) - log(i, j))
    wide = log(wider, j) + along * (log(wider, longer) - log(wider, j))
    return narrow + across * (wide - narrow)


def _place(points: tuple[float, ...], value: float) -> tuple[int, int, float]:
    """Where `value` lies among increasing `points`: the index of the point at or below it, of the
    point above it (the same at or past an edge), and how far from the one towards the other, in
    logarithms."""
    if value <= points[0]:
        return 0, 0, 0.0
    if value >= points[-1]:
        return len(points) - 1, len(points) - 1, 0.0
    index = bisect_right(points, value) - 1
    low, high = points[index], points[index + 1]
    return index, index + 1, math.log(value / low) / math.log(high / low)


class PaddedTaps(NamedTuple):
    """What a convolution's kernel saves of the taps that fall in its input's zero padding: on
    this project's CPU oneDNN's direct kernel skips them (a 3×3 convolution of 2,048 channels to
    256 on 28×28 took 31 ms undilated and 10.5 at a dilation of 24) where its padding is at most 28
    a side, and runs another kernel that computes them beyond."""

    saved: float
    """The share of a skipped tap's time saved, from 0 to 1."""
    up_to: int
    """The widest padding on a side at which the kernel skips them (0: none)."""


class PoolingRate(NamedTuple):
    """How long one window pooling (`archcalc.layers.base.POOLINGS`) takes here, in ns: for each
    output, and for each tap of its window beyond (`DeviceProfile.pooled`)."""

    output: float
    tap: float


@dataclass(frozen=True)
class DeviceProfile:
    """One device: its peaks, bandwidth, launch cost, fixed costs and efficiencies per kind of work,
    and where each comes from."""

    key: str
    name: str
    peak_tflops: Mapping[str, float]
    memory_gbps: float
    launch_us: float
    sources: Mapping[str, str]
    efficiency: Mapping[str, float] = field(default_factory=dict)
    file: str = ""
    fixed_us: Mapping[str, float] = field(default_factory=dict)
    efficiency_by_size: Mapping[str, SizeTable] = field(default_factory=dict)
    channel_blocks: Mapping[str, int] = field(default_factory=dict)
    cold_start: float = 0.0
    """How much longer than its roofline time a layer runs whose tensors no cache holds, in times
    its bytes at the memory bandwidth: the model's first kernel reads an input written a pass
    before and writes where the pass before's tensors were (on the AVX-512 CPU EfficientNet-B1's
    stem took 0.36 ms in the model, 0.17 alone)."""
    padded_taps: PaddedTaps | None = None
    cold_weights: float = 0.0
    """How much longer than its roofline time a layer runs whose weights no cache holds, in times
    their bytes at the memory bandwidth: a model reads each layer's weights once a pass, and the
    rest of the pass goes through the caches in between (on the AVX-512 CPU a linear layer of
    1,024 to 256 features at batch 1 took 16 µs with its weights hot, 60 µs in a chain of 255 such
    layers, each with weights of its own)."""
    cache_mib: float = 0.0
    """The size of the device's largest cache in MiB; 0 where not known. A layer whose weights are
    larger reads them from memory even when run again and again, as its efficiency was measured,
    so it takes no cold weights (`weights_cold`); nor does a model whose whole pass fits it."""
    pooling_ns: Mapping[str, PoolingRate] = field(default_factory=dict)
    """The rate of each window pooling measured here, by torch's operation (`PoolingRate`): a
    pooling's time follows its outputs and taps, not its bytes (`Pooled`)."""
    onednn_fixed_us: float = 0.0
    """The fixed cost in µs of a dense, grouped or transposed convolution torch runs through oneDNN
    on the CPU (`WorkSize.onednn`); 0 where not measured: its kind of work's. On the AVX-512 CPU a
    5×5 one of 8 channels on one pixel took 24 µs (oneDNN's at any size), a 3×3 one 2.9 (torch's
    own kernel)."""
    measured_in: str = ""
    """The dtype `archcalc device-profile` measured the fixed costs, efficiencies and the rest of
    the profile in (its peaks are of every dtype); "" for a profile that does not say (a datasheet's,
    or one measured before 5 December 2026): taken in any dtype."""
    cpu: str = ""
    """The CPU `archcalc device-profile` measured the profile on, in words (`measure_device.cpu_name`);
    "" for a profile that does not say (a GPU's, or one measured before 6 December 2026)."""
    threads: int = 0
    """The CPU threads `archcalc device-profile` measured the profile on; 0 where it does not say."""

    @property
    def measured_threads(self) -> int:
        """The CPU threads the profile was measured on: `threads`, else those the name of a profile
        measured before 6 December 2026 ends with ('…, 2 threads', as it wrote them); 0 where
        neither says."""
        if self.threads:
            return self.threads
        written = re.fullmatch(r".*, (\d+) threads?", self.name)
        return int(written[1]) if written else 0

    def peak(self, dtype: str, choices: Iterable[str] | None = None) -> float:
        """Peak dense FLOP/s in `dtype`; a UserError where the profile gives none, or where it was
        measured in another dtype (its efficiencies are that dtype's). `choices` are the dtypes the
        command's --dtype takes, which the hint offers (validate's has no int8); by default every
        dtype but a figure for the reader alone (READ_ONLY_DTYPES)."""
        if self.measured_in and dtype != self.measured_in:
            raise UserError(f"the device profile '{self.key}' ({on_one_line(self.file)}) was measured in {self.measured_in}: its fixed "
                            f"costs and efficiencies are {self.measured_in}'s, not {dtype}'s",
                            hint=f"give --dtype {self.measured_in}, or measure a profile in {dtype} "
                                 f"('archcalc device-profile --dtype {dtype} -o FILE')" if dtype in MEASURED_DTYPES else
                            f"give --dtype {self.measured_in}, or a datasheet profile with a peak for {dtype}")
        if dtype not in self.peak_tflops:
            usable = [name for name in self.peak_tflops if name not in READ_ONLY_DTYPES
                      and (choices is None or name in choices)]
            raise UserError(f"the device profile '{self.key}' ({on_one_line(self.file)}) gives no peak for {dtype}",
                            hint=(f"it gives {', '.join(usable)}: choose one with --dtype, or add " if usable else
                                  f"it gives {', '.join(self.peak_tflops)}, which is no --dtype: add ")
                                 + f"'{dtype}: TFLOPS' under peak_tflops with its source")
        return self.peak_tflops[dtype] * 1e12

    @property
    def bandwidth(self) -> float:
        """Memory bandwidth in bytes per second."""
        return self.memory_gbps * 1e9

    @property
    def launch(self) -> float:
        """Fixed cost of one kernel launch in seconds."""
        return self.launch_us / 1e6

    def fixed(self, work: str, size: WorkSize | None = None) -> float:
        """Fixed cost in seconds of one layer of `work`, whatever its size: oneDNN's where the layer
        runs on it (`WorkSize.onednn`) and the profile measured it, else what the profile measured
        for its kind of work, else the launch cost."""
        if size is not None and size.onednn and self.onednn_fixed_us:
            return self.onednn_fixed_us / 1e6
        return self.fixed_us.get(work, self.launch_us) / 1e6

    def reached(self, work: str, size: WorkSize | None = None) -> float:
        """The fraction of its roofline `work` reaches here, at `size` (`WorkSize`) where the
        profile gives it by size and the layer says its size; else for the kind of work; 1 where
        the profile does not say."""
        table = self.efficiency_by_size.get(work) if size is not None else None
        if table is not None:
            return table.at(size)
        return self.efficiency.get(work, 1.0)

    def rounded_up(self, work: str, channels: int | None) -> float:
        """How much more than its FLOPs a layer of `work` with `channels` output channels computes
        here: its channels rounded up to a whole number of the block the profile measured for
        its kind of work, over its channels (on this project's CPU a 3×3 convolution of 17 output
        channels took as long as one of 32); 1 where the profile measured none or the layer's kind
        computes no channels in blocks (`LayerKind.channels_out`)."""
        block = self.channel_blocks.get(work, 1)
        if channels is None or block == 1:
            return 1.0
        return -(-channels // block) * block / channels

    def padded(self, taps: TapsRead | None, work: str, size: WorkSize | None) -> float:
        """How much of its work, as the grid measured it, a layer whose taps read its input as
        `taps` tells does here: 1 − saved × (1 − share) where the profile measured padded taps
        and the layer's padding is within what its kernel skips taps at (none where it skips at
        no padding, `up_to` 0); else 1, and 1 where it
        runs on torch's own kernel (`SizeTable.natively`), which computes every tap."""
        skipped = self.padded_taps
        if taps is None or taps.share is None or skipped is None or not skipped.up_to or taps.padding > skipped.up_to:
            return 1.0  # up_to 0: the kernel skips no tap, nor did the grid's
        table = self.efficiency_by_size.get(work)
        if size is not None and table is not None and table.natively(size.dispatch, size.temporal):
            return 1.0
        return 1 - self.padded_taps.saved * (1 - taps.share)

    def pooled(self, pooling: Pooled | None) -> float | None:
        """Seconds a layer that runs `pooling` takes here beyond its fixed cost: its outputs ×
        (ns an output + ns a tap × its window's taps), where the profile measured that pooling;
        else None (timed by its bytes)."""
        rate = self.pooling_ns.get(pooling.operation) if pooling is not None else None
        if rate is None:
            return None
        return pooling.outputs * (rate.output + rate.tap * pooling.taps) / 1e9

    def weights_cold(self, weights: int) -> float:
        """Seconds a layer with `weights` bytes of weights and buffers takes beyond its efficiency's
        time in a model, which reads them once a pass: the cold weights where the profile measured
        them and they fit the largest cache (or its size is not known), else 0."""
        if not self.cold_weights or self.cache_mib and weights > self.cache_mib * 2**20:
            return 0.0
        return self.cold_weights * weights / self.bandwidth

    def as_dict(self) -> dict[str, Any]:
        """The profile as its file holds it (under its key)."""
        out: dict[str, Any] = {"name": self.name, **({"cpu": self.cpu} if self.cpu else {}),
                               **({"threads": self.threads} if self.threads else {}),
                               **({"measured_in": self.measured_in} if self.measured_in else {}),
                               "peak_tflops": dict(self.peak_tflops), "memory_gbps": self.memory_gbps,
                               "launch_us": self.launch_us}
        if self.fixed_us:
            out["fixed_us"] = dict(self.fixed_us)
        if self.onednn_fixed_us:
            out["onednn_fixed_us"] = self.onednn_fixed_us
        if self.efficiency:
            out["efficiency"] = dict(self.efficiency)
        if self.efficiency_by_size:
            out["efficiency_by_size"] = {work: table.as_dict() for work, table in self.efficiency_by_size.items()}
        if self.channel_blocks:
            out["channel_blocks"] = dict(self.channel_blocks)
        if self.cold_start:
            out["cold_start"] = self.cold_start
        if self.padded_taps is not None:
            out["padded_taps"] = self.padded_taps._asdict()
        if self.cold_weights:
            out["cold_weights"] = self.cold_weights
        if self.cache_mib:
            out["cache_mib"] = self.cache_mib
        if self.pooling_ns:
            out["pooling_ns"] = {operation: rate._asdict() for operation, rate in self.pooling_ns.items()}
        out["sources"] = dict(self.sources)
        return out


def bundled_profiles() -> dict[str, DeviceProfile]:
    """The profiles that come with archcalc, by name."""
    return read_profiles(BUNDLED, "archcalc/devices.yaml")


def device_kind(profile: DeviceProfile) -> str | None:
    """The kind of device (torch's name: 'cuda') a profile is known to be of: a bundled one's
    (BUNDLED_DEVICE); 'cpu' for a profile file that names the CPU it was measured on; else None:
    the file does not say."""
    if profile.cpu:
        return "cpu"
    return BUNDLED_DEVICE if bundled_profiles().get(profile.key) == profile else None


def load_profile(which: str | Path) -> DeviceProfile:
    """A bundled profile by name (`h200`), or the one profile of a file (`archcalc device-profile`'s
    output); a UserError (exit 2) naming the file, the key and the fix for anything else, and for
    a name that is both a bundled profile's and a file's here (which one was meant?)."""
    if isinstance(which, str) and not which.strip():  # Path("") is '.', which was refused as a directory
        raise UserError(f"--device-profile needs a bundled profile's name or a profile file, got {which!r}",
                        hint=f"give a bundled one ({', '.join(bundled_profiles())}) or the path of a profile file")
    if isinstance(which, str) and not which.endswith((".yaml", ".yml")) and "/" not in which:
        from archcalc.reading import nothing_at

        profiles = bundled_profiles()
        if which in profiles and _is_file(Path(which)):
            raise UserError(f"--device-profile {which!r} names a bundled profile and a file here",
                            hint=f"write ./{which} for the file, or rename the file for the bundled one")
        if which in profiles:
            return profiles[which]
        if nothing_at(Path(which)):
            raise UserError(f"unknown device profile {which!r}{did_you_mean(which, profiles)}",
                            hint=f"give a bundled one ({', '.join(profiles)}) or the path of a profile file "
                                 "('archcalc device-profile -o FILE' measures this machine)")
    path = Path(which)
    profiles = read_profiles(path, str(which))  # as given: './h200', not 'h200'
    if len(profiles) != 1:
        raise UserError(f"{on_one_line(str(which))}: 'devices' holds {len(profiles)} profiles ({', '.join(profiles)}); "
                        "--device-profile takes a file of one",
                        hint="keep one profile in the file, or name a bundled one")
    return next(iter(profiles.values()))


def _is_file(path: Path) -> bool:
    """Whether `path` is a regular file here (False where it cannot be looked at: a folder not searchable)."""
    try:
        return path.is_file()
    except OSError:
        return False


def read_profiles(path: Path, shown: str) -> dict[str, DeviceProfile]:
    """Every profile of a profile file, checked: its YAML composed once (`compose_yaml`, as a
    spec's, within its bounds), checked as written, then read from those nodes."""
    import yaml

    from archcalc.reading import read_text_file
    from archcalc.yaml_text import compose_yaml

    text = read_text_file(path, shown, "device profile")
    SOURCES[shown] = text
    root = compose_yaml(text, shown, "device profile")
    _check_as_written(root, shown)
    try:
        document = yaml.SafeLoader("").construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as error:  # '<<: 5', '? [a]: 1', an unknown tag: what YAML's loader refuses
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or ""
        raise SpecError(f"YAML cannot read this: {problem}",
                        location=Location(shown, mark.line + 1, mark.column + 1) if mark else Location(shown, 1, 1),
                        hint=next((hint for start, hint in _CONSTRUCTION_HINTS if problem.startswith(start)),
                                  "write plain YAML: names, numbers, lists and mappings")) from None
    try:
        return parse_profiles(document, shown)
    except _Broken as broken:
        raise SpecError(f"{_dotted(broken.named)}: {broken.message}", location=_located(root, shown, broken),
                        hint=broken.hint) from None


_TAG_HINT = "leave out the tag ('!!…', '!…'): a profile holds names, numbers, lists and mappings"
_CONSTRUCTION_HINTS = (("expected a mapping or list of mappings for merging",
                        "a merge key ('<<') takes a mapping or a list of mappings"),
                       ("expected a mapping for merging", "a merge key ('<<') takes a mapping or a list of mappings"),
                       ("found unhashable key", "a key is a name or a number, not a list or a mapping"),
                       ("could not determine a constructor for the tag 'tag:yaml.org,2002:merge'",
                        "'<<' is a merge key: write it in quotes for the text '<<'"),
                       ("could not determine a constructor", _TAG_HINT))
"""The hint for what YAML's loader refuses to construct, by the start of its problem (PyYAML's own
words: a tag the user named, '!merging', follows them)."""
_PLAIN_TAGS = tuple(f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str", "timestamp",
                                                             "value", "merge"))
"""The tags of scalars YAML gives itself; another on a value is the user's ('!!python/name:os.system 5')."""
_OTHER_BASES = re.compile(r"[-+]?0[xXbB][0-9a-fA-F_]+")
"""Whole numbers YAML 1.1 reads in base 16 or 2 (0x10 is 16)."""


def _check_as_written(root: Any, shown: str) -> None:
    """Refuse what YAML would read otherwise than it is written, as the spec reader does: a key
    given twice (YAML keeps the last: a `memory_gbps` written twice took the second), a number
    with a leading zero or a colon (017 is 15, 1:30 is 90) or in base 16 or 2; a key or value
    YAML cannot read at all ('!!bool maybe', 5,000 digits: a traceback from its loader); and a
    key that merge keys ('<<') bring in twice or through a merge of their own (`_check_merged`)."""
    import yaml

    reader, seen, pending = yaml.SafeLoader(""), set(), [root]
    while pending:
        node = pending.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))  # an alias is its anchor's node: each is walked once
        if isinstance(node, yaml.ScalarNode):
            if not node.tag.endswith((":str", ":merge")):  # text; '<<', which merges a mapping
                _read_as_written(reader, node, shown)
        elif isinstance(node, yaml.MappingNode):
            lines: dict[Any, int] = {}
            for key, value in node.value:
                name = _key_name(reader, key, shown)
                if name is not None and name in lines:
                    raise SpecError(f"duplicate key '{name}' (first at line {lines[name]})", location=_at(key, shown),
                                    hint="remove or rename one of them; YAML would silently keep the last")
                lines[name] = key.start_mark.line + 1
                pending += [key, value]
            for key, value in node.value:
                if _is_merge(key):
                    _check_merged(reader, value, shown, written=lines)
        else:
            pending += node.value


def _is_merge(key: Any) -> bool:
    return key.tag.endswith(":merge")


def _key_name(reader, key: Any, shown: str) -> Any:
    """A mapping key as YAML reads it: '<<' for a merge key, None for a key that is no scalar."""
    import yaml

    if _is_merge(key):
        return "<<"
    return _read_as_written(reader, key, shown) if isinstance(key, yaml.ScalarNode) else None


def _check_merged(reader, merged: Any, shown: str, written: dict) -> None:
    """Refuse a key that a merge key's mappings (one, or a list of them) give more than once and
    the mapping does not write itself (of two merged `memory_gbps`, 500 and 5, PyYAML took 5 where
    YAML's rule keeps the first), and a merge key within a merged mapping (PyYAML's pick among
    their keys followed the length of the keys' names)."""
    import yaml

    given: dict[Any, int] = {}
    for mapping in merged.value if isinstance(merged, yaml.SequenceNode) else [merged]:
        for key, _ in mapping.value if isinstance(mapping, yaml.MappingNode) else ():
            if _is_merge(key):
                raise SpecError("a merge key ('<<') within a mapping that is merged", location=_at(key, shown),
                                hint="write that mapping's figures out in it, or merge its mappings beside the others")
            name = _key_name(reader, key, shown)
            if name is not None and name in given and name not in written:
                raise SpecError(f"'{name}' is merged in twice (first from line {given[name]})", location=_at(key, shown),
                                hint="keep it in one of the merged mappings (or write it out beside '<<', which wins)")
            given[name] = key.start_mark.line + 1


def _read_as_written(reader, node, shown: str) -> Any:
    """A scalar node's value as YAML reads it; SpecError where it cannot, or where it reads a
    number otherwise than it is written."""
    import yaml

    try:
        value = reader.construct_object(node)
    except (ValueError, KeyError, TypeError, OverflowError, AttributeError, IndexError, RecursionError, yaml.YAMLError):
        # YAML's constructors failing: '!!bool maybe', '!!timestamp abc', "!!float ''", 5,000 digits, '=' (a !!value)
        if node.tag not in _PLAIN_TAGS:
            raise SpecError(f"the YAML tag '{node.tag}' is not supported", location=_at(node, shown),
                            hint=_TAG_HINT) from None
        raise SpecError(f"YAML cannot read {reprlib.repr(node.value)} as {node.tag.rpartition(':')[2]}",
                        location=_at(node, shown), hint="write a plain decimal number (or text, where text goes)") from None
    if not node.style and node.tag.endswith((":int", ":float")) and \
            (NOT_AS_WRITTEN.fullmatch(node.value) or _OTHER_BASES.fullmatch(node.value)):
        raise not_as_written(node.value, value, _at(node, shown))
    return value


def _at(node, shown: str) -> Location:
    return Location(shown, node.start_mark.line + 1, node.start_mark.column + 1)


class _Broken(UserError):
    """A profile that breaks the schema at `path` (its keys and indices from the top; at the key
    itself where `key`, else at its value)."""

    def __init__(self, path: tuple, message: str, hint: str, key: bool = False, named: tuple | None = None) -> None:
        self.named = path if named is None else named
        """The path the message names (a profile's name is named by 'devices', where it is)."""
        super().__init__(f"{_dotted(self.named)}: {message}", hint=hint)
        self.path, self.message, self.key = path, message, key


class _Index(int):
    """A step of a path into a list (a mapping's key may be a number too)."""


def _dotted(path: tuple) -> str:
    """('devices', 'mine', 'reached', _Index(0), _Index(1)) → 'devices.mine.reached[0][1]'; () → '(top)'."""
    text = "".join(f"[{step}]" if isinstance(step, _Index) else f".{step}" for step in path)
    return text[1:] if text.startswith(".") else text or "(top)"


def _key(reader, node) -> Any:
    """A mapping key's node as YAML's loader `reader` reads it (None for a key that is no scalar,
    or a merge key, '<<')."""
    import yaml

    return reader.construct_object(node) if isinstance(node, yaml.ScalarNode) and not node.tag.endswith(":merge") \
        else None


def _located(root: Any, shown: str, broken: _Broken) -> Location:
    """Where in the file of nodes `root` `broken.path` is: the value there (the key, where
    `broken.key`), or as far along the path as the file goes."""
    import yaml

    node, mark, reader = root, None, yaml.SafeLoader("")
    for depth, step in enumerate(broken.path):
        if isinstance(node, yaml.MappingNode) and not isinstance(step, _Index):
            # the last of equal keys, as YAML's loader keeps it; a key as YAML reads it (0x10 is 16)
            pair = next(((key, value) for key, value in reversed(node.value) if _key(reader, key) == step), None)
            if pair is None:
                break
            last = broken.key and depth == len(broken.path) - 1
            node, mark = pair[1], (pair[0] if last else pair[1]).start_mark
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, _Index) and step < len(node.value):
            node = node.value[step]
            mark = node.start_mark
        else:
            break
    if mark is None:
        mark = node.start_mark if node is not None else None
    return Location(shown, mark.line + 1, mark.column + 1) if mark is not None else Location(shown, 1, 1)


def parse_profiles(document: Any, shown: str) -> dict[str, DeviceProfile]:
    """The profiles of a loaded profile document; a UserError at the first key that breaks the schema."""
    def fail(path: tuple, what: str, fix: str, key: bool = False, named: tuple | None = None) -> UserError:
        return _Broken(path, what, fix, key, named)

    if not isinstance(document, dict):
        raise fail((), f"must be a mapping with 'schema: {SCHEMA}' and 'devices', got {_kind(document)}",
                   "see docs/latency.md for the schema, or write one with 'archcalc device-profile -o FILE'")
    if document.get("schema") != SCHEMA:
        raise fail(("schema",), f"must be '{SCHEMA}', got {_shown(document.get('schema'))}", f"write 'schema: {SCHEMA}'")
    unknown = set(document) - {"schema", "devices"}
    if unknown:
        key = min(unknown, key=str)
        raise fail((key,), "is not a key of a profile file", "the file holds only 'schema' and 'devices'", key=True)
    devices = document.get("devices")
    if not isinstance(devices, dict) or not devices:
        raise fail(("devices",), f"must map profile names to profiles, got {_kind(devices)}",
                   "write 'devices:' and under it 'NAME:' with the figures of docs/latency.md")
    for key in devices:
        if not isinstance(key, str):
            raise fail(("devices", key), f"names a profile with {_kind(key)}: a profile's name is text",
                       "write the name in quotes, as text", key=True, named=("devices",))
        if not profile_key_readable(key):
            raise fail(("devices", key), f"names a profile {key!r}: not printable text on one line",
                       PROFILE_KEY_HINT, key=True, named=("devices",))
    return {key: _profile(key, value, shown, fail) for key, value in devices.items()}


PROFILE_KEY_HINT = "name each profile in letters, digits and punctuation, e.g. 'my-gpu'"


def profile_key_readable(key: str) -> bool:
    """Whether a profile's name is printable text on one line, as a profile file must name it, and
    text YAML writes and reads back: no byte that is no UTF-8 (from the command line, a lone
    surrogate, which YAML wrote as '\\uDCFF' and then refused to read, after minutes of measuring)."""
    return bool(key.strip()) and not any(map(hidden, key)) and \
        not any(unicodedata.category(character) == "Cs" for character in key)


def _profile(key: str, entry: Any, shown: str, fail) -> DeviceProfile:
    at = ("devices", key)
    if not isinstance(entry, dict):
        raise fail(at, f"must be a mapping of figures, got {_kind(entry)}", f"give {', '.join(KEYS)}")
    for name in entry:
        if name not in KEYS:
            raise fail((*at, name), f"is not a figure of a profile{did_you_mean(str(name), KEYS)}",
                       f"a profile has {', '.join(KEYS)}", key=True)
    for name in ("name", "peak_tflops", "memory_gbps", "launch_us", "sources"):
        if name not in entry:
            raise fail(at, f"has no '{name}'", f"add '{name}:' ({FIGURES.get(name, 'its public source for each figure' if name == 'sources' else 'the device in words')})")
    if not isinstance(entry["name"], str) or not entry["name"].strip() or any(map(hidden, entry["name"])):
        raise fail((*at, "name"), f"must be the device in words on one line, got {_shown(entry['name'])}",
                   "write its name, e.g. 'NVIDIA H200 SXM'")
    peaks = _numbers(entry["peak_tflops"], (*at, "peak_tflops"), PEAK_DTYPES, fail, "a dtype")
    fixed = _numbers(entry.get("fixed_us", {}), (*at, "fixed_us"), WORK, fail, "a kind of work", zero=True)
    efficiency = _numbers(entry.get("efficiency", {}), (*at, "efficiency"), WORK, fail, "a kind of work")
    by_size = _size_tables(entry.get("efficiency_by_size", {}), (*at, "efficiency_by_size"), fail)
    blocks = _blocks(entry.get("channel_blocks", {}), (*at, "channel_blocks"), fail)
    if not peaks:
        raise fail((*at, "peak_tflops"), "gives no dtype", "give at least 'float32: TFLOPS'")
    sources = entry["sources"]
    if not isinstance(sources, dict):
        raise fail((*at, "sources"), f"must map each figure to its source, got {_kind(sources)}",
                   "write 'sources:' with 'peak_tflops: …', 'memory_gbps: …', 'launch_us: …'")
    needed = [name for name in FIGURES if name in entry]
    for name in sources:
        if name not in FIGURES:
            raise fail((*at, "sources", name), "names no figure", f"sources are given for {', '.join(needed)}",
                       key=True)
    for name in needed:
        if not isinstance(sources.get(name), str) or not sources[name].strip() or any(map(hidden, sources[name])):
            raise fail((*at, "sources", name), "is missing, empty or not one line: every figure needs its public source",
                       "name the datasheet (with its URL) or the measurement that gave it")
    cold = _positive(entry["cold_start"], (*at, "cold_start"), fail, zero=True) if "cold_start" in entry else 0.0
    padded = _padded_taps(entry["padded_taps"], (*at, "padded_taps"), fail) if "padded_taps" in entry else None
    weights, cache, onednn = (_positive(entry[name], (*at, name), fail, zero=True) if name in entry else 0.0
                              for name in ("cold_weights", "cache_mib", "onednn_fixed_us"))
    pooling = _pooling_rates(entry.get("pooling_ns", {}), (*at, "pooling_ns"), fail)
    measured_in = entry.get("measured_in", "")
    if "measured_in" in entry and measured_in not in MEASURED_DTYPES:
        raise fail((*at, "measured_in"), f"must be the dtype the profile was measured in, got {_shown(measured_in)}",
                   f"one of {', '.join(MEASURED_DTYPES)}, as 'archcalc device-profile --dtype' writes it")
    if "measured_in" in entry and measured_in not in peaks:
        raise fail((*at, "measured_in"), f"is {measured_in}, for which peak_tflops gives no peak: the profile could "
                   "be read in no dtype", f"add '{measured_in}: TFLOPS' under peak_tflops, as measured")
    return DeviceProfile(key, entry["name"], peaks, _positive(entry["memory_gbps"], (*at, "memory_gbps"), fail),
                         _positive(entry["launch_us"], (*at, "launch_us"), fail, zero=True), dict(sources),
                         efficiency, shown, fixed, by_size, blocks, cold, padded, weights, cache, pooling, onednn,
                         measured_in, *_measured_on(entry, at, fail))


def _measured_on(entry: dict, at: tuple, fail) -> tuple[str, int]:
    """The CPU (text on one line) and threads (a whole number from 1 to MAX_THREADS) a profile was
    measured on: "" and 0 where it does not say."""
    cpu, threads = entry.get("cpu", ""), entry.get("threads", 0)
    if "cpu" in entry and (not isinstance(cpu, str) or not cpu.strip() or any(map(hidden, cpu))):
        raise fail((*at, "cpu"), f"must be the CPU the profile was measured on, in words on one line, got {_shown(cpu)}",
                   "write it as 'archcalc device-profile' does, or leave 'cpu' out")
    if "threads" in entry and (isinstance(threads, bool) or not isinstance(threads, int)
                               or not 1 <= threads <= MAX_THREADS):
        raise fail((*at, "threads"), f"must be a whole number from 1 to {MAX_THREADS:,}, got {_shown(threads)}",
                   "write the CPU threads the profile was measured on, e.g. 1, or leave 'threads' out")
    return cpu, threads


def _numbers(value: Any, at: tuple, names: tuple[str, ...], fail, what: str, zero: bool = False) -> dict[str, float]:
    if not isinstance(value, dict):
        raise fail(at, f"must map {what} to a number, got {_kind(value)}", f"write e.g. '{names[0]}: 1.0'")
    out = {}
    for name, number in value.items():
        if name not in names:
            raise fail((*at, name), f"is not {what}{did_you_mean(str(name), names)}", f"use one of {', '.join(names)}",
                       key=True)
        out[name] = _positive(number, (*at, name), fail, zero)
    return out


MAX_BLOCK = 4096
"""The most output channels a profile's block may be (archcalc device-profile finds at most 64)."""


def _blocks(value: Any, at: tuple, fail) -> dict[str, int]:
    """A block of output channels (a whole number) for each kind of work measured by size."""
    if not isinstance(value, dict):
        raise fail(at, f"must map a kind of work to its block of output channels, got {_kind(value)}",
                   "write e.g. 'conv: 16'")
    for work, block in value.items():
        if work not in SIZED_WORK:
            raise fail((*at, work), f"is not a kind of work that computes channels{did_you_mean(str(work), SIZED_WORK)}",
                       f"use one of {', '.join(SIZED_WORK)}", key=True)
        if isinstance(block, bool) or not isinstance(block, int) or not 1 <= block <= MAX_BLOCK:
            raise fail((*at, work), f"must be a whole number of channels from 1 to {MAX_BLOCK}, got {_shown(block)}",
                       "write the block of output channels its kernel computes together, e.g. 16 (1: none)")
    return dict(value)


def _padded_taps(value: Any, at: tuple, fail) -> PaddedTaps:
    """The share of a padded tap's time saved (0 to 1) and the widest padding skipped at (a whole number)."""
    if not isinstance(value, dict) or set(value) != set(PaddedTaps._fields):
        raise fail(at, f"must map 'saved' and 'up_to' to numbers, got {_kind(value)}", "write e.g. '{saved: 0.8, up_to: 28}'")
    saved, up_to = value["saved"], value["up_to"]
    if isinstance(saved, bool) or not isinstance(saved, (int, float)) or not 0 <= saved <= 1:
        raise fail((*at, "saved"), f"must be a number from 0 to 1, got {_shown(saved)}",
                   "write the share of a padded tap's time the kernel saves, e.g. 0.8")
    if isinstance(up_to, bool) or not isinstance(up_to, int) or not 0 <= up_to <= MAX_COUNTED_PADDING:
        raise fail((*at, "up_to"), f"must be a whole number from 0 to {MAX_COUNTED_PADDING}, got {_shown(up_to)}",
                   "write the widest padding on a side at which the kernel skips taps, e.g. 28 (0: none)")
    return PaddedTaps(float(saved) + 0.0, up_to)  # -0.0 as 0.0


def _pooling_rates(value: Any, at: tuple, fail) -> dict[str, PoolingRate]:
    """For each window pooling, its ns an output and ns a tap (each 0 or more)."""
    if not isinstance(value, dict):
        raise fail(at, f"must map a pooling to its rates, got {_kind(value)}",
                   "write e.g. 'max_pool2d: {output: 10.5, tap: 1.4}'")
    rates = {}
    for operation, rate in value.items():
        where = (*at, operation)
        if operation not in POOLINGS:
            raise fail(where, f"is not a pooling{did_you_mean(str(operation), POOLINGS)}",
                       f"use one of {', '.join(POOLINGS)}", key=True)
        if not isinstance(rate, dict) or set(rate) != set(PoolingRate._fields):
            raise fail(where, f"must map 'output' and 'tap' to ns, got {_shown(rate)}",
                       "write e.g. '{output: 10.5, tap: 1.4}'")
        rates[operation] = PoolingRate(*(_positive(rate[name], (*where, name), fail, zero=True)
                                         for name in PoolingRate._fields))
    return rates


SINGLE_GRIDS = ("temporal", "strided")
"""The grids a table may add alone, each of a kind of convolution read on it (`SizeTable.at`)."""
GROUPED_KEYS = ("groups", "grouped")
TAPPED_KEYS = ("taps", "tapped")
ALIGNED_KEYS = ("alignments", "aligned")
NATIVE_KEYS = ("native_up_to", "native")
"""The pairs of keys a table may add, each together: the fractions of grouped convolutions by
their groups, of dense ones by the taps of their kernel, the shares of grouped and depthwise
ones by the alignment of their channels a group, and the fractions of dense ones on torch's own
kernel, with the largest dispatch size it runs them at."""
TABLE_KEYS = ("widths", "positions", "reached", *GROUPED_KEYS, "strided_grouped", *TAPPED_KEYS, *SINGLE_GRIDS,
              *ALIGNED_KEYS, *NATIVE_KEYS)
MAX_POINTS = 64
"""The most sizes an axis of a table by size may list (archcalc device-profile measures 12 and 9)."""
MAX_CELLS = 2**16
"""The most numbers a table by size may hold (its axes and fractions), its aliases written out: a
measured table of dense convolutions holds about 2,100 (19 grids of 12 × 9). Nine lines of
aliases made 61 MB of JSON."""


def _cells(table: dict) -> int:
    """The numbers in a table's lists of lists (of lists), its aliases counted each time, each
    list counted once (a list of N aliases of a list of N aliases took N² steps)."""
    counted: dict[tuple[int, int], int] = {}

    def count(value: Any, depth: int) -> int:
        if not isinstance(value, list):
            return 1
        if depth == 0:
            return len(value)
        if (id(value), depth) not in counted:
            counted[id(value), depth] = sum(count(item, depth - 1) for item in value)
        return counted[id(value), depth]
    return sum(count(value, 2) for value in table.values() if isinstance(value, list))


def _size_tables(value: Any, at: tuple, fail) -> dict[str, SizeTable]:
    if not isinstance(value, dict):
        raise fail(at, f"must map a kind of work to a table, got {_kind(value)}",
                   "write e.g. 'conv: {widths: [8, 64], positions: [1, 3136], reached: [[0.1, 0.5], [0.2, 0.9]]}'")
    tables = {}
    for work, table in value.items():
        where = (*at, work)
        if work not in SIZED_WORK:
            raise fail(where, f"is not a kind of work measured by size{did_you_mean(str(work), SIZED_WORK)}",
                       f"use one of {', '.join(SIZED_WORK)} (the others take one fraction, under 'efficiency')", key=True)
        if not isinstance(table, dict):
            raise fail(where, f"must be a mapping of {', '.join(TABLE_KEYS)}, got {_kind(table)}",
                       "give 'widths: [...]', 'positions: [...]' and 'reached:' with a row of fractions per width")
        for key in table:
            if key not in TABLE_KEYS:
                raise fail((*where, key), f"is not a key of a table{did_you_mean(str(key), TABLE_KEYS)}",
                           f"a table has {', '.join(TABLE_KEYS)}", key=True)
        for key in TABLE_KEYS[:3]:
            if key not in table:
                raise fail(where, f"has no '{key}'", "a table has widths, positions, and reached: a row of fractions "
                           "per width, a fraction per positions")
        for pair, first, what in ((GROUPED_KEYS, "[...]", "a grid of rows per groups"),
                                  (TAPPED_KEYS, "[...]", "a grid of rows for each taps after the first (those of reached)"),
                                  (ALIGNED_KEYS, "[...]", "a share per alignment"),
                                  (NATIVE_KEYS, "N", "a grid as reached, on torch's own kernel")):
            if (pair[0] in table) != (pair[1] in table):
                given, missing = sorted(pair, key=lambda key: key not in table)
                raise fail((*where, given), f"is given without '{missing}'",
                           f"give both '{pair[0]}: {first}' and '{pair[1]}:' with {what}, or neither")
        cells = _cells(table)
        if cells > MAX_CELLS:
            raise fail(where, f"holds {cells:,} numbers (its aliases written out), over {MAX_CELLS:,}",
                       "a measured table holds a few thousand: give each grid once, over at most "
                       f"{MAX_POINTS} widths and positions")
        widths, positions = (_axis(table[name], (*where, name), fail) for name in ("widths", "positions"))
        tables[work] = SizeTable(widths, positions, _rows(table["reached"], (*where, "reached"), widths, positions, fail),
                                 *_grouped(table, where, widths, positions, fail),
                                 *_tapped(table, where, widths, positions, fail),
                                 *(_rows(table[name], (*where, name), widths, positions, fail) if name in table else ()
                                   for name in SINGLE_GRIDS),
                                 *_aligned(table, where, fail), *_native(table, where, widths, positions, fail),
                                 _strided_grouped(table, where, widths, positions, fail))
    return tables


def _strided_grouped(table: dict, where: tuple, widths: tuple, positions: tuple, fail) -> tuple:
    """A table's grid per groups of strided grouped convolutions (none where it gives none)."""
    if "strided_grouped" not in table:
        return ()
    if "groups" not in table:
        raise fail((*where, "strided_grouped"), "is given without 'groups'",
                   "give 'groups: [...]' and 'grouped:' too, the grids of stride 1")
    groups, grids = table["groups"], table["strided_grouped"]
    if not isinstance(grids, list) or len(grids) != len(groups):
        raise fail((*where, "strided_grouped"), f"must be a grid per groups ({len(groups)}), got {_kind(grids)}",
                   "give a grid of rows (a row per width, a fraction per positions) for every groups")
    return tuple(_rows(grid, (*where, "strided_grouped", _Index(k)), widths, positions, fail)
                 for k, grid in enumerate(grids))


def _native(table: dict, where: tuple, widths: tuple, positions: tuple, fail) -> tuple[float, tuple]:
    """A table's largest dispatch size on torch's own kernel and its grid there (0 and none where it gives none)."""
    if "native" not in table:
        return 0.0, ()
    return (_positive(table["native_up_to"], (*where, "native_up_to"), fail),
            _rows(table["native"], (*where, "native"), widths, positions, fail))


def _aligned(table: dict, where: tuple, fail) -> tuple[tuple, tuple]:
    """A table's alignments (increasing powers of two) and the share of its rate a layer keeps at
    each (both empty where it gives none)."""
    if "alignments" not in table:
        return (), ()
    alignments = _axis(table["alignments"], (*where, "alignments"), fail)
    for index, value in enumerate(alignments):
        if value != int(value) or int(value) & (int(value) - 1):
            raise fail((*where, "alignments", _Index(index)), f"must be a power of two, got {_shown(value)}",
                       "list the alignments of channels a group as powers of two, e.g. [1, 8, 16]")
    shares = table["aligned"]
    if not isinstance(shares, list) or len(shares) != len(alignments):
        raise fail((*where, "aligned"), f"must be a share per alignment ({len(alignments)}), got {_kind(shares)}",
                   "give the share of its rate a layer keeps at each alignment, the last 1")
    return alignments, tuple(_positive(share, (*where, "aligned", _Index(k)), fail) for k, share in enumerate(shares))


def _grouped(table: dict, where: tuple, widths: tuple, positions: tuple, fail) -> tuple[tuple, tuple]:
    """A table's groups and a grid per groups (both empty where it gives none)."""
    if "groups" not in table:
        return (), ()
    groups = _axis(table["groups"], (*where, "groups"), fail)
    grids = table["grouped"]
    if not isinstance(grids, list) or len(grids) != len(groups):
        raise fail((*where, "grouped"), f"must be a grid per groups ({len(groups)}), got {_kind(grids)}",
                   "give a grid of rows (a row per width, a fraction per positions) for every groups")
    return groups, tuple(_rows(grid, (*where, "grouped", _Index(k)), widths, positions, fail)
                         for k, grid in enumerate(grids))


def _tapped(table: dict, where: tuple, widths: tuple, positions: tuple, fail) -> tuple[tuple, tuple]:
    """A table's taps (those of reached first) and a grid for each taps after the first (both
    empty where it gives none)."""
    if "taps" not in table:
        return (), ()
    taps = _axis(table["taps"], (*where, "taps"), fail)
    grids = table["tapped"]
    if len(taps) < 2 or not isinstance(grids, list) or len(grids) != len(taps) - 1:
        raise fail((*where, "tapped"), f"must be a grid for each taps after the first ({max(len(taps) - 1, 1)}), "
                   f"got {_kind(grids)}", "list the taps of reached first, then of each grid of tapped, in order")
    return taps, tuple(_rows(grid, (*where, "tapped", _Index(k)), widths, positions, fail)
                       for k, grid in enumerate(grids))


def _axis(value: Any, at: tuple, fail) -> tuple[float, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_POINTS:
        raise fail(at, f"must be a list of 1 to {MAX_POINTS} sizes, got {_kind(value)}", "write e.g. '[1, 4, 16]'")
    points = tuple(_positive(number, (*at, _Index(index)), fail) for index, number in enumerate(value))
    if any(later <= earlier for earlier, later in pairwise(points)):
        raise fail(at, "must increase from each size to the next", "list the sizes from the smallest up, once each")
    return points


def _rows(value: Any, at: tuple, widths: tuple, positions: tuple, fail) -> tuple[tuple[float, ...], ...]:
    """A row of fractions per width, a fraction per positions."""
    shape = f"a row per width ({len(widths)}), each a fraction per positions ({len(positions)})"
    if not isinstance(value, list) or len(value) != len(widths):
        raise fail(at, f"must be {shape}, got {_kind(value)}", "give a fraction for every width and positions of the grid")
    for index, row in enumerate(value):
        if not isinstance(row, list) or len(row) != len(positions):
            raise fail((*at, _Index(index)), f"must be a row of {len(positions)} fractions (one per positions), got "
                       f"{_kind(row)}", "give a fraction for every width and positions of the grid")
    return tuple(tuple(_positive(number, (*at, _Index(i), _Index(j)), fail) for j, number in enumerate(row))
                 for i, row in enumerate(value))


FIGURE_RANGE = (1e-6, 1e9)
"""Where a profile's figures lie (TFLOP/s, GB/s, µs, fractions), or zero where that is allowed: the
times and shares worked out from them stay finite (a bandwidth of 1e-320 GB/s made every time
infinite and the JSON invalid)."""


def _positive(value: Any, at: tuple, fail, zero: bool = False) -> float:
    low, high = FIGURE_RANGE
    # compared, not converted: an int of 400 digits is too large for a float (NaN compares false)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (low <= value <= high or (zero and value == 0)):
        bound = f"0 or from {low:g} to {high:g}" if zero else f"from {low:g} to {high:g}"
        raise fail(at, f"must be a number {bound}, got {_shown(value)}",
                   "write a plain decimal number (YAML reads 1e3 as text: write 1000 or 1.0e+3)")
    return float(value) + 0.0  # -0.0 as 0.0


def _kind(value: Any) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {_shown(value)}"[:80]


def _shown(value: Any) -> str:
    """`value` written for a message, a few levels and items of it at most: YAML's aliases make a
    list of a hundred million numbers out of a few lines, whose whole repr took seconds."""
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict, _REPR.maxstring, _REPR.maxother = 2, 4, 4, 60, 60


def profile_document(profile: DeviceProfile) -> str:
    """A profile file holding `profile` alone, as YAML text."""
    import yaml

    return yaml.dump({"schema": SCHEMA, "devices": {profile.key: profile.as_dict()}}, Dumper=_dumper(), sort_keys=False,
                     allow_unicode=True, width=100)


def _dumper():
    """A YAML dumper that writes a list of numbers on a line (a table's axes and rows), a list of
    lists and a mapping an entry a line."""
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(list, lambda dumper, items: dumper.represent_sequence(
        "tag:yaml.org,2002:seq", items, flow_style=not any(isinstance(item, list) for item in items)))
    return Dumper
