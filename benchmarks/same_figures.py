"""Are two runs of `archcalc validate` the same, figure by figure? For the GPU run of
docs/gpu-validation.md: the JSON of each model validated on cpu against the same model on cuda
(benchmarks/gpu_validation.sh writes one file per model into each folder).

Every check of every layer and of the total (shape, parameters, buffers, fvcore's and
FlopCounterMode's counts: archcalc's figure and the measured one) must be equal, and each run must
agree with archcalc; the device, versions and times may differ. Prints the counts compared and
every difference; exit 0 when there is none and both folders hold the same models.

Usage: python benchmarks/same_figures.py FOLDER_A FOLDER_B
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def figures(path: Path) -> tuple[dict, dict[tuple[str, str], dict]]:
    """The one model of a validation file, and its checks by (layer, figure)."""
    [model] = json.loads(path.read_text())["models"]
    rows = [*model["layers"], model["total"]] if model.get("total") else model["layers"]
    return model, {(row["name"], figure): check for row in rows for figure, check in row["checks"].items()}


def main() -> int:
    first, second = (Path(arg) for arg in sys.argv[1:3])
    names = sorted({p.stem for p in first.glob("*.json")} | {p.stem for p in second.glob("*.json")})
    problems, compared, layers, devices = [], 0, 0, ""
    for name in names:
        paths = (first / f"{name}.json", second / f"{name}.json")
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            problems.append(f"{name}: no result in {', '.join(missing)}")
            continue
        (model_a, checks_a), (model_b, checks_b) = (figures(p) for p in paths)
        for model in (model_a, model_b):
            if not model["ok"]:
                problems.append(f"{name} on {model['device']}: archcalc and torch differ ({model['error'] or 'see its file'})")
        if checks_a != checks_b:
            for key in sorted(set(checks_a) | set(checks_b)):
                if checks_a.get(key) != checks_b.get(key):
                    problems.append(f"{name} {key[0]} {key[1]}: {checks_a.get(key)} against {checks_b.get(key)}")
        compared += len(checks_a)
        layers += len(model_a["layers"])
        devices = devices or f"{model_a['device']} and {model_b['device']}"
    print(f"{len(names)} models, {layers} layers, {compared} checks (archcalc's figure and the measured one each)"
          f" compared between {first} and {second}" + (f" ({devices})" if devices else ""))
    print("\n".join(problems) if problems else "every figure is the same, and every one agrees with archcalc")
    return 1 if problems or not names else 0


if __name__ == "__main__":
    sys.exit(main())
