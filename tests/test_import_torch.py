"""archcalc import torch: a torch module traced into a spec (docs/import.md).

Three kinds of evidence: every bundled model round-trips (its built module imported gives a spec
whose figures equal the original's layer by layer under every convention, and whose model loads
the original's state dict); networks written here in plain torch, as people write them, import
to specs whose parameters are the module's and whose FLOPs are FlopCounterMode's, and whose model
computes the module's output from its weights; and every way an import cannot be exact is one
message with exit 2. The expected messages are written by hand.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import done_quietly, run_in, run_process, tier

from archcalc import import_torch
from archcalc.analysis import analyze_graph
from archcalc.conventions import CONVENTIONS
from archcalc.layers import LAYER_KINDS
from archcalc.spec import bundled, load_graph
from archcalc.torchmodel import build_graph

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

KINDS = (", ".join(sorted(LAYER_KINDS)) + "; --allow-opaque (allow_opaque=True) keeps it as an opaque layer of its "
         "measured shape, counted by no convention")


def read_back(text: str, folder: Path, name: str = "imported.yaml"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return load_graph(path)


def assert_computes_as(net, text: str, folder: Path, x, *input_shape) -> None:
    """The spec `text` imported of `net`, built (at `input_shape` where given) and given net's
    weights, computes net's output on `x`."""
    built = build_graph(read_back(text, folder), *input_shape).eval()
    built.load_state_dict(net.state_dict())
    with torch.no_grad():
        assert torch.allclose(built(x), net(x), atol=1e-6)


def layer_figures(graph, convention: str) -> list:
    stats = analyze_graph(graph, convention=convention)
    return [(layer.name, layer.kind, layer.inputs, layer.shape, layer.figures, dict(layer.counts))
            for layer in stats.layers]


# --- round trip: build_torch(spec) → import → spec ----------------------------------------------

@pytest.mark.parametrize("entry", [tier(e) for e in bundled()])
def test_every_bundled_model_round_trips_layer_by_layer_under_every_convention(entry, tmp_path):
    original = load_graph(entry.path, entry.variant)
    module = build_graph(original, device="meta")
    imported = read_back(import_torch(module, original.input_shape, name=entry.name), tmp_path)
    for convention in CONVENTIONS:
        assert layer_figures(imported, convention) == layer_figures(original, convention), convention
    assert imported.heads == original.heads
    rebuilt = build_graph(imported, device="meta")
    rebuilt.load_state_dict(module.state_dict(), strict=True, assign=True)  # every key, of its shape


@pytest.mark.parametrize("name", ["lenet5", "resnet50", "mobilenet_v2"])
def test_a_round_tripped_model_loads_the_weights_and_computes_the_same_output(name, tmp_path):
    original = load_graph(name)
    torch.manual_seed(0)
    module = build_graph(original).eval()
    imported = build_graph(read_back(import_torch(module, original.input_shape), tmp_path)).eval()
    imported.load_state_dict(module.state_dict(), strict=True)
    x = torch.randn(2, *original.input_shape)
    with torch.no_grad():
        assert torch.equal(imported(x), module(x))


def test_resnet50_is_written_as_blocks_with_repeat_not_a_list_of_layers(tmp_path):
    module = build_graph(load_graph("resnet50"), device="meta")
    text = import_torch(module, "3x224x224", name="resnet50")
    assert text.count("\n") <= 40  # 175 layers
    assert "  - layer3: {kind: bottleneck, repeat: 6," in text
    assert "      - downsample: {kind: projection, from: input, " in text


# --- networks written in plain torch, as people write them ------------------------------------

class LeNetFunctional(nn.Module):
    """LeNet-5 (LeCun et al. 1998) as the PyTorch tutorials write it: functional activations and
    pooling, a view to flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), (2, 2))
        x = x.view(x.size(0), -1)
        x = F.relu(self.fc1(x))
        x = F.relu(self.fc2(x))
        return self.fc3(x)


class SmallVGG(nn.Module):
    """VGG (Simonyan & Zisserman 2015) in torchvision's style: nn.Sequential features of
    heterogeneous children, in-place ReLUs, adaptive pooling, torch.flatten, dropout."""

    def __init__(self, widths=(16, "M", 32, 32, "M", 64, "M"), classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for width in widths:
            if width == "M":
                layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
            else:
                layers += [nn.Conv2d(channels, width, kernel_size=3, padding=1), nn.BatchNorm2d(width),
                           nn.ReLU(inplace=True)]
                channels = width
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d((2, 2))
        self.classifier = nn.Sequential(nn.Linear(channels * 4, 128), nn.ReLU(True), nn.Dropout(p=0.5),
                                        nn.Linear(128, classes))

    def forward(self, x):
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


class BasicBlock(nn.Module):
    """ResNet's basic block (He et al. 2016) as torchvision writes it: one ReLU module used twice
    (in place), `out += identity`, a downsample nn.Sequential or None."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        identity = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        if self.downsample is not None:
            identity = self.downsample(x)
        out += identity
        return self.relu(out)


class SmallResNet(nn.Module):
    def __init__(self, depths=(2, 2, 2), classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        stages, inplanes = [], 16
        for i, depth in enumerate(depths):
            planes = 16 * 2 ** i
            blocks = [BasicBlock(inplanes, planes, 1 if i == 0 else 2)]
            blocks += [BasicBlock(planes, planes) for _ in range(depth - 1)]
            stages.append(nn.Sequential(*blocks))
            inplanes = planes
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(inplanes, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)), inplace=True)
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018) with functional pooling and gating."""

    def __init__(self, channels: int, squeezed: int) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(channels, squeezed, 1)
        self.fc2 = nn.Conv2d(squeezed, channels, 1)

    def forward(self, x):
        scale = F.adaptive_avg_pool2d(x, 1)
        scale = F.relu(self.fc1(scale))
        scale = torch.sigmoid(self.fc2(scale))
        return x * scale


class MobileBlock(nn.Module):
    """MobileNetV3's bneck (Howard et al. 2019): expand, depthwise, SE, project, hardswish as a
    function and as a tensor method in place."""

    def __init__(self, channels: int, expanded: int) -> None:
        super().__init__()
        self.expand = nn.Conv2d(channels, expanded, 1, bias=False)
        self.depthwise = nn.Conv2d(expanded, expanded, 3, padding=1, groups=expanded, bias=False)
        self.se = SqueezeExcite(expanded, expanded // 4)
        self.project = nn.Conv2d(expanded, channels, 1, bias=False)

    def forward(self, x):
        y = F.hardswish(self.expand(x))
        y = self.depthwise(y)
        y.relu_()
        y = self.se(y)
        return x + self.project(y)


class SmallMobileNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.blocks = nn.Sequential(*[MobileBlock(16, 64) for _ in range(3)])
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = F.hardswish(self.stem(x))
        x = self.blocks(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return F.softmax(self.head(x), dim=1)


class ShuffleUnit(nn.Module):
    """ShuffleNet V2's unit (Ma et al. 2018) without its shuffle: x.chunk, a branch, torch.cat."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        half = channels // 2
        self.branch = nn.Sequential(nn.Conv2d(half, half, 1, bias=False), nn.BatchNorm2d(half), nn.ReLU(inplace=True),
                                    nn.Conv2d(half, half, 3, padding=1, groups=half, bias=False), nn.BatchNorm2d(half))

    def forward(self, x):
        x1, x2 = x.chunk(2, dim=1)
        return torch.cat((x1, self.branch(x2)), dim=1)


class TinyUNet(nn.Module):
    """U-Net (Ronneberger et al. 2015), two levels: an up-convolution, a bilinear upsampling by
    interpolate, skip connections joined by torch.cat."""

    def __init__(self) -> None:
        super().__init__()
        self.down1 = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU())
        self.down2 = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.bottom = nn.Sequential(nn.MaxPool2d(2), nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.up1 = nn.ConvTranspose2d(16, 16, 2, stride=2)
        self.conv1 = nn.Conv2d(32, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 2, 1)

    def forward(self, x):
        d1 = self.down1(x)
        d2 = self.down2(d1)
        u = torch.cat([d2, self.up1(self.bottom(d2))], dim=1)
        u = F.relu(self.conv1(u))
        u = F.interpolate(u, scale_factor=2, mode="bilinear", align_corners=False)
        return self.conv2(torch.cat([u, d1], 1))


class OwnConv(nn.Module):
    """A convolution that holds its own weight and calls F.conv2d."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(8, 3, 3, 3))
        self.bias = nn.Parameter(torch.zeros(8))

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, stride=2, padding=1)


class WithOwnConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = OwnConv()
        self.act = nn.GELU()
        self.pool = nn.AvgPool2d(2)

    def forward(self, x):
        return self.pool(self.act(self.stem(x)))


class Functional(nn.Module):
    """The functional calls and tensor methods the importer maps, in one network: permute and a
    channels-last layer norm, contiguous, F.pad, torch.add, interpolate to a size, x.sigmoid(),
    dropout with self.training, pixel shuffle of a concatenation, flatten(2), a 1-D convolution,
    reshape, softmax over dim -1."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding="same")
        self.norm = nn.LayerNorm(8)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.conv1d = nn.Conv1d(8, 4, 3)
        self.fc = nn.Linear(4 * 126, 10)
        self.lrn = nn.LocalResponseNorm(3)
        self.shuffle = nn.PixelShuffle(2)

    def forward(self, x):
        x = F.leaky_relu(F.relu6(self.conv(x)), 0.2)
        x = self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2).contiguous()
        x = self.lrn(torch.add(x, F.avg_pool2d(F.pad(x, (1, 1, 1, 1)), 3, stride=1)))
        y = F.interpolate(F.max_pool2d(x, 2), size=(16, 16), mode="bilinear", align_corners=True)
        x = self.up(F.dropout(x * y.sigmoid(), 0.1, self.training))
        x = self.shuffle(torch.cat([x, x, x, x], 1))
        x = torch.tanh(self.conv1d(F.adaptive_max_pool2d(x, (1, 128)).flatten(2)))
        return F.softmax(self.fc(x.reshape(x.shape[0], -1)), dim=-1)


PLAIN = {
    "lenet": (LeNetFunctional, (1, 28, 28)),
    "vgg": (SmallVGG, (3, 32, 32)),
    "resnet": (SmallResNet, (3, 32, 32)),
    "mobilenet": (SmallMobileNet, (3, 32, 32)),
    "shuffle_unit": (lambda: ShuffleUnit(16), (16, 8, 8)),
    "unet": (TinyUNet, (1, 32, 32)),
    "own_conv": (WithOwnConv, (3, 16, 16)),
    "functional": (Functional, (3, 16, 16)),
}


@pytest.mark.parametrize("name", PLAIN)
def test_a_network_written_in_plain_torch_imports_to_its_own_figures_and_output(name, tmp_path):
    make, shape = PLAIN[name]
    torch.manual_seed(0)
    module = make().eval()
    graph = read_back(import_torch(module, shape, name=name), tmp_path)
    stats = analyze_graph(graph, convention="torch")
    assert stats.totals.params == sum(p.numel() for p in module.parameters())
    assert stats.totals.buffers == sum(b.numel() for b in module.buffers())
    x = torch.randn(2, *shape)
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        expected = module(x)
    assert analyze_graph(graph, batch=2, convention="torch").totals.flops == counter.get_total_flops()
    rebuilt = build_graph(graph).eval()
    rebuilt.load_state_dict(module.state_dict(), strict=True)
    with torch.no_grad():
        assert torch.allclose(rebuilt(x), expected, atol=1e-6)


@pytest.mark.parametrize("name", ["lenet", "vgg", "resnet", "unet"])
def test_a_plain_network_counts_as_fvcore_counts_it(name):
    fvcore = pytest.importorskip("fvcore.nn")
    make, shape = PLAIN[name]
    module = make().eval()
    stats = import_and_analyze(module, shape, "fvcore")
    analysis = fvcore.FlopCountAnalysis(module, torch.randn(1, *shape))
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    assert stats.totals.macs == analysis.total()


