"""`archcalc sweep --set` (the file read and parsed once; each setting of the parameters expanded
once and analysed once, symbolically, then arithmetic at each size) against `archcalc table` run
as a separate process per point on a spec file written with that point's parameters, the way a
script would size a network without the sweep. Runs are interleaved; medians are printed.

Also in one process: the sweep done both ways, symbolic once a setting and numeric at each point
(which one a sweep takes is `archcalc.sweep.symbolic_is_faster`), checked equal point by point.

Usage: python benchmarks/sweep_params_speed.py [--model resnet50] [--set groups=1,2,4 --set base_width=16,32,64]
       [--sizes 160:288:32] [--runs 5] [--sample 6]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

DEFAULT_SETTINGS = ["groups=1,2,4", "base_width=16,32,64"]


def command(*args: str) -> float:
    """Seconds one `archcalc ARGS…` process takes."""
    code = f"import sys; from archcalc.cli import main; sys.argv = ['archcalc', *{list(args)!r}]; main()"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def written_spec(model: str, setting: dict, folder: Path) -> tuple[Path, str | None]:
    """The model's spec file with `setting` as its parameters' defaults (and out of the variant)."""
    from archcalc.spec.catalog import locate

    path, variant = locate(model)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["params"].update(setting)
    if variant and isinstance(document.get("variants", {}).get(variant), dict):
        for name in setting:
            document["variants"][variant].pop(name, None)
    target = folder / f"point{len(list(folder.iterdir()))}.yaml"
    target.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return target, variant


def by_way(model: str, settings, sizes: list[tuple[int, int]], symbolic: bool) -> tuple[float, list]:
    """Seconds and totals of the sweep done one way: symbolic once a setting, or numeric at each point."""
    import archcalc.sweep as module

    chosen = module.symbolic_is_faster
    module.symbolic_is_faster = lambda settings, points: symbolic
    try:
        start = time.perf_counter()
        points = module.sweep(model, [size for size, _ in sizes], [1], settings=settings).points
        return time.perf_counter() - start, [p.totals for p in points]
    finally:
        module.symbolic_is_faster = chosen


def main() -> None:
    from archcalc.settings import parse_setting
    from archcalc.sizes import parse_size_list

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet50")
    parser.add_argument("--set", action="append", dest="settings")
    parser.add_argument("--sizes", default="160:288:32")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--sample", type=int, default=6, help="points run as separate `archcalc table` processes")
    args = parser.parse_args()
    texts = args.settings or DEFAULT_SETTINGS
    settings = [parse_setting(text) for text in texts]
    sizes = parse_size_list(args.sizes)
    combinations = list(itertools.product(*(s.values for s in settings)))
    points = len(combinations) * len(sizes)
    sweep_args = ["sweep", args.model, *itertools.chain(*(("--set", t) for t in texts)), "--size", args.sizes]
    folder = Path(tempfile.mkdtemp())
    step = max(1, len(combinations) // args.sample)
    sample = [(dict(zip((s.name for s in settings), values)), sizes[i % len(sizes)])
              for i, values in enumerate(combinations[::step][:args.sample])]
    tables = [(*written_spec(args.model, setting, folder), size) for setting, size in sample]
    sweep_runs, table_runs = [], []
    for _ in range(args.runs):
        sweep_runs.append(command(*sweep_args))
        table_runs.append(statistics.mean(
            command("table", str(path), *(["--variant", variant] if variant else []), "--input", f"3x{h}x{w}")
            for path, variant, (h, w) in tables))
    sweep_s, table_s = statistics.median(sweep_runs), statistics.median(table_runs)
    print(f"archcalc {' '.join(sweep_args)}: {len(combinations)} settings × {len(sizes)} sizes = {points} points, "
          f"median of {args.runs}")
    print(f"  the sweep, one process:              {1000 * sweep_s:8.1f} ms  = {1000 * sweep_s / points:7.2f} ms a point")
    print(f"  archcalc table, a process a point:   {1000 * table_s:8.1f} ms a point ({len(tables)} points sampled)")
    print(f"  ratio sweep / table per point: {sweep_s / points / table_s:.4f} ({table_s * points / sweep_s:.0f}× faster)")
    from archcalc.sweep import symbolic_is_faster

    symbolic, numeric = [], []
    for _ in range(args.runs):
        seconds, by_formulas = by_way(args.model, settings, sizes, symbolic=True)
        symbolic.append(seconds)
        seconds, by_numbers = by_way(args.model, settings, sizes, symbolic=False)
        numeric.append(seconds)
        assert by_formulas == by_numbers, "the two ways differ"
    s, n = statistics.median(symbolic), statistics.median(numeric)
    chosen = "symbolic" if symbolic_is_faster(len(combinations), len(sizes)) else "numeric"
    print(f"in one process (imports done; the first symbolic run imports sympy), same totals at every point, "
          f"median of {args.runs}; the sweep chose {chosen}:")
    print(f"  symbolic once a setting, then arithmetic: {1000 * s / points:7.2f} ms a point")
    print(f"  numeric analysis at each point:           {1000 * n / points:7.2f} ms a point (ratio {s / n:.2f})")

if __name__ == "__main__":
    main()
