"""The roofline (archcalc.roofline, docs/latency.md): bytes and FLOPs per layer against the built
torch model, the arithmetic against a hand computation from the profile file's own figures, the
profile files and their errors, and the columns `table --device-profile` adds."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from archcalc.analysis import analyze, analyze_graph
from archcalc.devices import BUNDLED, DeviceProfile, SizeTable, bundled_profiles, load_profile
from archcalc.errors import UserError
from archcalc.layers import LAYER_KINDS
from archcalc.layers.base import POOLINGS, WorkSize
from archcalc.roofline import roofline

ROOT = Path(__file__).resolve().parents[1]
PROFILES = yaml.safe_load(BUNDLED.read_text(encoding="utf-8"))["devices"]
"""The bundled profile file as YAML reads it: the figures the hand computations start from."""


# --- against torch -------------------------------------------------------------------------------

def _torch_reference(model_name: str, dtype: str, input: str | None = None):
    """For each leaf module of the built model, run once: the bytes of the tensors its forward
    reads (the inputs it is given, its parameters and floating-point buffers) and writes (its
    output), FlopCounterMode's FLOPs, and whether any aten operation it runs is more than a view
    (a kernel): seen by a dispatch mode around every operation."""
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.analysis import input_shape
    from archcalc.torchmodel import build_torch

    kind = getattr(torch, dtype)
    model = build_torch(model_name, input=input).eval().to(kind)
    stats = analyze(model_name, input=input)
    x = torch.randn(stats.input_shape).to(kind)
    current = [None]
    kernels: dict[str, bool] = defaultdict(bool)

    class Operations(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            returns = func._schema.returns
            view = bool(returns) and all(r.alias_info is not None and not r.alias_info.is_write for r in returns)
            kernels[current[0]] |= not view
            return func(*args, **(kwargs or {}))

    moved: dict[str, int] = {}
    leaves = {name: module for name, module in model.named_modules() if name and not list(module.children())}

    def before(name):
        return lambda module, args: current.__setitem__(0, name)

    def after(name):
        def hook(module, args, out):
            def size(tensor):
                return tensor.numel() * tensor.element_size()

            weights = [*module.parameters(), *(b for b in module.buffers() if b.is_floating_point())]
            moved[name] = sum(size(t) for t in args if isinstance(t, torch.Tensor)) \
                + sum(map(size, weights)) + size(out)
        return hook

    for name, module in leaves.items():
        module.register_forward_pre_hook(before(name))
        module.register_forward_hook(after(name))
    with torch.no_grad(), Operations():
        model(x)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    top = type(model).__name__ + "."  # FlopCounterMode names a module by its path under the model's class
    flops = {name.removeprefix(top): sum(counts.values()) for name, counts in counter.get_flop_counts().items()}
    assert input_shape  # the analysis and the build saw the same input
    return leaves, moved, dict(kernels), flops


@pytest.mark.parametrize(("model", "dtype"), [("resnet18", "float32"), ("mobilenet_v2", "bfloat16")])
def test_bytes_flops_and_kernels_per_layer_are_torchs(model, dtype):
    """Every layer that runs a kernel moves the bytes of the real tensors its module reads and
    writes, in the model's dtype; a layer that runs only views (flatten) or returns its input
    (dropout at inference) runs none and moves nothing; the FLOPs are FlopCounterMode's."""
    leaves, moved, kernels, flops = _torch_reference(model, dtype)
    roof = roofline(analyze(model, dtype=dtype), "h200")
    assert [layer.name for layer in roof.layers] == list(leaves)
    for layer in roof.layers:
        assert layer.launches == kernels.get(layer.name, False), layer.name
        assert layer.bytes == (moved[layer.name] if layer.launches else 0), layer.name
        assert layer.flops == flops.get(layer.name, 0), layer.name
    assert {layer.kind for layer in roof.layers if not layer.launches} >= {"flatten"}


def test_a_view_an_identity_and_an_in_place_activation_against_torch(write_spec):
    """Each layer kind's `launches` against what torch runs: permute and flatten views, identity
    and dropout the input itself (no operation), an in-place ReLU an operation on its input. (A
    flatten of a map torch keeps channels-last, behind a permute back to N, C, H, W, copies it:
    archcalc counts a view there, docs/latency.md.)"""
    path = write_spec("""
        name: views
        input: [8, 6, 6]
        layers:
          - conv: {kind: conv2d, out: 8, kernel: 3, padding: 1}
          - relu: {kind: relu, inplace: true}
          - same: identity
          - drop: {kind: dropout, p: 0.2}
          - pool: {kind: avgpool2d, kernel: 2}
          - flat: flatten
          - fc: {kind: linear, out: 4}
          - last: {kind: permute, dims: [1, 0]}
          - norm: layer_norm
          - back: {kind: permute, dims: [1, 0]}
    """)
    leaves, moved, kernels, _ = _torch_reference(str(path), "float32")
    roof = roofline(analyze(path), "a100-80gb")
    assert {layer.name: layer.launches for layer in roof.layers} == \
        {name: kernels.get(name, False) for name in leaves}
    assert [layer.name for layer in roof.layers if not layer.launches] == ["same", "drop", "flat", "last", "back"]
    for layer in roof.layers:
        assert layer.bytes == (moved[layer.name] if layer.launches else 0), layer.name


# --- the arithmetic, by hand from the profile file -------------------------------------------------

def test_two_layers_of_resnet50_on_the_h200_by_hand():
    """conv1 (7×7, 3 → 64, stride 2, on 224×224) is memory-bound in bfloat16 on the H200, the
    3×3 convolution of layer1.0 (64 → 64 on 56×56) compute-bound: each figure worked out here from
    the shapes and from the numbers written in archcalc/devices.yaml."""
    h200 = PROFILES["h200"]
    peak, bandwidth, launch = h200["peak_tflops"]["bfloat16"] * 1e12, h200["memory_gbps"] * 1e9, h200["launch_us"] / 1e6
    layers = roofline(analyze("resnet50", dtype="bfloat16"), "h200").by_name()

    conv1 = layers["conv1"]
    flops = 2 * (64 * 112 * 112) * (3 * 7 * 7)  # 2 per MAC: each output element, 3·7·7 MACs
    moved = (3 * 224 * 224 + 64 * 3 * 7 * 7 + 64 * 112 * 112) * 2  # input, weight (no bias), output, 2 bytes each
    assert (conv1.flops, conv1.bytes) == (flops, moved) == (236_027_904, 1_925_504)
    assert conv1.bound == "memory" and flops / peak < moved / bandwidth
    assert conv1.time == moved / bandwidth + launch
    assert conv1.intensity == flops / moved

    conv2 = layers["layer1.0.conv2"]
    flops = 2 * (64 * 56 * 56) * (64 * 3 * 3)
    moved = (64 * 56 * 56 + 64 * 64 * 3 * 3 + 64 * 56 * 56) * 2
    assert (conv2.flops, conv2.bytes) == (flops, moved) == (231_211_008, 876_544)
    assert conv2.bound == "compute"
    assert conv2.time == flops / peak + launch


def test_a_small_model_summed_by_hand(write_spec):
    """The model's predicted latency is its layers' times one after another; a flatten costs
    nothing. T4 in float16, figures from archcalc/devices.yaml."""
    t4 = PROFILES["t4"]
    peak, bandwidth, launch = t4["peak_tflops"]["float16"] * 1e12, t4["memory_gbps"] * 1e9, t4["launch_us"] / 1e6
    path = write_spec("""
        name: small
        input: [16, 32, 32]
        layers:
          - conv: {kind: conv2d, out: 32, kernel: 3, padding: 1}
          - relu: relu
          - flat: flatten
          - fc: {kind: linear, out: 10}
    """)
    roof = roofline(analyze(path, dtype="float16"), "t4")
    conv = max(2 * 32 * 32 * 32 * 16 * 9 / peak, (16 * 32 * 32 + 32 * 16 * 9 + 32 + 32 * 32 * 32) * 2 / bandwidth)
    relu = 2 * (32 * 32 * 32) * 2 / bandwidth
    fc = max(2 * 32 * 32 * 32 * 10 / peak, (32 * 32 * 32 + 32 * 32 * 32 * 10 + 10 + 10) * 2 / bandwidth)
    assert [layer.time for layer in roof.layers] == [conv + launch, relu + launch, 0.0, fc + launch]
    assert roof.total == (conv + launch) + (relu + launch) + 0.0 + (fc + launch)
    assert roof.grouped()["flat"].bound == "none"


SMALL = """
    name: small
    input: [3, 8, 8]
    layers:
      - conv: {kind: conv2d, out: 4, kernel: 3, padding: 1}
      - bn: batchnorm2d
      - relu: relu
      - pool: {kind: maxpool2d, kernel: 2}
      - gap: {kind: adaptive_avgpool2d, output_size: 1}
      - flat: flatten
      - fc: {kind: linear, out: 5}
      - sig: sigmoid
"""
SMALL_BY_HAND = {  # name: (elements read and written, its input's, weights' and buffers', output's; FLOPs)
    "conv": (3 * 8 * 8 + (4 * 3 * 3 * 3 + 4) + 4 * 8 * 8, 2 * (4 * 8 * 8) * (3 * 3 * 3)),
    "bn": (4 * 8 * 8 + (4 + 4) + (4 + 4) + 4 * 8 * 8, 0),  # scale, shift, running mean and variance (no counter)
    "relu": (4 * 8 * 8 + 4 * 8 * 8, 0),
    "pool": (4 * 8 * 8 + 4 * 4 * 4, 0),
    "gap": (4 * 4 * 4 + 4, 0),
    "flat": (0, 0),  # a view: no kernel
    "fc": (4 + (5 * 4 + 5) + 5, 2 * 5 * 4),
    "sig": (5 + 5, 0),
}


@pytest.mark.parametrize(("dtype", "itemsize"), [("float32", 4), ("float16", 2), ("bfloat16", 2), ("float64", 8),
                                                 ("int8", 1)])
def test_a_small_model_by_hand_in_every_dtype_and_format(cli, write_spec, tmp_path, dtype, itemsize):
    """Each layer's bytes (at --dtype), FLOPs, intensity, bound and time worked out here from the
    spec and a made-up profile (1, 2, 3, 4 and 5 TFLOP/s by dtype, 100 GB/s, 2 µs launch), against
    the table in JSON, CSV, text and markdown, and archcalc report's stages."""
    peaks = {"float32": 1, "float16": 2, "bfloat16": 3, "float64": 4, "int8": 5}
    profile = _made_up(tmp_path, "hand", {"name": "By hand", "peak_tflops": peaks, "memory_gbps": 100, "launch_us": 2})
    spec = write_spec(SMALL)
    peak, bandwidth, launch = peaks[dtype] * 1e12, 100e9, 2e-6
    expected = {}
    for name, (elements, flops) in SMALL_BY_HAND.items():
        moved = elements * itemsize
        if not moved:
            expected[name] = (flops, moved, None, "none", 0.0)
            continue
        bound = "compute" if flops / peak > moved / bandwidth else "memory"
        expected[name] = (flops, moved, flops / moved, bound, max(flops / peak, moved / bandwidth) + launch)
    total = sum(time for *_, time in expected.values())
    common = ("table", spec, "--device-profile", profile, "--dtype", dtype)

    def same(got: tuple, want: tuple) -> bool:
        """flops, bytes and bound equal; intensity (None where nothing moves) and time to rounding."""
        return got[0] == want[0] and got[1] == want[1] and got[3] == want[3] and \
            (got[2] is None) == (want[2] is None) and (want[2] is None or got[2] == pytest.approx(want[2], rel=1e-12)) \
            and got[4] == pytest.approx(want[4], rel=1e-12)

    document = json.loads(cli(*common, "--format", "json").stdout)
    assert [row["name"] for row in document["rows"]] == list(expected)
    for row in document["rows"]:
        assert list(row["roofline"]) == ["flops", "bytes", "intensity", "bound", "time_s"]
        assert same(tuple(row["roofline"].values()), expected[row["name"]]), (row, expected[row["name"]])
    assert document["roofline"]["time_s"] == pytest.approx(total, rel=1e-12)
    rows = list(csv.DictReader(io.StringIO(cli(*common, "--format", "csv").stdout)))
    assert [row["name"] for row in rows] == [*expected, "total"]
    for row in rows[:-1]:
        got = (int(row["roofline_flops"]), int(row["bytes"]), float(row["intensity"]) if row["intensity"] else None,
               row["bound"], float(row["time_s"]))
        assert same(got, expected[row["name"]]), (row, expected[row["name"]])
    assert float(rows[-1]["time_s"]) == pytest.approx(total, rel=1e-12)

    def row_of(text: str, name: str, column: int, markdown: bool) -> list[str]:
        """The cells of the row whose `column` is `name`: a markdown table's, or a text table's words."""
        rows = [[cell.strip() for cell in line.split("|")[1:-1]] if markdown else line.split()
                for line in text.splitlines() if line.startswith("|") == markdown]
        [row] = [row for row in rows if len(row) > column and row[column] == name]
        return row

    text, markdown = cli(*common).stdout, cli(*common, "--format", "markdown").stdout
    report = cli("report", spec, "--device-profile", profile, "--dtype", dtype).stdout
    stages = report.split("## Stages", 1)[1].split("\n## ", 1)[0]
    for name, (_, _, intensity, bound, time) in expected.items():
        shown = [("—" if intensity is None else "0" if not intensity else f"{intensity:.1f}"), bound,
                 "0" if not time else f"{time * 1e6:#.3g} µs"]
        words = " ".join(shown).split()  # a time of '2.00 µs' is two words, of '0' one
        assert row_of(text, name, 1, False)[-len(words):] == words, name
        assert row_of(markdown, name, 1, True)[-3:] == shown, name
        assert row_of(stages, name, 0, True)[-4:-1] == shown, name


def _made_up(tmp_path: Path, key: str, figures: dict) -> Path:
    """A profile file of one profile, `key`, of `figures` (its name and figures), each figure's
    source 'made up'."""
    path = tmp_path / f"{key}.yaml"
    sources = dict.fromkeys((figure for figure in figures if figure != "name"), "made up")
    path.write_text(yaml.safe_dump({"schema": "archcalc.devices/1", "devices": {key: {**figures, "sources": sources}}}),
                    encoding="utf-8")
    return path


def _with_conv_table(tmp_path: Path, key: str, name: str, table: dict, **figures):
    """A made-up profile, loaded, of 10 TFLOP/s, 100 GB/s and no launch cost, whose table of conv
    by size is `table` (and whose other figures are `figures`)."""
    return load_profile(str(_made_up(tmp_path, key, {
        "name": name, "peak_tflops": {"float32": 10}, "memory_gbps": 100, "launch_us": 0, **figures,
        "efficiency_by_size": {"conv": table}})))


def _between_taps(taps: int) -> float:
    """By hand: the fraction at `taps` between a reached of 0.5 at 9 taps and a grid of 0.8 at 49,
    interpolated in the logarithm of the taps."""
    return 0.5 * (0.8 / 0.5) ** (math.log(taps / 9) / math.log(49 / 9))


def _assert_divided(sized: dict, plain: dict, reached: dict[str, float]) -> None:
    """Each named layer's time is its time at the bare roofline over its fraction reached."""
    for name, fraction in reached.items():
        assert sized[name].time == pytest.approx(plain[name].time / fraction, rel=1e-12), name


def test_efficiencies_divide_the_roofline_and_blocks_sum_their_layers(tmp_path):
    profile = _made_up(tmp_path, "slow", {
        "name": "a device at a tenth of its memory roofline on depthwise convolutions",
        "peak_tflops": {"float32": 10}, "memory_gbps": 100, "launch_us": 0,
        "efficiency": {"depthwise_conv": 0.1}})
    stats = analyze("mobilenet_v2")
    plain = roofline(stats, replace(load_profile(str(profile)), efficiency={}))
    slow = roofline(stats, str(profile))
    for fast, tenth in zip(plain.layers, slow.layers):
        assert tenth.time == (fast.time / 0.1 if tenth.work == "depthwise_conv" else fast.time)
    assert {layer.work for layer in slow.layers} >= {"depthwise_conv", "pointwise_conv", "conv", "linear", "memory"}
    blocks = slow.grouped(1)
    assert blocks["block2"].time == sum(layer.time for layer in slow.layers if layer.name.startswith("block2."))
    assert sum(block.time for block in blocks.values()) == pytest.approx(slow.total, rel=1e-12)  # summed in another order


SIZES = """
    name: sizes
    input: [16, 8, 8]
    layers:
      - grid: {kind: conv2d, out: 16, kernel: 3, padding: 1}      # width 16, 64 positions: a point of the table
      - between: {kind: conv2d, out: 64, kernel: 3, padding: 1}   # width √(16·64) = 32, halfway to 64 in logs
      - grouped: {kind: conv2d, out: 64, kernel: 3, padding: 1, groups: 4}  # width 64 / 4 = 16
      - strided: {kind: conv2d, out: 64, kernel: 3, stride: 2, padding: 1, groups: 4}  # 16 positions: under the edge
      - wide: {kind: conv2d, out: 4096, kernel: 1}                # width 512: past the edge
      - act: relu                                                 # memory: no table, its kind's efficiency
      - depthwise: {kind: conv2d, out: 4096, kernel: 3, padding: 1, groups: 4096}  # a depthwise: no table here
"""


def test_efficiencies_by_size_are_interpolated_at_each_layers_width_and_positions(write_spec, tmp_path):
    """By hand: a table of conv at widths 16 and 64 and positions 64 and 256; between two points
    the fraction is interpolated in logarithms (the geometric mean halfway), beyond an edge it is
    the edge's, and a kind of work without a table keeps its own efficiency."""
    profile = _made_up(tmp_path, "sized", {
        "name": "a device whose convolutions are faster when wide and long",
        "peak_tflops": {"float32": 10}, "memory_gbps": 100, "launch_us": 0,
        "efficiency": {"memory": 0.5, "conv": 0.9},
        "efficiency_by_size": {"conv": {"widths": [16, 64], "positions": [64, 256],
                                        "reached": [[0.5, 0.8], [0.2, 0.4]]},
                               "pointwise_conv": {"widths": [8], "positions": [1, 1000], "reached": [[0.25, 0.25]]}}})
    stats = analyze(write_spec(SIZES))
    plain = roofline(stats, replace(load_profile(str(profile)), efficiency={}, efficiency_by_size={})).by_name()
    sized = roofline(stats, str(profile)).by_name()
    reached = {"grid": 0.5, "between": (0.5 * 0.2) ** 0.5, "grouped": 0.5, "strided": 0.5, "wide": 0.25, "act": 0.5,
               "depthwise": 1.0}
    for name, fraction in reached.items():
        assert sized[name].time == pytest.approx(plain[name].time / fraction, rel=1e-12), name


def test_a_grouped_convolution_reads_the_grid_of_its_groups(write_spec, tmp_path):
    """By hand: a table of conv with grids for 2 and 8 groups. A convolution of 4 groups takes
    the geometric mean of the two (halfway in the logarithm of its groups), one of 16 the grid of 8
    (the edge's), a dense one the dense grid, a depthwise one its own kind's efficiency; a profile
    whose table gives no groups reads them all on its dense grid (as profiles measured before)."""
    table = {"widths": [16, 64], "positions": [64, 256], "reached": [[0.5, 0.5], [0.5, 0.5]],
             "groups": [2, 8], "grouped": [[[0.2, 0.2], [0.2, 0.2]], [[0.8, 0.8], [0.8, 0.8]]]}
    loaded = _with_conv_table(tmp_path, "grouped", "a device whose grouped convolutions run faster with more groups",
                              table, efficiency={"depthwise_conv": 0.3})
    stats = analyze(write_spec("""
name: grouped
input: [64, 8, 8]
layers:
  - dense: {kind: conv2d, out: 64, kernel: 3, padding: 1}
  - four: {kind: conv2d, out: 64, kernel: 3, padding: 1, groups: 4}
  - sixteen: {kind: conv2d, out: 64, kernel: 3, padding: 1, groups: 16}
  - depthwise: {kind: conv2d, out: 64, kernel: 3, padding: 1, groups: 64}
"""))
    plain = roofline(stats, replace(loaded, efficiency={}, efficiency_by_size={})).by_name()
    for sized, reached in ((roofline(stats, loaded).by_name(), {"dense": 0.5, "four": 0.4, "sixteen": 0.8, "depthwise": 0.3}),
                           (roofline(stats, replace(loaded, efficiency_by_size={"conv": SizeTable(
                               *(tuple(map(float, axis)) for axis in (table["widths"], table["positions"])),
                               tuple(map(tuple, table["reached"])))})).by_name(),
                            {"dense": 0.5, "four": 0.5, "sixteen": 0.5, "depthwise": 0.3})):
        _assert_divided(sized, plain, reached)
    assert load_profile(_written(tmp_path, loaded)).efficiency_by_size == loaded.efficiency_by_size  # as written, as read


