"""The analysis on symbolic sizes: the numeric layer rules run on formulas, their constraints,
and the figures at any given size; where the constraints hold (in words, or nowhere) is
`archcalc.symbolic.constraints`'s."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from operator import and_

import sympy as sp

from archcalc.conventions import CONVENTIONS, Uncounted, counted
from archcalc.errors import SpecError
from archcalc.graph import Graph, Node, within_symbolic_limits
from archcalc.limits import MAX_DIMENSION, MAX_SYMBOLIC_COMPUTED, MAX_SYMBOLIC_DIVISOR, MAX_SYMBOLIC_SIZES
from archcalc.sizes import integer
from archcalc.stats import Figures, ModelStats, run_rules, sum_column
from archcalc.symbolic.constraints import condition_text, in_words, met_somewhere, only_on
from archcalc.symbolic.context import Assumptions, Condition
from archcalc.symbolic.normal import normal_size, split
from archcalc.symbolic.printing import compiled, readable
from archcalc.symbolic.sizes import size_set

AXES = ("N", "C", "H", "W")


def symbol(name: str) -> sp.Symbol:
    """A size: a whole number ≥ 1."""
    return sp.Symbol(name, integer=True, positive=True)


def analyze_symbolic(graph: Graph, shape: tuple, convention: str, dtype: str) -> ModelStats:
    """Every figure of `graph` as a formula of the symbols (names) among the sizes in `shape`."""
    within_symbolic_limits(graph)
    sizes = tuple(symbol(s) if isinstance(s, str) else s for s in shape)
    names = tuple(dict.fromkeys(s for s in shape if isinstance(s, str)))
    work = _Work()
    with Assumptions() as found:
        def settle(out: tuple, node: Node) -> tuple:
            found.settle(node.name)
            return work.counted(tuple(_plain(normal_size(d)) if isinstance(d, sp.Basic) else d for d in out))

        # a layer that repeats an earlier one (same fields, same input shapes) meets only the
        # conditions that one recorded, so it may take that one's results
        stats = run_rules(graph, sizes, convention, dtype, settle, reuse=True)
    layers = [layer._replace(figures=_plain_figures(layer.figures), counts=_plain_counts(layer.counts))
              for layer in stats.layers]
    met_somewhere(graph, found.conditions)
    formulas = Formulas(names, tuple(found.conditions), tuple(_exact_strides(graph, stats)))
    return stats.replace(layers=layers, totals=_plain_figures(stats.totals), formulas=formulas)


_NUMBERS_HINT = "give the sizes as numbers (--input 3x224x224), or sweep over the sizes you need (archcalc sweep)"

BOUND = "symbolic sizes: "
"""How the error of a bound on a symbolic analysis starts."""


class PastABound(SpecError):
    """A model past a bound of the symbolic analysis: `sweep` then analyses each size as a number."""


class _Work:
    """What a symbolic analysis costs, counted as it goes (docs/symbolic.md, "Limits"): the
    layers whose rules run, the distinct size formulas and their divisors; SpecError past a bound."""

    def __init__(self) -> None:
        self.computed = 0
        self.sizes: set[sp.Expr] = set()

    def counted(self, shape: tuple) -> tuple:
        """`shape`, the output of one more layer whose rules ran."""
        self.computed += 1
        if self.computed > MAX_SYMBOLIC_COMPUTED:
            raise PastABound(f"{BOUND}this model has more than {MAX_SYMBOLIC_COMPUTED:,} layers that "
                            "repeat no earlier one on the same input shapes", hint=_NUMBERS_HINT)
        for size in shape:
            if isinstance(size, sp.Expr) and size not in self.sizes:
                self.sizes.add(size)
                self._check(size)
        return shape

    def _check(self, size: sp.Expr) -> None:
        if len(self.sizes) > MAX_SYMBOLIC_SIZES:
            raise PastABound(f"{BOUND}this model makes more than {MAX_SYMBOLIC_SIZES:,} distinct "
                            "formulas for its sizes", hint=_NUMBERS_HINT)
        divisor = max((split(f)[1] for f in size.atoms(sp.floor)), default=1)
        if divisor > MAX_SYMBOLIC_DIVISOR:
            raise PastABound(f"{BOUND}the size {readable(size)} divides by {divisor:,}, more than "
                            f"{MAX_SYMBOLIC_DIVISOR:,} (the strides along one axis multiply to more)",
                            hint=_NUMBERS_HINT)


@dataclass(frozen=True)
class Formulas:
    """The symbols of a symbolic analysis, the constraints under which its formulas hold, and
    the conditions under which every strided layer divides its input exactly."""

    symbols: tuple[str, ...]
    conditions: tuple[Condition, ...]
    exact: tuple[Condition, ...]
    functions: dict = field(default_factory=dict, compare=False, repr=False)
    """Python functions compiled from the formulas, made when first needed."""

    def constraint_lines(self) -> list[str]:
        """The constraints in words, one a line, each with the fewest layers that need it."""
        return in_words(self.conditions, self.symbols)

    def valid_text(self) -> str:
        """What 'valid for' says, in the table, the sweep and the report alike: the constraint
        lines joined by '; ', or 'every H ≥ 1, W ≥ 1' where there is none."""
        return "; ".join(self.constraint_lines()) or "every " + ", ".join(f"{name} ≥ 1" for name in self.symbols)

    def exact_lines(self) -> list[str]:
        """For each spatial symbol: the sizes at which every stride divides exactly."""
        lines = []
        for name in self.symbols:
            sets = [size_set(c.relation) for c in self.exact if only_on(c.relation, name)]
            if sets and None not in sets:
                lines.append(reduce(and_, sets).text() or "")
        return [line for line in lines if line]

    def unmet(self, values: dict[str, int]) -> Condition | None:
        """The first constraint that `values` (a size for every symbol) do not meet."""
        if "conditions" not in self.functions:
            self.functions["conditions"] = compiled([c.relation for c in self.conditions], self.symbols)
        met = self.functions["conditions"](**{name: values[name] for name in self.symbols})
        return next((c for c, ok in zip(self.conditions, met) if not ok), None)


def evaluate(stats: ModelStats, values: dict[str, int]) -> ModelStats:
    """The figures of a symbolic analysis at sizes `values` ({"H": 224, "W": 224}); SpecError
    naming the constraint when the network is not valid there."""
    formulas = stats.formulas
    missing = [name for name in formulas.symbols if name not in values]
    if missing:
        raise SpecError(f"no value for {', '.join(missing)}")
    _sizes_given(formulas.symbols, values)
    unmet = formulas.unmet(values)
    if unmet is not None:
        given = ", ".join(f"{name} = {values[name]}" for name in formulas.symbols)
        raise SpecError(f"the network is not valid at {given}: layer '{unmet.layer}' needs "
                        f"{condition_text(unmet)}")
    numbers = iter(_figures_function(stats)(**{name: values[name] for name in formulas.symbols}))

    def shape(dims: tuple) -> tuple[int, ...]:
        return tuple(next(numbers) for _ in dims)

    def counts(known: dict) -> dict:
        return {name: count if isinstance(count, Uncounted) else next(numbers) for name, count in known.items()}

    def figures(counts: dict) -> Figures:
        weight, bias, buffers, activations, activation_bytes = (next(numbers) for _ in _OWN_FIGURES)
        macs = counted(counts[stats.convention])
        return Figures(weight, bias, buffers, macs, 2 * macs, activations, activation_bytes)

    input_shape = shape(stats.input_shape)
    layers = []
    for layer in stats.layers:
        out, known = shape(layer.shape), counts(layer.counts)
        layers.append(layer._replace(shape=out, figures=figures(known), counts=known))
    blocks = {name: (label, shape(dims)) for name, (label, dims) in stats.blocks.items()}
    return stats.replace(input_shape=input_shape, layers=layers, totals=Figures.total(layer.figures for layer in layers),
                         blocks=blocks, formulas=None)


def _sizes_given(symbols: tuple[str, ...], values: dict[str, int]) -> None:
    """SpecError for a value that is not a size: a whole number from 1 to MAX_DIMENSION (the
    formulas hold there only: at H = 0 they gave figures that no analysis has)."""
    for name in symbols:
        value = values[name]
        if integer(value) is None or not 1 <= value <= MAX_DIMENSION:
            raise SpecError(f"{name} = {value!r} is not a size: sizes are whole numbers from 1 to {MAX_DIMENSION:,}")


def totals_at(stats: ModelStats, values: dict[str, int]) -> Figures:
    """Only the totals of `evaluate`, for many sizes: the constraints must hold (see `unmet`)."""
    numbers = _figures_function(stats, totals_only=True)(**{n: values[n] for n in stats.formulas.symbols})
    weight, bias, buffers, activations, activation_bytes = numbers[:len(_OWN_FIGURES)]
    macs = numbers[len(_OWN_FIGURES) + list(CONVENTIONS).index(stats.convention)]
    return Figures(weight, bias, buffers, macs, 2 * macs, activations, activation_bytes)


def largest_size(stats: ModelStats, values: dict[str, int]) -> int:
    """The largest size of any layer's output at these values of the symbols (the constraints
    holding): the one figure a constraint does not bound, as a size past 2³¹ − 1 behind upsampling."""
    functions = stats.formulas.functions
    if "sizes" not in functions:
        sizes = list(dict.fromkeys(size for layer in stats.layers for size in layer.shape))
        functions["sizes"] = compiled(sizes, stats.formulas.symbols)
    return max(functions["sizes"](**{n: values[n] for n in stats.formulas.symbols}))


_OWN_FIGURES = ("weight", "bias", "buffers", "activations", "activation_bytes")
"""The figures of a layer that are the same under every convention (its MACs and FLOPs are its
count under the analysis's convention)."""


def _figures_function(stats: ModelStats, totals_only: bool = False) -> Callable:
    """One compiled function giving every figure of a symbolic analysis in the order `evaluate`
    reads them (or just the totals), under every convention at once: made once, kept with the
    analysis's formulas, which `ModelStats.under` passes on."""
    functions = stats.formulas.functions
    if totals_only not in functions:
        values = _totals(stats) if totals_only else _everything(stats)
        functions[totals_only] = compiled(values, stats.formulas.symbols)
    return functions[totals_only]


def _own(figures: Figures) -> list:
    return [getattr(figures, name) for name in _OWN_FIGURES]


def _totals(stats: ModelStats) -> list:
    """The totals of the figures that are the same under every convention, then the total count
    under each convention."""
    counts = [sum_column(tuple(counted(layer.counts[name]) for layer in stats.layers)) for name in CONVENTIONS]
    return [*_own(stats.totals), *counts]


def _everything(stats: ModelStats) -> list:
    values: list = [*stats.input_shape]
    for layer in stats.layers:
        values += [*layer.shape, *(count for count in layer.counts.values() if not isinstance(count, Uncounted)),
                   *_own(layer.figures)]
    for _, dims in stats.blocks.values():
        values += dims
    return values


def _exact_strides(graph: Graph, stats: ModelStats):
    """out · stride = in, for every strided layer along a symbolic spatial size. The equations
    are left for `size_set` to decide: sympy's attempt (rewriting each floor) cost a third of the
    analysis of a strided network and decided none of the bundled models' 558."""
    shapes = stats.shapes
    for node, layer in zip(graph.nodes, stats.layers):
        strides = node.kind.strides(node.attrs)
        if not strides:
            continue
        source = shapes[node.inputs[0]]
        for axis, stride in enumerate(strides, start=2):
            size_in, size_out = source[axis], layer.shape[axis]
            if stride > 1 and isinstance(size_in, sp.Basic):
                yield Condition(sp.Eq(stride * size_out, size_in, evaluate=False), layer.name)


def _plain(value: int | sp.Expr) -> int | sp.Expr:
    """A whole number as an int; a formula expanded."""
    return value if type(value) is int else _plain_formula(sp.sympify(value))


@lru_cache(maxsize=1 << 12)
def _plain_formula(value: sp.Expr) -> int | sp.Expr:
    """`_plain` of a sympy value; the layers of a model repeat the same few formulas."""
    if value.is_Integer:
        return int(value)
    return value if _expanded(value) else sp.expand(value)


def _expanded(formula: sp.Expr) -> bool:
    """Whether `formula` is a sum of products of numbers, symbols and floors of such sums (each
    to a whole power): a form that sp.expand, much slower to find out, leaves as it is."""
    for term in sp.Add.make_args(formula):
        for factor in sp.Mul.make_args(term):
            base = factor.base if factor.is_Pow and factor.exp.is_Integer and factor.exp > 0 else factor
            if not (base.is_Number or base.is_Symbol or isinstance(base, sp.floor) and _expanded(base.args[0])):
                return False
    return True


def _plain_counts(counts: dict) -> dict:
    return {name: count if isinstance(count, Uncounted) else _plain(count) for name, count in counts.items()}


def _plain_figures(figures: Figures) -> Figures:
    return Figures(*map(_plain, figures))
