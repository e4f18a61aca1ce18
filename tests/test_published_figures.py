"""Published figures from outside archcalc: torchvision, fvcore and the ResNet paper.

Sources: torchvision 0.29 `get_model_weights(name).DEFAULT.meta` (num_params, _ops = GFLOPS, read
from torchvision 0.29.2 installed in a throw-away virtualenv; for
inception_v3 num_params counts the auxiliary head, 3,326,696 parameters, which the spec leaves out);
fvcore 0.1.5 FlopCountAnalysis totals at 1×3×224×224 (shared/design.md);
He et al. 2016, Table 1, "FLOPs" row (multiply-adds ×10⁹).
"""

from __future__ import annotations

import pytest

import archcalc
from archcalc.spec import load_graph

TORCHVISION_NUM_PARAMS = {
    "alexnet": 61_100_840, "vgg11": 132_863_336, "vgg11_bn": 132_868_840, "vgg13": 133_047_848,
    "vgg16": 138_357_544, "vgg16_bn": 138_365_992, "vgg19": 143_667_240,
    "resnet18": 11_689_512, "resnet34": 21_797_672, "resnet50": 25_557_032,
    "resnet101": 44_549_160, "resnet152": 60_192_808, "vgg13_bn": 133_053_736, "vgg19_bn": 143_678_248,
    "resnext50_32x4d": 25_028_904, "resnext101_32x8d": 88_791_336, "resnext101_64x4d": 83_455_272,
    "wide_resnet50_2": 68_883_240, "wide_resnet101_2": 126_886_696,
    "googlenet": 6_624_904, "inception_v3": 27_161_264 - 3_326_696,
    "densenet121": 7_978_856, "densenet161": 28_681_000, "densenet169": 14_149_480, "densenet201": 20_013_928,
    "mobilenet_v2": 3_504_872, "mobilenet_v3_small": 2_542_856, "mobilenet_v3_large": 5_483_032,
    "squeezenet1_0": 1_248_424, "squeezenet1_1": 1_235_496,
    "shufflenet_v2_x0_5": 1_366_792, "shufflenet_v2_x1_0": 2_278_604,
    "mnasnet0_5": 2_218_512, "mnasnet1_0": 4_383_312,
    "r3d_18": 33_371_472, "mc3_18": 11_695_440, "r2plus1d_18": 31_505_325, "s3d": 8_320_048,  # video
    "inception_v3_aux": 27_161_264,  # with its auxiliary head: the published num_params
    "googlenet_aux": 13_004_888,  # googlenet(aux_logits=True), counted on torchvision 0.29.1's model
    "fcn_resnet50_aux": 35_322_218, "fcn_resnet101_aux": 54_314_346,  # torchvision.models.segmentation,
    "deeplabv3_resnet50_aux": 42_004_074, "deeplabv3_resnet101_aux": 60_996_202,  # with the aux head
    "deeplabv3_mobilenet_v3_large_aux": 11_029_328, "lraspp_mobilenet_v3_large": 3_221_538,
    "regnet_x_400mf": 5_495_976, "regnet_x_800mf": 7_259_656, "regnet_x_1_6gf": 9_190_136,
    "regnet_x_3_2gf": 15_296_552, "regnet_x_8gf": 39_572_648, "regnet_x_16gf": 54_278_536,
    "regnet_x_32gf": 107_811_560, "regnet_y_400mf": 4_344_144, "regnet_y_800mf": 6_432_512,
    "regnet_y_1_6gf": 11_202_430, "regnet_y_3_2gf": 19_436_338, "regnet_y_8gf": 39_381_472,
    "regnet_y_16gf": 83_590_140, "regnet_y_32gf": 145_046_770, "regnet_y_128gf": 644_812_894,
    "convnext_tiny": 28_589_128, "convnext_small": 50_223_688, "convnext_base": 88_591_464,
    "convnext_large": 197_767_336,
    "efficientnet_b0": 5_288_548, "efficientnet_b1": 7_794_184, "efficientnet_b2": 9_109_994,  # torchvision 0.29.1
    "efficientnet_b3": 12_233_232, "efficientnet_b4": 19_341_616, "efficientnet_b5": 30_389_784,
    "efficientnet_b6": 43_040_704, "efficientnet_b7": 66_347_960,
    "efficientnet_v2_s": 21_458_488, "efficientnet_v2_m": 54_139_356, "efficientnet_v2_l": 118_515_272,
}

