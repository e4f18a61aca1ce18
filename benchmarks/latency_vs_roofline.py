"""Measured per-layer latency of every bundled model on this CPU (one thread) or this CUDA GPU
against the roofline's prediction on a device profile.

Each model is built at its own input size, batch 1, and timed per layer in --dtype as `archcalc
validate --latency per-layer --threads 1 --dtype D` times it (`archcalc.validation.measure_latency`):
the median of --runs passes after --warmup. On the CPU each model runs in a fresh process, as each
`archcalc validate` is (in one long process, on 3 December, MobileNet V2 measured 45 ms after the
larger models, against 25–28 ms in fresh processes just after); on CUDA, whose timings do not
depend on the C library's heap, all run in this process, which starts CUDA once. The
measurements, with the device's name and torch's version, are saved to --cache (and read from it
when there, so the profile can change without measuring again, on another machine too). For each model it prints the predicted and
measured latency, measured / predicted, and Spearman's rank correlation of predicted and measured
per-layer times over the layers that hold 90% of the MACs, of the median runs and of the fastest
(the least disturbed where other work shares the cores), beside the rank correlation no
prediction that gives alike layers one time can pass against those times (η); with --no-efficiency, against the bare
roofline of the profile's peak and bandwidth; with --no-sizes, against its efficiencies by kind of
work alone (without those it measured by size). Nothing is fitted to the models.

Usage: archcalc device-profile --device cpu -o cpu.yaml
       OMP_NUM_THREADS=1 python benchmarks/latency_vs_roofline.py --profile cpu.yaml [--runs 3]
       [--warmup 1] [--seconds 2] [--cache latency.json] [--no-efficiency | --no-sizes] [--markdown] [MODEL …]
       python benchmarks/latency_vs_roofline.py --device cuda --dtype bfloat16 [--batch 32] --profile h200
       --cache latency-bf16.json
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path


def measure_apart(name: str, runs: int, warmup: int, dtype: str, batch: int = 1, alone: bool = False,
                  seconds: float = 0.0) -> dict:
    """`measure` on the CPU in a fresh process."""
    done = subprocess.run([sys.executable, __file__, "--measure-one", name, "--runs", str(runs), "--warmup", str(warmup),
                           "--dtype", dtype, "--batch", str(batch), "--seconds", str(seconds),
                           *(["--alone"] if alone else [])],
                          check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def runs_for(runs: int, seconds: float, ms: float) -> int:
    """At least `runs`, and as many (up to MAX_RUNS, archcalc's bound on `validate --runs`: LeNet-5
    runs in 0.14 ms) as take `seconds` at `ms` a run."""
    from archcalc.limits import MAX_RUNS

    return max(runs, min(MAX_RUNS, math.ceil(seconds * 1e3 / ms))) if seconds and ms > 0 else runs


def _passes(fewest: int) -> Callable[[str], int]:
    """--runs (from 1) and --warmup (from 0): a whole number in ASCII digits, as archcalc reads one
    (`archcalc.sizes.whole_number`), up to MAX_RUNS, which the timing takes at most."""
    from archcalc.limits import MAX_RUNS
    from archcalc.sizes import whole_number

    def passes(text: str) -> int:
        number = whole_number(text)
        if number is None or not fewest <= number <= MAX_RUNS:
            raise argparse.ArgumentTypeError(f"takes a whole number from {fewest} to {MAX_RUNS:,}, got {text[:20]!r}")
        return number
    return passes


def _seconds(text: str) -> float:
    """--seconds: a number from 0 (off)."""
    seconds = float(text)
    if not 0 <= seconds < math.inf:
        raise argparse.ArgumentTypeError(f"--seconds takes a number from 0, got {text}")
    return seconds


def measure(name: str, variant, path, runs: int, warmup: int, device: str = "cpu", dtype: str = "float32",
            batch: int = 1, alone: bool = False, seconds: float = 0.0) -> dict:
    """A model's per-layer times: the median, fastest and slowest of `runs` after `warmup`, or with
    `seconds`, of as many runs as take that long (`runs_for`), by one run after one warm-up first:
    a model of a few milliseconds timed 5 times ranks its layers by the noise of the moment."""
    import torch

    from archcalc.spec import load_graph
    from archcalc.validation import measure_latency

    graph = load_graph(path, variant)
    if seconds:
        once = measure_latency(graph, batch=batch, device=device, runs=1, warmup=1, latency="per-layer",
                               threads=1 if device == "cpu" else None, dtype=dtype)
        runs = runs_for(runs, seconds, once.model.ms)
    latency = measure_latency(graph, batch=batch, device=device, runs=runs, warmup=warmup,
                              latency="per-layer", threads=1 if device == "cpu" else None, dtype=dtype)
    where = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()
    measured = {"model": name, "place": device, "device": where, "torch": torch.__version__, "dtype": dtype,
                "batch": batch, "runs": runs, "warmup": warmup,
                "ms": latency.model.ms, "min_ms": latency.model.min_ms,
                "layers": {t.name: [t.ms, t.min_ms, t.max_ms] for t in latency.layers}}
    if alone:
        measured["alone_ms"] = timed_alone(graph, device, dtype, batch)
    return measured


def timed_alone(graph, device: str, dtype: str, batch: int) -> dict[str, float]:
    """Each of the layers that hold 90% of the MACs (convolutions and linear layers, of one input)
    timed on its own, at its own fields and input shape, as `archcalc device-profile` times a
    synthetic layer (`_Clock.as_in_a_model`: an input just copied, the output before still held,
    the fastest of its runs), in ms: what a prediction from measuring each very layer alone, not a
    grid of synthetic ones, would give."""
    import torch

    from archcalc.analysis import analyze_graph
    from archcalc.measure_device import _Clock
    from archcalc.torchmodel import build_layer
    from archcalc.validation.results import alike, heaviest

    if device == "cpu":
        torch.set_num_threads(1)
    stats = analyze_graph(graph, batch=batch)
    nodes, description = {node.name: node for node in graph.nodes}, alike(graph, stats)
    clock, kind, seen, times = _Clock(device), getattr(torch, dtype), {}, {}
    for name in heaviest({layer.name: layer.figures.macs for layer in stats.layers}):
        node, key = nodes[name], description[name]
        [shape] = [stats.shapes[source] for source in node.inputs]
        if key not in seen:
            module = build_layer(node.kind, node.attrs, [shape], device).to(kind).eval()
            with torch.no_grad():
                seen[key] = min(clock.as_in_a_model(module, torch.randn(shape, device=device).to(kind))) * 1e3
        times[name] = seen[key]
    return times


def _check_same_kind(cache: dict, args) -> None:
    """Refuse to add measurements to a kept file of another device, dtype or batch (kept files
    before these fields were kept: float32, batch 1)."""
    for name, kept in cache.items():
        theirs = (kept.get("place", args.device), kept.get("dtype", "float32"), kept.get("batch", 1))
        if theirs != (args.device, args.dtype, args.batch):
            sys.exit(f"error: {args.cache} holds {name} on {theirs[0]} in {theirs[1]} at batch {theirs[2]}; this run "
                     f"would add {args.device}, {args.dtype}, batch {args.batch}: give another --cache, or the same "
                     f"--device, --dtype and --batch")


def measure_here(entry, runs: int, warmup: int, device: str, dtype: str, batch: int = 1, alone: bool = False,
                 seconds: float = 0.0) -> dict:
    """`measure` on CUDA in this process, its memory handed back after."""
    import torch

    try:
        return measure(entry.name, entry.variant, entry.path, runs, warmup, device, dtype, batch, alone, seconds)
    finally:
        torch.cuda.empty_cache()


def compare(entry, measured: dict, profile, dtype: str = "float32", batch: int = 1) -> dict:
    """Predicted against measured for one model: the latency ratio, Spearman's ρ over the layers
    that hold 90% of the MACs and the ρ no prediction that times alike the layers alike can pass
    (η), of the median runs and of the fastest."""
    from archcalc.analysis import analyze_graph
    from archcalc.roofline import roofline
    from archcalc.spec import load_graph
    from archcalc.validation.results import alike, heaviest, rank_ceiling, spearman

    graph = load_graph(entry.path, entry.variant)
    stats = analyze_graph(graph, batch=batch)
    roof = roofline(stats, profile, dtype).by_name()
    ranked = heaviest({layer.name: layer.figures.macs for layer in stats.layers})
    description = alike(graph, stats)
    described = [description[name] for name in ranked]
    predicted = [roof[name].time * 1e3 for name in ranked]
    total = sum(layer.time for layer in roof.values()) * 1e3
    row = {"model": entry.name, "macs": stats.totals.macs, "predicted_ms": total, "ranked": len(ranked),
           "achieved": [roof[name].time * 1e3 / times[0] for name, times in measured["layers"].items()
                        if times[0] > 0 and roof[name].time > 0]}  # views, predicted to run nothing, left out
    alone = measured.get("alone_ms")
    if alone:  # each distinct layer once: its shape, and the roofline's time over its own time alone
        nodes = {node.name: node for node in graph.nodes}
        shapes = {description[name]: (_shape_of(nodes[name], stats), roof[name].time * 1e3 / alone[name])
                  for name in ranked}
        row["alone"] = list(shapes.values())
    for which, model_ms, column in (("median", measured["ms"], 0), ("fastest", measured.get("min_ms"), 1)):
        times = [measured["layers"][name][column] for name in ranked]
        row[which] = (model_ms, model_ms / total if model_ms is not None else None, spearman(predicted, times),
                      rank_ceiling(times, described))
        row[which + " alone"] = spearman([alone[name] for name in ranked], times) if alone else None
    return row


def _runs(counts: list[int]) -> str:
    """How many runs the models had: one count, or the fewest to the most."""
    return f"{min(counts)} runs" if min(counts) == max(counts) else f"{min(counts)}–{max(counts)} runs"


def _shape_of(node, stats) -> str:
    """What sets a layer's work apart beyond its width and positions: its kind of work, and for a
    convolution its kernel, its stride and whether it is grouped (not depthwise)."""
    a, work = node.attrs, node.kind.work(node.attrs, [stats.shapes[source] for source in node.inputs])
    if "kernel" not in a:
        return work
    grouped = " grouped" if a.get("groups", 1) > 1 and work != "depthwise_conv" else ""
    return f"{work} {'×'.join(map(str, a['kernel']))} stride {max(a['stride'])}{grouped}"


def main() -> None:
    from archcalc.limits import MAX_RUNS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*")
    parser.add_argument("--profile", help="a device profile file of this CPU ('archcalc device-profile -o FILE')")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--dtype", choices=("float32", "float16", "bfloat16", "float64"), default="float32")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--runs", type=_passes(1), default=3)
    parser.add_argument("--warmup", type=_passes(0), default=1)
    parser.add_argument("--seconds", type=_seconds, default=0.0,
                        help="time each model for at least this long: as many runs as take it, at least --runs and "
                             f"at most {MAX_RUNS:,} (archcalc.limits.MAX_RUNS)")
    parser.add_argument("--cache", type=Path, default=Path("latency_measured.json"))
    parser.add_argument("--markdown", action="store_true", help="print the table as markdown")
    parser.add_argument("--no-efficiency", action="store_true",
                        help="drop the profile's efficiencies per kind of work: the bare roofline of its peak and bandwidth")
    parser.add_argument("--no-sizes", action="store_true",
                        help="drop the profile's efficiencies by size: each kind of work's one efficiency")
    parser.add_argument("--alone", action="store_true",
                        help="also time each of the layers that hold 90%% of the MACs on its own, as device-profile "
                             "times a synthetic layer, and give ρ of those times (ι)")
    parser.add_argument("--measure-one", help=argparse.SUPPRESS)  # the fresh process of one model: its JSON
    args = parser.parse_args()

    import torch

    from archcalc.spec import bundled

    if args.measure_one:
        [entry] = [e for e in bundled() if e.name == args.measure_one]
        print(json.dumps(measure(entry.name, entry.variant, entry.path, args.runs, args.warmup, "cpu", args.dtype,
                                 args.batch, args.alone, args.seconds)))
        return
    cache = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    asked = args.models or (list(cache) if cache else None)  # a kept file without MODEL: its own models
    entries = [e for e in bundled() if not asked or e.name in asked]
    if any(entry.name not in cache for entry in entries):
        _check_same_kind(cache, args)
    for entry in entries:
        if entry.name not in cache:
            start = time.perf_counter()
            cache[entry.name] = (measure_apart(entry.name, args.runs, args.warmup, args.dtype, args.batch, args.alone,
                                               args.seconds)
                                 if args.device == "cpu" else
                                 measure_here(entry, args.runs, args.warmup, args.device, args.dtype, args.batch, args.alone,
                                              args.seconds))
            print(f"measured {entry.name}: {cache[entry.name]['ms']:.1f} ms "
                  f"({time.perf_counter() - start:.0f} s)", file=sys.stderr, flush=True)
            args.cache.write_text(json.dumps(cache, indent=1))
    if not args.profile:
        return
    from archcalc.devices import load_profile

    profile = load_profile(args.profile)
    if args.no_efficiency:
        profile = replace(profile, efficiency={}, efficiency_by_size={})
    elif args.no_sizes:
        profile = replace(profile, efficiency_by_size={})
    first = cache[entries[0].name]
    dtype, batch = first.get("dtype", "float32"), first.get("batch", 1)
    rows = [compare(entry, cache[entry.name], profile, cache[entry.name].get("dtype", "float32"),
                    cache[entry.name].get("batch", 1)) for entry in entries]
    where = f"{first.get('device') or platform.processor() or platform.machine()} · torch {first.get('torch') or torch.__version__}"
    on_cpu = first.get("place", args.device) == "cpu"
    print(f"# {where} · {'one thread · ' if on_cpu else ''}{dtype} · batch {batch} · "
          f"profile {profile.name} ({args.profile}{', efficiencies dropped' if args.no_efficiency else ''}"
          f"{', efficiencies by size dropped' if args.no_sizes and not args.no_efficiency else ''}) · "
          f"{_runs([cache[entry.name]['runs'] for entry in entries])} after {first['warmup']} warm-up")
    alone = any(r["median alone"] is not None for r in rows)
    each = ["×", "ρ", "η", *(["ι"] if alone else [])]
    head = ["model", "GMACs", "predicted ms", "median ms", *each, "fastest ms", *each, "layers"]
    lines = [head] + [[r["model"], f"{r['macs'] / 1e9:.2f}", f"{r['predicted_ms']:.1f}",
                       *(cell for which in ("median", "fastest")
                         for cell in _cells(r[which]) + ([_rho(r[which + " alone"])] if alone else [])),
                       str(r["ranked"])] for r in rows]
    if args.markdown:
        print("| " + " | ".join(head) + " |\n|:--|" + "--:|" * (len(head) - 1))
        print("\n".join("| " + " | ".join(line) + " |" for line in lines[1:]))
    else:
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        for line in lines:
            print("  ".join(cell.rjust(width) if i else cell.ljust(width) for i, (cell, width) in enumerate(zip(line, widths))))
    print("\n× = measured / predicted; ρ = Spearman's rank correlation of predicted and measured layer times over the "
          "layers that hold 90% of the MACs (`layers` of them); η = the ρ no prediction that times alike the layers "
          "alike (kind, fields, shapes) can pass against these times"
          + ("; ι = ρ of those layers each timed on its own (--alone) against these times" if alone else ""))
    achieved = sorted(fraction for row in rows for fraction in row["achieved"])
    if achieved:
        print(f"per layer (median runs): the roofline's fraction reached (predicted ÷ measured) is {_spread(achieved)}, "
              f"over the {len(achieved)} layers that run a kernel")
    if alone:
        _print_against_alone(rows)
    for which in ("median", "fastest"):
        within = sum(r[which][1] is not None and 0.5 <= r[which][1] <= 2 for r in rows)
        ranked = sum(r[which][2] is not None and r[which][2] >= 0.8 for r in rows)
        reachable = [r["model"] for r in rows if r[which][3] is not None and r[which][3] < 0.8]
        print(f"{which} runs: predicted within a factor of 2 of measured for {within} of {len(rows)} models; "
              f"ρ ≥ 0.8 for {ranked} of {len(rows)}; η < 0.8 (out of any such prediction's reach) for "
              f"{len(reachable)}{': ' + ', '.join(reachable) if reachable else ''}")
        if alone:
            apart = sum(r[which + " alone"] is not None and r[which + " alone"] >= 0.8 for r in rows)
            print(f"{which} runs: the layers each timed on its own rank as in the model (ι ≥ 0.8) for {apart} of {len(rows)}")


def against_alone(rows: list[dict]) -> dict[str, list[float]]:
    """The roofline's time over each distinct layer's own time alone, sorted, by the shape of its
    work (`_shape_of`), and over all of them under 'all'."""
    ratios: dict[str, list[float]] = {}
    for row in rows:
        for shape, ratio in row.get("alone", []):
            ratios.setdefault(shape, []).append(ratio)
    every = [ratio for found in ratios.values() for ratio in found]
    return {"all": sorted(every), **{shape: sorted(found) for shape, found in ratios.items()}}


def _print_against_alone(rows: list[dict]) -> None:
    """`against_alone`, for the shapes of at least 10 such layers: where a layer's description errs."""
    ratios = against_alone(rows)
    every = ratios.pop("all")
    print(f"per layer: the roofline's time ÷ the layer's own time alone is {_spread(every)} over the {len(every)} "
          "distinct layers among those that hold 90% of the MACs; by the shape of their work:")
    for shape, found in sorted(ratios.items(), key=lambda item: -len(item[1])):
        if len(found) >= 10:
            print(f"  {shape}: {_spread(found)} over {len(found)}")


def percentiles(ordered: list[float]) -> tuple[float, float, float]:
    """The 10th percentile, the median and the 90th percentile of ordered figures."""
    return tuple(ordered[round(q * (len(ordered) - 1))] for q in (0.1, 0.5, 0.9))


def _spread(ordered: list[float]) -> str:
    low, middle, high = percentiles(ordered)
    return f"{middle:.2f} at the median, {low:.2f}–{high:.2f} from the 10th to the 90th percentile"


def _cells(figures) -> list[str]:
    ms, ratio, rho, ceiling = figures
    if ms is None:
        return ["–", "–", "–", "–"]
    return [f"{ms:.1f}", f"{ratio:.2f}", _rho(rho), _rho(ceiling)]


def _rho(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


if __name__ == "__main__":
    main()
