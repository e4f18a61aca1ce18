"""Cross-validation: the built torch model, `archcalc validate`, and what happens without torch.

Expected figures here are torch's own: validation measures the model torch runs, with hooks,
parameter counts, fvcore's FlopCountAnalysis and torch's FlopCounterMode.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import platform
import re
import subprocess
import sys
import warnings

import pytest
from conftest import tier
from measured import kept_in_validation

torch = pytest.importorskip("torch")
pytest.importorskip("fvcore")

import archcalc  # noqa: E402
from archcalc import build_torch, validate  # noqa: E402
from archcalc.layers import LAYER_KINDS  # noqa: E402
from archcalc.spec import bundled, load_graph  # noqa: E402

CUDA = torch.cuda.is_available()
GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
KEPT = ", freed memory kept" if GLIBC else ""
"""What the latency's title says of the allocator on the CPU (archcalc.validation.latency.keep_freed_memory)."""


AFFORDABLE = 25e9
"""MACs up to which a bundled model is validated at its own input here; a larger one (segmentation at
520×520, U-Net at 572×572, the video ResNets) at the first smaller input in SMALLER that it accepts:
every layer is still compared, and no count depends on the input's size in a way that a smaller
one would hide (each rule is a formula of the sizes, held to torch by the property tests)."""
SMALLER = {1: ["1x2000"], 2: ["3x64x64", "1x188x188"], 3: ["3x8x56x56"]}


def affordable_input(entry) -> str | None:
    stats = archcalc.analyze(entry.path, variant=entry.variant)
    if stats.totals.macs <= AFFORDABLE:
        return None
    channels, *sizes = stats.input_shape[1:]
    for size in SMALLER[len(sizes)]:
        shape = f"{channels}x{size.split('x', 1)[1]}"
        try:
            archcalc.analyze(entry.path, variant=entry.variant, input=shape)
        except archcalc.SpecError:
            continue
        return shape
    raise AssertionError(f"no smaller input fits {entry.name}")


@pytest.mark.parametrize("entry", [tier(e) for e in bundled()])
def test_every_bundled_model_validates_on_the_cpu_under_both_counters(entry, monkeypatch):
    """validate as it runs, its count of the built model by torch, fvcore and FlopCounterMode
    made afresh or read from the kept count of this very model (tests/measured.py)."""
    # the peaks of inference and of a training step against MemTracker, every bundled model at batch
    # 1 and 8, are test_memory.py's and test_training_memory.py's; here the layers and the counters
    kept_in_validation(monkeypatch, entry)
    result = validate(entry.path, entry.variant, input=affordable_input(entry), device="cpu", counter="both", runs=0,
                      memory=False)
    assert result.error is None
    assert result.differences == []
    assert result.ok and result.counters == ("fvcore", "flop_counter")
    assert [layer.name for layer in result.layers] == [n.name for n in load_graph(entry.path, entry.variant).nodes]
    assert all(len(layer.checks) == 5 for layer in [*result.layers, result.total])


def test_validate_prints_the_agreement_and_the_latency(cli):
    result = cli("validate", "lenet5", "--runs", "2", "--warmup", "1")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "lenet5 (specs/lenet.yaml) · validated on cpu · torch " in out
    assert "    total" in out and "61,706 ✓" in out and "416,520 ✓" in out and "833,040 ✓" in out
    assert "✓ lenet5: all 12 layers and the totals agree — output shape, parameters, buffers, " \
           "fvcore MACs, FlopCounterMode FLOPs" in out
    assert f"latency on cpu in float32 (time.perf_counter, 1 thread{KEPT}, median of 2 runs after 1 warm-up)" in out
    assert out.count("≠") == 1  # the legend's; no cell differs


def test_a_model_of_one_layer_is_said_to_agree_in_its_one_layer(cli, tmp_path):
    """A reviewer's: "all 1 layers and the totals agree"."""
    path = tmp_path / "one.yaml"
    path.write_text("name: one\ninput: [3, 8, 8]\nlayers:\n  - conv: {kind: conv2d, out: 4, kernel: 3}\n")
    result = cli("validate", path, "--runs", "0", "--no-memory")
    assert result.exit_code == 0 and "✓ one: its one layer and the totals agree — " in result.stdout, result.output


TWO_HEADS = ("name: two_heads\ninput: [3, 8, 8]\nlayers:\n  - conv: {kind: conv2d, out: 4, kernel: 3}\n"
             "  - a: {kind: conv2d, out: 2, kernel: 1, from: conv}\n  - b: {kind: conv2d, out: 5, kernel: 3, from: conv}\n"
             "outputs: [a, b]\n")
"""Two heads on one convolution: 3×8×8 → conv 3×3 → 4×6×6; head a (1×1) 2×6×6, head b (3×3) 5×4×4."""


def test_every_head_of_a_model_is_its_output_shape(tmp_path):
    """The total's output shape is every head's as the model returns them, not the first head's alone
    (by hand: 1×2×6×6 and 1×5×4×4; torch's model returns both)."""
    path = tmp_path / "two_heads.yaml"
    path.write_text(TWO_HEADS)
    result = validate(path, device="cpu", counter="torch", runs=0, memory=False)
    heads = tuple(tuple(out.shape) for out in build_torch(path).eval()(torch.zeros(1, 3, 8, 8)))
    assert heads == ((1, 2, 6, 6), (1, 5, 4, 4))
    assert result.ok and result.total.get("shape").predicted == result.total.get("shape").measured == heads


def test_a_head_the_model_does_not_return_is_a_difference(tmp_path, monkeypatch):
    """A built model that returns its first head alone (as if the build dropped the second) differs
    from the spec's two heads in the total's output shape: it does not pass."""
    from archcalc import torchmodel

    build = torchmodel.build_graph

    def first_head_only(*args, **kwargs):
        model = build(*args, **kwargs)
        returns = model.forward
        model.forward = lambda x: returns(x)[0]
        return model

    monkeypatch.setattr(torchmodel, "build_graph", first_head_only)
    path = tmp_path / "two_heads.yaml"
    path.write_text(TWO_HEADS)
    result = validate(path, device="cpu", counter="torch", runs=0, memory=False)
    assert all(layer.ok for layer in result.layers)  # every layer runs as the spec says
    assert [(row.name, check.figure, check.measured) for row, check in result.differences] == [
        ("total", "shape", (1, 2, 6, 6))]
    assert not result.ok


def test_a_wrong_count_is_shown_where_it_is_and_exits_1(cli, monkeypatch):
    linear = LAYER_KINDS["linear"]
    right = type(linear).macs
    monkeypatch.setattr(type(linear), "macs", lambda self, a, shapes, out: right(self, a, shapes, out) + 1)
    result = cli("validate", "lenet5", "--runs", "0")
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines() if " fc3 " in line)
    assert "841 ≠ 840 (-1)" in row and "1,682 ≠ 1,680 (-2)" in row and "850 ✓" in row
    assert "✗ lenet5: 8 difference(s) in 4 row(s): fc1 fvcore MACs, fc1 FlopCounterMode FLOPs, " \
           "fc2 fvcore MACs, and 5 more" in result.stdout


def test_a_wrong_parameter_count_exits_1(cli, monkeypatch):
    conv = type(LAYER_KINDS["conv2d"])
    right = conv.params
    monkeypatch.setattr(conv, "params", lambda self, a, shapes: type(right(self, a, shapes))(
        weight=right(self, a, shapes).weight))  # forgets the bias
    result = cli("validate", "lenet5", "--runs", "0", "--format", "json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    conv1 = document["models"][0]["layers"][0]
    assert conv1["checks"]["params"] == {"archcalc": 150, "measured": 156, "ok": False}


def test_train_compares_each_layers_backward_with_flop_counter_mode(cli, monkeypatch):
    result = cli("validate", "lenet5", "--runs", "0", "--train", "--counter", "torch", "--no-memory")
    assert result.exit_code == 0, result.output
    assert "FlopCounterMode FLOPs  backward FLOPs" in result.stdout
    # FlopCounterMode over forward and backward: convolution_backward 235,200 (conv1: the weights
    # only) + 960,000 (conv2), mm 192,000 + 40,320 + 3,360 (fc1, fc2, fc3)
    assert "833,040 ✓     1,430,880 ✓" in result.stdout
    assert "FlopCounterMode FLOPs, FlopCounterMode backward FLOPs" in result.stdout
    linear = type(LAYER_KINDS["linear"])
    monkeypatch.setattr(linear, "backward_macs", lambda self, a, shapes, out, macs: (macs, 0), raising=False)
    wrong = cli("validate", "lenet5", "--runs", "0", "--train", "--counter", "torch", "--no-memory",
                "--format", "json")
    assert wrong.exit_code == 1
    fc3 = json.loads(wrong.stdout)["models"][0]["layers"][-1]
    assert fc3["checks"]["flop_counter_backward"] == {"archcalc": 1680, "measured": 3360, "ok": False}
    refused = cli("validate", "lenet5", "--train", "--counter", "fvcore")
    assert refused.exit_code == 2 and "--train compares the backward pass with FlopCounterMode" in refused.stderr


def test_what_torch_refuses_is_a_difference_not_a_traceback(cli, monkeypatch):
    conv = type(LAYER_KINDS["conv2d"])
    right = conv.torch_arguments
    monkeypatch.setattr(conv, "torch_arguments", lambda self, a, shapes: right(self, a, [(1, shapes[0][1] + 1, 1, 1)]))
    result = cli("validate", "lenet5", "--runs", "0")
    assert result.exit_code == 1
    assert "✗ lenet5: torch could not run the model: " in result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_json_and_markdown(cli):
    document = json.loads(cli("validate", "resnet18", "--runs", "1", "--warmup", "0", "--format", "json").stdout)
    assert document["schema"] == "archcalc.validation/1" and document["ok"] is True
    model = document["models"][0]
    assert model["device"] == "cpu" and model["input"] == [1, 3, 224, 224]
    assert len(model["layers"]) == 69
    assert model["total"]["checks"]["params"] == {"archcalc": 11689512, "measured": 11689512, "ok": True}
    latency = model["latency"]
    assert [b["name"] for b in latency["blocks"]] == ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2",
                                                      "layer3", "layer4", "avgpool", "flatten", "fc"]
    assert latency["model"]["ms"] > 0
    assert round(latency["model"]["macs"] / 1e9, 2) == 1.81  # torchvision's published GFLOPS for resnet18
    assert sum(b["macs"] for b in latency["blocks"]) == latency["model"]["macs"]

    from markdown_it import MarkdownIt

    text = cli("validate", "lenet5", "--runs", "0", "--format", "markdown").stdout
    tokens = MarkdownIt("commonmark").enable("table").parse(text)
    assert sum(t.type == "tr_open" for t in tokens) == 1 + 12 + 1  # heading, layers, total
    assert "✓ lenet5: all 12 layers and the totals agree" in text


