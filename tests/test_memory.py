"""The inference peak: what each layer kind's torch forward allocates, measured against torch's
MemTracker kind by kind; every bundled model's peak against MemTracker's, category by category;
random networks with merges, in place and not; and the `archcalc memory` command.

Every expected figure of memory is MemTracker's own measurement (torch.distributed._tools.mem_tracker),
on fake tensors and, for the kinds, on real CPU tensors too; none is written by hand.
"""

from __future__ import annotations

import contextlib
import json
import math
import subprocess
import sys
import types

import pytest
import yaml
from conftest import FAST_MODELS, tier, yaml_text
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from measured import Recipe, kept
from test_layer_kinds import CASES, NO_TORCH_MODULE

from archcalc.analysis import analyze_graph
from archcalc.errors import SpecError
from archcalc.layers import LAYER_KINDS
from archcalc.layers.base import NEW, SAME, VIEW
from archcalc.memory import DTYPES, analyze_memory, inference_memory, memory_formula
from archcalc.peak import NotLinear, peak_formula
from archcalc.spec import bundled, load_graph

EXTRA_CASES = {
    # the same kinds where torch's forward takes another path
    "add of two": ("add", {}, [(1, 3, 4, 4), (1, 3, 4, 4)]),
    "flatten of a flat input": ("flatten", {}, [(3, 12)]),
    "linear on a map": ("linear", {"out": 5}, [(2, 3, 4, 6)]),
    "batchnorm2d without running statistics": ("batchnorm2d", {"track_running_stats": False}, [(2, 6, 4, 4)]),
    "lrn wider than the channels": ("lrn", {"size": 7}, [(2, 3, 5, 5)]),
    "adaptive_maxpool2d to 2×3": ("adaptive_maxpool2d", {"output_size": [2, 3]}, [(2, 4, 7, 9)]),
    "channel_layer_norm of a 1-D map": ("channel_layer_norm", {}, [(2, 6, 9)]),
    **{f"{key} in place": (key, {"inplace": True}, [(2, 3, 4, 4)])
       for key in ("relu", "relu6", "leaky_relu", "silu", "hardswish", "hardsigmoid")},
}
KIND_CASES = {key: (key, fields, shapes) for key, (fields, shapes, *_) in CASES.items()} | EXTRA_CASES


def torch_modules():
    torch = pytest.importorskip("torch")
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.distributed._tools.mem_tracker import MemTracker

    return torch, FakeTensorMode, MemTracker


def measure_layer(key: str, fields: dict, shapes: list, dtype: str, fake: bool):
    """MemTracker's peak (parameters, buffers, activations) of one layer's torch module, its inputs
    made before the tracker starts; and what the output is: NEW, VIEW or SAME."""
    torch, FakeTensorMode, MemTracker = torch_modules()
    from archcalc.torchmodel import build_layer
    from archcalc.validation.peak import TORCH_DTYPES

    kind = LAYER_KINDS[key]
    default = torch.get_default_dtype()
    with FakeTensorMode() if fake else contextlib.nullcontext():
        torch.set_default_dtype(TORCH_DTYPES[dtype])
        try:
            layer = build_layer(kind, kind.resolve(fields), shapes).eval()
            inputs = [torch.rand(shape) for shape in shapes]
        finally:
            torch.set_default_dtype(default)
        tracker = MemTracker()
        with torch.no_grad(), tracker:
            out = layer(*inputs)
    peak = {getattr(key, "value", key): size for device in tracker.get_tracker_snapshot("peak").values()
            for key, size in device.items()}
    on_input = out.untyped_storage() is inputs[0].untyped_storage()
    output = (SAME if out is inputs[0] else VIEW) if on_input else NEW
    return (peak.get("Parameter", 0), peak.get("Buffer", 0), peak.get("Activation", 0)), output


def predicted_layer(key: str, fields: dict, shapes: list, dtype: str):
    """The same from the kind's footprint: its input counted where an operation touches it, its new
    output, its temporaries; nothing at all where no operation runs (MemTracker records no peak)."""
    kind = LAYER_KINDS[key]
    a = kind.resolve(fields)
    itemsize = DTYPES[dtype]
    out = kind.output_shape(a, shapes)
    footprint = kind.footprint(a, shapes, out, itemsize)
    if footprint.output == SAME and not footprint.transient and not footprint.touches_input:
        return (0, 0, 0), SAME
    activations = (math.prod(shapes[0]) * itemsize * footprint.touches_input + footprint.transient
                   + (math.prod(out) * itemsize if footprint.output == NEW else 0))
    bytes_of = (kind.params(a, shapes).trainable * itemsize, kind.buffer_bytes(a, shapes, itemsize), activations)
    return bytes_of, footprint.output


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("case", list(KIND_CASES))
def test_each_kind_allocates_what_memtracker_measures_on_fake_tensors(case, dtype):
    key, fields, shapes = KIND_CASES[case]
    assert measure_layer(key, fields, shapes, dtype, fake=True) == predicted_layer(key, fields, shapes, dtype)


@pytest.mark.parametrize("case", list(KIND_CASES))
def test_each_kind_allocates_what_memtracker_measures_on_the_cpu(case):
    key, fields, shapes = KIND_CASES[case]
    assert measure_layer(key, fields, shapes, "float32", fake=False) == predicted_layer(key, fields, shapes, "float32")


def test_every_kind_is_measured():
    assert {key for key, _, _ in KIND_CASES.values()} == set(LAYER_KINDS) - NO_TORCH_MODULE


def predicted_model(graph, batch: int, dtype: str = "float32") -> tuple[int, int, int, int]:
    memory = inference_memory(graph, analyze_graph(graph, None, batch), dtype)
    return memory.parameters, memory.buffers, memory.activations, memory.peak


def tracked(graph, batch: int, dtype: str = "float32") -> tuple[int, int, int, int]:
    torch_modules()
    from archcalc.validation.peak import tracked_peak

    return tuple(tracked_peak(graph, (batch, *graph.input_shape), dtype))


