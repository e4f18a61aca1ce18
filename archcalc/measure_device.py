"""`archcalc device-profile`: measure the local device (the CPU, or a CUDA GPU) as a device profile
(`archcalc.devices`) that the roofline (`archcalc.roofline`) can predict with.

- peak FLOP/s per dtype: the best of repeated square GEMMs (torch.mm) in that dtype;
- memory bandwidth: the best of repeated copies of a buffer far larger than the caches, counting
  the bytes read and written;
- launch cost: the median time of a tiny operation (an in-place add on one element), run many
  times in a row;
- fixed costs: for each kind of work, the median time of its SYNTHETIC layers at their smallest
  (`smallest`: 8 channels, one pixel): what a layer of that kind costs whatever its size (on the
  CPU a grouped convolution's is tens of times the launch cost). Each is run many times in a row,
  which the efficiencies below take off; on the CPU the profile keeps what each costs run in
  turn among the others, round after round, as the layers of a model run (`among_others`);
- oneDNN's fixed cost, on the CPU in float32 at one thread (where `runs_on_onednn` is torch's rule):
  as the fixed costs, of a 5×5 convolution (`ONEDNN_SMALLEST`),
  which torch runs through oneDNN at any size (24 µs on this project's CPU at its smallest, a 3×3
  one on torch's own kernel 2.9): a dense, grouped or transposed convolution that runs there pays it
  (`WorkSize.onednn`), in the efficiencies below too;
- alignments: for grouped and depthwise convolutions (`ALIGNED`), the share of its rate a layer
  keeps whose channels a group are a multiple of each power of two and of no larger one, against
  one of a multiple of ALIGN_BASE (`_alignment`): on an AVX-512 CPU a kernel that cannot take 16
  channels at a time takes 8 at half the rate;
- blocks of output channels: for each kind of work measured by size, the number of output
  channels its kernel computes together (`block_of`): a layer's work is its channels rounded up
  to a whole number of them (`DeviceProfile.rounded_up`), in the efficiencies below too; a
  grouped layer's times taken at the rate of an aligned one (its alignment's share taken off);
- cold weights: how much longer than as in a model a synthetic layer that reads little but its
  weights runs in a chain of copies with weights of their own, more of them than the caches
  hold, called in turn as a model's layers are (`_cold_weights`), in times its weights' bytes at
  the bandwidth: what every layer of a model pays, whose weights are read once a pass, where
  they fit the largest cache (whose size the profile keeps: `_cache_mib`; larger ones came from
  memory on the grids too);
- the cold start: how much longer than as in a model a synthetic layer runs where no cache holds
  its tensors, after writing a buffer beyond them, beyond its weights read cold (`_cold_start`),
  in times its bytes at the bandwidth: what the model's first kernel pays;
- padded taps: the share of a tap's time a convolution's kernel saves where the tap falls in the
  padding, from a dilated synthetic layer against an undilated one, and the widest padding at
  which it skips them (`_padded_taps`): oneDNN's direct kernel skips them up to a padding of 28;
- efficiencies: the fraction of its roofline (on the figures above) each kind of work reaches on
  SYNTHETIC layers built here, never the bundled models that the profile is then used to
  predict: the median of repeated runs of each layer, its own fixed cost taken off (its kind's, or
  oneDNN's where it runs there: `DeviceProfile.fixed`), each run
  on an input just written and with the output of the run before still held, as a layer of a
  model runs (`_Clock.as_in_a_model`);
- window poolings: for each (max and average, over 1, 2 or 3 axes), the ns an output and the ns a
  tap of its window it takes as in a model, from two windows (`_pooling_rate`): its time follows
  its window's taps, not its bytes;
- efficiencies by size: the same, for the kinds of work whose speed moves most with their shape
  (convolutions and linear layers), on a grid of SYNTHETIC widths and map sizes (`SIZED`), and
  for grouped convolutions on such a grid for each of their groups (`GROUPED`), for dense ones
  for each of several kernels (`TAPPED`), as a temporal convolution (`TEMPORAL`) and for 1×1 and
  3×3 convolutions with a stride of 2 (`STRIDED`; grouped ones by their groups, `STRIDED_GROUPED`),
  each point briefly; the roofline interpolates
  between them at a layer's width, positions, groups and taps.

torch is imported only here, when the command runs.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from archcalc.devices import DeviceProfile, PaddedTaps, PoolingRate, SizeTable, power_of_two_in, share_at
from archcalc.errors import DeviceError, Location
from archcalc.graph import Graph, Node
from archcalc.layers import LAYER_KINDS
from archcalc.layers.base import POOLINGS, numel
from archcalc.progress import phase
from archcalc.stats import DTYPE_BYTES, ModelStats

GEMM_SIZE = {"cpu": 512, "cuda": 8192}
"""The side of the square matrices of the GEMM, by device type."""
COPY_BYTES = {"cpu": 256 * 2**20, "cuda": 2 * 2**30}
"""The size of the buffer copied for the bandwidth, by device type: far beyond any cache."""
BATCH = {"cpu": 1, "cuda": 32}
"""The batch of the synthetic layers, by device type: on a GPU a batch of one is over in about
the time of its launch, which would leave nothing of the layer's own time to measure."""
SYNTHETIC: dict[str, list[tuple[str, dict, tuple[int, ...]]]] = {
    "depthwise_conv": [("conv2d", {"out": 128, "kernel": 3, "padding": 1, "groups": 128, "bias": False}, (128, 56, 56))],
    "pointwise_conv": [("conv2d", {"out": 128, "kernel": 1, "bias": False}, (128, 56, 56))],
    "conv": [("conv2d", {"out": 64, "kernel": 3, "padding": 1, "bias": False}, (64, 56, 56))],
    "linear": [("linear", {"out": 768}, (28, 28, 192))],
    "memory": [("relu", {}, (64, 112, 112)), ("batchnorm2d", {}, (64, 112, 112))],
    "pooling": [("maxpool2d", {"kernel": 3, "stride": 2, "padding": 1}, (64, 112, 112)),
                ("avgpool2d", {"kernel": 3, "stride": 2, "padding": 1}, (64, 112, 112))],
    "resampling": [("upsample2d", {"scale": 2, "mode": "bilinear"}, (64, 56, 56))],
    "transcendental": [("silu", {}, (64, 112, 112)), ("gelu", {}, (64, 112, 112)), ("sigmoid", {}, (64, 112, 112))],
}
"""For each kind of work (`archcalc.layers.base.WORK`), the layers it is measured on: kind,
fields and input C×H×W (before the batch). Sizes of the kind ResNet, MobileNet and ConvNeXt run;
a kind of work with several layers gets the median of their fixed costs and of their efficiencies."""
ONEDNN = "onednn"
ONEDNN_SMALLEST = ("conv2d", {"out": 64, "kernel": 5, "padding": 2, "bias": False}, (64, 56, 56))
"""The synthetic layer oneDNN's fixed cost is measured on, at its smallest (`smallest`): a dense
convolution whose kernel's sides are over 3, which torch runs through oneDNN on the CPU at any
size (`archcalc.layers.conv.runs_on_onednn`); SYNTHETIC's conv at its smallest runs on torch's own
kernel. On this project's CPU it took 24 µs, a 3×3 one 2.9."""
ONEDNN_DTYPE = "float32"
"""The dtype oneDNN's fixed cost is measured in, on the CPU at one thread: where torch chooses
oneDNN as `archcalc.layers.conv.runs_on_onednn` says (in bfloat16 it runs every convolution there,
its kind's fixed cost measured on it; in float64 none)."""
POOLING_MAPS = {1: (128, 8000), 2: (64, 112, 112), 3: (64, 8, 56, 56)}
"""The input (C and sizes, before the batch) each window pooling (POOLINGS) is measured on, by its axes."""
POOLING_WINDOWS = ({"kernel": 2, "stride": 2}, {"kernel": 3, "stride": 2, "padding": 1})
"""The two windows each window pooling is measured with (`_pooling_rate`): 2 and 3 a side, of stride 2.
On this project's CPU a pooling's time an output grew with its window's taps, not with its bytes:
a 2-D max pooling of 64×112×112 took 16 ns an output at 2×2 and 23 at 3×3 of stride 2, 61 at 7×7
of stride 1; an average one 5.5, 6.8 and 17; a 1-D max pooling (torch's own kernel) 0.2–1.7, by
its stride more than its window."""
SIZED_KERNEL = 3
"""The side of the kernel of the synthetic convolutions by size (the taps of their grid are this squared)."""