def test_markdown_has_the_blocks_times_as_the_text_and_json_do():
    """validate --format markdown gave the model's time and, per layer, the layers' table, but not
    the table of the top-level blocks' times that the text shows and the JSON holds."""
    from archcalc.render.validation import markdown, to_json

    result = validate("lenet5", device="cpu", runs=1, warmup=0, memory=False)
    text = markdown([result])
    blocks = json.loads(to_json([result]))["models"][0]["latency"]["blocks"]
    assert [b["name"] for b in blocks] == ["conv1", "act1", "pool1", "conv2", "act2", "pool2", "flatten", "fc1",
                                           "act3", "fc2", "act4", "fc3"]  # lenet5's top-level layers
    assert "| block | ms | min–max ms | MACs | MAC/s |" in text
    for block in blocks:
        assert (f"| {block['name']} | {block['ms']:.3f} | {block['min_ms']:.3f}–{block['max_ms']:.3f} | "
                f"{block['macs']:,} |") in text


def test_markdown_ends_the_list_of_differences_before_what_follows(cli, monkeypatch):
    """The markdown's list of differences ran straight into the latency line (and, with --all, into
    the next model's heading): a line right after a list item is part of it in markdown, so both
    rendered inside the last difference's item."""
    from markdown_it import MarkdownIt

    linear = LAYER_KINDS["linear"]
    right = type(linear).macs
    monkeypatch.setattr(type(linear), "macs", lambda self, a, shapes, out: right(self, a, shapes, out) + 1)
    result = cli("validate", "lenet5", "--runs", "1", "--warmup", "0", "--no-memory", "--counter", "torch",
                 "--format", "markdown")
    assert result.exit_code == 1
    html = MarkdownIt("commonmark").enable("table").render(result.stdout)
    assert "<li><code>total</code>: FlopCounterMode FLOPs 833,046 ≠ 833,040 (-6)</li>\n</ul>\n<p>latency on cpu" in html


def test_markdown_writes_the_device_profiles_name_escaped(cli, tmp_path):
    """A fuzzer found validate's markdown writing a profile's name as it is, a tag, emphasis, a link
    and a cell break included, where `table --format markdown` escapes it (docs/report.md, "Names in
    the report"): it shows as written."""
    from markdown_it import MarkdownIt

    profile = tmp_path / "evil.yaml"
    profile.write_text('schema: archcalc.devices/1\ndevices:\n  evil:\n'
                       '    name: "**bold** <img src=x onerror=alert(1)> [link](http://e.x) | cell"\n'
                       '    peak_tflops: {float32: 67}\n    memory_gbps: 4800\n    launch_us: 5\n'
                       '    sources: {peak_tflops: "x", memory_gbps: "x", launch_us: "x"}\n')
    text = cli("validate", "lenet5", "--runs", "1", "--warmup", "0", "--no-memory", "--device-profile", profile,
               "--format", "markdown").stdout
    line = next(line for line in text.splitlines() if line.startswith("latency on cpu"))
    assert r"roofline on \*\*bold\*\* \<img src=x onerror=alert(1)\> \[link\](http\://e.x) \| cell: " in line  # no autolink
    tokens = [t for block in MarkdownIt("commonmark").enable("table").parse(line) for t in block.children or ()]
    assert [t.type for t in tokens] == ["text"] and "**bold** <img src=x onerror=alert(1)>" in tokens[0].content


def test_all_gives_one_line_per_model_and_one_verdict(cli, monkeypatch):
    import archcalc.spec

    lenets = tuple(e for e in bundled() if e.name.startswith("lenet"))
    monkeypatch.setattr(archcalc.spec, "bundled", lambda: lenets)
    result = cli("validate", "--all", "--runs", "0")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[2:4]] == ["lenet5", "lenet5_pytorch"]
    assert lines[-1] == "✓ all 2 models agree"
    # its progress on stderr (not a terminal): a line per model as it finishes
    assert re.fullmatch(r"validate 1/2: ✓ lenet5 agrees \(\d+\.\d s\)\n"
                        r"validate 2/2: ✓ lenet5_pytorch agrees \(\d+\.\d s\)\n", result.stderr), result.stderr


def never_built(monkeypatch) -> None:
    """Fail the test where any model is built in torch."""
    from archcalc import torchmodel

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built before every model's checks ran")

    monkeypatch.setattr(torchmodel, "build_graph", refuse)


def test_all_refuses_a_later_model_before_building_the_first(cli, monkeypatch):
    """--all checked each model just before validating it: a model refused (AlexNet of the paper at
    3×64×64, whose conv5 output of 2×2 leaves pool5's 3×3 window nothing to fit) came after the
    seconds of building and counting those before it. Every refusal comes first now."""
    import archcalc.spec

    chosen = tuple(e for e in bundled() if e.name in ("alexnet", "alexnet_paper"))
    monkeypatch.setattr(archcalc.spec, "bundled", lambda: chosen)
    never_built(monkeypatch)
    result = cli("validate", "--all", "--input", "3x64x64", "--device", "meta", "--runs", "0", "--no-memory")
    assert result.exit_code == 2, result.output
    assert "layer 'pool5': the window (kernel 3) does not fit the padded input (2 + 2·0 = 2)" in result.stderr
    assert "validate 1/2" not in result.stderr and result.stdout == ""


def test_all_names_the_model_a_device_refuses(cli, monkeypatch):
    """Of several models, the one the device has no room for is named (a single model's error says
    'the model'), and none is built before it is refused."""
    import archcalc.spec
    import archcalc.validation

    chosen = tuple(e for e in bundled() if e.name in ("lenet5", "lenet5_pytorch"))
    monkeypatch.setattr(archcalc.spec, "bundled", lambda: chosen)
    available = iter([None, 0])  # room for the first model (not known: not refused), none for the second
    monkeypatch.setattr(archcalc.validation, "_available_memory", lambda torch, place: next(available))
    never_built(monkeypatch)
    result = cli("validate", "--all", "--device", "cpu", "--runs", "0", "--no-memory")
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: lenet5_pytorch (specs/lenet.yaml): the model needs at least "), result.stderr
    assert "validate 1/2" not in result.stderr


def test_batch_and_input_reach_the_model():
    result = validate("resnet18", input="3x160x160", batch=2, device="cpu", runs=0)
    assert result.ok and result.input_shape == (2, 3, 160, 160)
    assert result.layers[0].get("shape").measured == (2, 64, 80, 80)


def test_meta_builds_without_weights_and_counts_with_flop_counter_mode_only(cli):
    model = build_torch("vgg19", device="meta")
    assert all(p.is_meta for p in model.parameters())
    result = validate("vgg19", device="meta")
    assert result.ok and result.counters == ("flop_counter",) and result.latency is None
    flops = result.total.get("flop_counter").measured  # FlopCounterMode on meta tensors
    assert round(flops / 2 / 1e9, 2) == 19.63  # torchvision's published GFLOPS for vgg19
    refused = cli("validate", "vgg19", "--device", "meta", "--counter", "fvcore")
    assert refused.exit_code == 2
    assert "error: fvcore cannot count on the meta device: it traces real tensors" in refused.stderr


@pytest.mark.parametrize("args, message", [
    ([], "give one SPEC, or --all"),
    (["lenet5", "--all"], "give one SPEC, or --all"),
    (["--all", "--variant", "vgg11"], "--variant picks one model"),
    (["lenet5", "--device", "tpu"], "'tpu' is not one of"),
])
def test_usage_errors_exit_2(cli, args, message):
    result = cli("validate", *args)
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.skipif(CUDA, reason="this machine has CUDA")
def test_cuda_without_cuda_is_a_clear_error(cli):
    result = cli("validate", "lenet5", "--device", "cuda")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: CUDA is not available here")


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_cuda_validates_with_the_same_figures_and_cuda_event_timing():
    on_gpu = validate("resnet18", device="cuda", runs=3, warmup=1)
    on_cpu = validate("resnet18", device="cpu", runs=0)
    assert on_gpu.ok and on_gpu.device == "cuda" and "gpu" in on_gpu.versions
    assert on_gpu.latency.clock == "CUDA events"
    assert [l.checks for l in on_gpu.layers] == [l.checks for l in on_cpu.layers]


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_auto_picks_cuda_where_available():
    assert validate("lenet5", runs=0).device == "cuda"