def test_a_grouped_or_depthwise_convolution_keeps_the_share_of_its_alignment(write_spec, tmp_path):
    """By hand: a table of conv whose grid of 2 groups reaches 0.8 and whose layers of channels a
    group a multiple of 8 and of no larger power of two keep 0.5 of it (of 4 or fewer: 0.5 too, the
    first share), of 16 all of it; a table of depthwise_conv reaching 0.5, whose layers keep 0.25
    at an alignment of 1, 0.5 at 8, all at 16. 2 groups of 24 or 40 channels take 0.8·0.5; of 16,
    0.8; of 12 (below the grid's 16, the edge's) 0.8·0.5; a dense convolution of 24 channels its
    grid's 0.5, whatever its alignment. Depthwise: 64 or 80 channels 0.5, 72 0.5·0.5, 65 0.5·0.25;
    on a grid of 8 and 64 channels, whose own widths keep 0.5 and 1, 8 channels take the grid's
    0.5 (its row is measured at its alignment), 24 0.5·0.5 over the share the grid's rows about it
    keep in the logarithm of the width (0.5 at 8, 1 at 64: 0.5^(1 − ln 3/ln 8)). Written and read
    back, the table is the same."""
    conv = {"widths": [16, 64], "positions": [1, 10000], "reached": [[0.5, 0.5], [0.5, 0.5]], "groups": [2],
            "grouped": [[[0.8, 0.8], [0.8, 0.8]]], "alignments": [8, 16], "aligned": [0.5, 1]}
    depthwise = {"widths": [64, 128], "positions": [1, 10000], "reached": [[0.5, 0.5], [0.5, 0.5]],
                 "alignments": [1, 8, 16], "aligned": [0.25, 0.5, 1]}
    loaded = _with_conv_table(tmp_path, "aligned", "a device that runs unaligned groups at half their rate", conv)
    loaded = replace(loaded, efficiency_by_size={**loaded.efficiency_by_size, "depthwise_conv": SizeTable(
        *(tuple(map(float, depthwise[key])) for key in ("widths", "positions")),
        tuple(map(tuple, depthwise["reached"])), alignments=(1.0, 8.0, 16.0), aligned=(0.25, 0.5, 1.0))})
    tested = (("of24", 48, 2), ("of40", 80, 2), ("of16", 32, 2), ("of12", 24, 2), ("dense", 24, 1), ("dw64", 64, 64),
              ("dw80", 80, 80), ("dw72", 72, 72), ("dw65", 65, 65))
    layers = "".join(f"  - to{name}: {{kind: conv2d, out: {out}, kernel: 1}}\n"  # its input channels
                     f"  - {name}: {{kind: conv2d, out: {out}, kernel: 3, padding: 1, groups: {groups}}}\n"
                     for name, out, groups in tested)
    stats = analyze(write_spec(f"name: aligned\ninput: [8, 8, 8]\nlayers:\n{layers}"))
    plain = roofline(stats, replace(loaded, efficiency={}, efficiency_by_size={})).by_name()
    _assert_divided(roofline(stats, loaded).by_name(), plain, {
        "of24": 0.4, "of40": 0.4, "of16": 0.8, "of12": 0.4, "dense": 0.5,
        "dw64": 0.5, "dw80": 0.5, "dw72": 0.25, "dw65": 0.125})
    assert load_profile(_written(tmp_path, loaded)).efficiency_by_size == loaded.efficiency_by_size
    edges = SizeTable((8.0, 64.0), (1.0,), ((0.5,), (0.5,)), alignments=(8.0, 64.0), aligned=(0.5, 1.0))
    assert edges.at(WorkSize(8, 1, alignment=8)) == pytest.approx(0.5, rel=1e-12)
    assert edges.at(WorkSize(24, 1, alignment=8)) == pytest.approx(0.5 * 0.5 / 0.5 ** (1 - math.log(3) / math.log(8)),
                                                                   rel=1e-12)
    assert edges.at(WorkSize(24, 1)) == pytest.approx(0.5, rel=1e-12)  # a layer that gives no alignment: the grid's


FLAT_THEN_LINEAR = """
name: small
input: [8, 4, 4]
layers:
  - flat: flatten
  - first: {kind: linear, out: 64}
  - norm: batchnorm1d
  - act: relu
  - second: {kind: linear, out: 64}
  - third: {kind: linear, out: 64}
"""
"""A model of a view, then a linear layer of 128 features to 64, and more."""


def _ten_teraflops(tmp_path: Path, name: str, **figures: float) -> DeviceProfile:
    """A made-up profile `name` of 10 TFLOP/s in float32, 100 GB/s, no launch cost and `figures`."""
    return load_profile(str(_made_up(tmp_path, "made-up", {
        "name": name, "peak_tflops": {"float32": 10}, "memory_gbps": 100, "launch_us": 0, **figures})))


def test_the_models_first_kernel_takes_the_cold_start(write_spec, tmp_path):
    """By hand, on a profile of 10 TFLOP/s, 100 GB/s, no launch cost and a cold start of 2: the
    model's first layer that runs a kernel (after a flatten, a view) takes 2 × its bytes / 100 GB/s
    more; the layers after it, the second of two alike ones included, their roofline; without a
    cold start, every layer its roofline. Written and read back, the cold start is the same."""
    profile = _ten_teraflops(tmp_path, "a device whose first layer finds nothing in its caches", cold_start=2)
    stats = analyze(write_spec(FLAT_THEN_LINEAR))
    warm, cold = (roofline(stats, p).by_name() for p in (replace(profile, cold_start=0.0), profile))
    assert cold["first"].time == pytest.approx(warm["first"].time + 2 * warm["first"].bytes / 100e9, rel=1e-12)
    assert all(cold[name] == warm[name] for name in ("flat", "norm", "act", "second", "third"))
    assert warm["second"].time == warm["third"].time and warm["first"].time == warm["first"].memory_time
    assert load_profile(_written(tmp_path, profile)).cold_start == 2.0


def test_the_cold_start_is_a_layers_time_after_the_caches_are_written_over(monkeypatch, tmp_path):
    """By hand, on made-up times: the synthetic layer takes 1.0 ms as in a model, 1.5 after a
    buffer beyond the caches is written (the fastest of its runs each way), and its bytes take
    0.25 ms at the profile's bandwidth: a cold start of 2; where it runs no longer cold, 0."""
    import archcalc.measure_device as measure
    from archcalc.measure_device import COLD_LAYER, _cold_start

    base = load_profile(str(_made_up(tmp_path, "turns", {
        "name": "a made-up CPU", "peak_tflops": {"float32": 1}, "memory_gbps": 1, "launch_us": 0})))
    stats = analyze_graph(measure.synthetic_graph(*COLD_LAYER), batch=1)
    bandwidth = roofline(stats, base).layers[0].bytes / 0.25e-3
    base = replace(base, memory_gbps=bandwidth / 1e9)
    monkeypatch.setattr(measure, "_built", lambda torch, device, dtype, graph, shape: (graph.nodes[0], shape))
    fake = SimpleNamespace(empty=lambda *args, **kwargs: SimpleNamespace(fill_=lambda value: None), **vars(NO_GRAD))
    for cold_ms, found in ((1.5, 2.0), (0.9, 0.0)):
        clock = SimpleNamespace(as_in_a_model=lambda layer, x: [1.2e-3, 1.0e-3],
                                after=lambda run, before, runs, ms=cold_ms: [ms * 1e-3, 2 * ms * 1e-3])
        assert _cold_start(fake, clock, "cpu", base, "float32") == pytest.approx(found, abs=1e-4)


def test_every_layer_reads_its_weights_cold(write_spec, tmp_path):
    """By hand, on a profile of 10 TFLOP/s, 100 GB/s, no launch cost and cold weights of 2: each
    layer that runs a kernel takes 2 × its weights' and buffers' bytes / 100 GB/s more, the first
    one too (its cold start, none here, measured beyond them): a linear layer of 128 to 64
    features with its bias (128 × 64 + 64 floats), one of 64 to 64 (64 × 64 + 64), a batch norm of 64 features (its scale, shift,
    running mean and variance: 4 × 64 floats); a ReLU and a flatten read none. Without cold
    weights, every layer its roofline. Written and read back, the cold weights are the same. A
    layer whose weights are more than the largest cache takes none; nor does any layer of a model
    whose whole pass fits it."""
    from archcalc.render.records import roofline_dict

    profile = _ten_teraflops(tmp_path, "a device whose caches hold no layer's weights", cold_weights=2)
    stats = analyze(write_spec(FLAT_THEN_LINEAR))
    warm, cold = (roofline(stats, p).by_name() for p in (replace(profile, cold_weights=0.0), profile))
    for name, floats in (("first", 128 * 64 + 64), ("norm", 4 * 64), ("act", 0), ("flat", 0), ("second", 64 * 64 + 64)):
        assert cold[name].time == pytest.approx(warm[name].time + 2 * floats * 4 / 100e9, rel=1e-12, abs=0), name
        assert cold[name]._replace(time=0) == warm[name]._replace(time=0)  # its bytes and bound as they were
    assert load_profile(_written(tmp_path, profile)).cold_weights == 2.0
    assert roofline_dict(roofline(stats, profile))["cold_weights"] == 2.0  # the JSON's
    # with the largest cache 0.01 MiB (10,485 bytes), the linear layer's 33,024 bytes of weights
    # came from memory on the grid too: it takes none; the batch norm's 1,024 still take theirs
    small = replace(profile, cache_mib=0.01, sources={**profile.sources, "cache_mib": "made up"})
    cached = roofline(stats, small).by_name()
    assert cached["first"] == warm["first"] and cached["norm"] == cold["norm"]
    assert load_profile(_written(tmp_path, small)).cache_mib == 0.01
    assert roofline_dict(roofline(stats, small))["cache_mib"] == 0.01
    # with 1 MiB, the model's whole pass (about 70 KB) stays in it: no layer takes cold weights
    whole = roofline(stats, replace(small, cache_mib=1.0))
    assert whole.by_name() == warm and whole.bytes < 2**20


def test_the_largest_cache_is_what_the_system_says(tmp_path):
    """A CPU's largest data or unified cache of its first core, from Linux's folder of them (the
    AVX-512 machine's: 48 KiB of data and 32 KiB of instructions, 1 MiB and 32 MiB unified); a
    cache whose files cannot be read is left out; none said: 0. A GPU's L2 as torch gives it."""
    from archcalc.measure_device import _cache_mib

    for index, (kind, size) in enumerate((("Data", "48K"), ("Instruction", "32K"), ("Unified", "1024K"),
                                          ("Unified", "32768K"), ("Unified", "7M"))):
        folder = tmp_path / "caches" / f"index{index}"
        folder.mkdir(parents=True)
        (folder / "type").write_text(kind + "\n")
        if index < 4:  # the fifth has no size to read
            (folder / "size").write_text(size + "\n")
    assert _cache_mib(None, "cpu", tmp_path / "caches") == 32.0
    (tmp_path / "none").mkdir()
    assert _cache_mib(None, "cpu", tmp_path / "none") == 0.0
    gpu = SimpleNamespace(cuda=SimpleNamespace(get_device_properties=lambda index: SimpleNamespace(L2_cache_size=50 * 2**20)))
    assert _cache_mib(gpu, "cuda") == 50.0


@pytest.mark.skipif(shutil.which("lscpu") is None or not Path("/sys/devices/system/cpu/cpu0/cache").is_dir(),
                    reason="needs Linux's folder of caches and util-linux's lscpu")
def test_the_largest_cache_of_this_machine_is_lscpus():
    """This machine's largest data or unified cache, as util-linux's lscpu gives each cache's size
    (32 MiB of L3 on the AVX-512 machine)."""
    from archcalc.measure_device import _cache_mib

    listed = subprocess.run(["lscpu", "--caches=TYPE,ONE-SIZE", "--bytes"], capture_output=True, text=True,
                            timeout=30, check=False)
    rows = [line.split() for line in listed.stdout.splitlines()[1:] if line.strip()]
    if listed.returncode or not rows:
        pytest.skip("lscpu lists no caches here")
    assert _cache_mib(None, "cpu") == round(max(int(size) for kind, size in rows if kind != "Instruction") / 2**20, 3)


