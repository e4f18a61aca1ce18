"""archcalc import onnx: an ONNX graph read into a spec with the onnx package alone (docs/import.md).

Evidence: every bundled model exported with torch's exporter imports back to its own figures,
layer by layer under every convention, with its parameters' names (its spec's torch model loads the
original's state dict); networks written in plain torch import through ONNX to the figures of
their torch import; and each way a file cannot be imported is one message with exit 2. The
expected messages are written by hand.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import FAST_MODELS, run_in

from archcalc import import_onnx
from archcalc.analysis import analyze_graph
from archcalc.conventions import CONVENTIONS, Uncounted
from archcalc.errors import UserError
from archcalc.layers import LAYER_KINDS
from archcalc.spec import bundled, load_graph

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper

KINDS = ", ".join(sorted(LAYER_KINDS))

EVAL_IDENTITY = {"dropout", "identity", "stochastic_depth"}
"""Kinds that are the identity in eval mode: an exported graph has no node for them."""

NOT_EXPORTED = {
    "googlenet_aux": "Unsupported: ONNX export of operator adaptive_avg_pool2d, output size that are not factor",
    "shufflenet_v2_x0_5": "Exporting the operator 'aten::channel_shuffle' to ONNX opset version 20 is not supported",
    "shufflenet_v2_x1_0": "Exporting the operator 'aten::channel_shuffle' to ONNX opset version 20 is not supported",
}
"""Bundled models torch's TorchScript exporter refuses (its message)."""

LRN_REFUSED = ("node '/norm1/Reshape' (Reshape) of '{}.onnx' cannot be written exactly: a reshape from "
               "[1, 96, 55, 55] to [1, 1, 96, 55, 55] that is not a flatten")
NOT_IMPORTED = {
    "alexnet_paper": LRN_REFUSED.format("alexnet_paper"), "zfnet": LRN_REFUSED.format("zfnet"),
    "unet": "node '/crop/Slice' (Slice) of 'unet.onnx' has no layer kind in archcalc",
    "unet_padded": "node '/pad/Pad' (Pad) of 'unet_padded.onnx': the shape of '/pad/Pad_output_0' is not known",
    "regnet_y_128gf": "regnet_y_128gf.onnx' keeps 324 initialisers ('blocks.0.proj.conv.weight', …) in external data "
                      "files: archcalc reads a model of one file\n",
}
"""Bundled models whose export archcalc refuses: torch writes nn.LocalResponseNorm as a dozen
nodes (Reshape to 5-D, Pow, Pad, AveragePool, If …), not as ONNX's LRN; U-Net's centre crop is a
Slice (not yet mapped); the padded U-Net's Pad takes pads computed from the input's shape, which
ONNX's shape inference does not follow; RegNetY-128GF's 2.6 GB of weights, which torch saves in
external data files (over protobuf's 2 GiB)."""


def export(module, shape: tuple[int, ...], path) -> None:
    """The module as torch's TorchScript exporter writes it: eval mode, batch norms kept (no
    constant folding, which would fold them into the convolutions)."""
    torch = pytest.importorskip("torch")
    torch.onnx.export(module.eval(), (torch.zeros(1, *shape),), str(path), dynamo=False,
                      training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False)