def test_build_torch_gives_a_trainable_module_named_like_the_spec():
    model = build_torch("resnet18")
    assert isinstance(model, torch.nn.Module)
    names = {name for name, module in model.named_modules() if not list(module.children())}
    assert names == {node.name for node in load_graph("resnet18").nodes}
    assert "layer1.0.conv1.weight" in model.state_dict()
    x, target = torch.randn(2, 3, 64, 64), torch.tensor([3, 7])
    loss = torch.nn.functional.cross_entropy(model(x), target)
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_the_blocks_of_a_built_model_run_their_layers():
    """A block called alone gives what its last layer gives in the whole model, and takes the values its layers
    read from outside it (ResNet-50's layer1 reads maxpool's output)."""
    model = build_torch("resnet50").eval()
    seen = {}
    model.get_submodule("layer1.2.relu3").register_forward_hook(lambda m, args, out: seen.setdefault("layer1", out))
    model.maxpool.register_forward_hook(lambda m, args, out: seen.setdefault("maxpool", out))
    with torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
        assert torch.equal(model.layer1(seen["maxpool"]), seen["layer1"])
    with pytest.raises(TypeError, match=r"this block reads 1 value\(s\) from outside it \(maxpool\), got 2"):
        model.layer1(seen["maxpool"], seen["maxpool"])


def test_a_block_whose_layers_interleave_with_others_only_groups_them():
    from archcalc.graph import INPUT
    from archcalc.torchmodel.modules import GraphModule

    relu, tanh, sigmoid = torch.nn.ReLU(), torch.nn.Tanh(), torch.nn.Sigmoid()
    model = GraphModule([("a.x", (INPUT,), relu), ("b", ("a.x",), tanh), ("a.y", ("b",), sigmoid)], {})
    x = torch.randn(4)
    assert torch.equal(model(x), torch.sigmoid(torch.tanh(torch.relu(x))))
    with pytest.raises(RuntimeError, match="interleaved with others'"):
        model.a(x)


def test_a_module_put_in_a_layers_or_a_blocks_place_runs_there():
    """A fuzzer found `model.fc = nn.Linear(512, 10)` (re-heading a model to fine-tune it, as one does
    torchvision's) leaving the old 1000-way head in the forward pass while `parameters()` held the
    new one, and `model.layer4 = ...` ignored: the model runs the modules it holds when it runs.
    Expected values from torch itself: the new head on the features the old one read, and the
    modules after layer3 called in turn by hand on layer3's output."""
    model = build_torch("resnet18").eval()
    x = torch.randn(1, 3, 64, 64)
    seen = {}
    model.layer3.register_forward_hook(lambda module, args, out: seen.update(layer3=out))
    model.flatten.register_forward_hook(lambda module, args, out: seen.update(features=out))
    head, stage = torch.nn.Linear(512, 10), torch.nn.Conv2d(256, 512, 1)
    with torch.no_grad():
        model.fc = head
        assert torch.equal(model(x), head(seen["features"]))
        model.layer4 = stage
        out = model(x)
        assert torch.equal(out, head(torch.flatten(model.avgpool(stage(seen["layer3"])), 1)))
    assert stage.weight in set(model.parameters()) and head.weight in set(model.parameters())


def test_a_blocks_hooks_act_as_a_modules_do_in_the_model():
    """A fuzzer found a forward hook's returned value dropped for a block inside the model (it
    replaces a module's output in torch: activation patching), and a block's full backward hook never
    firing in the model's backward pass. Both act as on a leaf layer (torch's own contract)."""
    model = build_torch("resnet18").eval()
    x = torch.randn(1, 3, 64, 64)
    seen = {}
    model.flatten.register_forward_hook(lambda module, args, out: seen.update(features=out))
    with torch.no_grad():
        handle = model.layer4.register_forward_hook(lambda module, args, out: torch.zeros_like(out))
        patched = model(x)
        handle.remove()
    assert torch.equal(seen["features"], torch.zeros_like(seen["features"]))
    assert torch.equal(patched, model.fc(torch.zeros(1, 512)))
    fired = []
    model.layer1.register_full_backward_hook(lambda module, grad_in, grad_out: fired.append(grad_out[0].shape))
    model(torch.randn(1, 3, 64, 64, requires_grad=True)).sum().backward()
    assert fired == [torch.Size([1, 64, 16, 16])]


def test_torchinfo_sees_the_blocks_of_a_built_resnet50():
    """torchinfo's summary rows of layer1–layer4 and of their bottlenecks: real output shapes (He et al. 2016,
    table 1: conv2_x–conv5_x at 56, 28, 14 and 7 with 256–2048 channels) and parameter counts (torch's own sums
    of each block's parameters; 75,008 for layer1.0 as torchinfo prints for torchvision's resnet50)."""
    torchinfo = pytest.importorskip("torchinfo")
    model = build_torch("resnet50", device="meta")
    rows = torchinfo.summary(model, input_size=(1, 3, 224, 224), depth=2, device="meta", verbose=0).summary_list
    blocks = {row.module: row for row in rows if type(row.module).__name__ == "Block" and row.depth <= 2}
    stages = {"layer1": (256, 56, 3), "layer2": (512, 28, 4), "layer3": (1024, 14, 6), "layer4": (2048, 7, 3)}
    assert len(blocks) == len(stages) + sum(count for _, _, count in stages.values())
    for stage, (channels, size, count) in stages.items():
        for module in [model.get_submodule(stage), *(model.get_submodule(f"{stage}.{i}") for i in range(count))]:
            row = blocks[module]
            assert row.output_size == [1, channels, size, size]
            assert row.num_params == sum(p.numel() for p in module.parameters()) > 0
    assert blocks[model.get_submodule("layer1.0")].num_params == 75_008
    assert "Block: 2-1                        [1, 256, 56, 56]          75,008" in str(
        torchinfo.summary(model, input_size=(1, 3, 224, 224), depth=2, device="meta", verbose=0))


def test_torchscan_sees_the_blocks_of_a_built_resnet50(capsys):
    """torch-scan's crawl of a built ResNet-50 (it dropped layer1–layer4 at depth 1 and raised at
    depth 2 while blocks only grouped layers): each stage at depth 1, each bottleneck at depth 2,
    as Blocks with their output shapes (He et al. 2016, table 1: conv2_x–conv5_x at 56, 28, 14
    and 7 with 256–2048 channels), and their layers at depth 3; its summary prints to depth 2."""
    torchscan = pytest.importorskip("torchscan")
    model = build_torch("resnet50", device="meta")
    rows = {row["path"]: row for row in torchscan.crawl_module(model, (3, 224, 224))["layers"]}
    stages = {"layer1": (256, 56, 3), "layer2": (512, 28, 4), "layer3": (1024, 14, 6), "layer4": (2048, 7, 3)}
    for stage, (channels, size, count) in stages.items():
        for path, depth in [(stage, 1), *((f"{stage}.{i}", 2) for i in range(count))]:
            row = rows[path]
            assert (row["type"], row["depth"], row["output"]["shape"]) == ("Block", depth, [1, channels, size, size])
        first, shortcut = rows[f"{stage}.0.conv1"], rows[f"{stage}.0.downsample"]
        assert (first["depth"], first["type"]) == (3, "Conv2d")
        assert (shortcut["type"], shortcut["depth"], shortcut["output"]["shape"]) == ("Block", 3, [1, channels, size, size])
    assert sum(row["type"] == "Block" for row in rows.values()) == 2 * len(stages) + sum(c for _, _, c in stages.values())
    torchscan.summary(model, (3, 224, 224), max_depth=2)
    printed = capsys.readouterr().out
    assert re.search(r"├─layer4 +Block +\(1, 2048, 7, 7\)", printed)
    assert re.search(r"\|    └─2 +Block +\(1, 2048, 7, 7\)", printed), printed


def _probe(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False)


CLI = "from archcalc.cli import main\nsys.argv = ['archcalc', *ARGS]\ntry:\n    main()\nexcept SystemExit as e:\n    sys.exit(e.code)\n"


def test_without_torch_validate_exits_3_with_an_install_hint():
    result = _probe("import sys\nsys.modules['torch'] = None\n" + CLI.replace("*ARGS", "'validate', 'lenet5'"))
    assert result.returncode == 3
    assert result.stderr == ("error: archcalc validate needs torch, which is not installed: "
                             "pip install 'archcalc[torch]'\n")


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_without_fvcore_only_the_fvcore_counter_is_missing(cli, monkeypatch):
    # the fresh interpreter, where no module of archcalc has been imported yet, shows that none imports fvcore
    # unasked; the missing counter's message needs none (an import of fvcore fails here as there)
    blocked = "import sys\nsys.modules['fvcore'] = None\n"
    result = _probe(blocked + CLI.replace("*ARGS", "'validate', 'lenet5', '--runs', '0', '--counter', 'torch'"))
    assert result.returncode == 0, result.stderr
    monkeypatch.setitem(sys.modules, "fvcore", None)
    result = cli("validate", "lenet5", "--runs", "0")
    assert result.exit_code == 3
    assert result.stderr == "error: counting with fvcore needs fvcore, which is not installed: " \
                            "pip install 'archcalc[torch]'\n"


@pytest.mark.parametrize("spec", ["convnext_block", "fused_mbconv"])
def test_the_convnext_and_efficientnet_kinds_validate_under_both_counters(spec):
    """Every kind ConvNeXt and EfficientNet V2 add (layer norms, permute, linear on channels-last maps,
    layer scale, stochastic depth, the fused MBConv) in a small spec: zero differences."""
    from pathlib import Path

    path = Path(__file__).parent / "specs" / f"{spec}.yaml"
    result = validate(path, device="cpu", counter="both", runs=0)
    assert result.error is None and result.differences == [] and result.ok
    assert len(result.layers) == len(load_graph(path).nodes)


