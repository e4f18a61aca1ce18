"""Conventions as data: derived by overrides, counted in one pass, and what a tool skips named.

The counts themselves are held to fvcore and FlopCounterMode in tests/test_validate.py and
tests/test_properties.py; here, that the one pass and the switch between conventions give what a
separate analysis under each convention gives, and that a skipped operation is said."""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path

import pytest
from conftest import tier
from test_layer_kinds import CASES as KIND_CASES

import archcalc
from archcalc.conventions import CONVENTIONS, FVCORE, FVCORE_UNSUPPORTED, PAPER, TORCH, Uncounted, counted
from archcalc.layers import LAYER_KINDS
from archcalc.spec import bundled


def test_a_convention_is_its_parent_with_overrides():
    assert set(FVCORE.counters) == {"conv1d", "conv2d", "conv3d", "batchnorm1d", "batchnorm2d", "batchnorm3d",
                                    "adaptive_avgpool2d", "mean", "upsample2d", "layer_norm", "channel_layer_norm",
                                    "opaque", *FVCORE_UNSUPPORTED}  # measured: docs/conventions.md
    assert set(PAPER.counters) == set(TORCH.counters) == {"opaque"}  # counted by none (test_opaque.py)
    assert (PAPER.title, TORCH.title) == ("MACs", "FLOPs")
    strict = FVCORE.extend("strict", "fvcore, and linear layers skipped",
                           {"linear": lambda kind, a, shapes, out: Uncounted("linear")})
    assert set(strict.counters) == {*FVCORE.counters, "linear"} and strict.headline == "macs"
    linear = LAYER_KINDS["linear"]
    a = linear.resolve({"out": 7})
    assert strict.count(linear, a, [(3, 12)], (3, 7)) == Uncounted("linear")
    assert FVCORE.count(linear, a, [(3, 12)], (3, 7)) == 3 * 12 * 7  # the parent is unchanged


@pytest.mark.parametrize("entry", [tier(e) for e in bundled()])
def test_switching_convention_equals_analysing_under_it(entry):
    first = archcalc.analyze(entry.path, variant=entry.variant)
    for name in CONVENTIONS:
        separate = archcalc.analyze(entry.path, variant=entry.variant, convention=name)
        switched = first.under(name)
        assert (switched.layers, switched.totals, switched.convention) == \
               (separate.layers, separate.totals, separate.convention)
        assert first.count(name) == separate.totals.macs


def test_a_models_figures_are_read_only_and_a_replaced_copy_keeps_the_rest():
    stats = archcalc.analyze("lenet5")
    with pytest.raises(AttributeError, match="read-only"):
        stats.convention = "torch"
    with pytest.raises(AttributeError, match="read-only"):
        del stats.layers
    renamed = stats.replace(model="lenet5 again")
    assert renamed.model == "lenet5 again" and stats.model == "lenet5"
    assert all(getattr(renamed, name) is getattr(stats, name) for name in stats.FIELDS if name != "model")
    assert renamed != stats and renamed.replace(model="lenet5") == stats
    assert stats.replace(graph=None) == stats  # the graph is not compared, nor shown
    assert "graph=" not in repr(stats) and repr(stats).startswith("ModelStats(model='lenet5', ")
    with pytest.raises(TypeError):
        hash(stats)
    assert stats.under("torch").convention == "torch" and stats.convention == "paper"


def test_what_fvcore_skips_is_named_not_a_silent_zero(cli):
    stats = archcalc.analyze("shufflenet_v2_x0_5", convention="fvcore")
    means = [layer for layer in stats.layers if layer.kind == "mean"]
    assert means and all(layer.counts["fvcore"] == Uncounted("mean") for layer in means)
    assert all(layer.figures.macs == 0 for layer in means)  # what fvcore reports for it
    assert stats.uncounted() == ["maxpool2d", "channel_shuffle", "mean"] and stats.uncounted("paper") == []
    text = cli("table", "shufflenet_v2_x0_5", "--convention", "fvcore").stdout
    assert text.splitlines()[1].endswith("· not counted by fvcore: maxpool2d, channel_shuffle, mean")
    document = json.loads(cli("table", "shufflenet_v2_x0_5", "--convention", "fvcore", "--format", "json").stdout)
    assert document["convention"]["uncounted"] == ["maxpool2d", "channel_shuffle", "mean"]
    assert "not counted" not in cli("table", "shufflenet_v2_x0_5").stdout