def read_back(text: str, folder, name: str = "imported.yaml"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return load_graph(path)


def layer_figures(graph, convention: str, skip: set[str] = frozenset()) -> list:
    """Each layer's kind, shape, figures and counts, and its name where it has parameters."""
    stats = analyze_graph(graph, convention=convention)
    return [(layer.name if layer.figures.weight + layer.figures.bias else "", layer.kind, layer.shape,
             layer.figures, dict(layer.counts)) for layer in stats.layers if layer.kind not in skip]


def exported_layers(graph, convention: str) -> list:
    """The rows of `layer_figures` that an export holds: not the layers that are the identity in
    eval mode, nor a concatenation read only by concatenations (the exporter joins it into them:
    Inception-v3's branch3x3 and branch3x3dbl)."""
    stats = analyze_graph(graph, convention=convention)
    readers: dict[str, list[str]] = {}
    for layer in stats.layers:
        for source in layer.inputs:
            readers.setdefault(source, []).append(layer.kind)
    joined = {layer.name for layer in stats.layers if layer.kind == "concat" and readers.get(layer.name)
              and set(readers[layer.name]) == {"concat"}}
    rows = layer_figures(graph, convention)
    return [row for layer, row in zip(stats.layers, rows) if layer.kind not in EVAL_IDENTITY and layer.name not in joined]


def as_exported(rows: list, convention: str) -> list:
    """The rows of a model as its export holds them: an adaptive average pooling to more than one
    value is written as a fixed AveragePool (the same figures, but fvcore counts adaptive_avg_pool2d
    and not avg_pool2d)."""
    exported = []
    for name, kind, shape, figures, counts in rows:
        if kind.startswith("adaptive_avgpool") and any(size > 1 for size in shape[2:]):
            kind = kind.removeprefix("adaptive_")
            counts = {**counts, "fvcore": Uncounted(kind)}
            if convention == "fvcore":
                figures = figures._replace(macs=0, flops=0)
        exported.append((name, kind, shape, figures, counts))
    return exported


# --- round trip: build_torch(spec) → torch.onnx.export → import onnx → spec -----------------------

def onnx_tier(entry):
    """A bundled model as a parameter: the fast ones in every run, the others slow and run with
    --onnx-exports only (torch's exporter takes about 15 CPU-minutes over them all)."""
    if entry.name in FAST_MODELS:
        return pytest.param(entry, id=entry.name)
    return pytest.param(entry, id=entry.name, marks=[pytest.mark.slow, pytest.mark.onnx_exports])


@pytest.mark.parametrize("entry", [onnx_tier(e) for e in bundled()])
def test_every_bundled_model_round_trips_through_onnx(entry, tmp_path):
    torch = pytest.importorskip("torch")
    from archcalc.torchmodel import build_graph

    original = load_graph(entry.path, entry.variant)
    module = build_graph(original, initialise=False)
    with torch.no_grad():  # parameters all zero would be one initialiser, and two convolutions of one input one node
        for number, parameter in enumerate(module.parameters(), start=1):
            parameter.fill_(number)
    path = tmp_path / f"{entry.name}.onnx"
    if entry.name in NOT_EXPORTED:
        with pytest.raises(Exception, match=NOT_EXPORTED[entry.name][:40]):
            export(module, original.input_shape, path)
        return
    export(module, original.input_shape, path)
    if entry.name in NOT_IMPORTED:
        with pytest.raises(UserError, match=re.escape(NOT_IMPORTED[entry.name])):
            import_onnx(path)
        return
    imported = read_back(import_onnx(path, name=entry.name), tmp_path)
    for convention in CONVENTIONS:  # the exporter may order independent layers otherwise (Inception-v3's concat)
        assert sorted(layer_figures(imported, convention), key=repr) == sorted(as_exported(
            exported_layers(original, convention), convention), key=repr)
    assert len(imported.heads) == len(original.heads)
    rebuilt = build_graph(imported, device="meta")
    rebuilt.load_state_dict(module.state_dict(), strict=True, assign=True)  # every key, of its shape


def test_resnet50_through_onnx_is_the_short_spec_of_its_torch_import(tmp_path):
    from archcalc.torchmodel import build_graph

    path = tmp_path / "resnet50.onnx"
    export(build_graph(load_graph("resnet50"), initialise=False), (3, 224, 224), path)
    text = import_onnx(path)
    assert text.count("\n") == 35  # 175 layers; the torch import's 35 lines, the block named after its stages
    assert "  - layer3: {kind: layer, repeat: 6, conv1_out: 256, conv2_stride: 1, conv3_out: 1024," in text
    assert "  - avgpool: {kind: adaptive_avgpool2d, output_size: 1}\n  - flatten: flatten\n" in text


def test_a_network_written_in_plain_torch_imports_as_through_torch(tmp_path):
    """Module paths in the node names (nested modules): every layer keeps its torch name."""
    from test_import_torch import MobileBlock, SmallResNet, SmallVGG

    from archcalc import import_torch

    torch = pytest.importorskip("torch")
    for network in (SmallResNet(), SmallVGG(), torch.nn.Sequential(MobileBlock(8, 32), torch.nn.Flatten())):
        path = tmp_path / "net.onnx"
        export(network, (3, 32, 32) if not isinstance(network, torch.nn.Sequential) else (8, 8, 8), path)
        through_onnx = read_back(import_onnx(path), tmp_path, "onnx.yaml")
        shape = (3, 32, 32) if not isinstance(network, torch.nn.Sequential) else (8, 8, 8)
        through_torch = read_back(import_torch(network, shape), tmp_path, "torch.yaml")
        for convention in CONVENTIONS:
            assert layer_figures(through_onnx, convention) == as_exported(
                layer_figures(through_torch, convention, EVAL_IDENTITY), convention)
        weighted = [n for n, *_ in layer_figures(through_torch, "torch") if n]
        assert weighted == [n for n, *_ in layer_figures(through_onnx, "torch") if n]


# --- files made here, node by node --------------------------------------------------------------

def save(path, nodes, inputs, initialisers=(), out=(1, 4, 8, 8), opset: int = 17) -> None:
    output = helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, list(out))
    graph = helper.make_graph(nodes, "net", inputs, [output], list(initialisers))
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), str(path))