def test_cold_weights_are_a_chain_of_copies_against_one_layer(monkeypatch, tmp_path):
    """By hand, on made-up times: the synthetic layer takes 1.0 ms as in a model (its fastest run);
    its copies, COPY_BYTES of weights in all, take 1.35, 1.5 or 1.65 ms at their fastest in turn
    (1.5 the median of the copies), and its weights take 0.25 ms at the profile's bandwidth: cold weights of
    2; where the copies run no longer, 0. The cold start is then measured beyond them."""
    import archcalc.measure_device as measure
    from archcalc.measure_device import COLD_LAYER, COPY_BYTES, WEIGHTS_LAYER, _cold_start, _cold_weights

    graph = measure.synthetic_graph(*WEIGHTS_LAYER)
    weights = (1024 * 256 + 256) * 4  # a linear layer of 1,024 to 256 features and its bias, in float32
    base = load_profile(str(_made_up(tmp_path, "chain", {
        "name": "a made-up CPU", "peak_tflops": {"float32": 1}, "memory_gbps": weights / 0.25e-3 / 1e9,
        "launch_us": 0})))
    monkeypatch.setattr(measure, "_built", lambda torch, device, dtype, graph, shape: (graph.nodes[0], shape))
    chains = []
    for chain_ms, found in ((1.5, 2.0), (0.9, 0.0)):
        clock = SimpleNamespace(as_in_a_model=lambda layer, x: [1.2e-3, 1.0e-3],
                                in_turn=lambda layers, budget, ms=chain_ms: chains.append(layers) or [
                                    [5e-3, ms * 1e-3 * (1 + (index % 3 - 1) / 10)] for index in range(len(layers))])
        assert _cold_weights(NO_GRAD, clock, "cpu", base, "float32") == pytest.approx(found, abs=1e-4)
    assert {len(layers) for layers in chains} == {COPY_BYTES["cpu"] // weights}
    assert graph.nodes[0].kind.weights_read(graph.nodes[0].attrs, [(1, 1024)], 4) == weights
    # the cold start of COLD_LAYER (1.5 ms after the caches are written over, 1.0 as in a model,
    # its bytes 0.25 ms at the bandwidth): 2 less its weights read cold
    stats = analyze_graph(measure.synthetic_graph(*COLD_LAYER), batch=1)
    layer_bytes = roofline(stats, base).layers[0].bytes
    cold_base = replace(base, memory_gbps=layer_bytes / 0.25e-3 / 1e9, cold_weights=3.0)
    fake = SimpleNamespace(empty=lambda *args, **kwargs: SimpleNamespace(fill_=lambda value: None), **vars(NO_GRAD))
    clock = SimpleNamespace(as_in_a_model=lambda layer, x: [1.0e-3], after=lambda run, before, runs: [1.5e-3])
    cold_weights = 3.0 * 64 * 64 * 9 * 4 / (layer_bytes / 0.25e-3)  # its 64 × 64 × 3 × 3 weights, no bias
    assert _cold_start(fake, clock, "cpu", cold_base, "float32") == pytest.approx(
        (0.5e-3 - cold_weights) / 0.25e-3, abs=1e-4)


@pytest.mark.parametrize("size, outputs, kernel, stride, padding, dilation, reading", [
    (4, 4, 3, 1, 1, 1, 10 / 12),   # o - 1 + t: tap 0 reads for o = 1..3, tap 1 for all four, tap 2 for o = 0..2
    (4, 4, 3, 1, 2, 2, 8 / 12),    # o - 2 + 2t: taps 0 and 2 read for two outputs each, tap 1 for four
    (64, 64, 3, 1, 16, 16, 160 / 192),  # the context module's dilation of 16: 48 + 64 + 48 of 3 × 64
    (6, 4, 3, 1, 0, 1, 1.0),       # unpadded: every tap reads
    (8, 4, 3, 2, 1, 1, 11 / 12),   # 2o - 1 + t: only tap 0 of o = 0 falls in the padding
    (28, 28, 3, 1, 36, 36, 28 / 84),  # DeepLab's widest rate on 28 units: only the middle tap reads
])
def test_the_taps_that_read_the_input_are_counted_by_hand(size, outputs, kernel, stride, padding, dilation, reading):
    from archcalc.layers.conv import taps_reading

    assert taps_reading(size, outputs, kernel, stride, padding, dilation) == pytest.approx(reading, rel=1e-12)


def test_the_taps_in_the_padding_are_counted_as_one_by_one():
    """Against counting every tap of every output one by one, over sizes, kernels, strides,
    paddings and dilations small enough to count, with the outputs torch gives (and one fewer: an
    unequal padding on the right): the sums at once agree."""
    import random

    from archcalc.layers.conv import taps_outside

    rng = random.Random(21)
    for _ in range(3000):
        size, kernel, stride = rng.randint(1, 40), rng.randint(1, 9), rng.randint(1, 4)
        dilation, padding = rng.randint(1, 12), rng.randint(0, 40)
        span = size + 2 * padding - dilation * (kernel - 1)
        for outputs in {(span - 1) // stride + 1, (span - 1) // stride} - {0} if span >= 1 else ():
            counted = sum(not 0 <= o * stride - padding + t * dilation < size
                          for o in range(outputs) for t in range(kernel))
            assert taps_outside(size, outputs, kernel, stride, padding, dilation) == counted


def test_a_huge_kernel_or_dilation_is_counted_at_once(write_spec, tmp_path):
    """A kernel of 999,999,999 taps, and a dilation of 10⁸ padded 4,000 and 10⁸, on 10⁹ positions:
    the roofline is worked out at once (a tap or an output at a time would not end). By hand, the
    long kernel reads every tap, where padded k // 2 = p = 499,999,999 a side it would miss
    p(p + 1)/2 a side of k × 10⁹; the widest padding is not counted (share None: no profile skips
    taps beyond MAX_COUNTED_PADDING)."""
    from archcalc.layers.conv import MAX_COUNTED_PADDING

    profile = load_profile(str(_made_up(tmp_path, "padded", {
        "name": "a device that skips the taps in the padding", "peak_tflops": {"float32": 1},
        "memory_gbps": 1e6, "launch_us": 0, "padded_taps": {"saved": 0.5, "up_to": 4096}})))
    read = {}
    for name, layer in (("long", "kernel: 999999999"), ("spread", "kernel: 3, dilation: 100000000, padding: 4000"),
                        ("wide", "kernel: 3, dilation: 100000000, padding: 100000000")):
        stats = analyze(write_spec(f"name: {name}\ninput: [1, 1000000000]\nlayers:\n"
                                   f"  - {name}: {{kind: conv1d, out: 1, {layer}}}\n"))
        node, = stats.graph.nodes
        read[name] = node.kind.taps_read(node.attrs, [stats.input_shape], stats.layers[0].shape)
        assert roofline(stats, profile).total > 0
    half = 499_999_999
    assert read["long"].share == pytest.approx(1 / (1 - half * (half + 1) / (999_999_999 * 10**9)), rel=1e-12)
    assert read["spread"].padding == 4000 and 0 < read["spread"].share < 1
    assert read["wide"] == (None, 100_000_000) and 100_000_000 > MAX_COUNTED_PADDING


@pytest.mark.parametrize("fields, shape, share, padding", [
    ({"kernel": 3, "padding": 1}, (4, 4), 1.0, 1),                        # as the grid: the same
    ({"kernel": 3, "padding": 2, "dilation": 2}, (4, 4), (8 / 10) ** 2, 2),  # 8 of 12 taps a side, against 10
    ({"kernel": 3, "padding": 16, "dilation": 16}, (64, 64), (160 / 190) ** 2, 16),  # 190: 63 + 64 + 63
    ({"kernel": 3}, (6, 6), (18 / 16) ** 2, 0),                            # unpadded: more than the grid's 16 of 18
    ({"kernel": [1, 3], "padding": [0, 2], "dilation": [1, 2]}, (4, 4), 8 / 10, 2),  # one axis
    ({"kernel": 4, "padding": "same"}, (6, 6), ((20 / 24) / (22 / 28)) ** 2, 2),  # 1 on the left, 2 on the right:
    # taps reading 5 + 6 + 5 + 4 of 4 × 6, against 5 + 6 + 6 + 5 of 4 × 7 padded 2 a side
])
def test_a_convolutions_taps_read_are_against_the_same_kernel_padded_undilated(fields, shape, share, padding):
    """By hand: the share of the taps that read the input over that of the same kernel padded
    k // 2 a side, undilated (as the profile's grid runs it), and the widest padding on a side."""
    kind = LAYER_KINDS["conv2d"]
    attrs = kind.resolve({"out": 8, **fields})
    shapes = [(1, 8, *shape)]
    read = kind.taps_read(attrs, shapes, kind.output_shape(attrs, shapes))
    assert read.share == pytest.approx(share, rel=1e-12) and read.padding == padding


def test_a_convolution_saves_the_profiles_share_of_its_taps_in_the_padding(write_spec, tmp_path):
    """By hand, on a profile of 1 TFLOP/s, a bandwidth no layer here is bound by and no launch
    cost, whose convolutions save half of a tap's time where it falls in the padding, up to a
    padding of 16: a 3×3 convolution dilated 16 on 64×64 (its taps read (160/190)² of the grid's)
    does 1 − ½(1 − (160/190)²) of its FLOPs' time, a depthwise one alike; padded as the grid, or
    padded 20 (beyond what the kernel skips at), or transposed, or without the figure, its FLOPs'
    time; on a table whose native grid takes the dilated one (torch's own kernel computes every
    tap), its FLOPs' time too. Written and read back, the figure is the same."""
    from archcalc.devices import PaddedTaps

    profile = load_profile(str(_made_up(tmp_path, "padded", {
        "name": "a device that skips the taps in the padding", "peak_tflops": {"float32": 1},
        "memory_gbps": 1e6, "launch_us": 0, "padded_taps": {"saved": 0.5, "up_to": 16}})))
    assert profile.padded_taps == PaddedTaps(0.5, 16)
    stats = analyze(write_spec("""
name: padded
input: [8, 64, 64]
layers:
  - dilated: {kind: conv2d, out: 8, kernel: 3, padding: 16, dilation: 16}
  - depthwise: {kind: conv2d, out: 8, kernel: 3, padding: 16, dilation: 16, groups: 8}
  - plain: {kind: conv2d, out: 8, kernel: 3, padding: 1}
  - beyond: {kind: conv2d, out: 8, kernel: 3, padding: 20, dilation: 20}
  - up: {kind: conv_transpose2d, out: 8, kernel: 3, padding: 1, dilation: 2}
"""))
    skipping, plain = (roofline(stats, p).by_name() for p in (profile, replace(profile, padded_taps=None)))
    kept = 1 - 0.5 * (1 - (160 / 190) ** 2)
    for name in ("dilated", "depthwise"):
        assert skipping[name].compute_time == pytest.approx(plain[name].compute_time * kept, rel=1e-12), name
        assert skipping[name].time == pytest.approx(plain[name].flops / 1e12 * kept, rel=1e-12), name
    assert all(skipping[name] == plain[name] for name in ("plain", "beyond", "up"))
    assert plain["dilated"].time == pytest.approx(plain["dilated"].flops / 1e12, rel=1e-12)
    assert load_profile(_written(tmp_path, profile)).padded_taps == PaddedTaps(0.5, 16)
    unpadded = analyze(write_spec("name: unpadded\ninput: [8, 64, 64]\nlayers:\n  - valid: {kind: conv2d, out: 8, kernel: 3}\n"))
    for skips, kept in ((16, 1 - 0.5 * (1 - (192 / 190) ** 2)), (0, 1.0)):  # every tap read, against 190 of 192 a side
        found = roofline(unpadded, replace(profile, padded_taps=PaddedTaps(0.5, skips))).by_name()["valid"]
        bare = roofline(unpadded, replace(profile, padded_taps=None)).by_name()["valid"]
        assert found.compute_time == pytest.approx(bare.compute_time * kept, rel=1e-12), skips  # up_to 0: skips none
    native = SizeTable((8.0,), (1.0,), ((1.0,),), native_up_to=8 * 64 * 64, native=((1.0,),))
    on_its_own = roofline(stats, replace(profile, efficiency_by_size={"conv": native})).by_name()
    assert on_its_own["dilated"].compute_time == plain["dilated"].compute_time  # 8·64·64: torch's own kernel
    assert on_its_own["depthwise"] == skipping["depthwise"]  # grouped: oneDNN's


@pytest.mark.parametrize("saved, widest, found", [(0.8, 28, (0.8, 28)), (0.5, 40, (0.5, 40)), (0.0, 63, (0.0, 0))])
def test_the_taps_a_convolution_skips_are_found_from_its_times_dilated(monkeypatch, tmp_path, saved, widest, found):
    """By hand, on made-up times: the synthetic layer takes 1 ms undilated plus 10 µs of fixed
    cost; padded and dilated as far as `widest` it saves `saved` of its taps' time in the padding,
    beyond that it takes 1.1 ms: the share saved is found at PADDED_DILATION and the widest padding
    by halving; a device that saves nothing skips none."""
    from archcalc.measure_device import _padded_taps

    base = load_profile(str(_made_up(tmp_path, "turns", {
        "name": "a made-up CPU", "peak_tflops": {"float32": 1}, "memory_gbps": 1, "launch_us": 0,
        "fixed_us": {"conv": 10}})))

    def seconds(node) -> float:
        a = node.attrs
        shapes = [(1, 64, 64, 64)]
        share = LAYER_KINDS["conv2d"].taps_read(a, shapes, LAYER_KINDS["conv2d"].output_shape(a, shapes)).share
        own = 1e-3 * (1 - saved * (1 - share)) if a.padding[0] <= widest else 1.1e-3
        return own + 10e-6

    padded = _padded_taps(NO_GRAD, _made_up_turns(monkeypatch, seconds), "cpu", base, "float32")
    assert padded.saved == pytest.approx(found[0], abs=1e-4) and padded.up_to == found[1]


def test_output_channels_are_computed_in_whole_blocks_where_the_profile_measured_them(write_spec, tmp_path):
    """By hand, on a profile of 1 TFLOP/s, a bandwidth no layer here is bound by, no launch cost
    and blocks of 16 channels for conv and of 8 for linear: a convolution of 21 output channels
    computes 32 (its FLOPs ×32/21), of 32 just 32; a 1×1 convolution (no block given) and a grouped
    one (its table of groups holds its blocks) their own; a linear layer of 20 features 24;
    without the blocks, every layer its own FLOPs. Written and read back, the blocks are the same."""
    profile = _made_up(tmp_path, "blocked", {
        "name": "a device that computes output channels in blocks",
        "peak_tflops": {"float32": 1}, "memory_gbps": 1e6, "launch_us": 0,
        "channel_blocks": {"conv": 16, "linear": 8}})
    stats = analyze(write_spec("""
name: blocked
input: [21, 8, 8]
layers:
  - odd: {kind: conv2d, out: 21, kernel: 3, padding: 1}
  - even: {kind: conv2d, out: 32, kernel: 3, padding: 1}
  - grouped: {kind: conv2d, out: 20, kernel: 3, padding: 1, groups: 4}
  - pointwise: {kind: conv2d, out: 21, kernel: 1}
  - flat: flatten
  - fc: {kind: linear, out: 20}
"""))
    loaded = load_profile(str(profile))
    flops = {"odd": 2 * 21 * 21 * 9 * 64, "even": 2 * 21 * 32 * 9 * 64, "grouped": 2 * 8 * 20 * 9 * 64,
             "pointwise": 2 * 20 * 21 * 64, "fc": 2 * 21 * 64 * 20}
    computed = {**flops, "odd": flops["odd"] * 32 / 21, "fc": flops["fc"] * 24 / 20}
    for blocks, expected in ((loaded, computed), (replace(loaded, channel_blocks={}), flops)):
        layers = roofline(stats, blocks).by_name()
        for name, done in expected.items():
            assert layers[name].flops == flops[name], name
            assert layers[name].compute_time == pytest.approx(done / 1e12, rel=1e-12), name
            assert layers[name].time == pytest.approx(done / 1e12, rel=1e-12), name
    assert load_profile(_written(tmp_path, loaded)).channel_blocks == {"conv": 16, "linear": 8}


@pytest.mark.parametrize("times, block", [
    ({65: 1.0, 72: 1.0, 80: 0.98, 96: 1.2, 128: 1.6}, 16),   # 65 takes 80's time: a block of 16
    ({65: 1.0, 72: 1.1, 80: 1.23, 96: 1.48, 128: 1.97}, 1),  # time as the channels: no block
    ({65: 1.0, 72: 1.02, 80: 1.11, 96: 1.33, 128: 1.78}, 8),  # 65 takes 72's time: 80 would take 80/72 of it
    ({65: 1.0, 72: 1.0, 80: 1.0, 96: 1.0, 128: 1.34}, 32),
    ({65: 1.0, 72: 1.0, 80: 1.0, 96: 1.0, 128: 1.0}, 64),
    ({65: 1.0, 72: 1.1, 80: 1.0, 96: 1.0, 128: 1.0}, 1),     # from the smallest up: 72 adds more than half of 8
    ({65: 1.0, 72: 0.6, 80: 0.6, 96: 0.7, 128: 0.8}, 64),   # unaligned channels slower than all aligned: no longer
])
def test_the_block_of_output_channels_is_the_largest_their_times_show(times, block):
    """By hand: the largest block up to which the layers of 64 + block channels take no longer than
    the one of 65, within half of what the block half its size would add (1 + (64 + b)/(64 + b/2) − 1)/2:
    1.029 for 8, 1.056 for 16, 1.1 for 32, 1.167 for 64)."""
    from archcalc.measure_device import block_of

    assert block_of(times) == block


def _made_up_turns(monkeypatch, seconds):
    """`archcalc.measure_device` building each synthetic layer as its graph's one node and timing
    it in turn at `seconds(node)`, once: made-up times for a test."""
    import archcalc.measure_device as measure

    monkeypatch.setattr(measure, "_built", lambda torch, device, dtype, graph, shape: (graph.nodes[0], shape))
    return SimpleNamespace(in_turn=lambda layers, budget: [[seconds(node)] for node, _ in layers])


NO_GRAD = SimpleNamespace(no_grad=contextlib.nullcontext)
"""A stand-in for torch where nothing but `torch.no_grad()` is called."""


@pytest.mark.parametrize("work, block", [("depthwise_conv", 8), ("conv", 64)])
def test_a_grouped_layers_block_of_channels_is_found_at_an_aligned_layers_rate(monkeypatch, work, block):
    """By hand, on made-up times: 65 and 72 output channels take 2.0 and 2.02, 80 1.05, 96 1.19 and
    128 1.47, where a layer whose channels are a multiple of 16 or more keeps all of its rate and
    of less 0.45. A depthwise layer (grouped) is taken at an aligned one's rate: 0.9, 0.909, 1.05,
    …: a block of 8 (72 within 1.029 of 65, 80 beyond 1.056 of it). A dense convolution's layers
    are taken as they run: all within 65's time, 64."""
    from archcalc.measure_device import _channel_block

    times = {65: 2.0, 72: 2.02, 80: 1.05, 96: 1.19, 128: 1.47}
    clock = _made_up_turns(monkeypatch, lambda node: times[node.attrs.out])
    alignment = ((1.0, 8.0, 16.0, 128.0), (0.45, 0.45, 1.0, 1.0))
    assert _channel_block(NO_GRAD, clock, "cpu", "float32", work, alignment) == block


@pytest.mark.parametrize("work", ["depthwise_conv", "conv"])
def test_the_share_an_alignment_keeps_is_its_rate_over_an_aligned_layers(monkeypatch, tmp_path, work):
    """By hand, on a made-up device of 1 TFLOP/s (bandwidth bounds nothing) with a fixed cost of
    10 µs a layer, and made-up times: each ALIGNED layer of ALIGN_BASE + an alignment takes its
    FLOPs at 1 TFLOP/s over a share of 0.4 (alignments of 1 to 8), 1 (16, 32) or 0.9 (64), plus
    the fixed cost; that of ALIGN_BASE its FLOPs at 0.8 of it: the shares are 0.5, 1.25 and 1.125."""
    from archcalc.measure_device import ALIGN_BASE, ALIGNED, ALIGNMENTS, _alignment

    base = load_profile(str(_made_up(tmp_path, "turns", {
        "name": "a made-up CPU", "peak_tflops": {"float32": 1}, "memory_gbps": 1e9, "launch_us": 0,
        "fixed_us": {work: 10}})))
    reached = {1: 0.4, 2: 0.4, 4: 0.4, 8: 0.4, 16: 1.0, 32: 1.0, 64: 0.9, 128: 0.8}

    def seconds(node) -> float:
        out, groups = node.attrs.out, node.attrs.groups
        width = out // groups if work == "conv" else out  # channels a group; a depthwise layer's: its channels
        flops = 2 * out * (out // groups) * 9 * (28 * 28 if work == "conv" else 56 * 56)
        return flops / 1e12 / reached[width & -width if width != ALIGN_BASE else ALIGN_BASE] + 10e-6

    assert [ALIGNED[work](ALIGN_BASE + step)[1]["out"] for step in (1, 64)] == (
        [2 * 129, 2 * 192] if work == "conv" else [129, 192])
    alignments, shares = _alignment(NO_GRAD, _made_up_turns(monkeypatch, seconds), "cpu", base, "float32", work)
    assert alignments == tuple(map(float, (*ALIGNMENTS, ALIGN_BASE)))
    assert shares == pytest.approx((0.5, 0.5, 0.5, 0.5, 1.25, 1.25, 1.125, 1.0), abs=1e-4)


def test_layers_timed_in_turn_share_a_slower_moment(monkeypatch):
    """By hand, on a made-up clock: `_Clock.in_turn` calls its layers in turn, round after round,
    each on a fresh copy of its input. A slower moment as long as five calls (each ten times
    slower) then falls on some calls of each layer, and each one's fastest is its own; timed one
    layer after the other (`as_in_a_model`), it falls on every timed call of the first."""
    import archcalc.measure_device as measure

    now, calls, slower = [0.0], [], [range(4, 9)]  # the five calls after two rounds of warm-up of two layers

    class Input:
        def __init__(self, name: str) -> None:
            self.name = name

        def clone(self):
            return Input(self.name + "'")

    def layer(name: str, seconds: float):
        def run(x):
            calls.append((name, x.name))
            now[0] += seconds * (10 if len(calls) - 1 in slower[0] else 1)
        return run

    monkeypatch.setattr(measure, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    monkeypatch.setattr(measure, "MIN_RUNS", 5)
    monkeypatch.setattr(measure, "BUDGET_S", 1e3)  # the rounds never take it: MIN_RUNS of them
    clock = measure._Clock("cpu")
    times = clock.in_turn([(layer("a", 1.0), Input("x")), (layer("b", 2.0), Input("y"))], budget=0)
    assert calls == [("a", "x'"), ("b", "y'")] * 7  # two rounds of warm-up, then 5 rounds
    assert times == [[10.0, 10.0, 10.0, 1.0, 1.0], [20.0, 20.0, 2.0, 2.0, 2.0]]
    assert [min(taken) for taken in times] == [1.0, 2.0]
    calls.clear()
    slower[0] = range(2, 7)  # the five calls after two of warm-up of one layer
    apart = [clock.as_in_a_model(layer(name, seconds), Input(x), budget=0)
             for name, seconds, x in (("a", 1.0, "x"), ("b", 2.0, "y"))]
    assert [min(taken) for taken in apart] == [10.0, 2.0]



def test_a_pooling_torch_does_not_run_in_the_dtype_here_has_no_rate():
    """A fuzzer found `device-profile --dtype float16` ending in NotImplementedError at its last step
    (torch 2.13 runs no float16 avg_pool3d on the CPU), minutes of measuring lost: that pooling gets no
    rate (it is timed by its bytes), the others theirs."""
    torch = pytest.importorskip("torch")
    from archcalc import measure_device

    profile = load_profile(ROOT / "benchmarks" / "results" / "cpu-2026-12-06-seconds" / "profile-cpu-r.yaml")
    with pytest.raises(NotImplementedError):  # torch's own refusal, which the profile must survive
        torch.nn.functional.avg_pool3d(torch.ones(1, 1, 2, 2, 2, dtype=torch.float16), 2)
    clock = measure_device._Clock("cpu")
    assert measure_device._run_here(lambda: measure_device._pooling_rate(
        torch, clock, "cpu", profile, "float16", "avg_pool3d")) is None
    assert measure_device._run_here(lambda: measure_device._pooling_rate(
        torch, clock, "cpu", profile, "float16", "max_pool1d")) is not None

@pytest.mark.parametrize("seconds, rounds", [(0.01, 5), (0.11, 3), (0.2, 2), (1.0, 2)])
def test_a_layer_whose_runs_took_the_budget_runs_fewer_times(monkeypatch, seconds, rounds):
    """By hand, on a made-up clock: a grid's point (a sixth of BUDGET_S, 0.3 s) runs at least
    MIN_RUNS (5) times, but once its runs have taken BUDGET_S, LONG_RUNS (2) are enough: a call of
    0.01 s runs 5 times, of 0.11 s 3 (0.33 s by then), of 0.2 s or 1 s twice."""
    import archcalc.measure_device as measure

    now = [0.0]

    class Input:
        def clone(self):
            return self

    def layer(x):
        now[0] += seconds

    monkeypatch.setattr(measure, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    times = measure._Clock("cpu").in_turn([(layer, Input())], budget=measure.BUDGET_S * measure.GRID_SHARE)
    assert len(times[0]) == rounds
    # a review's: eight layers of 0.03 s in turn (the alignments' probe) took 0.48 s in two rounds,
    # and stopped there; each one's own runs took 0.06 s: they run 5 rounds, as before
    times = measure._Clock("cpu").in_turn([(layer, Input())] * 8, budget=0)
    assert len(times[0]) == (5 if seconds * 5 < measure.BUDGET_S else rounds)


def test_a_dense_convolution_reads_the_grid_of_its_kernels_taps(write_spec, tmp_path):
    """By hand: a table of conv whose reached (3×3: 9 taps) reaches 0.5 and whose grid of 49 taps
    (7×7) 0.8. A 7×7 convolution takes 0.8, an 11×11 one too (the edge's), a 5×5 one
    0.5·(0.8/0.5)^(ln(25/9)/ln(49/9)) (interpolated in the logarithm of its taps), a 3-D one of
    3×3×3 likewise at 27 taps, a 3×3 one and a 1×7 one (7 taps, below the first) 0.5; a grouped 7×7
    one its grid of groups (0.2); a table without taps reads them all on reached."""
    table = {"widths": [16, 64], "positions": [16, 1024], "reached": [[0.5, 0.5], [0.5, 0.5]],
             "groups": [2], "grouped": [[[0.2, 0.2], [0.2, 0.2]]],
             "taps": [9, 49], "tapped": [[[0.8, 0.8], [0.8, 0.8]]]}
    loaded = _with_conv_table(tmp_path, "tapped", "a device whose larger kernels run nearer their peak", table)
    stats = analyze(write_spec("""
name: tapped
input: [32, 16, 16]
layers:
  - seven: {kind: conv2d, out: 32, kernel: 7, padding: 3}
  - eleven: {kind: conv2d, out: 32, kernel: 11, padding: 5}
  - five: {kind: conv2d, out: 32, kernel: 5, padding: 2}
  - three: {kind: conv2d, out: 32, kernel: 3, padding: 1}
  - row: {kind: conv2d, out: 32, kernel: [1, 7], padding: [0, 3]}
  - grouped: {kind: conv2d, out: 32, kernel: 7, padding: 3, groups: 2}
"""))
    cube = analyze(write_spec("name: cube\ninput: [32, 4, 8, 8]\nlayers:\n"
                              "  - cube: {kind: conv3d, out: 32, kernel: 3, padding: 1}\n"))
    untapped = replace(loaded, efficiency_by_size={"conv": loaded.efficiency_by_size["conv"]._replace(taps=(), tapped=())})

    def times(profile) -> dict:
        return {**roofline(stats, profile).by_name(), **roofline(cube, profile).by_name()}

    reached = {"seven": 0.8, "eleven": 0.8, "five": _between_taps(25), "three": 0.5, "row": 0.5, "grouped": 0.2,
               "cube": _between_taps(27)}
    plain, sized, untapped = times(replace(loaded, efficiency_by_size={})), times(loaded), times(untapped)
    _assert_divided(sized, plain, reached)
    for name in reached:
        assert untapped[name].time == pytest.approx(plain[name].time / (0.2 if name == "grouped" else 0.5),
                                                    rel=1e-12), name
    assert load_profile(_written(tmp_path, loaded)).efficiency_by_size == loaded.efficiency_by_size  # as written, as read


def test_a_temporal_convolution_reads_the_grid_of_temporal_ones(write_spec, tmp_path):
    """By hand: a table of conv whose reached reaches 0.5, whose grid of 49 taps 0.8 and whose
    temporal grid 0.25 at 16 channels and 0.3 at 64 (on 16 positions), 0.35 and 0.4 (on 1024). A 3-D
    convolution of 3×1×1 or of 5×1×1 (strided too) reads the temporal grid, interpolated in the
    logarithms of its width (32: half-way between 16 and 64) and positions (3×1×1 on 2×8×8: 128,
    half-way between 16 and 1024; 5×1×1 of stride 2: 64, a third of the way); one of 1×3×3, 1×1×3, 3×3×3, a 2-D 3×1 one and a transposed 3×1×1 one do not,
    nor a grouped 3×1×1 one (its grid of groups, 0.2); a table without a temporal grid reads them
    on reached or tapped."""
    table = {"widths": [16, 64], "positions": [16, 1024], "reached": [[0.5, 0.5], [0.5, 0.5]],
             "groups": [2], "grouped": [[[0.2, 0.2], [0.2, 0.2]]],
             "taps": [9, 49], "tapped": [[[0.8, 0.8], [0.8, 0.8]]], "temporal": [[0.25, 0.35], [0.3, 0.4]]}
    loaded = _with_conv_table(tmp_path, "temporal", "a device whose temporal convolutions run their own kernel", table)
    stats = analyze(write_spec("""
name: temporal
input: [32, 2, 8, 8]
layers:
  - three: {kind: conv3d, out: 32, kernel: [3, 1, 1], padding: [1, 0, 0]}
  - five: {kind: conv3d, out: 32, kernel: [5, 1, 1], padding: [2, 0, 0], stride: [2, 1, 1]}
  - spatial: {kind: conv3d, out: 32, kernel: [1, 3, 3], padding: [0, 1, 1]}
  - row: {kind: conv3d, out: 32, kernel: [1, 1, 3], padding: [0, 0, 1]}
  - cube: {kind: conv3d, out: 32, kernel: 3, padding: 1}
  - grouped: {kind: conv3d, out: 32, kernel: [3, 1, 1], padding: [1, 0, 0], groups: 2}
  - transposed: {kind: conv_transpose3d, out: 32, kernel: [3, 1, 1], padding: [1, 0, 0]}
  - flat: {kind: flatten, start_dim: 1, end_dim: 2}
  - column: {kind: conv2d, out: 32, kernel: [3, 1], padding: [1, 0]}
"""))
    untimed = replace(loaded, efficiency_by_size={"conv": loaded.efficiency_by_size["conv"]._replace(temporal=())})
    plain, sized, without = (roofline(stats, p).by_name() for p in (replace(loaded, efficiency_by_size={}), loaded, untimed))

    fewest, most = (0.25 * 0.3) ** 0.5, (0.35 * 0.4) ** 0.5  # at 32 channels, on 16 and on 1024 positions
    _assert_divided(sized, plain, {"three": (fewest * most) ** 0.5, "five": fewest * (most / fewest) ** (1 / 3),
                                   "spatial": 0.5, "row": 0.5, "cube": _between_taps(27), "grouped": 0.2,
                                   "transposed": 0.5, "column": 0.5})
    assert without["three"].time == pytest.approx(plain["three"].time / 0.5, rel=1e-12)
    assert load_profile(_written(tmp_path, loaded)).efficiency_by_size == loaded.efficiency_by_size  # as written, as read


def test_a_depthwise_convolution_reads_the_grid_of_its_kernels_taps(write_spec, tmp_path):
    """By hand: a table of depthwise_conv reaching 0.5 at 9 taps and 0.8 at 49: a depthwise 3×3
    convolution takes 0.5, a 7×7 one 0.8, a 5×5 one between them in the logarithm of the taps
    (`_between_taps`); without the grids of taps, 0.5 each. Written and read back, the same."""
    table = SizeTable((8.0, 1024.0), (1.0, 100000.0), ((0.5, 0.5), (0.5, 0.5)), taps=(9.0, 49.0),
                      tapped=(((0.8, 0.8), (0.8, 0.8)),))
    loaded = replace(_with_conv_table(tmp_path, "tapped", "a device whose depthwise kernels like more taps",
                                      {"widths": [8], "positions": [1], "reached": [[1]]}),
                     efficiency_by_size={"depthwise_conv": table})
    stats = analyze(write_spec("""
name: depthwise
input: [64, 28, 28]
layers:
  - three: {kind: conv2d, out: 64, kernel: 3, padding: 1, groups: 64}
  - five: {kind: conv2d, out: 64, kernel: 5, padding: 2, groups: 64}
  - seven: {kind: conv2d, out: 64, kernel: 7, padding: 3, groups: 64}
"""))
    plain = roofline(stats, replace(loaded, efficiency_by_size={})).by_name()
    _assert_divided(roofline(stats, loaded).by_name(), plain, {"three": 0.5, "five": _between_taps(25), "seven": 0.8})
    untapped = replace(loaded, efficiency_by_size={"depthwise_conv": table._replace(taps=(), tapped=())})
    _assert_divided(roofline(stats, untapped).by_name(), plain, {"three": 0.5, "five": 0.5, "seven": 0.5})
    assert load_profile(_written(tmp_path, loaded)).efficiency_by_size == loaded.efficiency_by_size


def test_a_strided_grouped_convolution_reads_the_grids_of_strided_grouped_ones(write_spec, tmp_path):
    """By hand: a table of conv reaching 0.5, 0.6 strided, 0.8 at 2 groups and 0.4 at 2 groups
    strided: a grouped convolution of stride 2 takes 0.4, of stride 1 0.8; a dense one of stride 2
    0.6; without the strided grouped grids, a grouped one of stride 2 takes the grouped grid's 0.8.
    Written and read back, the table is the same."""
    table = {"widths": [8, 1024], "positions": [1, 100000], "reached": [[0.5, 0.5], [0.5, 0.5]],
             "strided": [[0.6, 0.6], [0.6, 0.6]], "groups": [2], "grouped": [[[0.8, 0.8], [0.8, 0.8]]],
             "strided_grouped": [[[0.4, 0.4], [0.4, 0.4]]]}
    loaded = _with_conv_table(tmp_path, "strided", "a device that runs strided grouped convolutions slower", table)
    stats = analyze(write_spec("""
name: strided
input: [64, 28, 28]
layers:
  - down: {kind: conv2d, out: 64, kernel: 3, padding: 1, stride: 2, groups: 2}
  - same: {kind: conv2d, out: 64, kernel: 3, padding: 1, groups: 2}
  - dense: {kind: conv2d, out: 64, kernel: 3, padding: 1, stride: 2}
"""))
    plain = roofline(stats, replace(loaded, efficiency_by_size={})).by_name()
    _assert_divided(roofline(stats, loaded).by_name(), plain, {"down": 0.4, "same": 0.8, "dense": 0.6})
    without = replace(loaded, efficiency_by_size={"conv": loaded.efficiency_by_size["conv"]._replace(strided_grouped=())})
    _assert_divided(roofline(stats, without).by_name(), plain, {"down": 0.8, "same": 0.8, "dense": 0.6})
    assert load_profile(_written(tmp_path, loaded)).efficiency_by_size == loaded.efficiency_by_size


def test_a_strided_convolution_reads_the_grid_of_strided_ones(write_spec, tmp_path):
    """By hand: tables of 1×1 and 3×3 convolutions whose reached reaches 0.5; the 1×1's strided grid
    0.8 at 16 channels and 1.0 at 64 (on 16 positions), 0.9 and 1.2 (on 1024); the 3×3's 0.6 and
    0.65, 0.7 and 0.75, and its grid of 49 taps 0.8. A 1×1 convolution of stride 2, or of stride 2
    along one axis, reads the strided grid, interpolated in the logarithms of its width (32:
    half-way between 16 and 64) and positions (16×16 to 8×8: 64, a third of the way from 16 to
    1024; to 16×8: 128, half-way); so does a 3×3 one of stride 2; a 7×7 one of stride 2 reads its
    taps' grid (the strided grid is of reached's kernel), a 1×1 one of stride 1 reached; a table
    without a strided grid reads them on reached."""
    table = {"widths": [16, 64], "positions": [16, 1024], "reached": [[0.5, 0.5], [0.5, 0.5]]}
    loaded = load_profile(str(_made_up(tmp_path, "strided", {
        "name": "a device whose strided convolutions run their own kernels", "peak_tflops": {"float32": 10},
        "memory_gbps": 100, "launch_us": 0,
        "efficiency_by_size": {"conv": {**table, "taps": [9, 49], "tapped": [[[0.8, 0.8], [0.8, 0.8]]],
                                        "strided": [[0.6, 0.7], [0.65, 0.75]]},
                               "pointwise_conv": {**table, "strided": [[0.8, 0.9], [1.0, 1.2]]}}})))
    stats = analyze(write_spec("""
name: strided
input: [32, 16, 16]
layers:
  - strided: {kind: conv2d, out: 32, kernel: 1, stride: 2}
  - back: {kind: upsample2d, scale: 2}
  - across: {kind: conv2d, out: 32, kernel: 1, stride: [1, 2]}
  - back_across: {kind: upsample2d, scale: [1, 2]}
  - plain: {kind: conv2d, out: 32, kernel: 1}
  - three: {kind: conv2d, out: 32, kernel: 3, padding: 1, stride: 2}
  - back_again: {kind: upsample2d, scale: 2}
  - seven: {kind: conv2d, out: 32, kernel: 7, padding: 3, stride: 2}
"""))
    unstrided = replace(loaded, efficiency_by_size={work: table._replace(strided=())
                                                    for work, table in loaded.efficiency_by_size.items()})
    plain, sized, without = (roofline(stats, p).by_name() for p in (replace(loaded, efficiency_by_size={}), loaded,
                                                                     unstrided))

    def between(low: tuple[float, float], high: tuple[float, float], third: float) -> float:
        """At 32 channels (the geometric mean of a column), a `third` of the way from 16 positions to 1024."""
        fewest, most = (low[0] * low[1]) ** 0.5, (high[0] * high[1]) ** 0.5
        return fewest * (most / fewest) ** third

    _assert_divided(sized, plain, {"strided": between((0.8, 1.0), (0.9, 1.2), 1 / 3),
                                   "across": between((0.8, 1.0), (0.9, 1.2), 1 / 2), "plain": 0.5,
                                   "three": between((0.6, 0.65), (0.7, 0.75), 1 / 3), "seven": 0.8})
    _assert_divided(without, plain, {"strided": 0.5, "across": 0.5, "three": 0.5, "seven": 0.8})
    assert load_profile(_written(tmp_path, loaded)).efficiency_by_size == loaded.efficiency_by_size  # as written, as read


def _written(tmp_path, profile) -> str:
    from archcalc.devices import profile_document

    path = tmp_path / "written.yaml"
    path.write_text(profile_document(profile), encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("layer, input, size", [
    ("{kind: conv2d, out: 64, kernel: 3, groups: 4}", "[16, 10, 10]", (32 / 4, 64, 4, 9, False, False, 4, True)),
    ("{kind: conv2d, out: 240, kernel: 3, groups: 2}", "[240, 10, 10]", (120, 64, 2, 9, False, False, 8, True)),
    ("{kind: conv2d, out: 96, kernel: 3, groups: 2}", "[64, 10, 10]", (96 ** 0.5 * 8 / 2, 64, 2, 9, False, False, 16, True)),
    ("{kind: conv2d, out: 32, kernel: 5, groups: 32, padding: 2}", "[32, 9, 9]", (32, 81, 1, 25, False, False, 32, False)),
    ("{kind: conv2d, out: 144, kernel: 3, groups: 72}", "[72, 9, 9]", (144, 49, 1, 9, False, False, 8, False)),
    ("{kind: conv2d, out: 8, kernel: 1}", "[2, 5, 5]", (4, 25, 1, 1, False, False, None, False)),
    ("{kind: conv2d, out: 8, kernel: 1, stride: 2}", "[2, 5, 5]", (4, 9, 1, 1, False, True, None, True)),
    ("{kind: conv2d, out: 8, kernel: 3, stride: [1, 2]}", "[2, 5, 5]", (4, 6, 1, 9, False, True, None, True)),
    ("{kind: conv1d, out: 32, kernel: 3}", "[8, 50]", (16, 48, 1, 3, False, False, None, True)),
    ("{kind: conv3d, out: 18, kernel: [3, 1, 1]}", "[2, 4, 6, 6]", (6, 2 * 36, 1, 3, True, False, None, False)),
    ("{kind: conv3d, out: 18, kernel: [5, 1, 1], stride: [2, 1, 1]}", "[2, 5, 6, 6]", (6, 36, 1, 5, True, True, None, True)),
    ("{kind: conv3d, out: 8, kernel: [1, 3, 3]}", "[2, 4, 6, 6]", (4, 4 * 16, 1, 9, False, False, None, True)),
    ("{kind: conv3d, out: 8, kernel: [1, 1, 3]}", "[2, 4, 6, 6]", (4, 4 * 24, 1, 3, False, False, None, True)),
    ("{kind: conv3d, out: 8, kernel: [3, 7, 7], padding: [1, 3, 3]}", "[2, 4, 6, 6]", (4, 4 * 36, 1, 147, False, False, None, True)),
    ("{kind: conv_transpose2d, out: 8, kernel: 2, stride: 2}", "[2, 5, 5]", (4, 100, 1, 4, False, False, None, True)),  # spreads
    ("{kind: conv_transpose3d, out: 8, kernel: [3, 1, 1]}", "[2, 4, 6, 6]", (4, 6 * 36, 1, 3, False, False, None, False)),
    ("{kind: linear, out: 768}", "[28, 28, 192]", (384, 784, 1, None, False, False, None, False)),
    ("{kind: linear, out: 10}", "[4, 1, 250]", (50, 4, 1, None, False, False, None, False)),
    ("relu", "[4, 5, 5]", None),
])
def test_a_layers_work_size_is_its_channels_a_group_and_its_output_positions(write_spec, layer, input, size):
    """The channels a group works across (the geometric mean of in and out, a depthwise
    convolution's channels), the positions of its output, batch included, and a convolution's
    groups (a depthwise one's 1: its table is its own), its kernel's taps, whether it is temporal
    (a 3-D kernel of k×1×1; not a transposed one), whether it is strided (a stride over 1 along
    some axis; not a transposed one, whose stride spreads its output) and, grouped or depthwise,
    the largest power of two its channels a group in and out are multiples of (4 and 16: 4;
    120: 8; 32 and 48: 16; a depthwise one of 72 channels to 144: 8), by hand; at batch 2 no
    dispatch size (torch runs oneDNN's kernel), and whether oneDNN runs it: at batch 2, a dense or
    grouped convolution whose kernel's last two sizes are not both 1 or which is strided; not a
    depthwise one (its kind is measured on oneDNN)."""
    stats = analyze(write_spec(f"name: one\ninput: {input}\nlayers:\n  - l: {layer}\n"), batch=2)
    node, = stats.graph.nodes
    found = node.kind.work_size(node.attrs, [stats.input_shape], stats.layers[0].shape)
    assert found == (None if size is None else (pytest.approx(size[0], rel=1e-12), 2 * size[1], *size[2:7], None,
                                                size[7]))


@pytest.mark.parametrize("layer, input, dispatch", [
    ("{kind: conv2d, out: 8, kernel: 3, padding: 1}", "[256, 7, 7]", 256 * 7 * 7),  # N·C·H·W
    ("{kind: conv3d, out: 8, kernel: 3, padding: 1}", "[256, 4, 14, 14]", 256 * 4 * 14),  # N·C·D·H: not W
    ("{kind: conv3d, out: 8, kernel: [1, 3, 3], padding: [0, 1, 1]}", "[128, 8, 28, 28]", 128 * 8 * 28),
    ("{kind: conv3d, out: 8, kernel: [3, 1, 1]}", "[64, 16, 56, 56]", 64 * 16 * 56),
    ("{kind: conv1d, out: 8, kernel: 3}", "[64, 100]", 64 * 100),  # as 2-D: 1 × its length
    ("{kind: conv2d, out: 8, kernel: [7, 1], padding: [3, 0]}", "[64, 7, 7]", 64 * 7 * 7),  # not both over 3
    ("{kind: conv2d, out: 8, kernel: 1}", "[64, 7, 7]", 64 * 7 * 7),
    ("{kind: conv2d, out: 8, kernel: 4}", "[64, 7, 7]", None),  # both over 3: always oneDNN's
    ("{kind: conv2d, out: 8, kernel: 3, groups: 2}", "[64, 7, 7]", None),  # grouped: always oneDNN's
    ("{kind: conv2d, out: 64, kernel: 3, groups: 64}", "[64, 7, 7]", None),  # depthwise
    ("{kind: conv_transpose2d, out: 8, kernel: 3}", "[64, 7, 7]", None),
])
def test_a_dense_convolutions_dispatch_size_is_what_torch_chooses_its_kernel_by(write_spec, layer, input, dispatch):
    """By hand, at batch 1, as aten's use_mkldnn (torch 2.13, aten/src/ATen/native/Convolution.cpp)
    reads it: the input's first four sizes multiplied, a 1-D input seen as 2-D, for a dense
    convolution whose kernel's last two sizes are not both over 3; else None. torch's own answer
    (`torch._C._select_conv_backend`) for the first two: its own kernel (Slow2d, Slow3d) at
    256×7×7 and 256×4×14×14, oneDNN's at 512×7×7 and 128×8×28×28 (`test_device_profile_writes_…`
    finds the largest size from torch)."""
    stats = analyze(write_spec(f"name: one\ninput: {input}\nlayers:\n  - l: {layer}\n"), batch=1)
    node, = stats.graph.nodes
    size = node.kind.work_size(node.attrs, [stats.input_shape], stats.layers[0].shape)
    assert size.dispatch == dispatch


@pytest.mark.parametrize("layer, input, batch", [
    (layer, shape, batch) for batch in (1, 2) for layer, shape in (
        ("{kind: conv2d, out: 8, kernel: 3, padding: 1}", "[256, 7, 7]"),
        ("{kind: conv2d, out: 8, kernel: 3, padding: 1}", "[512, 7, 7]"),
        ("{kind: conv2d, out: 8, kernel: 3, padding: 1}", "[5, 64, 64]"),   # 20,480: its own
        ("{kind: conv2d, out: 8, kernel: 3, padding: 1}", "[5, 64, 65]"),   # 20,800: oneDNN's
        ("{kind: conv2d, out: 8, kernel: 3, padding: 1, stride: 2}", "[64, 14, 14]"),
        ("{kind: conv2d, out: 8, kernel: [1, 7], padding: [0, 3]}", "[64, 17, 17]"),
        ("{kind: conv2d, out: 8, kernel: [7, 1], padding: [3, 0]}", "[128, 17, 17]"),
        ("{kind: conv2d, out: 8, kernel: 5, padding: 2}", "[8, 7, 7]"),
        ("{kind: conv2d, out: 8, kernel: 3, padding: 2, dilation: 2}", "[64, 14, 14]"),
        ("{kind: conv2d, out: 8, kernel: 3, padding: 1, groups: 2}", "[64, 7, 7]"),
        ("{kind: conv3d, out: 8, kernel: 3, padding: 1}", "[256, 4, 14, 14]"),
        ("{kind: conv3d, out: 8, kernel: 3, padding: 1}", "[128, 8, 28, 28]"),
        ("{kind: conv3d, out: 8, kernel: [1, 3, 3], padding: [0, 1, 1]}", "[512, 2, 7, 7]"),
        ("{kind: conv3d, out: 8, kernel: [1, 3, 3], padding: [0, 1, 1]}", "[64, 16, 28, 28]"),
        ("{kind: conv1d, out: 8, kernel: 3, padding: 1}", "[64, 100]"),
        ("{kind: conv1d, out: 8, kernel: 3, padding: 1}", "[640, 100]"),
    )])
def test_the_dispatch_size_tells_which_kernel_torch_chooses(write_spec, layer, input, batch):
    """Against torch itself (`torch._C._select_conv_backend`, on the CPU in float32, one thread): a
    dense convolution whose kernel's last two sizes are not both 1 runs torch's own kernel exactly
    where its dispatch size is within the largest input torch runs there (`_native_up_to`)."""
    torch = pytest.importorskip("torch")
    from archcalc.measure_device import _native_up_to
    from archcalc.torchmodel import build_layer

    stats = analyze(write_spec(f"name: one\ninput: {input}\nlayers:\n  - l: {layer}\n"), batch=batch)
    node, = stats.graph.nodes
    size = node.kind.work_size(node.attrs, [stats.input_shape], stats.layers[0].shape)
    module = build_layer(node.kind, node.attrs, [stats.input_shape])
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        chosen = str(torch._C._select_conv_backend(
            torch.empty(stats.input_shape), module.weight, None, list(module.stride), list(module.padding),
            list(module.dilation), False, [0] * len(module.stride), module.groups, None))
        largest = _native_up_to(torch)
    finally:
        torch.set_num_threads(threads)
    assert (size.dispatch is not None and size.dispatch <= largest) == ("Mkldnn" not in chosen), chosen


ONEDNN_CASES = [(layer, shape, batch) for batch in (1, 2, 16) for layer, shape in (
    ("{kind: conv2d, out: 8, kernel: 3, padding: 1}", "[8, 7, 7]"),
    ("{kind: conv2d, out: 8, kernel: 3, padding: 1}", "[512, 7, 7]"),
    ("{kind: conv2d, out: 8, kernel: 5, padding: 2}", "[8, 7, 7]"),
    ("{kind: conv2d, out: 8, kernel: 1}", "[1024, 28, 28]"),
    ("{kind: conv2d, out: 8, kernel: 1, stride: 2}", "[1024, 28, 28]"),
    ("{kind: conv2d, out: 8, kernel: 1, stride: 2}", "[8, 28, 28]"),
    ("{kind: conv2d, out: 8, kernel: 1, groups: 2}", "[64, 7, 7]"),
    ("{kind: conv2d, out: 8, kernel: 3, padding: 1, groups: 2}", "[64, 7, 7]"),
    ("{kind: conv2d, out: 8, kernel: 3, padding: 2, dilation: 2}", "[8, 7, 7]"),
    ("{kind: conv1d, out: 8, kernel: 5, padding: 2}", "[8, 100]"),
    ("{kind: conv1d, out: 8, kernel: 5, padding: 2}", "[640, 100]"),
    ("{kind: conv1d, out: 8, kernel: 80, stride: 16}", "[1, 8000]"),
    ("{kind: conv3d, out: 8, kernel: 3, padding: 1}", "[8, 4, 7, 7]"),
    ("{kind: conv3d, out: 8, kernel: 3, padding: 1}", "[128, 8, 28, 28]"),
    ("{kind: conv3d, out: 8, kernel: [3, 1, 1], padding: [1, 0, 0]}", "[512, 8, 7, 7]"),
    ("{kind: conv_transpose2d, out: 8, kernel: 3, padding: 1}", "[8, 7, 7]"),
    ("{kind: conv_transpose2d, out: 8, kernel: 3, padding: 1}", "[512, 7, 7]"),
    ("{kind: conv_transpose2d, out: 8, kernel: 2, stride: 2}", "[8, 7, 7]"),
    ("{kind: conv_transpose2d, out: 8, kernel: 5, padding: 2}", "[8, 7, 7]"),
    ("{kind: conv_transpose2d, out: 8, kernel: 3, dilation: 2, output_padding: 1}", "[8, 7, 7]"),  # not below
    ("{kind: conv_transpose1d, out: 8, kernel: 3, dilation: 2, output_padding: 1}", "[8, 100]"),   # its stride
    ("{kind: conv_transpose2d, out: 8, kernel: 5, stride: 2, dilation: 3, output_padding: 2}", "[8, 7, 7]"),
)]


def _runs_on_onednn(torch, module, input_shape: tuple[int, ...]) -> bool:
    """torch's own answer (`torch._C._select_conv_backend`, one thread): whether it runs the
    convolution `module` on an input of `input_shape` through oneDNN rather than its own kernels
    (Slow2d, SlowDilated3d, SlowTranspose2d, …; its binding names MkldnnTranspose '???')."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        chosen = torch._C._select_conv_backend(
            torch.empty(input_shape), module.weight, None, list(module.stride), list(module.padding),
            list(module.dilation), module.transposed, list(module.output_padding), module.groups, None)
    finally:
        torch.set_num_threads(threads)
    return not str(chosen).split(".")[-1].startswith("Slow")


@pytest.mark.parametrize("layer, input, batch", ONEDNN_CASES)
def test_a_convolution_says_it_runs_on_onednn_where_torch_chooses_onednn(write_spec, layer, input, batch):
    """Against torch itself: `WorkSize.onednn` (which pays oneDNN's fixed cost) holds exactly where
    torch runs a dense, grouped or transposed convolution through oneDNN on the CPU at one thread
    (1-D ones seen as 2-D: M5's first, a kernel of 80 of stride 16 on 8,000 samples, runs on torch's
    own)."""
    torch = pytest.importorskip("torch")
    from archcalc.torchmodel import build_layer

    stats = analyze(write_spec(f"name: one\ninput: {input}\nlayers:\n  - l: {layer}\n"), batch=batch)
    node, = stats.graph.nodes
    size = node.kind.work_size(node.attrs, [stats.input_shape], stats.layers[0].shape)
    assert size.onednn == _runs_on_onednn(torch, build_layer(node.kind, node.attrs, [stats.input_shape]),
                                          stats.input_shape)


@pytest.mark.parametrize("input, onednn", [("[20, 31, 32]", True), ("[20, 30, 30]", False), ("[20, 32, 32]", True)])
def test_a_same_padded_convolution_of_an_odd_total_is_chosen_by_the_copy_torch_pads(write_spec, input, onednn):
    """torch pads a copy of the input by one where 'same' padding's total is odd (a kernel of 2),
    and chooses its kernel by that copy: 20×31×32 (19,840 elements, its copy 20×32×33: 21,120)
    runs on oneDNN, 20×30×30 (its copy 19,220) on its own, as torch's profiler names the kernel it
    runs (one thread)."""
    torch = pytest.importorskip("torch")
    from torch.profiler import profile

    from archcalc.torchmodel import build_layer

    stats = analyze(write_spec(f"name: same\ninput: {input}\nlayers:\n  - l: {{kind: conv2d, out: 8, kernel: 2, "
                               "padding: same}\n"), batch=1)
    node, = stats.graph.nodes
    assert node.kind.work_size(node.attrs, [stats.input_shape], stats.layers[0].shape).onednn is onednn
    module, threads = build_layer(node.kind, node.attrs, [stats.input_shape]), torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad(), profile() as run:
            module(torch.randn(stats.input_shape))
    finally:
        torch.set_num_threads(threads)
    ran = {event.name for event in run.events()}
    assert ("aten::mkldnn_convolution" in ran) is onednn and ("aten::_slow_conv2d_forward" in ran) is not onednn


def test_onednns_fixed_cost_is_measured_on_a_layer_torch_runs_there_and_each_kinds_on_its_own_kernel():
    """Against torch itself: the synthetic layer oneDNN's fixed cost is measured on runs there at its
    smallest, as does a depthwise convolution's (whose layers keep their kind's fixed cost: `onednn`
    False), and a dense or 1×1 convolution's runs on torch's own kernel, as the layers do that take
    their kind's fixed cost."""
    torch = pytest.importorskip("torch")
    from archcalc.measure_device import ONEDNN_SMALLEST, SYNTHETIC, smallest, synthetic_graph
    from archcalc.torchmodel import build_layer

    def on_onednn(layer) -> tuple[bool, bool]:
        graph = synthetic_graph(*smallest(*layer))
        stats = analyze_graph(graph, batch=1)
        node, = graph.nodes
        size = node.kind.work_size(node.attrs, [stats.input_shape], stats.layers[0].shape)
        return size.onednn, _runs_on_onednn(torch, build_layer(node.kind, node.attrs, [stats.input_shape]),
                                            stats.input_shape)

    assert on_onednn(ONEDNN_SMALLEST) == (True, True)
    assert on_onednn(SYNTHETIC["depthwise_conv"][0]) == (False, True)
    assert on_onednn(SYNTHETIC["conv"][0]) == on_onednn(SYNTHETIC["pointwise_conv"][0]) == (False, False)


def test_a_convolution_on_onednn_pays_its_fixed_cost_where_the_profile_measured_it(cli, write_spec, tmp_path):
    """By hand, on a made-up profile whose conv, 1×1 and depthwise layers cost 3, 1 and 40 µs and
    a convolution on oneDNN 24: a strided 1×1 one on 1,024×28×28 and a 5×5 one (oneDNN's at any
    size) take 24; a dilated or strided 3×3 one on 8×28×28 (6,272 elements: torch's own kernel)
    3, as a 3×3 one of stride 1, a 1×1 one of stride 1 1, a depthwise one 40; without oneDNN's,
    each its kind's. The model's fixed costs are their sum, as the table, its JSON and the report
    say; a profile that gives oneDNN's alone gives the others the launch cost."""
    figures = {"name": "a CPU whose oneDNN kernels cost 24 µs", "peak_tflops": {"float32": 10}, "memory_gbps": 100,
               "launch_us": 0, "fixed_us": {"conv": 3, "pointwise_conv": 1, "depthwise_conv": 40},
               "onednn_fixed_us": 24, "sources": {name: "made up" for name in ("peak_tflops", "memory_gbps",
                                                                                  "launch_us", "fixed_us",
                                                                                  "onednn_fixed_us")}}
    path = tmp_path / "onednn.yaml"
    path.write_text(yaml.safe_dump({"schema": "archcalc.devices/1", "devices": {"onednn": figures}}), encoding="utf-8")
    profile = load_profile(str(path))
    assert profile.onednn_fixed_us == 24 and load_profile(_written(tmp_path, profile)) == replace(
        profile, file=_written(tmp_path, profile))
    spec = write_spec("name: paths\ninput: [1024, 28, 28]\nlayers:\n"
                      "  - strided: {kind: conv2d, out: 8, kernel: 1, stride: 2}\n"
                      "  - five: {kind: conv2d, out: 8, kernel: 5, padding: 2}\n"
                      "  - dilated: {kind: conv2d, out: 8, kernel: 3, padding: 2, dilation: 2}\n"
                      "  - small: {kind: conv2d, out: 8, kernel: 3, padding: 1, stride: 2}\n"
                      "  - three: {kind: conv2d, out: 8, kernel: 3, padding: 1}\n"
                      "  - one: {kind: conv2d, out: 8, kernel: 1}\n"
                      "  - depthwise: {kind: conv2d, out: 8, kernel: 3, padding: 1, groups: 8}\n")
    stats = analyze(spec, batch=1)
    roof = roofline(stats, profile)
    fixed = {"strided": 24, "five": 24, "dilated": 3, "small": 3, "three": 3, "one": 1, "depthwise": 40}
    assert {layer.name: round(layer.fixed * 1e6, 9) for layer in roof.layers} == fixed
    assert roof.fixed == pytest.approx(sum(fixed.values()) / 1e6, rel=1e-12)
    for layer in roof.layers:
        assert layer.time == pytest.approx(max(layer.compute_time, layer.memory_time) + layer.fixed, rel=1e-12)
    without = roofline(stats, replace(profile, onednn_fixed_us=0.0))
    assert {layer.name: round(layer.fixed * 1e6, 9) for layer in without.layers} == fixed | {
        "strided": 1, "five": 3}
    document = json.loads(cli("table", spec, "--device-profile", path, "--format", "json").stdout)
    assert document["roofline"]["onednn_fixed_s"] == 24e-6 and document["roofline"]["time_s"] == roof.total
    assert f"7 kernels ({sum(fixed.values()):.1f} µs of it their fixed costs)" in cli(
        "table", spec, "--device-profile", path).stdout
    assert ("fixed costs per layer conv 3.00 µs, depthwise conv 40.0 µs, pointwise conv 1.00 µs, a convolution on "
            "oneDNN 24.0 µs (docs/latency.md) |") in cli("report", spec, "--device-profile", path).stdout
    del figures["fixed_us"], figures["sources"]["fixed_us"]
    path.write_text(yaml.safe_dump({"schema": "archcalc.devices/1", "devices": {"onednn": figures}}), encoding="utf-8")
    alone = roofline(stats, load_profile(str(path)))
    assert {layer.name: round(layer.fixed * 1e6, 9) for layer in alone.layers} == {
        "strided": 24, "five": 24, "dilated": 0, "small": 0, "three": 0, "one": 0, "depthwise": 0}  # launch_us: 0
    assert "7 kernels (48.0 µs of it their fixed costs)" in cli("table", spec, "--device-profile", path).stdout
    assert "fixed costs per layer the launch 0, a convolution on oneDNN 24.0 µs (docs/latency.md) |" in cli(
        "report", spec, "--device-profile", path).stdout


def test_a_dense_convolution_torch_runs_on_its_own_kernel_reads_the_native_grid(write_spec, tmp_path):
    """By hand: a table of conv reaching 0.5, 0.25 on torch's own kernel up to a dispatch size of
    20,480 and 0.4 as a temporal convolution: a 3-D convolution of 256 channels on 4×14×14
    (14,336) and a 2-D one of 64 on 7×7 (3,136) take 0.25; one of 128 on 8×28×28 (28,672), a 5×5
    one on 7×7 (oneDNN's at any size), a grouped one (its grid of groups, none here: reached's)
    and one at batch 2 0.5; a temporal one its own grid's 0.4; without the native grid, 0.5.
    Written and read back, the table is the same."""
    table = {"widths": [8, 1024], "positions": [1, 100000], "reached": [[0.5, 0.5], [0.5, 0.5]],
             "temporal": [[0.4, 0.4], [0.4, 0.4]], "native_up_to": 20480, "native": [[0.25, 0.25], [0.25, 0.25]]}
    loaded = _with_conv_table(tmp_path, "native", "a CPU whose framework runs small convolutions on its own kernel",
                              table)
    cases = {"small3d": ("[256, 4, 14, 14]", "conv3d", "3, padding: 1"), "small2d": ("[64, 7, 7]", "conv2d", "3, padding: 1"),
             "large3d": ("[128, 8, 28, 28]", "conv3d", "3, padding: 1"), "five": ("[64, 7, 7]", "conv2d", "5, padding: 2"),
             "grouped": ("[64, 7, 7]", "conv2d", "3, padding: 1, groups: 2"),
             "temporal": ("[64, 4, 7, 7]", "conv3d", "[3, 1, 1], padding: [1, 0, 0]")}
    for batch, expected in ((1, {"small3d": 0.25, "small2d": 0.25, "large3d": 0.5, "five": 0.5, "grouped": 0.5,
                                 "temporal": 0.4}), (2, dict.fromkeys(cases, 0.5) | {"temporal": 0.4})):
        for name, (shape, kind, kernel) in cases.items():
            stats = analyze(write_spec(f"name: {name}\ninput: {shape}\nlayers:\n"
                                       f"  - {name}: {{kind: {kind}, out: 64, kernel: {kernel}}}\n"), batch=batch)
            plain = roofline(stats, replace(loaded, efficiency_by_size={})).by_name()
            _assert_divided(roofline(stats, loaded).by_name(), plain, {name: expected[name]})
            without = replace(loaded, efficiency_by_size={"conv": loaded.efficiency_by_size["conv"]._replace(native=())})
            _assert_divided(roofline(stats, without).by_name(), plain, {name: 0.4 if name == "temporal" else 0.5})
    assert load_profile(_written(tmp_path, loaded)).efficiency_by_size == loaded.efficiency_by_size


@pytest.mark.parametrize("largest, found", [(20480, 20480), (1000, 1000), (None, None), (0, None)])
def test_the_largest_input_torch_runs_on_its_own_kernel_is_asked_of_torch(largest, found):
    """On a made-up torch whose choice of kernel for a 3×3 convolution of batch 1 is its own up to
    `largest` elements of input and oneDNN's beyond (None: its own at every size; 0: oneDNN's at
    every size), the largest is found by halving; a torch that does not say, or whose function
    answers otherwise (another signature), gives None."""
    from archcalc.measure_device import _native_up_to

    def select(x, *rest):
        return "_ConvBackend.Slow2d" if largest is None or x.numel() <= largest else "_ConvBackend.Mkldnn"

    made_up = SimpleNamespace(_C=SimpleNamespace(_select_conv_backend=select),
                              empty=lambda *sizes: SimpleNamespace(numel=lambda: math.prod(sizes)))
    assert _native_up_to(made_up) == found
    assert _native_up_to(SimpleNamespace(_C=SimpleNamespace(), empty=made_up.empty)) is None

    def refuses(*arguments):
        raise ValueError("another signature")

    assert _native_up_to(SimpleNamespace(_C=SimpleNamespace(_select_conv_backend=refuses), empty=made_up.empty)) is None


@pytest.mark.parametrize("model, work, kinds", [
    ("resnet18", "pooling", {"maxpool2d"}), ("alexnet_paper", "pooling", {"maxpool2d", "lrn"}),
    ("efficientnet_b0", "transcendental", {"silu", "sigmoid"}), ("convnext_tiny", "transcendental", {"gelu"}),
    ("lraspp_mobilenet_v3_large", "resampling", {"upsample2d"}), ("deeplabv3_resnet50", "resampling", {"upsample2d"})])
def test_pooling_resampling_and_transcendental_functions_are_kinds_of_work_of_their_own(tmp_path, model, work, kinds):
    """Max and average pooling move a byte 30–70 times slower than a ReLU on a CPU, a bilinear
    upsampling about 20 times, a SiLU 3–4 times (all measured by `archcalc device-profile`
    on this project's machine): an efficiency given for pooling, resampling or transcendental
    functions divides the time of exactly those layers; ReLUs, hard-swishes, batch norms and
    global average poolings stay 'memory'."""
    profile = _made_up(tmp_path, "slow", {
        "name": f"a device at a tenth of its memory roofline on {work}",
        "peak_tflops": {"float32": 10}, "memory_gbps": 100, "launch_us": 0, "efficiency": {work: 0.1}})
    stats = analyze(model)
    plain = roofline(stats, replace(load_profile(str(profile)), efficiency={}))
    slow = roofline(stats, str(profile))
    slowed = set()
    for fast, tenth in zip(plain.layers, slow.layers):
        if tenth.time != fast.time:
            assert tenth.time == fast.time / 0.1 and tenth.work == work, tenth
            slowed.add(tenth.kind)
    assert slowed == kinds
    memory = {layer.kind for layer in slow.layers if layer.work == "memory"}
    assert memory & {"relu", "hardswish", "batchnorm2d", "adaptive_avgpool2d", "add"}, memory


POOLED_LAYERS = [("maxpool1d", {"kernel": 4}, (1, 8, 64)), ("maxpool2d", {"kernel": 3, "stride": 2, "padding": 1}, (1, 8, 16, 16)),
                 ("maxpool2d", {"kernel": [3, 2], "dilation": 2, "ceil_mode": True}, (3, 8, 17, 16)),
                 ("maxpool3d", {"kernel": [1, 3, 3], "stride": [1, 2, 2]}, (2, 4, 4, 8, 8)),
                 ("avgpool1d", {"kernel": 3}, (1, 8, 64)), ("avgpool2d", {"kernel": 2, "ceil_mode": True}, (1, 8, 15, 15)),
                 ("avgpool3d", {"kernel": 2}, (1, 4, 4, 8, 8)), ("lrn", {"size": 5}, (2, 8, 6, 6))]


@pytest.mark.parametrize("key, fields, shape", POOLED_LAYERS)
def test_a_pooling_layer_says_the_window_pooling_torch_runs_for_it(key, fields, shape):
    """The pooling torch's module runs, as aten dispatches it (torch 2.13): of max or average, the
    outputs it makes and the taps of its window (its kernel's sizes multiplied); a 1-D pooling is
    run as a 2-D one of height 1 (its own max_pool1d kernel is not seen under a dispatch mode), and
    a local response normalisation as an avg_pool3d of a window of `size` channels."""
    torch = pytest.importorskip("torch")
    from torch.utils._python_dispatch import TorchDispatchMode

    from archcalc.torchmodel import build_layer

    seen = []

    class Pools(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            if "pool" in func.overloadpacket.__name__:
                seen.append((func.overloadpacket.__name__, math.prod(args[1]), (out[0] if isinstance(out, tuple) else out).numel()))
            return out

    kind = LAYER_KINDS[key]
    a = kind.resolve(fields)
    pooled = kind.pooled(a, [shape], kind.output_shape(a, [shape]))
    with torch.no_grad(), Pools():
        build_layer(kind, a, [shape]).eval()(torch.randn(shape))
    [(operation, taps, outputs)] = seen
    family, axes = pooled.operation.split("_pool")
    assert operation.startswith(f"{family}_pool{max(axes, '2d')}") and (taps, outputs) == (pooled.taps, pooled.outputs)
    assert (pooled.operation == "avg_pool3d") if key == "lrn" else axes == f"{kind.axes}d"


def test_a_pooling_is_timed_by_its_outputs_and_taps_where_the_profile_measured_its_rate(tmp_path):
    """By hand: ResNet-18's max pooling (3×3, stride 2, of 64×112×112) makes 64 × 56 × 56 = 200,704
    outputs of 9 taps: at 10 ns an output and 1.5 a tap, 200,704 × 23.5 ns = 4.716544 ms, + 3 µs
    fixed; its bytes (3,211,264 in, 802,816 out, at 100 GB/s: 40.1408 µs) only where they take
    longer (at 0.5 GB/s, 8.028160 ms): it is compute-bound where its rate's time is the larger. A
    pooling the profile has no rate for, and every other layer, is timed as before (its bytes over
    the bandwidth, the efficiency dividing them)."""
    figures = {"name": "rated", "peak_tflops": {"float32": 10}, "memory_gbps": 100, "launch_us": 0,
               "fixed_us": {"pooling": 3}, "efficiency": {"pooling": 0.25},
               "pooling_ns": {"max_pool2d": {"output": 10, "tap": 1.5}}}
    stats = analyze("resnet18")
    rated = roofline(stats, str(_made_up(tmp_path, "rated", figures)))
    pool = rated.by_name()["maxpool"]
    assert (pool.bytes, pool.bound) == (4_014_080, "compute") and pool.time == pytest.approx(4.716544e-3 + 3e-6, rel=1e-12)
    assert pool.compute_time == pytest.approx(4.716544e-3, rel=1e-12)  # its comparisons at the rate, not FLOPs
    slow = roofline(stats, str(_made_up(tmp_path, "slow", {**figures, "memory_gbps": 0.5}))).by_name()["maxpool"]
    assert slow.time == pytest.approx(8.02816e-3 + 3e-6, rel=1e-12) and slow.bound == "memory"
    from archcalc.render.records import roofline_dict

    assert roofline_dict(rated)["pooling_ns"] == {"max_pool2d": {"output": 10.0, "tap": 1.5}}  # the JSON's figures as used
    unrated = roofline(stats, str(_made_up(tmp_path, "unrated", {**figures, "pooling_ns": {"avg_pool2d": {"output": 1, "tap": 1}}})))
    assert unrated.by_name()["maxpool"].time == pytest.approx(40.1408e-6 / 0.25 + 3e-6, rel=1e-12)
    assert [layer.time for layer in rated.layers if layer.name != "maxpool"] == \
        [layer.time for layer in unrated.layers if layer.name != "maxpool"]


@pytest.mark.parametrize("per_output, rate", [
    ({4: 11.0, 9: 21.0}, (3.0, 2.0)),      # the line through both windows
    ({4: 16.0, 9: 13.0}, (14.5, 0.0))])    # less an output at more taps: none a tap, their mean
def test_a_pooling_rate_is_the_line_through_its_two_windows(monkeypatch, per_output, rate):
    """By hand, on made-up times (fixed cost 2 µs taken off, over the outputs of each window: 2×2 and
    3×3 of stride 2 on 64×112×112, 200,704 outputs each): ns an output and a tap."""
    import archcalc.measure_device as measure

    monkeypatch.setattr(measure, "_built", lambda torch, device, dtype, graph, shape: (graph.nodes[0], shape))
    clock = SimpleNamespace(as_in_a_model=lambda node, x, budget=None: [
        2e-6 + 200_704 * per_output[math.prod(node.attrs.kernel)] / 1e9] * 3)
    base = DeviceProfile("b", "base", {"float32": 1}, 1, 0, {}, fixed_us={"pooling": 2})
    assert measure._pooling_rate(NO_GRAD, clock, "cpu", base, "float32", "max_pool2d") == pytest.approx(rate)


def test_the_kinds_of_work_measured_by_size_are_those_whose_layers_say_their_size():
    from archcalc.layers import LAYER_KINDS
    from archcalc.layers.base import SIZED_WORK, LayerKind
    from archcalc.measure_device import SIZED

    assert tuple(SIZED) == SIZED_WORK
    sized = {key for key, kind in LAYER_KINDS.items() if type(kind).work_size is not LayerKind.work_size}
    assert sized == {"linear", *(f"conv{n}d" for n in (1, 2, 3)), *(f"conv_transpose{n}d" for n in (1, 2, 3))}


@pytest.mark.parametrize("mode, work", [("nearest", "memory"), ("bilinear", "resampling")])
def test_a_nearest_upsampling_is_memory_work_and_an_interpolating_one_resampling(write_spec, mode, work):
    stats = analyze(write_spec(f"name: up\ninput: [4, 5, 5]\nlayers:\n  - up: {{kind: upsample2d, scale: 2, mode: {mode}}}\n"))
    node, = stats.graph.nodes
    assert node.kind.work(node.attrs, [stats.input_shape]) == work


def test_a_kinds_fixed_cost_replaces_the_launch_cost_of_its_layers(cli, tmp_path):
    """By hand on ResNet-18: each layer's time is its roofline plus the fixed cost the profile gives
    its kind of work, or the launch cost for a kind it does not give."""
    profile = _made_up(tmp_path, "fixed", {
        "name": "a device whose convolutions cost 40 µs and linear layers 7 µs however small",
        "peak_tflops": {"float32": 1}, "memory_gbps": 10, "launch_us": 3, "fixed_us": {"conv": 40, "linear": 7}})
    roof = roofline(analyze("resnet18"), str(profile))
    extra = {"conv": 40e-6, "linear": 7e-6}
    for layer in roof.layers:
        if layer.launches:
            bare = max(layer.flops / 1e12, layer.bytes / 10e9)
            assert layer.time == bare + extra.get(layer.work, 3e-6), layer.name
    works = [layer.work for layer in roof.layers if layer.launches]
    assert {"conv", "pointwise_conv", "linear", "memory"} <= set(works)  # the 1×1 downsamples keep the launch cost
    assert roof.fixed == pytest.approx(sum(extra.get(work, 3e-6) for work in works), rel=1e-12)
    document = json.loads(cli("table", "resnet18", "--device-profile", profile, "--format", "json").stdout)
    assert document["roofline"]["fixed_s"] == {"conv": 40e-6, "linear": 7e-6}
    assert document["roofline"]["time_s"] == roof.total
    text = cli("table", "resnet18", "--device-profile", profile).stdout
    fixed = sum(extra.get(work, 3e-6) for work in works) * 1e6  # 16 convolutions, 5 others of 3 µs, one linear
    assert f"{len(works)} kernels ({fixed:.0f} µs of it their fixed costs)" in text
    report = cli("report", "resnet18", "--device-profile", profile).stdout
    assert ("| device profile | a device whose convolutions cost 40 µs and linear layers 7 µs however small (fixed), "
            "fixed costs per layer conv 40.0 µs, linear 7.00 µs (docs/latency.md) |") in report


def test_each_synthetic_layer_at_its_smallest_does_the_same_kind_of_work():
    """The fixed cost of a kind of work is measured on its synthetic layers shrunk to 8 channels and
    one pixel: each must still be that kind (a depthwise convolution keeps a group per channel)."""
    from archcalc.analysis import analyze_graph
    from archcalc.measure_device import SYNTHETIC, smallest, synthetic_graph

    for work, layers in SYNTHETIC.items():
        for layer in layers:
            kind, fields, shape = smallest(*layer)
            assert sorted(shape) == [1] * (len(shape) - 1) + [8] and kind == layer[0]
            stats = analyze_graph(synthetic_graph(kind, fields, shape))
            assert roofline(stats, "h200").layers[0].work == work, layer


# --- profile files ------------------------------------------------------------------------------------

def test_every_bundled_profile_has_its_figures_and_their_sources():
    profiles = bundled_profiles()
    assert {"h200", "h100-sxm", "a100-80gb", "l4", "t4", "rtx-4090"} <= set(profiles)
    for profile in profiles.values():
        assert {"float32", "float16"} <= set(profile.peak_tflops)
        assert set(profile.sources) == {"peak_tflops", "memory_gbps", "launch_us"}
    # NVIDIA's datasheets (the URLs in the file): dense = half the "with sparsity" figure
    assert profiles["h200"].peak_tflops["bfloat16"] == 1979 / 2 and profiles["h200"].memory_gbps == 4800
    assert profiles["a100-80gb"].peak_tflops["float16"] == 312 and profiles["a100-80gb"].memory_gbps == 2039
    assert "bfloat16" not in profiles["t4"].peak_tflops  # Turing has no BF16 Tensor Core path


def _profile_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """schema: archcalc.devices/1
devices:
  mine:
    name: My GPU
    peak_tflops: {float32: 10}
    memory_gbps: 500
    launch_us: 4
    sources: {peak_tflops: a datasheet, memory_gbps: a datasheet, launch_us: a measurement}
"""


def _given(figure: str, value: str, sourced: bool = True) -> str:
    """GOOD with `FIGURE: VALUE`, and its source where `sourced`."""
    source = f", {figure}: a measurement" if sourced else ""
    return GOOD.replace("    launch_us: 4\n", f"    launch_us: 4\n    {figure}: {value}\n").replace(
        "launch_us: a measurement}", f"launch_us: a measurement{source}}}")


ZERO = {"peak_tflops": "{float32: 0}", "memory_gbps": "0", "launch_us": "0", "fixed_us": "{conv: 0}",
        "onednn_fixed_us": "0", "efficiency": "{conv: 0}", "cold_start": "0", "cold_weights": "0", "cache_mib": "0",
        "pooling_ns": "{max_pool2d: {output: 0, tap: 0}}"}
"""Each plain figure of a profile (and of a mapping of them, one) written as 0."""


def test_the_figures_that_may_be_0_are_those_docs_latency_names(tmp_path):
    """docs/latency.md named launch_us, fixed_us and onednn_fixed_us as the figures that may be
    0; the reader took cold_start, cold_weights, cache_mib and pooling_ns at 0 too."""
    text = " ".join((ROOT / "docs" / "latency.md").read_text(encoding="utf-8").split())
    said = text.split("Numbers are plain decimals", 1)[1].split(" may be 0", 1)[0].split("10⁹ (", 1)[1]
    named = set(re.findall(r"`(\w+)`", said))
    assert named <= set(ZERO)
    taken = set()
    for figure, value in ZERO.items():
        if figure in ("peak_tflops", "memory_gbps", "launch_us"):
            written = {"peak_tflops": "{float32: 10}", "memory_gbps": "500", "launch_us": "4"}[figure]
            text = GOOD.replace(f"{figure}: {written}\n", f"{figure}: {value}\n")
        else:
            text = _given(figure, value)
        try:
            load_profile(str(_profile_file(tmp_path, text)))
        except UserError:
            continue
        taken.add(figure)
    assert taken == named


def _sized(tables: str, sourced: bool = True) -> str:
    return _given("efficiency_by_size", tables, sourced)


def _blocked(blocks: str, sourced: bool = True) -> str:
    return _given("channel_blocks", blocks, sourced)


@pytest.mark.parametrize(("broken", "says"), [
    (GOOD.replace("schema: archcalc.devices/1", "schema: 2"), "schema: must be 'archcalc.devices/1', got 2"),
    (GOOD.replace("memory_gbps: 500", "memory_gbps: 5e2"), "devices.mine.memory_gbps: must be a number from 1e-06 to 1e+09, got '5e2'"),
    (GOOD.replace("launch_us: 4", "launch_us: -1"), "devices.mine.launch_us: must be a number 0 or from 1e-06 to 1e+09, got -1"),
    (GOOD.replace("memory_gbps: 500", "memory_gbps: 1.0e-320"),  # every time infinite, the JSON invalid
     "devices.mine.memory_gbps: must be a number from 1e-06 to 1e+09, got 1e-320"),
    (GOOD.replace("float32: 10", "float32: 1.0e+300"),
     "devices.mine.peak_tflops.float32: must be a number from 1e-06 to 1e+09, got 1e+300"),
    (GOOD.replace("float32: 10", "float23: 10"), "devices.mine.peak_tflops.float23: is not a dtype (did you mean 'float32'?)"),
    (GOOD.replace("memory_gbps: a datasheet, ", ""), "devices.mine.sources.memory_gbps: is missing, empty or not one line"),
    (GOOD.replace("    launch_us: 4\n", ""), "devices.mine: has no 'launch_us'"),
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    efficiency: {dw: 0.5}\n"),
     "devices.mine.efficiency.dw: is not a kind of work"),
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    fixed_us: {conv2d: 9}\n"),
     "devices.mine.fixed_us.conv2d: is not a kind of work (did you mean 'conv'?)"),
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    fixed_us: {conv: -9}\n"),
     "devices.mine.fixed_us.conv: must be a number 0 or from 1e-06 to 1e+09, got -9"),
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    fixed_us: {conv: 9}\n"),
     "devices.mine.sources.fixed_us: is missing, empty or not one line"),
    (GOOD + GOOD.split("devices:\n")[1].replace("mine", "other"), "holds 2 profiles (mine, other)"),
    (_sized("{dw: {}}"), "devices.mine.efficiency_by_size.dw: is not a kind of work measured by size"),
    (_sized("{memory: {}}"), "devices.mine.efficiency_by_size.memory: is not a kind of work measured by size"),
    (_sized("{conv: [1]}"), "devices.mine.efficiency_by_size.conv: must be a mapping of widths, positions, reached"),
    (_sized("{conv: {widths: [1]}}"), "devices.mine.efficiency_by_size.conv: has no 'positions'"),
    (_sized("{conv: {width: [1], positions: [1], reached: [[1]]}}"),
     "devices.mine.efficiency_by_size.conv.width: is not a key of a table (did you mean 'widths'?)"),
    (_sized("{conv: {widths: [" + ", ".join(map(str, range(1, 66))) + "], positions: [1], reached: [[1]]}}"),
     "devices.mine.efficiency_by_size.conv.widths: must be a list of 1 to 64 sizes"),
    (_sized("{conv: {widths: [4, 4], positions: [1], reached: [[1], [1]]}}"),
     "devices.mine.efficiency_by_size.conv.widths: must increase from each size to the next"),
    (_sized("{conv: {widths: [4, 8], positions: [1, 2], reached: [[1, 1], [1]]}}"),
     "devices.mine.efficiency_by_size.conv.reached[1]: must be a row of 2 fractions (one per positions), got list [1]"),
    (_sized("{conv: {widths: [4], positions: [1, 2], reached: [[1, 0]]}}"),
     "devices.mine.efficiency_by_size.conv.reached[0][1]: must be a number from 1e-06 to 1e+09, got 0"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], groups: [2]}}"),
     "devices.mine.efficiency_by_size.conv.groups: is given without 'grouped'"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], grouped: [[[1]]]}}"),
     "devices.mine.efficiency_by_size.conv.grouped: is given without 'groups'"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], groups: [2, 8], grouped: [[[1]]]}}"),
     "devices.mine.efficiency_by_size.conv.grouped: must be a grid per groups (2), got list [[[...]]]"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], groups: [2], grouped: [[[1, 1]]]}}"),
     "devices.mine.efficiency_by_size.conv.grouped[0][0]: must be a row of 1 fractions (one per positions)"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], groups: [8, 2], grouped: [[[1]], [[1]]]}}"),
     "devices.mine.efficiency_by_size.conv.groups: must increase from each size to the next"),
    (GOOD.replace("launch_us: 4\n", "launch_us: 4\n    cold_start: -1\n").replace(
        "launch_us: a measurement}", "launch_us: a measurement, cold_start: a measurement}"),
     "devices.mine.cold_start: must be a number 0 or from 1e-06 to 1e+09, got -1"),
    (GOOD.replace("launch_us: 4\n", "launch_us: 4\n    cold_start: 2\n"), "devices.mine.sources.cold_start: is missing"),
    (GOOD.replace("launch_us: 4\n", "launch_us: 4\n    cold_weights: -2\n").replace(
        "launch_us: a measurement}", "launch_us: a measurement, cold_weights: a measurement}"),
     "devices.mine.cold_weights: must be a number 0 or from 1e-06 to 1e+09, got -2"),
    (GOOD.replace("launch_us: 4\n", "launch_us: 4\n    cold_weights: 2\n"), "devices.mine.sources.cold_weights: is missing"),
    (GOOD.replace("launch_us: 4\n", "launch_us: 4\n    onednn_fixed_us: fast\n").replace(
        "launch_us: a measurement}", "launch_us: a measurement, onednn_fixed_us: a measurement}"),
     "devices.mine.onednn_fixed_us: must be a number 0 or from 1e-06 to 1e+09, got 'fast'"),
    (GOOD.replace("launch_us: 4\n", "launch_us: 4\n    onednn_fixed_us: 24\n"),
     "devices.mine.sources.onednn_fixed_us: is missing"),
    (GOOD.replace("launch_us: 4\n", "launch_us: 4\n    cache_mib: 32M\n").replace(
        "launch_us: a measurement}", "launch_us: a measurement, cache_mib: the datasheet}"),
     "devices.mine.cache_mib: must be a number 0 or from 1e-06 to 1e+09, got '32M'"),
    *((GOOD.replace("launch_us: 4\n", f"launch_us: 4\n    padded_taps: {taps}\n").replace(
        "launch_us: a measurement}", "launch_us: a measurement, padded_taps: a measurement}"), error) for taps, error in (
        ("28", "devices.mine.padded_taps: must map 'saved' and 'up_to' to numbers, got int 28"),
        ("{saved: 0.8}", "devices.mine.padded_taps: must map 'saved' and 'up_to' to numbers"),
        ("{saved: 1.5, up_to: 28}", "devices.mine.padded_taps.saved: must be a number from 0 to 1, got 1.5"),
        ("{saved: .nan, up_to: 28}", "devices.mine.padded_taps.saved: must be a number from 0 to 1, got nan"),
        ("{saved: 0.8, up_to: 28.5}", "devices.mine.padded_taps.up_to: must be a whole number from 0 to 4096, got 28.5"),
        ("{saved: 0.8, up_to: true}", "devices.mine.padded_taps.up_to: must be a whole number from 0 to 4096"))),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], strided_grouped: [[[1]]]}}"),
     "devices.mine.efficiency_by_size.conv.strided_grouped: is given without 'groups'"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], groups: [2], grouped: [[[1]]], "
            "strided_grouped: [[[1]], [[1]]]}}"),
     "devices.mine.efficiency_by_size.conv.strided_grouped: must be a grid per groups (1), got list [[[...]]"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], groups: [2], grouped: [[[1]]], "
            "strided_grouped: [[[0]]]}}"),
     "devices.mine.efficiency_by_size.conv.strided_grouped[0][0][0]: must be a number from 1e-06 to 1e+09, got 0"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], native: [[1]]}}"),
     "devices.mine.efficiency_by_size.conv.native: is given without 'native_up_to'"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], native_up_to: 0, native: [[1]]}}"),
     "devices.mine.efficiency_by_size.conv.native_up_to: must be a number from 1e-06 to 1e+09, got 0"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], native_up_to: 20480, native: [[1, 1]]}}"),
     "devices.mine.efficiency_by_size.conv.native[0]: must be a row of 1 fractions (one per positions)"),
    (GOOD.replace("launch_us: 4\n", "launch_us: 4\n    padded_taps: {saved: 0.8, up_to: 28}\n"),
     "devices.mine.sources.padded_taps: is missing"),
    (_blocked("16"), "devices.mine.channel_blocks: must map a kind of work to its block of output channels, got int 16"),
    (_blocked("{pooling: 16}"), "devices.mine.channel_blocks.pooling: is not a kind of work that computes channels"),
    (_blocked("{conv: 0}"), "devices.mine.channel_blocks.conv: must be a whole number of channels from 1 to 4096, got 0"),
    (_blocked("{conv: 16.0}"), "devices.mine.channel_blocks.conv: must be a whole number of channels from 1 to 4096, got 16.0"),
    (_blocked("{linear: true}"), "devices.mine.channel_blocks.linear: must be a whole number of channels"),
    (_blocked("{conv: 16}", sourced=False), "devices.mine.sources.channel_blocks: is missing, empty or not one line"),
    (GOOD.replace("memory_gbps: 500", "memory_gbps: " + "1" * 400),  # too large for a float: OverflowError before
     "devices.mine.memory_gbps: must be a number from 1e-06 to 1e+09, got 111111111111111111...1111111111111111111"),
    (_given("pooling_ns", "{max_pool2d: {output: " + "9" * 400 + ", tap: 1}}"),
     "devices.mine.pooling_ns.max_pool2d.output: must be a number 0 or from 1e-06 to 1e+09, got 999999"),
    (_given("pooling_ns", "[1, 2]"), "devices.mine.pooling_ns: must map a pooling to its rates, got list [1, 2]"),
    (_given("pooling_ns", "{max_pool: {output: 1, tap: 1}}"),
     "devices.mine.pooling_ns.max_pool: is not a pooling (did you mean 'max_pool"),
    (_given("pooling_ns", "{max_pool2d: {output: 1}}"), "devices.mine.pooling_ns.max_pool2d: must map 'output' and 'tap' to ns"),
    (_given("pooling_ns", "{avg_pool3d: {output: 1, tap: -0.5}}"),
     "devices.mine.pooling_ns.avg_pool3d.tap: must be a number 0 or from 1e-06 to 1e+09, got -0.5"),
    (_given("pooling_ns", "{avg_pool3d: {output: 1, tap: 0}}", sourced=False),
     "devices.mine.sources.pooling_ns: is missing, empty or not one line"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], taps: [9, 49]}}"),
     "devices.mine.efficiency_by_size.conv.taps: is given without 'tapped'"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], taps: [9], tapped: []}}"),
     "devices.mine.efficiency_by_size.conv.tapped: must be a grid for each taps after the first (1), got list []"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], taps: [9, 49, 25], tapped: [[[1]], [[1]]]}}"),
     "devices.mine.efficiency_by_size.conv.taps: must increase from each size to the next"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], taps: [9, 49], tapped: [[[1, 2]]]}}"),
     "devices.mine.efficiency_by_size.conv.tapped[0][0]: must be a row of 1 fractions (one per positions)"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], temporal: [[1], [1]]}}"),
     "devices.mine.efficiency_by_size.conv.temporal: must be a row per width (1), each a fraction per positions (1)"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], temporal: [[0]]}}"),
     "devices.mine.efficiency_by_size.conv.temporal[0][0]: must be"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], temporals: [[1]]}}"),
     "devices.mine.efficiency_by_size.conv.temporals: is not a key of a table (did you mean 'temporal'?)"),
    (_sized("{pointwise_conv: {widths: [4], positions: [1], reached: [[1]], strided: [[1], [1]]}}"),
     "devices.mine.efficiency_by_size.pointwise_conv.strided: must be a row per width (1), each a fraction per positions (1)"),
    (_sized("{pointwise_conv: {widths: [4], positions: [1], reached: [[1]], strided: [[-1]]}}"),
     "devices.mine.efficiency_by_size.pointwise_conv.strided[0][0]: must be"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], alignments: [8, 16]}}"),
     "devices.mine.efficiency_by_size.conv.alignments: is given without 'aligned'"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], alignments: [8, 12], aligned: [0.5, 1]}}"),
     "devices.mine.efficiency_by_size.conv.alignments[1]: must be a power of two, got 12.0"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], alignments: [16, 8], aligned: [0.5, 1]}}"),
     "devices.mine.efficiency_by_size.conv.alignments: must increase from each size to the next"),
    (_sized("{depthwise_conv: {widths: [4], positions: [1], reached: [[1]], alignments: [8, 16], aligned: [0.5]}}"),
     "devices.mine.efficiency_by_size.depthwise_conv.aligned: must be a share per alignment (2), got list [0.5]"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]], alignments: [8, 16], aligned: [0, 1]}}"),
     "devices.mine.efficiency_by_size.conv.aligned[0]: must be a number"),
    (_sized("{conv: {widths: [4], positions: [1], reached: [[1]]}}", sourced=False),
     "devices.mine.sources.efficiency_by_size: is missing, empty or not one line"),
    (GOOD.replace("name: My GPU", "name: [My GPU"), "profile.yaml:4:11: this '[' is not closed"),
    # control characters: a name on two lines split the table's line of the prediction, a NUL went to stdout
    (GOOD.replace("name: My GPU", 'name: "My\\nGPU"'), "devices.mine.name: must be the device in words on one line, got 'My\\nGPU'"),
    (GOOD.replace("  mine:", '  "mi\\0ne":'), "devices: names a profile 'mi\\x00ne': not printable text on one line"),
    (GOOD.replace("memory_gbps: a datasheet", 'memory_gbps: "a\\rdatasheet"'),
     "devices.mine.sources.memory_gbps: is missing, empty or not one line"),
    ("- a list\n", "(top): must be a mapping"),
])
def test_a_broken_profile_file_is_one_clear_error(cli, tmp_path, broken, says):
    path = _profile_file(tmp_path, broken)
    result = cli("table", "resnet18", "--device-profile", path)
    assert result.exit_code == 2
    assert says in result.stderr and str(path) in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(("broken", "where", "shown"), [
    (GOOD.replace("memory_gbps: 500", "memory_gbps: 5e2"), "6:18", "memory_gbps: 5e2"),
    (GOOD.replace("float32: 10", "float23: 10"), "5:19", "peak_tflops: {float23: 10}"),
    (GOOD.replace("    launch_us: 4\n", ""), "4:5", "name: My GPU"),
    (GOOD.replace("schema: archcalc.devices/1", "schema: 2"), "1:9", "schema: 2"),
    (_sized("{conv: {widths: [4], positions: [1, 2], reached: [[1, 0]]}}"), "8:79", "efficiency_by_size:"),
    (GOOD.replace("  mine:", '  "mi\\0ne":'), "3:3", '"mi\\0ne":'),
    # a key given twice (YAML would keep the last), and 0x10 (YAML reads 16): refused where written
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    memory_gbps: -1\n"), "8:5", "memory_gbps: -1"),
    (GOOD.replace("float32: 10", "float32: 10, 0x10: 3"), "5:32", "peak_tflops: {float32: 10, 0x10: 3}"),
    ("schema: archcalc.devices/1\n1: 2\nzz: 3\n", "2:1", "1: 2"),  # keys of two types: a TypeError before
])
def test_a_broken_profile_file_names_the_line_and_column(cli, tmp_path, broken, where, shown):
    """The error's place is the offending value (the key, where the key is wrong; the profile's
    mapping, where a figure is missing), with its line shown and a caret under it, as a spec's
    errors are (they named the key path alone)."""
    path = _profile_file(tmp_path, broken)
    result = cli("table", "resnet18", "--device-profile", path)
    line, column = map(int, where.split(":"))
    assert result.exit_code == 2 and f"{path}:{where}: " in result.stderr, result.stderr
    source, caret = result.stderr.splitlines()[1:3]
    assert source.startswith(f"  {line} | ") and shown in source
    assert caret.index("^") - caret.index("|") == column + 1


