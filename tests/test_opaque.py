"""The `opaque` kind and `archcalc import --allow-opaque` (docs/import.md): an operation archcalc has no
layer kind for, kept with its measured output shape and its parameters, counted by no convention and
named as not counted in every output; it has no receptive field and cannot be built in torch.

Expected figures come from torch: the shapes its forward makes, its modules' parameters, and
FlopCounterMode's count of the whole module (ELU and PReLU are no matrix products: it counts them 0).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import done_quietly, run_in

from archcalc.analysis import analyze_graph
from archcalc.conventions import CONVENTIONS, Uncounted
from archcalc.errors import SpecError
from archcalc.layers import LAYER_KINDS
from archcalc.spec import load_graph

SPEC = """\
name: op
input: [3, 8, 8]
layers:
  - conv: {kind: conv2d, out: 4, kernel: 3, padding: 1}
  - act: {kind: opaque, operation: "'torch.nn.functional.elu'", shape: [4, 8, 8], reads: [4, 8, 8], params: 5,
         buffers: 2}
  - pool: {kind: maxpool2d, kernel: 2}
"""


def test_an_opaque_layer_has_its_shape_and_parameters_and_no_count_under_any_convention():
    kind = LAYER_KINDS["opaque"]
    a = kind.resolve({"operation": "elu", "shape": [4, 8, 8], "reads": [4, 8, 8], "params": 5, "buffers": 2})
    assert kind.output_shape(a, [(3, 4, 8, 8)]) == (3, 4, 8, 8)  # the batch is its input's
    params = kind.params(a, [(3, 4, 8, 8)])
    assert (params.weight, params.bias, params.buffers) == (5, 0, 2)
    for convention in CONVENTIONS.values():
        assert convention.count(kind, a, [(3, 4, 8, 8)], (3, 4, 8, 8)) == Uncounted("opaque elu")


@pytest.mark.parametrize("fields, message", [
    ({"operation": "elu", "shape": [], "reads": [4, 8, 8]}, "opaque needs a shape of whole numbers from 1, got []"),
    ({"operation": "elu", "shape": [4, 0, 8], "reads": [4, 8, 8]},
     "opaque needs a shape of whole numbers from 1, got [4, 0, 8]"),
    ({"operation": "elu", "shape": [4], "reads": [4, 8, 8], "params": -1}, "field 'params' must be at least 0, got -1"),
    ({"operation": "elu", "shape": [4, 8, 8], "reads": [4, 8, 9]}, ("opaque (elu) was measured on an input of "
                                                                   "4×8×9 (after the batch), not 4×8×8: its output "
                                                                   "at this size is not known")),
])
def test_a_bad_opaque_layer_is_refused(fields, message):
    kind = LAYER_KINDS["opaque"]
    with pytest.raises(SpecError, match=re.escape(message)):
        kind.output_shape(kind.resolve(fields), [(1, 4, 8, 8)])


def test_the_table_json_and_receptive_field_show_it_uncounted(cli, write_spec):
    path = write_spec(SPEC)
    for convention in CONVENTIONS:
        text = cli("table", path, "--convention", convention).stdout
        assert "opaque torch.nn.functional.elu" in text.splitlines()[1].split(f"not counted by {convention}: ")[1]
    data = json.loads(cli("table", path, "--format", "json").stdout)
    assert data["convention"]["uncounted"] == ["opaque torch.nn.functional.elu"]
    stats = analyze_graph(load_graph(path))
    assert stats.totals.params == 112 + 5 and stats.totals.buffers == 2
    fields = stats.receptive_fields
    assert fields["conv"] is not None and fields["act"] is None and fields["pool"] is None


def test_another_input_size_is_refused(cli, write_spec):
    result = cli("table", write_spec(SPEC), "--input", "3x9x9")
    assert result.exit_code == 2
    assert "layer 'act': opaque (torch.nn.functional.elu) was measured on an input of 4×8×8 (after the batch), " \
        "not 4×9×9: its output at this size is not known" in result.stderr


def test_validate_and_build_torch_refuse_it_naming_the_layer(cli, write_spec):
    path = write_spec(SPEC)
    result = cli("validate", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}:5:5: layer 'act': opaque (torch.nn.functional.elu) has no torch "
                                    "module in archcalc: the model cannot be built in torch\n")
    assert "Traceback" not in result.stderr


def test_the_commands_validates_refusal_points_to_run_on_it(cli, write_spec):
    """A reviewer's: the hint named a `receptive` command, which archcalc does not have. Each
    command it names runs on the model (sweep at two sizes)."""
    import re

    path = write_spec(SPEC)
    hint = cli("validate", path).stderr
    [named] = re.findall(r"commands that need no torch \(([^)]*)\)", hint)
    for command in named.split(", "):
        extra = ["--size", "32,64"] if command == "sweep" else []
        result = cli(*command.split(), path, *extra)
        assert result.exit_code == 0, (command, result.output)


# --- archcalc import --allow-opaque ---------------------------------------------------------------

torch = pytest.importorskip("torch")

MODEL = '''
import torch
from torch import nn
import torch.nn.functional as F


class Odd(nn.Module):
    """An ELU and a PReLU, which archcalc has no kind for, between layers it has."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.act = nn.PReLU(4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        x = self.act(F.elu(self.conv(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