INPUT = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
WEIGHT = numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "conv.weight")


def conv(output: str = "c"):
    return helper.make_node("Conv", ["x", "conv.weight"], [output], name="/conv/Conv", pads=[1, 1, 1, 1])


@pytest.fixture
def files(tmp_path):
    save(tmp_path / "good.onnx", [conv(), helper.make_node("Relu", ["c"], ["y"], name="/relu/Relu")], [INPUT], [WEIGHT])
    return tmp_path


def run_import(folder, *args):
    """`archcalc import onnx ARGS…` from `folder`, in this process (a fresh one: `run_process`)."""
    return run_in(folder, "import", "onnx", *args)


def test_a_graph_written_node_by_node_imports(files):
    result = run_import(files, "good.onnx")
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == ("name: good\nsource: 'imported from ONNX: good.onnx'\ninput: [3, 8, 8]\nlayers:\n"
                             "  - conv: {kind: conv2d, out: 4, kernel: 3, padding: 1, bias: false}\n  - relu: relu\n")


def test_nodes_without_module_paths_are_named_by_their_operator(files):
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="Conv_0", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="Relu_1"), helper.make_node("Relu", ["r"], ["y"])]
    save(files / "plain.onnx", nodes, [INPUT], [numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w")])
    text = import_onnx(files / "plain.onnx")
    assert text.endswith("layers:\n  - conv: {kind: conv2d, out: 4, kernel: 3, padding: 1, bias: false}\n"
                         "  - relu: relu\n  - relu_1: relu\n")


def test_an_unsupported_operator_is_named_with_the_kinds(files):
    save(files / "erf.onnx", [conv(), helper.make_node("Erf", ["c"], ["y"], name="/act/Erf")], [INPUT], [WEIGHT])
    result = run_import(files, "erf.onnx")
    assert result.returncode == 2
    assert result.stderr == (f"error: node '/act/Erf' (Erf) of 'erf.onnx' has no layer kind in archcalc\n"
                             f"  hint: the kinds are: {KINDS}\n")


def test_an_operator_a_kind_cannot_keep_exact_says_why(files):
    save(files / "clip.onnx", [conv(), helper.make_node("Clip", ["c", "low", "high"], ["y"], name="/act/Clip")],
         [INPUT], [WEIGHT, numpy_helper.from_array(np.array(0, np.float32), "low"),
                   numpy_helper.from_array(np.array(4, np.float32), "high")])
    result = run_import(files, "clip.onnx")
    assert result.returncode == 2
    assert result.stderr.startswith("error: node '/act/Clip' (Clip) of 'clip.onnx' cannot be written exactly: "
                                    "Clip to [0.0, 4.0] (archcalc's relu6 clips to [0, 6])\n")


@pytest.mark.parametrize("fraction", [0.1, 0.5, 0.9, 0.99])
def test_a_truncated_file_is_one_message(files, fraction):
    data = (files / "good.onnx").read_bytes()
    (files / "cut.onnx").write_bytes(data[:int(len(data) * fraction)])
    result = run_import(files, "cut.onnx")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(("error: 'cut.onnx' is not an ONNX model: ",
                                     "error: 'cut.onnx' is not a valid ONNX model: ")), result.stderr
    assert result.stderr.count("\n") == 2


def test_a_file_that_is_not_onnx_is_one_message(files):
    (files / "net.onnx").write_text("name: net\ninput: [3, 8, 8]\nlayers:\n  - relu: relu\n")
    result = run_import(files, "net.onnx")
    assert (result.returncode, result.stderr) == (2, (
        "error: 'net.onnx' is not an ONNX model: Error parsing message with type 'onnx.ModelProto': Wire format "
        "was corrupt\n  hint: is the file complete? an ONNX file is a protobuf ModelProto (.onnx)\n"))
    assert run_import(files, "missing.onnx").stderr == "error: 'missing.onnx' is not a file\n"


def test_a_dynamic_input_needs_its_sizes(files):
    dynamic = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    save(files / "dynamic.onnx", [conv(), helper.make_node("Relu", ["c"], ["y"], name="/relu/Relu")], [dynamic],
         [WEIGHT], out=("N", 4, "H", "W"))
    result = run_import(files, "dynamic.onnx")
    assert (result.returncode, result.stderr) == (2, (
        "error: the input 'x' of 'dynamic.onnx' has a dynamic size (N × 3 × H × W): archcalc needs its channels "
        "and sizes\n  hint: give them with --input, e.g. --input 3x224x224\n"))
    fixed = run_import(files, "dynamic.onnx", "--input", "3x16x16")
    assert fixed.returncode == 0 and "input: [3, 16, 16]\n" in fixed.stdout
    wrong = run_import(files, "dynamic.onnx", "--input", "4x16x16")
    assert wrong.stderr == ("error: --input 4x16x16 does not fit the input 'x' of 'dynamic.onnx', of shape "
                            "N × 3 × H × W\n")


def test_several_inputs_are_refused(files):
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 3, 8, 8])
    save(files / "two.onnx", [helper.make_node("Add", ["x", "mask"], ["y"], name="/Add")], [INPUT, mask],
         out=(1, 3, 8, 8))
    result = run_import(files, "two.onnx")
    assert (result.returncode, result.stderr) == (2, (
        "error: 'two.onnx' takes 2 inputs ('x', 'mask'); an archcalc model takes one tensor\n"
        "  hint: export a model whose forward takes one tensor\n"))


def test_a_file_over_the_limit_is_refused_before_it_is_read(files, monkeypatch):
    from archcalc.importers import onnx_graph

    monkeypatch.setattr(onnx_graph, "MAX_ONNX_BYTES", 100)
    with pytest.raises(UserError, match=r"^'.*good.onnx' is larger than 100 bytes, the most an ONNX file holds "
                                        r"\(archcalc reads it whole\)$"):
        import_onnx(files / "good.onnx")


def test_args_are_for_torch_only(files):
    result = run_import(files, "good.onnx", "--args", "[]")
    assert result.returncode == 2 and "--args is for torch: an ONNX file takes none" in result.stderr


def test_weights_in_external_data_files_are_refused_before_any_is_opened(files):
    model = onnx.load(str(files / "good.onnx"))
    onnx.save(model, str(files / "external.onnx"), save_as_external_data=True, location="weights.bin",
              size_threshold=0)
    (files / "weights.bin").unlink()  # not needed: never opened
    result = run_import(files, "external.onnx")
    assert (result.returncode, result.stderr) == (2, (
        "error: 'external.onnx' keeps 1 initialisers ('conv.weight', …) in external data files: archcalc reads a "
        "model of one file\n  hint: save it without external data (a model under 2 GiB)\n"))
