"""1-D and 3-D networks against figures from outside archcalc.

Video: torchvision 0.29.1's r3d_18, mc3_18 and r2plus1d_18 (torchvision.models.video, weights=None,
eval mode, 1×3×16×112×112) and s3d (1×3×16×224×224), measured in a throw-away virtualenv with torch 2.14.1 and fvcore 0.1.5:
the parameters and buffer values of the torchvision model, fvcore's FlopCountAnalysis total and
FlopCounterMode's total. Audio: M5 as torchaudio's speech-command tutorial writes it, as a plain
torch program here, measured by torch, fvcore and FlopCounterMode when the test runs.
"""

from __future__ import annotations

import itertools
import warnings

import pytest

import archcalc

TORCHVISION_VIDEO = {  # params, buffer values, fvcore total, FlopCounterMode total
    "r3d_18": (33_371_472, 9_620, 40_739_203_072, 81_393_106_944),
    "mc3_18": (11_695_440, 9_620, 43_402_846_208, 86_685_270_016),
    "r2plus1d_18": (31_505_325, 25_387, 40_644_893_164, 81_038_161_920),
    "s3d": (8_320_048, 21_293, 18_067_040_448, 35_957_542_912),  # at 1×3×16×224×224
}


@pytest.mark.parametrize("model", list(TORCHVISION_VIDEO))
def test_video_resnets_are_torchvisions(model):
    params, buffers, fvcore, flop_counter = TORCHVISION_VIDEO[model]
    stats = archcalc.analyze(model)
    side = 224 if model == "s3d" else 112
    assert stats.input_shape == (1, 3, 16, side, side) and stats.layers[-1].shape == (1, 400)
    assert (stats.totals.params, stats.totals.buffers) == (params, buffers)
    assert archcalc.analyze(model, convention="fvcore").totals.macs == fvcore
    assert archcalc.analyze(model, convention="torch").totals.flops == flop_counter


def m5_program():
    """M5 as the torchaudio tutorial writes it (n_channel 32, stride 16, 35 classes)."""
    from torch import nn

    class M5(nn.Module):
        def __init__(self, n_input=1, n_output=35, stride=16, n_channel=32):
            super().__init__()
            widths = [n_channel, n_channel, 2 * n_channel, 2 * n_channel]
            self.convs = nn.ModuleList([nn.Conv1d(n_input, widths[0], kernel_size=80, stride=stride)] + [
                nn.Conv1d(a, b, kernel_size=3) for a, b in itertools.pairwise(widths)])
            self.bns = nn.ModuleList(nn.BatchNorm1d(w) for w in widths)
            self.pool = nn.MaxPool1d(4)
            self.fc1 = nn.Linear(widths[-1], n_output)

        def forward(self, x):
            for conv, bn in zip(self.convs, self.bns):
                x = self.pool(nn.functional.relu(bn(conv(x))))
            x = nn.functional.avg_pool1d(x, x.shape[-1])
            return self.fc1(x.permute(0, 2, 1))

    return M5().eval()


def test_m5_is_the_tutorials_network():
    """Parameters, buffers, each stage's output length, and both counters' totals, measured on the
    tutorial's program (it pools with avg_pool1d and applies the linear layer to (N, 1, C): fvcore and
    FlopCounterMode count those as the spec's adaptive pooling and flatten-then-linear)."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    from fvcore.nn import FlopCountAnalysis
    from torch.utils.flop_counter import FlopCounterMode

    model, x = m5_program(), torch.rand(1, 1, 8000)
    lengths = []
    hooks = [model.pool.register_forward_hook(lambda m, i, out: lengths.append(tuple(out.shape)))]
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    for hook in hooks:
        hook.remove()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fvcore = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).total()
    stats = archcalc.analyze("m5")
    assert stats.totals.params == sum(p.numel() for p in model.parameters()) == 26_915  # the tutorial prints it
    assert stats.totals.buffers == sum(b.numel() for b in model.buffers())
    assert [layer.shape for layer in stats.layers if layer.name.endswith(".pool")] == lengths
    assert archcalc.analyze("m5", convention="fvcore").totals.macs == fvcore
    assert archcalc.analyze("m5", convention="torch").totals.flops == counter.get_total_flops()


def test_the_paper_m5_counts_as_its_table_says():
    """Dai et al. 2017, Table 1: M5 is [80/4, 128], [3, 128], [3, 256], [3, 512], each with batch norm and
    max pooling by 4, then global average pooling and 10 classes (listed as 0.5M parameters)."""
    params = archcalc.analyze("m5_paper").totals.params
    assert params == (
        1 * 128 * 80 + 128 + 128 * 128 * 3 + 128 + 128 * 256 * 3 + 256 + 256 * 512 * 3 + 512  # the convolutions
        + 2 * (128 + 128 + 256 + 512)  # batch norm's scale and shift
        + 512 * 10 + 10)  # the classifier
