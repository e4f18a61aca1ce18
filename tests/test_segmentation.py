"""Segmentation networks against torchvision's own models.

torchvision 0.29.1 models.segmentation (weights=None, weights_backbone=None, num_classes 21, eval
mode, 1×3×520×520), measured in a throw-away virtualenv with torch 2.14.1 and fvcore 0.1.5: the
parameters and buffer values of torchvision's model, fvcore's FlopCountAnalysis total,
FlopCounterMode's total and the output shapes ('out', and 'aux' with aux_loss=True). The published
figures (`DEFAULT.meta`: num_params, _ops) are for the models with the auxiliary head.
"""

from __future__ import annotations

import pytest

import archcalc

TORCHVISION = {  # params, buffer values, fvcore total, FlopCounterMode total
    "fcn_resnet50": (32_957_013, 54_198, 143_024_294_400, 285_451_545_600),
    "fcn_resnet50_aux": (35_322_218, 54_711, 153_039_910_400, 305_433_024_000),
    "fcn_resnet101": (51_949_141, 106_473, 223_266_035_200, 445_493_734_400),
    "fcn_resnet101_aux": (54_314_346, 106_986, 233_281_651_200, 465_475_212_800),
    "deeplabv3_resnet50": (39_638_869, 56_764, 169_051_360_000, 337_462_411_776),
    "deeplabv3_resnet50_aux": (42_004_074, 57_277, 179_066_976_000, 357_443_890_176),
    "deeplabv3_resnet101": (58_630_997, 109_039, 249_293_100_800, 497_504_600_576),
    "deeplabv3_resnet101_aux": (60_996_202, 109_552, 259_308_716_800, 517_486_078_976),
    "deeplabv3_mobilenet_v3_large": (11_025_477, 28_037, 10_527_528_344, 20_872_701_376),
    "deeplabv3_mobilenet_v3_large_aux": (11_029_328, 28_058, 10_566_423_694, 20_904_895_876),
    "lraspp_mobilenet_v3_large": (3_221_538, 24_703, 2_175_378_272, 4_172_439_376),
}


@pytest.mark.parametrize("model", list(TORCHVISION))
def test_segmentation_models_are_torchvisions(model):
    params, buffers, fvcore, flop_counter = TORCHVISION[model]
    stats = archcalc.analyze(model)
    assert (stats.totals.params, stats.totals.buffers) == (params, buffers)
    heads = ("out", "aux") if model.endswith("_aux") else ("out",)
    assert stats.outputs == heads and all(stats.shapes[head] == (1, 21, 520, 520) for head in heads)
    assert archcalc.analyze(model, convention="fvcore").totals.macs == fvcore
    assert archcalc.analyze(model, convention="torch").totals.flops == flop_counter


def test_the_backbone_is_the_dilated_resnet_of_the_classification_spec():
    """The segmentation spec takes ResNet-50 from specs/resnet.yaml up to layer4: the same layers,
    names below 'backbone.', and figures as the classification model without its pooling and fc."""
    backbone = [layer for layer in archcalc.analyze("fcn_resnet50", input="3x224x224").layers
                if layer.name.startswith("backbone.")]
    classifier = archcalc.analyze("resnet50_dilated").layers
    kept = classifier[:[layer.name for layer in classifier].index("avgpool")]
    assert [(layer.name.removeprefix("backbone."), layer.shape, layer.figures) for layer in backbone] == \
           [(layer.name, layer.shape, layer.figures) for layer in kept]