TORCHVISION_GFLOPS = {  # as published, to their decimals
    "alexnet": "0.714", "vgg11": "7.609", "vgg13": "11.308", "vgg16": "15.47", "vgg19": "19.632",
    "resnet18": "1.814", "resnet34": "3.664", "resnet50": "4.089", "resnet101": "7.801", "resnet152": "11.514",
    "resnext50_32x4d": "4.23", "resnext101_32x8d": "16.414", "resnext101_64x4d": "15.46",
    "wide_resnet50_2": "11.398", "wide_resnet101_2": "22.753", "googlenet": "1.498", "inception_v3": "5.713",
    "densenet121": "2.834", "densenet161": "7.728", "densenet169": "3.36", "densenet201": "4.291",
    "mobilenet_v2": "0.301", "mobilenet_v3_small": "0.057", "mobilenet_v3_large": "0.217",
    "squeezenet1_0": "0.819", "squeezenet1_1": "0.349", "shufflenet_v2_x0_5": "0.04",
    "shufflenet_v2_x1_0": "0.145", "mnasnet0_5": "0.104", "mnasnet1_0": "0.314",
    "r3d_18": "40.697", "mc3_18": "43.343", "r2plus1d_18": "40.519",  # at 3×16×112×112
    "s3d": "17.979",  # at 3×16×224×224
    "fcn_resnet50_aux": "152.717", "fcn_resnet101_aux": "232.738",  # at 3×520×520
    "deeplabv3_resnet50_aux": "178.722", "deeplabv3_resnet101_aux": "258.743",
    "deeplabv3_mobilenet_v3_large_aux": "10.452", "lraspp_mobilenet_v3_large": "2.086",
    "regnet_x_400mf": "0.414", "regnet_x_800mf": "0.8", "regnet_x_1_6gf": "1.603", "regnet_x_3_2gf": "3.177",
    "regnet_x_8gf": "7.995", "regnet_x_16gf": "15.941", "regnet_x_32gf": "31.736",
    "regnet_y_400mf": "0.402", "regnet_y_800mf": "0.834", "regnet_y_1_6gf": "1.612", "regnet_y_3_2gf": "3.176",
    "regnet_y_8gf": "8.473", "regnet_y_16gf": "15.912", "regnet_y_32gf": "32.28",
    "regnet_y_128gf": "374.57",  # at 3×384×384 (its DEFAULT weights, IMAGENET1K_SWAG_E2E_V1)
    "convnext_tiny": "4.456", "convnext_small": "8.684", "convnext_base": "15.355", "convnext_large": "34.361",
    "efficientnet_b0": "0.386", "efficientnet_b1": "0.687", "efficientnet_b2": "1.088",  # at their default
    "efficientnet_b3": "1.827", "efficientnet_b4": "4.394", "efficientnet_b5": "10.266",  # inputs, 224–600
    "efficientnet_b6": "19.068", "efficientnet_b7": "37.746",
    "efficientnet_v2_s": "8.366", "efficientnet_v2_m": "24.582", "efficientnet_v2_l": "56.08",  # 384, 480, 480
}

FVCORE_TOTALS = {"resnet50": 4_111_512_576, "vgg16": 15_470_289_408, "alexnet": 714_197_696}

RESNET_PAPER_TABLE1 = {  # the v1 block: stride on the first 1×1 (18/34 have no 1×1)
    "resnet18": 1.8, "resnet34": 3.6, "resnet50_v1": 3.8, "resnet101_v1": 7.6, "resnet152_v1": 11.3,
}


@pytest.mark.parametrize("model", list(TORCHVISION_NUM_PARAMS))
def test_torchvision_parameter_counts(model):
    assert archcalc.analyze(model).totals.params == TORCHVISION_NUM_PARAMS[model]