@pytest.mark.parametrize("entry", [tier(entry) for entry in bundled()])
def test_every_bundled_model_peaks_as_memtracker_measures(entry):
    """At batch 1 and batch 8, each figure per batch (the torch model built once for both), or
    the kept measurement of this very model (tests/measured.py)."""
    from archcalc.validation.peak import tracked_peaks

    torch_modules()
    graph = load_graph(entry.path, entry.variant)
    asked = {"input": graph.input_shape, "batches": [1, 8], "dtype": "float32"}
    measured = kept("inference_memory", entry, Recipe(graph, graph.input_shape, 1), asked,
                    ["archcalc/validation/peak.py"], lambda: tracked_peaks(graph, graph.input_shape, [1, 8]))
    assert {batch: predicted_model(graph, batch) for batch in (1, 8)} == {
        batch: tuple(peak) for batch, peak in zip((1, 8), measured)}


@pytest.mark.parametrize("spec", ["lenet5", "squeezenet1_1", "mobilenet_v2"])
def test_the_tracker_of_the_overall_peak_measures_as_memtracker_itself(spec):
    """The tests and validate run MemTracker without its per-module peaks (OverallPeakTracker):
    the same figures as torch's MemTracker itself (checked once on every bundled model), here
    on a model with concat merges and one with in-place activations and batch norms."""
    _, _, MemTracker = torch_modules()
    from archcalc.validation.peak import OverallPeakTracker, tracked_peaks

    graph = load_graph(spec)
    assert (tracked_peaks(graph, graph.input_shape, [2], tracker=OverallPeakTracker)
            == tracked_peaks(graph, graph.input_shape, [2], tracker=MemTracker))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float64"])
def test_other_dtypes_peak_as_memtracker_measures(dtype):
    graph = load_graph("resnet50")  # batch norm's int64 counter of batches, max pooling's int64 indices
    assert predicted_model(graph, 2, dtype) == tracked(graph, 2, dtype)


def test_the_peak_of_lenet5_is_conv1s_output_beside_its_activation():
    """MemTracker on LeNet-5 at batch 1: 246,824 B of parameters and 37,632 B of activations,
    conv1's output (6×28×28 floats) and tanh's alive together."""
    memory = analyze_memory("lenet5")
    assert (memory.parameters, memory.buffers, memory.activations, memory.peak) == (246_824, 0, 37_632, 284_456)
    assert memory.peak_point.name == "act1" and 2 * 6 * 28 * 28 * 4 == 37_632


def test_a_model_that_runs_no_operation_has_no_peak(write_spec):
    path = write_spec("name: idle\ninput: [3, 8, 8]\nlayers:\n  - a: identity\n  - b: {kind: dropout, p: 0.1}\n")
    memory = analyze_memory(path)
    assert memory.peak_point is None and memory.peak == 0
    graph = load_graph(path)
    assert predicted_model(graph, 2) == tracked(graph, 2) == (0, 0, 0, 0)


# Random small networks: a stem of single layers (some in place, some passing their input
# through), a residual group adding two or three branches, a concat of branches, and sometimes
# a head that views its input (flatten) and a split. Each is a spec; MemTracker runs its torch model.

@st.composite
def stem_layer(draw, channels: int) -> tuple[dict, int]:
    kind = draw(st.sampled_from(["conv2d", "batchnorm2d", "relu", "relu6", "hardswish", "maxpool2d", "identity",
                                 "dropout", "lrn", "avgpool2d"]))
    if kind == "conv2d":
        out = draw(st.integers(1, 6))
        return {"kind": kind, "out": out, "kernel": draw(st.sampled_from([1, 3])), "padding": "same"}, out
    if kind in ("relu", "relu6", "hardswish"):
        return {"kind": kind, "inplace": draw(st.booleans())}, channels
    if kind in ("maxpool2d", "avgpool2d"):
        return {"kind": kind, "kernel": 3, "stride": 1, "padding": 1}, channels
    if kind == "lrn":
        return {"kind": kind, "size": draw(st.integers(1, 5))}, channels
    return {"kind": kind}, channels


@st.composite
def networks(draw) -> tuple[list[dict], tuple[int, int, int], int, str]:
    channels = draw(st.integers(1, 4))
    input_chw = (channels, draw(st.integers(3, 9)), draw(st.integers(3, 9)))
    layers: list[dict] = []
    for index in range(draw(st.integers(0, 3))):
        fields, channels = draw(stem_layer(channels))
        layers.append({f"stem{index}": fields})
    previous = next(iter(layers[-1])) if layers else "input"
    branches = draw(st.integers(2, 3))  # residual: the input and one or two conv branches, added
    ends = [previous] if draw(st.booleans()) else []
    for index in range(branches - len(ends)):
        layers.append({f"res_conv{index}": {"kind": "conv2d", "out": channels, "kernel": 3, "padding": 1,
                                            "from": previous}})
        if draw(st.booleans()):
            layers.append({f"res_act{index}": {"kind": "relu", "inplace": draw(st.booleans())}})
        ends.append(next(iter(layers[-1])))
    layers.append({"res_add": {"kind": "add", "from": ends}})
    widths = [draw(st.integers(1, 4)) for _ in range(draw(st.integers(2, 3)))]
    for index, width in enumerate(widths):
        layers.append({f"mix_conv{index}": {"kind": "conv2d", "out": width, "kernel": 1, "from": "res_add"}})
    layers.append({"mix_cat": {"kind": "concat", "from": [f"mix_conv{i}" for i in range(len(widths))]}})
    channels = sum(widths)
    if channels % 2 == 0 and draw(st.booleans()):
        layers.append({"half": {"kind": "split", "parts": 2, "take": draw(st.sampled_from([0, 1]))}})
        channels //= 2
    if draw(st.booleans()):
        layers += [{"pool": {"kind": "adaptive_avgpool2d", "output_size": 1}}, {"flatten": "flatten"},
                   {"fc": {"kind": "linear", "out": draw(st.integers(1, 5))}}]
    return layers, input_chw, draw(st.integers(1, 3)), draw(st.sampled_from(["float32", "float16"]))


@pytest.mark.parametrize("examples", [pytest.param(25, id="25"),
                                      pytest.param(150, id="150 more", marks=pytest.mark.slow)])
def test_random_networks_peak_as_memtracker_measures(tmp_path, count_example, examples):
    torch_modules()

    @settings(deadline=None, max_examples=examples, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])
    @given(network=networks())
    def run(network):
        count_example()
        layers, input_chw, batch, dtype = network
        path = tmp_path / f"net{abs(hash(repr(network)))}.yaml"
        path.write_text(yaml_text({"name": "net", "input": list(input_chw), "layers": layers}))
        graph = load_graph(path)
        assert predicted_model(graph, batch, dtype) == tracked(graph, batch, dtype)

    run()