class BiasAdded(nn.Module):
    """Convolutions without a bias, each with a bias added as a parameter of its own: (C, 1, 1) at
    the top, (1, C, 1, 1) inside a block, `+=` or `+` either side."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, bias=False)
        self.bias = nn.Parameter(torch.randn(8, 1, 1))
        self.block = nn.Module()
        self.block.conv = nn.Conv2d(8, 4, 3, stride=2, bias=False)
        self.block.shift = nn.Parameter(torch.randn(1, 4, 1, 1))

    def forward(self, x):
        x = self.conv(x)
        x += self.bias
        return torch.relu(self.block.shift + self.block.conv(x))


@pytest.mark.parametrize("size", [9, 16, 23])
def test_a_bias_added_to_a_convolution_without_one_is_its_bias(size, tmp_path):
    """`self.conv(x) + self.bias` of a convolution without a bias and a parameter of one value an
    output channel was refused ('it reads the parameter or buffer 'bias' directly'); it is the
    convolution's bias: torch's parameters, FlopCounterMode's and fvcore's counts of the module, and
    its output from the spec's model given the module's weights (the bias under the layer's key)."""
    fvcore = pytest.importorskip("fvcore.nn")
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    module = BiasAdded().eval()
    text = import_torch(module, (3, size, size))
    assert "  - conv: {kind: conv2d, out: 8, kernel: 3}\n" in text and "relu" in text
    graph = read_back(text, tmp_path)
    assert analyze_graph(graph).totals.params == sum(p.numel() for p in module.parameters()) == 8 * 27 + 8 + 4 * 72 + 4
    x = torch.randn(1, 3, size, size)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        expected = module(x)
    assert analyze_graph(graph, convention="torch").totals.flops == counter.get_total_flops()
    analysis = fvcore.FlopCountAnalysis(module, x)
    analysis.unsupported_ops_warnings(False)
    assert analyze_graph(graph, convention="fvcore").totals.macs == analysis.total()
    weights = module.state_dict()
    weights["conv.bias"] = weights.pop("bias").flatten()
    weights["block.conv.bias"] = weights.pop("block.shift").flatten()
    built = build_graph(graph).eval()
    built.load_state_dict(weights, strict=True)
    with torch.no_grad():
        assert torch.allclose(built(x), expected, atol=1e-6)


@pytest.mark.parametrize("shape", [(1, 8, 7, 7), (7,), (1,)])
def test_a_parameter_added_to_a_convolution_that_is_no_bias_is_still_refused(shape):
    """A parameter added to a convolution's output (8×7×7) that is not one value an output channel
    (one value a position, a column, or one for all) is no bias: refused as before."""
    from archcalc.errors import UserError

    module = BiasAdded()
    module.bias = nn.Parameter(torch.zeros(shape))
    with pytest.raises(UserError, match="it reads the parameter or buffer 'bias' directly"):
        import_torch(module, (3, 9, 9))


def import_and_analyze(module, shape, convention):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        return analyze_graph(read_back(import_torch(module, shape), Path(folder)), convention=convention)


def test_the_plain_resnet_is_written_with_its_blocks_and_sequential_names(tmp_path):
    text = import_torch(SmallResNet().eval(), (3, 32, 32), name="small_resnet")
    assert "  - layer2: {kind: basic_block, repeat: 2, " in text
    assert "      - downsample:\n" in text or "kind: sequential" in text
    graph = read_back(text, tmp_path)
    names = {node.name for node in graph.nodes}
    assert {"layer2.0.downsample.0", "layer2.0.downsample.1", "layer1.1.relu", "layer1.1.relu_1", "layer1.1.add"} <= names


def test_activations_in_place_in_the_module_are_written_in_place(tmp_path):
    """ReLU(inplace=True), F.relu(x, inplace=True), x.relu_() and Hardswish(inplace=True) write into
    their input (torch's docs); ReLU() and torch.sigmoid do not: the spec says so (the memory model
    counts no new tensor for a layer in place), and its torch model's modules are in place alike."""
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.act = torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU(inplace=True)
            self.conv2, self.act2, self.hs = torch.nn.Conv2d(4, 4, 1), torch.nn.ReLU(), torch.nn.Hardswish(inplace=True)

        def forward(self, x):
            x = torch.nn.functional.relu(self.conv2(self.act(self.conv(x))), inplace=True).relu_()
            return torch.sigmoid(self.hs(self.act2(x)))

    text = import_torch(Net(), (3, 8, 8))
    assert text.endswith("layers:\n  - conv: {kind: conv2d, out: 4, kernel: 3}\n  - act: {kind: relu, inplace: true}\n"
                         "  - conv2: {kind: conv2d, out: 4, kernel: 1}\n  - relu: {kind: relu, inplace: true}\n"
                         "  - relu_1: {kind: relu, inplace: true}\n  - act2: relu\n"
                         "  - hs: {kind: hardswish, inplace: true}\n  - sigmoid: sigmoid\n")
    path = tmp_path / "net.yaml"
    path.write_text(text, encoding="utf-8")
    rebuilt = build_graph(load_graph(path))
    assert [rebuilt.get_submodule(n).inplace for n in ("act", "act2", "hs")] == [True, False, True]


def test_names_yaml_reads_as_other_values_are_quoted_and_read_back_as_names(tmp_path):
    """A module attribute `on`, `off`, `yes`, `no` or `null`, and a block of a class `On`, were
    written unquoted, which YAML reads as true, false or null: the import refused its own spec."""
    class On(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(4, 4, 3, padding=1)

        def forward(self, x):
            return self.conv(x)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.on, self.off, self.null = nn.Conv2d(3, 4, 3), nn.ReLU(), On()
            self.yes, self.no = On(), nn.Sequential(nn.ReLU())

        def forward(self, x):
            return self.no(self.yes(self.null(self.off(self.on(x)))))

    text = import_torch(Net(), (3, 8, 8))
    assert "blocks:\n  'on':\n" in text and "  - 'null': 'on'\n  - 'yes': 'on'\n" in text, text
    graph = read_back(text, tmp_path)
    assert [node.name for node in graph.nodes] == ["on", "off", "null.conv", "yes.conv", "no.0"]


# --- errors: one message, exit 2, no traceback ------------------------------------------------

MODELS = '''\
import torch
from torch import nn
import torch.nn.functional as F


class Elu(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        return F.elu(self.conv(x))


class Gate(nn.Module):
    def forward(self, x):
        if x.sum() > 0:
            return x
        return -x


class Constant(nn.Module):
    def forward(self, x):
        return x + 1


class Shared(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        return self.conv(self.conv(x))


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Conv2d(3, 3, 3, padding=1)
        self.second = nn.Conv2d(3, 3, 3, padding=1)
        self.second.weight = self.first.weight

    def forward(self, x):
        return self.second(self.first(x))


class TiedFunctional(Tied):
    def forward(self, x):
        return self.second(F.conv2d(x, self.first.weight, self.first.bias, padding=1))


class Aliased(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.features = nn.Sequential(self.conv, nn.ReLU())

    def forward(self, x):
        return self.features(x)


class Flat(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 2)

    def forward(self, x):
        return self.fc(torch.flatten(x, 1))


class Two(nn.Module):
    def forward(self, x, y):
        return x + y


class Named(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        return {"out": self.conv(x)}


class Unused(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)
        self.side = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        self.side(x)
        return self.conv(x)


class Reflect(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect")

    def forward(self, x):
        return self.conv(x)


class Sliced(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return self.conv(x)[:, :2]


def make(width):
    return nn.Sequential(nn.Conv2d(3, width, 1))


def one_layer():
    return nn.Conv2d(3, 4, 1)


def not_a_module():
    return [1, 2]


NUMBER = 3


class Unchanged(nn.Module):
    def forward(self, x):
        return x


class AndItsInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        return x, self.relu(x)


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.relu = nn.ReLU()

    def forward(self, x):
        y = self.relu(x)
        return y, y


class ReturnsNothing(nn.Module):
    def forward(self, x):
        return ()


class Exits(nn.Module):
    def __init__(self):
        import sys

        sys.exit(3)


class Bicubic(nn.Module):
    def __init__(self):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="bicubic")

    def forward(self, x):
        return self.up(x)


class Unread(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("table", torch.zeros(3))
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return self.conv(x)


class Talks(nn.Module):
    def __init__(self):
        super().__init__()
        print("built")
        self.conv = nn.Conv2d(3, 4, 1)

    def forward(self, x):
        print("ran")
        return self.conv(x)


class AntiAliased(nn.Module):
    def forward(self, x):
        return F.interpolate(x, size=(4, 4), mode="bilinear", antialias=True)


class SoftmaxIn64(nn.Module):
    def forward(self, x):
        return F.softmax(x, dim=1, dtype=torch.float64)


class TorchSoftmaxIn16(nn.Module):
    def forward(self, x):
        return torch.softmax(x, 1, torch.float16)


class MeanIn64(nn.Module):
    def forward(self, x):
        return x.mean((2, 3), dtype=torch.float64)


class SoftmaxIn32(nn.Module):
    def forward(self, x):
        return F.softmax(x, dim=1, dtype=torch.float32).mean((2, 3), dtype=torch.float32)


class MonteCarlo(nn.Module):
    def forward(self, x):
        return F.dropout(x, 0.5, training=True)


class MonteCarloByDefault(nn.Module):
    def forward(self, x):
        return F.dropout2d(x, 0.5)
'''


@pytest.fixture
def models(tmp_path):
    (tmp_path / "plain_models.py").write_text(MODELS, encoding="utf-8")
    return tmp_path


def run_import(folder: Path, *args: str):
    """`archcalc import torch ARGS…` from `folder`, in this process (a fresh one: `run_process`)."""
    return run_in(folder, "import", "torch", *args)


def test_a_call_without_a_layer_kind_names_the_node_its_module_and_the_operation(models):
    result = run_import(models, "plain_models:Elu", "--input", "3x8x8")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("error: node 'elu' (the top-level forward, torch.nn.functional.elu) has no layer kind "
                             f"in archcalc\n  hint: the kinds are: {KINDS}\n")


def test_a_module_that_is_a_layer_and_holds_layers_is_refused_saying_how_to_write_it():
    """A fuzzer's: a module calling F.conv2d on a weight of its own beside a child module (its
    ReLU) was refused as a spec with a layer and a group of one name ('give each layer a distinct
    name', which the importing user cannot do). Its weight would be 'blk.conv2d.weight' in a spec,
    not the module's 'blk.weight': the refusal says so, and how to write the module."""
    import torch.nn.functional as F

    from archcalc.errors import UserError

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight, self.act = nn.Parameter(torch.ones(4, 3, 3, 3)), nn.ReLU()

        def forward(self, x):
            return self.act(F.conv2d(x, self.weight, padding=1))

    net = nn.Sequential()
    net.add_module("blk", Block())
    with pytest.raises(UserError) as raised:
        import_torch(net, "3x8x8")
    assert str(raised.value).startswith("module 'blk' of ") and "is a layer (conv2d, on a weight of its own) and " \
        "holds other layers too ('blk.act')" in str(raised.value)
    assert raised.value.hint.startswith("give the weight of 'blk' to a child module")


FD_WRITER = """
import os
import torch.nn as nn

os.write(1, b"written to descriptor 1 at import\\n")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        os.write(1, b"written to descriptor 1 in forward\\n")
        return self.conv(x)


class Stop(BaseException):
    pass


def stops():
    raise Stop("past Exception")
"""


def test_what_model_code_writes_to_descriptor_1_goes_to_stderr_and_stdout_holds_the_spec(tmp_path):
    """A fuzzer's: docs/import.md says stdout holds the spec alone, but a write to file descriptor 1
    (a C extension's, a subprocess's) went to stdout before the spec. In a fresh process."""
    (tmp_path / "fd_writer.py").write_text(FD_WRITER, encoding="utf-8")
    result = run_process("import", "torch", "fd_writer:Net", "--input", "3x8x8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("name: net\n") and "descriptor 1" not in result.stdout
    assert "written to descriptor 1 at import\n" in result.stderr and "in forward" in result.stderr


AT_EXIT = """
import atexit
import os

from torch import nn

atexit.register(lambda: print("printed at exit"))
atexit.register(lambda: os.write(1, b"written to descriptor 1 at exit\\n"))


def net():
    return nn.Sequential(nn.Conv2d(3, 4, 3))


def fails():
    raise ValueError("no model")
"""


def test_what_model_code_prints_at_exit_goes_to_stderr_after_the_spec(tmp_path):
    """Exit handlers the model's code registers (atexit) ran after the spec was printed and wrote
    after it on stdout: `archcalc import torch … > net.yaml` held their lines after its layers (and
    a failed import's stdout held them alone). In a fresh process."""
    (tmp_path / "at_exit.py").write_text(AT_EXIT, encoding="utf-8")
    result = run_process("import", "torch", "at_exit:net", "--input", "3x8x8", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("layers:\n  - '0': {kind: conv2d, out: 4, kernel: 3}\n"), result.stdout
    assert "written to descriptor 1 at exit\n" in result.stderr and "printed at exit\n" in result.stderr
    result = run_process("import", "torch", "at_exit:fails", "--input", "3x8x8", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, "")


HOST = """
import atexit
from typer.testing import CliRunner
from archcalc.cli import app

atexit.register(lambda: print("the host's line at exit"))
for _ in range(2):
    assert CliRunner().invoke(app, ["import", "torch", "at_exit:net", "--input", "3x8x8"]).exit_code == 0
"""


def test_a_program_that_imports_in_its_own_process_keeps_its_exit_handlers_stdout(tmp_path):
    """A program calling the import in-process (CliRunner) had every exit handler's stdout sent to
    stderr, its own ones too (registered before the import): only the model's code's are."""
    (tmp_path / "at_exit.py").write_text(AT_EXIT, encoding="utf-8")
    result = subprocess.run([sys.executable, "-c", HOST], check=False, cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "the host's line at exit\n", result.stdout
    assert result.stderr.count("printed at exit\n") == 1 and "written to descriptor 1 at exit" in result.stderr


def test_model_code_raising_past_exception_is_one_error(tmp_path):
    """A fuzzer's: a BaseException subclass raised by the model's code was a traceback, exit 1."""
    (tmp_path / "fd_writer.py").write_text(FD_WRITER, encoding="utf-8")
    result = run_import(tmp_path, "fd_writer:stops", "--input", "3x8x8")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("error: the code of 'fd_writer:stops' raised Stop: past Exception\n  hint: ")


def test_a_transposed_convolution_given_its_output_size_at_the_call_is_refused_not_mis_written():
    """A fuzzer's: ConvTranspose2d(3, 4, 3, stride=2, padding=1)(x, output_size=[16, 16]) on 8×8 is
    16×16 in torch (an output padding of 1 taken from the call), and was written with the
    module's output padding of 0 (15×15); the import's own check then blamed archcalc."""
    from archcalc.errors import UserError

    class Up(nn.Module):
        def __init__(self):
            super().__init__()
            self.up = nn.ConvTranspose2d(3, 4, 3, stride=2, padding=1)

        def forward(self, x):
            return self.up(x, output_size=[16, 16])

    assert tuple(Up()(torch.zeros(1, 3, 8, 8)).shape) == (1, 4, 16, 16)
    with pytest.raises(UserError, match="cannot be written exactly: output_size given at the call"):
        import_torch(Up(), "3x8x8")
    assert "kind: opaque" in import_torch(Up(), "3x8x8", allow_opaque=True)


def test_an_arithmetic_with_a_constant_is_refused_not_dropped(models):
    result = run_import(models, "plain_models:Constant", "--input", "3x8x8")
    assert result.returncode == 2
    assert result.stderr == ("error: node 'add' (the top-level forward, _operator.add) cannot be written exactly: "
                             "an arithmetic with a constant (archcalc's add and multiply take tensors only)\n"
                             f"  hint: the kinds are: {KINDS}\n")


def test_a_model_fx_cannot_trace_gets_fx_message_where_and_the_fix(models):
    result = run_process("import", "torch", "plain_models:Gate", "--input", "3x8x8", cwd=models)  # a fresh process: nothing torch logs reaches stderr
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"error: torch.fx cannot trace 'gate' ({models / 'plain_models.py'}:17): symbolically traced variables "
        "cannot be used as inputs to control flow\n"
        "  hint: torch.fx records the operations without running them, so Python control flow that depends on a "
        "tensor (an if or a loop on its values or sizes) cannot be traced: make it depend on a constructor "
        "argument (--args), or write it with tensor operations (torch.where)\n")


@pytest.mark.parametrize("target, message", [
    ("Two", ("'two' takes 2 inputs (x, y); an archcalc model takes one tensor\n"
             "  hint: import a wrapper module whose forward takes one tensor")),
    ("Named", ("'named' returns a dict; archcalc models return a tensor or a tuple of tensors\n"
               "  hint: import a wrapper module that returns a tuple")),
    ("Unused", ("the result of 'side' (conv2d) in 'unused' is never used\n"
                "  hint: archcalc counts the layers that lead to an output: remove it, or return it")),
    ("Reflect", ("node 'conv' (module 'conv', torch.nn.modules.conv.Conv2d) cannot be written exactly: padding_mode "
                 f"'reflect' (archcalc's convolutions pad with zeros)\n  hint: the kinds are: {KINDS}")),
    ("Sliced", (f"node 'getitem' (the top-level forward, _operator.getitem) has no layer kind in archcalc\n"
                f"  hint: the kinds are: {KINDS}")),
])
def test_what_a_spec_cannot_hold_exactly_is_refused(models, target, message):
    result = run_import(models, f"plain_models:{target}", "--input", "3x8x8")
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


class Residuals(nn.Module):
    """WaveNet's loop, `for block in self.blocks: x = x + block(x)`: the sums run in the model's
    forward, between the children of a module list; `act` a module called there too."""

    def __init__(self, act: bool = False):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Sequential(nn.Conv1d(4, 4, 3, padding=1), nn.ReLU()) for _ in range(3)])
        self.act = nn.ReLU() if act else None

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x)
            x = self.act(x) if self.act is not None else x
        return x


def test_a_call_between_the_children_of_a_module_list_is_named_inside_it(tmp_path):
    """The sums between 'blocks.0' and 'blocks.1', and 'blocks.1' and 'blocks.2', were refused as
    layers of 'blocks' that do not run one after the other (a spec's group is one stretch of
    layers). Named inside the list ('blocks.add'), the model imports and computes its output."""
    net = Residuals().eval()
    text = import_torch(net, (4, 16))
    assert "        - add: {kind: add, from: [input, '0.1']}\n        - '1': sequential\n" in text, text
    assert text.endswith("        - '2': sequential\n  - add_2: {kind: add, from: [blocks.add_1, blocks.2.1]}\n"), text
    assert_computes_as(net, text, tmp_path, torch.rand(1, 4, 16))


def test_a_module_called_between_the_children_of_a_module_list_says_where_and_how_to_write_it():
    """A module's call keeps its module's name ('act', not a name inside 'blocks'), and the sum before
    it is then followed by no layer of 'blocks': refused, naming the call and the layers around it
    (the message named neither, nor a way to write the model)."""
    from archcalc.errors import UserError

    with pytest.raises(UserError) as error:
        import_torch(Residuals(act=True), (4, 16))
    assert error.value.message == ("the layers of module 'blocks' do not run one after the other ('add', not in it, "
                                   "runs after 'blocks.0.1' and before 'blocks.1.0'): a spec's group is one stretch of "
                                   "layers")
    assert error.value.hint == ("run 'add' inside a module of 'blocks' (a block whose forward is x + body(x)), or "
                                "outside the stretch of its layers")


def test_a_transpose_is_the_permute_that_swaps_its_axes(tmp_path):
    """`x.transpose(1, 2)`, an audio model's (N, C, L) to (N, L, C) before a layer norm, had no layer
    kind: it is the permute that swaps the two axes."""
    class Tokens(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.norm, self.fc = nn.Conv1d(3, 8, 3, padding=1), nn.LayerNorm(8), nn.Linear(8, 8)

        def forward(self, x):
            return torch.transpose(self.fc(self.norm(self.conv(x).transpose(1, 2))), -1, -2)

    net = Tokens().eval()
    text = import_torch(net, (3, 16))
    assert "  - transpose: {kind: permute, dims: [0, 2, 1]}\n" in text
    assert_computes_as(net, text, tmp_path, torch.rand(1, 3, 16))


def test_a_negative_pad_is_refused_as_the_call_it_is():
    """F.pad(x, (-1, -1, -1, -1)) cuts a pixel off each side: it was refused by the spec's check of
    the layer ("layer 'pad' (pad2d) cannot be written: field 'padding' must be at least 0"), naming
    neither the call nor its module."""
    from archcalc.errors import UserError

    class Cut(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return F.pad(self.conv(x), (-1, -1, -1, -1))

    with pytest.raises(UserError) as error:
        import_torch(Cut(), (3, 8, 8))
    assert error.value.message == ("node 'pad' (the top-level forward, torch.nn.functional.pad) cannot be written "
                                   "exactly: padding [-1, -1, -1, -1] (a negative pad cuts: archcalc pads by 0 or more)")


class Contiguous(nn.Module):
    """An in-place call on `y.contiguous()`: the tensor itself where y is contiguous (what is written
    into it is in y too), a copy of a permuted y (y keeps its values)."""

    def __init__(self, permuted: bool):
        super().__init__()
        self.permuted, self.conv, self.out = permuted, nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 1)
        if not permuted:
            self.side = nn.Conv2d(3, 4, 3)

    def forward(self, x):
        y = self.conv(x)
        if self.permuted:
            z = y.permute(0, 1, 3, 2).contiguous()
            z.relu_()
        else:
            z = y.contiguous()
            z.add_(self.side(x))
        return self.out(y) + z


@pytest.mark.parametrize("permuted", [False, True])
def test_an_in_place_call_on_a_contiguous_tensor_is_read_where_torch_reads_it(permuted, tmp_path):
    """x.contiguous() was read as x's name alone: `z.add_(…)` on the tensor itself left `self.out(y)`
    reading the convolution, not the sum; `z.relu_()` on a copy was written `inplace: true` on the
    permute, a view of the convolution, so the spec's model rectified what `self.out` reads."""
    net = Contiguous(permuted).eval()
    assert_computes_as(net, import_torch(net, (3, 8, 8)), tmp_path, torch.rand(1, 3, 8, 8) - 0.5)


class AddsInPlace(nn.Module):
    """`x += …` and `x *= …` on a tensor a second name holds (a block's input its caller reads again)."""

    def __init__(self):
        super().__init__()
        self.conv, self.side, self.gate, self.out = (nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3),
                                                     nn.Conv2d(4, 4, 1))

    def forward(self, x):
        y = self.conv(x)
        z = y.contiguous()
        z += self.side(x)
        z *= torch.sigmoid(self.gate(x))
        return self.out(y) + z


def test_a_sum_in_place_on_a_tensor_another_name_holds_is_read_there_too(tmp_path):
    """fx's Proxy has no __iadd__: `z += w` was traced as `z = z + w`, and `self.out(y)` read the
    convolution where torch reads the sum (y is z). The layers keep the names of `+` and `*`."""
    net = AddsInPlace().eval()
    text = import_torch(net, (3, 8, 8))
    assert text.endswith("  - add: {kind: add, from: [conv, side]}\n  - gate: {kind: conv2d, from: input, out: 4, kernel: 3}\n"
                         "  - sigmoid: sigmoid\n  - mul: {kind: multiply, from: [add, sigmoid]}\n"
                         "  - out: {kind: conv2d, out: 4, kernel: 1}\n  - add_1: {kind: add, from: [out, mul]}\n"), text
    assert_computes_as(net, text, tmp_path, torch.rand(1, 3, 8, 8))


class SizedBy(nn.Module):
    """A setting computed from a tensor's size (`how`), which the model computes again at each input."""

    def __init__(self, how: str):
        super().__init__()
        self.how, self.conv, self.pool = how, nn.Conv2d(3, 4, 3, padding=1), nn.AdaptiveAvgPool2d((None, 2))
        if how in ("shape", "size"):
            self.down = nn.Conv2d(4, 4, 3, stride=2, padding=1)

    def forward(self, x):
        x = self.conv(x)
        if self.how == "twice":
            return F.interpolate(x, size=(x.shape[2] * 2, x.shape[3] * 2), mode="bilinear")
        if self.how == "whole map":
            return F.avg_pool2d(x, x.size()[2:])
        if self.how == "none":
            return self.pool(x)
        return x + F.interpolate(self.down(x), size=x.shape[-2:] if self.how == "shape" else x.size()[2:])


@pytest.mark.parametrize("how, node, says", [
    ("twice", "interpolate", "a setting computed from the sizes of its tensors ('mul', 16 at this input)"),
    ("whole map", "avg_pool2d", "a setting computed from the sizes of its tensors ('getitem', (8, 8) at this input)"),
    ("none", "pool", "output size (None, 2) (None keeps the input's size along an axis"),
])
def test_a_setting_computed_from_a_size_is_refused_not_written_as_the_traced_number(how, node, says):
    """Imported at 3×8×8 as `size: 16`, `kernel: 8` and `output_size: [8, 2]`: at 3×12×12 the spec
    gave 16×16, 2×2 and 8×2, where the model gives 24×24, 1×1 and 12×2 (exit 0). As an opaque layer
    it is exact: measured at this input, refused at another."""
    from archcalc.errors import UserError

    with pytest.raises(UserError) as error:
        import_torch(SizedBy(how), (3, 8, 8))
    assert f"'{node}' " in error.value.message and says in error.value.message, error.value.message
    assert f"  - {node}: {{kind: opaque, " in import_torch(SizedBy(how), (3, 8, 8), allow_opaque=True)


def test_a_setting_computed_from_a_rank_alone_is_the_same_at_every_input_and_imported():
    """`dim=y.dim() - 3` is computed while tracing too, but of the rank, which no input size changes."""
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            y = self.conv(x)
            return F.softmax(y, dim=y.dim() - 3)

    assert import_torch(Net(), (3, 8, 8)).endswith("  - conv: {kind: conv2d, out: 4, kernel: 3}\n  - softmax: softmax\n")


@pytest.mark.parametrize("how", ["shape", "size"])
def test_an_upsampling_to_another_maps_size_reads_that_map(how, tmp_path):
    """`F.interpolate(y, size=x.shape[-2:])` (a feature pyramid's) was written `size: 8`: at 3×12×12
    the spec's sum refused shapes the model adds. It reads the map it is sized to, at every input."""
    text = import_torch(SizedBy(how), (3, 8, 8))
    assert "  - interpolate: {kind: upsample2d, from: [down, conv]}\n" in text
    net = SizedBy(how).eval()
    assert_computes_as(net, text, tmp_path, torch.rand(1, 3, 12, 12), (3, 12, 12))


@pytest.mark.parametrize("allow_opaque", [False, True])
def test_a_reshape_that_writes_its_batch_as_a_number_is_refused_even_as_an_opaque_layer(allow_opaque):
    """`x.reshape(1, -1)` traced at a batch of 1 was imported as a flatten: at a batch of 2 torch
    joins the batch too, (1, 384), where the spec's flatten gives (2, 192). -1 or x.size(0) follow
    the batch and stay a flatten."""
    from archcalc.errors import UserError

    class Net(nn.Module):
        def __init__(self, sizes):
            super().__init__()
            self.sizes = sizes

        def forward(self, x):
            return x.reshape(*[x.size(0) if s is None else s for s in self.sizes])

    assert tuple(Net((1, -1))(torch.zeros(2, 3, 8, 8)).shape) == (1, 384)  # torch's, at another batch
    with pytest.raises(UserError) as error:
        import_torch(Net((1, -1)), (3, 8, 8), allow_opaque=allow_opaque)
    assert error.value.message == ("node 'reshape' (the top-level forward, Tensor.reshape) cannot be written exactly: its "
                                "batch is written as the number 1 (a flatten at that batch alone: at another, the batch "
                                "is joined with the sizes); write x.flatten(1) or x.view(x.size(0), -1) "
                                f"(at {__file__}:{Net.forward.__code__.co_firstlineno + 1})")
    for sizes in ((-1, 192), (None, -1)):
        assert import_torch(Net(sizes), (3, 8, 8)).endswith("layers:\n  - reshape: flatten\n")


class ViewedAfter(nn.Module):
    """The classifier of PyTorch's CIFAR-10 tutorial (two convolutions, each with a max pooling, the
    second `last`, then `x.view(-1, 16 * 5 * 5)` into three linears), as older code flattens."""

    def __init__(self, last):
        super().__init__()
        self.conv1, self.conv2, self.pool, self.last = nn.Conv2d(3, 6, 5), nn.Conv2d(6, 16, 5), nn.MaxPool2d(2), last
        self.fc1, self.fc2, self.fc3 = nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x):
        x = self.last(torch.relu(self.conv2(self.pool(torch.relu(self.conv1(x))))))
        x = x.view(-1, 16 * 5 * 5)
        return self.fc3(torch.relu(self.fc2(torch.relu(self.fc1(x)))))


