"""Conventions as data: derived by overrides, counted in one pass, and what a tool skips named.

The counts themselves are held to fvcore and FlopCounterMode in tests/test_validate.py and
tests/test_properties.py; here, that the one pass and the switch between conventions give what a
separate analysis under each convention gives, and that a skipped operation is said."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.conventions import CONVENTIONS, FVCORE, PAPER, TORCH, Uncounted
from archcalc.layers import LAYER_KINDS
from archcalc.spec import bundled


def test_a_convention_is_its_parent_with_overrides():
    assert set(FVCORE.counters) == {"conv1d", "conv2d", "conv3d", "batchnorm1d", "batchnorm2d", "batchnorm3d",
                                    "adaptive_avgpool1d", "adaptive_avgpool2d", "adaptive_avgpool3d", "mean",
                                    "upsample1d", "upsample2d", "upsample3d"}  # measured: docs/conventions.md
    assert PAPER.counters == {} and TORCH.counters == {}
    assert (PAPER.title, TORCH.title) == ("MACs", "FLOPs")
    strict = FVCORE.extend("strict", "fvcore, and linear layers skipped",
                           {"linear": lambda kind, a, shapes, out: Uncounted("linear")})
    assert set(strict.counters) == {*FVCORE.counters, "linear"} and strict.headline == "macs"
    linear = LAYER_KINDS["linear"]
    a = linear.resolve({"out": 7})
    assert strict.count(linear, a, [(3, 12)], (3, 7)) == Uncounted("linear")
    assert FVCORE.count(linear, a, [(3, 12)], (3, 7)) == 3 * 12 * 7  # the parent is unchanged


@pytest.mark.parametrize("entry", bundled(), ids=lambda e: e.name)
def test_switching_convention_equals_analysing_under_it(entry):
    first = archcalc.analyze(entry.path, variant=entry.variant)
    for name in CONVENTIONS:
        separate = archcalc.analyze(entry.path, variant=entry.variant, convention=name)
        switched = first.under(name)
        assert (switched.layers, switched.totals, switched.convention) == \
               (separate.layers, separate.totals, separate.convention)
        assert first.count(name) == separate.totals.macs


def test_what_fvcore_skips_is_named_not_a_silent_zero(cli):
    stats = archcalc.analyze("shufflenet_v2_x0_5", convention="fvcore")
    means = [layer for layer in stats.layers if layer.kind == "mean"]
    assert means and all(layer.counts["fvcore"] == Uncounted("mean") for layer in means)
    assert all(layer.figures.macs == 0 for layer in means)  # what fvcore reports for it
    assert stats.uncounted() == ["mean"] and stats.uncounted("paper") == []
    text = cli("table", "shufflenet_v2_x0_5", "--convention", "fvcore").stdout
    assert "· not counted by fvcore: mean" in text.splitlines()[1]
    document = json.loads(cli("table", "shufflenet_v2_x0_5", "--convention", "fvcore", "--format", "json").stdout)
    assert document["convention"]["uncounted"] == ["mean"]
    assert "not counted" not in cli("table", "shufflenet_v2_x0_5").stdout


def test_same_padding_is_named_as_fvcore_skips_it(write_spec):
    path = write_spec("name: same\ninput: [3, 8, 8]\nlayers:\n  - c: {kind: conv2d, out: 4, kernel: 3, padding: same}\n")
    stats = archcalc.analyze(path, convention="fvcore")
    assert stats.uncounted() == ["conv2d with padding 'same'"] and stats.totals.macs == 0
    assert archcalc.analyze(path).totals.macs == 8 * 8 * 4 * 3 * 3 * 3  # the seeds' conv rule