def test_the_specs_published_figures_are_torchvisions():
    """What docs/zoo.md prints beside our figures is the record above, model for model."""
    from archcalc.spec import bundled

    shown = {}
    for entry in bundled():
        published = load_graph(entry.path, entry.variant).published
        if published:
            shown[entry.name] = published
    assert set(shown) == set(TORCHVISION_GFLOPS) | {"vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn", "inception_v3_aux"}
    aux_head = {"inception_v3": 3_326_696}
    for model, published in shown.items():
        assert published["params"] == TORCHVISION_NUM_PARAMS[model] + aux_head.get(model, 0)
        assert published["source"] == "torchvision 0.29"
        plain = model.removesuffix("_bn")  # batch norm adds no MACs under torchvision's count
        if model != "inception_v3_aux":  # torchvision's GFLOPS are counted without the head: on inception_v3
            assert f"{published['gflops']}" == TORCHVISION_GFLOPS[plain].rstrip("0").rstrip(".")


def test_published_figures_are_checked_where_they_are_written(write_spec):
    path = write_spec("""
        name: tiny
        input: [1, 8, 8]
        published: {params: 10, flops: 3}
        layers:
          - fc: {kind: conv2d, out: 1, kernel: 3}
    """)
    with pytest.raises(archcalc.SpecError, match="unknown key of 'published' 'flops'.*did you mean 'gflops'"):
        archcalc.analyze(path)


@pytest.mark.parametrize("written, message", [("{params: 8.5}", "published 'params' must be a whole number, got 8.5"),
                                              ("{gflops: '4'}", "published 'gflops' must be a number, got '4'"),
                                              ("{note: 4}", "published 'note' must be text, got 4")])
def test_a_published_figure_of_the_wrong_type_says_what_it_must_be(write_spec, written, message):
    """docs/spec.md: `params` is a whole number; 8.5 was refused as 'must be a number, got 8.5'."""
    path = write_spec(f"""
        name: tiny
        input: [1, 8, 8]
        published: {written}
        layers:
          - fc: {{kind: conv2d, out: 1, kernel: 3}}
    """)
    with pytest.raises(archcalc.SpecError) as refused:
        archcalc.analyze(path)
    assert refused.value.message == message


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


def test_zfnet_figure3_sizes_and_the_parameter_formula():
    """Zeiler & Fergus 2014, Figure 3: the map sizes drawn there, and weights + biases by the
    seeds' rule (out · in · k² + out) for the filters the figure lists."""
    stats = archcalc.analyze("zfnet")
    sizes = {layer.name: layer.shape[2] for layer in stats.layers if len(layer.shape) == 4}
    assert [sizes[n] for n in ("conv1", "pool1", "conv2", "pool2", "conv3", "conv4", "conv5", "pool5")] == \
        [110, 55, 26, 13, 13, 13, 13, 6]
    convs = [(96, 3, 7), (256, 96, 5), (384, 256, 3), (384, 384, 3), (256, 384, 3)]
    fcs = [(4096, 6 * 6 * 256), (4096, 4096), (1000, 4096)]
    expected = sum(o * i * k * k + o for o, i, k in convs) + sum(o * i + o for o, i in fcs)
    assert stats.totals.params == expected == 62_357_608


def test_context_module_table1_parameters():
    """Yu & Koltun 2016, Table 1: 3×3 convolutions (1×1 last) with biases, C = 21."""
    c = 21
    basic = 7 * (c * c * 9 + c) + (c * c + c)
    widths = [1, 2, 2, 4, 8, 16, 32, 32]
    large = sum(o * c * i * c * 9 + o * c for i, o in zip(widths, widths[1:])) + (c * 32 * c + c)
    assert archcalc.analyze("context_basic").totals.params == basic
    assert archcalc.analyze("context_large").totals.params == large