def test_a_model_fvcore_cannot_count_is_validated_by_the_other_counter_with_a_note(write_spec, cli):
    """fvcore's FlopCountAnalysis stops with an AssertionError on a layer norm of a 1-D input (its
    norm handle takes 2 to 5 dimensions), so it gives no count of such a model: validate compares
    the rest and says why, where it ended in that AssertionError's traceback."""
    from fvcore.nn import FlopCountAnalysis

    norm = torch.nn.Sequential(torch.nn.Flatten(0), torch.nn.LayerNorm(72))
    with pytest.raises(AssertionError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes
        FlopCountAnalysis(norm, torch.zeros(2, 4, 3, 3)).unsupported_ops_warnings(False).total()
    path = write_spec("""
        name: flat
        input: [4, 3, 3]
        layers:
          - f: {kind: flatten, start_dim: 0}
          - norm: layer_norm
          - fc: {kind: linear, out: 5}
        """)
    result = validate(path, device="cpu", batch=2, runs=0, memory=False)
    assert result.ok and result.counters == ("flop_counter",)
    assert result.notes == (("fvcore could not count the model (its norm_flop_jit asserts what it takes: "
                             "AssertionError: [72]): FlopCounterMode counts alone"),)
    assert result.total.get("flop_counter").measured == 2 * 72 * 5  # the linear layer's products, by torch
    shown = cli("validate", path, "--batch", "2", "--runs", "0", "--no-memory", "--counter", "fvcore")
    assert shown.exit_code == 0 and "Traceback" not in shown.output
    assert "note: fvcore could not count the model (its norm_flop_jit asserts what it takes: AssertionError: " \
           "[72]): no counter counts the model" in shown.stdout


def test_a_max_pooling_window_of_only_padding_is_not_trained_on_real_tensors(write_spec):
    """A dilated max pooling whose window reads only padding: torch gives -inf with the index of a tap
    past the input (measured here), and its backward writes the gradient there, outside the input's
    gradient; on real tensors (a batch norm reads the model's input) the training step corrupted the
    heap (an abort, about one run in four). Its peak is not compared, and a note says why."""
    values, indices = torch.nn.functional.max_pool1d(torch.rand(1, 1, 3), 2, 5, 1, 5, ceil_mode=True,
                                                     return_indices=True)
    assert values.isneginf().all() and indices.flatten().tolist() == [4]  # taps at -1 and 4 of 3 units
    path = write_spec("""
        name: pad_window
        input: [6, 11, 3, 1]
        layers:
          - bn: batchnorm3d
          - p: {kind: maxpool3d, kernel: 2, padding: 1, stride: 5, dilation: 5, ceil_mode: true}
        """)
    result = validate(path, device="cpu", runs=0)
    assert result.ok and result.training is None and result.memory is not None
    assert result.notes[-1].endswith(
        "and a window of the max pooling 'p' reads only padding (along its height of 3, taps from -1 every 5, the "
        "first at or after 0 at 4): torch's backward writes its gradient outside the input there, corrupting the "
        "memory")


CRASHING_CONVOLUTION = """
import torch
x = torch.randn(3, 4, 4, 1).contiguous(memory_format=torch.channels_last)
torch.nn.Conv2d(4, 12, (5, 2), stride=(1, 2), padding=3, dilation=2)({})
"""


def test_windows_of_padding_alone_are_found_as_their_definition_finds_them():
    """A window of padding alone, by its definition (tap t of output o reads unit o·stride −
    padding + t·dilation, none of them in 0 … size − 1), tried on every small axis; the search looks
    at the few windows that can read the input (a padding of 10⁷ made it walk 10⁷ windows)."""
    from archcalc.validation import _all_padding, _padding_window

    for n, k, s, d, p in itertools.product(range(1, 7), range(1, 4), range(1, 4), range(1, 4), range(9)):
        span = (k - 1) * d + 1
        if n + 2 * p < span:
            continue
        outputs = (n + 2 * p - span) // s + 1
        alone = [all(not 0 <= o * s - p + t * d < n for t in range(k)) for o in range(outputs)]
        assert _all_padding(n, outputs, k, s, p, d) == all(alone), (n, k, s, d, p)
        assert _padding_window(n, outputs, k, s, p, d) == next((o for o, a in enumerate(alone) if a), None)


def test_a_convolution_torchs_cpu_kernel_crashes_on_is_refused_before_it_runs(write_spec, cli):
    """A strided, dilated convolution of a channels-last map (a channel layer norm's output) with a
    window along its width of 1 that reads only padding: torch's CPU kernel ends the process in a
    segmentation fault (torch 2.13, measured here in a child process; the contiguous map runs), and
    validate with it. It is refused, at the layer, before torch runs; the same layer after a
    contiguous map is validated."""
    crashed = subprocess.run([sys.executable, "-c", CRASHING_CONVOLUTION.format("x")], capture_output=True, check=False)
    ran = subprocess.run([sys.executable, "-c", CRASHING_CONVOLUTION.format("x.contiguous()")], capture_output=True,
                         check=False)
    assert crashed.returncode == -11 and ran.returncode == 0, (crashed, ran)
    conv = "{kind: conv2d, out: 12, kernel: [5, 2], stride: [1, 2], padding: 3, dilation: 2}"
    path = write_spec(f"name: cl\ninput: [4, 4, 1]\nlayers:\n  - norm: channel_layer_norm\n  - conv: {conv}\n")
    result = cli("validate", path, "--batch", "3", "--runs", "0", "--no-memory", "--counter", "torch")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert ":5:5: layer 'conv': torch's CPU convolution crashes (a segmentation fault) on this layer: strided and " \
           "dilated, of a channels-last map (as the layer before hands it on), with every window along its width " \
           "reading only padding" in result.stderr
    path = write_spec(f"name: plain\ninput: [4, 4, 1]\nlayers:\n  - norm: batchnorm2d\n  - conv: {conv}\n")
    assert validate(path, batch=3, device="cpu", runs=0, counter="torch").ok


def test_a_convolution_torch_runs_on_its_own_kernel_is_not_refused_as_crashing(write_spec, cli):
    """The crashing layer above crashes where torch runs it through oneDNN (aten's use_mkldnn): at a
    batch of 3, or grouped at a batch of 1, in float32; always in bfloat16. At a batch of 1,
    ungrouped, torch runs it on its own kernel, and in float64 always: it ran (measured here in
    child processes), and was refused as crashing. It is validated there, and still refused where
    oneDNN runs it, or where the model is counted in float32 at a batch oneDNN runs."""
    code = ("import sys, torch\nn, groups, dtype = int(sys.argv[1]), int(sys.argv[2]), getattr(torch, sys.argv[3])\n"
            "x = torch.randn(n, 4, 4, 1).contiguous(memory_format=torch.channels_last).to(dtype)\n"
            "torch.nn.Conv2d(4, 12, (5, 2), stride=(1, 2), padding=3, dilation=2, groups=groups).to(dtype)(x)\n")

    def crashes(*args: str) -> bool:
        done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, check=False, timeout=300)
        assert done.returncode in (0, -11), done
        return done.returncode == -11

    assert [crashes(*case) for case in (("1", "1", "float32"), ("1", "1", "float64"), ("3", "1", "float64"),
                                        ("1", "2", "float32"), ("3", "1", "float32"))] == [False] * 3 + [True] * 2
    conv = "{kind: conv2d, out: 12, kernel: [5, 2], stride: [1, 2], padding: 3, dilation: 2, groups: GROUPS}"
    path = write_spec(f"name: cl\ninput: [4, 4, 1]\nlayers:\n  - norm: channel_layer_norm\n  - conv: "
                      f"{conv.replace('GROUPS', '1')}\n")
    assert validate(path, device="cpu", runs=1, warmup=0, counter="torch").ok
    assert validate(path, device="cpu", runs=1, warmup=0, counter="torch", dtype="float64", memory=False).ok
    grouped = write_spec(f"name: cl\ninput: [4, 4, 1]\nlayers:\n  - norm: channel_layer_norm\n  - conv: "
                         f"{conv.replace('GROUPS', '2')}\n")
    refused = ["torch's CPU convolution crashes (a segmentation fault) on this layer"]
    for refusal in ([path, "--batch", "3"], [path, "--batch", "3", "--dtype", "float64"], [path, "--dtype", "bfloat16"],
                    [grouped]):
        result = cli("validate", *refusal, "--runs", "1", "--warmup", "0", "--no-memory", "--counter", "torch")
        assert result.exit_code == 2 and refused[0] in result.stderr, (refusal, result.output)


def test_a_convolution_with_a_window_of_padding_at_an_end_alone_is_validated(write_spec):
    """Strided, dilated and of a channels-last map, but with only the first window along each axis
    reading padding alone (kernel 2, stride 2, padding 4, dilation 3 on 5×5: taps at −4 and −1),
    the rest reading the map: torch runs it (measured here in a child process, at batches 1, 3 and
    4), and it was refused as crashing (as were 421 of 423 such convolutions that ran, computing
    what the contiguous map gives). It is validated."""
    code = ("import torch\nfor n in (1, 3, 4):\n    x = torch.randn(n, 4, 5, 5).contiguous(memory_format=torch.channels_last)\n"
            "    torch.nn.Conv2d(4, 4, 2, stride=2, padding=4, dilation=3)(x)\n")
    assert _probe(code).returncode == 0
    conv = "{kind: conv2d, out: 4, kernel: 2, stride: 2, padding: 4, dilation: 3}"
    path = write_spec(f"name: ends\ninput: [4, 5, 5]\nlayers:\n  - norm: channel_layer_norm\n  - conv: {conv}\n")
    assert validate(path, batch=3, device="cpu", runs=0, counter="torch").ok