def test_a_view_of_minus_one_beside_numbers_is_a_flatten_at_its_input(tmp_path):
    """PyTorch's tutorial classifier, `x.view(-1, 400)` after max poolings traced at 3×32×32 (16×5×5
    after the batch), was refused ('its batch is written as -1 beside the numbers 400'): it is a
    flatten there, at every batch (-1 follows it), as `torch.flatten(x, 1)` is before its
    `nn.Linear(400, 120)`: torch's parameters, FlopCounterMode's count and the module's output from
    the spec's model given its weights, at batches 1 and 3. After an adaptive pooling to 5×5 last the
    sizes after the batch are 16×5×5 at every input, a dropout after it too (refused as well,
    'beside the numbers 400'): torch's shapes and parameters there too."""
    from torch.utils.flop_counter import FlopCounterMode

    torch.manual_seed(0)
    module = ViewedAfter(nn.MaxPool2d(2)).eval()
    graph = read_back(import_torch(module, (3, 32, 32)), tmp_path)
    built = build_graph(graph).eval()
    built.load_state_dict(module.state_dict(), strict=True)
    for batch in (1, 3):
        x = torch.randn(batch, 3, 32, 32)
        counter = FlopCounterMode(display=False)
        with counter, torch.no_grad():
            expected = module(x)
        with torch.no_grad():
            assert torch.allclose(built(x), expected, atol=1e-6)
        stats = analyze_graph(graph, batch=batch, convention="torch")
        assert stats.totals.flops == counter.get_total_flops()
        assert stats.totals.params == sum(p.numel() for p in module.parameters())
    for last in (nn.AdaptiveAvgPool2d(5), nn.Sequential(nn.AdaptiveAvgPool2d(5), nn.Dropout())):
        pooled = ViewedAfter(last).eval()
        graph = read_back(import_torch(pooled, (3, 32, 32)), tmp_path, "pooled.yaml")
        for size in (32, 40, 57):
            layers = analyze_graph(graph, (3, size, size)).layers
            assert layers[-1].shape == tuple(pooled(torch.zeros(1, 3, size, size)).shape)
            assert sum(layer.figures.weight + layer.figures.bias for layer in layers) == sum(
                p.numel() for p in pooled.parameters())