@pytest.mark.parametrize("spec", ["shufflenet_v2_x0_5", "mobilenet_v3_small",
                                  str(Path(__file__).parent / "specs" / "convnext_block.yaml")])
def test_the_layers_named_are_those_fvcore_reports_unsupported(spec):
    """fvcore's FlopCountAnalysis of the model built from the spec, module by module: a layer is
    named as not counted by fvcore exactly where fvcore reports an operation of it unsupported."""
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    stats = archcalc.analyze(spec, convention="fvcore")
    model = archcalc.build_torch(spec).eval()
    analysis = fvcore_nn.FlopCountAnalysis(model, torch.rand(stats.input_shape))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()
    reported = {layer.name for layer in stats.layers if analysis.unsupported_ops(layer.name)}
    named = {layer.name for layer in stats.layers if isinstance(layer.counts["fvcore"], Uncounted)}
    assert named == reported and named


def test_same_padding_is_named_as_fvcore_skips_it(write_spec):
    path = write_spec("name: same\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3, padding: same}\n")
    stats = archcalc.analyze(path, convention="fvcore")
    assert stats.uncounted() == ["conv2d with padding 'same'"] and stats.totals.macs == 0
    assert archcalc.analyze(path).totals.macs == 8 * 8 * 4 * 3 * 3 * 3  # the seeds' conv rule


def test_valid_padding_is_counted_as_padding_0_which_archcalc_builds_not_as_fvcore_counts_torchs_valid(write_spec):
    """docs/spec.md: `padding: valid` is padding 0, and built so, under fvcore too. fvcore counts
    nothing of a torch module built with padding='valid' (torch runs it as aten::_convolution_mode,
    as 'same'), and the MACs of one built with padding 0: out · C_in · k^axes per output position."""
    torch = pytest.importorskip("torch")
    fvcore = pytest.importorskip("fvcore.nn")
    for axes, sizes in ((1, [16]), (2, [16, 16]), (3, [8, 8, 8])):
        module = getattr(torch.nn, f"Conv{axes}d")
        x = torch.randn(1, 3, *sizes)
        valid = fvcore.FlopCountAnalysis(module(3, 4, 3, padding="valid"), x).unsupported_ops_warnings(False)
        zero = fvcore.FlopCountAnalysis(module(3, 4, 3), x).unsupported_ops_warnings(False)
        assert valid.total() == 0 and dict(valid.unsupported_ops()) == {"aten::_convolution_mode": 1}
        macs = 4 * 3 * 3**axes * math.prod(size - 2 for size in sizes)  # out · C_in · taps per output position
        assert zero.total() == macs
        spec = f"name: v\ninput: [3, {', '.join(map(str, sizes))}]\nlayers:\n  - c: {{kind: conv{axes}d, out: 4, kernel: 3"
        counted = [archcalc.analyze(write_spec(spec + f", padding: {padding}}}\n"), convention="fvcore").totals.macs
                   for padding in ("valid", 0)]
        assert counted == [macs, macs]


# Measured on the torch modules with torch 2.14.1, torchvision 0.29.1 and fvcore 0.1.5.post20221221, one
# thread: fvcore's FlopCountAnalysis(module, x).total() and FlopCounterMode's get_total_flops(), in eval
# mode, on an input of 2×6×5×7 (the linear of a flat input: 2×6). Layer norm of the last axis is
# torch.nn.LayerNorm(7), of the channels torchvision.models.convnext.LayerNorm2d(6); the permute
# torchvision.ops.misc.Permute; layer scale ConvNeXt's nn.Parameter(torch.ones(6, 1, 1)) * x, which fvcore
# reports as the unsupported operator aten::mul; stochastic depth torchvision.ops.StochasticDepth.
MEASURED = [  # kind, fields, input, fvcore, FlopCounterMode FLOPs
    ("layer_norm", {}, (2, 6, 5, 7), 2100, 0),
    ("layer_norm", {"elementwise_affine": False}, (2, 6, 5, 7), 1680, 0),
    ("layer_norm", {"bias": False}, (2, 6, 5, 7), 2100, 0),
    ("layer_norm", {}, (3, 6), 90, 0),
    ("channel_layer_norm", {"eps": 1e-6}, (2, 6, 5, 7), 2100, 0),
    ("channel_layer_norm", {"elementwise_affine": False}, (2, 6, 5, 7), 1680, 0),
    ("permute", {"dims": [0, 2, 3, 1]}, (2, 6, 5, 7), 0, 0),
    ("linear", {"out": 3}, (2, 6, 5, 7), 1260, 2520),
    ("linear", {"out": 3, "bias": False}, (2, 6, 5, 7), 1260, 2520),
    ("linear", {"out": 3}, (2, 5, 7), 210, 420),
    ("linear", {"out": 3}, (2, 6), 36, 72),
    ("layer_scale", {}, (2, 6, 5, 7), Uncounted("layer_scale"), 0),
    ("layer_scale", {"over": "last"}, (2, 6, 5, 7), Uncounted("layer_scale"), 0),
    ("stochastic_depth", {"p": 0.1}, (2, 6, 5, 7), 0, 0),
    ("stochastic_depth", {"p": 0.2, "mode": "batch"}, (2, 6, 5, 7), 0, 0),
]