@pytest.mark.parametrize(("written", "says"), [
    ("memory_gbps: 500\n    memory_gbps: 0.001", "duplicate key 'memory_gbps' (first at line 6)"),
    ("memory_gbps: 0500", "YAML reads 0500 as octal, as 320, not as written"),
    ("memory_gbps: 0x1f4", "YAML reads 0x1f4 in base 16, as 500, not as written"),
    ("memory_gbps: 8:20", "YAML reads 8:20 in base 60, as 500, not as written"),
])
def test_a_profile_figure_yaml_reads_otherwise_than_written_is_refused(cli, tmp_path, written, says):
    """An attacking review found a `memory_gbps` written twice taking the second (368 ms predicted
    for LeNet-5 where the first gave 83.5 µs), and 017, 0x10 and 1:30 read as 15, 16 and 90, all
    without a word, where the spec reader refuses each. Hand arithmetic: 0500 octal is 320, 0x1f4 is
    500, 8:20 in base 60 is 8·60 + 20 = 500."""
    path = _profile_file(tmp_path, GOOD.replace("memory_gbps: 500", written))
    result = cli("table", "resnet18", "--device-profile", path)
    assert result.exit_code == 2 and says in result.stderr and f"{path}:" in result.stderr, result.stderr


def test_a_figure_that_aliases_make_huge_is_refused_in_one_short_line(cli, tmp_path):
    """Seven levels of YAML aliases, ten lists each, make 10⁸ numbers in a few hundred bytes: the
    error shows a few of them (the whole repr was megabytes and took seconds)."""
    nested = "&l0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]"
    for level in range(1, 8):
        nested = f"&l{level} [{nested}, " + ", ".join([f"*l{level - 1}"] * 9) + "]"
    path = _profile_file(tmp_path, GOOD.replace("memory_gbps: 500", f"memory_gbps: {nested}"))
    result = cli("table", "resnet18", "--device-profile", path)
    assert result.exit_code == 2 and "devices.mine.memory_gbps: must be a number" in result.stderr
    assert len(result.stderr) < 600 and "Traceback" not in result.stderr


