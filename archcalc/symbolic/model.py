"""The analysis on symbolic sizes: the numeric layer rules run on formulas, their constraints,
and the figures at any given size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache, reduce
from itertools import permutations
from operator import and_

import sympy as sp

from archcalc.conventions import CONVENTIONS, Uncounted, counted
from archcalc.errors import SpecError
from archcalc.graph import Graph, Node, within_symbolic_limits
from archcalc.limits import MAX_DIMENSION, MAX_SYMBOLIC_COMPUTED, MAX_SYMBOLIC_DIVISOR, MAX_SYMBOLIC_SIZES
from archcalc.sizes import integer
from archcalc.stats import Figures, ModelStats, run_rules, sum_column
from archcalc.symbolic.context import Assumptions, Condition
from archcalc.symbolic.normal import normal_size, split
from archcalc.symbolic.printing import compiled, readable
from archcalc.symbolic.sizes import SCAN_LIMIT, ScannedSet, SizeSet, level_sets, size_set

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
    _met_somewhere(graph, found.conditions)
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
        return _in_words(self.conditions, self.symbols)

    def valid_text(self) -> str:
        """What 'valid for' says, in the table, the sweep and the report alike: the constraint
        lines joined by '; ', or 'every H ≥ 1, W ≥ 1' where there is none."""
        return "; ".join(self.constraint_lines()) or "every " + ", ".join(f"{name} ≥ 1" for name in self.symbols)

    def exact_lines(self) -> list[str]:
        """For each spatial symbol: the sizes at which every stride divides exactly."""
        lines = []
        for name in self.symbols:
            sets = [size_set(c.relation) for c in self.exact if _only(c.relation, name)]
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


def _met_somewhere(graph: Graph, conditions: list[Condition]) -> None:
    """SpecError, at the layer whose constraint leaves no size, where the constraints on one
    size (or on sizes that must be equal: W = H) hold at no size together, each possible alone:
    H ≥ 41 for one layer's window and H ≤ 20 to pad to another's size. The numbers refuse every
    size of such a network; its formulas would hold nowhere. So too where a constraint on two
    sizes (⌊W/2⌋ − 4 = ⌊H/2⌋ − 4) leaves the other none at each of the few sizes one has (H ≤ 20).
    Constraints whose sizes are not found exactly (on more sizes, or on two where neither has a
    few) are left out: they can only shrink the sizes found, so a network this passes may still
    be valid nowhere, never the other way round."""
    equal = _equal_symbols(conditions)
    groups: dict[sp.Symbol, list[tuple[Condition, SizeSet | ScannedSet]]] = {}
    for condition in conditions:
        relation = condition.relation.xreplace(equal) if equal else condition.relation
        if relation in (sp.true, sp.false) or len(relation.free_symbols) != 1:
            continue
        sizes = size_set(relation)
        if sizes is not None:
            groups.setdefault(*relation.free_symbols, []).append((condition, sizes))
    for found in groups.values():
        if _none_in([sizes for _, sizes in found]):
            raise _met_nowhere(graph, found, conditions)
    for condition in conditions:
        relation = condition.relation.xreplace(equal) if equal else condition.relation
        if relation not in (sp.true, sp.false) and len(relation.free_symbols) == 2 and not _equal_pair(relation):
            for x, y in permutations(sorted(relation.free_symbols, key=str)):
                found = groups.get(x, []) + groups.get(y, [])
                if _two_nowhere(relation, x, y, found):
                    needed = _fewest(found, lambda kept, r=relation, x=x, y=y: _two_nowhere(r, x, y, kept))
                    raise _nowhere_error(graph, condition, [c for c, _ in needed])


def _equal_symbols(conditions: list[Condition]) -> dict[sp.Symbol, sp.Symbol]:
    """Each symbol that a constraint X = Y makes equal to another, and the one that stands for
    them all (the first by name)."""
    stands_for: dict[sp.Symbol, sp.Symbol] = {}

    def root(x: sp.Symbol) -> sp.Symbol:
        while x in stands_for:
            x = stands_for[x]
        return x

    for condition in conditions:
        pair = _equal_pair(condition.relation)
        if pair is not None:
            a, b = sorted(map(root, pair), key=str)
            if a != b:
                stands_for[b] = a
    return {x: root(x) for x in stands_for}


def _equal_pair(relation: sp.Basic) -> tuple[sp.Symbol, sp.Symbol] | None:
    """(X, Y) for a constraint X = Y on two symbols; None for any other."""
    if not isinstance(relation, sp.Eq) or len(relation.free_symbols) != 2:
        return None
    x, y = relation.free_symbols
    return (x, y) if sp.expand(relation.lhs - relation.rhs) in (x - y, y - x) else None


_TESTS_AT_MOST = 1 << 20
"""How many tests of single sizes `_none_in` makes, at most, between the ends of a bounded set."""


def _none_in(sets: list[SizeSet | ScannedSet]) -> bool:
    """Whether no size is in every one of `sets`, found exactly: between the ends of the sizes
    where one set has an upper end (H ≤ 20 beside sets of long periods, whose meeting no scan
    would reach), else by meeting them; False where either would take too long."""
    between = _between(sets)
    if between is not None and len(between) * len(sets) <= _TESTS_AT_MOST:
        return not any(all(s.test(x) for s in sets) for x in between)
    joined = reduce(and_, sets)
    if isinstance(joined, ScannedSet) and joined.start + joined.period > SCAN_LIMIT:
        return False
    return joined.is_empty()


_FEW_SIZES = 256
"""How many sizes of one symbol `_two_nowhere` tries, at most."""


def _two_nowhere(relation: sp.Basic, x: sp.Symbol, y: sp.Symbol,
                 found: list[tuple[Condition, SizeSet | ScannedSet]]) -> bool:
    """Whether a condition on two sizes, A(x) + B(y) ⋈ 0 with B monotone (⌊W/2⌋ − 4 = ⌊H/2⌋ − 4,
    an add of a map and its transpose), leaves no y at any of the few x that x's own constraints
    leave (H ≤ 20), with y's own (W ≥ 41); False where x's constraints leave more than a few sizes,
    the terms are not apart, or B is not monotone."""
    own_x = [sizes for _, sizes in found if sizes.symbol == str(x)]
    own_y = reduce(and_, (sizes for _, sizes in found if sizes.symbol == str(y)), SizeSet(str(y)))
    between = _between(own_x)
    apart = _apart(relation, x, y)
    if between is None or len(between) > _FEW_SIZES or apart is None or isinstance(own_y, ScannedSet):
        return False  # one y set met with each of a few x's: the sets to scan would cost a scan each
    of_x, levels = apart
    for value in {of_x(size)[0] for size in between if all(sizes.test(size) for sizes in own_x)}:
        sizes = levels(-value)
        if sizes is None or not _none_in([own_y, sizes]):
            return False
    return True


@lru_cache(maxsize=1 << 8)
def _apart(relation: sp.Basic, x: sp.Symbol, y: sp.Symbol) -> tuple[Callable, Callable] | None:
    """For `relation` A(x) + B(y) ⋈ 0 (written so, whole numbers before the floors: `_whole`): A as
    a function of x, and k → the y where B(y) ⋈ k (`level_sets`); None where a term has both sizes,
    or B is not monotone."""
    terms = sp.Add.make_args(sp.expand(relation.lhs - relation.rhs))
    of_y = sp.Add(*(term for term in terms if term.free_symbols != {x}))
    levels = None if of_y.free_symbols - {y} else level_sets(of_y, y, type(relation))
    if levels is None:
        return None
    return compiled([sp.Add(*(term for term in terms if term.free_symbols == {x}))], (str(x),)), levels


def _fewest(found: list, nowhere: Callable[[list], bool], cheap: bool = False) -> list:
    """`found` less each entry without which `nowhere` still holds; all of them past a few unless
    each try is `cheap` (else each costs as many scans again)."""
    needed = list(found)
    if cheap or len(needed) <= _FEWEST_FROM:
        for one in found:
            fewer = [other for other in needed if other is not one]
            if nowhere(fewer):
                needed = fewer
    return needed


def _between(sets: list[SizeSet | ScannedSet]) -> range | None:
    """The sizes between the greatest lower end and the least upper end of `sets`; None where
    none has an upper end."""
    ends = [s.most for s in sets if isinstance(s, SizeSet) and s.most is not None]
    if not ends:
        return None
    return range(max([1, *(s.least for s in sets if isinstance(s, SizeSet))]), min(ends) + 1)


_FEWEST_FROM = 16
"""Up to how many constraints the error names only those needed, where each try is not cheap."""


def _met_nowhere(graph: Graph, found: list[tuple[Condition, SizeSet | ScannedSet]],
                 conditions: list[Condition]) -> SpecError:
    """The error of constraints that no size meets together: at the first layer whose constraint
    leaves none, naming it and the fewest earlier ones that leave none with it (and the W = H
    that made two sizes one)."""
    sets = [sizes for _, sizes in found]
    low, high = 1, len(found)  # the fewest first conditions that no size meets: more meet fewer sizes
    while low < high:
        middle = (low + high) // 2
        low, high = (low, middle) if _none_in(sets[:middle]) else (middle + 1, high)
    culprit, sizes = found[high - 1]
    between = _between(sets[:high])
    cheap = between is not None and len(between) * high ** 2 <= _TESTS_AT_MOST  # a few sizes to test each time
    needed = _fewest(found[:high - 1], lambda kept: _none_in([s for _, s in kept] + [sizes]), cheap)
    involved = [c for c, _ in needed]
    symbols = set().union(culprit.relation.free_symbols, *(c.relation.free_symbols for c in involved))
    return _nowhere_error(graph, culprit, involved + _links(conditions, symbols))


def _links(conditions: list[Condition], symbols: set[sp.Symbol]) -> list[Condition]:
    """The constraints X = Y on the shortest paths that join each of `symbols` to the first (D ≥ 41
    and W ≤ 20 meet nowhere through D = H and H = W)."""
    edges = [(c, set(pair)) for c in conditions if (pair := _equal_pair(c.relation))]
    first, *others = sorted(symbols, key=str)
    linked: list[Condition] = []
    for goal in others:
        reached, frontier = {first: None}, [first]  # each symbol reached: from where, by which
        while frontier and goal not in reached:
            following = []
            for x in frontier:
                for c, pair in edges:
                    for other in pair - {x} if x in pair else ():
                        if other not in reached:
                            reached[other] = (x, c)
                            following.append(other)
            frontier = following
        at = goal
        while reached.get(at):
            at, condition = reached[at]
            linked += [condition] if condition not in linked else []
    return linked


def _nowhere_error(graph: Graph, culprit: Condition, others: list[Condition]) -> SpecError:
    """The error of `culprit` and the constraints `others` that no size meets together: at the
    culprit's layer, or at a multiply's among them (whose broadcasts the formulas leave out)."""
    nodes = {node.name: node for node in graph.nodes}
    involved = [culprit, *others]
    broadcast = next((c for c in involved if nodes[c.layer].kind.key == "multiply"), None)
    at = broadcast or culprit
    said = [f"layer '{c.layer}' needs {condition_text(c)}" for c in involved if c is not at]
    message = f"needs {condition_text(at)}"
    if said:
        message += f", but {', '.join(said[:-1])} and {said[-1]}" if len(said) > 1 else f", but {said[0]}"
        message += f": no input size meets {'both' if len(said) == 1 else 'them all'}"
    else:
        message += ", which no input size meets"
    message += (", so the network is valid at none" if broadcast is None else
                "; the formulas leave out the sizes where this multiply broadcasts a size of 1, which may be valid")
    given = "x".join(map(str, graph.input_shape))
    return SpecError(message, hint=f"change one of these layers; sizes given as numbers (--input {given}) show "
                                   "each size's own error").at(nodes[at.layer].location, at.layer)


def _in_words(conditions: tuple[Condition, ...], symbols: tuple[str, ...]) -> list[str]:
    """The conditions on each symbol whose sizes are found joined into one line ('H ≥ 32', with
    the fewest layers that need it), those on a symbol that must equal another (W = H) with the
    other's; the others as formulas."""
    equal = _equal_symbols(list(conditions))
    lines, rest = [], list(conditions)
    for name in symbols:
        relations = [(c, c.relation.xreplace(equal) if equal else c.relation) for c in rest]
        own = [(c, size_set(relation)) for c, relation in relations if _only(relation, name)]
        own = [(c, sizes) for c, sizes in own if sizes is not None]
        if not own:
            continue
        text = reduce(and_, (sizes for _, sizes in own)).text()
        if text is None:
            continue
        binding = [c.layer for c, sizes in own if sizes.text() == text] or [c.layer for c in _needed(own, text)]
        binding = list(dict.fromkeys(binding))  # a layer may need it twice: S3D's avgpool, D + 3 ≥ 16 and ⌊(D − 5)/8⌋ ≥ 1
        lines.append(f"{text} ({_layers_text(binding)})")
        rest = [c for c in rest if all(c is not mine for mine, _ in own)]
    lines += [f"{condition_text(c)} ({_layers_text([c.layer])})" for c in rest]
    return lines


