"""A model's totals over many input sizes, from its formulas: one analysis, then arithmetic.

The sizes that vary are the input's length L (a 1-D input, C×L) or its height and width (a 2-D
input, C×H×W, and a 3-D one, C×D×H×W, whose depth D stays the spec's or the given input's).

Over settings of the spec's own parameters (`--set`), the file is read and parsed once and each
setting expanded once; each setting is then analysed numerically at each point, or, where that
would cost more (many sizes: `symbolic_is_faster`), symbolically once with arithmetic at each
point. A setting the spec refuses gives its points the error, located; so does a size it refuses
(numerically), or the size's unmet constraint (symbolically).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from archcalc.errors import OptionError, SpecError, did_you_mean
from archcalc.limits import MAX_DIMENSION, MAX_SWEEP_POINTS, MAX_SYMBOLIC_LAYERS
from archcalc.settings import Setting, kind_of, shown_value
from archcalc.sizes import check_sweep_points, given_once, integer, parse_batch, parse_input
from archcalc.stats import Figures, ModelStats

if TYPE_CHECKING:
    from collections.abc import Callable

    from archcalc.graph import Graph
    from archcalc.symbolic.context import Condition

AXES = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}
"""The spatial axes of an input with one, two or three of them, as records name them."""

_SYMBOLS = {1: ("L",), 2: ("H", "W"), 3: ("H", "W")}
"""The symbols of the sizes that vary: the last one or two of the input."""


@dataclass(frozen=True)
class SweepPoint:
    """The totals at one batch and input size (and setting of the spec's parameters), or the
    constraint that size does not meet, or the error of a setting the spec refuses."""

    batch: int
    input: tuple[int, ...]
    """The input at this point: channels, then the spatial sizes (C×L, C×H×W or C×D×H×W)."""
    totals: Figures | None
    unmet: Condition | None = None
    setting: tuple[Any, ...] = ()
    """The values of the parameters set (`--set`), in the order of Sweep.parameters."""
    error: SpecError | None = None
    """Why the spec refuses this setting (at this size): then `totals` and `unmet` are None."""

    @property
    def spatial(self) -> tuple[int, ...]:
        return self.input[1:]


class Head(NamedTuple):
    """What a sweep over parameters names above its points (a ModelStats names the same)."""

    model: str
    family: str
    file: str
    input_shape: tuple
    """N×C×… with symbols for what varies (N over several batch sizes, else the batch)."""
    convention: str
    dtype: str
    skipped: tuple[str, ...]

    def uncounted(self) -> list[str]:
        """What the convention's tool skips at some point of the sweep."""
        return list(self.skipped)


class Selection(NamedTuple):
    """The filters a sweep's points went through, and how many points each one dropped."""

    max_params: int | None = None
    max_macs: int | None = None
    max_activation_bytes: int | None = None
    pareto: str | None = None
    """The cost whose front is kept: 'params' or 'macs'."""
    evaluated: int = 0
    dropped: tuple[tuple[str, int], ...] = ()
    """(reason, points) for each reason a point was dropped: not valid, over a limit, dominated."""

    @property
    def active(self) -> bool:
        return self.pareto or any(limit is not None for limit in self[:3])


@dataclass(frozen=True)
class Sweep:
    formulas: ModelStats | None
    """The symbolic analysis (L, or H and W, and, over several batch sizes, N) the points come
    from; None in a sweep over the spec's parameters, where each setting has its own."""
    points: list[SweepPoint]
    head: ModelStats | Head | None = None
    """The model, file, input, convention and dtype: the formulas' (then None here), or a Head."""
    parameters: tuple[str, ...] = ()
    """The names of the parameters set (`--set`), in the order given."""
    selection: Selection | None = None

    @property
    def about(self) -> ModelStats | Head:
        return self.head or self.formulas

    @property
    def axes(self) -> tuple[str, ...]:
        """The names of the input's spatial axes: ('length',), ('height', 'width') or ('depth', 'height', 'width')."""
        return AXES[len(self.about.input_shape) - 2]


def sweep(spec: str | Path, sizes: list[int | tuple[int, int]], batches: list[int], variant: str | None = None,
          convention: str = "paper", dtype: str = "float32", input: tuple[int, ...] | None = None,
          settings: list[Setting] | tuple[Setting, ...] = ()) -> Sweep:
    """Totals of a spec at every size in `sizes` and batch size in `batches`. A size is a number
    (a 1-D input's length, or height = width) or a (height, width) pair; a 3-D input keeps its
    depth. `input` (C×…, numbers) in place of the spec's gives the channels and depth. With
    `settings`, at every combination of the values of the spec's parameters (SpecError for an
    unknown parameter, or a value of another kind than the parameter's)."""
    if settings:
        return sweep_parameters(spec, sizes, batches, settings, variant, convention, dtype, input)
    from archcalc.spec import load_graph

    check_sweep_points(len(sizes), len(batches))
    batches = _batches(batches)
    graph = load_graph(spec, variant)
    shape = graph.input_shape if input is None else parse_input(input)
    symbols = _SYMBOLS[len(shape) - 1]
    fixed = shape[:-len(symbols)]  # the channels, and a 3-D input's depth
    varying = _all_varying(graph.model, shape, sizes)  # a pair refused before the analysis
    at = [(dict(zip(symbols, v)), (*fixed, *v)) for v in varying]  # each size's symbols' values, and its input
    batch = "N" if len(batches) > 1 else batches[0]
    try:
        stats = _symbolic(graph, (batch, *fixed, *symbols), convention, dtype)
    except SpecError as error:
        if not _broadcasts(graph, error.layer):
            raise
        refused, stats = error, None
    else:
        refused = None
    if stats is None:
        points = _numeric_points(graph, [point_input for _, point_input in at], batches, convention, dtype)
        skipped = tuple(points.pop())  # past a bound of the formulas, or refused by them: each size as a number
        if refused and not any(point.totals for point in points):
            raise refused
        return Sweep(None, points, Head(graph.model, graph.family, graph.file, (batch, *fixed, *symbols), convention,
                                        dtype, skipped))
    points = []
    for n in batches:
        for sized, point_input in at:
            values = {**sized, "N": n} if batch == "N" else sized
            points.append(_symbolic_point(stats, graph, n, point_input, values))
    return Sweep(stats, points)


def _symbolic_point(stats: ModelStats, graph: Graph, batch: int, point_input: tuple[int, ...],
                    values: dict[str, int]) -> SweepPoint:
    """The point at these values of the symbols: the totals from the formulas, or the constraint
    the sizes do not meet, or the numeric analysis there — where a size of some layer passes
    MAX_DIMENSION (behind upsampling), which no constraint states, or where the constraint is a
    broadcast's that the formulas assumed away (`_broadcasts`)."""
    from archcalc.symbolic.model import largest_size, totals_at

    unmet = stats.formulas.unmet(values)
    if unmet is not None and not _broadcasts(graph, unmet.layer):
        return SweepPoint(batch, point_input, None, unmet)
    if unmet is not None or largest_size(stats, values) > MAX_DIMENSION:
        return _numeric_points(graph, [point_input], [batch], stats.convention, stats.dtype)[0]
    return SweepPoint(batch, point_input, totals_at(stats, values))


def sweep_parameters(spec: str | Path, sizes: list[int | tuple[int, int]], batches: list[int],
                     settings: list[Setting] | tuple[Setting, ...], variant: str | None = None,
                     convention: str = "paper", dtype: str = "float32",
                     input: tuple[int, ...] | None = None) -> Sweep:
    """`sweep` over every combination of the settings' values: the file read and parsed once,
    expanded once per combination, each combination analysed once (see the module's note)."""
    from archcalc.spec.catalog import display_name, load_document, locate_variant
    from archcalc.spec.expand import expand, parameters_of

    combinations = 1
    for setting in settings:
        combinations *= len(setting.values)
    _check_points(combinations, len(sizes), len(batches))
    batches = _batches(batches)
    path, chosen = locate_variant(spec, variant)
    document, name = load_document(path), display_name(path)
    base = expand(document, name, chosen, path)  # the spec as it is: its errors refuse the whole sweep
    check_settings(document, base.family, settings)
    shape = base.input_shape if input is None else parse_input(input)
    symbols = _SYMBOLS[len(shape) - 1]
    fixed = shape[:-len(symbols)]
    at = [(*fixed, *varying) for varying in _all_varying(base.model, shape, sizes)]
    names = tuple(setting.name for setting in settings)
    symbolic = symbolic_is_faster(combinations, len(at) * len(batches))
    points, skipped, digests = [], {}, {}
    for values in product(*(setting.values for setting in settings)):
        try:
            graph = expand(document, name, chosen, path, settings=dict(zip(names, values)))
            digests[repr(values)] = model_digest(graph)
            found = _setting_points(graph, at, batches, convention, dtype, symbolic)
        except SpecError as error:
            digests.setdefault(repr(values), f"refused: {error}")  # alike where the setting changes nothing
            found = [SweepPoint(n, point_input, None, error=error) for n in batches for point_input in at]
        else:
            skipped.update(dict.fromkeys(found.pop()))
        points += [replace(point, setting=values) for point in found]

    def expanded(values: tuple) -> str:
        key = repr(values)  # a value may be a list
        if key not in digests:
            try:
                digests[key] = model_digest(expand(document, name, chosen, path, settings=dict(zip(names, values))))
            except SpecError as error:
                digests[key] = f"refused: {error}"
        return digests[key]
    check_settings_change(settings, parameters_of(document, chosen), base.model, expanded)
    batch = "N" if len(batches) > 1 else batches[0]
    head = Head(base.model, base.family, base.file, (batch, *fixed, *symbols), convention, dtype, tuple(skipped))
    return Sweep(None, points, head, names)


def _check_points(combinations: int, sizes: int, batches: int) -> None:
    """Refuse, before any work, a sweep over parameters of more than MAX_SWEEP_POINTS points."""
    total = combinations * sizes * batches
    if total > MAX_SWEEP_POINTS:
        raise OptionError(f"{combinations:,} settings of the parameters × {sizes:,} sizes × {batches:,} batch sizes "
                        f"give {total:,} points; a sweep takes at most {MAX_SWEEP_POINTS:,} (use fewer values "
                        f"or a larger step)", option="'--set' / '--size' / '--batch'")


def check_settings(document: Any, family: str, settings: list[Setting] | tuple[Setting, ...]) -> None:
    """Refuse (an OptionError: a usage error of --set, to the Python API a SpecError) a setting of
    a name that is not one of the spec's parameters, a parameter set twice, or a value of another
    kind than the parameter's (a number for a name, …)."""
    params = document.get("params") or {}
    seen = set()
    for setting in settings:
        if setting.name not in params:
            listed = ", ".join(params) or "none"
            raise OptionError(f"'{setting.name}' is not a parameter of {family}"
                             f"{did_you_mean(setting.name, params)}; its parameters: {listed}", option="'--set'")
        if setting.name in seen:
            raise OptionError(f"'{setting.name}' is set twice: give its values in one --set, joined by ','",
                             option="'--set'")
        seen.add(setting.name)
        default = params[setting.name]
        kind = kind_of(default)
        for value in setting.values:
            if default is not None and kind_of(value) != kind:
                raise OptionError(f"'{setting.name}' is {kind} in the spec ({shown_value(default)}), not {shown_value(value)}",
                                 option="'--set'")


def check_settings_change(settings: list[Setting] | tuple[Setting, ...], own: dict[str, Any], model: str,
                          expanded: Callable[[tuple], str]) -> None:
    """Refuse (an OptionError, as check_settings) a setting that changes nothing: where each combination of the
    values set gives the model it gives with this setting at the variant's own value (`own`), as
    with a parameter its layers never read (resnet18's groups: its blocks are basic).
    `expanded(values)`: the model expanded at a combination, as `model_digest` gives it."""
    for index, setting in enumerate(settings):
        mine = own[setting.name]
        others = [values for values in product(*(s.values for s in settings)) if not _same(values[index], mine)]
        if others and all(expanded(values) == expanded((*values[:index], mine, *values[index + 1:]))
                          for values in others):
            values = list(dict.fromkeys(shown_value(values[index]) for values in others))
            shown = ", ".join(values[:5]) + (f", … ({len(values):,} values)" if len(values) > 5 else "")
            raise OptionError(f"'{setting.name}' changes nothing in {model}: at {shown} it is the model of its own "
                             f"value ({shown_value(mine)}), whose layers do not depend on it", option="'--set'",
                             hint=f"leave '{setting.name}' out, or sweep a variant whose layers read it")


def model_digest(graph: Graph) -> str:
    """What tells two expanded models apart: their input, their layers' names, kinds, fields and
    inputs, and their outputs (a digest: a sweep keeps one for each of up to MAX_SWEEP_POINTS)."""
    import hashlib

    layers = [(node.name, node.kind.key, sorted(node.attrs.items()), node.inputs) for node in graph.nodes]
    return hashlib.blake2b(repr((graph.input_shape, layers, graph.outputs)).encode(), digest_size=16).hexdigest()


def _same(value: Any, other: Any) -> bool:
    return kind_of(value) == kind_of(other) and value == other


NUMERIC_MS, SYMBOLIC_MS, SYMPY_MS = 2, 35, 1300
"""What a sweep over parameters costs, measured on ResNet-50 (benchmarks/sweep_params_speed.py):
a numeric analysis a point, a symbolic analysis a setting, and sympy's import and first analysis."""


def symbolic_is_faster(settings: int, points: int) -> bool:
    """Whether `settings` symbolic analyses (then arithmetic at `points` points each) cost less
    than a numeric analysis at each point, by the costs measured above."""
    return settings * (points * NUMERIC_MS - SYMBOLIC_MS) > SYMPY_MS


def _setting_points(graph: Graph, at: list[tuple[int, ...]], batches: list[int], convention: str,
                    dtype: str, symbolic: bool) -> list:
    """The points of one setting, and (last) what the convention's tool skips in it: one
    symbolic analysis and arithmetic at each point, or a numeric analysis at each point (where
    one refuses its size, the point has the error)."""
    if not symbolic:
        return _numeric_points(graph, at, batches, convention, dtype)
    symbols = _SYMBOLS[len(at[0]) - 1]
    fixed = at[0][:-len(symbols)]
    batch = "N" if len(batches) > 1 else batches[0]
    try:
        stats = _symbolic(graph, (batch, *fixed, *symbols), convention, dtype)
    except SpecError as error:
        if not _broadcasts(graph, error.layer):
            raise
        stats = None
    if stats is None:
        return _numeric_points(graph, at, batches, convention, dtype)
    points = []
    for n in batches:
        for point_input in at:
            values = dict(zip(symbols, point_input[len(fixed):]), N=n)
            points.append(_symbolic_point(stats, graph, n, point_input, values))
    return [*points, stats.uncounted()]


def _symbolic(graph: Graph, shape: tuple, convention: str, dtype: str) -> ModelStats | None:
    """The symbolic analysis of `graph`, or None past a bound of the formulas (then each size is
    analysed as a number): its layers (checked first, as analyze_symbolic refuses them) or its work."""
    if len(graph.nodes) > MAX_SYMBOLIC_LAYERS:
        return None
    from archcalc.symbolic.model import PastABound, analyze_symbolic

    try:
        return analyze_symbolic(graph, shape, convention, dtype)
    except PastABound:
        return None


def _broadcasts(graph: Graph, layer: str | None) -> bool:
    """Whether `layer` is a `multiply`, whose formulas leave out the sizes where a size of 1
    broadcasts (they assume the two sizes equal, or refuse two that never are: docs/symbolic.md),
    which the numbers answer."""
    return any(node.name == layer and node.kind.key == "multiply" for node in graph.nodes)


def _numeric_points(graph: Graph, at: list[tuple[int, ...]], batches: list[int], convention: str,
                    dtype: str) -> list:
    from archcalc.analysis import analyze_graph

    points, skipped = [], {}
    for n in batches:
        for point_input in at:
            try:
                stats = analyze_graph(graph, point_input, n, convention, dtype)
            except SpecError as error:
                points.append(SweepPoint(n, point_input, None, error=error))
                continue
            points.append(SweepPoint(n, point_input, stats.totals))
            skipped.update(dict.fromkeys(stats.uncounted()))
    return [*points, list(skipped)]


def _varying(model: str, shape: tuple[int, ...], size: int | tuple[int, int]) -> tuple[int, ...]:
    """The sizes one entry of the size list sets: (L,) of a 1-D input, else (H, W); SpecError for
    an entry that is not a size, or a pair of them (whole numbers from 1 to MAX_DIMENSION)."""
    sizes = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    if not 1 <= len(sizes) <= 2 or not all(integer(n) is not None and 1 <= n <= MAX_DIMENSION for n in sizes):
        raise SpecError(f"a size is a whole number from 1 to {MAX_DIMENSION:,}, or a (height, width) pair of them; "
                        f"got {size!r}")
    sizes = tuple(map(int, sizes))
    if len(shape) > 2:
        return sizes * (3 - len(sizes))
    if len(sizes) > 1:
        raise SpecError(f"1-D inputs have one size, the length L: got the pair {sizes[0]}x{sizes[1]} for {model} "
                        f"(input {shape[0]}×L)", hint="give lengths, like 8000,16000 or 8000:16000:4000")
    return sizes


def _all_varying(model: str, shape: tuple[int, ...], sizes: list) -> list[tuple[int, ...]]:
    """`_varying` of each size; SpecError for a size given more than once (32 and (32, 32) are one
    size of a 2-D input), as --size refuses it: its point would be computed, and shown, twice."""
    varying = [_varying(model, shape, size) for size in sizes]
    given_once(zip(sizes, varying), "size", key=lambda pair: pair[1],
               shown=lambda pair: "x".join(map(str, pair[0])) if isinstance(pair[0], (tuple, list)) else str(pair[0]))
    return varying


def _batches(batches: list[int]) -> list[int]:
    """The batch sizes, each a whole number from 1 to MAX_DIMENSION, each once; SpecError for any
    other, a repeated one (as --batch refuses it), or for none."""
    if not batches:
        raise SpecError("a sweep needs a batch size")
    batches = [parse_batch(batch, symbols=False) for batch in batches]
    given_once(batches, "batch size")
    return batches


def select(result: Sweep, max_params: int | None = None, max_macs: int | None = None,
           max_activation_bytes: int | None = None, pareto: str | None = None) -> Sweep:
    """The points within the limits (≤ each one given) and, with `pareto` ('params' or 'macs'),
    on the front of that cost against the other figure (`_front`). A point without figures (not
    valid) is dropped by any of these; the result counts what each dropped."""
    selection = Selection(max_params, max_macs, max_activation_bytes, pareto, len(result.points))
    if not selection.active:
        return result
    limits = [("params", max_params), ("macs", max_macs), ("activation_bytes", max_activation_bytes)]
    kept = [point for point in result.points if point.totals is not None]
    dropped = [("not valid", len(result.points) - len(kept))]
    for figure, limit in limits:
        if limit is not None:
            within = [point for point in kept if getattr(point.totals, figure) <= limit]
            dropped.append((f"{figure} over {limit:,}", len(kept) - len(within)))
            kept = within
    if pareto:
        front = _front(kept, pareto)
        dropped.append(("dominated", len(kept) - len(front)))
        kept = front
    selection = selection._replace(dropped=tuple(dropped))
    return replace(result, points=kept, selection=selection)


def _front(points: list[SweepPoint], cost: str) -> list[SweepPoint]:
    """The Pareto front of `cost` (params or macs) against the other of the two, in the points'
    order: a point is dominated when another of the same batch size costs no more and has no
    less of the other figure, and differs in one. With MACs the cost, the front is the most
    parameters a budget of MACs buys (width against resolution, say); with parameters the cost,
    the most MACs a budget of parameters carries. Taken cheapest first, the most of the other
    figure first at a cost, a point is kept when it has more of it than any point before."""
    other = "params" if cost == "macs" else "macs"
    keep = set()
    for batch in dict.fromkeys(point.batch for point in points):
        group = [(getattr(p.totals, cost), getattr(p.totals, other), p) for p in points if p.batch == batch]
        best = None  # (cost, other figure) of the kept point with the most of the other figure so far
        for spent, gained, point in sorted(group, key=lambda entry: (entry[0], -entry[1])):
            if best is None or gained > best[1] or (spent, gained) == best:
                keep.add(id(point))
                if best is None or gained > best[1]:
                    best = (spent, gained)
    return [point for point in points if id(point) in keep]
