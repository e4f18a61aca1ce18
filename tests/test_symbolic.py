"""Symbolic input sizes: formulas of N, C, H, W from the same layer rules as the numbers.

Expected values come from outside the symbolic engine: the numeric analysis (itself checked
against torch, fvcore and the seeds' tables in the other tests), torch's own shapes on the built
model, and formulas written here from the seeds' output-size rule and the ResNet paper's table.
"""

from __future__ import annotations

import functools
import json
import random
import re
import subprocess
import sys
from itertools import product

import pytest
from conftest import tier, yaml_text
from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc.analysis import analyze_graph
from archcalc.errors import SpecError
from archcalc.limits import MAX_DIMENSION, MAX_SYMBOLIC_DIVISOR
from archcalc.spec import bundled, load_graph

BUNDLED = [tier(entry, entry.path, entry.variant) for entry in bundled()]

OTHER_SIZES = [(1, 1), (7, 7), (15, 16), (31, 31), (32, 32), (33, 47), (62, 62), (63, 63), (64, 65),
               (97, 96), (99, 99), (127, 128), (160, 160), (199, 201), (223, 223), (225, 225),
               (255, 256), (299, 299), (320, 240), (513, 511)]
"""Twenty sizes besides a spec's own: odd and even, square and not, small enough to be refused
by some networks, and off the multiples of 32 where the floors round."""
OTHER_LENGTHS = [1, 7, 100, 511, 999, 2000, 4095, 4096, 6847, 6848, 7999, 8001, 12345, 16000, 20000,
                 24577, 31999, 32000, 40000, 65537]
"""Twenty lengths besides a 1-D spec's own, around the strides of an audio network (M5: 4,096)."""
SYMBOLS = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
"""The symbol of each spatial axis, by number of axes."""


def symbols_of(graph) -> tuple[str, ...]:
    return SYMBOLS[len(graph.input_shape) - 1]


def other_sizes(graph) -> list[tuple[int, ...]]:
    """Twenty spatial sizes besides the spec's own: lengths of a 1-D input; heights and widths of a
    2-D one, and of a 3-D one at its own depth."""
    rank = len(graph.input_shape) - 1
    if rank == 1:
        return [(n,) for n in OTHER_LENGTHS]
    return [(*graph.input_shape[1:-2], h, w) for h, w in OTHER_SIZES]


@functools.lru_cache(maxsize=None)
def symbolic(path, variant, convention="paper", batch=1, channels=None):
    """The graph and its symbolic analysis, made once per test session (tests only read them)."""
    graph = load_graph(path, variant)
    return graph, analyze_graph(graph, (channels or graph.input_shape[0], *symbols_of(graph)), batch, convention)


def assert_same_analysis(evaluated, numeric):
    """Every layer's shape and figures, the blocks and the totals: equal, exactly."""
    assert evaluated.input_shape == numeric.input_shape
    for mine, theirs in zip(evaluated.layers, numeric.layers, strict=True):
        assert (mine.name, mine.shape, mine.figures) == (theirs.name, theirs.shape, theirs.figures)
    assert evaluated.blocks == numeric.blocks
    assert evaluated.totals == numeric.totals


@pytest.mark.parametrize("convention", ["paper", "fvcore", "torch"])
@pytest.mark.parametrize("path, variant", BUNDLED)
def test_formulas_at_the_specs_own_input_equal_the_numeric_analysis(path, variant, convention):
    from archcalc.symbolic.model import evaluate

    graph, formulas = symbolic(path, variant)
    formulas = formulas.under(convention)  # every convention's count comes from the one pass
    values = dict(zip(symbols_of(graph), graph.input_shape[1:]))
    numeric = analyze_graph(graph, convention=convention)
    assert formulas.formulas.unmet(values) is None
    assert_same_analysis(evaluate(formulas, values), numeric)


@pytest.mark.parametrize("path, variant", BUNDLED)
def test_a_sweeps_totals_are_the_numeric_totals_under_every_convention(path, variant):
    """totals_at (what a sweep reads at each size) under each convention in turn, the compiled
    function made once and passed on by ModelStats.under, equals the numeric analysis's totals."""
    from archcalc.symbolic.model import totals_at

    graph, formulas = symbolic(path, variant)
    channels = graph.input_shape[0]
    for convention in ("fvcore", "torch", "paper", "fvcore"):
        under = formulas.under(convention)
        for sizes in (graph.input_shape[1:], *other_sizes(graph)[::5]):
            values = dict(zip(symbols_of(graph), sizes))
            if under.formulas.unmet(values) is None:
                assert totals_at(under, values) == analyze_graph(graph, (channels, *sizes), convention=convention).totals


@pytest.mark.parametrize("path, variant", BUNDLED)
def test_formulas_at_twenty_other_sizes_equal_the_numeric_analysis(path, variant):
    """Where the numeric analysis refuses a size, a constraint is unmet, and the other way round."""
    from archcalc.symbolic.model import evaluate

    graph, formulas = symbolic(path, variant)
    channels = graph.input_shape[0]
    refused = 0
    for sizes in other_sizes(graph):
        values = dict(zip(symbols_of(graph), sizes))
        try:
            numeric = analyze_graph(graph, (channels, *sizes))
        except SpecError:
            assert formulas.formulas.unmet(values) is not None, sizes
            refused += 1
            continue
        assert formulas.formulas.unmet(values) is None, sizes
        assert_same_analysis(evaluate(formulas, values), numeric)
    assert refused < len(OTHER_SIZES)


@pytest.mark.parametrize("model", ["lenet5", "alexnet_paper", "vgg11_bn", "resnet18", "resnet101_v1"])
def test_batch_and_channels_as_symbols_too(model):
    from archcalc.symbolic.model import evaluate

    graph = load_graph(model)
    formulas = analyze_graph(graph, ("C", "H", "W"), "N")
    assert formulas.formulas.symbols == ("N", "C", "H", "W")
    for n, c, h, w in [(1, 3, 224, 224), (4, 1, 227, 225), (3, 5, 131, 97)]:
        try:
            numeric = analyze_graph(graph, (c, h, w), n)
        except SpecError:
            assert formulas.formulas.unmet({"N": n, "C": c, "H": h, "W": w}) is not None
            continue
        assert_same_analysis(evaluate(formulas, {"N": n, "C": c, "H": h, "W": w}), numeric)


@pytest.mark.parametrize("path, variant", BUNDLED)
def test_json_formulas_evaluate_in_plain_python(cli, path, variant):
    """The JSON strings are Python with whole-number arithmetic: eval gives the exact figures."""
    graph = load_graph(path, variant)
    symbols = symbols_of(graph)
    args = ["table", path, "--input", "x".join([str(graph.input_shape[0]), *symbols]), "--batch", "N", "--format", "json"]
    result = cli(*args, *(["--variant", variant] if variant else []))
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    numeric = analyze_graph(graph, graph.input_shape, 2)
    values = {"N": 2, **dict(zip(symbols, graph.input_shape[1:]))}

    def number(text):
        value = text if isinstance(text, int) else eval(text, {"__builtins__": {}}, values)
        assert isinstance(value, int)
        return value

    for row, layer in zip(document["rows"], numeric.layers, strict=True):
        assert [number(size) for size in row["shape"]] == list(layer.shape)
        assert [number(row[name]) for name in ("params", "macs", "flops", "activation_bytes")] == [
            layer.figures.params, layer.figures.macs, layer.figures.flops, layer.figures.activation_bytes]
    assert number(document["totals"]["macs"]) == numeric.totals.macs
    assert all(eval(c["condition"], {"__builtins__": {}}, values) for c in document["formulas"]["constraints"])


# --- against torch --------------------------------------------------------------------------

TORCH_SUBSET = ["lenet5", "alexnet", "alexnet_paper", "vgg11", "resnet18", "resnet50"]


def torch_shapes(model, graph, height, width):
    """Each named layer's output shape as torch computes it, on the meta device."""
    import torch

    shapes = {}
    hooks = [model.get_submodule(node.name).register_forward_hook(
        lambda module, args, out, name=node.name: shapes.__setitem__(name, tuple(out.shape)))
        for node in graph.nodes]
    try:
        with torch.no_grad():
            model(torch.empty(1, graph.input_shape[0], height, width, device="meta"))
    finally:
        for hook in hooks:
            hook.remove()
    return shapes


@pytest.mark.parametrize("model_name", TORCH_SUBSET)
def test_shape_formulas_equal_the_shapes_torch_produces(model_name):
    pytest.importorskip("torch")
    from archcalc.symbolic.model import evaluate
    from archcalc.torchmodel import build_graph

    graph, formulas = symbolic(model_name, None)
    checked = 0
    for height, width in [(63, 63), (97, 96), (225, 225), (299, 299), (320, 240)]:
        values = {"H": height, "W": width}
        if formulas.formulas.unmet(values) is not None:
            continue
        model = build_graph(graph, (graph.input_shape[0], height, width), device="meta").eval()
        shapes = torch_shapes(model, graph, height, width)
        for layer in evaluate(formulas, values).layers:
            assert layer.shape == shapes[layer.name], (model_name, height, width, layer.name)
        checked += 1
    assert checked >= 3


@pytest.mark.parametrize("model_name, smallest", [("vgg11", 32), ("alexnet", 63), ("lenet5", 16)])
def test_the_smallest_valid_size_is_where_torch_starts_to_accept(model_name, smallest):
    """The constraint says 'H ≥ smallest'; torch refuses smallest − 1 and accepts smallest."""
    torch = pytest.importorskip("torch")
    from archcalc.torchmodel import build_graph

    graph, formulas = symbolic(model_name, None)
    assert formulas.formulas.constraint_lines()[0].startswith(f"H ≥ {smallest} (")
    channels = graph.input_shape[0]
    model = build_graph(graph, (channels, smallest, smallest), device="meta").eval()
    model(torch.empty(1, channels, smallest, smallest, device="meta"))
    if model_name == "lenet5":  # its first linear layer is sized for the input: build it at the smaller size
        with pytest.raises(SpecError):
            build_graph(graph, (channels, smallest - 1, smallest - 1), device="meta")
        return
    with pytest.raises(RuntimeError):
        model(torch.empty(1, channels, smallest - 1, smallest - 1, device="meta"))


# --- readable formulas and constraints --------------------------------------------------------

def floor_text(stride_product: int, symbol: str) -> str:
    """The seeds' rule ⌊(n + 2p − k)/s⌋ + 1 applied through ResNet's stride-2 layers (7×7 p3,
    3×3 p1 max pool, 3×3 p1 convs) gives ⌈n/2⌉ each time: ⌊(n + m − 1)/m⌋ after a stride of m."""
    return f"⌊({symbol} + {stride_product - 1})/{stride_product}⌋"


def test_resnet50_total_mac_formula_as_the_table_prints_it(cli):
    """The coefficients come from the ResNet paper's Table 1 (50-layer column, with the stride
    on the 3×3 conv as torchvision's v1.5 block has it), counted by the seeds' conv MAC rule
    (C_in · C_out · k² per output position)."""
    stages = [(64, 64, 256, 3), (256, 128, 512, 4), (512, 256, 1024, 6), (1024, 512, 2048, 3)]
    per_position = {2: 3 * 64 * 7 * 7, 4: 0, 8: 0, 16: 0, 32: 0}
    scale = 4
    for index, (c_in, mid, c_out, blocks) in enumerate(stages):
        stride = 1 if index == 0 else 2
        before, after = scale, scale * stride
        per_position[before] += c_in * mid  # the first block's 1×1 reduction, before the stride
        per_position[after] += mid * mid * 9 + mid * c_out + c_in * c_out  # 3×3, 1×1 expansion, projection
        per_position[after] += (blocks - 1) * (c_out * mid + mid * mid * 9 + mid * c_out)
        scale = after
    terms = [f"{per_position[m]:,}·{floor_text(m, 'H')}·{floor_text(m, 'W')}" for m in (32, 16, 8, 4, 2)]
    expected = "MACs = " + " + ".join(terms) + f" + {2048 * 1000:,}"

    result = cli("table", "resnet50", "--input", "3xHxW")
    assert result.exit_code == 0
    assert expected in result.stdout.splitlines()
    assert expected == ("MACs = 14,417,920·⌊(H + 31)/32⌋·⌊(W + 31)/32⌋ + 7,471,104·⌊(H + 15)/16⌋·⌊(W + 15)/16⌋"
                        " + 1,310,720·⌊(H + 7)/8⌋·⌊(W + 7)/8⌋ + 245,760·⌊(H + 3)/4⌋·⌊(W + 3)/4⌋"
                        " + 9,408·⌊(H + 1)/2⌋·⌊(W + 1)/2⌋ + 2,048,000")
    assert "valid for every H ≥ 1, W ≥ 1" in result.stdout
    assert "every stride divides its input exactly for H a multiple of 32; W a multiple of 32" in result.stdout