def _needed(own: list[tuple[Condition, SizeSet | ScannedSet]], text: str) -> list[Condition]:
    """The conditions whose sizes, met together, are `text`'s, less each that the others imply
    (H ≥ 3 beside 12 ≤ H ≤ 15); all of them where a set is one to scan (too costly to meet again
    and again)."""
    if any(isinstance(sizes, ScannedSet) for _, sizes in own):
        return [c for c, _ in own]
    kept = list(own)
    for one in own:
        others = [sizes for pair in kept if pair is not one for sizes in pair[1:]]
        joined = reduce(and_, others) if others else None
        if isinstance(joined, SizeSet) and joined.text() == text:
            kept.remove(one)
    return [c for c, _ in kept]


def condition_text(condition: Condition) -> str:
    """A constraint in words ('H ≥ 32'), or as a formula when it is not that simple."""
    sizes = size_set(condition.relation)
    return (sizes.text() if sizes else None) or readable(condition.relation)


def _layers_text(layers: list[str]) -> str:
    shown = ", ".join(f"'{name}'" for name in layers[:3])
    more = f" and {len(layers) - 3} more" if len(layers) > 3 else ""
    return f"layer {shown}{more}" if len(layers) == 1 else f"layers {shown}{more}"


def _only(relation: sp.Basic, name: str) -> bool:
    return {str(s) for s in relation.free_symbols} == {name}


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
