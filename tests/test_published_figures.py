"""Published figures from outside archcalc: torchvision, fvcore and the ResNet paper.

Sources: torchvision 0.29 `get_model_weights(name).DEFAULT.meta` (num_params, _ops = GFLOPS);
fvcore 0.1.5 FlopCountAnalysis totals at 1×3×224×224 (shared/design.md);
He et al. 2016, Table 1, "FLOPs" row (multiply-adds ×10⁹).
"""

from __future__ import annotations

import pytest

import archcalc

TORCHVISION_NUM_PARAMS = {
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840, "vgg13": 133_047_848,
    "vgg16": 138_357_544, "vgg16_bn": 138_365_992, "vgg19": 143_667_240,
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808,
}

TORCHVISION_GFLOPS = {  # as published, to their decimals
    "alexnet": "0.714", "vgg16": "15.47", "resnet18": "1.814", "resnet34": "3.664",
    "resnet50": "4.089", "resnet101": "7.801", "resnet152": "11.514",
}

FVCORE_TOTALS = {"resnet50": 4_111_512_576, "vgg16": 15_470_289_408, "alexnet": 714_197_696}

RESNET_PAPER_TABLE1 = {  # the v1 block: stride on the first 1×1 (18/34 have no 1×1)
    "resnet18": 1.8, "resnet34": 3.6, "resnet50_v1": 3.8, "resnet101_v1": 7.6, "resnet152_v1": 11.3,
}


@pytest.mark.parametrize("model", list(TORCHVISION_NUM_PARAMS))
def test_torchvision_parameter_counts(model):
    assert archcalc.analyze(model).totals.params == TORCHVISION_NUM_PARAMS[model]


@pytest.mark.parametrize("model", list(TORCHVISION_GFLOPS))
def test_torchvision_published_gflops(model):
    published = TORCHVISION_GFLOPS[model]
    decimals = len(published.split(".")[1])
    macs = archcalc.analyze(model, convention="paper").totals.macs
    assert f"{macs / 1e9:.{decimals}f}" == published


@pytest.mark.parametrize("model", list(FVCORE_TOTALS))
def test_fvcore_totals(model):
    assert archcalc.analyze(model, convention="fvcore").totals.macs == FVCORE_TOTALS[model]


def test_fvcore_resnet50_terms():
    # design.md: conv 4,087,136,256 + linear 2,048,000 + batch_norm 22,227,968 + pool 100,352
    stats = archcalc.analyze("resnet50", convention="fvcore")
    by_kind: dict[str, int] = {}
    for layer in stats.layers:
        by_kind[layer.kind] = by_kind.get(layer.kind, 0) + layer.figures.macs
    assert by_kind["conv2d"] == 4_087_136_256
    assert by_kind["linear"] == 2_048_000
    assert by_kind["batchnorm2d"] == 22_227_968
    assert by_kind["adaptive_avgpool2d"] == 100_352
    assert sum(by_kind.values()) == stats.totals.macs


def test_torch_convention_is_twice_the_paper_macs():
    # FlopCounterMode counts 2 FLOPs per MAC of conv and matmul; torchvision's GFLOPS is half of it
    paper = archcalc.analyze("resnet50", convention="paper").totals
    torch = archcalc.analyze("resnet50", convention="torch").totals
    assert torch.flops == 2 * paper.macs == 2 * 4_089_184_256


@pytest.mark.parametrize("model", list(RESNET_PAPER_TABLE1))
def test_resnet_paper_table1_flops(model):
    macs = archcalc.analyze(model).totals.macs / 1e9
    assert abs(macs - RESNET_PAPER_TABLE1[model]) / RESNET_PAPER_TABLE1[model] <= 0.025


def test_v1_and_v1_5_differ_only_in_where_the_stride_is():
    v1, v15 = archcalc.analyze("resnet50_v1"), archcalc.analyze("resnet50")
    assert v1.totals.params == v15.totals.params
    assert v1.totals.macs < v15.totals.macs
    assert [layer.shape for layer in v1.layers][-1] == [layer.shape for layer in v15.layers][-1]