@pytest.mark.parametrize(("first", "peak", "why"), [
    ("batchnorm2d", "training", "torch's batch norm 'first' makes its input's gradient"),
    ("{kind: channel_shuffle, groups: 2}", "inference", "torch's channel shuffle 'first' returns a view"),
])
def test_a_convolution_torchs_cpu_kernel_crashes_on_is_not_run_for_a_peak_off_the_cpu(write_spec, first, peak, why):
    """Validated on meta (as the refusal above hints), a peak is still measured on real CPU tensors
    where fake ones count otherwise (a batch norm on the input: the training peak; a channel
    shuffle: the inference peak): that step ran the crashing convolution on the CPU, and validate
    ended in a segmentation fault (exit -11). That peak is not compared, with a note naming the layer."""
    conv = "{kind: conv2d, out: 12, kernel: [5, 2], stride: [1, 2], padding: 3, dilation: 2}"
    path = write_spec(f"name: cl\ninput: [4, 4, 1]\nlayers:\n  - first: {first}\n  - norm: channel_layer_norm\n"
                      f"  - conv: {conv}\n")
    result = subprocess.run([sys.executable, "-m", "archcalc", "validate", str(path), "--batch", "3", "--device",
                             "meta", "--counter", "torch"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, (result.returncode, result.stderr[-2000:])
    assert (f"note: the {peak} peak is not compared: only real tensors measure it as torch runs it (on fake tensors "
            f"{why}") in result.stdout + result.stderr
    assert ("and torch's CPU convolution crashes (a segmentation fault) on the layer 'conv': strided and dilated, of a "
            "channels-last map (as the layer before hands it on), with every window along its width reading only "
            "padding") in result.stdout + result.stderr


# --- latency per layer: structure only, never a timing -----------------------------------------

def test_per_layer_latency_times_every_layer_on_one_thread_by_default(cli):
    result = cli("validate", "resnet18", "--runs", "2", "--warmup", "1", "--latency", "per-layer", "--counter", "torch",
                 "--no-memory", "--format", "json")
    assert result.exit_code == 0, result.output
    latency = json.loads(result.stdout)["models"][0]["latency"]
    names = [node.name for node in load_graph("resnet18").nodes]
    assert [t["name"] for t in latency["layers"]] == names
    assert [t["kind"] for t in latency["layers"]] == [node.kind.key for node in load_graph("resnet18").nodes]
    assert latency["mode"] == "per-layer" and latency["threads"] == 1 and latency["runs"] == 2
    assert latency["memory_kept"] is GLIBC
    assert [t["name"] for t in latency["blocks"]] == list(dict.fromkeys(n.split(".")[0] for n in names))
    for t in [latency["model"], *latency["blocks"], *latency["layers"]]:
        assert t["min_ms"] <= t["ms"] <= t["max_ms"] and t["predicted_ms"] is None and t["achieved"] is None
    assert latency["profile"] is None and latency["rank_correlation"] is None


def test_the_table_states_the_threads_and_lists_the_layers(cli):
    result = cli("validate", "lenet5", "--runs", "1", "--warmup", "0", "--latency", "per-layer", "--threads", "2")
    assert result.exit_code == 0, result.output
    # "1 run", where a fuzzer found "1 runs"
    assert f"latency on cpu in float32 (time.perf_counter, 2 threads{KEPT}, median of 1 run after 0 warm-up)" in result.stdout
    table = result.stdout.split("kind  ", 2)[-1].splitlines()
    assert [line.split()[1] for line in table[2:]] == [node.name for node in load_graph("lenet5").nodes]


def test_more_threads_than_cpus_are_noted():
    """A fuzzer's `--threads 1024` on this project's 2 CPUs timed LeNet-5 at 102 ms (0.14 ms on one),
    without a word of the contention the docs warn of."""
    import os

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    result = validate("lenet5", device="cpu", runs=1, warmup=0, memory=False, counter="torch", threads=cpus + 1)
    assert result.latency.threads == cpus + 1
    assert result.notes == ((f"timed on {cpus + 1} threads, more than the {cpus} CPU{'s' if cpus != 1 else ''} this "
                             "process may run on: the times are mostly their contention"),)
    assert validate("lenet5", device="cpu", runs=1, warmup=0, memory=False, counter="torch", threads=cpus).notes == ()


MAPPED_BLOCKS = """
import ctypes, torch
from archcalc.validation.latency import keep_freed_memory

class Info(ctypes.Structure):  # glibc's struct mallinfo2 (malloc.h)
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]

info = ctypes.CDLL(None).mallinfo2
info.restype = Info

def mapped_for(mib):
    before = info().hblks  # the blocks glibc has mapped on their own
    tensor = torch.empty(mib * 2**18)
    after = info().hblks
    del tensor
    return after - before

print(mapped_for(16), mapped_for(64), keep_freed_memory(), mapped_for(16), mapped_for(64))
"""


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_timing_on_the_cpu_keeps_freed_memory_for_the_next_pass():
    """By default glibc maps a large block on its own and unmaps it when freed, so a pass's large
    outputs would be fresh pages each time; once freed memory is kept, a 16 MiB tensor comes from
    the heap, and so does one of 64 MiB, over the 32 MiB to which glibc caps the size above which
    it maps a block (UNet's first layers write 80 MiB). glibc's own count of mapped blocks
    (mallinfo2) says which."""
    result = subprocess.run([sys.executable, "-c", MAPPED_BLOCKS], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1", "1", "True", "0", "0"]


@pytest.mark.parametrize("option", ["--runs", "--warmup"])
def test_runs_and_warm_up_passes_past_a_thousand_are_refused_before_any_build(cli, option, monkeypatch):
    """A fuzzer's `--runs 1000000000` (and `--runs 1 --warmup 1000000000`) ran for days on LeNet-5, and
    on a pipe said nothing; each is at most 1,000 (docs/spec.md, Limits)."""
    monkeypatch.setattr("archcalc.validation._built", lambda *a, **k: pytest.fail("built before refusing"))
    for value in ("1001", "1000000000"):
        result = cli("validate", "lenet5", option, value)
        assert result.exit_code == 2 and result.stdout == ""
        assert result.stderr.startswith(f"error: invalid value for '{option}': {value} is not in the range "
                                        "0<=x<=1000\n"), result.stderr


@pytest.mark.parametrize(("latency", "runs", "warmup", "said"), [
    ("blocks", 1, 3, "timing 1 forward pass after 3 warm-up passes"),
    ("blocks", 2, 0, "timing 2 forward passes"),
    ("per-layer", 1, 1, "timing 2 forward passes after 2 warm-up passes"),  # 2 × (warm-up + runs) passes
])
def test_the_timing_phase_counts_the_passes_that_run(latency, runs, warmup, said, monkeypatch):
    """A fuzzer found the progress saying `timing 1 forward passes` while a billion warm-up passes ran."""
    import archcalc.progress

    phases = []
    monkeypatch.setattr(archcalc.progress, "WATCHER", phases.append)
    validate("lenet5", device="cpu", runs=runs, warmup=warmup, memory=False, counter="torch", latency=latency)
    assert [text for text in phases if text.startswith("timing")] == [said]


def test_the_default_latency_times_the_blocks_alone():
    latency = validate("lenet5", device="cpu", runs=1, warmup=0, memory=False).latency
    assert latency.mode == "blocks" and latency.layers == [] and latency.threads == 1
    assert torch.get_num_threads() >= 1  # restored after timing (its value is the machine's)


def test_the_roofline_prediction_stands_beside_each_time():
    from archcalc.roofline import roofline
    from archcalc.validation.results import heaviest

    latency = validate("resnet18", device="cpu", runs=1, warmup=0, memory=False, counter="torch",
                       latency="per-layer", device_profile="h200").latency
    stats = archcalc.analyze("resnet18")
    roof = roofline(stats, "h200", "float32")
    assert [t.predicted_ms for t in latency.layers] == [layer.time * 1e3 for layer in roof.layers]
    assert [t.predicted_ms for t in latency.blocks] == [roof.time_of(t.name) * 1e3 for t in latency.blocks]
    assert latency.model.predicted_ms == roof.total * 1e3
    assert all(t.achieved == (t.predicted_ms / t.ms if t.predicted_ms else None) for t in latency.layers)
    assert latency.layers[-2].name == "flatten" and latency.layers[-2].achieved is None  # nothing to reach
    assert latency.ranked == len(heaviest({layer.name: layer.figures.macs for layer in stats.layers})) > 0
    assert -1 <= latency.rank_correlation <= 1 and latency.profile == roof.profile.name


def test_nothing_is_reached_where_the_roofline_predicts_no_time_and_no_macs_make_no_rate(cli, write_spec):
    """A fuzzer found an identity, which launches nothing and which the roofline predicts 0 ms for,
    shown as "0%" of the roofline reached, and the model of 0 MACs as "0 MAC/s" (JSON 0.0) where the
    table shows –: there is no roofline to reach, no rate of no MACs."""
    path = write_spec("name: ident\ninput: [3, 4, 4]\nlayers:\n  - i: identity\n")
    args = ["validate", path, "--runs", "1", "--warmup", "0", "--no-memory", "--latency", "per-layer",
            "--device-profile", "h200"]
    latency = json.loads(cli(*args, "--format", "json").stdout)["models"][0]["latency"]
    for timing in (latency["model"], *latency["blocks"], *latency["layers"]):
        assert timing["predicted_ms"] == 0 and timing["achieved"] is None and timing["macs_per_second"] is None
    text = cli(*args).stdout
    title = next(line for line in text.splitlines() if line.startswith("latency on cpu"))
    assert title.endswith("· 0 MACs · roofline on NVIDIA H200 SXM (141 GB HBM3e): 0.000 ms"), title
    assert re.search(r"^1  i +identity .* 0 +– +0\.000 +–$", text, re.MULTILINE), text


@pytest.mark.skipif(CUDA, reason="this machine times on CUDA by default")
def test_a_gpus_profile_beside_cpu_times_is_noted(tmp_path):
    """A fuzzer found the H200's roofline beside times on this machine's CPU without a word ("163% of
    it reached"). A bundled profile is a GPU's datasheet (archcalc/devices.yaml): beside CPU times a note
    says so. A profile file does not say which device it is of: nothing is noted for one."""
    result = validate("lenet5", device="cpu", runs=1, warmup=0, memory=False, counter="torch", device_profile="h200")
    assert result.latency.profile == "NVIDIA H200 SXM (141 GB HBM3e)"
    assert result.notes == (("the device profile 'h200' is of a cuda device (NVIDIA H200 SXM (141 GB HBM3e)), and the "
                             "model was timed on cpu: each share of its roofline reached compares two devices"),)
    profile = tmp_path / "mine.yaml"
    profile.write_text('schema: archcalc.devices/1\ndevices:\n  mine:\n    name: "this machine"\n'
                       '    peak_tflops: {float32: 0.1}\n    memory_gbps: 20\n    launch_us: 2\n'
                       '    sources: {peak_tflops: "x", memory_gbps: "x", launch_us: "x"}\n')
    result = validate("lenet5", device="cpu", runs=1, warmup=0, memory=False, counter="torch", device_profile=profile)
    assert result.latency.profile == "this machine" and result.notes == ()


@pytest.mark.skipif(CUDA, reason="this machine times on CUDA by default")
def test_a_profile_measured_on_other_threads_or_another_cpu_is_noted(tmp_path):
    """A profile that `archcalc device-profile` measured on 4 threads, or on another CPU, was put
    beside times on one thread of this CPU without a word: its fixed costs and efficiencies are that
    setup's. The profile now records both (`cpu`, `threads`), and one measured before says its
    threads at the end of its name, as it wrote them ('…, 4 threads')."""
    import torch

    from archcalc.measure_device import cpu_name

    here = cpu_name(torch)

    def noted(name: str, *setup: str, threads: int = 1) -> tuple[str, ...]:
        profile = tmp_path / "mine.yaml"
        profile.write_text(f'schema: archcalc.devices/1\ndevices:\n  mine:\n    name: "{name}"\n'
                           + "".join(f"    {line}\n" for line in setup)
                           + '    peak_tflops: {float32: 0.1}\n    memory_gbps: 20\n    launch_us: 2\n'
                           '    sources: {peak_tflops: "x", memory_gbps: "x", launch_us: "x"}\n')
        return validate("lenet5", device="cpu", runs=1, warmup=0, memory=False, counter="torch", threads=threads,
                        device_profile=profile).notes

    said = "each share of its roofline reached compares two setups"
    assert noted("Old CPU, 4 threads") == (
        f"the device profile 'mine' was measured on 4 threads, and the model was timed on 1 thread: {said}",)
    assert noted("Old CPU, 1 thread") == noted("this machine") == ()  # the threads alike, or not said
    assert noted(f"{here}, 2 threads", f'cpu: "{here}"', "threads: 2", threads=2) == ()
    assert noted("x", f'cpu: "{here}"', "threads: 2") == (
        f"the device profile 'mine' was measured on 2 threads, and the model was timed on 1 thread: {said}",)
    assert noted("x, 1 thread", 'cpu: "Other CPU (AVX2)"', "threads: 1") == (
        f"the device profile 'mine' was measured on Other CPU (AVX2), and the model was timed on {here}: {said}",)
    assert noted("x", 'cpu: "Other CPU (AVX2)"', "threads: 4") == (
        (f"the device profile 'mine' was measured on 4 threads of Other CPU (AVX2), and the model was timed on "
         f"1 thread of {here}: {said}"),)


def test_the_rank_correlation_comes_with_the_most_a_prediction_of_alike_layers_could_reach():
    """ResNet-18's heaviest layers include its stages' alike 3×3 convolutions, which the roofline times
    alike: its ρ is within the ceiling worked out from the measured times, which the text shows."""
    from dataclasses import replace

    from archcalc.render.validation import rank_line
    from archcalc.validation.results import alike, heaviest, rank_ceiling

    latency = validate("resnet18", device="cpu", runs=1, warmup=0, memory=False, counter="torch",
                       latency="per-layer", device_profile="h200").latency
    graph = load_graph("resnet18")
    stats = archcalc.analyze("resnet18")
    ranked = heaviest({layer.name: layer.figures.macs for layer in stats.layers})
    measured = {t.name: t.ms for t in latency.layers}
    described = alike(graph, stats)
    assert len({described[name] for name in ranked}) < len(ranked)
    assert latency.rank_ceiling == rank_ceiling([measured[name] for name in ranked], [described[name] for name in ranked])
    assert latency.rank_correlation <= latency.rank_ceiling + 1e-12
    assert "at most 0.50 for any prediction that times alike" in rank_line(replace(latency, rank_ceiling=0.5))
    assert "at most" not in rank_line(replace(latency, rank_ceiling=1.0))


MERGES = """
name: merges
input: [8, 16, 16]
layers:
  - a: {kind: conv2d, out: 8, kernel: 3, padding: 1}
  - b: {kind: conv2d, from: input, out: 8, kernel: 1}
  - sum: {kind: add, from: [a, b]}
  - c: {kind: conv2d, out: 4, kernel: 1}
  - cat: {kind: concat, from: [c, sum]}
  - up: {kind: upsample2d, scale: 2}
  - ln: {kind: channel_layer_norm}
  - pool: {kind: adaptive_avgpool2d, output_size: 1}
"""
"""A fuzzer's model: its 3×3 and 1×1 convolutions a and b hold 147,456 + 16,384 of its 172,032 MACs
(95%), 90% of them in 2 layers."""


def test_no_rank_correlation_is_given_over_two_layers(cli, write_spec):
    """A fuzzer found "Spearman rank correlation … over the 2 layers that hold 90% of the MACs: 1.00",
    which over 2 layers is ±1 whatever the times; it is given over 3 layers or more, and the line says why not."""
    path = write_spec(MERGES)
    args = ["validate", path, "--latency", "per-layer", "--runs", "1", "--warmup", "0", "--no-memory",
            "--device-profile", "h200"]
    latency = json.loads(cli(*args, "--format", "json").stdout)["models"][0]["latency"]
    assert latency["ranked"] == 2 and latency["rank_correlation"] is None and latency["rank_ceiling"] is None
    text = cli(*args).stdout
    assert "Spearman rank correlation" not in text
    assert ("no rank correlation of predicted and measured times: 2 layers hold 90% of the MACs, and over fewer "
            "than 3 Spearman's ρ says nothing of their order (over 2 it is ±1 whatever the times)") in text


def test_layers_are_alike_where_their_kind_fields_and_shapes_are():
    from archcalc.validation.results import alike

    graph = load_graph("resnet34")
    described = alike(graph, archcalc.analyze("resnet34"))
    assert described["layer1.0.conv1"] == described["layer1.2.conv2"] == described["layer1.1.conv1"]
    assert described["layer2.0.conv1"] != described["layer2.0.conv2"]  # stride 2, from 64 channels on 56×56
    assert described["layer2.0.conv2"] == described["layer2.3.conv1"] != described["layer3.1.conv1"]
    context = alike(load_graph("context_basic"), archcalc.analyze("context_basic"))
    convs = [name for name in context if name.endswith(".conv")]
    assert len(convs) == 7 and context[convs[2]][:1] == context[convs[3]][:1] and context[convs[2]] != context[convs[3]]


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not CUDA, reason="needs CUDA"))])
def test_a_model_is_timed_in_the_dtype_asked_and_predicted_in_it(device, monkeypatch):
    """--dtype bfloat16: every weight and the input are bfloat16 when the timing starts (torch's own dtypes,
    read by a wrapper around the timing), the latency says so, and the roofline beside it is bfloat16's (half float32's bytes)."""
    from archcalc.roofline import roofline
    from archcalc.validation import latency as timing

    seen = set()
    time_forward = timing.time_forward

    def spying(model, x, *args, **kwargs):
        seen.update({x.dtype} | {p.dtype for p in model.parameters()})
        return time_forward(model, x, *args, **kwargs)

    monkeypatch.setattr(timing, "time_forward", spying)
    result = validate("resnet18", input="3x64x64", device=device, runs=1, warmup=0, memory=False, counter="torch",
                      latency="per-layer", device_profile="h200", dtype="bfloat16")
    assert result.ok and seen == {torch.bfloat16}
    assert result.latency.dtype == "bfloat16" and result.latency.clock == ("CUDA events" if device == "cuda"
                                                                           else "time.perf_counter")
    stats = archcalc.analyze("resnet18", input="3x64x64")
    assert result.latency.model.predicted_ms == roofline(stats, "h200", "bfloat16").total * 1e3
    assert result.latency.model.predicted_ms != roofline(stats, "h200", "float32").total * 1e3