@pytest.mark.parametrize("target, message", [
    # a forward that returns its input was an IndexError's traceback; with another output, archcalc's mistake
    ("Unchanged", "'unchanged' returns its input: no layer makes it"),
    ("AndItsInput", "'and_its_input' returns its input as an output: no layer makes it"),
    # one tensor returned twice was archcalc's mistake ('outputs' names 'relu' twice); none, "returns its input"
    ("Twice", "'twice' returns the result of 'relu' twice (outputs 1 and 2): a spec's outputs name each layer once"),
    ("ReturnsNothing", "'returns_nothing' returns no tensor\n"),
    # the model's sys.exit(3) ended the import with exit 3 and nothing said
    ("Exits", "the code of 'plain_models:Exits' called sys.exit(3) while being imported"),
    # both were blamed on archcalc ("this is archcalc's mistake")
    ("Bicubic", ("node 'up' (module 'up', torch.nn.modules.upsampling.Upsample) cannot be written exactly: mode "
                 "'bicubic' (archcalc upsamples 2-axis maps by nearest or bilinear)")),
    ("Unread", "'unread' holds the buffer 'table' (3 values), which no layer it runs reads"),
])
def test_a_model_whose_output_is_its_input_or_that_exits_is_one_error(models, target, message):
    result = run_import(models, f"plain_models:{target}", "--input", "3x8x8")
    assert (result.returncode, result.stdout) == (2, "") and result.stderr.startswith(f"error: {message}"), result.stderr
    assert result.stderr.count("error:") == 1 and "Traceback" not in result.stderr



@pytest.mark.parametrize("target, node, reason", [
    ("AntiAliased", "interpolate' (the top-level forward, torch.nn.functional.interpolate)",
     "antialias (a resize that filters before it samples: another operator)"),
    ("SoftmaxIn64", "softmax' (the top-level forward, torch.nn.functional.softmax)",
     "dtype float64 (a layer's output keeps its input's dtype)"),
    ("TorchSoftmaxIn16", "softmax' (the top-level forward, torch.softmax)",
     "dtype float16 (a layer's output keeps its input's dtype)"),
    ("MeanIn64", "mean' (the top-level forward, Tensor.mean)", "dtype float64 (a layer's output keeps its input's dtype)"),
    ("MonteCarlo", "dropout' (the top-level forward, torch.nn.functional.dropout)",
     "training=True (a dropout at inference too; archcalc's drops in training only)"),
    ("MonteCarloByDefault", "dropout2d' (the top-level forward, torch.nn.functional.dropout2d)",
     "training=True (a dropout at inference too; archcalc's drops in training only)"),
])
def test_an_argument_that_changes_the_result_is_not_dropped(models, target, node, reason):
    """An attacking review found these imported as the plain kind, exit 0: the spec's model then gave
    other values (antialiased bilinear: by up to 0.59; Monte-Carlo dropout: 2.3) or another dtype
    (softmax in float64: the table's bytes a half of the module's)."""
    result = run_import(models, f"plain_models:{target}", "--input", "3x8x8")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith(f"error: node '{node} cannot be written exactly: {reason}\n"), result.stderr


def test_a_softmax_or_mean_in_its_inputs_own_dtype_is_imported(models):
    """dtype=torch.float32 on a float32 input changes nothing: imported (the review of the refusal above)."""
    result = run_import(models, "plain_models:SoftmaxIn32", "--input", "3x8x8")
    assert result.returncode == 0 and result.stdout.endswith("  - softmax: softmax\n  - mean: mean\n"), result

def test_what_the_model_prints_goes_to_stderr_and_the_spec_alone_to_stdout(models):
    """A print in the model's code went first into the spec written to stdout, which was then no YAML."""
    result = run_import(models, "plain_models:Talks", "--input", "3x8x8")
    assert result.returncode == 0 and result.stdout.startswith("name: talks\n"), result.stdout
    assert "built\n" in result.stderr and "ran\n" in result.stderr


def test_shared_weights_are_refused(models):
    result = run_import(models, "plain_models:Shared", "--input", "3x8x8")
    assert result.returncode == 2
    assert result.stderr == ("error: module 'conv' of 'shared' is called more than once and has parameters: shared "
                             "weights have no spec form\n  hint: give each use its own module\n")


def test_a_module_of_buffers_called_twice_is_refused_as_shared_not_blamed_on_archcalc():
    """BatchNorm2d(affine=False) called twice holds no parameter, only running statistics: the
    spec had a batch norm for each call, 14 buffer values to the module's 7, "archcalc's mistake"."""
    from archcalc.errors import UserError

    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.bn = nn.BatchNorm2d(3, affine=False)

        def forward(self, x):
            return self.bn(self.bn(x))

    with pytest.raises(UserError) as error:
        import_torch(Twice(), (3, 8, 8))
    assert str(error.value) == ("module 'bn' of 'twice' is called more than once and has buffers: shared weights have "
                                "no spec form\n  hint: give each use its own module")


@pytest.mark.parametrize("target", ["Tied", "TiedFunctional"])
def test_a_weight_two_modules_hold_is_refused_not_blamed_on_archcalc(models, target):
    """Two convolutions of one tied weight hold 3 × 3 × 3 × 3 + 2 × 3 = 87 parameters, not 168:
    the spec, whose layers own their weights, would count it twice. The import refused it as
    "archcalc's mistake" (168 parameters in the spec, 87 in the module)."""
    result = run_import(models, f"plain_models:{target}", "--input", "3x8x8")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (f"error: module 'second' of '{'tied' if target == 'Tied' else 'tied_functional'}' holds "
                             "'second.weight', which is 'first.weight' of another module: shared weights have no spec "
                             "form\n  hint: import the model with each module's weights its own (untie them)\n")


def test_a_module_registered_under_two_names_is_refused_not_blamed_on_archcalc(models):
    """A child held under a second name too (`self.features = nn.Sequential(self.conv, …)`) is
    traced under its first: the module's state dict has 'features.0.weight' beside 'conv.weight',
    the spec's the one. That was "archcalc's mistake" (the state dicts differ)."""
    result = run_import(models, "plain_models:Aliased", "--input", "3x8x8")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == ("error: 'aliased' holds 'conv.bias' under a second name too, 'features.0.bias' (a module "
                             "or tensor registered twice): a spec's layers hold each tensor once, under one name\n"
                             "  hint: import a module that registers it once (delete the second name, or make it a "
                             "property)\n")