def test_dilated_resnet50_keeps_resnet50s_parameters_at_output_stride_8():
    """torchvision resnet50(replace_stride_with_dilation=[False, True, True]): the same weights,
    conv4_x and conv5_x at 28×28 instead of 14×14 and 7×7, their 3×3s dilated 2 and 4 (the first
    block of each stage keeping the stage before's dilation)."""
    plain, dilated = archcalc.analyze("resnet50"), archcalc.analyze("resnet50_dilated")
    assert dilated.totals.params == plain.totals.params == 25_557_032
    shapes = {layer.name: layer.shape for layer in dilated.layers}
    assert shapes["layer4.2.relu3"] == (1, 2048, 224 // 8, 224 // 8)
    convs = {layer.name: layer for layer in dilated.layers if layer.name.endswith("conv2")}
    graph = load_graph("resnet50_dilated")
    dilation = {node.name: node.attrs.dilation[0] for node in graph.nodes if node.name in convs}
    assert [dilation[f"layer3.{i}.conv2"] for i in range(6)] == [1, 2, 2, 2, 2, 2]
    assert [dilation[f"layer4.{i}.conv2"] for i in range(3)] == [2, 4, 4]
    # conv4_x's MACs grow by (28/14)² and conv5_x's by (28/7)², the rest stay
    stage = lambda stats, name: sum(l.figures.macs for l in stats.layers if l.name.startswith(name))  # noqa: E731
    assert stage(dilated, "layer3.1") == 4 * stage(plain, "layer3.1")
    assert stage(dilated, "layer4.1") == 16 * stage(plain, "layer4.1")



# Measured on torchvision's own models: torch 2.15.0 and torchvision 0.29.2 in a throw-away
# virtualenv (torchvision is no dependency of archcalc), each model built with weights=None and
# in eval mode at 1×3×224×224 (inception_v3 1×3×299×299; googlenet and inception_v3 with
# aux_logits=False, init_weights=False; resnet50_dilated as resnet50(replace_stride_with_dilation=
# [False, True, True])): torch.utils.flop_counter.FlopCounterMode's total FLOPs, and fvcore 0.1.5's
# FlopCountAnalysis(model, x).total(). The same run found the sorted lists of every Conv2d's
# (in, out, kernel, stride, padding, dilation, groups, bias), every Linear's and every
# BatchNorm2d's (features, eps, affine) equal to the specs' own.
TORCHVISION_MEASURED = {  # model: (FlopCounterMode FLOPs, fvcore total)
    "alexnet": (1_428_376_960, 714_197_696),
    "vgg11": (15_218_180_096, 7_609_115_136),
    "vgg11_bn": (15_218_180_096, 7_623_967_232),
    "vgg13": (22_616_932_352, 11_308_491_264),
    "vgg13_bn": (22_616_932_352, 11_332_977_152),
    "vgg16": (30_940_528_640, 15_470_289_408),
    "vgg16_bn": (30_940_528_640, 15_497_384_448),
    "vgg19": (39_264_124_928, 19_632_087_552),
    "vgg19_bn": (39_264_124_928, 19_661_791_744),
    "resnet18": (3_628_146_688, 1_819_065_856),
    "resnet34": (7_327_522_816, 3_671_262_720),
    "resnet50": (8_178_368_512, 4_111_512_576),
    "resnet101": (15_602_810_880, 7_833_969_664),
    "resnet152": (23_027_253_248, 11_558_835_200),
    "resnext50_32x4d": (8_460_959_744, 4_259_381_248),
    "resnext101_32x8d": (32_828_030_976, 16_476_534_784),
    "resnext101_64x4d": (30_920_540_160, 15_522_789_376),
    "wide_resnet50_2": (22_796_042_240, 11_426_922_496),
    "wide_resnet101_2": (45_506_101_248, 22_795_599_872),
    "resnet50_dilated": (38_158_729_216, 19_131_346_944),
    "googlenet": (2_996_752_384, 1_504_878_688),
    "inception_v3": (11_426_432_192, 5_731_282_144),
    "densenet121": (5_668_323_328, 2_865_546_752),
    "densenet161": (15_455_814_144, 7_786_843_488),
    "densenet169": (6_719_686_656, 3_397_970_816),
    "densenet201": (8_582_731_776, 4_340_870_784),
    "mobilenet_v2": (601_548_544, 314_193_216),
    "mobilenet_v3_large": (433_179_520, 226_033_824),
    "mobilenet_v3_small": (113_020_800, 59_649_536),
    "squeezenet1_0": (1_637_849_152, 819_093_576),
    "squeezenet1_1": (698_303_872, 349_320_936),
    "shufflenet_v2_x0_5": (80_952_896, 42_524_256),
    "shufflenet_v2_x1_0": (289_815_984, 148_808_392),
    "mnasnet0_5": (208_911_936, 110_586_848),
    "mnasnet1_0": (628_831_744, 325_329_152),
}


@pytest.mark.parametrize("model", list(TORCHVISION_MEASURED))
def test_counters_on_torchvisions_own_models(model):
    flop_counter, fvcore = TORCHVISION_MEASURED[model]
    assert archcalc.analyze(model, convention="torch").totals.flops == flop_counter
    assert archcalc.analyze(model, convention="fvcore").totals.macs == fvcore