@pytest.mark.parametrize(("args", "message"), [
    (["--dtype", "int8"], "'int8' is not one of 'float32', 'float16', 'bfloat16', 'float64'"),
    (["--dtype", "bfloat16", "--runs", "0"], ("error: --dtype bfloat16 is the element type of the timed passes, "
                                              "and nothing is timed (--runs 0)")),
    (["--dtype", "float16", "--device", "meta"], "and nothing is timed (on meta)"),
    (["--dtype", "bfloat16", "--device-profile", "t4", "--runs", "1"],
     "error: the device profile 't4' (archcalc/devices.yaml) gives no peak for bfloat16"),
])
def test_a_dtype_that_cannot_be_timed_or_predicted_is_refused_before_any_build(cli, args, message, monkeypatch):
    monkeypatch.setattr("archcalc.validation._built", lambda *a, **k: pytest.fail("built before refusing"))
    result = cli("validate", "lenet5", *args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    with pytest.raises(archcalc.SpecError, match="latency is measured in float32, float16, bfloat16, float64"):
        validate("lenet5", runs=1, dtype="int8")


def test_the_hint_for_a_dtype_a_profile_lacks_offers_only_what_validate_times_in(cli, tmp_path, monkeypatch):
    """A profile of float32 and int8 asked for float16: the hint offered int8 to choose with
    --dtype, which validate's --dtype does not take (table's does, and its hint keeps it)."""
    monkeypatch.setattr("archcalc.validation._built", lambda *a, **k: pytest.fail("built before refusing"))
    profile = tmp_path / "profile.yaml"
    profile.write_text("schema: archcalc.devices/1\ndevices:\n  mine:\n    name: a test device\n"
                       "    peak_tflops: {float32: 1.0, int8: 4.0}\n    memory_gbps: 10\n    launch_us: 5\n"
                       "    sources: {peak_tflops: by hand, memory_gbps: by hand, launch_us: by hand}\n")
    result = cli("validate", "lenet5", "--dtype", "float16", "--device-profile", str(profile), "--runs", "1")
    assert result.exit_code == 2 and "hint: it gives float32: choose one with --dtype, or add 'float16: TFLOPS'" \
        in result.stderr, result.stderr
    result = cli("table", "lenet5", "--dtype", "float16", "--device-profile", str(profile))
    assert result.exit_code == 2 and "hint: it gives float32, int8: choose one with --dtype" in result.stderr, result.stderr


def test_a_dtype_torch_cannot_run_here_keeps_the_checks_and_says_why_it_was_not_timed(monkeypatch):
    """A kernel torch lacks in a dtype on a device (torch 2.13's CPU avg_pool3d in float16, which
    alexnet_paper's local response norm runs) stops the timing, not the comparison of the counts."""
    from archcalc.validation import latency as timing

    def refusing(*args, **kwargs):
        raise NotImplementedError('"avg_pool3d_out_frame" not implemented for \'Half\'')

    monkeypatch.setattr(timing, "time_forward", refusing)
    result = validate("lenet5", device="cpu", runs=1, memory=False, dtype="float16")
    assert result.ok and result.layers and result.latency is None
    assert result.notes[-1] == ("torch could not run the model in float16 on cpu: \"avg_pool3d_out_frame\" not "
                                "implemented for 'Half': not timed (time it in float32, or on another device)")
    from archcalc.errors import DeviceError
    from archcalc.validation import measure_latency

    with pytest.raises(DeviceError, match="torch could not run the model in float16 on cpu"):
        measure_latency(load_graph("lenet5"), device="cpu", runs=1, dtype="float16")


OUT_OF_MEMORY = ("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried "
                 "to allocate 536870912 bytes. Error code 12 (Cannot allocate memory)")
"""torch's error where a tensor cannot be allocated on the CPU, as a fuzzer met it timing a model in float32."""


LESS_MEMORY = "time it on a smaller input or batch, or compare the figures alone with --runs 0"
"""The advice where memory ran out while timing."""


@pytest.mark.parametrize(("error", "dtype", "advice"), [
    (RuntimeError(OUT_OF_MEMORY), "float32", LESS_MEMORY),
    (MemoryError(), "float64", LESS_MEMORY),
    (RuntimeError("a kernel failed"), "float32", "time it on another device"),
])
def test_memory_running_out_while_timing_is_said_so_and_float32_is_not_advised_in_float32(error, dtype, advice,
                                                                                         monkeypatch):
    """A fuzzer found an allocation that failed while timing in float32 reported as a kernel missing
    for the dtype, with the advice to time it in float32."""
    from archcalc.errors import DeviceError
    from archcalc.validation import latency as timing
    from archcalc.validation import measure_latency

    def failing(*args, **kwargs):
        raise error

    monkeypatch.setattr(timing, "time_forward", failing)
    result = validate("lenet5", device="cpu", runs=1, memory=False, counter="torch", dtype=dtype)
    assert result.ok and result.layers and result.latency is None
    assert result.notes[-1].startswith(f"torch could not run the model in {dtype} on cpu: ")
    assert result.notes[-1].endswith(f": not timed ({advice})") and "float32" not in advice
    with pytest.raises(DeviceError) as raised:
        measure_latency(load_graph("lenet5"), device="cpu", runs=1, dtype=dtype)
    assert raised.value.hint == advice


def test_csv_carries_the_checks_and_the_layer_times(cli):
    result = cli("validate", "lenet5", "--runs", "1", "--warmup", "0", "--latency", "per-layer",
                 "--device-profile", "h200", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [row["layer"] for row in rows] == [node.name for node in load_graph("lenet5").nodes] + [
        "total", "inference peak", "training peak"]
    rows = rows[:-3]  # the layers'
    fc1 = rows[7]
    assert (fc1["params_archcalc"], fc1["params_measured"], fc1["fvcore_measured"], fc1["ok"]) == \
        ("48120", "48120", "48000", "True")
    assert all(row["dtype"] == "float32" for row in rows)
    assert all(float(row["min_ms"]) <= float(row["ms"]) <= float(row["max_ms"]) and float(row["predicted_ms"]) >= 0
               for row in rows)


def test_csv_has_each_models_totals_and_peaks_after_its_layers(cli, tmp_path):
    """The CSV had a line per layer and none for the totals (the table's last line, the JSON's
    `total`) nor the peaks: the model's own time, its heads' shapes and a peak that differed were in
    no line. Expected values: torch's parameters of the built model (by hand 112 + 10 + 185 = 307,
    4 bytes each in float32) and the heads' shapes by hand (TWO_HEADS)."""
    path = tmp_path / "two_heads.yaml"
    path.write_text(TWO_HEADS)
    result = cli("validate", path, "--runs", "1", "--warmup", "0", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["model"], row["layer"], row["kind"]) for row in rows] == [
        ("two_heads", "conv", "conv2d"), ("two_heads", "a", "conv2d"), ("two_heads", "b", "conv2d"),
        ("two_heads", "total", "total"), ("two_heads", "inference peak", "MemTracker"),
        ("two_heads", "training peak", "MemTracker on fake tensors")]
    total, inference, training = rows[3:]
    params = sum(p.numel() for p in build_torch(path).parameters())
    assert params == 307 and (total["params_archcalc"], total["params_measured"]) == ("307", "307")
    assert total["shape_archcalc"] == total["shape_measured"] == "1x2x6x6;1x5x4x4"
    assert total["dtype"] == "float32" and float(total["min_ms"]) <= float(total["ms"]) <= float(total["max_ms"])
    assert total["ok"] == "True" and total["error"] == ""
    assert inference["parameter_bytes_measured"] == training["parameter_bytes_measured"] == str(4 * params)
    assert inference["params_measured"] == inference["ms"] == inference["gradient_bytes_measured"] == ""
    assert training["optimizer_bytes_measured"] == str(4 * params)  # SGD's momentum: one value per parameter


def test_csv_says_which_model_torch_could_not_run(cli, monkeypatch):
    """A model torch refuses has no layer lines: its totals' line says so, under its name, with
    --all as for one model (in the CSV it was absent, every line of the file 'True')."""
    import archcalc.spec

    conv = type(LAYER_KINDS["conv2d"])
    right = conv.torch_arguments
    monkeypatch.setattr(conv, "torch_arguments", lambda self, a, shapes: right(self, a, [(1, shapes[0][1] + 1, 1, 1)]))
    lenets = tuple(e for e in bundled() if e.name.startswith("lenet"))
    monkeypatch.setattr(archcalc.spec, "bundled", lambda: lenets)
    result = cli("validate", "--all", "--runs", "0", "--no-memory", "--format", "csv")
    assert result.exit_code == 1, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(row["model"], row["layer"], row["ok"]) for row in rows] == [
        ("lenet5", "total", "False"), ("lenet5_pytorch", "total", "False")]
    assert all(row["error"].startswith("torch could not run the model: ") for row in rows)