class LayersInAList(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem, self.layers = nn.Conv2d(3, 4, 3), [nn.Conv2d(4, 4, 3), nn.ReLU()]

    def forward(self, x):
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x)
        return x


def test_layers_held_in_a_plain_list_get_the_fix_of_registering_them():
    """Layers in a plain list are no submodules (torch counts 112 parameters, the stem's alone): fx's
    'module is not installed as a submodule' came with the hint on control flow on a tensor, which
    has nothing to do with it."""
    from archcalc.errors import UserError

    model = LayersInAList()
    assert sum(p.numel() for p in model.parameters()) == 4 * 3 * 3 * 3 + 4
    with pytest.raises(UserError) as error:
        import_torch(model, (3, 12, 12), name="net")
    assert error.value.message.startswith("torch.fx cannot trace 'net' (")
    assert error.value.message.endswith("): module is not installed as a submodule")
    assert error.value.hint == ("a module held in a plain list, dict or tuple is no submodule (nor are its parameters "
                                "the model's): hold it in nn.ModuleList, nn.ModuleDict or nn.Sequential, or as an "
                                "attribute of the module")


def test_a_tensor_held_as_a_buffer_where_its_layer_holds_a_parameter_is_the_model_s_not_archcalc_s():
    """A convolution whose weight is a buffer (a frozen weight, register_buffer), or a batch norm
    whose running mean is a parameter: torch counts 0 parameters and 108 buffer values for the
    first, the spec 108 parameters; the import blamed itself ('archcalc's mistake, please report')."""
    from archcalc.errors import UserError

    frozen = nn.Sequential(nn.Conv2d(3, 4, 3, bias=False))
    del frozen[0].weight
    frozen[0].register_buffer("weight", torch.randn(4, 3, 3, 3))
    assert (sum(p.numel() for p in frozen.parameters()), sum(b.numel() for b in frozen.buffers())) == (0, 108)
    with pytest.raises(UserError) as error:
        import_torch(frozen, (3, 8, 8), name="net")
    assert error.value.message == ("'net' holds '0.weight' as a buffer, which its layer (a conv2d) holds as a "
                                   "parameter: torch counts it among the module's buffers, the spec among its parameters")
    assert error.value.hint == ("register it as a parameter (nn.Parameter(tensor, requires_grad=False) keeps it frozen), "
                                "as its layer kind holds it")
    learned = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).eval()
    del learned[1].running_mean
    learned[1].running_mean = nn.Parameter(torch.zeros(4), requires_grad=False)
    with pytest.raises(UserError, match=r"^'net' holds '1.running_mean' as a parameter, which its layer \(a "
                                        r"batchnorm2d\) holds as a buffer: "):
        import_torch(learned, (3, 8, 8), name="net")


class Traced(nn.Module):
    """A convolution and a forward torch.fx stops in, for one reason or another."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)


class OnValues(Traced):
    def forward(self, x):
        return self.conv(x) if x.sum() > 0 else x  # control flow on a tensor's values


class WithLen(Traced):
    def forward(self, x):
        return self.conv(x) * len(x)  # a Python builtin given the traced tensor


class WithRange(Traced):
    def forward(self, x):
        for _ in range(x.size(0)):  # a traced size where Python needs an int
            x = x + 0
        return self.conv(x)


class WithFlag(Traced):
    def forward(self, x, flag=None):
        return x if flag else self.conv(x)  # an argument besides the tensor, None when called with one


class WithScale(Traced):
    def forward(self, x, scale):
        return self.conv(x) * int(scale)  # an argument besides the tensor, without a default


class WithTensorOfShape(Traced):
    def forward(self, x):
        return self.conv(x) * torch.tensor(x.shape)[0]  # torch.tensor reads the traced sizes as an array


class WithItem(Traced):
    def forward(self, x):
        return self.conv(x) * x.mean().item()  # a tensor's value as a number


class WithMask(Traced):
    def forward(self, x):
        y = self.conv(x)
        return y[y > 0]  # as many values as are positive


@pytest.mark.parametrize("model, node", [(WithItem, "item"), (WithMask, "getitem")])
def test_a_model_that_reads_a_tensor_s_values_is_said_so_not_sent_to_check_its_input(model, node):
    """x.item() or y[y > 0] need values, which the trace's fake tensors have not: the import said the
    model 'does not run on an input of 1×3×8×8' (aten._local_scalar_dense.default), hint: check --input."""
    from archcalc.errors import UserError

    with pytest.raises(UserError) as error:
        import_torch(model(), (3, 8, 8), name="net")
    assert error.value.message.startswith(f"'net' cannot be traced at node '{node}' (")
    assert error.value.message.endswith("which the trace has not: it runs the model on the shapes alone")
    assert error.value.hint.startswith("a spec's layers make tensors whose shapes follow from the input's, not from "
                                       "its values")


RECORDS = "torch.fx records the operations without running them, so "
PYTHON_NUMBER = RECORDS + "a traced tensor or size holds no number for a Python or numpy function"


@pytest.mark.parametrize("model, starts", [
    (OnValues, RECORDS + "Python control flow that depends on a tensor"),
    (WithLen, PYTHON_NUMBER), (WithRange, PYTHON_NUMBER), (WithTensorOfShape, PYTHON_NUMBER),
    (WithFlag, ("torch.fx traces the arguments of forward besides the tensor (flag=None) as symbols, not as the "
                "defaults a call with one tensor passes: import nn.Sequential(model)")),
    (WithScale, "its forward takes 'scale' besides the tensor, and an archcalc model takes one tensor"),
])
def test_a_failed_trace_gets_the_fix_of_why_it_failed(model, starts):
    """Every failure of torch.fx's trace but an unregistered module got the hint on control flow on a
    tensor, which len(x), range(x.size(0)) or a flag of forward (whose default a call with one
    tensor passes, which imports as nn.Sequential(model)) have nothing to do with."""
    from archcalc.errors import UserError

    with pytest.raises(UserError) as error:
        import_torch(model(), (3, 8, 8), name="net")
    assert error.value.message.startswith("torch.fx cannot trace 'net' (")
    assert error.value.hint.startswith(starts)
    if model is WithFlag:  # the fix the hint gives imports it: torch calls forward with flag=None
        assert "conv: {kind: conv2d, out: 4, kernel: 3}" in import_torch(nn.Sequential(model()), (3, 8, 8))


@pytest.mark.parametrize("target, message", [
    ("plain_models:NUMBER", "'plain_models:NUMBER' is a int, not a torch.nn.Module or something that makes one"),
    ("plain_models:not_a_module", "'plain_models:not_a_module' returned a list, not a torch.nn.Module"),
    ("plain_models:Nothing", "'plain_models' has no 'Nothing'"),
    ("plain_models:one_layer", ("'one_layer' is a single Conv2d: its state dict's keys ('weight', 'bias') name no "
                                "layer\n  hint: import a module that holds it: nn.Sequential(module) names it '0'")),
    ("no_such_models:Net", ("cannot import 'no_such_models': ModuleNotFoundError: No module named 'no_such_models'\n"
                            "  hint: run from the folder that holds it, or install its package")),
    ("plain_models", ("'plain_models' is not MODULE:CALLABLE\n"
                      "  hint: for example 'torchvision.models:resnet50' or 'mynet:Net'")),
    # a file's path was "cannot import './plain_models.py': TypeError: the 'package' argument is required to perform
    # a relative import for './plain_models.py'" (and 'plain_models.py' "No module named 'plain_models.py'; …")
    *[(f"{path}:Flat", (f"cannot import '{path}': MODULE is the name Python imports the module by, not its file's path\n"
                        "  hint: write 'plain_models:Flat', run from the folder that holds plain_models.py"))
      for path in ("./plain_models.py", "plain_models.py", "../models/plain_models.py")],
    # a Windows path was split at its drive's colon: "cannot import 'C': ModuleNotFoundError: No module named 'C'"
    *[(f"{path}:Flat", (f"cannot import '{path}': MODULE is the name Python imports the module by, not its file's path\n"
                        "  hint: write 'plain_models:Flat', run from the folder that holds plain_models.py"))
      for path in ("C:\\models\\plain_models.py", "C:/models/plain_models.py", ".\\plain_models.py")],
    # a relative name was "TypeError: the 'package' argument is required …", hint: run from the folder that holds it
    *[(f"{name}:Flat", (f"cannot import '{name}': a name starting with '.' is relative to the package it is written "
                        f"in, and MODULE is imported from none\n  hint: write '{whole}:Flat', run from the folder that "
                        f"holds {file} (or, for a module of a package, its whole name: 'package.{whole}:Flat')"))
      for name, whole, file in ((".plain_models", "plain_models", "plain_models.py"),
                                ("..models.plain_models", "models.plain_models", "models/plain_models.py"))],
])
def test_a_target_that_is_no_module_is_one_message(models, target, message):
    result = run_import(models, target, "--input", "3x8x8")
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


FAILING_MODULES = {  # a module of the folder whose own code fails, at its import or in the callable
    "lacking_models": "import torch\nimport no_such_package_of_lacking_models\n",
    "raising_models": "raise ValueError('width 7 is odd\\n  hint: a line of the module')\n",
    "constructor_models": ("from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                           "        super().__init__()\n        import no_such_package_of_constructor_models\n"),
}


@pytest.mark.parametrize("target, message", [
    # each of the first two was "MODULE is the name Python imports the module by, not its file's path /
    # hint: write 'lacking_models:Net', run from the folder that holds lacking_models.py", which
    # then fails as well
    ("lacking_models.py:Net", ("cannot import 'lacking_models.py': its code failed: ModuleNotFoundError: No module "
                               "named 'no_such_package_of_lacking_models'\n  hint: write 'lacking_models:Net' (MODULE "
                               "is the name Python imports the module by, not its file's path), and install "
                               "'no_such_package_of_lacking_models', which it imports")),
    ("raising_models.py:Net", ("cannot import 'raising_models.py': its code failed: ValueError: width 7 is odd\n"
                               "  hint: write 'raising_models:Net' (MODULE is the name Python imports the module by, "
                               "not its file's path), and fix its code where it fails")),
    # "run from the folder that holds it, or install its package", of a module found in the folder;
    # and each line of the module's error was a line of the message (a forged "hint:")
    ("lacking_models:Net", ("cannot import 'lacking_models': its code failed: ModuleNotFoundError: No module named "
                            "'no_such_package_of_lacking_models'\n  hint: install "
                            "'no_such_package_of_lacking_models', which it imports")),
    ("raising_models:Net", ("cannot import 'raising_models': its code failed: ValueError: width 7 is odd\n"
                            "  hint: fix its code where it fails")),
    # "give it the arguments it needs with --args", of a class that takes none
    ("constructor_models:Net", ("'constructor_models:Net' failed: ModuleNotFoundError: No module named "
                                "'no_such_package_of_constructor_models'\n  hint: install "
                                "'no_such_package_of_constructor_models', which its code imports")),
])
def test_a_module_whose_own_code_fails_is_told_its_error(tmp_path, target, message):
    for name, code in FAILING_MODULES.items():
        (tmp_path / f"{name}.py").write_text(code, encoding="utf-8")
    result = run_import(tmp_path, target, "--input", "3x8x8")
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


def test_torchs_warning_on_a_layer_traced_does_not_reach_stderr(tmp_path):
    """docs/import.md: on a pipe stderr gets the line saying the import is done and nothing else. A
    Conv2d of padding='same' and an even kernel made torch warn, while archcalc ran it on fake
    tensors, "Using padding='same' with even kernel lengths and odd dilation may require a
    zero-padded copy of the input be created", two lines of torch's on stderr."""
    (tmp_path / "same_models.py").write_text(textwrap.dedent("""\
        from torch import nn


        def same():
            return nn.Sequential(nn.Conv2d(3, 4, 4, padding="same"), nn.ReLU())
        """), encoding="utf-8")
    running_it = "import torch; torch.nn.Conv2d(3, 4, 4, padding='same')(torch.zeros(1, 3, 8, 8))"
    running = subprocess.run([sys.executable, "-c", running_it], capture_output=True, text=True, check=True)
    assert "padding='same' with even kernel lengths" in running.stderr  # torch's, once a process (TORCH_WARN_ONCE)
    result = run_process("import", "torch", "same_models:same", "--input", "3x8x8", cwd=tmp_path)
    assert done_quietly(result, "import torch"), result.stderr
    assert result.stdout.endswith("  - '0': {kind: conv2d, out: 4, kernel: 4, padding: same}\n  - '1': relu\n")