@pytest.mark.parametrize("command", [["validate", "lenet5"], ["table", "lenet5"]])
def test_an_empty_device_profile_is_said_to_be_empty(cli, command):
    """A fuzzer found `--device-profile ""` refused as ".:1:1: this is a directory": the empty name was
    read as the path '.'."""
    result = cli(*command, "--device-profile", "")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: --device-profile needs a bundled profile's name or a profile file, "
                                    "got ''\n"), result.stderr


def test_unknown_names_and_dtypes_the_profile_lacks(cli):
    result = cli("table", "resnet18", "--device-profile", "h20")
    assert result.exit_code == 2 and "unknown device profile 'h20' (did you mean 'h200'?)" in result.stderr
    result = cli("table", "resnet18", "--device-profile", "t4", "--dtype", "bfloat16")
    assert result.exit_code == 2 and "'t4' (archcalc/devices.yaml) gives no peak for bfloat16" in result.stderr
    result = cli("table", "resnet18", "--device-profile", "h200", "--input", "3xHxW")
    assert result.exit_code == 2 and "the roofline is worked out at one size" in result.stderr


def test_the_dtypes_a_profile_lacks_are_hinted_with_those_dtype_takes(cli, tmp_path):
    """tf32's peak is for the reader: --dtype refuses tf32, so the hint does not offer it (it said
    'it gives float32, tf32, …: choose one with --dtype', and of a profile of tf32 alone 'it gives
    tf32: choose one with --dtype')."""
    result = cli("table", "lenet5", "--device-profile", "h200", "--dtype", "int8")
    assert result.exit_code == 2 and "hint: it gives float32, float16, bfloat16, float64: choose one with --dtype, " \
        "or add 'int8: TFLOPS' under peak_tflops with its source\n" in result.stderr, result.stderr
    path = _profile_file(tmp_path, GOOD.replace("{float32: 10}", "{tf32: 10}"))
    result = cli("table", "lenet5", "--device-profile", path)
    assert result.exit_code == 2 and result.stderr.endswith(
        "gives no peak for float32\n  hint: it gives tf32, which is no --dtype: add 'float32: TFLOPS' under "
        "peak_tflops with its source\n"), result.stderr
    assert cli("table", "lenet5", "--dtype", "tf32").exit_code == 2  # as the hint says