def test_a_bad_device_profile_is_one_line_and_exit_2(cli):
    result = cli("validate", "lenet5", "--device-profile", "h2000")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("error: unknown device profile 'h2000'") and "Traceback" not in result.stderr


def test_every_layer_is_timed_by_the_same_loop_whatever_the_clock(monkeypatch):
    """The CUDA path is this loop with CudaClock: a stand-in clock on the CPU shows each run reads it at
    the model's start and end in a pass without hooks, then at the start and end of a pass with them
    and of every layer in it, and nothing else differs."""
    from archcalc.validation import latency as timing

    class CountingClock(timing.MonotonicClock):
        name = "counting"
        marks = waits = 0

        def mark(self):
            CountingClock.marks += 1
            return CountingClock.marks

        def wait(self):
            CountingClock.waits += 1

        def ms(self, start, end):
            return float(end - start)

    monkeypatch.setattr(timing, "MonotonicClock", CountingClock)
    result = validate("lenet5", device="cpu", runs=3, warmup=2, memory=False, latency="per-layer")
    layers = len(load_graph("lenet5").nodes)
    assert result.latency.clock == "counting"
    assert CountingClock.waits == 5 * 2 and CountingClock.marks == 5 * (2 + 2 + 2 * layers + 2 * layers)  # blocks = layers
    assert all(1 <= t.ms <= 3 for t in result.latency.layers)  # its end read after its start, its block's between
    assert result.latency.model.ms == 1  # the model's own pass: no hook read the clock between its start and end


@pytest.mark.skipif(not CUDA, reason="needs CUDA")
def test_per_layer_latency_on_cuda_uses_cuda_events():
    latency = validate("resnet18", device="cuda", runs=2, warmup=1, memory=False, latency="per-layer",
                       device_profile="h200").latency
    assert latency.clock == "CUDA events" and latency.device.startswith("cuda") and latency.threads is None
    assert not latency.memory_kept
    assert [t.name for t in latency.layers] == [node.name for node in load_graph("resnet18").nodes]
    assert all(t.min_ms <= t.ms <= t.max_ms and t.predicted_ms is not None for t in latency.layers)


def test_spearman_against_published_examples():
    from archcalc.validation.results import spearman

    # Wikipedia, "Spearman's rank correlation coefficient", example: IQ against hours of TV a week, ρ = −29/165
    iq = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110]
    tv = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17]
    assert math.isclose(spearman(iq, tv), -29 / 165, rel_tol=1e-15)
    # SciPy's documentation of scipy.stats.spearmanr (a tie in the second list): 0.8207826816681233
    assert math.isclose(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7]), 0.8207826816681233, rel_tol=1e-15)
    assert spearman([1, 2], [3, 3]) is None and spearman([1], [2]) is None