@pytest.mark.parametrize("model, says", [("resnet18", "every H ≥ 1, W ≥ 1"),
                                         ("lenet5", "H ≥ 16 (layer 'pool2'); W ≥ 16 (layer 'pool2')")])
def test_table_sweep_and_report_say_where_the_formulas_hold_alike(cli, model, says):
    """The table said 'valid for every H ≥ 1, W ≥ 1' where the sweep and the report of the same
    model said 'valid for every size': one wording, the table's, in all three. LeNet-5's pools need
    16 rows (5×5 conv, pool, 5×5 conv, pool: ⌊(⌊(H − 4)/2⌋ − 4)/2⌋ ≥ 1) and ResNet-18 takes a 1×1
    input (test_the_smallest_valid_size_is_where_torch_starts_to_accept)."""
    channels = "1" if model == "lenet5" else "3"
    table = cli("table", model, "--input", f"{channels}xHxW").stdout
    swept = cli("sweep", model, "--size", "32,64").stdout
    report = cli("report", model, "--sweep", "32,64").stdout
    assert f"valid for {says}" in table.splitlines()
    assert f"valid for {says}" in swept.splitlines()
    assert report.count(f"valid for {says}") == 1


def test_table_rows_show_shape_formulas(cli):
    """LeNet-5 (seeds: 32 → 28 → 14 → 10 → 5): 5×5 convs without padding take 4, 2×2 pools halve."""
    result = cli("table", "lenet5", "--input", "1xHxW", "--format", "markdown")
    assert result.exit_code == 0
    rows = {line.split(" | ")[1]: line.split(" | ") for line in result.stdout.splitlines()
            if line.startswith("| ") and line.split(" | ")[0].strip("| ").isdigit()}
    assert rows["conv1"][3] == "1×6×(H - 4)×(W - 4)"
    assert rows["pool1"][3] == "1×6×(⌊H/2⌋ - 2)×(⌊W/2⌋ - 2)"
    assert rows["pool2"][3] == "1×16×(⌊H/4⌋ - 3)×(⌊W/4⌋ - 3)"
    assert "- valid for H ≥ 16 (layer 'pool2'); W ≥ 16 (layer 'pool2')" in result.stdout


@pytest.mark.parametrize("values", [{"H": 0, "W": 0}, {"H": 224, "W": -7}, {"H": 2.5, "W": 224},
                                    {"H": True, "W": 224}, {"H": 2**31, "W": 224}])
def test_evaluate_refuses_what_is_not_a_size(values):
    """ResNet-18 is valid at every H, W ≥ 1: its formulas at H = W = 0 gave figures (512,000
    MACs), and at W = −7 a shape of −3, where the numeric analysis takes no such input."""
    from archcalc.symbolic.model import evaluate

    _, formulas = symbolic("resnet18", None)
    with pytest.raises(SpecError, match="is not a size"):
        evaluate(formulas, values)
    with pytest.raises(SpecError):
        analyze_graph(load_graph("resnet18"), (3, values["H"], values["W"]))


def test_a_stride_that_never_divides_exactly_is_said_so():
    """AlexNet's 11×11 stride-4 conv with padding 2: ⌊(n − 7)/4⌋ + 1 = n/4 has no solution."""
    _, formulas = symbolic("alexnet", None)
    assert formulas.formulas.exact_lines() == ["no H", "no W"]


def test_a_channel_symbol_before_grouped_layers():
    """The paper's AlexNet splits conv2, conv4 and conv5 into 2 groups, but they see conv1's 96
    channels whatever C is: no constraint on C, and every C gives the numbers' figures."""
    from archcalc.symbolic.model import evaluate

    graph = load_graph("alexnet_paper")
    assert any(node.attrs.get("groups", 1) == 2 for node in graph.nodes)
    formulas = analyze_graph(graph, ("C", 227, 227))
    assert not any("C" in line for line in formulas.formulas.constraint_lines())
    for channels in (1, 3, 5):
        assert_same_analysis(evaluate(formulas, {"C": channels}), analyze_graph(graph, (channels, 227, 227)))


THREE_C_AND_ONE = ("- one: {kind: conv2d, out: 1, kernel: 1, from: input}\n"
                   "- joined: {kind: concat, from: [input, input, input, one]}\n")
"""3·C + 1 channels: three of every count of 3 but one."""


@pytest.mark.parametrize("layers, message", [
    ("- half: {kind: split, take: 1}\n- scaled: {kind: multiply, from: [input, half]}",
     "cannot multiply shapes 1×C×H×W and 1×⌊C/2⌋×H×W: sizes C and ⌊C/2⌋ are equal at no size"),
    ("- pooled: {kind: maxpool2d, kernel: 2}\n- padded: {kind: pad2d, from: [input, pooled]}",
     "cannot pad H to the smaller ⌊H/2⌋"),
    ("- half: {kind: split, take: 0}\n- grouped: {kind: conv2d, out: 6, kernel: 3, groups: 4}",
     "groups=4 does not divide the channels (in ⌊C/2⌋, out 6)"),
    ("- half: {kind: split, take: 0}\n- sum: {kind: add, from: [half, input]}",
     "channel mismatch: cannot add ⌊C/2⌋ channels to C (1×⌊C/2⌋×H×W + 1×C×H×W)"),
    ("- doubled: {kind: concat, from: [input, input]}\n- sum: {kind: add, from: [doubled, input]}",
     "channel mismatch: cannot add 2·C channels to C (1×2·C×H×W + 1×C×H×W)"),
    (f"{THREE_C_AND_ONE}- shuffled: {{kind: channel_shuffle, groups: 3}}",
     "groups=3 does not divide the (3·C + 1) input channels"),
    (f"{THREE_C_AND_ONE}- shuffled: {{kind: pixel_shuffle, factor: 3}}",
     "factor 3: 9 does not divide the (3·C + 1) input channels")])
def test_a_size_in_a_refusal_is_written_as_in_the_shapes(write_spec, cli, layers, message):
    """Every size of a message in the table's notation (⌊C/2⌋, 2·C), not sympy's (floor(C/2), 2*C):
    the add's channel mismatch, the channel shuffle's and the pixel shuffle's channels that no
    count divides wrote sympy's text (found by a review)."""
    spec = write_spec("name: sizes\ninput: [2, 32, 30]\nlayers:\n" + layers + "\n")
    result = cli("table", spec, "--input", "CxHxW")
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert "floor" not in result.stderr and "*" not in result.stderr


def test_a_multiply_equal_at_no_size_says_its_broadcasts_are_left_out(write_spec, cli):
    """C channels times the ⌊C/2⌋ of a split (C even) are equal at no C, but torch broadcasts a 1:
    ⌊C/2⌋ = 1 at C = 2 (the rule: equal sizes or a 1). The symbolic error said 'sizes C and ⌊C/2⌋
    differ and neither is 1', untrue there, with a hint to use size 1; it says the formulas leave
    those sizes out, and how to have them answered: as numbers, which accept C = 2 alone."""
    path = write_spec("name: half\ninput: [2, 32, 30]\nlayers:\n- half: {kind: split, take: 0}\n"
                      "- scaled: {kind: multiply, from: [input, half]}\n")
    result = cli("table", path, "--input", "CxHxW")
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert ("sizes C and ⌊C/2⌋ are equal at no size, and the formulas leave out the sizes where one of them is 1 "
            "(torch broadcasts it)") in result.stderr
    assert "neither is 1" not in result.stderr and "sizes given as numbers (--input) or swept" in result.stderr
    graph = load_graph(path)
    accepted = []
    for channels in range(2, 12, 2):  # split needs an even count
        try:
            analyze_graph(graph, (channels, 8, 8))
            accepted.append(channels)
        except SpecError as error:
            assert "neither is 1" in error.message  # the numbers' message, right for numbers
    assert accepted == [2]


def test_grouped_conv_on_a_symbolic_channel_count(write_spec, cli):
    spec = write_spec("""
        name: grouped
        input: [8, 16, 16]
        layers:
          - conv: {kind: conv2d, out: 12, kernel: 3, groups: 4}
    """)
    result = cli("table", spec, "--input", "CxHxW", "--format", "json")
    document = json.loads(result.stdout)
    assert document["formulas"]["valid_for"][0] == "C a multiple of 4 (layer 'conv')"
    assert document["rows"][0]["params"] == "108*(C//4) + 12"  # 12 filters of C/4 · 3 · 3, 12 biases
    for channels in (4, 8, 12):  # the formula at valid C equals the numbers there
        numbers = json.loads(cli("table", spec, "--input", f"{channels}x16x16", "--format", "json").stdout)
        assert eval(document["rows"][0]["params"], {"C": channels}) == numbers["rows"][0]["params"]
    assert cli("table", spec, "--input", "6x16x16").exit_code == 2  # and the numbers agree


# --- the engine on random chains -------------------------------------------------------------