def test_a_good_profile_file_is_taken(cli, tmp_path):
    path = _profile_file(tmp_path, GOOD)
    document = json.loads(cli("table", "resnet18", "--device-profile", path, "--format", "json").stdout)
    assert document["roofline"]["profile"] == "mine" and document["roofline"]["peak_flops"] == 10e12


# --- the command line --------------------------------------------------------------------------------

def test_table_json_csv_text_and_markdown_carry_the_roofline(cli):
    roof = roofline(analyze("resnet18", dtype="bfloat16"), "h200")
    text = cli("table", "resnet18", "--device-profile", "h200", "--dtype", "bfloat16", "--format", "json").stdout
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, ensure_ascii=False) + "\n"  # the rows' fast writer is json's
    summary = document["roofline"]
    assert summary["time_s"] == roof.total and summary["kernels"] == roof.kernels
    assert (summary["peak_flops"], summary["memory_bandwidth"], summary["launch_s"]) == (989.5e12, 4800e9, 5e-6)
    first = document["rows"][0]["roofline"]
    assert first == {"flops": 236_027_904, "bytes": (3 * 224 * 224 + 64 * 3 * 49 + 64 * 112 * 112) * 2,
                     "intensity": 236_027_904 / 1_925_504, "bound": "memory", "time_s": roof.layers[0].time}
    flatten = next(row for row in document["rows"] if row["kind"] == "flatten")["roofline"]
    assert flatten == {"flops": 0, "bytes": 0, "intensity": None, "bound": "none", "time_s": 0.0}

    for depth in ("1", "2"):
        text = cli("table", "resnet18", "--device-profile", "h200", "--depth", depth, "--format", "json").stdout
        assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    rows = list(csv.DictReader(io.StringIO(cli("table", "resnet18", "--device-profile", "h200", "--depth", "1",
                                               "--format", "csv").stdout)))
    assert rows[-1]["name"] == "total"
    assert float(rows[-1]["time_s"]) == roofline(analyze("resnet18"), "h200").total
    # in float32 on the H200 (67 TFLOP/s, 4.8 TB/s) conv1 is compute-bound: 236 MFLOP take 3.5 µs, its 3.9 MB 0.8 µs
    assert [row["bound"] for row in rows[:4]] == ["compute", "memory", "memory", "memory"]

    text = cli("table", "resnet18", "--device-profile", "h200").stdout
    assert "FLOP/B  bound" in text and "predicted on NVIDIA H200 SXM (141 GB HBM3e) (h200) in float32:" in text
    markdown = cli("table", "resnet18", "--device-profile", "h200", "--format", "markdown").stdout
    assert "| FLOP/B | bound | time |" in markdown