def _convolution(width: int, side: int, groups: int = 1, kernel: int = SIZED_KERNEL,
                 stride: int = 1) -> tuple[str, dict, tuple[int, ...]]:
    """The synthetic convolution with a square `kernel`, of `groups` groups of `width` channels in
    and out each (one group: a dense convolution), padded to give a square output of `side`: with
    a `stride`, on a map `stride` times its side."""
    fields = {"out": width * groups, "kernel": kernel, "padding": kernel // 2, "groups": groups, "bias": False}
    return "conv2d", fields | ({"stride": stride} if stride > 1 else {}), (width * groups, stride * side, stride * side)


def _depthwise(width: int, side: int, kernel: int = SIZED_KERNEL) -> tuple[str, dict, tuple[int, ...]]:
    """The synthetic depthwise convolution: `width` channels, each its own group, with a square
    `kernel`, on a square map of `side`, padded to keep it."""
    return "conv2d", {"out": width, "kernel": kernel, "padding": kernel // 2, "groups": width, "bias": False}, \
        (width, side, side)


SIZED: dict[str, Callable[[int, int], tuple[str, dict, tuple[int, ...]]]] = {
    "depthwise_conv": _depthwise,
    "pointwise_conv": lambda width, side: ("conv2d", {"out": width, "kernel": 1, "bias": False}, (width, side, side)),
    "conv": lambda width, side: _convolution(width, side),
    "linear": lambda width, side: ("linear", {"out": width}, (side, side, width)),
}
"""The kinds of work whose efficiency is also measured by size (`efficiency_by_size`): the
synthetic layer of `width` channels in and out (a depthwise convolution's groups) on a square map
of `side` (a linear layer's positions), for every width of WIDTHS and side of SIDES. A grid of
powers of two and of the map sizes a stride of 2 makes from 224, never the bundled models' layers."""
GROUPED: dict[str, Callable[[int, int, int], tuple[str, dict, tuple[int, ...]]]] = {
    "conv": lambda width, side, groups: _convolution(width, side, groups),
}
"""The kinds of work also measured grouped (the table's `grouped`): the synthetic layer of `groups`
groups of `width` channels in and out each, for every groups of GROUPS and width and side of the
grid, up to the widest of WIDTHS in all. How fast a grouped convolution runs depends on its
groups as well as on their width (on this project's CPU, 10 groups of 16 channels ran faster
than one convolution of 16 channels, 8 groups of 168 slower than one of 168)."""
ALIGN_BASE = 128
ALIGNMENTS = (1, 2, 4, 8, 16, 32, 64)
ALIGNED: dict[str, Callable[[int], tuple[str, dict, tuple[int, ...]]]] = {
    "depthwise_conv": lambda width: SIZED["depthwise_conv"](width, 56),
    "conv": lambda width: GROUPED["conv"](width, 28, 2),
}
"""The kinds of work whose layers are grouped, with the synthetic layer of `width` channels a group
whose rate at ALIGN_BASE + each of ALIGNMENTS (a multiple of it and of no larger power of two),
against ALIGN_BASE, gives the share of its rate a layer of that alignment keeps (the table's
`alignments` and `aligned`). On this project's AVX-512 CPU a depthwise 3×3 convolution on 56×56
took 2.5–3.1 µs a channel at 65, 66, 68, 72, 120, 136 or 232 channels, 1.0–1.6 at 64, 80, 96, 128
or 240; a grouped one of 2 groups of 120 channels on 28×28 reached 131 GFLOP/s, of 112 or 128 250.
oneDNN's grouped kernel takes 16 channels at a time where the channels a group are a multiple of
16, else 8 (its layouts aBcd16b and aBcd8b); its depthwise one pads the channels to a multiple of
16 where they are not, and runs slower on them."""
BLOCK_BASE = 64
BLOCKS = (8, 16, 32, 64)
"""The blocks of output channels looked for: a layer of BLOCK_BASE + 1 output channels is timed
against layers of BLOCK_BASE + each block; the kernel's block is the largest one they take as long
as (`block_of`)."""
BLOCKED: dict[str, Callable[[int], tuple[str, dict, tuple[int, ...]]]] = {
    "depthwise_conv": lambda out: ("conv2d", {"out": out, "kernel": 3, "padding": 1, "groups": out, "bias": False},
                                   (out, 56, 56)),
    "pointwise_conv": lambda out: ("conv2d", {"out": out, "kernel": 1, "bias": False}, (BLOCK_BASE, 56, 56)),
    "conv": lambda out: ("conv2d", {"out": out, "kernel": 3, "padding": 1, "bias": False}, (BLOCK_BASE, 32, 32)),
    "linear": lambda out: ("linear", {"out": out}, (56, 56, BLOCK_BASE)),
}
"""The synthetic layer of `out` output channels whose times show the block of output channels
each kind of work computes together (`_channel_block`)."""
TAPPED: dict[str, Callable[[int, int, int], tuple[str, dict, tuple[int, ...]]]] = {
    "conv": lambda width, side, kernel: _convolution(width, side, kernel=kernel),
    "depthwise_conv": _depthwise,
}
"""The kinds of work also measured by the taps of their kernel (the table's `taps`): the synthetic
layer of SIZED with a square `kernel` of KERNELS, for every width and side of the grid. A kernel
of more taps runs nearer its peak at the same width (on this project's CPU a 7×7 convolution of 14
channels on 112×112 reached about 51 GMAC/s, a 3×3 one of 16 channels on 112×112 48, on 224×224 38;
on the AVX-512 CPU the depthwise 5×5 convolutions of the bundled models were predicted at 1.35 of
their time alone on the grid of 3×3 ones, the ninth pass)."""
KERNELS = {"conv": (5, 7, 11), "depthwise_conv": (5, 7)}
"""The kernels (their side) each kind of work of TAPPED is measured at, after SIZED's 3×3."""
TEMPORAL_KERNEL = 3
FRAMES = 4


def _temporal(width: int, side: int) -> tuple[str, dict, tuple[int, ...]]:
    """The synthetic temporal convolution: a 3-D kernel of TEMPORAL_KERNEL×1×1, `width` channels in
    and out, on FRAMES frames of a square map of half of `side` (one frame of `side` where it is
    odd): the positions of a 2-D map of `side`. How it splits them does not matter (on this
    project's CPU, 64 channels on 4×112×112, 16×56×56 and 1024×7×7 all took 44–47 ms)."""
    frames, plane = (FRAMES, side // 2) if side % 2 == 0 else (1, side)
    return "conv3d", {"out": width, "kernel": [TEMPORAL_KERNEL, 1, 1], "padding": [TEMPORAL_KERNEL // 2, 0, 0],
                      "bias": False}, (width, frames, plane, plane)


TEMPORAL: dict[str, Callable[[int, int], tuple[str, dict, tuple[int, ...]]]] = {"conv": _temporal}
"""The kinds of work also measured as a temporal convolution (the table's `temporal`): a 3-D kernel
along its first axis only (k×1×1), for every width and side of the grid. On this project's CPU it
runs another kernel than the rest (torch's slow_conv3d, an unfold then a GEMM, at one thread and
batch 1): a 3×1×1 convolution of 144 channels to 64 on 16×56×56 took 98 ms, the same work as a
3×1 2-D convolution 28."""
STRIDED: dict[str, Callable[[int, int], tuple[str, dict, tuple[int, ...]]]] = {
    "pointwise_conv": lambda width, side: ("conv2d", {"out": width, "kernel": 1, "stride": 2, "bias": False},
                                           (width, 2 * side, 2 * side)),
    "conv": lambda width, side: _convolution(width, side, stride=2),
}
"""The kinds of work also measured with a stride of 2 (the table's `strided`): the synthetic layer
of SIZED with a stride of 2 on a map of twice the side, which gives the same output positions, for
every width and side of the grid. On an AVX-512 CPU torch ran a 1×1 convolution of stride 2 at
about the rate of a 3×3 one, twice that of one of stride 1: ResNet-50's downsampling 1×1 of 256
channels to 512 took 0.97 ms alone, a 1×1 of stride 1 of the same MACs 1.78; 3×3 convolutions of
stride 2 were predicted at 0.79–0.88 of their time alone on the grid of stride 1 (docs/latency-passes.md)."""
STRIDED_GROUPED: dict[str, Callable[[int, int, int], tuple[str, dict, tuple[int, ...]]]] = {
    "conv": lambda width, side, groups: _convolution(width, side, groups, stride=2),
}
"""The kinds of work also measured grouped with a stride of 2 (the table's `strided_grouped`): the
synthetic layer of GROUPED with a stride of 2 on a map of twice the side, for every groups of
GROUPS, width and side of the grid. On the AVX-512 CPU RegNet's grouped 3×3 convolutions of stride
2 were predicted at 0.86 of their time alone (0.73–0.99 from the 10th to the 90th percentile) on
the grids of stride 1 (the ninth pass, docs/latency-passes.md)."""
WIDTHS = (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
SIDES = (1, 2, 4, 7, 14, 28, 56, 112, 224)
GROUPS = (2, 4, 8, 16, 32, 64)
GRID_MACS = {"cpu": 2**34, "cuda": 2**36}
"""The most MACs a point of the grid is measured at, by device type (the CPU does 2³⁴ in about
0.2 s in float32), over how many times slower a dtype's GEMMs run (`slower`). Filled in from
narrower points (`_filled`), the AVX-512 machine's points between 2³⁰ and 2³⁴ were 0.20–2.11
times what two profiles then measured there, 0.95 at the median (4 groups of 256 channels
strided to 112×112 filled at 1.00 of the roofline, measured at 1.67; a 7×7 convolution of 4096
channels on 4×4 filled at 0.45, measured at 0.22: docs/latency-passes.md)."""
GRID_BYTES = 2**30
"""The largest input or output a point of the grid is measured with (with the copy of its input
and the output before, a point holds about four such tensors)."""
GRID_SHARE = 1 / 6
"""How long each point of the grid repeats for, as a share of BUDGET_S."""
DETERMINED = 2
"""A point is measured where its time is at least this many times its own fixed cost: at less,
the fixed cost (measured apart, and not quite the same from run to run) is most of what is taken off,
and the point takes the efficiency of a determined one (`_filled`)."""
SMALLEST_CHANNELS = 8
"""The channels (features) of a synthetic layer at its smallest (`smallest`): enough for a grouped
convolution to stay grouped."""
BUDGET_S = 0.3
"""How long each measurement repeats for (after its warm-up), at least MIN_RUNS times."""
MIN_RUNS = 5
LONG_RUNS = 2
"""The fewest runs of layers each of whose runs have already taken BUDGET_S in all (a grid's
largest points)."""


def measure_profile(device: str = "cpu", threads: int = 1, dtype: str = "float32",
                    key: str | None = None) -> DeviceProfile:
    """Measure the device; `dtype` is the one the efficiencies are measured in."""
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        raise DeviceError("--device cuda: no CUDA device is available to torch here",
                          hint="use --device cpu, or run on a machine with a CUDA GPU")
    from archcalc.validation.latency import keep_freed_memory

    torch.set_num_threads(threads)
    kept = device == "cpu" and keep_freed_memory()
    clock = _Clock(device)
    peaks = {}
    for element in _dtypes(torch, device):
        phase(f"GEMMs in {element} on {device}")
        peaks[element] = _gemm_tflops(torch, clock, device, element)
    peaks = {name: value for name, value in peaks.items() if value is not None}
    if dtype not in peaks:
        raise DeviceError(f"the efficiencies are measured in {dtype}, which {device} does not run here",
                          hint=f"choose --dtype from {', '.join(peaks)}")
    phase(f"copies on {device}")
    gbps = _copy_gbps(torch, clock, device)
    phase(f"the launch cost on {device}")
    launch_us = _launch_us(torch, clock, device)
    fixed_us = {}
    for work, layers in SYNTHETIC.items():
        phase(f"{work.replace('_', ' ')} layers at their smallest in {dtype}")
        fixed_us[work] = round(statistics.median(_fixed_us(torch, clock, device, dtype, layer) for layer in layers), 3)
    onednn = device == "cpu" and dtype == ONEDNN_DTYPE and threads == 1
    onednn_us = onednn_among = 0.0  # many in a row, which the efficiencies take off; among the others, kept
    if onednn:
        phase(f"a convolution on oneDNN at its smallest in {dtype}")
        onednn_us = round(_fixed_us(torch, clock, device, dtype, ONEDNN_SMALLEST), 3)
    if device == "cpu":
        phase(f"layers at their smallest among others in {dtype}")
        among = among_others(torch, dtype, SYNTHETIC | ({ONEDNN: [ONEDNN_SMALLEST]} if onednn else {}))
        onednn_among = among.pop(ONEDNN, 0.0)
    name = _device_name(torch, device, threads)
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    how = f"measured by archcalc device-profile on {when} (torch {torch.__version__}, {name}" \
          + (", freed memory kept)" if kept else ")")
    unblocked = DeviceProfile(key or f"local-{device}", name, peaks, gbps, launch_us, sources={}, file="(measured)",
                              fixed_us=fixed_us, onednn_fixed_us=onednn_us)
    alignments = {}
    for work in ALIGNED:
        phase(f"the alignment of {work.replace('_', ' ')} layers in {dtype}")
        alignments[work] = _alignment(torch, clock, device, unblocked, dtype, work)
    blocks = {}
    for work in BLOCKED:
        phase(f"the block of output channels of {work.replace('_', ' ')} layers in {dtype}")
        blocks[work] = _channel_block(torch, clock, device, dtype, work, alignments.get(work))
    base = DeviceProfile(key or f"local-{device}", name, peaks, gbps, launch_us, sources={}, file="(measured)",
                         fixed_us=fixed_us, channel_blocks=blocks, onednn_fixed_us=onednn_us)
    phase(f"a layer's weights read cold in {dtype}")
    base = replace(base, cold_weights=_cold_weights(torch, clock, device, base, dtype),
                   cache_mib=_cache_mib(torch, device))
    phase(f"a layer's cold start in {dtype}")
    cold = _cold_start(torch, clock, device, base, dtype)
    phase(f"the taps a convolution skips in its padding in {dtype}")
    padded = _padded_taps(torch, clock, device, base, dtype)
    efficiency = {}
    for work, layers in SYNTHETIC.items():
        phase(f"{work.replace('_', ' ')} layers in {dtype}")
        efficiency[work] = statistics.median(_efficiency(torch, clock, device, base, dtype, *layer) for layer in layers)
    by_size = {}
    for work in SIZED:
        phase(f"{work.replace('_', ' ')} layers by size in {dtype}")
        table = _size_table(torch, clock, device, base, dtype, work)
        by_size[work] = table._replace(alignments=alignments[work][0], aligned=alignments[work][1]) \
            if work in alignments else table
    phase(f"window poolings in {dtype}")
    pooling = {operation: rate for operation in POOLINGS if (rate := _run_here(
        lambda operation=operation: _pooling_rate(torch, clock, device, base, dtype, operation))) is not None}
    size, slow = GEMM_SIZE[device], slower(base, dtype)
    sources = {
        "peak_tflops": f"{how}: the best of repeated {size}×{size} GEMMs (torch.mm) in each dtype",
        "memory_gbps": f"{how}: the best of repeated copies of {COPY_BYTES[device] // 2**20} MiB, bytes read and written",
        "launch_us": f"{how}: the median time of an in-place add on one element, many in a row",
        "fixed_us": f"{how}: in {dtype}, the median time of each kind of work's synthetic layers at "
                    f"{SMALLEST_CHANNELS} channels and one pixel (archcalc.measure_device.smallest), "
                    + ("each run in turn among the others, round after round (among_others)" if device == "cpu"
                       else "many in a row"),
        **({"onednn_fixed_us": f"{how}: in {dtype}, as fixed_us, of the synthetic 5×5 convolution of "
                               "archcalc.measure_device.ONEDNN_SMALLEST, which torch runs through oneDNN"}
           if onednn else {}),
        "channel_blocks": f"{how}: in {dtype}, the largest of {', '.join(map(str, BLOCKS))} output channels that a "
                          f"synthetic layer of {BLOCK_BASE} + 1 took as long as {BLOCK_BASE} + it "
                          "(archcalc.measure_device.BLOCKED, block_of), a grouped one's times at an aligned one's "
                          "rate (its alignment's share taken off); else 1",
        "cold_start": f"{how}: in {dtype}, the fastest of {COLD_RUNS} runs of the synthetic {COLD_LAYER[0]} of "
                      f"archcalc.measure_device.COLD_LAYER, each after writing {COPY_BYTES[device] // 2**20} MiB, less "
                      "its fastest as in a model and its weights read cold, over its bytes at the bandwidth above "
                      "(_cold_start)",
        "cold_weights": f"{how}: in {dtype}, the synthetic {WEIGHTS_LAYER[0]} of archcalc.measure_device.WEIGHTS_LAYER "
                        f"in a chain of copies with weights of their own, {COPY_BYTES[device] // 2**20} MiB of them, "
                        "called in turn, less its fastest as in a model, over its weights' bytes at the bandwidth "
                        "above (_cold_weights)",
        "cache_mib": f"{how}: " + ("the L2 cache's size as torch gives it (torch.cuda.get_device_properties)"
                                   if device == "cuda" else f"the largest data or unified cache of the first core, as "
                                   f"Linux gives it ({CPU_CACHES})") + " (_cache_mib)",
        "padded_taps": f"{how}: in {dtype}, one less the time of a synthetic 3×3 convolution of 64 channels on "
                       f"{PADDED_SIDE}×{PADDED_SIDE} dilated and padded {PADDED_DILATION} over its time undilated, over "
                       "one less the share of its taps that read the map; and the widest padding at which such a "
                       "layer saves at least half that, found by halving (archcalc.measure_device._padded_taps)",
        "pooling_ns": f"{how}: in {dtype}, the median of repeated runs of each window pooling torch runs here, as in a model, its "
                      "fixed cost taken off, over its outputs, at windows of 2 and 3 a side of stride 2 (archcalc."
                      "measure_device.POOLING_WINDOWS, on POOLING_MAPS); the line through the two in its window's "
                      "taps, never falling (_pooling_rate)",
        "efficiency": f"{how}: in {dtype}, the median of repeated runs of synthetic layers (archcalc.measure_device."
                      "SYNTHETIC), as a fraction of their roofline on the figures above, their fixed cost (many in a "
                      "row) taken off",
        "efficiency_by_size": f"{how}: in {dtype}, as efficiency but at the fastest of its runs, on a grid of synthetic "
                              f"layers by width and positions (archcalc.measure_device.SIZED, batch {BATCH[device]}), and for "
                              "grouped convolutions by their groups too (GROUPED), dense and depthwise ones by their kernel "
                              "(TAPPED, KERNELS), as temporal ones (TEMPORAL) and 1×1 and 3×3 ones with a stride of 2 "
                              "(STRIDED; grouped ones by their groups too, STRIDED_GROUPED), and for grouped and "
                              "depthwise ones the share of an aligned one's rate kept at "
                              f"{ALIGN_BASE} + each alignment of their channels a group, against {ALIGN_BASE} "
                              "(ALIGNED, ALIGNMENTS), and on the CPU dense ones on torch's own kernel, oneDNN's turned "
                              "off (NATIVE; native_up_to asked of torch._C._select_conv_backend); a point over "
                              f"{GRID_MACS[device] / slow:,.0f} MACs"
                              + (f" ({GRID_MACS[device]:,} over {slow:.4g}: its GEMMs ran that many times slower "
                                 "than float32's, slower)" if slow > 1 else "")
                              + f" or {GRID_BYTES:,} bytes a tensor, or under {DETERMINED} times its "
                              "fixed cost, takes a measured point's (archcalc.measure_device._filled)",
    }
    return DeviceProfile(base.key, name, peaks, gbps, launch_us, sources, {k: float(f"{v:.4g}") for k, v in efficiency.items()},
                         "(measured)", among if device == "cpu" else fixed_us, by_size, blocks, cold, padded,
                         base.cold_weights, base.cache_mib, pooling,
                         onednn_fixed_us=onednn_among, measured_in=dtype,
                         **({"cpu": cpu_name(torch), "threads": threads} if device == "cpu" else {}))


class _Clock:
    """Seconds of a callable run `runs` times, read after the device has finished."""

    def __init__(self, device: str) -> None:
        import torch

        self.sync: Callable[[], None] = torch.cuda.synchronize if device == "cuda" else (lambda: None)

    def times(self, run: Callable[[], object], warmup: int = 2, each: int = 1) -> list[float]:
        """The seconds of each of at least MIN_RUNS timed groups of `each` calls, repeated for
        BUDGET_S; per call."""
        for _ in range(warmup):
            run()
        self.sync()
        out: list[float] = []
        spent = 0.0
        while len(out) < MIN_RUNS or spent < BUDGET_S:
            start = time.perf_counter()
            for _ in range(each):
                run()
            self.sync()
            took = time.perf_counter() - start
            out.append(took / each)
            spent += took
        return out

    def after(self, run: Callable[[], object], before: Callable[[], object], runs: int) -> list[float]:
        """The seconds of `runs` calls of `run`, each after `before` (untimed), after two of warm-up."""
        out: list[float] = []
        for index in range(runs + 2):
            before()
            self.sync()
            start = time.perf_counter()
            run()
            self.sync()
            if index >= 2:
                out.append(time.perf_counter() - start)
        return out

    def as_in_a_model(self, layer: Callable[[object], object], x, budget: float | None = None) -> list[float]:
        """The seconds of each of at least MIN_RUNS calls of `layer` (`in_turn`), repeated for BUDGET_S, each
        on a copy of `x` made just before it (an input just written, as the layer before leaves
        it in a model) while the output of the call before is still held (as the next layer holds
        it): not the same input and output, hot in the caches, again and again, which on a CPU
        ran a ReLU twice as fast as a model's ReLUs."""
        return self.in_turn([(layer, x)], BUDGET_S if budget is None else budget)[0]

    def in_turn(self, layers: list[tuple[Callable[[object], object], object]], budget: float) -> list[list[float]]:
        """The seconds of each call of each of `layers` (a layer and its input), called in turn,
        round after round, after two rounds of warm-up, for at least MIN_RUNS rounds (LONG_RUNS
        where each layer's own runs took BUDGET_S) and until `budget` is spent, each call as in `as_in_a_model`: a moment the shared machine is slower
        (another process, the caches it takes) falls on all of them alike rather than on the one
        it ran."""
        for _ in range(2):
            for layer, x in layers:
                held = layer(x.clone())
        out: list[list[float]] = [[] for _ in layers]
        spent = 0.0
        while len(out[0]) < (MIN_RUNS if min(map(sum, out)) < BUDGET_S else LONG_RUNS) or spent < budget:
            for taken, (layer, x) in zip(out, layers):
                fresh = x.clone()
                self.sync()
                start = time.perf_counter()
                result = layer(fresh)
                self.sync()
                taken.append(time.perf_counter() - start)
                spent += taken[-1]
                held = result  # noqa: F841 - the last output, alive until the next call's is made
        return out


def _dtypes(torch, device: str) -> list[str]:
    return ["float32", "float16", "bfloat16", "float64"]


def _gemm_tflops(torch, clock: _Clock, device: str, dtype: str) -> float | None:
    """The best achieved TFLOP/s of a square GEMM in `dtype`; None where torch has no GEMM for it here."""
    size = GEMM_SIZE[device]
    kind = getattr(torch, dtype)
    try:
        a = torch.randn(size, size, device=device).to(kind)
        b = torch.randn(size, size, device=device).to(kind)
        torch.mm(a, b)
    except RuntimeError:
        return None
    best = min(clock.times(lambda: torch.mm(a, b)))
    return float(f"{2 * size**3 / best / 1e12:.4g}")  # significant digits: a slow one is not 0


def _copy_gbps(torch, clock: _Clock, device: str) -> float:
    count = COPY_BYTES[device] // 4
    source = torch.ones(count, device=device)
    target = torch.empty_like(source)
    best = min(clock.times(lambda: target.copy_(source)))
    return float(f"{2 * count * 4 / best / 1e9:.4g}")


def _launch_us(torch, clock: _Clock, device: str) -> float:
    tiny = torch.zeros(1, device=device)
    return round(statistics.median(clock.times(lambda: tiny.add_(1), warmup=100, each=1000)) * 1e6, 3)


def smallest(kind: str, fields: dict, shape: tuple[int, ...]) -> tuple[str, dict, tuple[int, ...]]:
    """A synthetic layer at its smallest: SMALLEST_CHANNELS channels in and out (a grouped
    convolution keeps a group per channel), every other size 1 (a linear layer's features are last)."""
    small = {name: SMALLEST_CHANNELS if name in ("out", "groups") else value for name, value in fields.items()}
    ones = (1,) * (len(shape) - 1)
    return kind, small, (*ones, SMALLEST_CHANNELS) if kind == "linear" else (SMALLEST_CHANNELS, *ones)


def _fixed_us(torch, clock: _Clock, device: str, dtype: str, layer: tuple[str, dict, tuple[int, ...]]) -> float:
    """The median time in µs of one synthetic layer at its smallest (batch 1), many in a row."""
    module, x = _at_smallest(torch, device, dtype, layer)
    with torch.no_grad():
        return statistics.median(clock.times(lambda: module(x), warmup=20, each=20)) * 1e6


def _at_smallest(torch, device: str, dtype: str, layer: tuple[str, dict, tuple[int, ...]]) -> tuple:
    """The torch module of a synthetic layer at its smallest (`smallest`), and an input of batch 1."""
    kind, fields, shape = smallest(*layer)
    return _built(torch, device, dtype, synthetic_graph(kind, fields, shape), (1, *shape))


ROUNDS = 500
"""How many rounds of every synthetic layer at its smallest, each in turn, `among_others` times."""


def among_others(torch, dtype: str, synthetic: dict = SYNTHETIC) -> dict[str, float]:
    """The fixed cost in µs of each kind of work on the CPU as a layer of a model pays it: the
    median time of its `synthetic` layers at their smallest, each run in turn among those of every
    kind, for ROUNDS rounds (the median of a kind's layers). On this project's CPU a linear layer
    at its smallest took 5.8 µs many in a row and 14.2 among others, a ReLU or batch norm 5.5 and
    10.3 (docs/latency-passes.md): what the layer before leaves in the caches is not its own."""
    layers = [(work, *_at_smallest(torch, "cpu", dtype, layer)) for work, kinds in synthetic.items() for layer in kinds]
    times: list[list[float]] = [[] for _ in layers]
    with torch.no_grad():
        for _ in range(20):  # warm-up
            for _, module, x in layers:
                module(x)
        for _ in range(ROUNDS):
            for taken, (_, module, x) in zip(times, layers):
                start = time.perf_counter()
                module(x)
                taken.append(time.perf_counter() - start)
    by_work: dict[str, list[float]] = {}
    for (work, _, _), taken in zip(layers, times):
        by_work.setdefault(work, []).append(statistics.median(taken) * 1e6)
    return {work: round(statistics.median(costs), 3) for work, costs in by_work.items()}


def _built(torch, device: str, dtype: str, graph: Graph, input_shape: tuple[int, ...]) -> tuple:
    """The torch module of a one-layer graph in `dtype` on `device`, and an input of `input_shape`."""
    from archcalc.torchmodel import build_layer

    node = graph.nodes[0]
    kind_dtype = getattr(torch, dtype)
    with torch.device(device):
        module = build_layer(node.kind, node.attrs, [input_shape]).to(kind_dtype).eval()
        x = torch.randn(input_shape, device=device).to(kind_dtype)
    return module, x


def _device_name(torch, device: str, threads: int) -> str:
    """A GPU's name; a CPU's (`cpu_name`) and the threads: two VMs of this project, both "AMD EPYC",
    ran 3×3 convolutions at rates twice apart (docs/latency-passes.md)."""
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"{cpu_name(torch)}, {threads} thread{'s' if threads != 1 else ''}"


def cpu_name(torch) -> str:
    """This CPU's model name, with its family and model numbers where Linux gives them and the
    instructions torch's kernels use on it."""
    import platform

    first: dict[str, str] = {}  # the first processor's
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for key, _, value in (line.partition(":") for line in info):
                first.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    model = first.get("model name") or platform.processor() or platform.machine()
    numbers = f"family {first['cpu family']} model {first['model']}, " if "cpu family" in first and "model" in first else ""
    return f"{model} ({numbers}{torch.backends.cpu.get_cpu_capability()})"


def synthetic_graph(kind: str, fields: dict, shape: tuple[int, ...]) -> Graph:
    """A one-layer graph of a synthetic layer."""
    layer_kind = LAYER_KINDS[kind]
    where = Location("archcalc.measure_device", 0, 0)
    node = Node("layer", layer_kind, layer_kind.resolve(fields), ("input",), where)
    return Graph(f"synthetic {kind}", "synthetic", "archcalc.measure_device", None, shape, [node], {}, where)


COLD_LAYER = SYNTHETIC["conv"][0]
COLD_RUNS = 20
"""The synthetic layer whose cold start is measured, and how many times (each after writing a
buffer beyond the caches)."""


def _cold_start(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str) -> float:
    """How much longer than as in a model (`_Clock.as_in_a_model`) COLD_LAYER runs where no cache
    holds its tensors, beyond its weights read cold (`base.cold_weights`), in times its bytes at
    `base`'s bandwidth (0 where it runs no longer): the fastest of COLD_RUNS runs, each after
    writing COPY_BYTES, on an input written before them and into the memory its output before was
    freed from, as the model's first layer runs."""
    from archcalc.analysis import analyze_graph
    from archcalc.roofline import roofline

    graph = synthetic_graph(*COLD_LAYER)
    stats = analyze_graph(graph, batch=BATCH[device], dtype=dtype)
    layer = roofline(stats, base, dtype).layers[0]
    weights_cold = base.weights_cold(_weight_bytes(graph, stats, dtype))
    module, x = _built(torch, device, dtype, graph, stats.input_shape)
    sweep = torch.empty(COPY_BYTES[device] // 4, device=device)
    with torch.no_grad():
        hot = min(clock.as_in_a_model(module, x))
        cold = min(clock.after(lambda: module(x), lambda: sweep.fill_(1.0), COLD_RUNS))
    return round(max(cold - hot - weights_cold, 0.0) / (layer.bytes / base.bandwidth), 4)


CPU_CACHES = Path("/sys/devices/system/cpu/cpu0/cache")
"""Where Linux describes the caches of the first core, one folder of them each."""
WEIGHTS_LAYER = ("linear", {"out": 256}, (1024,))
"""The synthetic layer whose weights are read cold: one that reads little but its weights (1 MiB
in float32), as a classifier at batch 1 does."""


def _cold_weights(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str) -> float:
    """How much longer than as in a model (`_Clock.as_in_a_model`) WEIGHTS_LAYER runs where no
    cache holds its weights, in times their bytes at `base`'s bandwidth (0 where it runs no
    longer): copies of it with weights of their own, COPY_BYTES of weights in all, called in
    turn round after round as a model's layers are (`_Clock.in_turn`), at the median over the
    copies of the fastest of each one's runs."""
    from archcalc.analysis import analyze_graph

    graph = synthetic_graph(*WEIGHTS_LAYER)
    stats = analyze_graph(graph, batch=BATCH[device], dtype=dtype)
    weights = _weight_bytes(graph, stats, dtype)
    module, x = _built(torch, device, dtype, graph, stats.input_shape)
    chain = [(_built(torch, device, dtype, graph, stats.input_shape)[0], x)
             for _ in range(max(2, COPY_BYTES[device] // weights))]
    with torch.no_grad():
        hot = min(clock.as_in_a_model(module, x))
        cold = statistics.median(min(times) for times in clock.in_turn(chain, BUDGET_S))
    return round(max(cold - hot, 0.0) / (weights / base.bandwidth), 4)


def _cache_mib(torch, device: str, caches: Path = CPU_CACHES) -> float:
    """The size of the device's largest cache in MiB: a GPU's L2 as torch gives it; a CPU's
    largest data or unified cache of its first core as Linux gives it (`caches`: its sysfs folder
    of them, each with a `type` and a `size` such as 32768K); 0 where neither says."""
    if device == "cuda":
        return round(getattr(torch.cuda.get_device_properties(0), "L2_cache_size", 0) / 2**20, 3)
    sizes, units = [], {"K": 2**10, "M": 2**20, "G": 2**30}
    for cache in caches.glob("index*"):
        try:
            kind, size = ((cache / name).read_text().strip() for name in ("type", "size"))
        except OSError:
            continue
        if kind != "Instruction" and size[:-1].isdigit() and size[-1] in units:
            sizes.append(int(size[:-1]) * units[size[-1]])
    return round(max(sizes, default=0) / 2**20, 3)


def _weight_bytes(graph: Graph, stats: ModelStats, dtype: str) -> int:
    """The bytes of weights and buffers a one-layer graph's layer reads, as the roofline counts them."""
    node = graph.nodes[0]
    return node.kind.weights_read(node.attrs, [stats.input_shape], DTYPE_BYTES[dtype])


PADDED_SIDE = 64
PADDED_DILATION = 16
MIN_SAVED = 0.1


def _padded(dilation: int) -> tuple[str, dict, tuple[int, ...]]:
    """The synthetic 3×3 convolution of 64 channels on PADDED_SIDE² padded and dilated `dilation`."""
    return "conv2d", {"out": 64, "kernel": 3, "padding": dilation, "dilation": dilation, "bias": False}, \
        (64, PADDED_SIDE, PADDED_SIDE)


def _padded_taps(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str) -> PaddedTaps:
    """The share of a padded tap's time a convolution's kernel saves, and the widest padding it
    skips taps at (`PaddedTaps`): the synthetic `_padded` layer at PADDED_DILATION and undilated,
    run in turn, each at the fastest of its runs less its own fixed cost; saved is one less the
    first's time over the second's, over one less its taps read (`TapsRead.share`). Where it saves
    at least MIN_SAVED, the widest padding is found by halving the paddings from PADDED_DILATION to
    PADDED_SIDE: a padding is skipped where its layer saves at least half what saved foretells."""
    from archcalc.analysis import analyze_graph
    from archcalc.roofline import roofline

    def against_undilated(dilation: int) -> tuple[float, float]:
        """Its time over the undilated layer's, and the share of its taps that read the map."""
        layers, fixed = [], []
        for padding in (1, dilation):
            graph = synthetic_graph(*_padded(padding))
            stats = analyze_graph(graph, batch=BATCH[device], dtype=dtype)
            layers.append(_built(torch, device, dtype, graph, stats.input_shape))
            fixed.append(roofline(stats, base, dtype).layers[0].fixed)
        node = graph.nodes[0]
        share = node.kind.taps_read(node.attrs, [stats.input_shape], stats.layers[0].shape).share
        with torch.no_grad():
            times = clock.in_turn(layers, BUDGET_S * GRID_SHARE * len(layers))
        undilated, dilated = (min(taken) - its_fixed for taken, its_fixed in zip(times, fixed))
        return dilated / undilated, share

    ratio, share = against_undilated(PADDED_DILATION)
    saved = min(max((1 - ratio) / (1 - share), 0.0), 1.0)
    if saved < MIN_SAVED:
        return PaddedTaps(round(saved, 4), 0)
    skipped, unknown = PADDED_DILATION, PADDED_SIDE
    while unknown - skipped > 1:
        middle = (skipped + unknown) // 2
        ratio, share = against_undilated(middle)
        if ratio <= 1 - saved * (1 - share) / 2:
            skipped = middle
        else:
            unknown = middle
    return PaddedTaps(round(saved, 4), skipped)


def _alignment(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str,
               work: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The alignments of ALIGNMENTS and ALIGN_BASE, and the share of its rate `work`'s ALIGNED
    synthetic layer keeps at ALIGN_BASE + each, against ALIGN_BASE (1): run in turn
    (`_Clock.in_turn`), each at the fastest of its runs, its rate its roofline on `base` over its
    time, its own fixed cost taken off. `base` computes no blocks of channels: a depthwise
    layer of 129 channels that computes 136 keeps about 5% less than its alignment alone would."""
    from archcalc.analysis import analyze_graph
    from archcalc.roofline import roofline

    widths = (*(ALIGN_BASE + step for step in ALIGNMENTS), ALIGN_BASE)
    layers, roofs, fixed = [], [], []
    for width in widths:
        graph = synthetic_graph(*ALIGNED[work](width))
        stats = analyze_graph(graph, batch=BATCH[device], dtype=dtype)
        layer = roofline(stats, base, dtype).layers[0]
        roofs.append(max(layer.compute_time, layer.memory_time))
        fixed.append(layer.fixed)
        layers.append(_built(torch, device, dtype, graph, stats.input_shape))
    with torch.no_grad():
        times = clock.in_turn(layers, BUDGET_S * GRID_SHARE * len(layers))
    owns = [min(taken) - its_fixed for taken, its_fixed in zip(times, fixed)]
    rates = [roof / (own if own > 0 else min(taken)) for roof, own, taken in zip(roofs, owns, times)]
    return tuple(map(float, (*ALIGNMENTS, ALIGN_BASE))), tuple(round(rate / rates[-1], 4) for rate in rates)


def _channel_block(torch, clock: _Clock, device: str, dtype: str, work: str,
                   alignment: tuple[tuple[float, ...], tuple[float, ...]] | None = None) -> int:
    """The block of output channels `work`'s kernel computes together here (`block_of`), from its
    BLOCKED synthetic layer at BLOCK_BASE + 1 and BLOCK_BASE + each of BLOCKS output channels,
    run in turn (`_Clock.in_turn`), each at the fastest of its runs; a grouped one's times at the
    rate of an aligned one, by `alignment` (`_alignment`): 72 depthwise channels take twice as
    long as 80 by their alignment, not by a block of 64. Each run apart, one after the
    other, a moment the machine was slower while 65 channels ran once found a block of 64 for 3×3
    convolutions, where 65 and 80 channels take as long and 96 longer (docs/latency-passes.md)."""
    outs = (BLOCK_BASE + 1, *(BLOCK_BASE + block for block in BLOCKS))
    layers, shares = [], []
    for out in outs:
        kind, fields, shape = BLOCKED[work](out)
        layers.append(_built(torch, device, dtype, synthetic_graph(kind, fields, shape), (BATCH[device], *shape)))
        grouped = fields.get("groups", 1) > 1 and alignment is not None
        shares.append(share_at(*alignment, power_of_two_in(out)) if grouped else 1.0)
    with torch.no_grad():
        times = clock.in_turn(layers, BUDGET_S * GRID_SHARE * len(outs))
    return block_of({out: min(taken) * share for out, taken, share in zip(outs, times, shares)})


def block_of(times: dict[int, float]) -> int:
    """The block of output channels a kernel computes together, from its times at BLOCK_BASE + 1
    and BLOCK_BASE + each of BLOCKS output channels: the largest block up to which each of them
    takes no longer than BLOCK_BASE + 1 did, within half of what the half-as-large block would add
    (with a block of 16, 65 channels take as long as 80: the time of 80 is measured; with one of 8,
    80 would take 80/72 of 72's). 1 where even the smallest adds more."""
    found, once = 1, times[BLOCK_BASE + 1]
    for block in BLOCKS:
        within = 1 + ((BLOCK_BASE + block) / (BLOCK_BASE + block / 2) - 1) / 2
        if times[BLOCK_BASE + block] > within * once:
            break
        found = block
    return found


def _efficiency(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str, kind: str, fields: dict,
                shape: tuple[int, ...], budget: float | None = None, determined: float = 0,
                statistic: Callable[[list[float]], float] = statistics.median) -> float | None:
    """The fraction of its roofline (its own fixed cost apart) one synthetic layer reaches, at
    the `statistic` of its times; None where that is under `determined` times the fixed cost."""
    from archcalc.analysis import analyze_graph
    from archcalc.roofline import roofline

    graph = synthetic_graph(kind, fields, shape)
    stats = analyze_graph(graph, batch=BATCH[device], dtype=dtype)
    layer = roofline(stats, base, dtype).layers[0]
    module, x = _built(torch, device, dtype, graph, stats.input_shape)
    with torch.no_grad():
        took = statistic(clock.as_in_a_model(module, x, budget))
    fixed = layer.fixed
    if took < determined * fixed:
        return None
    own = took - fixed
    return max(layer.compute_time, layer.memory_time) / (own if own > 0 else took)


def _run_here(measure: Callable[[], object]) -> object | None:
    """What `measure` gives, or None where torch has no kernel for it here (NotImplementedError: on
    the CPU, torch 2.13 runs no float16 or bfloat16 avg_pool3d, and a profile in those dtypes ended
    in a traceback at its last step, its minutes of measuring lost). Any other error stands."""
    try:
        return measure()
    except NotImplementedError:
        return None


def _pooling_rate(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str, operation: str) -> PoolingRate:
    """The ns an output and a tap of one window pooling (one of POOLINGS): its median time as in a
    model (`_Clock.as_in_a_model`), the pooling's fixed cost taken off, over its outputs, at each
    of POOLING_WINDOWS; the line through the two in the taps of the window, never falling (where
    the window of more taps took less an output, none a tap and their mean an output)."""
    from archcalc.analysis import analyze_graph

    kind, axes = operation.replace("_", ""), int(operation[-2])
    points = []
    for window in POOLING_WINDOWS:
        graph = synthetic_graph(kind, window, POOLING_MAPS[axes])
        stats = analyze_graph(graph, batch=BATCH[device], dtype=dtype)
        node, out = graph.nodes[0], stats.layers[0].shape
        pooled = node.kind.pooled(node.attrs, [stats.input_shape], out)
        module, x = _built(torch, device, dtype, graph, stats.input_shape)
        with torch.no_grad():
            took = statistics.median(clock.as_in_a_model(module, x))
        points.append((pooled.taps, max(took - base.fixed("pooling"), 0.0) * 1e9 / pooled.outputs))
    (fewer, first), (more, second) = points
    tap = max((second - first) / (more - fewer), 0.0)
    return PoolingRate(round(max(statistics.mean(ns - tap * taps for taps, ns in points), 0.0), 4), round(tap, 4))


def _size_table(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str, work: str) -> SizeTable:
    """The efficiency of one kind of work at every point of the grid WIDTHS × SIDES (`_grid`), and
    where it is measured grouped (GROUPED) at every groups of GROUPS too, where it is measured
    by its kernel (TAPPED) at every kernel of KERNELS, where it is measured as a temporal
    convolution (TEMPORAL), as one, where it is measured strided (STRIDED, STRIDED_GROUPED), so, and on the CPU
    for dense convolutions (NATIVE) on torch's own kernel, with the largest input it runs there."""
    def grid(groups: int, layers: dict = GROUPED) -> tuple[tuple[float, ...], ...]:
        return _grid(torch, clock, device, base, dtype,
                     lambda width, side: layers[work](width, side, groups) if width * groups <= WIDTHS[-1] else None)

    def tapped_grid(kernel: int) -> tuple[tuple[float, ...], ...]:
        return _grid(torch, clock, device, base, dtype, lambda width, side: TAPPED[work](width, side, kernel))

    batch = BATCH[device]
    dense = _grid(torch, clock, device, base, dtype, SIZED[work])
    native_up_to = _native_up_to(torch) if device == "cpu" and work == NATIVE else None
    native = _natively(torch, lambda: _grid(torch, clock, device, replace(base, onednn_fixed_us=0.0), dtype,
                                            SIZED[work])) if native_up_to else ()
    grouped = tuple(map(grid, GROUPS)) if work in GROUPED else ()
    strided_grouped = tuple(grid(groups, STRIDED_GROUPED) for groups in GROUPS) if work in STRIDED_GROUPED else ()
    tapped = tuple(map(tapped_grid, KERNELS[work])) if work in TAPPED else ()
    temporal, strided = (_grid(torch, clock, device, base, dtype, grids[work]) if work in grids else ()
                         for grids in (TEMPORAL, STRIDED))
    return SizeTable(tuple(map(float, WIDTHS)), tuple(float(batch * side * side) for side in SIDES), dense,
                     tuple(map(float, GROUPS)) if grouped else (), grouped,
                     tuple(float(kernel * kernel) for kernel in (SIZED_KERNEL, *KERNELS[work])) if tapped else (), tapped,
                     temporal, strided, native_up_to=float(native_up_to or 0), native=native,
                     strided_grouped=strided_grouped)


NATIVE = "conv"
NATIVE_SEARCHED = 2**20
"""The kind of work whose table has a grid on torch's own kernel (`native`), on the CPU, and the
largest input (N·C·H·W) searched for the largest one torch runs on it (`_native_up_to`)."""


def _native_up_to(torch) -> int | None:
    """The largest N·C·H·W of a 3×3 convolution's input, at batch 1, that torch runs on its own
    kernel on the CPU rather than oneDNN's, asked of torch (`torch._C._select_conv_backend`) by
    halving from 1 to NATIVE_SEARCHED: 20,480 in torch 2.13 (aten's use_mkldnn); None where torch
    does not say, or where it runs them all on one kernel."""
    select = getattr(torch._C, "_select_conv_backend", None)
    if select is None:
        return None
    weight = torch.empty(1, 1, 3, 3)

    def native(size: int) -> bool:
        return "mkldnn" not in str(select(torch.empty(1, 1, size, 1), weight, None, [1, 1], [1, 1], [1, 1],
                                          False, [0, 0], 1, None)).lower()
    try:
        if not native(1) or native(NATIVE_SEARCHED):
            return None
    except Exception:  # noqa: BLE001 - a private function of torch's: answering otherwise, no grid rather than no profile
        return None
    native_at, beyond = 1, NATIVE_SEARCHED
    while beyond - native_at > 1:
        middle = (native_at + beyond) // 2
        native_at, beyond = (middle, beyond) if native(middle) else (native_at, middle)
    return native_at


def _natively(torch, measure: Callable[[], tuple]) -> tuple:
    """What `measure` gives with torch's oneDNN kernels turned off: on its own kernels."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch warns that oneDNN's TF32 is for Intel GPUs when its flags are set
        with torch.backends.mkldnn.flags(enabled=False):
            return measure()


def _grid(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str,
          layer: Callable[[int, int], tuple[str, dict, tuple[int, ...]] | None]) -> tuple[tuple[float, ...], ...]:
    """The efficiency of a synthetic layer at every width of WIDTHS and side of SIDES, measured
    where it is within GRID_MACS and determined, else filled in (`_filled`); None from `layer`: a
    point beyond the grid's widest channels. Each point is briefly run, at the fastest of its runs:
    the least disturbed, and far more alike from one profile to the next than the median of so few
    (docs/latency.md)."""
    batch = BATCH[device]
    return _filled([[_point(torch, clock, device, base, dtype, batch, layer(width, side)) for side in SIDES]
                    for width in WIDTHS])


def _point(torch, clock: _Clock, device: str, base: DeviceProfile, dtype: str, batch: int,
           layer: tuple[str, dict, tuple[int, ...]] | None) -> float | str:
    """One point of a grid: its efficiency, or OVER or UNDER (`_filled`)."""
    from archcalc.analysis import analyze_graph

    if layer is None:
        return OVER
    kind, fields, shape = layer
    stats = analyze_graph(synthetic_graph(kind, fields, shape), batch=batch, dtype=dtype)
    if _over_the_grid(stats, device, slower(base, dtype)):
        return OVER
    reached = _efficiency(torch, clock, device, base, dtype, kind, fields, shape, BUDGET_S * GRID_SHARE, DETERMINED, min)
    return UNDER if reached is None else reached


def _over_the_grid(stats: ModelStats, device: str, times_slower: float = 1.0) -> bool:
    """Whether a synthetic layer is beyond what a point of the grid runs: more MACs than GRID_MACS
    over `times_slower` (the dtype's GEMMs against float32's: `slower`), or an input or output of more than GRID_BYTES (a depthwise
    convolution of 4096 channels on 224×224 at a GPU's batch of 32 holds 26 GB a tensor, beyond
    many a GPU's memory)."""
    largest = max(numel(stats.input_shape) * DTYPE_BYTES[stats.dtype],
                  *(layer.figures.activation_bytes for layer in stats.layers))
    return stats.totals.macs > GRID_MACS[device] / times_slower or largest > GRID_BYTES


def slower(base: DeviceProfile, dtype: str) -> float:
    """How many times slower than float32's the GEMMs of `dtype` ran on `base`'s device (1 where as
    fast or faster): GRID_MACS is a time's MACs in float32, and on this project's CPU float16 ran
    60 times slower than float32 (torch 2.13): a point of 7.4·10⁹ MACs, a 3×3 convolution of 128
    channels on 224×224, took 114 s to measure, and the grids would have taken hours."""
    peaks = base.peak_tflops
    return max(peaks.get("float32", peaks[dtype]) / peaks[dtype], 1.0)


OVER, UNDER = "over", "under"
"""A point of the grid not measured: over GRID_MACS, or under DETERMINED times its fixed cost."""


def _filled(grid: list[list[float | str]]) -> tuple[tuple[float, ...], ...]:
    """The grid (a row per width, a column per positions) with each point not measured given a
    measured one's efficiency, to 4 significant digits: a point OVER the MACs, the widest measured
    point of its positions below it (a kernel nears its best as it widens); a point UNDER its fixed
    cost, the measured point of its width at the fewest positions beyond it (where its own time
    begins to show). Else the nearest measured point (in steps of the grid; of two as near, the
    one further along the grid, its steps of width and of positions added, then the wider); a
    grid with none measured: 1."""
    measured = {(i, j) for i, row in enumerate(grid) for j, value in enumerate(row) if not isinstance(value, str)}

    def taken(i: int, j: int) -> float:
        value = grid[i][j]
        if not isinstance(value, str):
            return value
        along = [(k, j) for k in range(i - 1, -1, -1)] if value == OVER else [(i, k) for k in range(j + 1, len(grid[i]))]
        found = next((point for point in along if point in measured), None) or min(
            measured, key=lambda point: (abs(point[0] - i) + abs(point[1] - j), -point[0] - point[1], -point[0]))
        return grid[found[0]][found[1]]

    if not measured:
        return tuple(tuple(1.0 for _ in row) for row in grid)
    return tuple(tuple(max(float(f"{taken(i, j):.4g}"), 1e-6) for j in range(len(row))) for i, row in enumerate(grid))
