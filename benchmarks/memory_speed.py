"""archcalc's inference peak, or a training step's, against torch's own accounting of it, on the
same specs in one run.

archcalc: a cold `python -m archcalc memory SPEC [--train] --format json` process. MemTracker
route: a cold process that imports torch, builds the same model on fake tensors
(archcalc.build_torch under FakeTensorMode), runs one forward pass in eval mode without gradients
(with --train: a training step with SGD with momentum, then a second one) under
torch.distributed._tools.mem_tracker.MemTracker and reads its peak — what a user does without
archcalc. Runs interleave; medians and their ratio are printed, with both peaks to show they
agree. Usage: python benchmarks/memory_speed.py [--runs 7] [--train] [SPEC …]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

MEMTRACKER_ROUTE = """
import sys
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.distributed._tools.mem_tracker import MemTracker
from archcalc import build_torch
from archcalc.spec import load_graph

spec = sys.argv[1]
with FakeTensorMode():
    model = build_torch(spec).eval()
    x = torch.randn(1, *load_graph(spec).input_shape)
    tracker = MemTracker()
    with torch.no_grad(), tracker:
        model(x)
peak = tracker.get_tracker_snapshot("peak")
print(sum(device["Total"] for device in peak.values()))
"""


TRAINING_ROUTE = """
import sys
import torch
from torch._subclasses.fake_tensor import FakeTensorMode
from torch.distributed._tools.mem_tracker import MemTracker
from archcalc import build_torch
from archcalc.spec import load_graph

spec = sys.argv[1]
with FakeTensorMode():
    model = build_torch(spec).train()
    x = torch.randn(1, *load_graph(spec).input_shape)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step():
        model(x).sum().backward()
        optimizer.step()
        optimizer.zero_grad()

    step()  # the optimizer's state made: the second step is the steady state
    tracker = MemTracker()
    tracker.track_external(model, optimizer)
    with tracker:
        step()
peak = tracker.get_tracker_snapshot("peak")
print(sum(device["Total"] for device in peak.values()))
"""


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--train", action="store_true", help="a training step (SGD with momentum)")
    parser.add_argument("specs", nargs="*", default=["resnet152"])
    args = parser.parse_args()
    for spec in args.specs:
        ours_command = [sys.executable, "-m", "archcalc", "memory", spec, *(["--train"] if args.train else []),
                        "--format", "json"]
        theirs_command = [sys.executable, "-c", TRAINING_ROUTE if args.train else MEMTRACKER_ROUTE, spec]
        ours, theirs = [], []
        for _ in range(args.runs):
            seconds, document = timed(ours_command)
            ours.append(seconds)
            seconds, tracked = timed(theirs_command)
            theirs.append(seconds)
        predicted, measured = json.loads(document)["peak"]["total"], int(tracked)
        ours_ms, theirs_ms = 1000 * statistics.median(ours), 1000 * statistics.median(theirs)
        print(f"{spec:<10} archcalc memory{' --train' if args.train else ''} {ours_ms:7.1f} ms · MemTracker route {theirs_ms:7.1f} ms · "
              f"ratio {ours_ms / theirs_ms:.3f} (1/{theirs_ms / ours_ms:.0f}) · peak {predicted:,} B, "
              f"MemTracker {measured:,} B: {'the same' if predicted == measured else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