def test_an_input_the_model_does_not_take_is_one_message(models):
    result = run_process("import", "torch", "plain_models:Flat", "--input", "3x4x4", cwd=models)  # a fresh process: nothing torch logs reaches stderr
    assert result.returncode == 2
    assert result.stderr == (
        "error: 'flat' does not run on an input of 1×3×4×4: at node 'fc' (torch.nn.modules.linear.Linear): "
        "a and b must have same reduction dim, but got [1, 48] X [12, 2].\n"
        "  hint: check --input (C×H×W, without the batch) against the model\n")


@pytest.mark.parametrize("args", [["--input", "3x"], ["--input", "3xHxW"], []])
def test_a_malformed_input_is_a_usage_error(models, args):
    result = run_import(models, "plain_models:Flat", *args)
    assert result.returncode == 2
    assert "  usage: archcalc import" in result.stderr and "Traceback" not in result.stderr


def test_args_reach_the_callable_and_the_spec_is_written(models):
    result = run_import(models, "plain_models:make", "--args", '{"width": 5}', "--input", "3x8x8", "-o", "net.yaml")
    assert result.stdout == "" and done_quietly(result, "import torch"), result.stderr
    assert (models / "net.yaml").read_text() == textwrap.dedent("""\
        name: make
        source: 'imported from torch: plain_models:make'
        input: [3, 8, 8]
        layers:
          - '0': {kind: conv2d, out: 5, kernel: 1}
        """)
    table = run_process("table", "net.yaml", cwd=models)
    assert table.returncode == 0 and " 20 " in table.stdout


@pytest.mark.parametrize("args, says", [('{"width": 5, "width": 9}', "error: --args gives 'width' twice\n"),
                                        ('{"width": NaN}', "error: --args holds NaN, which is not JSON\n"),
                                        ('{"width": -1e999}', ("error: --args holds -1e999, beyond the largest float "
                                                               "(it would be read as -inf)\n")),
                                        ('{"width": 1e-999}', ("error: --args holds 1e-999, below the smallest float "
                                                               "(it would be read as 0.0)\n")),
                                        ('{"width": ' + "9" * 4301 + "}", ("error: --args holds a number Python does "
                                                                          "not read: Exceeds the limit (4300 digits)"))])
def test_args_json_reads_otherwise_than_written_are_refused(models, args, says):
    """Python's json keeps the last of a key given twice (a model of width 9 where 5 was written
    first, exit 0) and reads NaN, which JSON has not; a spec refuses a duplicate key, and so does --args.
    It reads -1e999 as -inf, the -Infinity refused (exit 0), 1e-999 as 0.0 (exit 0), and an integer of more than Python's
    4,300 digits was a ValueError's traceback (exit 1)."""
    result = run_import(models, "plain_models:make", "--args", args, "--input", "3x8x8")
    assert result.returncode == 2 and result.stdout == "" and result.stderr.startswith(says), result.stderr


def test_bad_args_are_one_message(models):
    result = run_import(models, "plain_models:make", "--args", "{width: 5}", "--input", "3x8x8")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --args is not JSON: Expecting property name enclosed in double quotes")
    deep = run_import(models, "plain_models:make", "--args", "[" * 100_000, "--input", "3x8x8")
    assert deep.returncode == 2 and deep.stderr.startswith("error: --args is nested too deeply to read\n")
    wrong = run_import(models, "plain_models:make", "--args", '{"depth": 5}', "--input", "3x8x8")
    assert wrong.stderr == ("error: 'plain_models:make' failed with these arguments: TypeError: make() got an "
                            "unexpected keyword argument 'depth'\n  hint: check --args against its parameters\n")
    bare = run_import(models, "plain_models:make", "--input", "3x8x8")  # no --args: the hint says to give them
    assert bare.stderr == ("error: 'plain_models:make' failed, called without arguments: TypeError: make() missing 1 "
                           "required positional argument: 'width'\n  hint: give it the arguments it needs with --args, "
                           "or import one whose call does not fail\n")


def test_a_chunk_of_another_axis_than_the_channels_says_which_axis():
    """A fuzzer's: x.chunk(2, dim=2) was refused as 'not equal slices of the channels', though its
    slices were equal ones of the height."""
    from archcalc.errors import UserError

    class Halves(nn.Module):
        def forward(self, x):
            top, bottom = x.chunk(2, dim=2)
            return top + bottom

    with pytest.raises(UserError, match="it splits the axis 2, not the channels"):
        import_torch(Halves(), "3x8x8")


def test_a_name_with_slashes_is_the_specs_name_and_no_file(tmp_path, monkeypatch):
    """The spec read back was written to a temporary folder under its name: --name 'a/b' was a
    FileNotFoundError's traceback, '!!python/object:os.system' one too, and '../outside' wrote the
    spec outside that folder (here tmp_path/outside.yaml), left there."""
    import tempfile

    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    net = nn.Sequential(nn.Conv2d(3, 4, 3))
    for name in ("a/b", "!!python/object:os.system", "../outside"):
        assert import_torch(net, (3, 8, 8), name=name).startswith("name: ")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tmp"]


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_a_model_of_another_dtype_is_told_to_import_in_float32(dtype):
    """A float64 (or float16) model fails on the float32 input archcalc traces it on ("Input type
    (float) and bias type (double) should be the same"), and the hint said to check --input."""
    from archcalc.errors import UserError

    net = nn.Sequential(nn.Conv2d(3, 4, 3)).to(getattr(torch, dtype))
    with pytest.raises(UserError) as error:
        import_torch(net, (3, 8, 8))
    assert error.value.hint == (f"archcalc traces the model on a float32 input, and its tensors are {dtype}: import it "
                                "in float32 (module.float()), or check --input (C×H×W, without the batch)")
    assert import_torch(net.float(), (3, 8, 8)).endswith("  - '0': {kind: conv2d, out: 4, kernel: 3}\n")


@pytest.mark.parametrize("wrap, says, hint", [
    ("compile", "'optimized_module' is torch.compile's wrapper of a module", "import the module it wraps (model._orig_mod)"),
    ("data_parallel", "'data_parallel' is torch.nn.DataParallel's wrapper of a module",
     "import the module it wraps (model.module)"),
    ("script", "'recursive_script_module' is a TorchScript module (torch.jit.script or trace)",
     "import the Python module it was made from"),
])
def test_a_wrapped_or_scripted_module_is_told_to_import_what_it_wraps(wrap, says, hint):
    """torch.compile's OptimizedModule, DataParallel and TorchScript modules fail in torch.fx ("Module
    [OptimizedModule] is missing the required forward function", "Proxy object cannot be iterated"),
    which the import gave with the hint about control flow on a tensor."""
    from archcalc.errors import UserError

    net = nn.Sequential(nn.Conv2d(3, 4, 3))
    wrapped = {"compile": torch.compile, "data_parallel": nn.DataParallel, "script": torch.jit.script}[wrap](net)
    with pytest.raises(UserError) as error:
        import_torch(wrapped, (3, 8, 8))
    assert (error.value.message, error.value.hint) == (f"{says}, which torch.fx cannot trace", hint)


def test_a_lazy_module_not_made_yet_is_told_to_run_once():
    """nn.LazyConv2d and nn.LazyBatchNorm2d before their first call: the trace's fake run failed
    ("Multiple dispatch failed for 'torch.ops.aten.detach'", hint: check --input). Run once, the
    model imports."""
    from archcalc.errors import UserError

    net = nn.Sequential(nn.LazyConv2d(4, 3), nn.LazyBatchNorm2d())
    with pytest.raises(UserError) as error:
        import_torch(net, (3, 8, 8))
    assert error.value.message == ("'sequential' holds '0.weight' of a lazy module (nn.LazyConv2d, nn.LazyLinear, …) "
                                   "not made yet: its shape is not known")
    net(torch.zeros(2, 3, 8, 8))
    assert import_torch(net, (3, 8, 8)).endswith("  - '0': {kind: conv2d, out: 4, kernel: 3}\n  - '1': batchnorm2d\n")


def test_a_line_feed_in_module_callable_stays_on_the_errors_one_line(tmp_path):
    """MODULE:CALLABLE was quoted raw: 'my\\n  hint: …' forged a line of the error ("cannot import
    'my" then "  hint': ModuleNotFoundError …"). No module or callable is named with a line feed."""
    result = run_import(tmp_path, "my\n  hint: evil\nnet:Net", "--input", "3x8x8")
    assert (result.returncode, result.stderr) == (2, (
        "error: 'my\\n  hint: evil\\nnet:Net' is not MODULE:CALLABLE\n"
        "  hint: for example 'torchvision.models:resnet50' or 'mynet:Net'\n"))


def test_a_large_input_is_traced_without_allocating_it():
    """The input was made as a real tensor before being made fake: 3×1,000,000×1,000,000 asked for
    12 TB ('DefaultCPUAllocator: can't allocate memory', a traceback), though nothing reads its
    values; one of more bytes than torch counts was a traceback too."""
    from archcalc.errors import UserError

    net = nn.Sequential(nn.Conv2d(3, 4, 3))
    assert import_torch(net, (3, 10**6, 10**6)).endswith("layers:\n  - '0': {kind: conv2d, out: 4, kernel: 3}\n")
    with pytest.raises(UserError) as error:
        import_torch(net, (3, 2**31 - 1, 2**31 - 1))
    assert error.value.message.startswith("torch cannot make an input of 1×3×2147483647×2147483647 for 'sequential': ")


def test_a_module_that_cannot_be_put_in_eval_mode_is_one_message():
    """module.eval() runs the model's code (a train() of its own) and torch's recursion through the
    modules: a train() that raises, or modules nested past Python's recursion limit, were tracebacks."""
    import sys

    from archcalc.errors import UserError

    class Frozen(nn.Sequential):
        def train(self, mode=True):
            raise RuntimeError("frozen")

    deep = nn.Conv2d(3, 3, 1)
    for _ in range(sys.getrecursionlimit()):
        deep = nn.Sequential(deep)
    for module, name, says in ((Frozen(nn.Conv2d(3, 4, 3)), "frozen", "RuntimeError: frozen"),
                               (nn.Sequential(deep), "sequential", "RecursionError: maximum recursion depth exceeded")):
        with pytest.raises(UserError) as error:
            import_torch(module, (3, 8, 8))
        assert error.value.message.startswith(f"'{name}' cannot be put in eval mode: {says}"), error.value.message


