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

import pytest
import yaml
from conftest import tier
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_layer_kinds import CASES

from archcalc.analysis import analyze_graph
from archcalc.layers import LAYER_KINDS
from archcalc.layers.base import NEW, SAME, VIEW
from archcalc.memory import DTYPES, analyze_memory, inference_memory
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
    assert {key for key, _, _ in KIND_CASES.values()} == set(LAYER_KINDS)


def predicted_model(graph, batch: int, dtype: str = "float32") -> tuple[int, int, int, int]:
    memory = inference_memory(graph, analyze_graph(graph, None, batch), dtype)
    return memory.parameters, memory.buffers, memory.activations, memory.peak


def tracked(graph, batch: int, dtype: str = "float32") -> tuple[int, int, int, int]:
    torch_modules()
    from archcalc.validation.peak import tracked_peak

    return tuple(tracked_peak(graph, (batch, *graph.input_shape), dtype))


@pytest.mark.parametrize("entry", [tier(entry) for entry in bundled()])
def test_every_bundled_model_peaks_as_memtracker_measures(entry):
    """At batch 1 and batch 8, each figure per batch (the torch model built once for both)."""
    from archcalc.validation.peak import tracked_peaks

    torch_modules()
    graph = load_graph(entry.path, entry.variant)
    measured = tracked_peaks(graph, graph.input_shape, [1, 8])
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
    assert memory.peak_layer.name == "act1" and 2 * 6 * 28 * 28 * 4 == 37_632


def test_a_model_that_runs_no_operation_has_no_peak(write_spec):
    path = write_spec("name: idle\ninput: [3, 8, 8]\nlayers:\n  - a: identity\n  - b: {kind: dropout, p: 0.1}\n")
    memory = analyze_memory(path)
    assert memory.peak_layer is None and memory.peak == 0
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
        path.write_text(yaml.safe_dump({"name": "net", "input": list(input_chw), "layers": layers}))
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
                                "activations": memory.activations, "temporaries": memory.peak_layer.transient,
                                "layer": memory.peak_layer.name}
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
    (["lenet5", "--batch", "N"], "--batch"),
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