def test_the_rank_ceiling_worked_by_hand_and_never_passed():
    """η of the ranks by group, worked by hand: times 1, 2, 3, 4 in groups a, a, b, b rank 1–4 about
    2.5 (variance 5 in all), the groups' mean ranks 1.5 and 3.5 (4 between them): √(4/5); interleaved
    (1, 3, 2, 4) their means are 2 and 3 (1 between): √(1/5). A prediction of one time a group
    reaches it with two groups, and with three no such prediction (every one of 3³ assignments of
    0, 1, 2 to the groups) passes it over every seventh order of seven times."""
    import itertools

    from archcalc.validation.results import rank_ceiling, spearman

    assert math.isclose(rank_ceiling([1, 2, 3, 4], "aabb"), math.sqrt(4 / 5), rel_tol=1e-15)
    assert math.isclose(spearman([0, 0, 1, 1], [1, 2, 3, 4]), math.sqrt(4 / 5), rel_tol=1e-15)
    assert math.isclose(rank_ceiling([1, 3, 2, 4], "aabb"), math.sqrt(1 / 5), rel_tol=1e-15)
    assert math.isclose(spearman([0, 0, 1, 1], [1, 3, 2, 4]), math.sqrt(1 / 5), rel_tol=1e-15)
    assert rank_ceiling([4, 1, 3], "abc") == 1.0
    assert rank_ceiling([1, 1], "ab") is None and rank_ceiling([1], "a") is None
    assert rank_ceiling([1, 2, 3], "aaa") is None  # one group: no such prediction has a ρ
    groups = "aabbbcc"
    reached = 0
    for times in itertools.islice(itertools.permutations(range(7)), 0, None, 7):
        ceiling = rank_ceiling(list(times), groups)
        best = max((spearman([values["abc".index(g)] for g in groups], list(times)) or -1)
                   for values in itertools.product(range(3), repeat=3))
        assert best <= ceiling + 1e-12
        reached += math.isclose(best, ceiling, rel_tol=1e-12)
    assert reached > 0


def test_the_heaviest_layers_hold_90_percent_of_the_macs_and_no_fewer_would():
    from archcalc.validation.results import heaviest

    stats = archcalc.analyze("mobilenet_v2")
    macs = {layer.name: layer.figures.macs for layer in stats.layers}
    chosen = heaviest(macs)
    assert sum(macs[n] for n in chosen) >= 0.9 * stats.totals.macs > sum(macs[n] for n in chosen[:-1])
    assert min(macs[n] for n in chosen) >= max(macs[n] for n in macs if n not in chosen)


@pytest.mark.parametrize("options, message", [
    ({"latency": "layers"}, "unknown latency mode 'layers'"),
    ({"threads": 0}, "threads must be a whole number from 1 to 1,024, got 0"),
    ({"threads": True}, "threads must be a whole number from 1 to 1,024, got True"),
    # a review's: 100,000 crashed Python in torch's thread pool (a segmentation fault), 10²⁰ overflowed in torch
    ({"threads": 100_000}, "threads must be a whole number from 1 to 1,024, got 100000"),
    ({"threads": 10**20}, "threads must be a whole number from 1 to 1,024, got 100000000000000000000"),
    ({"device": "meta"}, "latency is measured on cpu or cuda, over one run or more"),
    ({"runs": 0}, "latency is measured on cpu or cuda, over one run or more"),
])
def test_the_library_refuses_a_latency_it_cannot_measure(options, message):
    from archcalc.validation import measure_latency

    with pytest.raises(archcalc.SpecError, match=message):
        measure_latency(load_graph("lenet5"), **options)


@pytest.mark.parametrize("options, message", [
    ({"runs": 3, "warmup": -3}, "warmup must be a whole number from 0 to 1,000, got -3"),
    ({"runs": 2.5}, "runs must be a whole number from 0 to 1,000, got 2.5"),
    ({"runs": True}, "runs must be a whole number from 0 to 1,000, got True"),
    ({"runs": -5}, "runs must be a whole number from 0 to 1,000, got -5"),
    ({"runs": 1, "warmup": 1001}, "warmup must be a whole number from 0 to 1,000, got 1001"),
])
def test_the_library_checks_runs_and_warm_up_as_the_command_line_does(options, message, monkeypatch):
    """A fuzzer found `validate(runs=3, warmup=-3)` failing with 'no median for empty data' and every
    layer's comparison lost, `runs=10, warmup=-3` timing 7 passes and saying 10, `runs=2.5` a raw
    TypeError, `runs=True` a latency of `true` runs and `runs=-5` no timing."""
    from archcalc.validation import measure_latency

    monkeypatch.setattr("archcalc.validation._built", lambda *a, **k: pytest.fail("built before refusing"))
    with pytest.raises(archcalc.SpecError, match=re.escape(message)):
        validate("lenet5", device="cpu", memory=False, **options)
    with pytest.raises(archcalc.SpecError, match=re.escape(message)):
        measure_latency(load_graph("lenet5"), **options)


def test_the_library_takes_runs_of_any_integer_type():
    """A review found `runs=numpy.int64(2)` refused as 'not a whole number' where `batch` takes it."""
    numpy = pytest.importorskip("numpy")
    result = validate("lenet5", device="cpu", memory=False, counter="torch", runs=numpy.int64(2), warmup=numpy.int32(0))
    assert result.latency.runs == 2 and type(result.latency.runs) is int and result.latency.warmup == 0


def test_what_stops_the_timing_leaves_the_comparison_standing(monkeypatch):
    """A ValueError of the timing (statistics' 'no median for empty data', as a negative warm-up
    gave) turned the whole result into "torch could not run the model", every layer's checks lost."""
    import statistics

    from archcalc.validation import latency as timing

    def failing(*args, **kwargs):
        raise statistics.StatisticsError("no median for empty data")

    monkeypatch.setattr(timing, "time_forward", failing)
    result = validate("lenet5", device="cpu", runs=1, memory=False)
    assert result.ok and result.error is None and len(result.layers) == 12 and result.latency is None
    assert result.notes[-1] == ("the timing failed: StatisticsError: no median for empty data: not timed "
                                "(archcalc's own error: please report it)")  # not torch's, not the device's


def test_a_timed_model_has_torchs_own_weights_and_a_counted_one_is_left_unwritten(monkeypatch):
    """Timing needs the values a model runs on: every activation of a model of zero weights is
    zero, and a max pooling of zeros ran 3 times as fast as of torch's random values on this
    project's CPU (docs/latency.md); counting reads none, so `--runs 0` writes nothing over the
    weights (seconds for a large model). Timed, the model has torch's own initialisation (each
    convolution's and linear layer's weight by kaiming_uniform_; a model built on the meta device
    to be counted initialises nothing real), and its output is not zeros."""
    from archcalc.validation import latency

    initialised, outputs = [], []
    kaiming, timed = torch.nn.init.kaiming_uniform_, latency.time_forward
    monkeypatch.setattr(torch.nn.init, "kaiming_uniform_",
                        lambda tensor, *args, **kwargs: tensor.is_meta or initialised.append(tensor.shape)
                        or kaiming(tensor, *args, **kwargs))
    monkeypatch.setattr(latency, "time_forward", lambda model, x, *args: outputs.append(model(x)) or timed(model, x, *args))
    weights = [tensor.shape for tensor in build_torch("lenet5", device="meta").parameters() if tensor.dim() > 1]
    assert validate("lenet5", device="cpu", runs=0, memory=False).ok and initialised == [] and outputs == []
    assert validate("lenet5", device="cpu", runs=1, warmup=0, memory=False).ok
    assert initialised == weights and len(weights) == 5
    [output] = outputs
    assert output.abs().min() > 0  # ten class scores, none zero


def test_a_channel_shuffle_is_validated_on_real_cpu_tensors_where_fake_ones_count_a_view(cli, write_spec):
    """On fake tensors torch's channel_shuffle returns a view of its input, so MemTracker there
    counts one tensor more than on real CPU tensors (shuffle → ReLU → ReLU on 2×3×3: 216 B
    against 144 B), and validate reported a difference on a correct spec (docs/memory.md). Its
    inference peak is now measured on real CPU tensors, where MemTracker gives archcalc's 144 B:
    the shuffle's output and one ReLU's, 2·3·3 float32 each (the input made before tracking)."""
    pytest.importorskip("fvcore")
    path = write_spec("""
        name: cs
        input: [2, 3, 3]
        layers:
          - s: {kind: channel_shuffle, groups: 2}
          - r1: relu
          - r2: relu
    """)
    result = cli("validate", path, "--runs", "0")
    assert result.exit_code == 0, result.output
    assert "against torch's MemTracker on real CPU tensors (docs/memory.md): parameters 0 ✓ · buffers 0 ✓ · " \
        "activations 144 ✓ · total 144 ✓" in result.stdout
    assert "on fake tensors torch's channel shuffle 's' returns a view of its input" in " ".join(result.stdout.split())


def test_the_verdict_writes_a_count_of_layers_in_thousands_with_its_comma():
    """The verdict said 'all 1200 layers' above a table whose details said 'Each of the 1,200
    layers' (8fbd6e0 wrote the comma there alone), and '2400 difference(s) in 1200 row(s)'.
    1,200 layers of one figure each, by hand: every one agreeing, then every one off by one
    (1,200 layer rows differ, and the total: 1,201 differences, 1,198 beyond the first three)."""
    from archcalc.render.validation import verdict
    from archcalc.validation.results import Check, LayerCheck, Validation

    def validation(off: int) -> Validation:
        layers = [LayerCheck(f"l{i}", "relu", (Check("params", 0, off),)) for i in range(1200)]
        return Validation("wide", "wide.yaml", "cpu", (1, 3, 8, 8), ("torch",), {}, layers,
                          LayerCheck("total", "", (Check("params", 0, 1200 * off),)))

    assert verdict(validation(0))[0].startswith("✓ wide: all 1,200 layers and the totals agree")
    assert verdict(validation(1))[0].startswith("✗ wide: 1,201 difference(s) in 1,201 row(s): ")
    assert verdict(validation(1))[0].endswith(", and 1,198 more")