# The command

def test_memory_prints_the_timeline_and_the_peak(cli):
    result = cli("memory", "lenet5")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "lenet5 (specs/lenet.yaml)"
    assert "dtype float32" in lines[1] and "MemTracker" in lines[1]
    assert lines[-1] == ("peak 284,456 B = 277.8 KiB while act1 runs: parameters 246,824 · buffers 0 · "
                         "activations 37,632")
    assert any(line.split()[:3] == ["2", "act1", "tanh"] and line.split()[-2:] == ["37,632", "18,816"]
               for line in lines)


def test_json_and_csv_hold_the_same_figures(cli):
    memory = analyze_memory("resnet18", batch=8, dtype="float16")
    document = json.loads(cli("memory", "resnet18", "--batch", "8", "--dtype", "float16", "--format", "json").stdout)
    assert document["schema"] == "archcalc.memory/1" and document["dtype"] == "float16"
    assert document["input"] == [8, 3, 224, 224]
    assert document["peak"] == {"total": memory.peak, "parameters": memory.parameters, "buffers": memory.buffers,
                                "activations": memory.activations, "temporaries": memory.peak_point.transient,
                                "layer": memory.peak_point.name}
    assert [row["live_during"] for row in document["layers"]] == [layer.during for layer in memory.layers]
    csv = cli("memory", "resnet18", "--batch", "8", "--dtype", "float16", "--format", "csv").stdout.splitlines()
    assert csv[0] == "index,name,kind,output_bytes,temporary_bytes,live_during,live_after"
    assert [int(line.split(",")[-1]) for line in csv[1:]] == [layer.after for layer in memory.layers]


def test_output_file_and_input_reach_the_result(cli, tmp_path):
    target = tmp_path / "m.json"
    assert cli("memory", "resnet18", "--input", "3x64x64", "--format", "json", "-o", target).exit_code == 0
    document = json.loads(target.read_text())
    assert document["input"] == [1, 3, 64, 64]
    assert document["peak"]["total"] == analyze_memory("resnet18", input="3x64x64").peak


@pytest.mark.parametrize("args, message", [
    (["lenet5", "--dtype", "int8"], "'int8' is not one of"),
    (["lenet5", "--batch", "n"], "--batch"),
    (["lenet5", "--batch", "0"], "--batch"),
    (["lenet5", "--input", "1xHxW"], "whole numbers"),
    (["lenet5", "--format", "markdown"], "'markdown' is not one of"),
    ([], "missing argument 'SPEC'"),
])
def test_usage_errors_exit_2(cli, args, message):
    result = cli("memory", *args)
    assert result.exit_code == 2
    assert message in result.stderr


def test_spec_errors_exit_2_with_one_message(cli, tmp_path):
    unknown = cli("memory", "lenet55")
    assert unknown.exit_code == 2 and unknown.stderr.startswith("error: ") and "lenet5" in unknown.stderr
    small = cli("memory", "lenet5", "--input", "1x2x2")
    assert small.exit_code == 2 and small.stderr.startswith("error: ")
    unwritable = cli("memory", "lenet5", "-o", tmp_path / "missing" / "m.txt")
    assert unwritable.exit_code == 2 and "does not exist" in unwritable.stderr


def test_the_library_refuses_what_it_does_not_model():
    from archcalc.errors import SpecError

    with pytest.raises(SpecError, match="unknown dtype 'int8'"):
        analyze_memory("lenet5", dtype="int8")
    with pytest.raises(SpecError, match="the batch size must be a whole number"):
        analyze_memory("lenet5", batch="N")
    with pytest.raises(SpecError, match="memory is worked out at one size"):
        analyze_memory("lenet5", input="1xHxW")


def test_the_memory_command_never_imports_torch():
    probe = ("import sys\nfrom archcalc.cli import main\nsys.argv = ['archcalc', 'memory', 'resnet152']\n"
             "try:\n    main()\nexcept SystemExit:\n    pass\n"
             "sys.stderr.write('torch' if 'torch' in sys.modules else 'no-torch')\n")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.stderr.strip() == "no-torch"
    assert "layer4.2.relu3" in result.stdout


# validate: the peak beside the other figures

def test_validate_compares_the_peak_category_by_category(cli):
    pytest.importorskip("fvcore")
    from archcalc.validation import validate

    result = validate("lenet5", device="meta")
    assert result.ok and result.memory.name == "inference peak"
    assert [(c.figure, c.predicted, c.measured) for c in result.memory.checks] == [
        ("parameter_bytes", 246_824, 246_824), ("buffer_bytes", 0, 0), ("activation_bytes", 37_632, 37_632),
        ("peak_bytes", 284_456, 284_456)]
    document = json.loads(cli("validate", "lenet5", "--runs", "0", "--format", "json").stdout)
    assert document["models"][0]["memory"]["checks"]["peak_bytes"] == {"archcalc": 284_456, "measured": 284_456,
                                                                       "ok": True}
    skipped = json.loads(cli("validate", "lenet5", "--runs", "0", "--no-memory", "--format", "json").stdout)
    assert skipped["models"][0]["memory"] is None and skipped["ok"] is True


def test_a_wrong_peak_is_a_difference_and_exits_1(cli, monkeypatch):
    pytest.importorskip("fvcore")
    from archcalc.layers.base import Footprint

    tanh = LAYER_KINDS["tanh"]
    monkeypatch.setattr(tanh, "footprint", lambda a, shapes, out, itemsize: Footprint(transient=4))
    result = cli("validate", "lenet5", "--runs", "0")
    assert result.exit_code == 1
    assert "activations 37,636 ≠ 37,632 (-4) · total 284,460 ≠ 284,456 (-4)" in result.stdout
    assert ("✗ lenet5: 2 difference(s) in 1 row(s): inference peak activation bytes, "
            "inference peak total bytes") in result.stdout


# The peak as a formula in the batch: a maximum of lines, each where it is the maximum