def test_each_module_is_put_back_in_its_own_mode():
    """A batch norm frozen in eval mode inside a model in training (fine-tuning with frozen
    statistics) was put in training by the import, which set the whole model back with train(True)."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Sequential(nn.Dropout(), nn.ReLU()))
    net.train()
    net[1].eval()
    net[2][1].eval()
    import_torch(net, (3, 8, 8))
    assert [m.training for m in net.modules()] == [True, True, False, True, True, False]
    net.eval()
    net[2].train()
    import_torch(net, (3, 8, 8))
    assert [m.training for m in net.modules()] == [False, False, False, True, True, True]


@pytest.mark.parametrize("make, call, input", [
    (lambda: nn.Conv2d(3, 4, 3), F.conv2d, "3x8x8"),
    (lambda: nn.Linear(8, 8), F.linear, "3x8"),
])
def test_a_functional_call_that_leaves_out_its_modules_bias_is_refused_not_blamed_on_archcalc(make, call, input):
    """F.conv2d(x, self.layer.weight) of an nn.Conv2d that has a bias: the layer (the module's) was
    written without one, the module holds it, and the import said "archcalc's mistake" (the spec has
    64 parameters and 0 buffer values, the module 72 and 0). It names the call and the bias it leaves out."""
    from archcalc.errors import UserError

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.layer = make()

        def forward(self, x):
            return call(x, self.layer.weight)

    with pytest.raises(UserError) as error:
        import_torch(Net(), input)
    assert error.value.message.endswith("cannot be written exactly: it leaves out the bias that module 'layer' holds (a "
                                        "layer holds its module's weight and bias: the spec would count a bias the call "
                                        "does not add)"), error.value.message


@pytest.mark.parametrize("forward, says", [
    (lambda x: torch.cat([x.relu()], 1), ("node 'cat' (the top-level forward, torch.cat) cannot be written exactly: a "
                                          "concatenation of one tensor (archcalc's concat joins two or more)")),
    (lambda x: x + x.mean((2, 3), keepdim=True), ("node 'add' (the top-level forward, _operator.add) cannot be written "
                                                  "exactly: a sum of [1, 3, 8, 8] and [1, 3, 1, 1] broadcast (archcalc's "
                                                  "add takes tensors of one shape)")),
])
def test_a_concatenation_of_one_or_a_broadcast_sum_is_the_calls_error_not_the_specs(forward, says):
    """Each was written, then refused by the spec read back with a spec author's hint about a spec
    the user never sees ("layer 'cat': concat reads at least 2 input(s), got 1 (line 6 of the spec)
    … list them with 'from: [a, b]'"), where the ONNX import names the node. A product of tensors of
    two ranks, kept opaque, was refused so too ("cannot multiply shapes 1×3×8×8 and 1×8×8")."""
    from archcalc.errors import UserError

    class Net(nn.Module):
        def forward(self, x):
            return forward(x)

    with pytest.raises(UserError) as error:
        import_torch(Net(), (3, 8, 8))
    assert error.value.message == says

    class Product(nn.Module):
        def forward(self, x):
            return x * x.mean(1)

    kept = "  - mul: {kind: opaque, from: [input, mean], operation: '''_operator.mul''', shape: [3, 8, 8]"
    assert kept in import_torch(Product(), (3, 8, 8), allow_opaque=True)


def test_a_functional_call_of_a_module_whose_bias_is_a_flag_not_a_tensor_is_imported():
    """A custom conv holding its weight and a `bias` flag (False), calling F.conv2d(x, self.weight):
    the refusal of a call that leaves out its module's bias took the flag for a bias held."""

    class FlagConv(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.zeros(4, 3, 3, 3))
            self.bias = False

        def forward(self, x):
            return F.conv2d(x, self.weight)

    text = import_torch(nn.Sequential(FlagConv()), "3x8x8")
    assert text.endswith("layers:\n  - '0': {kind: conv2d, out: 4, kernel: 3, bias: false}\n"), text


@pytest.mark.parametrize("read", [
    lambda net, x: F.conv2d(x, net.conv.weight),
    lambda net, x: net.conv(x).reshape(1, -1),
    lambda net, x: torch.cat(net.conv(x).chunk(2, 1), 1),
    lambda net, x: net.conv(x + torch.arange(x.shape[3])),  # a call of no tensor: an opaque layer reads one
])
def test_a_refusal_that_allow_opaque_does_not_lift_does_not_offer_it(read):
    """These refusals stand with --allow-opaque too, whose hint said it keeps the call as an opaque layer."""
    from archcalc.errors import UserError

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return read(self, x)

    with pytest.raises(UserError) as error:
        import_torch(Net(), "3x8x8", allow_opaque=True)
    assert error.value.hint.startswith("write this call of the model as a layer kind computes it: --allow-opaque does "
                                       "not keep it (the kinds are: "), error.value.hint


@pytest.mark.parametrize("read, message", [
    (lambda x: torch.cat(x.chunk(4, dim=1)[1:3], 1),
     ("node 'getitem' (the top-level forward, _operator.getitem) cannot be written exactly: it takes the chunks [1:3] "
      "together; index each of them (chunks[1], chunks[2]) to make it a split layer")),
    (lambda x: torch.cat(x.chunk(2, dim=1)[::-1], 1),
     ("node 'getitem' (the top-level forward, _operator.getitem) cannot be written exactly: it takes the chunks [::-1] "
      "together; index each of them (chunks[1], chunks[2]) to make it a split layer")),
    (lambda x: torch.cat(x.chunk(2, dim=1), 1),
     ("node 'cat' (the top-level forward, torch.cat) cannot be written exactly: it reads the chunks of 'chunk' together; "
      "index each of them (chunks[0], chunks[1]) to make it a split layer")),
    (lambda x: x.chunk(2, dim=1), ("'chunks' returns the chunks of 'chunk' as one tuple; archcalc models return a tensor "
                                   "or a tuple of tensors")),
    (lambda x: ((x.relu(), x.sigmoid()), x.tanh()), ("'chunks' returns a tuple holding a tuple; archcalc models return a "
                                                     "tensor or a tuple of tensors")),
])
def test_chunks_read_together_are_one_message(read, message):
    """A slice of a chunk's tensors (chunks[1:3]) was an AttributeError's traceback ('tuple' object
    has no attribute 'shape'); torch.cat of the chunks themselves "archcalc's mistake" (a concat
    from []); the chunks returned as they are "returns a Node"."""
    from archcalc.errors import UserError

    class Chunks(nn.Module):
        def forward(self, x):
            return read(x)

    with pytest.raises(UserError) as error:
        import_torch(Chunks(), "4x8x8")
    assert error.value.message == message


def test_the_frameworks_are_torch_and_onnx(models):
    result = run_process("import", "keras", "model.keras", "--input", "3x8x8", cwd=models)
    assert result.returncode == 2
    assert "cannot import from 'keras': the frameworks are torch, onnx" in result.stderr


def test_the_api_refuses_what_is_not_a_module():
    from archcalc.errors import UserError

    with pytest.raises(UserError, match=r"^float is not a torch.nn.Module\n  hint: import a module, or a function or class that returns one$"):
        import_torch(math.pi, "3x8x8")


# --- calls the trace does not run: element-wise modules, batch norms, sums of one shape ----------

def _torchs_error(module, x) -> str:
    """The first line of the error torch raises calling `module` on `x` (on the meta device)."""
    with pytest.raises(Exception) as raised:
        module.eval()(x)
    return str(raised.value).splitlines()[0]


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_a_batch_norm_of_other_channels_or_rank_fails_as_torch_fails(device):
    """The trace gives an element-wise module, a batch norm in eval mode and a sum of tensors of one
    shape their input's shape without running them (torch's meta kernels of these are most of a
    trace's time); a batch norm whose statistics are of other channels than its input, or given an
    input of another rank, still runs and fails with torch's own message."""
    from archcalc.errors import UserError

    x = torch.empty(1, 4, 8, 8, device="meta")
    for norm in (lambda: nn.BatchNorm2d(5), lambda: nn.BatchNorm1d(4)):
        expected = _torchs_error(norm().to("meta"), x)
        with pytest.raises(UserError) as raised:
            import_torch(nn.Sequential(nn.Conv2d(3, 4, 1), norm()).to(device), (3, 8, 8))
        assert str(raised.value).splitlines()[0] == (
            f"'sequential' does not run on an input of 1×3×8×8: at node '_1' ({type(norm()).__module__}."
            f"{type(norm()).__qualname__}): {expected}")


class HalfReLU(nn.ReLU):
    """A ReLU whose forward keeps half the channels: not a ReLU's shape."""

    def forward(self, x):
        return super().forward(x)[:, : x.shape[1] // 2]


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("change", ["hook", "forward", "subclass", "global hook"])
def test_a_module_whose_call_does_more_than_its_class_runs_as_it_is(device, change):
    """A ReLU with a forward hook, a forward of its own, a subclass's forward or under a global
    hook is run, not given its input's shape (a subclass fx traces through): each halves the
    channels here, so the spec of a ReLU (which keeps them) cannot be exact, and the import says so
    rather than writing it."""
    from archcalc.errors import UserError

    relu = HalfReLU() if change == "subclass" else nn.ReLU()
    if change == "hook":
        relu.register_forward_hook(lambda module, args, out: out[:, :2])
    elif change == "forward":
        relu.forward = lambda x: x[:, :2]
    elif change == "global hook":
        handle = nn.modules.module.register_module_forward_hook(
            lambda module, args, out: out[:, :2] if isinstance(module, nn.ReLU) else out)
    model = nn.Sequential(nn.Conv2d(3, 4, 1), relu, nn.Flatten()).to(device)
    says = {"hook": "'_1' .* a forward hook runs after it", "forward": "'_1' .* a forward of its own replaces its class's",
            "subclass": "'getitem_1' .* no layer kind", "global hook": "'_0' .* a global forward hook runs after it"}[change]
    try:
        with pytest.raises(UserError, match=f"^node {says}") as refused:
            import_torch(model, (3, 8, 8))
    finally:
        if change == "global hook":
            handle.remove()
    if change != "subclass":  # a reviewer's: the hint listed the layer kinds, of no use here
        assert refused.value.hint.startswith("import the model with its modules run as their classes run them")


@pytest.mark.parametrize("wrap", ["spectral_norm", "weight_norm", "doubled"])
def test_a_layer_module_with_a_hook_is_refused_not_written_as_its_class(wrap):
    """torch.nn.utils.spectral_norm and weight_norm compute the weight in a forward pre-hook (from
    'weight_orig', or 'weight_g' and 'weight_v'): the import said "archcalc's mistake" (the spec has
    112 parameters and 0 buffer values, the module 112 and 31). A forward hook that keeps the shape
    (out * 2) was written as the plain convolution, exit 0: the spec's model gave half the values."""
    import warnings

    from archcalc.errors import UserError

    conv = nn.Conv2d(3, 4, 3)
    if wrap == "doubled":
        conv.register_forward_hook(lambda module, args, out: out * 2)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # weight_norm's deprecation
            conv = getattr(nn.utils, wrap)(conv)
    with pytest.raises(UserError) as error:
        import_torch(nn.Sequential(conv), (3, 8, 8))
    assert error.value.message == ("node '_0' (module '0', torch.nn.modules.conv.Conv2d) cannot be written exactly: "
                                   + ("a forward hook runs after it" if wrap == "doubled" else "a forward pre-hook runs "
                                      "before it (torch.nn.utils.spectral_norm's and weight_norm's do)")
                                   + ", and its layer kind computes its class's forward alone")


@pytest.mark.parametrize("hook", ["forward hook", "forward pre-hook"])
def test_a_hook_on_the_imported_module_itself_is_refused_not_left_out(hook, tmp_path):
    """torch.fx traces the module's forward, not its call: a hook on the module imported was left
    out without a word (a pre-hook that pads the input 8×8 to 10×10: a spec of output 1×64 where
    the module gives 1×144, exit 0). Imported inside a module that calls it, the hook is traced."""
    from archcalc.errors import UserError

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Conv2d(4, 4, 3), nn.Flatten())
    if hook == "forward hook":
        model.register_forward_hook(lambda module, args, out: out[:, :40])
    else:
        model.register_forward_pre_hook(lambda module, args: (F.pad(args[0], (1, 1, 1, 1)),))
    x = torch.rand(1, 3, 8, 8)
    assert model(x).shape[1] == (40 if hook == "forward hook" else 4 * 6 * 6) != model.forward(x).shape[1] == 4 * 4 * 4
    with pytest.raises(UserError) as error:
        import_torch(model, (3, 8, 8), name="net")
    runs = "after" if hook == "forward hook" else "before"
    assert error.value.message == (f"'net' cannot be traced as it runs: a {hook} runs {runs} 'net', and torch.fx "
                                   "traces its forward alone (what its call adds runs only where a module calls it)")
    if hook == "forward pre-hook":  # the hint's way (a slice has no layer kind): the pad is in the spec
        wrapped = nn.Sequential(model)
        assert_computes_as(wrapped, import_torch(wrapped, (3, 8, 8)), tmp_path, x)


class PaddedOnCall(nn.Sequential):
    def __call__(self, x):
        return super().__call__(F.pad(x, (1, 1, 1, 1)))


def test_a_module_whose_class_calls_more_than_its_forward_is_refused_not_traced_without_it(tmp_path):
    """A class of its own __call__ (padding the input 8×8 to 10×10 here) imported as the model was
    traced without it (fx traces the forward): a spec of output 1×144, torch's 1×256, exit 0.
    Called by a module imported, the __call__ is traced."""
    from archcalc.errors import UserError

    model = PaddedOnCall(nn.Conv2d(3, 4, 3), nn.Flatten())
    x = torch.rand(1, 3, 8, 8)
    assert model(x).shape == (1, 4 * 8 * 8) and model.forward(x).shape == (1, 4 * 6 * 6)
    with pytest.raises(UserError) as error:
        import_torch(model, (3, 8, 8), name="net")
    assert error.value.message == ("'net' cannot be traced as it runs: a __call__ of the class PaddedOnCall runs around "
                                   "'net', and torch.fx traces its forward alone (what its call adds runs only where a "
                                   "module calls it)")
    wrapped = nn.Sequential(model)
    assert_computes_as(wrapped, import_torch(wrapped, (3, 8, 8)), tmp_path, x)
    traced = torch.fx.symbolic_trace(nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten()))  # whose __call__ calls nn.Module's
    assert_computes_as(traced, import_torch(traced, (3, 8, 8)), tmp_path, x)


def test_a_state_dict_hook_that_renames_keys_is_said_not_blamed_on_archcalc():
    """A state-dict hook that renames the keys (as libraries do for older checkpoints) made the
    spec's state dict differ from the module's, and the import said "this is archcalc's mistake,
    not the model's: please report it"; it says the hook does it."""
    from archcalc.errors import UserError

    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())

    def renamed(module, state, prefix, local_metadata):
        for key in list(state):
            state[f"old.{key}"] = state.pop(key)

    model._register_state_dict_hook(renamed)
    assert sorted(model.state_dict()) == ["old.0.bias", "old.0.weight"]  # torch's, with the hook
    with pytest.raises(UserError) as error:
        import_torch(model, (3, 8, 8), name="net")
    assert error.value.message == ("'net' has a state-dict hook that changes the keys of its state dict (['old.0.bias', "
                                   "'old.0.weight'] where its modules hold ['0.bias', '0.weight']): the spec's model "
                                   "holds each tensor under its module's name")
    assert "archcalc's mistake" not in error.value.hint