'''


@pytest.fixture
def odd(tmp_path):
    (tmp_path / "odd_model.py").write_text(MODEL, encoding="utf-8")
    import importlib.util

    spec = importlib.util.spec_from_file_location("odd_model", tmp_path / "odd_model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tmp_path, module.Odd().eval()


def _measured(module) -> tuple[dict, int, int]:
    """torch's figures of `module` on 1×3×8×8: the output shape of conv, the ELU (functional: the
    input of act) and act; its parameters; FlopCounterMode's FLOPs."""
    from torch.utils.flop_counter import FlopCounterMode

    shapes = {}
    hooks = [module.conv.register_forward_hook(lambda m, i, o: shapes.update(conv=tuple(o.shape))),
             module.act.register_forward_hook(lambda m, i, o: shapes.update(elu=tuple(i[0].shape),
                                                                             act=tuple(o.shape)))]
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(torch.rand(1, 3, 8, 8))
    for hook in hooks:
        hook.remove()
    return shapes, sum(p.numel() for p in module.parameters()), counter.get_total_flops()


def _check_import(path: Path, module, elu: str, prelu: str, act: str) -> None:
    shapes, params, flops = _measured(module)
    stats = analyze_graph(load_graph(path), convention="torch")
    layers = {layer.name: layer for layer in stats.layers}
    opaque = [layer.name for layer in stats.layers if layer.kind == "opaque"]
    assert opaque == [next(n for n in layers if n.startswith("elu")), act]
    assert layers[opaque[0]].shape == shapes["elu"] and layers[act].shape == shapes["act"]
    assert layers["conv"].shape == shapes["conv"]
    assert stats.totals.params == params and layers[act].figures.weight == module.act.weight.numel()
    assert stats.totals.flops == flops
    for convention in CONVENTIONS:
        assert stats.uncounted(convention)[:2] == [f"opaque {elu}", f"opaque {prelu}"]


def test_torch_import_keeps_what_has_no_kind_as_opaque_with_torch_shapes_and_parameters(odd):
    folder, module = odd
    refused = run_in(folder, "import", "torch", "odd_model:Odd", "--input", "3x8x8")
    assert refused.returncode == 2 and "node 'elu' (the top-level forward, torch.nn.functional.elu) has no layer " \
        "kind in archcalc" in refused.stderr
    result = run_in(folder, "import", "torch", "odd_model:Odd", "--input", "3x8x8", "--allow-opaque", "-o", "odd.yaml")
    assert done_quietly(result, "import torch"), result.stderr
    text = (folder / "odd.yaml").read_text(encoding="utf-8")
    assert "  - act: {kind: opaque, operation: '''torch.nn.modules.activation.PReLU''', shape: [4, 6, 6], " \
        "reads: [4, 6, 6], params: 4}\n" in text
    assert text == (Path(__file__).parent / "specs" / "odd_opaque.yaml").read_text(encoding="utf-8")  # docs/import.md's
    _check_import(folder / "odd.yaml", module, "torch.nn.functional.elu", "torch.nn.modules.activation.PReLU", "act")


def test_onnx_import_keeps_what_has_no_kind_as_opaque_with_the_graphs_shapes_and_parameters(odd):
    pytest.importorskip("onnx")
    from onnx_exports import export

    folder, module = odd
    export(module, (3, 8, 8), folder / "odd.onnx")
    refused = run_in(folder, "import", "onnx", "odd.onnx")
    assert refused.returncode == 2 and "node '/Elu' (Elu) of 'odd.onnx' has no layer kind in archcalc" in refused.stderr
    result = run_in(folder, "import", "onnx", "odd.onnx", "--allow-opaque", "-o", "odd.yaml")
    assert done_quietly(result, "import onnx"), result.stderr
    _check_import(folder / "odd.yaml", module, "Elu", "PRelu", "act")


def test_the_report_names_it_as_not_counted(cli):
    text = cli("report", Path(__file__).parent / "specs" / "odd_opaque.yaml").stdout
    assert "| not counted by paper | opaque torch.nn.functional.elu, opaque torch.nn.modules.activation.PReLU |\n" in text


def test_the_roofline_times_it_by_its_bytes_as_a_lower_bound_of_unknown_bound(cli, write_spec):
    """An attacking review found an opaque layer given 0 FLOPs, intensity 0, a memory bound and a
    time, as if known. Its FLOPs are not known: its time is its bytes at the H200's 4.8 TB/s plus
    the 5 µs launch (the bundled profile's datasheet figures), a lower bound, marked so."""
    path = write_spec(SPEC)
    data = json.loads(cli("table", path, "--device-profile", "h200", "--format", "json").stdout)
    act = next(row["roofline"] for row in data["rows"] if row["name"] == "act")
    moved = (4 * 8 * 8 + 4 * 8 * 8 + 5 + 2) * 4  # input read, output written, parameters and buffers, float32
    assert act == {"flops": None, "bytes": moved, "intensity": None, "bound": "unknown",
                   "time_s": pytest.approx(moved / 4.8e12 + 5e-6, rel=1e-12)}
    conv = next(row["roofline"] for row in data["rows"] if row["name"] == "conv")
    assert conv["flops"] == 2 * 4 * 3 * 3 * 3 * 8 * 8 and conv["bound"] in ("compute", "memory")
    assert data["roofline"]["uncounted"] == ["act"] and data["roofline"]["flops"] is None
    text = cli("table", path, "--device-profile", "h200").stdout
    assert re.search(r"^2 +act .* unknown +≥ 5\.\d\d µs$", text, re.MULTILINE), text
    assert re.search(r"^ +total .* ≥ \d", text, re.MULTILINE), text
    assert ": ≥ " in text and "1 unknown (a lower bound: the FLOPs of act are not counted, only the bytes they move)" in text
    # the FLOPs counted, of the others alone, are a lower bound too (JSON's are null): they read as the model's
    assert " · ≥ 13.8 K FLOPs, " in text, text  # the conv's 2 · 4·8·8 · 3·3·3, the pooling's none
    csv_total = cli("table", path, "--device-profile", "h200", "--format", "csv").stdout.splitlines()[-1].split(",")
    assert csv_total[-5:-1] == ["", str(data["roofline"]["bytes"]), "", ""]
    report = cli("report", path, "--device-profile", "h200").stdout
    assert "| predicted latency | ≥ " in report and "(a lower bound: the FLOPs of act are not counted" in report


def test_a_model_of_counted_layers_has_no_unknown_on_the_roofline(cli):
    data = json.loads(cli("table", "resnet18", "--device-profile", "h200", "--format", "json").stdout)
    assert data["roofline"]["uncounted"] == [] and data["roofline"]["flops"] == sum(
        row["roofline"]["flops"] for row in data["rows"])
    assert "unknown" not in cli("table", "resnet18", "--device-profile", "h200").stdout.replace("'unknown'", "")


def test_an_opaque_onnx_node_is_named_by_its_own_operator(tmp_path):
    """torch's nn.LayerNorm over two axes before opset 17 is ReduceMean, Sub, …, a Mul by its weight and
    an Add of its bias; the Mul by a parameter, which the reader calls LayerScale while it tries it as a
    layer_scale, was kept as `opaque: {operation: 'LayerScale'}`: an operator the file does not hold,
    under a name that says nothing (docs/import.md: the operation is the ONNX operator)."""
    onnx = pytest.importorskip("onnx")
    nn = torch.nn

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.norm, self.fc = nn.Conv2d(3, 8, 3), nn.LayerNorm([6, 6]), nn.Linear(6, 2)

        def forward(self, x):
            return self.fc(self.norm(self.conv(x)))

    module = Net().eval()
    torch.onnx.export(module, (torch.zeros(1, 3, 8, 8),), str(tmp_path / "ln.onnx"), dynamo=False, opset_version=16,
                      do_constant_folding=False)
    operators = {node.op_type for node in onnx.load(str(tmp_path / "ln.onnx")).graph.node}
    result = run_in(tmp_path, "import", "onnx", "ln.onnx", "--allow-opaque", "-o", "ln.yaml")
    assert done_quietly(result, "import onnx"), result.stderr
    stats = analyze_graph(load_graph(tmp_path / "ln.yaml"))
    uncounted = [text.removeprefix("opaque ") for text in stats.uncounted("paper")]
    assert set(uncounted) <= operators and "Mul" in uncounted, uncounted
    assert [layer.kind for layer in stats.layers if layer.name == "norm.mul"] == ["opaque"]
    assert stats.totals.params == sum(p.numel() for p in module.parameters())
    # the Add of the bias was 'norm_1', beside the group 'norm' that holds the Mul of the weight
    assert {layer.name.split(".")[0] for layer in stats.layers} == {name for name, _ in module.named_children()}