@st.composite
def window_chains(draw):
    """Up to 6 windows whose strides multiply to at most MAX_SYMBOLIC_DIVISOR (past it, a
    symbolic analysis is refused as too costly: tests/test_bad_input.py)."""
    layers, divisor = [], 1
    for index in range(draw(st.integers(1, 6))):
        kernel = draw(st.integers(1, 7))
        stride = draw(st.integers(1, min(4, MAX_SYMBOLIC_DIVISOR // divisor)))
        divisor *= stride
        if draw(st.booleans()):
            layers.append({f"l{index}": {"kind": "conv2d", "out": 2, "kernel": kernel,
                                         "stride": stride, "padding": draw(st.integers(0, 3)),
                                         "dilation": draw(st.integers(1, 3))}})
        else:
            layers.append({f"l{index}": {"kind": draw(st.sampled_from(["maxpool2d", "avgpool2d"])),
                                         "kernel": kernel, "stride": stride,
                                         "padding": draw(st.integers(0, kernel // 2)),
                                         "ceil_mode": draw(st.booleans())}})
    return layers


@pytest.mark.parametrize("examples", [pytest.param(50, id="50"),
                                      pytest.param(250, id="250 more", marks=pytest.mark.slow)])
def test_random_window_chains_at_random_sizes(tmp_path_factory, examples):
    """Strided, padded, dilated and ceil-mode windows in any order: formula = numbers, and a
    size is refused by the numbers exactly where a constraint is unmet (50 chains in the fast
    tier, 300 in a full run)."""
    settings(max_examples=examples, deadline=None)(given(
        layers=window_chains(),
        sizes=st.lists(st.tuples(st.integers(1, 300), st.integers(1, 300)), min_size=5, max_size=5),
    )(lambda layers, sizes: _window_chain_agrees(tmp_path_factory, layers, sizes)))()


@pytest.mark.parametrize("examples", [pytest.param(200, id="200"),
                                      pytest.param(1000, id="1000 more", marks=pytest.mark.slow)])
def test_random_networks_formulas_at_their_own_input_are_their_numbers(tmp_path_factory, examples):
    """Well-formed random networks of every layer kind (tests/test_fuzz.py, plausible_networks)
    with the channels, the batch and every spatial size symbols: where the symbolic analysis
    answers, its formulas at the spec's own input and a batch of 2 are the numbers there, exactly;
    where the numbers refuse that input, a constraint is unmet or a size passes 2³¹ − 1 (which no
    constraint bounds: `largest_size`)."""
    from test_fuzz import SEEDS, plausible_networks

    settings(max_examples=examples, deadline=None, database=None)(given(seed=SEEDS)(
        lambda seed: _random_network_agrees(tmp_path_factory, plausible_networks(random.Random(seed)))))()


def _random_network_agrees(tmp_path_factory, document):
    from archcalc.symbolic.model import evaluate, largest_size

    path = tmp_path_factory.mktemp("net") / "net.yaml"
    path.write_text(yaml_text(document))
    names = ["C", *[["L"], ["H", "W"], ["D", "H", "W"]][len(document["input"]) - 2]]
    try:
        graph = load_graph(path)
        formulas = analyze_graph(graph, tuple(names), batch="N")
    except SpecError as error:  # a spec error, refused at every size, or past a bound of the symbolic analysis
        if "so the network is valid at none" in error.message:  # constraints that no size meets together
            with pytest.raises(SpecError):
                analyze_graph(graph, tuple(document["input"]), batch=2)
        return
    values = {"N": 2, **dict(zip(names, document["input"]))}
    try:
        numeric = analyze_graph(graph, tuple(document["input"]), batch=2)
    except SpecError as error:
        assert formulas.formulas.unmet(values) is not None or (
            "above 2,147,483,647" in error.message and largest_size(formulas, values) > MAX_DIMENSION), error.message
        return
    if formulas.formulas.unmet(values) is None:  # else a broadcast assumed away (docs/symbolic.md)
        assert_same_analysis(evaluate(formulas, values), numeric)


@pytest.mark.parametrize("examples", [pytest.param(60, id="60"),
                                      pytest.param(400, id="400 more", marks=pytest.mark.slow)])
def test_random_networks_swept_are_their_numbers_at_each_point(tmp_path_factory, examples):
    """The random networks above swept over their own size, smaller and larger ones, a pair of
    unequal sizes (2-D and 3-D) and batch sizes 1 and 3 (N a symbol): each point's totals are the
    numbers there, and a point is not valid exactly where the numbers refuse it — an unmet
    constraint, a broadcast the formulas leave out, a size past 2³¹ − 1, a bound of the formulas;
    a sweep refused as a whole is one the numbers refuse at every point."""
    from test_fuzz import SEEDS, plausible_networks

    settings(max_examples=examples, deadline=None, database=None)(given(seed=SEEDS)(
        lambda seed: _random_sweep_agrees(tmp_path_factory, plausible_networks(random.Random(seed)), seed)))()


def _random_sweep_agrees(tmp_path_factory, document, seed):
    from archcalc.sweep import sweep

    path = tmp_path_factory.mktemp("swept") / "net.yaml"
    path.write_text(yaml_text(document))
    try:
        graph = load_graph(path)
    except SpecError:
        return
    rng = random.Random(seed)
    own = document["input"][-1]
    sizes = list(dict.fromkeys([own, 1, max(1, own // 2), own + rng.randint(1, 9), 2 * own + 1]))  # each once, as sweep asks
    if len(document["input"]) > 2:
        sizes.append((own, own + rng.randint(1, 5)))
    batches = [1, 3]
    try:
        points = sweep(path, sizes, batches).points
    except SpecError as error:
        for size in sizes:
            spatial = size if isinstance(size, tuple) else (size,) * (1 if len(document["input"]) == 2 else 2)
            shape = (*document["input"][:len(document["input"]) - len(spatial)], *spatial)
            for batch in batches:
                with pytest.raises(SpecError):
                    analyze_graph(graph, shape, batch)
        assert "Traceback" not in str(error)
        return
    assert len(points) == len(sizes) * len(batches)
    for point in points:
        try:
            numeric = analyze_graph(graph, point.input, point.batch)
        except SpecError:
            assert point.totals is None, (point, document)
            continue
        assert point.totals == numeric.totals, (point, document)


def _window_chain_agrees(tmp_path_factory, layers, sizes):
    from archcalc.symbolic.model import evaluate

    path = tmp_path_factory.mktemp("chain") / "chain.yaml"
    path.write_text(yaml_text({"name": "chain", "input": [1, 64, 64], "layers": layers}))
    graph = load_graph(path)
    try:
        formulas = analyze_graph(graph, (1, "H", "W"))
    except SpecError:  # no size at all fits: then none of these may
        for height, width in sizes:
            with pytest.raises(SpecError):
                analyze_graph(graph, (1, height, width))
        return
    for height, width in sizes:
        values = {"H": height, "W": width}
        try:
            numeric = analyze_graph(graph, (1, height, width))
        except SpecError:
            assert formulas.formulas.unmet(values) is not None
            continue
        assert formulas.formulas.unmet(values) is None
        assert_same_analysis(evaluate(formulas, values), numeric)


@settings(max_examples=200, deadline=None)
@given(offset=st.integers(-40, 40), divisor=st.integers(1, 64), bound=st.integers(-3, 6),
       relation=st.sampled_from([">=", ">", "==", "!="]))
def test_size_sets_describe_the_sizes_that_meet_a_condition(offset, divisor, bound, relation):
    """'H ≥ 32', 'H a multiple of 4', … checked against the condition at every H up to 2,000."""
    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import size_set

    h = symbol("H")
    floor = sp.floor((h + offset) / divisor)
    condition = {">=": sp.Ge, ">": sp.Gt, "==": sp.Eq, "!=": sp.Ne}[relation](floor, bound)
    if condition in (sp.true, sp.false):
        return
    sizes = size_set(condition)
    meets = [(x + offset) // divisor >= bound if relation == ">=" else
             (x + offset) // divisor > bound if relation == ">" else
             ((x + offset) // divisor == bound) == (relation == "==") for x in range(1, 2001)]
    assert [sizes.test(x) for x in range(1, 2001)] == meets
    assert described(sizes.text(), 2000) in (None, meets)


def described(text: str | None, upto: int) -> list[bool] | None:
    """What a size set's words say, size by size (None for words this reader does not know)."""
    import re

    if text is None:
        return None
    if text == "no H":
        return [False] * upto
    parts = re.sub(r"(?<=\d),(?=\d{3})", "_", text).split(" and ")  # 1,000 is 1_000, which int reads
    tests = []
    for part in parts:
        if m := re.fullmatch(r"H ≥ ([\d_]+)", part):
            tests.append(lambda x, t=int(m[1]): x >= t)
        elif m := re.fullmatch(r"H ≤ ([\d_]+)", part):
            tests.append(lambda x, t=int(m[1]): x <= t)
        elif m := re.fullmatch(r"([\d_]+) ≤ H ≤ ([\d_]+)", part):
            tests.append(lambda x, low=int(m[1]), high=int(m[2]): low <= x <= high)
        elif m := re.fullmatch(r"H = ([\d_]+)", part):
            tests.append(lambda x, t=int(m[1]): x == t)
        elif m := re.fullmatch(r"H ∈ \{([\d_, ]+)\}", part):
            members = frozenset(int(member) for member in m[1].split(", "))
            tests.append(lambda x, members=members: x in members)
        elif m := re.fullmatch(r"H a multiple of ([\d_]+)", part):
            tests.append(lambda x, d=int(m[1]): x % d == 0)
        elif part in ("H even", "H odd"):
            tests.append(lambda x, r=part.endswith("odd"): x % 2 == r)
        elif m := re.fullmatch(r"H mod ([\d_]+) = ([\d_]+)", part):
            tests.append(lambda x, d=int(m[1]), r=int(m[2]): x % d == r)
        elif m := re.fullmatch(r"H mod ([\d_]+) ∈ \{([\d_, ]+)\}", part):
            tests.append(lambda x, d=int(m[1]), rs={int(r) for r in m[2].split(", ")}: x % d in rs)
        else:
            raise AssertionError(f"unknown words: {text}")
    return [all(t(x) for t in tests) for x in range(1, upto + 1)]


OPERATORS = {">=": lambda a, b: a >= b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b,
             "<": lambda a, b: a < b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}


def relation_of(name: str):
    import sympy as sp

    return {">=": sp.Ge, ">": sp.Gt, "<=": sp.Le, "<": sp.Lt, "==": sp.Eq, "!=": sp.Ne}[name]


@settings(max_examples=100, deadline=None)
@given(offset=st.integers(-10**6, 10**6), divisor=st.integers(1, 1 << 17), bound=st.integers(-3, 200),
       relation=st.sampled_from([">=", ">"]))
def test_a_window_that_must_fit_is_a_threshold_at_any_divisor(offset, divisor, bound, relation):
    """⌊(H + a)/m⌋ ≥ b is H ≥ m·b − a (and > b is ≥ b + 1), whatever m: the words name that size,
    and the sizes just below and at it fall on either side."""
    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import size_set

    h = symbol("H")
    condition = relation_of(relation)(sp.floor((h + offset) / divisor), bound)
    if condition in (sp.true, sp.false):
        return
    least = max(1, divisor * (bound + (relation == ">")) - offset)
    sizes = size_set(condition)
    assert sizes.text() == f"H ≥ {least:,}"
    assert sizes.test(least) and not sizes.test(least - 1)
    assert (least + offset) // divisor >= bound + (relation == ">") > (least - 1 + offset) // divisor or least == 1


@settings(max_examples=60, deadline=None)
@given(stride=st.integers(2, 512), inner=st.integers(1, 128), offsets=st.tuples(*[st.integers(-300, 300)] * 2),
       shift=st.integers(-3, 3), relation=st.sampled_from(sorted(OPERATORS)))
def test_a_stride_dividing_exactly_is_a_residue_set_at_any_divisor(stride, inner, offsets, shift, relation):
    """s·⌊(H + a)/(m·s)⌋ ⋈ ⌊(H + b)/m⌋ + c (a stride dividing its input exactly, for =), with
    m·s up to 65,536: the sizes and the words, against the condition at every H of two periods."""
    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import size_set

    h, (a, b), period = symbol("H"), offsets, inner * stride
    condition = relation_of(relation)(stride * sp.floor((h + a) / period), sp.floor((h + b) / inner) + shift)
    if condition in (sp.true, sp.false):
        return
    sizes = size_set(condition)
    upto = 2 * period + 300
    meets = [OPERATORS[relation](stride * ((x + a) // period), (x + b) // inner + shift) for x in range(1, upto + 1)]
    assert [sizes.test(x) for x in range(1, upto + 1)] == meets
    assert described(sizes.text(), upto) in (None, meets)


@settings(max_examples=200, deadline=None)
@given(bounds=st.lists(st.tuples(st.integers(-30, 30), st.integers(1, 12), st.integers(-2, 12),
                                 st.sampled_from([">=", ">", "<=", "<", "=="])), min_size=1, max_size=4),
       stride=st.sampled_from([None, 2, 3, 4]))
def test_sizes_with_an_upper_end_are_worded(bounds, stride):
    """⌊(H + a)/m⌋ ⋈ b met together (a window that must fit, a map padded to a fixed size: H ≤ 20,
    ⌊W/4⌋ = 3, two branches equal only at H = 3 or 4), with a stride dividing exactly among them:
    a set with an upper end was said as its formulas, one a line, each with its layer; now in words
    ('12 ≤ H ≤ 15', 'H ≤ 20 and H even', 'H = 4'), checked against the conditions at every H to 600."""
    from functools import reduce
    from operator import and_

    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import size_set

    h = symbol("H")
    conditions = [relation_of(name)(sp.floor((h + a) / m), b) for a, m, b, name in bounds]
    tests = [lambda x, a=a, m=m, b=b, name=name: OPERATORS[name]((x + a) // m, b) for a, m, b, name in bounds]
    if stride:
        conditions.append(sp.Eq(stride * sp.floor((h + 1) / (2 * stride)), sp.floor((h + 1) / 2)))
        tests.append(lambda x: stride * ((x + 1) // (2 * stride)) == (x + 1) // 2)
    if any(c in (sp.true, sp.false) for c in conditions):
        return  # sympy decided it: no constraint, or the layer's own error
    sets = [size_set(c) for c in conditions]
    joined = reduce(and_, sets)
    meets = [all(test(x) for test in tests) for x in range(1, 601)]
    assert [joined.test(x) for x in range(1, 601)] == meets
    text = joined.text()
    assert text is not None and described(text, 600) == meets, text


def test_a_range_of_sizes_is_said_once_with_the_layers_that_bound_it(write_spec, cli):
    """A crop to 15 columns needs W ≥ 15 and padding to a 20×1000 map W ≤ 1,000 (and H ≤ 20); a
    concat of a 3×1 conv (H − 2) and a 2×1 pool (⌊H/2⌋) meets only at H = 3 or 4, where the conv's
    own H ≥ 3 and the padding's H ≤ 20 add nothing. Each was a line of its own (`W ≥ 15 …; W ≤ 1,000 …`, `H - 2 = ⌊H/2⌋`);
    now one range for each size with the layers that bound it, true exactly where the numbers
    accept the input."""
    path = write_spec("""
        name: ranges
        input: [3, 16, 16]
        outputs: [cropped, padded, joined]
        layers:
          - wide: {kind: adaptive_avgpool2d, output_size: [20, 1000]}
          - cropped: {kind: crop2d, size: [1, 15], from: input}
          - padded: {kind: pad2d, from: [input, wide]}
          - conv: {kind: conv2d, out: 2, kernel: [3, 1], from: input}
          - pool: {kind: maxpool2d, kernel: [2, 1], from: input}
          - joined: {kind: concat, from: [conv, pool]}
    """)
    document = json.loads(cli("table", path, "--input", "3xHxW", "--format", "json").stdout)
    assert document["formulas"]["valid_for"] == [
        "3 ≤ H ≤ 4 (layer 'joined')", "15 ≤ W ≤ 1,000 (layers 'cropped', 'padded')"]
    graph = load_graph(path)
    for height in range(1, 8):
        for width in (1, 14, 15, 16, 999, 1000, 1001):
            try:
                analyze_graph(graph, (3, height, width))
                accepted = True
            except SpecError:
                accepted = False
            assert accepted == (3 <= height <= 4 and 15 <= width <= 1000), (height, width)


@settings(max_examples=150, deadline=None)
@given(inner=st.tuples(st.integers(-4, 4).filter(bool), st.integers(-20, 20), st.integers(1, 8)),
       outer=st.tuples(st.integers(-30, 30), st.integers(1, 8)), extra=st.integers(-2, 2), bound=st.integers(-5, 40),
       relation=st.sampled_from(sorted(OPERATORS)))
def test_floors_within_floors_are_decided_and_worded(inner, outer, extra, bound, relation):
    """⌊(c·⌊(H + a)/m⌋ + b)/n⌋ + e·H ⋈ k (a window after a strided layer and an upsampling: the
    floors do not merge): the sizes, against the condition at every H up to 3,000, and the words.
    size_set left them to sympy, which printed even those that always hold ('valid for' noise)."""
    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import size_set

    (c, a, m), (b, n) = inner, outer
    h = symbol("H")
    condition = relation_of(relation)(sp.floor((c * sp.floor((h + a) / m) + b) / n) + extra * h, bound)
    if condition in (sp.true, sp.false):
        return
    sizes = size_set(condition)
    assert sizes is not None
    meets = [OPERATORS[relation]((c * ((x + a) // m) + b) // n + extra * x, bound) for x in range(1, 3001)]
    assert [sizes.test(x) for x in range(1, 3001)] == meets
    assert described(sizes.text(), 3000) in (None, meets)


@settings(max_examples=100, deadline=None)
@given(inner=st.tuples(st.integers(1, 4), st.integers(-20, 20), st.integers(1, 8)), outer=st.integers(1, 6),
       extra=st.integers(0, 2), sign=st.sampled_from([1, -1]), level=st.integers(-30, 30),
       relation=st.sampled_from([">=", ">", "<=", "<", "=="]))
def test_the_sizes_at_a_level_of_a_monotone_size(inner, outer, extra, sign, level, relation):
    """level_sets(g, H, ⋈)(k): the H where g ⋈ k, g = ±(⌊c·⌊(H + a)/m⌋/n⌋ + e·H) (a condition on
    two sizes asks it at each value of the other's terms), against g at every H up to 600."""
    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import level_sets

    (c, a, m), h = inner, symbol("H")
    g = sign * (sp.floor(c * sp.floor((h + a) / m) / outer) + extra * h)
    sizes = level_sets(g, h, relation_of(relation))(level)
    assert [sizes.test(x) for x in range(1, 601)] == [
        OPERATORS[relation](sign * ((c * ((x + a) // m)) // outer + extra * x), level) for x in range(1, 601)]


@settings(max_examples=150, deadline=None)
@given(coefficients=st.lists(st.integers(-40, 40), min_size=3, max_size=4).filter(lambda c: c[0]),
       relation=st.sampled_from(sorted(OPERATORS)))
def test_polynomial_conditions_are_decided_and_worded(coefficients, relation):
    """A polynomial in one size ⋈ 0 (a batch norm without running statistics on an S×S map needs
    (S − 2)² ≥ 2 after a 3×3 conv): the sizes against the polynomial at every S up to 600 (past
    Cauchy's bound on the roots, 41 here, the sign is the leading coefficient's), and the words."""
    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import size_set

    s = symbol("S")
    polynomial = sum(c * s ** k for k, c in enumerate(reversed(coefficients)))
    condition = relation_of(relation)(polynomial, 0)
    if condition in (sp.true, sp.false):
        return
    sizes = size_set(condition)
    meets = [OPERATORS[relation](sum(c * x ** k for k, c in enumerate(reversed(coefficients))), 0)
             for x in range(1, 601)]
    assert [sizes.test(x) for x in range(1, 601)] == meets
    assert described(sizes.text().replace("S", "H") if sizes.text() else None, 600) in (None, meets)


def test_a_square_inputs_batch_norm_needs_no_line_of_its_own(write_spec):
    """With --input 3xSxS a batch norm without running statistics after a 3×3 conv needs
    S² − 4·S + 4 ≥ 2, which 'valid for' printed as that formula beside S ≥ 10 for an 8×8 pool,
    which implies it. Now S ≥ 10 alone; without the pool, S ≥ 4: where the numbers accept S."""
    layers = "  - c: {kind: conv2d, out: 4, kernel: 3}\n  - bn: {kind: batchnorm2d, track_running_stats: false}\n"
    pooled = load_graph(write_spec("name: bn\ninput: [3, 32, 32]\nlayers:\n" + layers
                                   + "  - p: {kind: maxpool2d, kernel: 8}\n"))
    alone = load_graph(write_spec("name: bn\ninput: [3, 32, 32]\nlayers:\n" + layers, "alone.yaml"))
    for graph, line, least in ((pooled, "S ≥ 10 (layer 'p')", 10), (alone, "S ≥ 4 (layer 'bn')", 4)):
        assert analyze_graph(graph, (3, "S", "S")).formulas.constraint_lines() == [line]
        for size in range(1, 16):
            try:
                analyze_graph(graph, (3, size, size))
                accepted = True
            except SpecError:
                accepted = False
            assert accepted == (size >= least), size


def test_a_residue_of_a_floor_is_decided_by_arithmetic():
    """A pixel shuffle by 16 after a split into 15 needs ⌊C/15⌋ mod 256 = 0: the floor inside the
    residue merges (⌊⌊C/15⌋/256⌋ = ⌊C/3840⌋), so the periodic rule decides it at once; scanned as a
    floor within a floor, a model of three such layers took half a second more. C mod 3,840
    (15·256) below 15, checked at every C up to twice that."""
    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import SizeSet, size_set

    c = symbol("C")
    sizes = size_set(sp.Eq(sp.Mod(sp.floor(c / 15), 256), 0))
    assert isinstance(sizes, SizeSet) and sizes.text() == f"C mod 3,840 ∈ {{{', '.join(map(str, range(15)))}}}"
    assert [sizes.test(x) for x in range(1, 7681)] == [(x // 15) % 256 == 0 for x in range(1, 7681)]


def test_a_nested_floor_that_always_holds_is_no_constraint(write_spec):
    """After a stride of 2, a ceil-mode pool and an upsampling by 3, a 3×3 conv of stride 5 and
    padding 1 has ⌊(3·⌊(H + 5)/4⌋ + 4)/5⌋ rows: at least 1 at every H ≥ 1, yet 'valid for' listed
    it and the next layer's like it (noise: no size fails them). A 9×9 window of stride 5 there
    needs 3·⌊(H + 5)/4⌋ ≥ 9: ⌊(H + 5)/4⌋ ≥ 3, H ≥ 7, said so, where it said the floors."""
    layers = ("  - a: {kind: conv2d, out: 4, kernel: 3, stride: 2, padding: 1}\n"
              "  - p: {kind: maxpool2d, kernel: 3, stride: 2, ceil_mode: true, padding: 1}\n"
              "  - u: {kind: upsample2d, scale: 3}\n")
    padded = load_graph(write_spec("name: nested\ninput: [3, 64, 64]\nlayers:\n" + layers
                                   + "  - c: {kind: conv2d, out: 4, kernel: 3, stride: 5, padding: 1}\n"
                                     "  - d: {kind: conv2d, out: 4, kernel: 3, stride: 2, padding: 1}\n"))
    assert analyze_graph(padded, (3, "H", "W")).formulas.constraint_lines() == []
    for size in range(1, 40):
        analyze_graph(padded, (3, size, size))  # the numbers take every size
    unpadded = load_graph(write_spec("name: nested\ninput: [3, 64, 64]\nlayers:\n" + layers
                                     + "  - c: {kind: conv2d, out: 4, kernel: 9, stride: 5}\n", "unpadded.yaml"))
    assert analyze_graph(unpadded, (3, "H", "W")).formulas.constraint_lines() == [
        "H ≥ 7 (layer 'c')", "W ≥ 7 (layer 'c')"]
    with pytest.raises(SpecError):
        analyze_graph(unpadded, (3, 6, 64))
    analyze_graph(unpadded, (3, 7, 7))
    pytest.importorskip("torch")
    from archcalc.torchmodel import build_graph

    for graph, sizes in ((padded, range(1, 13)), (unpadded, (7, 8))):  # torch takes them: meta tensors' shapes
        for size in sizes:
            torch_shapes(build_graph(graph, (3, size, size), device="meta").eval(), graph, size, size)
    with pytest.raises(RuntimeError):
        torch_shapes(build_graph(unpadded, (3, 7, 7), device="meta").eval(), unpadded, 6, 6)


@pytest.mark.slow
def test_a_symbols_size_in_thousands_of_constraints_is_worded_without_recursing():
    """Each set met wrapped the tests before it in one more function: a symbol in over a thousand
    constraints that size sets could only scan (a fuzzer's concatenations of strided paths gave
    729) recursed past Python's limit of 1,000 frames, a traceback where a line of words belongs
    (6 December). 1,100 conditions ⌊(H + k)/3⌋ ≠ ⌊(H + k)/2⌋ − c, met one after another: the sizes
    they leave, against the conditions tested one by one at every H up to the scan's end."""
    from functools import reduce
    from operator import and_

    import sympy as sp

    from archcalc.symbolic.model import symbol
    from archcalc.symbolic.sizes import ScannedSet, size_set

    h = symbol("H")
    pairs = [(k % 50, 40 + k // 50) for k in range(1100)]
    # unevaluated, as the layer rules' conditions reach size_set (context._verdict): sympy's own
    # attempt to decide each ≠ took three quarters of this test, and leaves each as it is
    conditions = [sp.Ne(sp.floor((h + k) / 3), sp.floor((h + k) / 2) - c, evaluate=False) for k, c in pairs]
    assert conditions[:3] == [sp.Ne(c.lhs, c.rhs) for c in conditions[:3]]
    sets = [size_set(condition) for condition in conditions]
    joined = reduce(and_, [each if isinstance(each, ScannedSet) else each.scanned() for each in sets])
    upto = joined.start + joined.period
    meets = [all((x + k) // 3 != (x + k) // 2 - c for k, c in pairs) for x in range(1, upto)]
    assert joined.scanned == [x for x, met in zip(range(1, upto), meets) if met]
    assert joined.text() is None or described(joined.text(), upto - 1) == meets  # None: not in few words


def test_a_sparse_set_of_a_long_period_is_worded_at_once(write_spec):
    """Sums of maps pooled and upsampled by 16, 9, 5, 7 and 11 meet where H mod p is the same for
    every p: H mod 55,440 ∈ {0, …, 4}. Finding the least period tested y and y + d afresh for each
    of its 120 divisors d, most of a period each (9 s here; 20 s at 65,520 on both axes); the
    words, against the size rule (the five pools each need H ≥ p too) at every H up to 2 periods."""
    from itertools import pairwise

    periods = [16, 9, 5, 7, 11]
    layers = [item for p in periods for item in (
        f"  - p{p}: {{kind: maxpool2d, kernel: [{p}, 1], from: input}}", f"  - u{p}: {{kind: upsample2d, scale: [{p}, 1]}}")]
    layers += [f"  - add{a}_{b}: {{kind: add, from: [u{a}, u{b}]}}" for a, b in pairwise(periods)]
    layers.append("  - out: {kind: concat, from: [" + ", ".join(f"add{a}_{b}" for a, b in pairwise(periods)) + "]}")
    path = write_spec("name: periods\ninput: [1, 8, 8]\nlayers:\n" + "\n".join(layers) + "\n")
    lines = analyze_graph(load_graph(path), (1, "H", "W")).formulas.constraint_lines()
    text = lines[0].split(" (")[0]
    assert text == "H ≥ 55,440 and H mod 55,440 ∈ {0, 1, 2, 3, 4}"
    upto = 2 * 55440 + 10
    assert described(text, upto) == [x >= 16 and len({x % p for p in periods}) == 1 for x in range(1, upto + 1)]


def test_a_scanned_set_of_a_few_sizes_is_worded_by_its_members():
    """A scanned set with no member from its start on is finite: a run of sizes is its ends, any
    other few sizes are listed, and many scattered ones have no words."""
    from archcalc.symbolic.sizes import ScannedSet

    assert ScannedSet("H", lambda y: y in (3, 7), 10, 4).text() == "H ∈ {3, 7}"
    assert ScannedSet("H", lambda y: 4 <= y <= 6, 10, 4).text() == "4 ≤ H ≤ 6"
    assert ScannedSet("H", lambda y: y == 5, 10, 4).text() == "H = 5"
    assert ScannedSet("H", lambda y: y in (1, 3, 5, 7, 9, 11, 13), 20, 4).text() is None


def test_the_least_period_of_a_scanned_set_tests_one_period_once():
    """Its least period was found by testing y and y + d afresh over a period for each divisor d:
    where the members are sparse no d fails early (6.5 million tests, 20 s, for a spec of 26
    layers). Members at H mod 5,040 ∈ {0, …, 4} from 1 on: the least period 5,040, from 5,040 tests."""
    from archcalc.symbolic.sizes import ScannedSet

    tested = []

    def test(y: int) -> bool:
        tested.append(y)
        return y % 5040 < 5

    assert ScannedSet("H", test, 1, 5040 * 4)._least_period() == 5040
    assert len(tested) == 5040 * 4  # one period, once


# --- audio: one axis divided by thousands ----------------------------------------------------

@pytest.mark.parametrize("variant", ["m5", "m5_paper"])
def test_m5_formulas_at_any_length_equal_the_numeric_analysis(variant):
    """M5 divides the length by 16·4·4·4·4 = 4,096 (the paper's by 4·4⁴ = 1,024): its formulas
    at 1 s and 2 s of 8 kHz audio, its own input and lengths off the multiples are the numbers."""
    from archcalc import analyze
    from archcalc.symbolic.model import evaluate

    formulas = analyze("m5", input="1xL", variant=variant)
    for length in (8000, 16000, 32000, 12345, 65537):
        numeric = analyze("m5", input=f"1x{length}", variant=variant)
        assert formulas.formulas.unmet({"L": length}) is None
        assert_same_analysis(evaluate(formulas, {"L": length}), numeric)


@pytest.mark.parametrize("variant", ["m5", "m5_paper"])
def test_m5_is_valid_from_the_least_length_the_numbers_accept(variant):
    """The one constraint is L ≥ the least length the numeric analysis accepts, found here by
    bisection over the numbers (a longer input never makes a window stop fitting)."""
    import re

    from archcalc import analyze

    def accepted(length: int) -> bool:
        try:
            analyze("m5", input=f"1x{length}", variant=variant)
        except SpecError:
            return False
        return True

    low, high = 1, 8000  # not accepted (the first window spans 80), accepted
    assert not accepted(low) and accepted(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if accepted(middle) else (middle, high)
    assert all(accepted(length) for length in range(high, high + 50))
    assert not any(accepted(length) for length in range(high - 50, high))
    formulas = analyze("m5", input="1xL", variant=variant).formulas
    (line,) = formulas.constraint_lines()
    assert re.fullmatch(rf"L ≥ {high:,} \(layer 'stage4\.pool'\)", line), line
    assert formulas.unmet({"L": high}) is None and formulas.unmet({"L": high - 1}) is not None
    # an 80-sample window moved by 16 gives ⌊(L − 80)/16⌋ + 1 ≤ L/16 − 4 outputs, never L/16
    assert formulas.exact_lines() == ["no L"]


def test_a_chain_dividing_by_65536_agrees_with_the_numbers(write_spec):
    """Eight windows of 4 moved by 4 (convolutions and pools): valid from 4⁸ = 65,536 on, exact at
    its multiples, and the formulas are the numbers at lengths on and off them."""
    from archcalc import analyze
    from archcalc.symbolic.model import evaluate

    chain = write_spec("""
        name: chain
        input: [1, 100000]
        layers:
          - a: {kind: conv1d, out: 2, kernel: 4, stride: 4}
          - b: {kind: maxpool1d, kernel: 4}
          - c: {kind: conv1d, out: 2, kernel: 4, stride: 4}
          - d: {kind: avgpool1d, kernel: 4}
          - e: {kind: conv1d, out: 2, kernel: 4, stride: 4}
          - f: {kind: maxpool1d, kernel: 4}
          - g: {kind: conv1d, out: 2, kernel: 4, stride: 4}
          - h: {kind: avgpool1d, kernel: 4}
    """)
    formulas = analyze(chain, input="1xL").formulas
    assert formulas.constraint_lines() == ["L ≥ 65,536 (layer 'h')"]
    assert formulas.exact_lines() == ["L a multiple of 65,536"]
    for length in (65536, 65537, 3 * 65536 - 1, 10**6):
        assert_same_analysis(evaluate(analyze(chain, input="1xL"), {"L": length}),
                             analyze(chain, input=f"1x{length}"))
    with pytest.raises(SpecError):
        analyze(chain, input="1x65535")


# --- sweep ------------------------------------------------------------------------------------

def test_sweep_equals_the_numeric_analysis_at_every_size(cli):
    result = cli("sweep", "vgg16", "--size", "16:128:16,224x320", "--batch", "1,4", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["schema"] == "archcalc.sweep/1"
    graph = load_graph("vgg16")
    assert len(document["points"]) == 2 * 9
    for point in document["points"]:
        try:
            numeric = analyze_graph(graph, (3, point["height"], point["width"]), point["batch"])
        except SpecError:
            assert not point["valid"] and point["unmet"] == {"needs": "H ≥ 32", "layer": "stage5.pool"}
            continue
        assert point["valid"]
        assert [point[f] for f in ("params", "macs", "flops", "activations", "activation_bytes")] == [
            numeric.totals.params, numeric.totals.macs, numeric.totals.flops, numeric.totals.activations,
            numeric.totals.activation_bytes]


BROADCASTS = {
    "never": """
        name: never
        input: [2, 8, 12]
        params: {pad: 1}
        layers:
          - wide: {kind: pad2d, padding: [0, pad]}
          - scaled: {kind: multiply, from: [input, wide]}       # W against W + 2·pad: W = 1 broadcasts
    """,
    "assumed": """
        name: assumed
        input: [2, 8, 12]
        params: {pad: 2}
        layers:
          - row: {kind: adaptive_avgpool2d, output_size: [1, 3]}
          - quarter: {kind: maxpool2d, kernel: [1, 4], padding: [0, pad], from: input}
          - scaled: {kind: multiply, from: [quarter, row]}      # ⌊W/4⌋ + 1 against 3: assumed equal; 1 broadcasts
    """,
}


@pytest.mark.parametrize("settings", [(), ("pad=1,2",)], ids=["sizes", "settings"])
@pytest.mark.parametrize("sizes", [[(8, 1), (8, 2), (8, 9)], [(8, 1), (8, 2), (8, 9), *range(1, 400)]],
                         ids=["few", "many"])
@pytest.mark.parametrize("spec", list(BROADCASTS))
def test_a_sweep_answers_the_sizes_a_multiply_broadcasts(write_spec, spec, settings, sizes):
    """Where a multiply's formulas leave out a size of 1 that broadcasts (two sizes refused as
    never equal, or assumed equal), the sweep's point is the numeric analysis there, as `table`
    gives it: the formulas refused the whole sweep (one error), or said 'needs ⌊W/4⌋ + 1 = 3' at
    W = 1 to 3; over parameters the answer at a size depended on how many other sizes were swept."""
    import re

    from archcalc.settings import parse_setting
    from archcalc.sweep import sweep

    text = BROADCASTS[spec]
    result = sweep(write_spec(text), sizes, [1], settings=[parse_setting(each) for each in settings])
    assert {p.setting for p in result.points if p.totals} == {p.setting for p in result.points}  # W = 1 or 2
    for point in result.points:
        own = text if not point.setting else re.sub(r"\{pad: \d+\}", f"{{pad: {point.setting[0]}}}", text)
        try:
            numeric = analyze_graph(load_graph(write_spec(own, "set.yaml")), point.input)
        except SpecError:
            assert point.totals is None, point
            continue
        assert point.totals == numeric.totals, point


def test_sweep_table_and_csv(cli):
    table = cli("sweep", "resnet50", "--size", "224,225")
    assert table.exit_code == 0
    numeric = analyze_graph(load_graph("resnet50"), (3, 225, 225))
    assert any(line.startswith("3×225×225") and f"{numeric.totals.macs:,}" in line for line in table.stdout.splitlines())
    csv_text = cli("sweep", "lenet5", "--size", "8,32", "--format", "csv").stdout.splitlines()
    assert csv_text[0].startswith("batch,height,width,valid,params")
    # the first layer that does not fit: conv2's 5×5 window on ⌊8/2⌋ − 2 = 2 (it needs ⌊H/2⌋ − 6 ≥ 1)
    assert csv_text[1].startswith("1,8,8,False,") and csv_text[1].endswith("H ≥ 14 (layer 'conv2'),")
    assert csv_text[2].startswith(f"1,32,32,True,{analyze_graph(load_graph('lenet5')).totals.params},")


@pytest.mark.parametrize("args", [
    ["sweep", "resnet50", "--size", "0:10"], ["sweep", "resnet50", "--size", "64:32"],
    ["sweep", "resnet50", "--size", "a"], ["sweep", "resnet50", "--size", "1:2:0"],
    ["sweep", "resnet50", "--size", "64", "--batch", "0"], ["sweep", "resnet50", "--size", "64", "--batch", "2x2"],
    ["sweep", "resnet50"], ["table", "resnet50", "--input", "3xhxW"], ["table", "resnet50", "--batch", "n"],
    ["validate", "resnet50", "--input", "3xHxW"], ["report", "resnet50", "--input", "3xHxW"],
    ["report", "resnet50", "--sweep", "32:"],
])
def test_malformed_symbolic_options_are_usage_errors(cli, args):
    result = cli(*args)
    assert result.exit_code == 2
    assert f"  usage: archcalc {args[0]}" in result.stderr


def test_too_many_sweep_points_are_refused(cli):
    result = cli("sweep", "lenet5", "--size", "1:20000")
    assert result.exit_code == 2
    assert "at most 10,000" in result.stderr


# --- the engine is imported only when a symbol is used ---------------------------------------

@pytest.mark.parametrize("args, imported", [(["table", "resnet50"], False),
                                            (["table", "resnet50", "--format", "json"], False),
                                            (["table", "resnet50", "--input", "3xHxW"], True)])
def test_sympy_is_imported_only_for_symbols(args, imported):
    code = ("import sys\nfrom archcalc.cli import main\n"
            f"sys.argv = ['archcalc', *{args!r}]\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "sys.stderr.write('SYMPY=' + str('sympy' in sys.modules))\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.stderr.endswith(f"SYMPY={imported}"), run.stderr


def test_report_charts_cost_against_resolution(cli):
    """The chart's points and the table's cells are the numeric analysis at each size."""
    import re

    result = cli("report", "resnet18", "vgg11", "--sweep", "16:256:48,225")
    assert result.exit_code == 0, result.output
    section = result.stdout.split("## Cost against resolution", 1)[1].split("\n## ", 1)[0]
    init, *chart = section.split("```mermaid\n", 1)[1].split("```", 1)[0].splitlines()
    assert init.startswith("%%{init: ") and chart[0] == "xychart-beta"
    labels = re.findall(r'"(\d+)"', chart[2].split("[", 1)[1])
    lines = [[float(v) for v in line.split("[", 1)[1].rstrip("]").split(", ")] for line in chart if "line [" in line]
    assert labels == ["64", "112", "160", "208", "256", "225"]  # 16 is too small for VGG's five pools
    table = [line.split(" | ") for line in section.splitlines() if re.match(r"\| \d+×\d+ \|", line)]
    assert len(table) == 7
    for column, model in enumerate(["resnet18", "vgg11"]):
        graph = load_graph(model)
        for size, value in zip(labels, lines[column]):
            assert value == float(f"{analyze_graph(graph, (3, int(size), int(size))).totals.macs / 1e9:.4g}")
        for row in table:
            size = int(row[0].strip("| ").split("×")[0])
            cell = row[1 + column].strip(" |")
            try:
                expected = f"{analyze_graph(graph, (3, size, size)).totals.macs:,}"
            except SpecError:
                expected = "not valid"
            assert cell == expected


def test_merges_become_constraints(write_spec, cli):
    """A residual add of a 3×3 stride-2 conv with padding 1 (⌊(H + 1)/2⌋ by the seeds' rule) and
    a 2×2 max pool (⌊H/2⌋) needs the two equal: H even. A concat of a 3×3 and a 1×1 conv without
    padding (H − 2 and H) can never be valid, and says so as the numbers do."""
    from archcalc.symbolic.model import evaluate

    spec = write_spec("""
        name: merges
        input: [8, 32, 32]
        layers:
          - a: {kind: conv2d, out: 8, kernel: 3, stride: 2, padding: 1}
          - b: {kind: maxpool2d, kernel: 2, from: input}
          - sum: {kind: add, from: [a, b]}
          - bn: {kind: batchnorm2d, track_running_stats: false}
    """)
    graph = load_graph(spec)
    formulas = analyze_graph(graph, (8, "H", "W"), "N")
    assert formulas.formulas.constraint_lines() == [
        "H even (layer 'sum')", "W even (layer 'sum')", "N·⌊(H + 1)/2⌋·⌊(W + 1)/2⌋ ≥ 2 (layer 'bn')"]
    for n, h, w in [(1, 2, 2), (1, 3, 4), (2, 2, 2), (1, 31, 32), (3, 64, 40), (1, 1, 1)]:
        values = {"N": n, "H": h, "W": w}
        try:
            numeric = analyze_graph(graph, (8, h, w), n)
        except SpecError:
            assert formulas.formulas.unmet(values) is not None
            continue
        assert_same_analysis(evaluate(formulas, values), numeric)

    never = write_spec("""
        name: never
        input: [8, 32, 32]
        layers:
          - c3: {kind: conv2d, out: 4, kernel: 3}
          - c1: {kind: conv2d, out: 4, kernel: 1, from: input}
          - cat: {kind: concat, from: [c3, c1]}
    """, name="never.yaml")
    result = cli("table", never, "--input", "8xHxW")
    assert result.exit_code == 2
    assert "concat with mismatched spatial sizes: 1×4×(H - 2)×(W - 2) and 1×4×H×W" in result.stderr


@pytest.mark.parametrize("spec", ["convnext_block", "fused_mbconv"])
def test_the_convnext_and_efficientnet_kinds_on_symbolic_sizes(spec):
    """Layer norms, permute, linear on a channels-last map, layer scale and stochastic depth with
    `--input 3xHxW`: the formulas at twenty sizes, under every convention, equal the numeric analysis."""
    from pathlib import Path

    from archcalc.symbolic.model import evaluate

    path = Path(__file__).parent / "specs" / f"{spec}.yaml"
    graph, formulas = symbolic(path, None)
    for convention in ("paper", "fvcore", "torch"):
        under = formulas.under(convention)
        for sizes in [graph.input_shape[1:], *other_sizes(graph)]:
            values = dict(zip(symbols_of(graph), sizes))
            try:
                numeric = analyze_graph(graph, (graph.input_shape[0], *sizes), convention=convention)
            except SpecError:
                assert under.formulas.unmet(values) is not None, sizes
                continue
            assert under.formulas.unmet(values) is None, sizes
            assert_same_analysis(evaluate(under, values), numeric)


@pytest.mark.parametrize("layers, shape, sizes", [
    ("  - c: {kind: conv2d, out: 1, kernel: 3, repeat: 29}\n", [1, 100, 100], [60, 61, 62]),
    ("  - c: {kind: conv1d, out: 1, kernel: 1, stride: 2, repeat: 17}\n", [1, 262144], [200000, 262144]),
    ("  - c: {kind: conv2d, out: 2, kernel: 3}\n  - r: {kind: relu, repeat: 4000}\n", [1, 8, 8], [8, 9]),
], ids=["more than 56 formulas", "a divisor past 65,536", "more than 4,000 layers"])
def test_a_sweep_past_a_bound_of_the_formulas_analyses_each_size_as_a_number(layers, shape, sizes, write_spec, cli):
    """sweep refused these (an attacking review), though table answers each size, and the refusal's
    hint said to use sweep: each point is now table's figures at that size."""
    path = write_spec(f"name: past\ninput: {shape}\nlayers:\n{layers}")
    result = cli("sweep", path, "--size", ",".join(map(str, sizes)), "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert "formulas" not in document
    for point, size in zip(document["points"], sizes):
        at = "x".join(map(str, [shape[0], *([size] * (len(shape) - 1))]))
        totals = json.loads(cli("table", path, "--input", at, "--format", "json").stdout)["totals"]
        assert {key: point[key] for key in ("params", "macs", "activation_bytes")} == \
            {key: totals[key] for key in ("params", "macs", "activation_bytes")}


def test_a_report_or_a_sweep_over_parameters_past_a_bound_answers_each_size(write_spec, cli):
    """The review of the sweep above: `report --sweep` then crashed (AttributeError on the formulas
    the fallback has not), and a sweep over parameters large enough to go symbolic marked every point
    not valid with the bound's error."""
    import csv
    import io

    path = write_spec("name: past\nparams: {w: 1}\ninput: [1, 100, 100]\nlayers:\n"
                      "  - c: {kind: conv2d, out: w, kernel: 3, repeat: 29}\n")
    for form in ("markdown", "html"):
        report = cli("report", path, "--sweep", "60,61,62", "--format", form)
        assert report.exit_code == 0 and "each size analysed as a number" in report.stdout, report.output
    assert "| 60×60 | 307,980 |" in cli("report", path, "--sweep", "60,61,62").stdout
    rows = list(csv.DictReader(io.StringIO(cli("sweep", path, "--set", "w=1,2", "--size", "60:460:1", "--format",
                                               "csv").stdout)))
    assert len(rows) == 2 * 401 and all(row["valid"] == "True" for row in rows)  # 60 to 460, both in
    assert rows[0]["macs"] == "307980"
    deep = write_spec("name: deep\nparams: {w: 1}\ninput: [1, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: w, kernel: 3}\n"
                      "  - r: {kind: relu, repeat: 4000}\n", "deep.yaml")  # past the bound on layers, 4,000
    rows = list(csv.DictReader(io.StringIO(cli("sweep", deep, "--set", "w=1,2", "--size", "8:408:1", "--format",
                                               "csv").stdout)))
    assert len(rows) == 2 * 401 and all(row["valid"] == "True" for row in rows)


def test_a_layer_that_needs_a_size_twice_is_named_once():
    """S3D's avgpool (a 2×7×7 window after a stride of 8 in D) needs D + 3 ≥ 16 to be no larger
    than its input and ⌊(D − 5)/8⌋ ≥ 1 to fit: both are D ≥ 13, and 'valid for' named it twice."""
    _, formulas = symbolic("s3d", None)
    line = formulas.formulas.constraint_lines()[0]
    assert line.startswith("D ≥ 13 (layers ")
    names = line.partition(" (layers ")[2].rstrip(")").split(", ")
    assert len(names) == len(set(names)) and "'avgpool'" in names, line


def test_one_condition_met_on_two_axes_is_said_once(write_spec, cli):
    """A permute that swaps H and W added to its input: the add meets W = H on one axis and H = W
    on the other, and "valid for" said both (found by an attacking review). Said once; it holds
    where torch adds the two, at H = W only."""
    path = write_spec("""
        name: perm
        input: [2, 8, 8]
        layers:
          - p: {kind: permute, dims: [0, 1, 3, 2]}
          - s: {kind: add, from: [input, p]}
    """)
    formulas = analyze_graph(load_graph(path), (2, "H", "W")).formulas
    assert len(formulas.conditions) == 1 and len(formulas.constraint_lines()) == 1
    torch = pytest.importorskip("torch")
    for height, width in ((4, 4), (4, 5)):
        x = torch.zeros(1, 2, height, width)
        adds = height == width
        try:
            x + x.permute(0, 1, 3, 2)
        except RuntimeError:
            assert not adds
        else:
            assert adds
        assert (formulas.unmet({"H": height, "W": width}) is None) == adds


ONE_SIZE = ("  - small: {kind: adaptive_avgpool2d, output_size: 20}\n"
            "  - big: {kind: conv2d, out: 3, kernel: 41, from: input}\n"
            "  - padded: {kind: pad2d, from: [input, small]}\noutputs: [big, padded]\n")
TWO_SIZES_MADE_EQUAL = ("  - wide: {kind: adaptive_avgpool2d, output_size: [20, 1000]}\n"
                        "  - big: {kind: crop2d, size: [1, 41], from: input}\n"
                        "  - padded: {kind: pad2d, from: [input, wide]}\n"
                        "  - turned: {kind: permute, dims: [0, 1, 3, 2], from: input}\n"
                        "  - sum: {kind: add, from: [input, turned]}\noutputs: [big, padded, sum]\n")


@pytest.mark.parametrize("layers, message", [
    (ONE_SIZE, "layer 'padded': needs H ≤ 20, but layer 'big' needs H ≥ 41: no input size meets both"),
    (TWO_SIZES_MADE_EQUAL, ("layer 'padded': needs H ≤ 20, but layer 'big' needs W ≥ 41 and layer 'sum' needs "
                            "W = H: no input size meets them all"))], ids=["on one size", "on two sizes made equal"])
def test_constraints_that_no_size_meets_together_are_one_error(write_spec, cli, layers, message):
    """Padding the input to a 20×20 (or 20×1000) map needs H ≤ 20, and a 41-wide window (or crop) needs
    H ≥ 41 (W ≥ 41, with W = H for the add of the input and its transpose): each alone is possible,
    together no size meets them. The table printed the formulas and exit 0 (found by a review); the
    numbers refuse every size, so the table and the sweep refuse the model, naming the layers."""
    path = write_spec("name: nowhere\ninput: [3, 64, 64]\nlayers:\n" + layers)
    graph = load_graph(path)
    for height in range(1, 80):  # the numbers: refused at every size, square or not
        for width in (height, 1, 20, 41, 64):
            with pytest.raises(SpecError):
                analyze_graph(graph, (3, height, width))
    for args in (("table", path, "--input", "3xHxW"), ("sweep", path, "--size", "16:64:8")):
        result = cli(*args)
        assert result.exit_code == 2 and message in result.stderr, result.output
        assert "Traceback" not in result.output


MAPS = {"input": None,
        "pool4": "{kind: maxpool2d, kernel: 4, stride: 4, from: input}",
        "pool2": "{kind: maxpool2d, kernel: 2, stride: 2, from: input}",
        "padded": "{kind: conv2d, out: 3, kernel: 1, padding: 1, from: input}",
        "tall": "{kind: conv2d, out: 3, kernel: 1, padding: [1, 0], from: input}",
        "up": "{kind: upsample2d, scale: 2, from: input}"}
"""Maps of a 3×H×W input, each of its own size: the input itself, ⌊H/4⌋×⌊W/4⌋, ⌊H/2⌋×⌊W/2⌋,
(H + 2)×(W + 2), (H + 2)×W and 2·H×2·W."""


@pytest.mark.parametrize("first, second", list(product(MAPS, MAPS)))
def test_an_add_of_two_maps_one_turned_is_refused_where_it_is_valid_at_no_size(write_spec, cli, first, second):
    """The add of one map and another transposed needs two equalities between H and W: the input
    and its ⌊H/4⌋×⌊W/4⌋ pooling turned needs H = ⌊W/4⌋ and W = ⌊H/4⌋, met at H = W = 0 alone; a
    padded (H + 2)×(W + 2) map and the input turned needs H + 2 = W and W + 2 = H, met nowhere.
    The table printed their formulas and exit 0 (found by a review), and still did for floors of
    each size on both sides (⌊H/4⌋ = ⌊W/2⌋ beside ⌊W/4⌋ = ⌊H/2⌋). The numbers, at every size from
    1 to 40 each way, say whether some size is valid: the table prints the formulas where one is,
    and refuses the spec as one error (exit 2) where none is."""
    layers = [f"  - {name}: {MAPS[name]}\n" for name in dict.fromkeys((first, second)) if MAPS[name]]
    turned = f"  - turned: {{kind: permute, dims: [0, 1, 3, 2], from: {second}}}\n"
    path = write_spec("name: turned\ninput: [3, 8, 8]\nlayers:\n" + "".join(layers) + turned +
                      f"  - sum: {{kind: add, from: [{first}, turned]}}\noutputs: [sum]\n")
    graph = load_graph(path)
    valid = _valid_sizes(graph, 40)
    result = cli("table", path, "--input", "3xHxW")
    assert "Traceback" not in result.output
    if valid:
        assert result.exit_code == 0, (valid[:3], result.output)
    else:
        assert result.exit_code == 2 and "so the network is valid at none" in result.stderr, result.output


def test_a_layer_whose_own_constraints_meet_nowhere_is_named_once(write_spec, cli):
    """A map padded by 1 added to the input turned needs H + 2 = W and W + 2 = H at one layer, the
    add, met by no size (their sum says 4 = 0). The error said "layer 'sum': needs H = W + 2, but
    layer 'sum' needs W = H + 2": the layer named twice, as if another one; now once, with both."""
    path = write_spec("""
        name: padded_sum
        input: [3, 8, 8]
        outputs: [sum]
        layers:
          - padded: {kind: conv2d, out: 3, kernel: 1, padding: 1}
          - turned: {kind: permute, dims: [0, 1, 3, 2], from: input}
          - sum: {kind: add, from: [padded, turned]}
    """)
    result = cli("table", path, "--input", "3xHxW")
    assert result.exit_code == 2, result.output
    assert ("layer 'sum': needs H = W + 2 and W = H + 2, which no input size meets together, so the network is "
            "valid at none") in result.stderr
    assert result.stderr.count("'sum'") == 1
    graph = load_graph(path)
    assert not _valid_sizes(graph, 11)  # the numbers analyse it at no size


def _valid_sizes(graph, upto: int, axes: int = 2) -> list[tuple[int, ...]]:
    """The sizes, from 1 to `upto` along each of `axes`, at which the numbers analyse `graph` (of 3
    channels): the oracle the symbolic conditions are held to."""
    valid = []
    for sizes in product(range(1, upto + 1), repeat=axes):
        try:
            analyze_graph(graph, (3, *sizes))
            valid.append(sizes)
        except SpecError:
            pass
    return valid


BRANCH_STEPS = [{"kind": "maxpool2d", "kernel": 2, "stride": 2}, {"kind": "maxpool2d", "kernel": 3, "stride": 3},
                {"kind": "maxpool2d", "kernel": 4, "stride": 4},
                {"kind": "maxpool2d", "kernel": 3, "stride": 2, "padding": 1},
                {"kind": "conv2d", "out": 3, "kernel": 1, "padding": 2},
                {"kind": "conv2d", "out": 3, "kernel": 1, "padding": [1, 3]},
                {"kind": "conv2d", "out": 3, "kernel": 1, "padding": [2, 0]},
                {"kind": "upsample2d", "scale": 2}, {"kind": "conv2d", "out": 3, "kernel": 3}]
"""Layers that give a map of a size of their own: floors of H/2, H/3 and H/4 (and (H + 1)/2), H
padded, 2·H and H − 2."""


def branched_sum(seed: int) -> dict:
    """A spec adding a chain of one or two `BRANCH_STEPS` of the input to another chain turned."""
    rng = random.Random(seed)
    layers, ends = [], []
    for branch in "ab":
        source = "input"
        for step in range(rng.randint(1, 2)):
            layers.append({f"{branch}{step}": {**rng.choice(BRANCH_STEPS), "from": source}})
            source = f"{branch}{step}"
        ends.append(source)
    layers += [{"turned": {"kind": "permute", "dims": [0, 1, 3, 2], "from": ends[1]}},
               {"sum": {"kind": "add", "from": [ends[0], "turned"]}}]
    return {"name": "branched", "input": [3, 8, 8], "layers": layers, "outputs": ["sum"]}


@pytest.mark.parametrize("seeds", [pytest.param(range(20), id="20"),
                                   pytest.param(range(20, 180), id="160 more", marks=pytest.mark.slow)])
def test_two_branches_one_turned_are_valid_where_the_numbers_say(tmp_path, seeds):
    """Random chains of pools, paddings and upsamplings added to another turned need two
    equalities with floors of H and of W on both sides (⌊H/4⌋ = ⌊W/2⌋ beside ⌊W/4⌋ = ⌊H/2⌋);
    the table printed their formulas and exit 0 where no size meets them (about 11 in 150, found
    by a review). Brute force, the numbers at every size from 1 to 40 each way: where none is
    valid, the symbolic analysis refuses the spec as valid at no size; where some are, its
    constraints hold exactly at those sizes, and where they are a few, 'valid for' lists them:
    '(H, W) ∈ {(11, 11), (12, 12)}', where it gave the conditions (found by the same review)."""
    for seed in seeds:
        path = tmp_path / f"branched{seed}.yaml"
        path.write_text(yaml_text(branched_sum(seed)))
        graph = load_graph(path)
        valid = set(_valid_sizes(graph, 40))
        try:
            formulas = analyze_graph(graph, (3, "H", "W")).formulas
        except SpecError as error:
            assert not valid and "so the network is valid at none" in error.message, (seed, sorted(valid)[:3])
            continue
        assert valid, (seed, formulas.constraint_lines())
        for height, width in product(range(1, 41), repeat=2):
            assert (formulas.unmet({"H": height, "W": width}) is None) == ((height, width) in valid), seed
        listed = [line for line in formulas.constraint_lines() if line.startswith("(H, W)")]
        if listed:  # a few sizes, each listed: the numbers accept those and no other
            (line,) = listed
            assert {tuple(map(int, pair)) for pair in re.findall(r"\((\d+), (\d+)\)", line)} == valid, (seed, line)


@pytest.mark.parametrize("first, second", [([1, 0, 0], [0, 2, 1]), ([2, 0, 0], [0, 0, 1]),
                                           ([1, 0, 1], [0, 2, 0]), ([0, 1, 0], [1, 0, 0])])
def test_linear_equalities_on_three_sizes_that_no_size_meets_are_one_error(write_spec, cli, first, second):
    """A D×H×W input padded by p and the input turned to H×W×D padded by q, added: D + 2·p₀ = H + 2·q₀,
    H + 2·p₁ = W + 2·q₁ and W + 2·p₂ = D + 2·q₂, each on two sizes and none W = H. Their sum says
    p₀ + p₁ + p₂ = q₀ + q₁ + q₂: where it does not hold, no size meets the three, and the table
    printed them under 'valid for' with exit 0 (found by a review). The numbers, at every size from
    1 to 9 each way, say whether some size is valid (where the sums agree, D = H + 2·(q₀ − p₀) and
    W = H + 2·(p₁ − q₁) is one within that): the table refuses exactly where none is."""
    path = write_spec(f"""
        name: cycle
        input: [3, 8, 8, 8]
        outputs: [sum]
        layers:
          - padded: {{kind: conv3d, out: 3, kernel: 1, padding: {first}, from: input}}
          - turned: {{kind: permute, dims: [0, 1, 3, 4, 2], from: input}}
          - turned_padded: {{kind: conv3d, out: 3, kernel: 1, padding: {second}, from: turned}}
          - sum: {{kind: add, from: [padded, turned_padded]}}
    """)
    graph = load_graph(path)
    valid = _valid_sizes(graph, 9, axes=3)
    assert bool(valid) == (sum(first) == sum(second))  # the hand computation above
    result = cli("table", path, "--input", "3xDxHxW")
    assert "Traceback" not in result.output
    if valid:
        assert result.exit_code == 0, (valid[:3], result.output)
    else:
        assert result.exit_code == 2 and "so the network is valid at none" in result.stderr, result.output


def test_the_few_sizes_that_conditions_on_two_leave_are_listed(write_spec, cli):
    """A map pooled by 2 and padded by 2 added to a 3×3 conv's output turned needs ⌊H/2⌋ + 4 = W − 2
    and ⌊W/2⌋ + 4 = H − 2. By hand: where H ≥ W, H − W = ⌊W/2⌋ − ⌊H/2⌋ ≤ 0, so H = W (and so where
    W ≥ H), and then H = ⌊H/2⌋ + 6, ⌈H/2⌉ = 6: H = W ∈ {11, 12}. 'valid for' gave the two
    conditions as formulas; it lists the two sizes, with the layer whose conditions leave them
    (the pool's and the conv's H ≥ 2 and H ≥ 3 leave no fewer), and the numbers accept those alone."""
    path = write_spec("""
        name: few
        input: [3, 12, 12]
        outputs: [sum]
        layers:
          - a0: {kind: maxpool2d, kernel: 2}
          - a1: {kind: conv2d, out: 3, kernel: 1, padding: 2}
          - b0: {kind: conv2d, out: 3, kernel: 3, from: input}
          - turned: {kind: permute, dims: [0, 1, 3, 2], from: b0}
          - sum: {kind: add, from: [a1, turned]}
    """)
    document = json.loads(cli("table", path, "--input", "3xHxW", "--format", "json").stdout)
    assert document["formulas"]["valid_for"] == ["(H, W) ∈ {(11, 11), (12, 12)} (layer 'sum')"]
    graph = load_graph(path)
    valid = _valid_sizes(graph, 40)
    assert valid == [(11, 11), (12, 12)]


def test_sizes_listed_from_many_conditions_name_the_layers_needed(write_spec):
    """Eight stages of a map pooled by [2, 3] added to one pooled by [3, 2] and turned (padding 1):
    16 conditions on 32 floors, met by the numbers at 1×1 alone. The line listed (1, 1) with every
    layer past 8 conditions ('s0', 's1', 's2' and 5 more); it names those whose conditions leave
    that size alone, a few."""
    stages = []
    for i in range(8):
        source = f"s{i - 1}" if i else "input"
        stages += [f"  - p{i}: {{kind: maxpool2d, kernel: [2, 3], padding: [1, 1], from: {source}}}",
                   f"  - q{i}: {{kind: maxpool2d, kernel: [3, 2], padding: [1, 1], from: {source}}}",
                   f"  - t{i}: {{kind: permute, dims: [0, 1, 3, 2]}}",
                   f"  - s{i}: {{kind: add, from: [p{i}, t{i}]}}"]
    path = write_spec("name: stages\ninput: [3, 8, 8]\nlayers:\n" + "\n".join(stages) + "\n")
    graph = load_graph(path)
    (line,) = analyze_graph(graph, (3, "H", "W")).formulas.constraint_lines()
    assert line.startswith("(H, W) = (1, 1) (layer") and "more" not in line, line
    valid = _valid_sizes(graph, 24)
    assert valid == [(1, 1)]


@pytest.mark.parametrize("first, second", [(2, 4), (4, 2), (2, 2), (1, 2)])
def test_floors_of_three_sizes_in_a_cycle_are_refused_where_no_size_meets_them(write_spec, cli, first, second):
    """A D×H×W input pooled by `first` added to it pooled by `second` and turned to H×W×D needs
    ⌊D/f⌋ = ⌊H/s⌋, ⌊H/f⌋ = ⌊W/s⌋ and ⌊W/f⌋ = ⌊D/s⌋, conditions on three sizes that the table printed
    as they are, exit 0. By hand: with f < s, D ≈ H·f/s ≈ W·(f/s)² ≈ D·(f/s)³, so only sizes near 0
    meet them, where the pools refuse (f > s the other way round); with f = s, D = H = W of a
    multiple of f. The numbers, at every size from 1 to 12 each way, say which: the table refuses
    the spec where none is valid, and answers where some is."""
    path = write_spec(f"""
        name: cycle
        input: [3, 8, 8, 8]
        outputs: [sum]
        layers:
          - a: {{kind: maxpool3d, kernel: {first}}}
          - b: {{kind: maxpool3d, kernel: {second}, from: input}}
          - turned: {{kind: permute, dims: [0, 1, 3, 4, 2], from: b}}
          - sum: {{kind: add, from: [a, turned]}}
    """)
    graph = load_graph(path)
    valid = _valid_sizes(graph, 12, axes=3)
    assert bool(valid) == (first == second)  # the hand computation above
    result = cli("table", path, "--input", "3xDxHxW")
    assert "Traceback" not in result.output
    if valid:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 2 and "so the network is valid at none" in result.stderr, result.output


def test_a_size_put_in_as_a_fraction_of_a_floor_is_decided_without_a_traceback(write_spec, cli):
    """A map padded and pooled by 2 with stride 1 (H + 1, W − 1), upsampled by [3, 2] and turned,
    added to a conv's (H + 2, W + 1) pooled by 4 along H: 2·W − 2 = ⌊H/4⌋ + 1 and 3·H + 3 = W + 1.
    Putting W = (⌊H/4⌋ + 3)/2 from the first into the second left a fraction outside the floors,
    and the table ended in a traceback (ValueError). By hand: W = 3·H + 2 makes the first
    6·H + 1 = ⌊H/4⌋, true at no H ≥ 1, so the spec is one error, as the numbers say."""
    path = write_spec("""
        name: halves
        input: [3, 8, 8]
        outputs: [sum]
        layers:
          - near: {kind: maxpool2d, kernel: 2, stride: 1, padding: [1, 0]}
          - up: {kind: upsample2d, scale: [3, 2]}
          - turned: {kind: permute, dims: [0, 1, 3, 2]}
          - wide: {kind: conv2d, out: 3, kernel: [3, 2], padding: [2, 1], from: input}
          - pooled: {kind: maxpool2d, kernel: [2, 1], stride: [4, 1]}
          - sum: {kind: add, from: [turned, pooled]}
    """)
    result = cli("table", path, "--input", "3xHxW")
    assert "Traceback" not in result.output and not isinstance(result.exception, ValueError), result.output
    assert result.exit_code == 2 and "so the network is valid at none" in result.stderr, result.output
    graph = load_graph(path)
    assert not _valid_sizes(graph, 40)  # the numbers analyse it at no size


def test_floors_met_nowhere_through_sizes_made_one_name_that_equality(write_spec, cli):
    """A D×H×W input pooled by [1, 4, 4] added to it pooled by [2, 1, 2] and turned to H×W×D needs
    D = H, ⌊H/4⌋ = ⌊W/2⌋ and ⌊W/4⌋ = ⌊D/2⌋: with D = H a cycle of floors that no size meets. The
    error named the two floor conditions and the pool's H ≥ 4 alone, which (D, H, W) = (2, 8, 4)
    meets (by hand: ⌊2/2⌋ = 1 = ⌊4/4⌋, ⌊4/2⌋ = 2 = ⌊8/4⌋, 8 ≥ 4); it names D = H too."""
    path = write_spec("""
        name: cycle_through
        input: [3, 8, 8, 8]
        outputs: [sum]
        layers:
          - a: {kind: maxpool3d, kernel: [1, 4, 4]}
          - b: {kind: maxpool3d, kernel: [2, 1, 2], from: input}
          - turned: {kind: permute, dims: [0, 1, 3, 4, 2], from: b}
          - sum: {kind: add, from: [a, turned]}
    """)
    result = cli("table", path, "--input", "3xDxHxW")
    assert result.exit_code == 2 and "so the network is valid at none" in result.stderr, result.output
    assert "H = D" in result.stderr, result.stderr
    graph = load_graph(path)
    assert not _valid_sizes(graph, 12, axes=3)  # the numbers analyse it at no size


def test_equalities_met_nowhere_through_sizes_made_one_name_that_equality(write_spec, cli):
    """A D×H×W input joined along D to itself with D and H swapped (which needs H = D: a
    (D + H)×H×W map) added to the input turned to W×H×D, padded along W and upsampled by 2 along D:
    W + 2 = D + H and W = 2·D. With H = D those say W + 2 = W, met nowhere; the error named the two
    alone, which D = 1, H = 3, W = 2 meets (by hand: 2 + 2 = 1 + 3, 2 = 2·1). It names H = D too."""
    path = write_spec("""
        name: joined_through
        input: [3, 8, 8, 8]
        outputs: [sum]
        layers:
          - swapped: {kind: permute, dims: [0, 1, 3, 2, 4], from: input}
          - joined: {kind: concat, dim: 2, from: [input, swapped]}
          - turned: {kind: permute, dims: [0, 1, 4, 3, 2], from: input}
          - up: {kind: upsample3d, scale: [1, 1, 2]}
          - padded: {kind: conv3d, out: 3, kernel: 1, padding: [1, 0, 0]}
          - sum: {kind: add, from: [joined, padded]}
    """)
    result = cli("table", path, "--input", "3xDxHxW")
    assert result.exit_code == 2 and "so the network is valid at none" in result.stderr, result.output
    assert "layer 'joined' needs H = D" in result.stderr, result.stderr
    graph = load_graph(path)
    assert not _valid_sizes(graph, 12, axes=3)  # the numbers analyse it at no size


def test_the_first_stage_of_many_that_no_size_meets_is_named_in_a_few_tries(write_spec, monkeypatch):
    """Ten stages, each a map pooled by [a, b] joined to one pooled by [b, a], padded and turned: the
    first joins (⌊H/2⌋, ⌊W/3⌋) to (⌊W/2⌋ + 2, ⌊H/3⌋). By hand: ⌊H/2⌋ − ⌊W/2⌋ = 2 needs H − W from 3
    to 5, ⌊W/3⌋ = ⌊H/3⌋ needs it at most 2, so no size is valid. Naming the fewest conditions tried
    the region of 32 floors again without each of its 54 conditions (most of a second); now by
    halves, a few tries a condition named, and the error is the first stage's."""
    from archcalc.symbolic import constraints

    stages = []
    for i in range(10):
        a, b = [(2, 3), (3, 2), (2, 2), (1, 2), (2, 1)][i % 5]
        source = f"s{i - 1}" if i else "input"
        stages += [f"  - p{i}: {{kind: maxpool2d, kernel: [{a}, {b}], from: {source}}}",
                   f"  - q{i}: {{kind: maxpool2d, kernel: [{b}, {a}], from: {source}}}",
                   f"  - c{i}: {{kind: conv2d, out: 3, kernel: 1, padding: [{i % 3}, {(i + 1) % 3}]}}",
                   f"  - t{i}: {{kind: permute, dims: [0, 1, 3, 2]}}",
                   f"  - s{i}: {{kind: concat, from: [p{i}, t{i}]}}"]
    path = write_spec("name: stages\ninput: [3, 64, 64]\nlayers:\n" + "\n".join(stages) + "\n")
    tries = []
    members = constraints.members
    monkeypatch.setattr(constraints, "members", lambda relations: tries.append(relations) or members(relations))
    with pytest.raises(SpecError) as refused:
        analyze_graph(load_graph(path), (3, "H", "W"))
    assert refused.value.layer == "s0" and refused.value.message == (
        "needs ⌊W/3⌋ = ⌊H/3⌋ and ⌊H/2⌋ = ⌊W/2⌋ + 2, which no input size meets together, so the network is valid at none")
    assert len(tries) <= 20, len(tries)
    graph = load_graph(path)
    assert not _valid_sizes(graph, 29)  # the numbers analyse it at no size


def test_sizes_that_must_be_equal_are_said_in_one_line(write_spec, cli):
    """The add of the input and its transpose needs W = H; a crop to 15 columns W ≥ 15, and padding
    to a 20×1000 map H ≤ 20 and W ≤ 1,000. 'valid for' said H ≤ 20, 15 ≤ W ≤ 1000 and W = H, three
    lines where W's are H's: now 15 ≤ H ≤ 20 and W = H, where the numbers accept the input."""
    path = write_spec("""
        name: square
        input: [3, 16, 16]
        outputs: [cropped, padded, sum]
        layers:
          - wide: {kind: adaptive_avgpool2d, output_size: [20, 1000]}
          - cropped: {kind: crop2d, size: [1, 15], from: input}
          - padded: {kind: pad2d, from: [input, wide]}
          - turned: {kind: permute, dims: [0, 1, 3, 2], from: input}
          - sum: {kind: add, from: [input, turned]}
    """)
    document = json.loads(cli("table", path, "--input", "3xHxW", "--format", "json").stdout)
    assert document["formulas"]["valid_for"] == ["15 ≤ H ≤ 20 (layers 'cropped', 'padded')", "W = H (layer 'sum')"]
    graph = load_graph(path)
    for height in range(1, 24):
        for width in range(1, 24):
            try:
                analyze_graph(graph, (3, height, width))
                accepted = True
            except SpecError:
                accepted = False
            assert accepted == (height == width and 15 <= height <= 20), (height, width)


def test_the_error_names_every_equality_that_joins_the_sizes(write_spec, cli):
    """Adds of a video input and its transposes need D = H and H = W; a crop needs D ≥ 41 and padding
    to a map 20 wide W ≤ 20. The error named the crop and the padding only (D ≥ 41 and W ≤ 20 look
    met at once); it names the two adds that join D to W as well. The numbers refuse each size."""
    path = write_spec("""
        name: chain
        input: [2, 8, 8, 8]
        outputs: [s1, s2, cropped, padded]
        layers:
          - p1: {kind: permute, dims: [0, 1, 3, 2, 4]}
          - s1: {kind: add, from: [input, p1]}
          - p2: {kind: permute, dims: [0, 1, 2, 4, 3], from: input}
          - s2: {kind: add, from: [input, p2]}
          - cropped: {kind: crop3d, size: [41, 1, 1], from: input}
          - target: {kind: adaptive_avgpool3d, output_size: [1000, 1000, 20], from: input}
          - padded: {kind: pad3d, from: [input, target]}
    """)
    result = cli("table", path, "--input", "2xDxHxW")
    assert result.exit_code == 2
    assert ("layer 'padded': needs W ≤ 20, but layer 'cropped' needs D ≥ 41, layer 's2' needs W = H and layer 's1' "
            "needs H = D: no input size meets them all") in result.stderr
    graph = load_graph(path)
    for depth, height, width in product((8, 20, 41, 64), repeat=3):
        with pytest.raises(SpecError):
            analyze_graph(graph, (2, depth, height, width))


def test_channels_that_no_count_meets_are_one_error_with_the_specs_own_input(write_spec, cli):
    """Added to a 3-group conv's 9 channels, the input needs C = 9; a 2-group conv needs C even.
    The hint gives the spec's own input to try as numbers (it gave 3x64x64 whatever the spec)."""
    path = write_spec("""
        name: channels
        input: [9, 16, 16]
        layers:
          - g: {kind: conv2d, out: 8, kernel: 3, groups: 2, padding: 1}
          - h: {kind: conv2d, out: 9, kernel: 3, groups: 3, padding: 1, from: input}
          - s: {kind: add, from: [input, h]}
          - c: {kind: concat, from: [s, g]}
    """)
    result = cli("table", path, "--input", "CxHxW")
    assert result.exit_code == 2
    assert "layer 's': needs C = 9, but layer 'g' needs C even: no input size meets both" in result.stderr
    assert "(--input 9x16x16)" in result.stderr
    graph = load_graph(path)
    for channels in range(1, 40):
        with pytest.raises(SpecError):
            analyze_graph(graph, (channels, 16, 16))


TRANSPOSED_SUM = """
    name: transposed
    input: [2, 16, 64]
    outputs: [s, padded, cropped]
    layers:
      - pool: {kind: maxpool2d, kernel: 2, stride: 2}
      - c: {kind: conv2d, out: 2, kernel: 5}
      - p: {kind: permute, dims: [0, 1, 3, 2]}
      - s: {kind: add, from: [c, p]}
      - small: {kind: adaptive_avgpool2d, output_size: [20, 1000], from: input}
      - padded: {kind: pad2d, from: [input, small]}
      - cropped: {kind: crop2d, size: [1, COLUMNS], from: input}
"""


def test_a_condition_on_two_sizes_that_no_size_meets_is_one_error(write_spec, cli):
    """A pooled and convolved map added to its transpose needs ⌊W/2⌋ − 4 = ⌊H/2⌋ − 4; padding to a
    20×1000 map needs H ≤ 20, so ⌊W/2⌋ ≤ 10 and W ≤ 21, where a crop to 41 columns needs W ≥ 41.
    Each size's own constraints can be met; with the sum's, none (the table passed, exit 0). With a
    crop to 15 columns, H = W from 15 to 20 meet them all, and the table answers."""
    path = write_spec(TRANSPOSED_SUM.replace("COLUMNS", "41"))
    result = cli("table", path, "--input", "2xHxW")
    assert result.exit_code == 2, result.output
    assert ("layer 's': needs ⌊W/2⌋ - 4 = ⌊H/2⌋ - 4, but layer 'padded' needs H ≤ 20 and layer 'cropped' "
            "needs W ≥ 41: no input size meets them all") in result.stderr
    graph = load_graph(path)
    for height in range(1, 25):
        for width in (*range(1, 25), 40, 41, 42, 64):
            with pytest.raises(SpecError):
                analyze_graph(graph, (2, height, width))
    fifteen = write_spec(TRANSPOSED_SUM.replace("COLUMNS", "15"), "fifteen.yaml")
    assert cli("table", fifteen, "--input", "2xHxW").exit_code == 0
    analyze_graph(load_graph(fifteen), (2, 16, 16))


def test_constraints_of_long_periods_beside_an_upper_end_that_no_size_meets(write_spec, cli):
    """Sums of maps pooled and upsampled by 16, 9, 5, 7, 11 and 13 meet where H mod p is the same for
    each pair (H mod 143 ∈ {0, …, 10} for 11 and 13, …): together a period of 720,720, past any scan,
    so the sizes were not met and the table passed, exit 0. Padding the input to a 20×20 map needs
    H ≤ 20 as well: the sizes from 13 (the 13-row pool) to 20 are tested one by one, none meets
    them, and the error names the three constraints that leave none: H ≤ 20, H ≥ 13 and
    H mod 143 ∈ {0, …, 10} (13 to 20 mod 143 are 13 to 20). The numbers refuse every H."""
    from itertools import combinations

    periods = [16, 9, 5, 7, 11, 13]
    layers = [item for p in periods for item in (f"  - p{p}: {{kind: maxpool2d, kernel: [{p}, 1], from: input}}",
                                                 f"  - u{p}: {{kind: upsample2d, scale: [{p}, 1]}}")]
    layers += [f"  - add{a}_{b}: {{kind: add, from: [u{a}, u{b}]}}" for a, b in combinations(periods, 2)]
    layers += ["  - small: {kind: adaptive_avgpool2d, output_size: [20, 20], from: input}",
               "  - padded: {kind: pad2d, from: [input, small]}",
               "  - out: {kind: concat, from: [" + ", ".join(f"add{a}_{b}" for a, b in combinations(periods, 2)) + "]}"]
    path = write_spec("name: periods\ninput: [1, 8, 8]\noutputs: [out, padded]\nlayers:\n" + "\n".join(layers) + "\n")
    result = cli("table", path, "--input", "1xHxW")
    assert result.exit_code == 2, result.output
    assert ("layer 'padded': needs H ≤ 20, but layer 'p13' needs H ≥ 13 and layer 'add11_13' needs "
            "H mod 143 ∈ {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}: no input size meets them all") in result.stderr
    graph = load_graph(path)
    for height in range(1, 150):
        with pytest.raises(SpecError):
            analyze_graph(graph, (1, height, 20))


def test_constraints_no_size_meets_but_a_broadcast_are_said_so(write_spec, cli):
    """⌊W/4⌋ = 3, which the formulas assume where a multiply meets a width of 3, and W ≤ 7, padding to
    a 7-wide map, meet nowhere; but torch multiplies a width of 1 by 3 (W from 4 to 7), which the
    formulas leave out: the table says so, and the sweep answers those widths as numbers."""
    path = write_spec("""
        name: broadcast
        input: [3, 64, 6]
        outputs: [prod, padded]
        layers:
          - a: {kind: maxpool2d, kernel: 4}
          - b: {kind: adaptive_avgpool2d, output_size: [1, 3], from: input}
          - prod: {kind: multiply, from: [a, b]}
          - target: {kind: adaptive_avgpool2d, output_size: [100, 7], from: input}
          - padded: {kind: pad2d, from: [input, target]}
    """)
    result = cli("table", path, "--input", "3xHxW")
    assert result.exit_code == 2 and "layer 'prod': needs" in result.stderr
    assert "leave out the sizes where this multiply broadcasts a size of 1" in result.stderr
    assert "valid at none" not in result.stderr  # the hint says how to have those sizes answered
    assert "hint: sizes given as numbers (--input 3x64x6) or swept (archcalc sweep) are each answered" in result.stderr
    document = json.loads(cli("sweep", path, "--size", "16x4,16x7,16x8", "--format", "json").stdout)
    graph = load_graph(path)
    for point in document["points"]:
        try:
            expected = analyze_graph(graph, (3, point["height"], point["width"])).totals.activations
        except SpecError:
            expected = None
        assert point.get("activations") == expected, point
    assert [point["valid"] for point in document["points"]] == [True, True, False]