TWO_LINES = """
name: two_lines
input: [4, 8, 8]
layers:
  - wide: {kind: conv2d, out: 80, kernel: 1}
  - pool: {kind: adaptive_avgpool2d, output_size: [1, 2]}
  - deep: {kind: conv2d, out: 1024, kernel: 1}
  - norm: {kind: batchnorm2d, track_running_stats: false}
"""
"""A model whose peak moves with the batch: batch norm without running statistics makes its
mean and inverse deviation (2·1024 floats, whatever the batch) beside its input and output,
2·2·1024 floats a sample; while pool runs, wide's output and its own are 80·64 + 80·2 floats a
sample. norm is the peak at batch 1 (6,144 > 5,280 floats), pool from batch 2 on (10,560 > 10,240)."""


def test_the_lines_that_are_never_the_maximum_are_dropped():
    """Worked by hand: a = 10 + N, b = 3N, c = 5 + 2N. a is the most up to N = 5 (15, 15, 15 there:
    the first wins), b from N = 6 (18 > 17 > 16); c is never the most."""
    formula = peak_formula(lambda n: [("a", 10 + n), ("b", 3 * n), ("c", 5 + 2 * n)])
    assert [(p.point, p.constant, p.per_sample, p.first, p.last) for p in formula.pieces] == [
        ("a", 10, 1, 1, 5), ("b", 0, 3, 6, None)]
    assert [formula.at(n) for n in (1, 5, 6, 10)] == [11, 15, 18, 30]
    later_wins_from_the_tie = peak_formula(lambda n: [("x", 2 * n), ("y", 4 + n)])  # 8 = 8 at N = 4
    assert [(p.point, p.first, p.last) for p in later_wins_from_the_tie.pieces] == [("y", 1, 3), ("x", 4, None)]
    assert peak_formula(lambda n: []).pieces == [] and peak_formula(lambda n: []).at(5) == 0
    from_two = peak_formula(lambda n: [("a", 10 + n), ("b", 3 * n), ("c", 5 + 2 * n)], first=2)
    assert [(p.point, p.first, p.last) for p in from_two.pieces] == [("a", 2, 5), ("b", 6, None)]
    assert from_two.fit(11).batch == 0 and from_two.fit(12).batch == 2 and from_two.fit(11).over == 12


def test_a_model_that_takes_a_batch_of_two_and_more_has_a_formula_from_two(write_spec):
    """Batch norm without running statistics over a 1×1 map needs two samples (torch refuses one)."""
    path = write_spec("name: pair\ninput: [3, 1, 1]\nlayers:\n  - norm: {kind: batchnorm2d, track_running_stats: false}\n")
    formula = memory_formula(path).formula
    assert formula.first == 2 and formula.pieces[0].first == 2
    assert [formula.at(n) for n in (2, 3, 9)] == [analyze_memory(path, batch=n).peak for n in (2, 3, 9)]


def test_a_timeline_that_is_not_a_line_in_the_batch_is_an_internal_error():
    with pytest.raises(NotLinear, match="not a growing line"):
        peak_formula(lambda n: [("square", n * n)])
    with pytest.raises(NotLinear, match="differ"):
        peak_formula(lambda n: [(f"p{n}", n)])


BATCH_MOVED = """
name: moved
input: [1, 1, 1]
layers:
  - moved: {kind: permute, dims: [PERMUTED]}
  - LAST
"""


@pytest.mark.parametrize("permuted, last, says", [
    ("2, 1, 0, 3", "pool: {kind: maxpool2d, kernel: [32, 1], padding: [16, 0]}",  # a line through 1 to 31
     "line in it: this layer's output is 1×1×(⌊N/32⌋ + 1)×1"),
    ("1, 0, 2, 3", "square: {kind: multiply, from: [input, moved]}", "line in it: this layer's output is N×N×1×1"),
    ("1, 0, 2, 3", "conv: {kind: conv2d, out: 4, kernel: 1}", "do not depend on it: this layer's are 4·N + 4"),
], ids=["pooled", "squared", "weights"])
def test_a_batch_moved_into_a_window_a_square_or_the_weights_has_no_formula_in_the_batch(permuted, last, says,
                                                                                        write_spec, cli):
    """The formula stands on every tensor being a line in the batch, with parameters that do not
    depend on it. A permute that moves the batch under a window made a line through the batches
    sampled, wrong from batch 32 on; under a multiply by itself an internal error; into the channels
    a line under parameters said to be the same at every batch. Each is refused at that layer; a
    batch moved and flattened back into lines keeps its formula (tests/test_layout.py)."""
    path = write_spec(BATCH_MOVED.replace("PERMUTED", permuted).replace("LAST", last))
    layer = last.partition(":")[0]
    with pytest.raises(SpecError, match="the peak as a formula in the batch N needs") as error:
        memory_formula(path)
    assert error.value.layer == layer and says in error.value.message, error.value.message
    result = cli("memory", path, "--batch", "N")
    assert result.exit_code == 2 and f"layer '{layer}'" in result.stderr and "Traceback" not in result.output
    assert analyze_memory(path, batch=32).peak > 0  # a batch given as a number is answered
    lines = write_spec(BATCH_MOVED.replace("PERMUTED", "1, 0, 2, 3").replace(
        "LAST", "flat: {kind: flatten, start_dim: 0, end_dim: 1}"), "lines.yaml")
    formula = memory_formula(lines).formula
    assert [formula.at(n) for n in (1, 2, 33)] == [analyze_memory(lines, batch=n).peak for n in (1, 2, 33)]


def test_the_largest_batch_that_fits_is_worked_out_from_the_lines():
    """By hand, on a = 10 + N, b = 3N: 15 bytes fit N = 5 (15), not 6 (b: 18); 10 fit nothing;
    a line that does not grow bounds nothing but itself."""
    formula = peak_formula(lambda n: [("a", 10 + n), ("b", 3 * n)])
    fit = formula.fit(15)
    assert (fit.batch, fit.peak, fit.bound.point, fit.over) == (5, 15, "b", 18)
    assert formula.fit(10).batch == 0 and formula.fit(10).bound.point == "a"
    flat = peak_formula(lambda n: [("flat", 7)])
    assert flat.fit(6).batch == 0 and flat.fit(7).bound is None and flat.fit(7).batch == 2**31 - 1


@pytest.mark.parametrize("spec", ["lenet5", "squeezenet1_1", "two_lines"])
def test_the_formula_is_memtrackers_peak_at_every_batch(spec, write_spec):
    from archcalc.validation.peak import tracked_peaks

    torch_modules()
    path = write_spec(TWO_LINES) if spec == "two_lines" else spec
    graph = load_graph(path)
    batches = [1, 2, 3, 5, 8]
    formula = memory_formula(path).formula
    assert [formula.at(n) for n in batches] == [peak.total for peak in tracked_peaks(graph, graph.input_shape,
                                                                                     batches)]
    if spec == "two_lines":
        assert [(p.point, p.first, p.last) for p in formula.pieces] == [("norm", 1, 1), ("pool", 2, None)]


