"""The share of an aligned grouped convolution's rate that one of 8 more channels a group keeps, at
several sizes, against the one share a device profile measured (`archcalc device-profile`: at
128 + 8 channels a group, 2 groups, 28×28; `archcalc.measure_device.ALIGNED`).

    OMP_NUM_THREADS=1 python benchmarks/alignment_shares.py [--profile FILE] [--runs N]

Each point is a 3×3 convolution of stride 1, padding 1, no bias, on one thread: WIDTH channels a
group against WIDTH + 8 (a multiple of 8 and of no larger power of two: oneDNN's kernel of 8
channels at a time), the two run in turn, each at the fastest of its runs; the share is the
second's MACs a second over the first's. The last point is RegNet-Y-128GF's second stage (264
channels a group, 4 groups, on 48×48 at its 384×384 input).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

POINTS = ((2, 128, 28), (2, 256, 28), (2, 512, 28), (4, 128, 28), (4, 256, 28), (4, 512, 28),
          (4, 128, 48), (4, 512, 48), (11, 128, 24), (11, 256, 24), (4, 256, 48))
"""(groups, channels a group, side) of each point; the aligned layer's channels, the other's 8 more."""


def fastest_ms(torch, layers: list, inputs: list, runs: int) -> list[float]:
    """Each layer's fastest time of `runs` on its input, the layers run in turn."""
    best = [float("inf")] * len(layers)
    with torch.no_grad():
        for layer, x in zip(layers, inputs):
            layer(x)  # warm-up
        for _ in range(runs):
            for index, (layer, x) in enumerate(zip(layers, inputs)):
                start = time.perf_counter_ns()
                layer(x)
                best[index] = min(best[index], (time.perf_counter_ns() - start) / 1e6)
    return best


def share(torch, groups: int, width: int, side: int, runs: int) -> float:
    """The rate of WIDTH + 8 channels a group over WIDTH's (MACs a millisecond)."""
    layers, inputs, macs = [], [], []
    for channels in (width, width + 8):
        layers.append(torch.nn.Conv2d(channels * groups, channels * groups, 3, padding=1, groups=groups, bias=False))
        inputs.append(torch.randn(1, channels * groups, side, side))
        macs.append(side * side * channels * channels * groups * 9)
    aligned, other = fastest_ms(torch, layers, inputs, runs)
    return (macs[1] / other) / (macs[0] / aligned)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", help="a device profile file of this CPU, whose share at 8 is printed beside")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    import torch

    from archcalc.devices import load_profile, share_at

    torch.set_num_threads(1)
    measured = None
    if args.profile:
        table = load_profile(args.profile).efficiency_by_size["conv"]
        measured = share_at(table.alignments, table.aligned, 8)
    print(f"# torch {torch.__version__} · one thread · fastest of {args.runs} runs, in turn"
          + (f" · the profile's share at 8: {measured:.4f}" if measured else ""))
    print("groups  channels a group  side  share of +8" + ("  ÷ the profile's" if measured else ""))
    for groups, width, side in POINTS:
        kept = share(torch, groups, width, side, args.runs)
        print(f"{groups:>6}  {width:>7} + 8       {side:>4}  {kept:11.3f}" + (f"  {kept / measured:16.2f}" if measured else ""))


if __name__ == "__main__":
    main()
