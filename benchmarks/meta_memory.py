"""Peak memory of `archcalc validate vgg19 --device meta` against a bare `import torch`.

Each route runs as a fresh process, side by side in this one script, and reports its peak
resident set (ru_maxrss). The figure that matters is the peak above the bare torch import; for
comparison, building VGG-19 on the CPU allocates its 143.7 M float32 weights (575 MB).

torch itself loads its Python meta kernels on the first operation on a meta tensor (sympy, and
torch._dynamo through the reference implementations of ops such as relu), whatever the model.
The LeNet-5 route shows that fixed cost, so the part that grows with the model is printed too.
Usage: python benchmarks/meta_memory.py [--model vgg19] [--runs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

PEAK = "import resource; print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"  # KiB on Linux
VALIDATE_META = "import torch\nfrom archcalc import validate\nassert validate(MODEL, device='meta').ok"


def routes(model: str) -> dict[str, str]:
    return {
        "import torch": "import torch",
        "validate lenet5 --device meta": VALIDATE_META.replace("MODEL", "'lenet5'"),
        f"validate {model} --device meta": VALIDATE_META.replace("MODEL", repr(model)),
        f"build_torch('{model}') on the cpu": f"import torch\nfrom archcalc import build_torch\nbuild_torch({model!r})",
    }


def peak_mib(code: str) -> float:
    out = subprocess.run([sys.executable, "-c", code + "\n" + PEAK], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vgg19")
    parser.add_argument("--runs", type=int, default=3, help="runs per route; the lowest peak counts")
    args = parser.parse_args()
    peaks = {name: min(peak_mib(code) for _ in range(args.runs)) for name, code in routes(args.model).items()}
    bare, lenet, meta, cpu = peaks.values()
    for name, peak in peaks.items():
        above = f"  +{peak - bare:6.1f} MiB above the bare import" if peak != bare else ""
        print(f"{name:<34} peak {peak:7.1f} MiB{above}")
    print(f"{args.model} on meta above lenet5 on meta (what grows with the model): {meta - lenet:.1f} MiB; "
          f"on the cpu: {cpu - bare:.1f} MiB; ratio {(meta - lenet) / (cpu - bare):.4f}")
    verdict = "met" if (meta - bare) * 2**20 < 50e6 else "MISSED (torch's own meta kernels, see above)"
    print(f"target: {args.model} on meta < 50 MB above the bare import: {verdict}")


if __name__ == "__main__":
    main()