@pytest.mark.parametrize("spec, budget", [("lenet5", 2**20), ("squeezenet1_1", 10**8), ("two_lines", 500_000)])
def test_the_largest_batch_that_fits_is_where_memtracker_says(spec, budget, write_spec):
    """peak(N) ≤ budget < peak(N + 1), both as MemTracker measures them."""
    from archcalc.validation.peak import tracked_peaks

    torch_modules()
    path = write_spec(TWO_LINES) if spec == "two_lines" else spec
    graph = load_graph(path)
    fit = memory_formula(path).formula.fit(budget)
    at, following = tracked_peaks(graph, graph.input_shape, [fit.batch, fit.batch + 1])
    assert fit.batch > 1 and at.total == fit.peak <= budget < following.total == fit.over


def test_not_even_batch_1_fits_where_memtracker_says_so():
    from archcalc.validation.peak import tracked_peaks

    torch_modules()
    fit = memory_formula("lenet5").formula.fit(284_455)
    (one,) = tracked_peaks(load_graph("lenet5"), load_graph("lenet5").input_shape, [1])
    assert fit.batch == 0 and fit.peak is None and fit.over == one.total > 284_455 and fit.bound.point == "act1"


@pytest.mark.parametrize("spec", sorted(FAST_MODELS))
def test_the_formula_is_the_numeric_peak_at_every_batch(spec):
    formula = memory_formula(spec).formula
    for batch in [*range(1, 17), 64, 1000, 2**31 - 1]:
        memory = analyze_memory(spec, batch=batch)
        assert (formula.at(batch), formula.piece_at(batch).point) == (memory.peak, memory.peak_point.name)


def test_random_networks_formula_is_the_numeric_peak(tmp_path, count_example):
    @settings(deadline=None, max_examples=25, suppress_health_check=[HealthCheck.too_slow,
                                                                     HealthCheck.function_scoped_fixture])
    @given(network=networks(), batches=st.lists(st.integers(1, 40), min_size=1, max_size=5))
    def run(network, batches):
        count_example()
        layers, input_chw, _, dtype = network
        path = tmp_path / f"net{abs(hash(repr(network)))}.yaml"
        path.write_text(yaml_text({"name": "net", "input": list(input_chw), "layers": layers}))
        graph = load_graph(path)
        formula = memory_formula(path, dtype=dtype).formula
        for batch in batches:
            memory = inference_memory(graph, analyze_graph(graph, None, batch), dtype)
            assert formula.at(batch) == memory.peak
            assert (formula.piece_at(batch).point if formula.pieces else None) == (
                memory.peak_point.name if memory.peak_point else None)

    run()


def test_memory_with_a_symbolic_batch_prints_the_formula(cli, write_spec):
    path = write_spec(TWO_LINES)
    lines = cli("memory", path, "--batch", "B").stdout.splitlines()
    assert lines[1].startswith("input B×4×8×8")
    table = [line.split() for line in lines[-2:]]
    formula = memory_formula(path).formula
    assert table == [["B", "=", "1", f"{formula.pieces[0].constant:,}", "+", f"{formula.pieces[0].per_sample:,}·B",
                      "norm"],
                     ["B", "≥", "2", f"{formula.pieces[1].constant:,}", "+", f"{formula.pieces[1].per_sample:,}·B",
                      "pool"]]
    document = json.loads(cli("memory", path, "--batch", "B", "--format", "json").stdout)
    assert document["schema"] == "archcalc.memory_formula/1" and document["input"] == ["B", 4, 8, 8]
    assert [(p["first"], p["last"], p["layer"]) for p in document["pieces"]] == [(1, 1, "norm"), (2, None, "pool")]
    assert document["fit"] is None
    csv = cli("memory", path, "--batch", "B", "--format", "csv").stdout.splitlines()
    assert csv[0] == "first,last,constant,per_sample,layer" and csv[2].startswith("2,,")


def test_fit_names_the_largest_batch_and_what_bounds_it(cli):
    fit = memory_formula("lenet5").formula.fit(2**20)
    text = cli("memory", "lenet5", "--fit", "1MiB").stdout.splitlines()[-1]
    assert text == (f"the largest batch that fits in 1.0 MiB (1,048,576 B): N = {fit.batch} (peak {fit.peak:,} B); "
                    f"at N = {fit.batch + 1}, {fit.over:,} B while act1 runs")
    document = json.loads(cli("memory", "lenet5", "--fit", "1048576", "--format", "json").stdout)
    assert document["fit"] == {"budget": 2**20, "batch": fit.batch, "peak": fit.peak, "bound_by": "act1",
                               "next_peak": fit.over}
    none = cli("memory", "lenet5", "--fit", "1KB").stdout.splitlines()[-1]
    assert none == "not even N = 1 fits in 1000 B (1,000 B): its peak is 284,456 B while act1 runs"
    assert json.loads(cli("memory", "lenet5", "--fit", "1KB", "--format", "json").stdout)["fit"]["batch"] is None
    csv = cli("memory", "lenet5", "--fit", "1MiB", "--format", "csv")  # a line per piece: no place for the answer
    assert csv.exit_code == 2 and "--fit's answer is one batch" in csv.stderr and csv.stdout == ""


@pytest.mark.parametrize("size, bytes_", [("24GiB", 24 * 2**30), ("24 GB", 24 * 10**9), ("1.5GiB", 3 * 2**29),
                                          ("512MiB", 2**29), ("2MB", 2 * 10**6), ("100", 100), ("100B", 100),
                                          ("7 bytes", 7), ("24G", 24 * 10**9), ("2.5M", 2_500_000),
                                          # past decimal's 28 digits: exact, not …998,800,000,000,… bytes
                                          ("99999999999999999999999999EiB", (10**26 - 1) * 2**60)])
def test_fit_takes_sizes_as_people_write_them(size, bytes_):
    from archcalc.sizes import parse_bytes

    assert parse_bytes(size) == bytes_