def test_without_a_profile_nothing_changes(cli):
    plain = cli("table", "resnet18", "--format", "json").stdout
    assert "roofline" not in plain and "FLOP/B" not in cli("table", "resnet18").stdout


def test_report_charts_predicted_time_beside_the_macs(cli):
    report = cli("report", "mobilenet_v2", "--device-profile", "h200", "--dtype", "bfloat16").stdout
    assert "## Predicted time beside MACs" in report and "xychart-beta" in report
    assert "| FLOP/B | bound | time | time share |" in report
    assert "| device profile | NVIDIA H200 SXM (141 GB HBM3e) (h200)" in report
    assert "predicted latency" not in cli("report", "mobilenet_v2").stdout
    stats = analyze("mobilenet_v2", dtype="bfloat16")
    roof = roofline(stats, "h200")
    stages = stats.rows(depth=1)
    chart = report.split("## Predicted time beside MACs")[1].split("\n## ")[0].splitlines()
    bars = next(line for line in chart if line.startswith("    bar ["))
    line = next(line for line in chart if line.startswith("    line ["))
    assert bars == "    bar [" + ", ".join(f"{100 * roof.time_of(row.name) / roof.total:.1f}" for row in stages) + "]"
    assert line == "    line [" + ", ".join(f"{100 * row.figures.macs / stats.totals.macs:.1f}" for row in stages) + "]"
    # where the two rankings part: block5 holds the most MACs, block4 the most predicted time
    assert max(stages, key=lambda row: row.figures.macs).name == "block5"
    assert max(stages, key=lambda row: roof.time_of(row.name)).name == "block4"


def test_the_roofline_path_never_imports_torch():
    probe = ("import sys\nfrom archcalc.cli import main\n"
             "sys.argv = ['archcalc', 'table', 'resnet152', '--device-profile', 'h200', '--format', 'json']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write('torch' if 'torch' in sys.modules else 'no-torch')\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=ROOT,
                            check=False)
    assert result.stderr.strip() == "no-torch"
    assert '"roofline"' in result.stdout


# --- device-profile ---------------------------------------------------------------------------------

def _quick(monkeypatch):
    """Measurements short enough for a test: the figures are checked for their form, not their size."""
    import archcalc.measure_device as measure

    monkeypatch.setattr(measure, "BUDGET_S", 0.0)
    monkeypatch.setattr(measure, "MIN_RUNS", 1)
    monkeypatch.setattr(measure, "GEMM_SIZE", {"cpu": 64, "cuda": 256})
    monkeypatch.setattr(measure, "COPY_BYTES", {"cpu": 4 * 2**20, "cuda": 64 * 2**20})
    monkeypatch.setattr(measure, "GRID_MACS", {"cpu": 2**16, "cuda": 2**20})
    monkeypatch.setattr(measure, "ROUNDS", 5)
    monkeypatch.setattr(measure, "POOLING_MAPS", {1: (8, 64), 2: (8, 16, 16), 3: (8, 4, 8, 8)})