class TypedCall(nn.Sequential):
    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # written to type the call: it only passes x on
        return super().__call__(x)


class TypedCallOfAny(nn.Sequential):
    def __call__(self, *args, **kwargs):
        """Typed callers' idiom with any arguments."""
        return super().__call__(*args, **kwargs)


class CallOfModule(nn.Sequential):
    __call__ = nn.Module.__call__


class PaddedBelowATypedCall(PaddedOnCall):
    def __call__(self, x: torch.Tensor) -> torch.Tensor:  # passes x on, to PaddedOnCall's, which pads
        return super().__call__(x)


def test_a_call_that_only_passes_its_arguments_on_is_the_modules_call(tmp_path):
    """`def __call__(self, x: Tensor) -> Tensor: return super().__call__(x)`, written to type a
    module's call, runs nn.Module's call alone: it imported before 9e78d7b and was refused since as
    'a __call__ of the class TypedCall runs around it'. It imports, and the spec computes the
    module's output; a class below it whose own call passes x on to one that pads is still refused."""
    from archcalc.errors import UserError

    x = torch.rand(1, 3, 8, 8)
    for kind in (TypedCall, TypedCallOfAny, CallOfModule):
        model = kind(nn.Conv2d(3, 4, 3), nn.Flatten())
        assert model(x).shape == model.forward(x).shape == (1, 4 * 6 * 6)
        assert_computes_as(model, import_torch(model, (3, 8, 8)), tmp_path, x)
    padded = PaddedBelowATypedCall(nn.Conv2d(3, 4, 3), nn.Flatten())
    assert padded(x).shape == (1, 4 * 8 * 8)
    with pytest.raises(UserError, match="a __call__ of the class PaddedBelowATypedCall runs around 'net'"):
        import_torch(padded, (3, 8, 8), name="net")


class SigmoidOfWholeNumbers(nn.Module):
    """torch.sigmoid of an int64 tensor is float32: the convolution after it takes it."""

    def __init__(self):
        super().__init__()
        self.sig, self.conv = nn.Sigmoid(), nn.Conv2d(3, 4, 1)

    def forward(self, x):
        return self.conv(self.sig(x.long()))


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_an_element_wise_module_on_whole_numbers_runs_for_its_dtype(device):
    """Only floating-point inputs are given their own dtype without running: the sigmoid of whole
    numbers runs, so the trace goes on (torch's own forward runs, below) and the import stops
    where the spec cannot follow, at the cast, not at a convolution torch would run."""
    from archcalc.errors import UserError

    model = SigmoidOfWholeNumbers().to(device)
    if device == "cpu":
        assert model(torch.zeros(1, 3, 8, 8)).dtype == torch.float32  # torch runs it
    with pytest.raises(UserError, match=r"^node 'long' \(the top-level forward, Tensor.long\) has no layer kind"):
        import_torch(model, (3, 8, 8))


def test_the_examples_in_docs_import_md_are_what_the_import_writes():
    page = (Path(__file__).resolve().parents[1] / "docs" / "import.md").read_text(encoding="utf-8")
    resnet = build_graph(load_graph("resnet50"), device="meta")
    written = import_torch(resnet, "3x224x224", name="resnet50", source="imported from torch: archcalc:build_torch")
    assert f"```yaml\n{written}```" in page
    plain = import_torch(SmallResNet().eval(), (3, 32, 32), name="small_resnet",
                         source="tests/test_import_torch.py:SmallResNet")
    assert f"```yaml\n{plain}```" in page


@pytest.mark.parametrize("output", ["pkg/mod.py", "pkg/__init__.py", "pkg/parts.py"])
def test_no_file_the_import_read_is_written_over(tmp_path, output):
    """The module's own file was refused as -o, but not its package's __init__.py nor a module it
    imports, which importing read as well (an attacking review: the __init__.py was replaced)."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("from torch import nn\n")
    (tmp_path / "pkg" / "parts.py").write_text("from torch import nn\n\n\ndef conv():\n    return nn.Conv2d(3, 4, 3)\n")
    (tmp_path / "pkg" / "mod.py").write_text("from torch import nn\n\nfrom pkg.parts import conv\n\n\n"
                                             "class M(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                                             "        self.c = conv()\n\n    def forward(self, x):\n        return self.c(x)\n")
    before = {path: path.read_bytes() for path in (tmp_path / "pkg").glob("*.py")}
    result = run_import(tmp_path, "pkg.mod:M", "--input", "3x8x8", "-o", output)
    assert result.returncode == 2 and f"refusing to write over '{output}': this command reads it" in result.stderr
    assert {path: path.read_bytes() for path in (tmp_path / "pkg").glob("*.py")} == before


MOVES = """
import os

from torch import nn

os.chdir("sub") if "{where}" == "import" else None


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        os.chdir("sub") if "{where}" == "build" else None

    def forward(self, x):
        return self.conv(x)
"""


@pytest.mark.parametrize("where", ["import", "build"])
def test_model_code_that_changes_the_folder_leaves_the_spec_where_o_says(tmp_path, where):
    """Model code calling os.chdir when imported was a traceback (ValueError: list.remove(x): the
    folder put on sys.path was looked for as the folder then); called when built, -o net.yaml was
    written in the folder it moved to."""
    (tmp_path / "sub").mkdir()
    (tmp_path / f"moves_{where}.py").write_text(MOVES.replace("{where}", where), encoding="utf-8")
    result = run_import(tmp_path, f"moves_{where}:Net", "--input", "3x8x8", "-o", "net.yaml")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "net.yaml").read_text(encoding="utf-8").startswith("name: net\n")
    assert not (tmp_path / "sub" / "net.yaml").exists()


LOOPS = """
import torch.nn as nn


def forever():
    while True:
        pass


def stubborn():
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass


def swallows():
    import time

    try:
        time.sleep(5)
    except BaseException:
        pass
    return nn.Sequential(nn.Conv2d(3, 4, 3))


def net():
    return nn.Sequential(nn.Conv2d(3, 4, 3))
"""


@pytest.mark.parametrize("target", ["forever", "stubborn", "swallows"])
def test_model_code_that_never_returns_stops_at_its_timeout(tmp_path, target):
    """A fuzzer's: model code that never returns hung `import torch` (no limit). It now stops at
    --timeout with one error, exit 2, also where the code catches every exception and runs on
    (then the alarm a second later ends the process), or catches it and returns (a review's: exit 0
    and a spec)."""
    (tmp_path / "loops.py").write_text(LOOPS, encoding="utf-8")
    result = run_process("import", "torch", f"loops:{target}", "--input", "3x8x8", "--timeout", "2", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr == (f"error: the code of 'loops:{target}' ran past 2 s while being imported, built or traced\n"
                             "  hint: give it longer with --timeout SECONDS (0: no limit), or import a model whose "
                             "code returns\n")


def test_a_timeout_leaves_no_alarm_behind_and_takes_seconds_from_0(tmp_path):
    """After an import within its --timeout the alarm is off and its handler the one before (this
    process runs on: a test runner, a notebook); --timeout takes seconds from 0, and is refused
    for an ONNX file, which runs no code of the model's."""
    import signal

    (tmp_path / "loops.py").write_text(LOOPS, encoding="utf-8")
    before = signal.getsignal(signal.SIGALRM)
    result = run_import(tmp_path, "loops:net", "--input", "3x8x8", "--timeout", "30")
    assert result.returncode == 0 and result.stdout.startswith("name: net\n"), result.stderr
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0) and signal.getsignal(signal.SIGALRM) is before
    outer = signal.signal(signal.SIGALRM, lambda signum, frame: None)  # a timer of this process's own (a review's:
    signal.setitimer(signal.ITIMER_REAL, 100.0)                       # it was cancelled)
    try:
        assert run_import(tmp_path, "loops:net", "--input", "3x8x8", "--timeout", "30").returncode == 0
        assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] < 100.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer)
    assert run_import(tmp_path, "loops:net", "--input", "3x8x8", "--timeout", "0").returncode == 0
    result = run_import(tmp_path, "loops:net", "--input", "3x8x8", "--timeout", "1e-9")  # a review's: "raised _RanOut"
    assert result.stderr.startswith("error: the code of 'loops:net' ran past 1e-09 s while being imported"), \
        result.stderr
    for value in ("-1", "nan", "inf", "soon", "1e12"):  # 1e12: an OverflowError's traceback (a review's)
        result = run_import(tmp_path, "loops:net", "--input", "3x8x8", "--timeout", value)
        assert result.returncode == 2, result.stderr
        assert f"--timeout takes seconds from 0 to 100,000,000 (0: no limit), got '{value}'" in result.stderr
    result = run_in(tmp_path, "import", "onnx", "net.onnx", "--timeout", "5")
    assert result.returncode == 2 and "--timeout is for torch: an ONNX file runs no code of the model's" in result.stderr


EXITS = """
import multiprocessing
import os

import torch.nn as nn


def quits():
    os._exit(0)


def in_a_thread():
    import threading

    thread = threading.Thread(target=os._exit, args=(3,))
    thread.start()
    thread.join()
    return nn.Sequential(nn.Conv2d(3, 4, 3))


def caught():
    try:
        os._exit(3)
    except BaseException:
        pass
    return nn.Sequential(nn.Conv2d(3, 4, 3))


class Exits:
    def __del__(self):
        os._exit(7)


def in_a_finaliser():
    Exits()
    return nn.Sequential(nn.Conv2d(3, 4, 3))


def forks():
    process = multiprocessing.get_context("fork").Process(target=os.getpid)
    process.start()
    process.join()
    assert process.exitcode == 0, process.exitcode
    return nn.Sequential(nn.Conv2d(3, 4, 3))
"""


def test_model_code_calling_os_exit_is_one_error_and_a_process_it_forks_exits_as_asked(tmp_path):
    """A fuzzer's: model code calling os._exit(0) ended `import torch` with exit 0 and no spec,
    nothing said. It is now one error, exit 2; a process the model's code forks (multiprocessing's
    children end with os._exit) still exits as it asks, and os._exit is itself again after."""
    import os

    (tmp_path / "exits.py").write_text(EXITS, encoding="utf-8")
    result = run_process("import", "torch", "exits:quits", "--input", "3x8x8", cwd=tmp_path)  # in this one, a
    assert (result.returncode, result.stdout) == (2, "")  # regression would end the tests with exit 0
    assert result.stderr.startswith("error: the code of 'exits:quits' called os._exit(0) while being imported\n")
    result = run_process("import", "torch", "exits:in_a_thread", "--input", "3x8x8", cwd=tmp_path)  # a review's: a
    assert (result.returncode, result.stdout) == (2, "")  # traceback of _Exited, then the spec and exit 0
    assert result.stderr.startswith("error: the code of 'exits:in_a_thread' called os._exit(3) while being imported\n")
    for target, code in (("caught", 3), ("in_a_finaliser", 7)):  # a review's: exit 0 and a spec (and a traceback)
        result = run_process("import", "torch", f"exits:{target}", "--input", "3x8x8", cwd=tmp_path)
        assert (result.returncode, result.stdout) == (2, "")
        assert result.stderr == (f"error: the code of 'exits:{target}' called os._exit({code}) while being imported\n"
                                 "  hint: import a module whose code does not exit when it is imported, built or run\n")
    exit_ = os._exit
    result = run_import(tmp_path, "exits:forks", "--input", "3x8x8")
    assert os._exit is exit_
    assert result.returncode == 0 and result.stdout.startswith("name: forks\n"), result.stderr