@pytest.mark.parametrize("args", [["--fit", "24gib"], ["--fit", "0"], ["--fit", "1.5B"], ["--fit", "GiB"],
                                  ["--fit", "-1GB"], ["--fit", "0.3MiB"], ["--fit", "1e9"],
                                  ["--fit", "1GiB", "--batch", "8"]])
def test_bad_fits_exit_2_with_one_message(cli, args):
    result = cli("memory", "lenet5", *args)
    assert result.exit_code == 2 and "invalid value for '--fit'" in result.stderr and "Traceback" not in result.stderr


def test_a_model_that_runs_no_operation_fits_every_batch(cli, write_spec):
    path = write_spec("name: idle\ninput: [3, 8, 8]\nlayers:\n  - a: identity\n")
    assert memory_formula(path).formula.pieces == []
    lines = cli("memory", path, "--fit", "1B").stdout.splitlines()
    assert "MemTracker records no peak" in lines[3]
    assert lines[-1].startswith("every batch up to N = 2,147,483,647")


# The CUDA caching allocator's rounding: each tensor its own allocation, a multiple of 512 bytes

CUDA_BLOCK = 512
"""torch's c10/cuda/CUDACachingAllocator.cpp: round_size(size) is kMinBlockSize (512) for a size
below it, else the next multiple of it; allocate(0) allocates nothing."""