def test_device_profile_writes_a_profile_the_table_takes(cli, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    import archcalc.measure_device as measure
    from archcalc import progress

    _quick(monkeypatch)
    told: list[str] = []
    monkeypatch.setattr(progress, "WATCHER", told.append)  # a pipe's: what a terminal's spinner would show
    among, taken_off = [], []  # the fixed costs among others, and those the efficiencies take off
    costs_among, efficiency = measure.among_others, measure._efficiency
    monkeypatch.setattr(measure, "among_others", lambda *args: among.append(costs_among(*args)) or dict(among[0]))
    monkeypatch.setattr(measure, "_efficiency", lambda torch, clock, device, base, *rest: taken_off.append(base.fixed_us)
                        or efficiency(torch, clock, device, base, *rest))
    out = tmp_path / "cpu.yaml"
    result = cli("device-profile", "--device", "cpu", "-o", out)
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(r"device-profile: done \(\d+\.\d s\)\n", result.stderr)
    works = ["depthwise conv", "pointwise conv", "conv", "linear", "memory", "pooling", "resampling", "transcendental"]
    assert told[0] == "importing torch" and told[1] == "GEMMs in float32 on cpu"
    assert told[-34:] == ["copies on cpu", "the launch cost on cpu",
                          *(f"{work} layers at their smallest in float32" for work in works),
                          "a convolution on oneDNN at its smallest in float32",
                          "layers at their smallest among others in float32",
                          *(f"the alignment of {work} layers in float32" for work in ("depthwise conv", "conv")),
                          *(f"the block of output channels of {work} layers in float32" for work in works[:4]),
                          "a layer's weights read cold in float32", "a layer's cold start in float32",
                          "the taps a convolution skips in its padding in float32",
                          *(f"{work} layers in float32" for work in works),
                          *(f"{work} layers by size in float32" for work in works[:4]),
                          "window poolings in float32"]
    profile = load_profile(str(out))
    assert profile.key == "local-cpu" and profile.name.endswith(f"{torch.backends.cpu.get_cpu_capability()}), 1 thread")
    assert {"float32", "bfloat16"} <= set(profile.peak_tflops)
    assert set(profile.efficiency) == set(profile.fixed_us) == {"depthwise_conv", "pointwise_conv", "conv", "linear",
                                                                "memory", "pooling", "resampling",
                                                                "transcendental"}
    onednn = among[0].pop("onednn")  # oneDNN's, measured among the others too
    assert dict(profile.fixed_us) == among[0] and all(cost > 0 for cost in among[0].values())  # kept: among others
    assert profile.onednn_fixed_us == onednn > 0
    assert taken_off and all(dict(costs) != among[0] and set(costs) == set(among[0]) for costs in taken_off)  # in a row
    assert set(profile.sources) == {"peak_tflops", "memory_gbps", "launch_us", "fixed_us", "onednn_fixed_us", "efficiency",
                                    "efficiency_by_size", "channel_blocks", "cold_start", "padded_taps", "cold_weights",
                                    "cache_mib", "pooling_ns"}
    assert tuple(profile.pooling_ns) == POOLINGS and all(rate.output >= 0 and rate.tap >= 0
                                                         for rate in profile.pooling_ns.values())
    assert profile.cold_start >= 0 and profile.cold_weights >= 0
    assert profile.cache_mib == measure._cache_mib(torch, "cpu") and (profile.cache_mib > 0) == (
        measure.CPU_CACHES.is_dir())  # Linux's largest cache
    assert 0 <= profile.padded_taps.saved <= 1 and (
        profile.padded_taps.up_to in range(measure.PADDED_DILATION, measure.PADDED_SIDE)
        if profile.padded_taps.saved >= measure.MIN_SAVED else profile.padded_taps.up_to == 0)
    assert set(profile.channel_blocks) == {"depthwise_conv", "pointwise_conv", "conv", "linear"}
    assert set(profile.channel_blocks.values()) <= {1, *measure.BLOCKS}
    assert set(profile.efficiency_by_size) == {"depthwise_conv", "pointwise_conv", "conv", "linear"}
    for table in profile.efficiency_by_size.values():  # every point given, measured or the nearest one measured
        assert table.widths == tuple(map(float, measure.WIDTHS))
        assert table.positions == tuple(float(side * side) for side in measure.SIDES)
        assert len(table.reached) == len(table.widths) and {len(row) for row in table.reached} == {len(table.positions)}
    conv = profile.efficiency_by_size["conv"]
    assert conv.native_up_to == 20480 and len(conv.native) == len(conv.widths)  # aten's use_mkldnn, torch 2.13
    assert {len(row) for row in conv.native} == {len(conv.positions)}
    assert not any(table.native for work, table in profile.efficiency_by_size.items() if work != "conv")
    # and a grid per groups of grouped convolutions
    assert conv.groups == tuple(map(float, measure.GROUPS)) and len(conv.grouped) == len(conv.groups)
    assert all(len(grid) == len(conv.widths) and {len(row) for row in grid} == {len(conv.positions)}
               for grid in conv.grouped)
    assert len(conv.strided_grouped) == len(conv.groups)
    assert all(len(grid) == len(conv.widths) and {len(row) for row in grid} == {len(conv.positions)}
               for grid in conv.strided_grouped)
    assert conv.taps == tuple(float(side * side) for side in (3, *measure.KERNELS["conv"])) and len(conv.tapped) == 3
    depthwise = profile.efficiency_by_size["depthwise_conv"]  # and grids of depthwise ones by their kernel
    assert depthwise.taps == (9.0, 25.0, 49.0) and len(depthwise.tapped) == 2
    assert all(len(grid) == len(depthwise.widths) and {len(row) for row in grid} == {len(depthwise.positions)}
               for grid in depthwise.tapped)
    assert all(len(grid) == len(conv.widths) and {len(row) for row in grid} == {len(conv.positions)}
               for grid in conv.tapped)
    assert len(conv.temporal) == len(conv.widths) and {len(row) for row in conv.temporal} == {len(conv.positions)}
    assert not any(table.groups or table.temporal for work, table in profile.efficiency_by_size.items() if work != "conv")
    assert not any(table.taps for work, table in profile.efficiency_by_size.items() if work not in measure.TAPPED)
    for work, table in profile.efficiency_by_size.items():  # the shares of grouped ones by their alignment
        aligned = work in ("depthwise_conv", "conv")
        assert table.alignments == (tuple(map(float, (*measure.ALIGNMENTS, measure.ALIGN_BASE))) if aligned else ())
        assert len(table.aligned) == len(table.alignments) and table.aligned[-1:] == ((1.0,) if aligned else ())
    for work, table in profile.efficiency_by_size.items():  # and a strided grid of 1×1 and 3×3 convolutions
        assert (len(table.strided), {len(row) for row in table.strided}) == (
            (len(measure.WIDTHS), {len(measure.SIDES)}) if work in ("pointwise_conv", "conv") else (0, set())), work
    assert all("measured by archcalc device-profile" in source for source in profile.sources.values())
    table = cli("table", "resnet18", "--device-profile", out)
    assert table.exit_code == 0 and "(local-cpu) in float32" in table.stdout
    assert profile.measured_in == "float32" and "measured_in: float32\n" in out.read_text()
    assert (profile.cpu, profile.threads) == (measure.cpu_name(torch), 1) and "threads: 1\n" in out.read_text()
    assert cli("table", "resnet18", "--device-profile", out, "--dtype", "bfloat16").exit_code == 2


@pytest.mark.parametrize("dtype, refused", [("float32", False), ("bfloat16", True), ("float64", True)])
def test_a_profile_measured_in_one_dtype_is_refused_in_another(dtype, refused, cli, tmp_path):
    """A profile's efficiencies and fixed costs are of the dtype it was measured in (on the H100 a 3×3
    convolution reached 1.47 of its roofline in float32, 0.15 in bfloat16): another --dtype applied
    them silently (ResNet-50 at batch 32 predicted 4.70 ms in bfloat16 on the float32 profile, 8.70
    on the bfloat16 one; an attacking review). A profile that does not say is taken in any dtype."""
    kept = ROOT / "benchmarks" / "results" / "h100-2026-12-05" / "profile-cuda-float32.yaml"
    text = kept.read_text(encoding="utf-8")
    said = tmp_path / "said.yaml"
    said.write_text(text.replace("    name: NVIDIA H100 80GB HBM3\n", "    name: NVIDIA H100 80GB HBM3\n    measured_in: float32\n"))
    result = cli("table", "resnet50", "--device-profile", said, "--dtype", dtype)
    assert result.exit_code == (2 if refused else 0), result.output
    if refused:
        assert result.stderr.startswith(f"error: the device profile 'local-cuda' ({said}) was measured in float32: its "
                                        f"fixed costs and efficiencies are float32's, not {dtype}'s\n")
    assert cli("table", "resnet50", "--device-profile", kept, "--dtype", dtype).exit_code == 0


def test_points_of_the_grid_not_measured_take_a_measured_ones_efficiency():
    """By hand (rows are widths, columns positions): a point over the grid's MACs takes the widest
    measured point of its positions below it, a point under twice its fixed cost the measured point
    of its width at the fewest positions beyond it; where there is none, the nearest measured point
    in steps of the grid (of two as near, the one further along it, then the wider)."""
    from archcalc.measure_device import OVER, UNDER, _filled

    grid = [[UNDER, UNDER, 0.2, 0.3],
            [UNDER, 0.5, 0.6, OVER],
            [0.4, UNDER, OVER, OVER],
            [OVER, UNDER, UNDER, OVER]]
    assert _filled(grid) == ((0.2, 0.2, 0.2, 0.3),   # (0, 0) and (0, 1): 0.2 beyond them in their row
                             (0.5, 0.5, 0.6, 0.3),   # (1, 3): 0.3, the widest below it of its positions
                             (0.4, 0.4, 0.6, 0.3),   # (2, 1): none beyond it; (1, 1) or (2, 0), as far along: the wider
                             (0.4, 0.4, 0.6, 0.3))   # (3, 0) OVER: 0.4 below; (3, 1): (2, 0); (3, 2): (1, 2)
    assert _filled([[UNDER, OVER]]) == ((1.0, 1.0),)
    assert _filled([[0.123456789, 1e-9]]) == ((0.1235, 1e-6),)  # 4 digits, never below a profile's least figure


@pytest.mark.parametrize("work, width, side, batch, device, over", [
    ("depthwise_conv", 4096, 224, 32, "cuda", True),   # 5.9·10¹⁰ MACs, within 2³⁶, but 26 GB a tensor
    ("depthwise_conv", 256, 56, 32, "cuda", False),     # 103 MB a tensor
    ("conv", 64, 56, 1, "cpu", False),                   # 115,605,504 MACs
    ("conv", 512, 56, 1, "cpu", False),                  # 7.4·10⁹ MACs, within 2³⁴
    ("conv", 1024, 56, 1, "cpu", True),                  # 3.0·10¹⁰ MACs, over 2³⁴
])
def test_a_point_of_the_grid_too_large_for_the_device_is_not_run(work, width, side, batch, device, over):
    """By hand: a point of the grid runs within GRID_MACS and with no tensor over GRID_BYTES."""
    from archcalc.measure_device import SIZED, _over_the_grid, synthetic_graph

    stats = analyze_graph(synthetic_graph(*SIZED[work](width, side)), batch=batch)
    assert _over_the_grid(stats, device) is over


@pytest.mark.parametrize(("peaks", "run"), [({"float32": 0.11, "float16": 0.0019}, False),  # 58 times slower
                                            ({"float32": 0.11, "float16": 0.11}, True),
                                            ({"float32": 0.11, "float16": 0.44}, True)])  # faster: as float32's
def test_a_point_of_the_grid_is_bounded_by_its_time_in_a_dtype_slower_than_float32(monkeypatch, peaks, run):
    """A 3×3 convolution of 128 channels on 224×224 (7.4·10⁹ MACs, within 2³⁴) took 114 s to
    measure in float16 on this project's CPU, where its GEMMs ran about 60 times slower than in
    float32 (a float16 profile's grids would have taken hours): in a dtype that slow the grid's
    bound is 2³⁴ / 58 MACs (3·10⁸), and the point is filled, not run."""
    torch = pytest.importorskip("torch")
    import archcalc.measure_device as measure

    ran = []
    monkeypatch.setattr(measure, "_efficiency", lambda *args, **kwargs: ran.append(args) or 0.5)
    base = DeviceProfile("x", "x", peaks, 20.0, 2.0, {})
    layer = measure.SIZED["conv"](128, 224)
    assert 128 * 128 * 9 * 224 * 224 == 7_398_752_256 < 2**34 and 2**34 * 0.0019 / 0.11 < 7_398_752_256
    point = measure._point(torch, measure._Clock("cpu"), "cpu", base, "float16", 1, layer)
    assert (point, bool(ran)) == ((0.5, True) if run else (measure.OVER, False))
    assert measure._point(torch, measure._Clock("cpu"), "cpu", base, "float32", 1, layer) == 0.5  # float32's bound


@pytest.mark.parametrize("options", [["--dtype", "float64"], ["--threads", "2"]])
def test_device_profile_measures_onednns_fixed_cost_only_in_float32_at_one_thread(cli, tmp_path, monkeypatch, options):
    """Against torch itself: in float64 the 5×5 convolution oneDNN's fixed cost is measured on runs
    on torch's own kernel, and with two threads torch sends 1×1 convolutions of a batch of 2 to
    oneDNN too (`runs_on_onednn` is torch's float32 rule at one thread): a profile measured so
    gives no oneDNN fixed cost, nor its source, and does not measure it."""
    torch = pytest.importorskip("torch")
    from archcalc import progress

    weight = torch.empty(8, 8, 5, 5, dtype=torch.float64)  # ONEDNN_SMALLEST at its smallest, in float64
    assert "Slow" in str(torch._C._select_conv_backend(torch.empty(1, 8, 1, 1, dtype=torch.float64), weight, None,
                                                        [1, 1], [2, 2], [1, 1], False, [0, 0], 1, None))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert "Mkldnn" in str(torch._C._select_conv_backend(torch.empty(2, 64, 7, 7), torch.empty(8, 64, 1, 1), None,
                                                              [1, 1], [0, 0], [1, 1], False, [0, 0], 1, None))
    finally:
        torch.set_num_threads(threads)
    _quick(monkeypatch)
    told: list[str] = []
    monkeypatch.setattr(progress, "WATCHER", told.append)
    out = tmp_path / "other.yaml"
    result = cli("device-profile", "--device", "cpu", *options, "-o", out)
    assert result.exit_code == 0, result.stderr
    profile = load_profile(str(out))
    assert profile.onednn_fixed_us == 0 and "onednn_fixed_us" not in profile.sources
    assert not any("oneDNN" in phase for phase in told)


def test_a_slow_gemm_or_copy_keeps_its_significant_digits(monkeypatch):
    """A GEMM of 64² at 10 MFLOP/s (two threads of this project's CPU under load came near) is
    1e-05 TFLOP/s, not 0 (rounded to 4 decimals it was 0, and the next step divided by it); a copy
    of 4 MiB in 1 s 0.008389 GB/s."""
    torch = pytest.importorskip("torch")
    import archcalc.measure_device as measure

    monkeypatch.setattr(measure, "GEMM_SIZE", {"cpu": 64, "cuda": 64})
    monkeypatch.setattr(measure, "COPY_BYTES", {"cpu": 4 * 2**20, "cuda": 4 * 2**20})
    clock = SimpleNamespace(times=lambda run, **_: [2 * 64**3 / 1e7])
    assert measure._gemm_tflops(torch, clock, "cpu", "float32") == 1e-05
    clock = SimpleNamespace(times=lambda run, **_: [1.0])
    assert measure._copy_gbps(torch, clock, "cpu") == 0.008389


@pytest.mark.parametrize("error", ["cpu", "cuda"])
def test_device_profile_out_of_memory_is_one_error_and_writes_nothing(cli, tmp_path, monkeypatch, error):
    """Memory running out while measuring (the copy of 2 × 2 GiB on a GPU of little free memory; the
    CPU allocator's words, torch's own) ended in a traceback; it is one error, exit 2, the file
    left unwritten."""
    torch = pytest.importorskip("torch")
    import archcalc.measure_device as measure

    _quick(monkeypatch)  # its copy: 2 × 4 MiB
    raised = {"cpu": RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
                                  "memory: you tried to allocate 536870912 bytes. Error code 12 (Cannot allocate memory)"),
              "cuda": torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB.\nmore")}[error]

    def out_of_memory(*args):
        raise raised

    monkeypatch.setattr(measure, "_copy_gbps", out_of_memory)
    out = tmp_path / "cpu.yaml"
    result = cli("device-profile", "--device", "cpu", "-o", out)
    assert result.exit_code == 2 and not out.exists(), result.stderr
    said = str(raised).splitlines()[0]
    assert result.stderr.startswith(f"error: memory ran out on cpu while measuring: {said}\n  hint: free memory on cpu "
                                    "(another process may hold it), or measure on a machine with more: the copy that "
                                    "measures the bandwidth holds 2 × 4 MiB, the largest synthetic layers tensors "
                                    "of up to 1,024 MiB each\n"), result.stderr
    assert "Traceback" not in result.stderr


def test_device_profile_on_more_threads_than_cpus_is_refused_before_measuring(cli, tmp_path, monkeypatch):
    """A CPU profile measured on more threads than the CPUs the process may run on holds their
    contention (validate notes it of a time: LeNet-5 on 1,024 threads of 2 CPUs, 102 ms against
    0.14 ms); it was measured and written without a word. It is refused before measuring."""
    import os

    pytest.importorskip("torch")
    import archcalc.measure_device as measure

    def measured(*args):
        raise AssertionError("measured")

    monkeypatch.setattr(measure, "measure_profile", measured)
    cpus, out = len(os.sched_getaffinity(0)), tmp_path / "cpu.yaml"
    result = cli("device-profile", "--device", "cpu", "--threads", str(cpus + 1), "-o", out)
    assert result.exit_code == 2 and not out.exists(), result.output
    assert f"--threads {cpus + 1} is more than the {cpus} CPU" in result.stderr and f"give --threads {cpus} or fewer" \
        in result.stderr


def test_device_profile_on_cuda(cli, tmp_path, monkeypatch):
    torch = pytest.importorskip("torch")
    _quick(monkeypatch)
    result = cli("device-profile", "--device", "cuda", "-o", tmp_path / "gpu.yaml")
    if not torch.cuda.is_available():
        assert result.exit_code == 2 and "no CUDA device is available" in result.stderr
        pytest.skip("no CUDA device: the error is checked, the measurement is not")
    assert result.exit_code == 0, result.stderr
    profile = load_profile(str(tmp_path / "gpu.yaml"))
    assert profile.name == torch.cuda.get_device_name() and "bfloat16" in profile.peak_tflops


def test_a_profile_name_pasted_with_a_no_break_space_is_accepted(tmp_path):
    """A datasheet's 'NVIDIA H200' may hold a no-break space: printable, unlike a control character
    (the first check of printable text refused it; found by a reviewer)."""
    from archcalc.devices import load_profile

    path = _profile_file(tmp_path, GOOD.replace("name: My GPU", 'name: "My\\u00a0GPU"'))
    assert load_profile(path).name == "My\u00a0GPU"


def test_a_profiles_dtype_is_not_asked_for_where_nothing_is_timed_nor_to_be_measured_in_int8(cli, tmp_path):
    """The review of the refusal above: `validate --runs 0 --device-profile` of a bfloat16 profile
    was told to give --dtype bfloat16, which validate then refuses where nothing is timed; int8 was
    told to measure a profile in int8, which device-profile does not."""
    kept = ROOT / "benchmarks" / "results" / "h100-2026-12-05" / "profile-cuda-bfloat16.yaml"
    said = tmp_path / "said.yaml"
    said.write_text(kept.read_text(encoding="utf-8").replace("    name: NVIDIA H100 80GB HBM3\n",
                                                             "    name: NVIDIA H100 80GB HBM3\n    measured_in: bfloat16\n"))
    untimed = cli("validate", "lenet5", "--runs", "0", "--no-memory", "--device-profile", said)
    assert untimed.exit_code == 2 and "--dtype" not in untimed.stderr  # refused as predicting nothing (below)
    result = cli("table", "lenet5", "--dtype", "int8", "--device-profile", said)
    assert result.exit_code == 2 and result.stderr.endswith(
        "  hint: give --dtype bfloat16, or a datasheet profile with a peak for int8\n"), result.stderr


@pytest.mark.parametrize("name", ["my\ncpu", "", " ", "a\u202eb", "gpu\udcff", "a\ud800"])
def test_device_profile_refuses_a_name_no_profile_file_can_hold_before_measuring(cli, tmp_path, monkeypatch, name):
    """An attacking review found `--name 'my<LF>cpu'` measured for 172 s, written, and then every
    command refused the file ("not printable text on one line"); an empty name became local-cpu
    without a word; a fuzzer, a byte that is no UTF-8 ($'gpu\\xff', a lone surrogate to Python)
    written as '\\uDCFF', which YAML then refused to read. Refused at once: nothing is measured."""
    import archcalc.measure_device as measure

    monkeypatch.setattr(measure, "measure_profile", lambda *args: pytest.fail("measured"))
    result = cli("device-profile", "--device", "cpu", "--name", name, "-o", tmp_path / "p.yaml")
    assert result.exit_code == 2 and "is not printable text on one line" in result.stderr
    assert not (tmp_path / "p.yaml").exists()


def test_a_warm_up_where_nothing_is_timed_is_refused_from_python_too():
    """A review found `validate(..., runs=0, warmup=5)` taken from Python where the command line refused it."""
    import archcalc

    with pytest.raises(archcalc.SpecError, match="--warmup shapes the timed passes, and nothing is timed"):
        archcalc.validate("lenet5", memory=False, runs=0, warmup=5)
    assert archcalc.validate("lenet5", memory=False, runs=0).ok  # the default warm-up is no value given


@pytest.mark.parametrize("options, named", [
    (["--runs", "0", "--device-profile", "h200"], "--device-profile shapes"),
    (["--device", "meta", "--latency", "per-layer"], "--latency per-layer shapes"),
    (["--runs", "0", "--threads", "3", "--device-profile", "h200"], "--device-profile and --threads shape"),
    # a fuzzer's: --warmup took no effect there too, without a word (its default, 2, is no value given)
    (["--runs", "0", "--warmup", "3"], "--warmup shapes"),
    (["--device", "meta", "--warmup", "0"], "--warmup shapes"),
    (["--runs", "0", "--threads", "2", "--warmup", "1"], "--threads and --warmup shape"),
])
def test_timing_options_where_nothing_is_timed_are_refused(cli, options, named):
    """An attacking review found --device-profile, --latency per-layer and --threads taking no
    effect, without a word, where nothing is timed (--runs 0, meta), where --dtype is refused."""
    result = cli("validate", "lenet5", "--no-memory", *options)
    assert result.exit_code == 2 and f"{named} the timed passes, and nothing is timed" in result.stderr
    assert "hint: leave out" in result.stderr


def test_a_profile_that_merges_a_mapping_with_a_yaml_merge_key_is_read(cli, tmp_path):
    """A review found the check of keys given twice refusing '<<: *grid' (a YAML merge key, which
    YAML reads as the anchored mapping's keys under those written beside it) as 'not valid YAML'."""
    text = (GOOD + """    efficiency_by_size:
      conv: &grid
        widths: [8, 64]
        positions: [49, 3136]
        reached: [[0.1, 0.3], [0.6, 0.9]]
      pointwise_conv:
        <<: *grid
        reached: [[0.2, 0.4], [0.7, 0.95]]
""").replace("    sources: {", "    sources: {efficiency_by_size: a measurement, ")
    path = _profile_file(tmp_path, text)
    profile = load_profile(path)
    table = profile.efficiency_by_size["pointwise_conv"]
    assert table.widths == (8.0, 64.0) and table.reached == ((0.2, 0.4), (0.7, 0.95))


@pytest.mark.parametrize("value, says", [("!!bool maybe", "YAML cannot read 'maybe' as bool"),
                                         ("!!float abc", "YAML cannot read 'abc' as float"),
                                         ("!!timestamp abc", "YAML cannot read 'abc' as timestamp"),
                                         ("!!float ''", "YAML cannot read '' as float"),
                                         ("!!int 0x", "YAML cannot read '0x' as int"),
                                         ("1" * 5000, "YAML cannot read")])
def test_a_profile_value_yaml_cannot_read_is_one_error_at_its_place(cli, tmp_path, value, says):
    """A review found these ending in a traceback (KeyError, ValueError) from YAML's loader."""
    path = _profile_file(tmp_path, GOOD.replace("memory_gbps: 500", f"memory_gbps: {value}"))
    result = cli("table", "lenet5", "--device-profile", path)
    assert result.exit_code == 2 and f"{path}:6:18: {says}" in result.stderr and "Traceback" not in result.output


_MERGED = GOOD.replace("    memory_gbps: 500\n", "    <<: [{memory_gbps: 500}, {memory_gbps: 5}]\n")
_SIZES, _ROWS = ", ".join(map(str, range(1, 65))), ", ".join(["&r [" + ", ".join(["0.5"] * 64) + "]"] + ["*r"] * 63)
_ALIASED_GRID = (f"{{widths: &a [{_SIZES}], positions: *a, reached: &g [{_ROWS}], "
                 f"groups: [{', '.join(map(str, range(2, 19)))}], grouped: [{', '.join(['*g'] * 17)}]}}")


@pytest.mark.parametrize(("broken", "says"), [
    # YAML's rule keeps the first of two merged values (500); PyYAML took 5: either silently
    (_MERGED, "profile.yaml:6:31: 'memory_gbps' is merged in twice (first from line 6)"),
    (GOOD.replace("    memory_gbps: 500\n", "    <<: {memory_gbps: 500}\n    <<: {memory_gbps: 5}\n"),
     "profile.yaml:7:5: duplicate key '<<' (first at line 6)"),
    (GOOD.replace("    memory_gbps: 500\n", "    <<: 5\n"), "profile.yaml:6:9: YAML cannot read this"),
    # a traceback (exit 1): the error's place was looked up through the merge key, which YAML could not read
    ("schema: archcalc.devices/1\n<<: {devices: 5}\n", "devices: must map profile names to profiles, got int 5"),
    (GOOD.replace("    memory_gbps: 500\n", "    memory_gbps: -5\n    <<: {name: A}\n"),
     "profile.yaml:6:18: devices.mine.memory_gbps: must be a number"),
    # two profiles, 1 and '1', were one (the last) without a word; null and yes named profiles 'None' and 'True'
    (GOOD.replace("  mine:", "  1:"), "profile.yaml:3:3: devices: names a profile with int 1: a profile's name is text"),
    (GOOD.replace("  mine:", "  ~:"), "devices: names a profile with nothing: a profile's name is text"),
    (GOOD.replace("  mine:", "  yes:"), "devices: names a profile with bool True"),
    # every --dtype refused, each error's hint pointing at the other
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    measured_in: float16\n"),
     "profile.yaml:8:18: devices.mine.measured_in: is float16, for which peak_tflops gives no peak"),
    # the CPU and threads a profile was measured on, which validate notes where they differ from its own
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    threads: 0\n"),
     "profile.yaml:8:14: devices.mine.threads: must be a whole number from 1 to 1,024, got 0"),
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    threads: 2.0\n"),
     "profile.yaml:8:14: devices.mine.threads: must be a whole number from 1 to 1,024, got 2.0"),
    (GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    cpu: [a]\n"),
     "profile.yaml:8:10: devices.mine.cpu: must be the CPU the profile was measured on, in words on one line"),
    # nine lines of aliases made 61 MB of JSON: 64 × 64 × 18 fractions and axes of 64, 64 and 17 sizes
    (_sized(f"{{conv: {_ALIASED_GRID}}}"),
     "devices.mine.efficiency_by_size.conv: holds 73,873 numbers (its aliases written out), over 65,536"),
    # YAML's own words, without a line shown: "position 36" of "<unicode string>"; the line after the mistake
    (GOOD.replace("name: My GPU", "name: My\x01GPU"), "profile.yaml:4:13: the character #x0001 is not allowed in YAML text"),
    (GOOD.replace("{float32: 10}", "{float32: 10"), "profile.yaml:5:18: this '{' is not closed"),
    (GOOD.replace("memory_gbps: 500", "memory_gbps: ="), "profile.yaml:6:18: YAML cannot read '=' as value"),
    # a review's: PyYAML's pick among nested merges followed the length of the keys' names (memory_gbps: 5, m: 500)
    (GOOD.replace("    memory_gbps: 500\n", "    <<: [{<<: {memory_gbps: 500}}, {memory_gbps: 5}]\n"),
     "profile.yaml:6:11: a merge key ('<<') within a mapping that is merged"),
    # a key, a tag, a value '<<' that YAML's loader cannot construct, each with its own hint (all had the merge key's)
    (GOOD.replace("{float32: 10}", "{float32: 10, ? [a]: 5}"), "a key is a name or a number, not a list or a mapping"),
    (GOOD.replace("memory_gbps: 500", "memory_gbps: !!python/object:os.system {}"), "leave out the tag"),
    (GOOD.replace("memory_gbps: 500", "memory_gbps: <<"), "'<<' is a merge key: write it in quotes for the text '<<'"),
    (GOOD.replace("    memory_gbps: 500\n", "    <<: [5]\n"), "a merge key ('<<') takes a mapping or a list of mappings"),
    # a review's: a tag named like a word of PyYAML's problems took that problem's hint; a tag on a value the number's
    (GOOD.replace("{float32: 10}", "!merging {float32: 10}"), "hint: leave out the tag"),
    (GOOD.replace("memory_gbps: 500", "memory_gbps: !!python/name:os.system 500"),
     "profile.yaml:6:18: the YAML tag 'tag:yaml.org,2002:python/name:os.system' is not supported\n"),
])
def test_what_yaml_reads_otherwise_or_not_at_all_in_a_profile_is_one_error(cli, tmp_path, broken, says):
    """An attacking review's cases: merge keys ('<<') that bring a figure twice, profiles named by
    numbers, a dtype measured in without its peak, a table that aliases make huge, and YAML's
    syntax errors, each one error at its place (the spec reader's words for the syntax)."""
    path = _profile_file(tmp_path, broken)
    result = cli("table", "lenet5", "--device-profile", path)
    assert result.exit_code == 2 and says in result.stderr and "hint:" in result.stderr, result.stderr
    assert "Traceback" not in result.output


def test_a_key_merged_twice_and_written_beside_the_merge_key_is_the_one_written(tmp_path):
    """YAML's rule: a key written in the mapping wins over the merged ones, however many give it."""
    path = _profile_file(tmp_path, GOOD.replace("    memory_gbps: 500\n",
                                                "    <<: [{memory_gbps: 1}, {memory_gbps: 2}]\n    memory_gbps: 100\n"))
    assert load_profile(path).memory_gbps == 100


def test_a_table_of_aliases_of_aliases_is_refused_quickly(cli, tmp_path):
    """A review found the bound on a table's numbers counting each alias anew: a list of 16,000
    aliases of a list of 16,000 aliases (128 KB) took 17.6 s to count 256,032,003 numbers."""
    import time

    count = 16_000
    aliases = ", ".join(["*s"] * count)
    table = f"{{conv: {{widths: &s [1], groups: &r [{aliases}], reached: [{', '.join(['*r'] * count)}], positions: [1], " \
            "grouped: [1]}}"
    path = _profile_file(tmp_path, _sized(table))
    started = time.perf_counter()
    result = cli("table", "lenet5", "--device-profile", path)
    assert result.exit_code == 2 and f"holds {count * count + count + 3:,} numbers" in result.stderr, result.stderr
    assert time.perf_counter() - started < 5


def test_a_folder_named_as_a_bundled_profile_leaves_the_bundled_one(cli, tmp_path, monkeypatch):
    """A review found a folder h200/ here refusing --device-profile h200 (with the check of a file
    so named): a folder is no profile, and the bundled one is taken."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "h200").mkdir()
    assert "predicted on NVIDIA H200" in cli("table", "lenet5", "--device-profile", "h200").stdout


def test_a_negative_zero_share_of_padded_taps_is_zero(tmp_path):
    path = _profile_file(tmp_path, _given("padded_taps", "{saved: -0.0, up_to: 0}"))
    assert math.copysign(1, load_profile(path).padded_taps.saved) == 1


def test_a_profile_file_as_large_as_a_file_may_be_is_refused_quickly(cli, tmp_path):
    """An attacking review found a 4 MiB profile of one flow list taking 14 s and 1.4 GB before its
    error: it was parsed three times, and every number constructed twice. Its nodes are bounded
    as a spec's are (MAX_YAML_NODES)."""
    import time

    count = (4 * 2**20 - len(GOOD) - 100) // 2
    path = _profile_file(tmp_path, GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    efficiency: ["
                                                + "1," * (count - 1) + "1]\n"))
    started = time.perf_counter()
    result = cli("table", "lenet5", "--device-profile", path)
    assert result.exit_code == 2 and "the document has more than 250,000 YAML nodes" in result.stderr
    assert time.perf_counter() - started < 5


def test_a_profile_file_named_with_a_line_feed_adds_no_line(cli, tmp_path):
    """A line feed in the file's name forged an 'error:' line in three messages."""
    path = tmp_path / "x\nerror: forged.yaml"
    path.write_text(GOOD.replace("  other:", "") + GOOD.split("devices:\n")[1].replace("  mine:", "  other:"),
                    encoding="utf-8")
    result = cli("table", "lenet5", "--device-profile", str(path))
    assert result.exit_code == 2 and "'devices' holds 2 profiles" in result.stderr
    assert not any(line.startswith("error: forged") for line in result.stderr.splitlines()), result.stderr
    measured = _profile_file(tmp_path, GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    measured_in: float32\n"))
    renamed = measured.rename(tmp_path / "y\nerror: forged.yaml")
    result = cli("table", "lenet5", "--device-profile", str(renamed), "--dtype", "float16")
    assert result.exit_code == 2 and "was measured in float32" in result.stderr
    assert not any(line.startswith("error: forged") for line in result.stderr.splitlines()), result.stderr


def test_a_name_of_a_bundled_profile_and_of_a_file_here_is_refused(cli, tmp_path, monkeypatch):
    """A file named h200 in the current folder was passed over for the bundled h200, without a word."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "h200").write_text(GOOD, encoding="utf-8")
    result = cli("table", "lenet5", "--device-profile", "h200")
    assert result.exit_code == 2 and "--device-profile 'h200' names a bundled profile and a file here" in result.stderr
    assert "./h200" in result.stderr
    assert "predicted on My GPU" in cli("table", "lenet5", "--device-profile", "./h200").stdout


def test_a_negative_zero_in_a_profile_is_zero(cli, tmp_path):
    """-0.0 passed as the zero allowed, and was written to JSON as -0.0."""
    import json

    path = _profile_file(tmp_path, GOOD.replace("launch_us: 4", "launch_us: -0.0"))
    result = cli("table", "lenet5", "--device-profile", path, "--format", "json")
    assert result.exit_code == 0
    launch = json.loads(result.stdout)["roofline"]["launch_s"]
    assert launch == 0 and math.copysign(1, launch) == 1


def test_a_profile_key_yaml_cannot_read_is_one_error_at_its_place(cli, tmp_path):
    """A review found a key YAML cannot read ('!!bool maybe: 1') a traceback still."""
    path = _profile_file(tmp_path, GOOD.replace("    launch_us: 4\n", "    launch_us: 4\n    !!bool maybe: 1\n"))
    result = cli("table", "lenet5", "--device-profile", path)
    assert result.exit_code == 2 and f"{path}:8:5: YAML cannot read 'maybe' as bool" in result.stderr
