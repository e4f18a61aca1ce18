"""U-Net against plain torch programs written here from its descriptions, measured by torch, fvcore
and FlopCounterMode when the test runs.

The paper's network: Ronneberger, Fischer, Brox 2015, Figure 1 (572×572 in, 388×388 out, unpadded
3×3 convolutions with ReLU, 2×2 max pooling, 2×2 up-convolutions halving the channels, the skip
cropped to the centre and concatenated before the up-convolved map, a 1×1 convolution to 2
classes). The padded port: milesial/Pytorch-UNet's unet_parts.py with bilinear=False (padded 3×3
convolutions without bias, batch norm, the up-convolved map padded to the skip's size with the odd
row after, skip first in the concatenation).
"""

from __future__ import annotations

import warnings

import pytest

import archcalc

torch = pytest.importorskip("torch")
from torch import nn


def double(c_in: int, c_out: int, padded: bool) -> nn.Sequential:
    if not padded:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3), nn.ReLU(), nn.Conv2d(c_out, c_out, 3), nn.ReLU())
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())


class UNet(nn.Module):
    def __init__(self, channels: int, classes: int, padded: bool):
        super().__init__()
        widths = [64, 128, 256, 512, 1024]
        self.padded = padded
        self.down = nn.ModuleList(double(a, b, padded) for a, b in zip([channels, *widths], widths))
        self.upconv = nn.ModuleList(nn.ConvTranspose2d(w, w // 2, 2, stride=2) for w in reversed(widths[1:]))
        self.up = nn.ModuleList(double(w, w // 2, padded) for w in reversed(widths[1:]))
        self.classifier = nn.Conv2d(64, classes, 1)
        self.shapes = []

    def forward(self, x):
        skips = []
        for level, block in enumerate(self.down):
            x = block(x)
            if level < 4:
                skips.append(x)
                x = nn.functional.max_pool2d(x, 2)
        for upconv, block, skip in zip(self.upconv, self.up, reversed(skips)):
            x = upconv(x)
            dh, dw = skip.shape[2] - x.shape[2], skip.shape[3] - x.shape[3]
            if self.padded:
                x = nn.functional.pad(x, [dw // 2, dw - dw // 2, dh // 2, dh - dh // 2])
            else:
                skip = skip[:, :, dh // 2:dh // 2 + x.shape[2], dw // 2:dw // 2 + x.shape[3]]
            x = torch.cat([skip, x], dim=1)
            self.shapes.append(tuple(x.shape))
            x = block(x)
        return self.classifier(x)


CASES = {  # variant: (channels, padded, a small input for the counters: odd sizes where the pads differ)
    "unet": (1, False, (1, 188, 252)),
    "unet_padded": (3, True, (3, 93, 101)),
}


@pytest.mark.parametrize("variant", list(CASES))
def test_unet_is_the_program_of_its_description(variant):
    channels, padded, _ = CASES[variant]
    with torch.device("meta"):  # sizes and shapes at the spec's own input, without the arithmetic
        program = UNet(channels, 2, padded).eval()
        out = program(torch.empty(1, channels, 572, 572))
    stats = archcalc.analyze(variant)
    assert stats.totals.params == sum(p.numel() for p in program.parameters())
    assert stats.totals.buffers == sum(b.numel() for b in program.buffers())
    assert stats.layers[-1].shape == tuple(out.shape)
    assert [layer.shape for layer in stats.layers if layer.kind == "concat"] == program.shapes
    if not padded:
        assert tuple(out.shape) == (1, 2, 388, 388)  # Figure 1


@pytest.mark.parametrize("variant", list(CASES))
def test_unet_counts_are_fvcores_and_flop_counter_modes(variant):
    pytest.importorskip("fvcore")
    from fvcore.nn import FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    channels, padded, small = CASES[variant]
    program, x = UNet(channels, 2, padded).eval(), torch.rand(1, *small)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        program(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fvcore = FlopCountAnalysis(program, x).unsupported_ops_warnings(False).total()
    size = "x".join(map(str, small))
    assert archcalc.analyze(variant, input=size, convention="torch").totals.flops == counter.get_total_flops()
    assert archcalc.analyze(variant, input=size, convention="fvcore").totals.macs == fvcore


def test_the_symbolic_unet_says_which_sizes_it_takes():
    """The paper: 'it is important to select the input tile size such that all 2x2 max-pooling
    operations are applied to a layer with an even x- and y-size' (section 3). With floors every
    size from the smallest that fits works; the sizes where each pooling divides exactly are the
    paper's, found here by its arithmetic: each level's two 3×3 convolutions take 4 away."""
    stats = archcalc.analyze("unet", input="1xHxW")
    lines = stats.formulas.constraint_lines()
    smallest = next(h for h in range(100, 300) if _fits(h))
    assert all(not _fits(h) for h in range(100, smallest)) and all(_fits(h) for h in range(smallest, smallest + 80))
    assert lines[0].startswith(f"H ≥ {smallest} ") and lines[1].startswith(f"W ≥ {smallest} ")

    def even_pools(h):
        for _ in range(4):
            h -= 4
            if h % 2:
                return False
            h //= 2
        return True

    residues = {h % 16 for h in range(188, 188 + 64) if even_pools(h)}
    assert residues == {12} and stats.formulas.exact_lines() == ["H mod 16 = 12", "W mod 16 = 12"]


def _fits(side: int) -> bool:
    try:
        archcalc.analyze("unet", input=f"1x{side}x{side}")
        return True
    except archcalc.SpecError:
        return False


def test_the_bottlenecks_field_and_the_decoders_fraction_of_a_pixel():
    """The bottleneck sees r = 1 + Σ (k − 1)·jump over ten 3×3 convolutions and four 2×2 pools:
    1 + 2·2·(1 + 2 + 4 + 8 + 16) + 1·(1 + 2 + 4 + 8) = 140 pixels, 16 apart. Each 2×2
    up-convolution gives two neighbouring units the same input unit: the jump halves (8 after
    the first), the field stays 140; the output layer's 204 pixels at a jump of 1 are measured
    by the gradient test (test_receptive_field.py, the bundled U-Net)."""
    fields = archcalc.analyze("unet").receptive_fields
    expected = 1 + 2 * 2 * (1 + 2 + 4 + 8 + 16) + 1 * (1 + 2 + 4 + 8)
    assert (fields["bottom"].height.size, fields["bottom"].height.jump) == (expected, 16) == (140, 16)
    assert (fields["up4.upconv"].height.size, fields["up4.upconv"].height.jump) == (140, 8)
    assert (fields["classifier"].height.size, fields["classifier"].height.jump) == (204, 1)