def block_rounded(size: int) -> int:
    """The rule above, written out: the reference the tests hold archcalc's allocator option to."""
    if size == 0:
        return 0
    return CUDA_BLOCK if size < CUDA_BLOCK else CUDA_BLOCK * ((size + CUDA_BLOCK - 1) // CUDA_BLOCK)


def round_each_storage(monkeypatch) -> None:
    """MemTracker with each storage's bytes (its own per-tensor accounting, on the CPU and fake
    tensors) put through the allocator's rule, as MemTracker itself does for a CUDA storage."""
    torch_modules()
    from torch.distributed._tools import mem_tracker

    monkeypatch.setattr(mem_tracker._WeakRefInfo, "_calculate_mem_consumed",
                        lambda info: block_rounded(info.size * info.element_size))


@pytest.fixture
def rounding_memtracker(monkeypatch):
    """MemTracker rounding each storage (round_each_storage)."""
    round_each_storage(monkeypatch)


@pytest.mark.parametrize("case", list(KIND_CASES))
def test_each_kinds_tensors_rounded_as_the_cuda_allocator_rounds_them(case, rounding_memtracker):
    """Every kind alone, at a small size where most tensors are under one block: parameters,
    buffers and activations against MemTracker with the rule applied to each storage it sees."""
    key, fields, shapes = KIND_CASES[case]
    measured, _ = measure_layer(key, fields, shapes, "float32", fake=True)
    assert measured == predicted_rounded_layer(key, fields, shapes)


def predicted_rounded_layer(key: str, fields: dict, shapes: list) -> tuple[int, int, int]:
    """predicted_layer with each tensor rounded: its weight, bias, buffers, new output and
    temporaries (the kind's `moments`), and its input where an operation touches it."""
    kind = LAYER_KINDS[key]
    a = kind.resolve(fields)
    out = kind.output_shape(a, shapes)
    footprint = kind.footprint(a, shapes, out, 4)
    if footprint.output == SAME and not footprint.transient and not footprint.touches_input:
        return 0, 0, 0
    own = kind.params(a, shapes)
    activations = (block_rounded(math.prod(shapes[0]) * 4) * footprint.touches_input
                   + footprint.temporaries(block_rounded)
                   + (block_rounded(math.prod(out) * 4) if footprint.output == NEW else 0))
    return (block_rounded(own.weight * 4) + block_rounded(own.bias * 4),
            sum(map(block_rounded, kind.buffer_tensors(a, shapes, 4))), activations)


@pytest.mark.parametrize("spec", ["lenet5", "alexnet_paper", "squeezenet1_1", "mobilenet_v2", "resnet50"])
def test_every_tensor_rounded_as_the_cuda_allocator_gives_memtrackers_rounded_peak(spec, rounding_memtracker):
    """The whole model: MemTracker with the rule applied to each storage, at batch 1 and 3."""
    from archcalc.validation.peak import tracked_peaks

    graph = load_graph(spec)
    measured = tracked_peaks(graph, graph.input_shape, [1, 3])
    predicted = [inference_memory(graph, analyze_graph(graph, None, batch), allocator="cuda") for batch in (1, 3)]
    assert [(m.parameters, m.buffers, m.activations, m.peak) for m in predicted] == [tuple(p) for p in measured]


CUDA_WORKSPACES = """What torch.cuda.max_memory_allocated holds beyond the tensors: cuDNN's convolution workspaces and
cuBLAS's workspace, taken through the same allocator, and kernels' own temporaries (max pooling's indices on
CUDA), none of which a spec tells. On an NVIDIA H200 (torch 2.11.0+cu130, cuDNN 9.19, 4 December 2026) it was
1.000–2.79 times archcalc's rounded peak at inference (median 1.022; within 3% for 64 of the 98 bundled
models) and 1.000–1.39 times in a training step (median 1.028; 51 of 98), where MemTracker's count of the same
CUDA tensors was archcalc's to the byte (docs/gpu-validation.md). Issue 20's target, within 3% of
max_memory_allocated, is not met where a convolution takes a workspace; the tests below hold the tensors to
the byte and the allocator's peak to at least them."""


def on_cuda(entry, batch: int, train: bool):
    """The bundled model built on the GPU (no initialisation), in training or eval mode, and a zero input."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: torch.cuda.is_available() is False")
    from archcalc.torchmodel import build_graph

    graph = load_graph(entry.path, entry.variant)
    model = build_graph(graph, graph.input_shape, batch, device="cuda", initialise=False).train(train)
    return torch, graph, model, torch.zeros(batch, *graph.input_shape, device="cuda")


def tracked_categories(tracker, run) -> dict[str, int]:
    """MemTracker's peak snapshot of `run()` by category name, over its devices."""
    with tracker:
        run()
    return {str(getattr(key, "value", key)): size for device in tracker.get_tracker_snapshot("peak").values()
            for key, size in device.items()}


@pytest.mark.parametrize("entry", [tier(entry) for entry in bundled()])
def test_cuda_tensors_of_inference_are_the_rounded_peak(entry):
    """One forward pass on the GPU (eval mode, no gradients, batch 1) under MemTracker: the storages
    CUDA's own kernels allocate, each rounded as the caching allocator rounds it (MemTracker's rule for
    CUDA storages), are archcalc's rounded peak in every category."""
    from archcalc.validation.peak import OverallPeakTracker

    torch, graph, model, x = on_cuda(entry, 1, train=False)
    with torch.no_grad():
        measured = tracked_categories(OverallPeakTracker(), lambda: model(x))
    predicted = inference_memory(graph, analyze_graph(graph, None, 1), allocator="cuda")
    assert (predicted.parameters, predicted.buffers, predicted.activations, predicted.peak) == \
        tuple(measured.get(key, 0) for key in ("Parameter", "Buffer", "Activation", "Total"))


@pytest.mark.parametrize("entry", [tier(entry) for entry in bundled()])
def test_cuda_tensors_of_a_training_step_are_the_rounded_peak(entry):
    """A training step on the GPU (SGD with momentum, batch 2, the third step: two untracked steps make
    the optimizer's state) under MemTracker told of the model and the optimizer: every category of
    the CUDA tensors, each rounded as the allocator rounds it, is archcalc's rounded training peak's."""
    from archcalc.training import training_memory
    from archcalc.validation.peak import TRAINING_KEYS, OverallPeakTracker, training_step

    _, graph, model, x = on_cuda(entry, 2, train=True)
    step = training_step(model, "momentum")
    step(x)
    step(x)
    tracker = OverallPeakTracker()
    tracker.track_external(model, step.optimizer)
    measured = tracked_categories(tracker, lambda: step(x))
    predicted = training_memory(graph, analyze_graph(graph, None, 2), optimizer="momentum", allocator="cuda")
    assert (*predicted.categories.values(), predicted.peak) == tuple(measured.get(key, 0) for key in (*TRAINING_KEYS,
                                                                                                       "Total"))


def allocated_peak(torch, run) -> int:
    """torch.cuda.max_memory_allocated over `run()`, the peak statistics reset just before it."""
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    run()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated()


@pytest.mark.parametrize("entry", [tier(entry) for entry in bundled()])
def test_cuda_max_memory_allocated_of_inference_holds_the_rounded_peak(entry):
    """One forward pass on the GPU (eval mode, no gradients, batch 1), the peak statistics reset once
    the model and its input are there: the most allocated is at least archcalc's rounded peak plus the
    rounded input (the caller's, which MemTracker, and so archcalc's peak, leaves out); what it holds
    beyond is the libraries' workspaces (CUDA_WORKSPACES), printed as a ratio."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: torch.cuda.is_available() is False")
    left = torch.cuda.memory_allocated()  # what earlier tests in this process left: libraries' handles, workspaces
    torch, graph, model, x = on_cuda(entry, 1, train=False)
    with torch.no_grad():
        measured = allocated_peak(torch, lambda: model(x)) - left
    predicted = (inference_memory(graph, analyze_graph(graph, None, 1), allocator="cuda").peak
                 + block_rounded(x.numel() * x.element_size()))
    print(f"{entry.name}: {torch.cuda.get_device_name()} torch {torch.__version__}: max_memory_allocated "
          f"{measured:,} B, archcalc {predicted:,} B, ratio {measured / predicted:.4f}")
    assert measured >= predicted


@pytest.mark.parametrize("entry", [tier(entry) for entry in bundled()])
def test_cuda_max_memory_allocated_of_a_training_step_holds_the_rounded_peak(entry):
    """Training steps on the GPU (SGD with momentum, batch 2, the optimizer's loop over parameters as
    archcalc models it): two untracked steps make the optimizer's state, then the peak statistics
    are reset, and a third step's most allocated is at least archcalc's rounded training peak plus the
    rounded input; the ratio is printed (CUDA_WORKSPACES)."""
    from archcalc.training import training_memory
    from archcalc.validation.peak import training_step

    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device: torch.cuda.is_available() is False")
    left = torch.cuda.memory_allocated()
    torch, graph, model, x = on_cuda(entry, 2, train=True)
    step = training_step(model, "momentum")
    step(x)
    step(x)
    measured = allocated_peak(torch, lambda: step(x)) - left
    predicted = (training_memory(graph, analyze_graph(graph, None, 2), optimizer="momentum", allocator="cuda").peak
                 + block_rounded(x.numel() * x.element_size()))
    print(f"{entry.name}: {torch.cuda.get_device_name()} torch {torch.__version__}: training step max_memory_allocated "
          f"{measured:,} B, archcalc {predicted:,} B, ratio {measured / predicted:.4f}")
    assert measured >= predicted


def dropout_as_on_cuda(monkeypatch) -> None:
    """torch's dropout in training, for 0 < p < 1, running the fused op CUDA takes there
    (`native_dropout`, whose mask is bool) wherever it runs: MemTracker then counts the mask the GPU
    keeps, where the CPU's path keeps one of the input's dtype."""
    import torch

    plain = torch.nn.functional.dropout

    def fused(input, p=0.5, training=True, inplace=False):
        if training and 0 < p < 1 and not inplace:
            return torch.ops.aten.native_dropout(input, p, True)[0]
        return plain(input, p, training, inplace)

    monkeypatch.setattr(torch.nn.functional, "dropout", fused)


@pytest.mark.parametrize(("spec", "optimizer"), [("lenet5", "sgd"), ("lenet5", "adam"), ("alexnet_paper", "momentum"),
                                               ("squeezenet1_1", "adamw"), ("resnet18", "momentum"),
                                               pytest.param("mobilenet_v2", "momentum", marks=pytest.mark.slow),
                                               pytest.param("mobilenet_v3_small", "adam", marks=pytest.mark.slow)])
def test_every_tensor_of_a_training_step_rounded_gives_memtrackers_rounded_peak(spec, optimizer, monkeypatch):
    """A training step in steady state: MemTracker with the rule applied to each storage (parameters,
    buffers, gradients, optimizer state, activations, temporaries), and dropout running CUDA's fused
    op, at batch 2 and 3, every category; its measurement kept while its key holds (tests/measured.py)."""
    from archcalc.training import training_memory
    from archcalc.validation.peak import tracked_training_peaks

    graph = load_graph(spec)

    def measure() -> list:
        with monkeypatch.context() as patched:
            round_each_storage(patched)
            dropout_as_on_cuda(patched)
            return tracked_training_peaks(graph, graph.input_shape, [2, 3], optimizer=optimizer)

    asked = {"input": graph.input_shape, "batches": [2, 3], "optimizer": optimizer, "block": CUDA_BLOCK}
    measured = kept("rounded_training_memory", types.SimpleNamespace(name=f"{spec} {optimizer}"),
                    Recipe(graph, graph.input_shape, 2), asked,
                    ["archcalc/validation/peak.py", round_each_storage, block_rounded, dropout_as_on_cuda], measure)
    predicted = [training_memory(graph, analyze_graph(graph, None, batch), optimizer=optimizer, allocator="cuda")
                 for batch in (2, 3)]
    assert [(*t.categories.values(), t.peak) for t in predicted] == [tuple(m) for m in measured]
    exact = training_memory(graph, analyze_graph(graph, None, 2), optimizer=optimizer)
    assert predicted[0].categories["parameters"] > exact.categories["parameters"]  # the rounding is not idle


IN_PLACE_AFTER_A_CONV = """
name: in_place
input: [3, 9, 9]
layers:
  - conv1: {kind: conv2d, out: 5, kernel: 3}
  - act1: {kind: relu6, inplace: true}
  - conv2: {kind: conv2d, out: 7, kernel: 3}
  - bn2: {kind: batchnorm2d}
  - act2: {kind: hardswish, inplace: true}
"""


@pytest.mark.parametrize(("spec", "optimizer"), [("convnext_block", "adam"), ("in_place", "momentum")])
def test_a_rounded_training_step_with_a_layout_copy_or_an_in_place_clone_is_memtrackers(spec, optimizer, write_spec,
                                                                                      rounding_memtracker):
    """The channels-last weight gradient's copy (tests/specs/convnext_block.yaml) and the clone an
    in-place activation keeps, each rounded like every other tensor: MemTracker with the rule."""
    from pathlib import Path

    from archcalc.training import training_memory
    from archcalc.validation.peak import tracked_training_peaks

    path = (Path(__file__).parent / "specs" / "convnext_block.yaml" if spec == "convnext_block"
            else write_spec(IN_PLACE_AFTER_A_CONV))
    graph = load_graph(path)
    measured = tracked_training_peaks(graph, graph.input_shape, [2, 3], optimizer=optimizer)
    predicted = [training_memory(graph, analyze_graph(graph, None, batch), optimizer=optimizer, allocator="cuda")
                 for batch in (2, 3)]
    assert [(*t.categories.values(), t.peak) for t in predicted] == [tuple(m) for m in measured]


def test_the_allocator_option_reaches_the_result_and_is_refused_with_a_formula(cli):
    rounded = analyze_memory("resnet18", batch=2, allocator="cuda")
    document = json.loads(cli("memory", "resnet18", "--batch", "2", "--allocator", "cuda", "--format", "json").stdout)
    assert document["allocator"] == "cuda" and document["peak"]["total"] == rounded.peak
    assert rounded.peak > analyze_memory("resnet18", batch=2).peak
    for args in (["--batch", "N"], ["--fit", "1GiB"]):
        refused = cli("memory", "resnet18", "--allocator", "cuda", *args)
        assert refused.exit_code == 2 and "not a line in the batch" in refused.stderr


@pytest.mark.parametrize("train", [[], ["--train"]], ids=["inference", "training"])
def test_a_tensor_torch_cannot_make_is_refused_where_it_is_made(train, tmp_path, cli):
    """torch's storage size is an int64: a 10×2,147,483,647×2,147,483,647 map of float32 takes more
    (torch: "Storage size calculation overflowed"). `memory` gave 2.2·10²¹ B for it (found by a
    fuzzer); it names the layer that makes it, and exits 2. So for max pooling's int64 indices of
    an output of float16 that torch can make (40 EiB printed; found by a review)."""
    import torch

    with pytest.raises(RuntimeError, match="overflow"):
        torch.empty((1, 10, 2**31 - 1, 2**31 - 1), device="meta")
    with pytest.raises(RuntimeError, match="overflow"):
        torch.empty((1, 1, 2**31 - 1, 2**31 - 1), dtype=torch.int64, device="meta")
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": [10, 22, 7], "layers": [
        {"big": {"kind": "adaptive_avgpool2d", "output_size": 2**31 - 1}}, {"s": {"kind": "layer_scale"}}]}))
    result = cli("memory", str(path), *train)
    assert result.exit_code == 2
    assert "layer 'big': its output 1×10×2147483647×2147483647 takes 184,467,440,565,296,824,360 bytes, more " \
           "than one tensor in torch can" in " ".join(result.stderr.split())
    path.write_text(yaml.safe_dump({"name": "net", "input": [1, 22, 7], "layers": [
        {"big": {"kind": "adaptive_maxpool2d", "output_size": 2**31 - 1}}, {"s": {"kind": "layer_scale"}}]}))
    result = cli("memory", str(path), "--dtype", "float16", *train)
    assert result.exit_code == 2
    assert "layer 'big': a temporary of its forward (beside its output 1×1×2147483647×2147483647) takes " \
           "36,893,488,113,059,364,872 bytes" in " ".join(result.stderr.split())


def test_the_formula_in_the_batch_ends_where_a_tensor_passes_what_torch_can_make(tmp_path, cli):
    """A map of 4×65,536×65,536 float32 takes 2³⁶ bytes a sample: from a batch of 2²⁷ a tensor
    passes 2⁶³ − 1 bytes, which torch cannot make. `--batch N --fit` answered N = 1,677,721,600
    for 100 EiB (found by a review); the formula ends at 2²⁷ − 1 and says why."""
    import torch

    with pytest.raises(RuntimeError, match="overflow"):
        torch.empty((2**27, 4, 65536, 65536), device="meta")
    torch.empty((2**27 - 1, 4, 65536, 65536), device="meta")
    path = tmp_path / "net.yaml"
    path.write_text(yaml.safe_dump({"name": "net", "input": [4, 65536, 65536], "layers": [{"r": "relu"}]}))
    formula = memory_formula(path).formula
    assert formula.last == 2**27 - 1 and formula.fit(100 * 2**60).batch == 2**27 - 1
    shown = " ".join(cli("memory", str(path), "--batch", "N", "--fit", "100EiB").stdout.split())
    assert "every batch up to N = 134,217,727 fits in 100.0 EiB" in shown