@pytest.mark.parametrize("key, fields, shape, fvcore, flops", MEASURED)
def test_the_new_kinds_count_as_fvcore_and_flop_counter_measured(key, fields, shape, fvcore, flops):
    kind = LAYER_KINDS[key]
    a = kind.resolve(fields)
    out = kind.output_shape(a, [shape])
    assert FVCORE.count(kind, a, [shape], out) == fvcore
    assert 2 * TORCH.count(kind, a, [shape], out) == flops
    assert PAPER.count(kind, a, [shape], out) == (flops // 2)  # the paper counts the matrix products alone


def test_a_layer_norm_of_a_1d_input_is_named_as_fvcore_counts_nothing_of_it(write_spec):
    """fvcore's handle for aten::layer_norm asserts an input of 2 to 5 dimensions: of a 1-D one (a
    flatten of the batch too) its FlopCountAnalysis stops, so it has no count for it (measured here)."""
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    with pytest.raises(AssertionError), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes
        fvcore_nn.FlopCountAnalysis(torch.nn.LayerNorm(6), torch.zeros(6)).unsupported_ops_warnings(False).total()
    path = write_spec("name: flat\ninput: [6, 2]\nlayers:\n  - f: {kind: flatten, start_dim: 0}\n  - norm: layer_norm\n")
    stats = archcalc.analyze(path, convention="fvcore")
    assert stats.uncounted() == ["layer_norm of a 1-D input"] and stats.totals.macs == 0
    assert archcalc.analyze(path, batch=2, input="6x2", convention="fvcore").uncounted() == ["layer_norm of a 1-D input"]


def test_layer_scale_is_named_as_fvcore_skips_it(cli):
    spec = Path(__file__).parent / "specs" / "convnext_block.yaml"
    text = cli("table", spec, "--convention", "fvcore").stdout
    assert text.splitlines()[1].endswith("· not counted by fvcore: gelu, layer_scale, add")


SIZE_ARITHMETIC = {"aten::sub", "aten::add"}
"""What torch.jit traces of archcalc's crop and pad modules working out, from a second input's
shape, how much to cut or add: arithmetic on sizes, not on the map (fvcore calls it unsupported)."""


@pytest.mark.parametrize("key", sorted(KIND_CASES))
def test_fvcore_names_each_kind_fvcore_reports_unsupported(key):
    """Each kind's row of test_layer_kinds.py, built as its torch module and traced by fvcore's
    FlopCountAnalysis: archcalc's fvcore count is fvcore's total, and names the layer as not
    counted exactly where fvcore reports an operation of it as unsupported."""
    torch = pytest.importorskip("torch")
    fvcore_nn = pytest.importorskip("fvcore.nn")
    from archcalc.torchmodel import build_layer

    fields, shapes, _, _, _ = KIND_CASES[key]
    kind = LAYER_KINDS[key]
    a = kind.resolve(fields)

    class Traced(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = build_layer(kind, a, shapes)

        def forward(self, *inputs):
            return self.layer(*inputs)

    inputs = tuple(torch.rand(shape) for shape in shapes)
    analysis = fvcore_nn.FlopCountAnalysis(Traced().eval(), inputs if len(inputs) > 1 else inputs[0])
    total = analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).total()
    unsupported = set(analysis.unsupported_ops()) - (SIZE_ARITHMETIC if key.startswith(("crop", "pad")) else set())
    count = FVCORE.count(kind, a, shapes, kind.output_shape(a, shapes))
    assert isinstance(count, Uncounted) == bool(unsupported), (count, unsupported)
    assert counted(count) == total
