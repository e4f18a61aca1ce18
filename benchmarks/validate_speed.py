"""archcalc's predicted figures against the torch route, on the same specs in one run.

Symbolic: a cold `archcalc table SPEC --format json` process. Torch route: a cold process that
imports torch and fvcore, builds the same model (archcalc.build_torch), and counts it with
fvcore's FlopCountAnalysis and torch's FlopCounterMode on the CPU — what a user does without
archcalc. Runs interleave; medians and their ratio are printed, with both routes' totals to show
they agree. Usage: python benchmarks/validate_speed.py [--runs 5] [SPEC …]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

from table_speed import archcalc_command

TORCH_ROUTE = """
import sys, warnings
import torch
from fvcore.nn import FlopCountAnalysis
from torch.utils.flop_counter import FlopCounterMode
from archcalc import build_torch
from archcalc.spec import load_graph

warnings.simplefilter("ignore")
spec = sys.argv[1]
model = build_torch(spec).eval()
x = torch.randn(1, *load_graph(spec).input_shape)
with torch.no_grad():
    analysis = FlopCountAnalysis(model, x).unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    fvcore = analysis.total()
    with FlopCounterMode(display=False) as counter:
        model(x)
print(sum(p.numel() for p in model.parameters()), fvcore, counter.get_total_flops())
"""


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("specs", nargs="*", default=["alexnet", "resnet50", "vgg16"])
    args = parser.parse_args()
    for spec in args.specs:
        predicted = [*archcalc_command(), "table", spec, "--format", "json", "--convention", "fvcore"]
        torch_route = [sys.executable, "-c", TORCH_ROUTE, spec]
        ours, theirs = [], []
        for _ in range(args.runs):
            seconds, table = timed(predicted)
            ours.append(seconds)
            seconds, counted = timed(torch_route)
            theirs.append(seconds)
        totals = json.loads(table)["totals"]
        params, fvcore, flops = (int(v) for v in counted.split())
        agree = (params, fvcore) == (totals["params"], totals["macs"])
        ours_ms, theirs_ms = 1000 * statistics.median(ours), 1000 * statistics.median(theirs)
        print(f"{spec:<10} archcalc {ours_ms:7.1f} ms · torch route {theirs_ms:7.1f} ms · "
              f"ratio {ours_ms / theirs_ms:.3f} (1/{theirs_ms / ours_ms:.0f}) · "
              f"params {params:,}, fvcore {fvcore:,}, FlopCounterMode {flops:,}: "
              f"{'same totals' if agree else 'TOTALS DIFFER'}")


if __name__ == "__main__":
    main()
