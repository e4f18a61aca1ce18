"""Where the constraints of a symbolic analysis hold: in words, one line a symbol ('15 ≤ H ≤ 20',
with the fewest layers that need it), and the one error of constraints that no size meets together
(docs/symbolic.md). The sizes where one condition holds are found by `archcalc.symbolic.sizes`."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, reduce
from itertools import permutations
from operator import and_

import sympy as sp

from archcalc.errors import SpecError
from archcalc.graph import Graph
from archcalc.symbolic.context import Condition
from archcalc.symbolic.printing import compiled, readable
from archcalc.symbolic.region import members
from archcalc.symbolic.sizes import SCAN_LIMIT, ScannedSet, SizeSet, level_sets, size_set


def met_somewhere(graph: Graph, conditions: list[Condition]) -> None:
    """SpecError, at the layer whose constraint leaves no size, where the constraints on one
    size (or on sizes that must be equal: W = H) hold at no size together, each possible alone:
    H ≥ 41 for one layer's window and H ≤ 20 to pad to another's size. The numbers refuse every
    size of such a network; its formulas would hold nowhere. So too where a constraint on two
    sizes (⌊W/2⌋ − 4 = ⌊H/2⌋ − 4) leaves the other none at each of the few sizes one has (H ≤ 20),
    and where one that gives a size as a function of the other (H = ⌊W/4⌋, H = W + 2), put into
    the rest, leaves that other none (W = ⌊H/4⌋, W = H + 2: `_nowhere_through`), and where the
    equalities without floors leave no whole sizes from 1 (H = D + 2, W + 4 = H, D + 2 = W), and
    where constraints on several sizes (floors on both sides: ⌊H/4⌋ = ⌊W/2⌋, ⌊W/4⌋ = ⌊H/2⌋) leave
    none, found as `archcalc.symbolic.region` finds them. Constraints whose sizes are not found
    exactly are left out: they can only shrink the sizes found, so a network this passes may still
    be valid nowhere, never the other way round."""
    equal = _equal_symbols(conditions)
    groups: dict[sp.Symbol, list[tuple[Condition, SizeSet | ScannedSet]]] = {}
    for condition in conditions:
        relation = condition.relation.xreplace(equal) if equal else condition.relation
        if relation == sp.false and condition.relation != sp.false:  # H + 2 = W where W = H
            raise _nowhere_error(graph, condition, _links(conditions, condition.relation.free_symbols))
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
    for condition in conditions:
        _nowhere_through(graph, condition, conditions, equal)
    linear = [(c, r) for c in conditions if _linear_equality(r := c.relation.xreplace(equal) if equal else c.relation)]
    if _linear_nowhere(linear):
        raise _linked_nowhere(graph, [c for c, _ in _fewest(linear, _linear_nowhere, cheap=True)], conditions)
    _several_nowhere(graph, conditions, equal)


def _several_nowhere(graph: Graph, conditions: list[Condition], equal: dict[sp.Symbol, sp.Symbol]) -> None:
    """SpecError where conditions on several sizes close them in a bounded region (⌊H/4⌋ = ⌊W/2⌋
    beside ⌊W/4⌋ = ⌊H/2⌋, floors of each size on both sides) in which no sizes meet them all:
    `archcalc.symbolic.region`, with the conditions on each of those sizes alone."""
    relations = [(c, r) for c in conditions
                 if (r := c.relation.xreplace(equal) if equal else c.relation) not in (sp.true, sp.false)]
    for symbols in _linked(r for _, r in relations):
        inside = [(c, r) for c, r in relations if r.free_symbols <= symbols]
        if _region_empty(inside):
            raise _linked_nowhere(graph, [c for c, _ in _fewest_by_halves(inside, _region_empty)], conditions)


def _linked_nowhere(graph: Graph, needed: list[Condition], conditions: list[Condition]) -> SpecError:
    """The error of `needed` (the culprit last), met nowhere once X = Y constraints made sizes one,
    naming those too (⌊D/2⌋ = ⌊W/4⌋ and ⌊W/2⌋ = ⌊H/4⌋ meet nowhere through D = H)."""
    named = set().union(*(c.relation.free_symbols for c in needed))
    links = [c for c in _links(conditions, named) if c not in needed]
    return _nowhere_error(graph, needed[-1], needed[:-1] + links)


def _fewest_by_halves(found: list, nowhere: Callable[[list], bool]) -> list:
    """Entries of `found` (in its order) that `nowhere` holds for, none of which it holds without
    (`nowhere` holding for all that hold more entries: fewer sizes): each the last of the shortest
    first part of the rest that, with those found so far, leaves no size (or the sizes listed),
    by halves — a few tries for each entry kept, where `_fewest` tries once per entry (54 tries of
    a region of 32 floors took most of a second)."""
    needed: list = []
    rest = list(found)
    while rest and not nowhere(needed):
        low, high = 1, len(rest)  # the shortest part rest[:high] that leaves no size with `needed`
        while low < high:
            middle = (low + high) // 2
            low, high = (low, middle) if nowhere(needed + rest[:middle]) else (middle + 1, high)
        needed.insert(0, rest[high - 1])
        rest = rest[:high - 1]
    return sorted(needed, key=found.index) if nowhere(needed) else list(found)


def _region_empty(found: list[tuple[Condition, sp.Basic]]) -> bool:
    """Whether the relations of `found` close their sizes in a region in which none meets them all."""
    region = members(tuple(r for _, r in found)) if found else None
    return region is not None and not region[1]


def _linked(relations) -> list[set[sp.Symbol]]:
    """The sets of symbols that conditions on several sizes join (H and W, joined by ⌊H/4⌋ = ⌊W/2⌋)."""
    joined: list[set[sp.Symbol]] = []
    for relation in relations:
        if len(relation.free_symbols) > 1:
            touching = [s for s in joined if s & relation.free_symbols]
            joined = [s for s in joined if not s & relation.free_symbols]
            joined.append(set(relation.free_symbols).union(*touching))
    return joined


def _linear_equality(relation: sp.Basic) -> bool:
    """Whether `relation` is an equality of sums of sizes times numbers, without floors (H = D + 2)."""
    if not isinstance(relation, sp.Eq) or not relation.free_symbols:
        return False
    difference = sp.expand(relation.lhs - relation.rhs)
    symbols = sorted(difference.free_symbols, key=str)
    return difference.is_polynomial(*symbols) and sp.Poly(difference, *symbols).total_degree() <= 1


def _linear_nowhere(linear: list[tuple[Condition, sp.Basic]]) -> bool:
    """Whether no sizes meet the linear equalities `linear` together: none at all (H = D + 2,
    W + 4 = H, D + 2 = W), or one size they fix to a number that is not a whole number from 1
    (H = 2·W and W = 2·H: H = W = 0)."""
    if not linear:
        return False
    symbols = sorted(set().union(*(r.free_symbols for _, r in linear)), key=str)
    solutions = sp.linsolve([sp.expand(r.lhs - r.rhs) for _, r in linear], symbols)
    if not solutions:
        return True
    (solution,) = solutions
    return any(value.is_number and not (value.is_integer and value >= 1) for value in solution)


def _nowhere_through(graph: Graph, equality: Condition, conditions: list[Condition],
                     equal: dict[sp.Symbol, sp.Symbol]) -> None:
    """SpecError where a constraint on two sizes that gives one as a function of the other
    (H = ⌊W/4⌋, W + 2 = H) leaves that other no size once put into the rest (W = ⌊H/4⌋ makes
    W = ⌊⌊W/4⌋/4⌋, true at W = 0 alone; H + 2 = W makes W + 4 = W). Putting an equality in is
    exact: the sizes that meet the constraints are (g(W), W) for the W that meet them put in, and
    the size it gives must be 1 or more; constraints on other sizes still are left out."""
    relation = equality.relation.xreplace(equal) if equal else equality.relation
    solved = _solved(relation)
    if solved is None:
        return
    x, times, k = solved
    (y,) = times.free_symbols
    value = times / k  # a whole number where k divides g(Y)
    found = [(equality, size_set(sp.Ge(times, k)))]
    if k != 1:
        found.append((equality, size_set(sp.Eq(sp.Mod(times, k), 0))))
    for condition in conditions:
        put_in = (condition.relation.xreplace(equal) if equal else condition.relation).xreplace({x: value})
        if k != 1 and isinstance(put_in, sp.Rel):  # times k: whole numbers outside the floors, as tests need
            put_in = put_in.func(sp.expand(k * put_in.lhs), sp.expand(k * put_in.rhs))
        if put_in == sp.false:
            raise _linked_nowhere(graph, [equality, condition], conditions)
        if put_in != sp.true and put_in.free_symbols == {y}:
            found.append((condition, size_set(put_in)))
    found = [(condition, sizes) for condition, sizes in found if sizes is not None]
    if found and _none_in([sizes for _, sizes in found]):
        raise _met_nowhere(graph, found, conditions, through=equality)


def _solved(relation: sp.Basic) -> tuple[sp.Symbol, sp.Expr, int] | None:
    """(X, g(Y), k) for a constraint k·X = g(Y), k ≥ 1, on two sizes where X is in one term alone
    (H = ⌊W/4⌋; W + 2 = H: H = W + 2; 2·W = ⌊H/4⌋); None for any other."""
    if not isinstance(relation, sp.Eq) or len(relation.free_symbols) != 2:
        return None
    difference = sp.expand(relation.lhs - relation.rhs)
    for x in sorted(relation.free_symbols, key=str):
        coefficient = difference.coeff(x)
        rest = sp.expand(difference - coefficient * x)
        if coefficient.is_Integer and coefficient != 0 and x not in rest.free_symbols:
            return x, sp.expand(-rest if coefficient > 0 else rest), abs(int(coefficient))
    return None


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
                 conditions: list[Condition], through: Condition | None = None) -> SpecError:
    """The error of constraints that no size meets together: at the first layer whose constraint
    leaves none, naming it and the fewest earlier ones that leave none with it (and the W = H
    that made two sizes one, or the equality `through` whose size was put in)."""
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
    if through is not None and through is not culprit and through not in involved:
        involved.append(through)
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
    needs: dict[str, list[str]] = {at.layer: []}  # each layer once, with all it needs
    for c in [at, *(c for c in involved if c is not at)]:
        needs.setdefault(c.layer, []).append(condition_text(c))
    own = needs.pop(at.layer)
    said = [f"layer '{layer}' needs {_listed(texts)}" for layer, texts in needs.items()]
    message = f"needs {_listed(own)}"
    if said:
        message += f", but {_listed(said)}: no input size meets {'both' if len(involved) == 2 else 'them all'}"
    else:
        message += ", which no input size meets" + (" together" if len(own) > 1 else "")
    message += (", so the network is valid at none" if broadcast is None else
                "; the formulas leave out the sizes where this multiply broadcasts a size of 1, which may be valid")
    given = "x".join(map(str, graph.input_shape))
    hint = (f"change one of these layers; sizes given as numbers (--input {given}) show each size's own error"
            if broadcast is None else f"sizes given as numbers (--input {given}) or swept (archcalc sweep) are each "
                                      "answered, those where it broadcasts too; or change one of these layers")
    return SpecError(message, hint=hint).at(nodes[at.layer].location, at.layer)


def _listed(parts: list[str]) -> str:
    """'A', 'A and B', 'A, B and C'."""
    return f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else parts[0]


def in_words(conditions: tuple[Condition, ...], symbols: tuple[str, ...]) -> list[str]:
    """The conditions on each symbol whose sizes are found joined into one line ('H ≥ 32', with
    the fewest layers that need it), those on a symbol that must equal another (W = H) with the
    other's; sizes that conditions on several of them leave few of, listed ('(H, W) ∈ {(2, 5), (3, 5)}');
    the others as formulas."""
    equal = _equal_symbols(list(conditions))
    lines, rest = _few_points(list(conditions), equal)
    for name in symbols:
        relations = [(c, c.relation.xreplace(equal) if equal else c.relation) for c in rest]
        own = [(c, size_set(relation)) for c, relation in relations if only_on(relation, name)]
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


_STATED_AT_MOST = 6
"""How many tuples of sizes that conditions on several sizes leave are listed, at most."""


def _few_points(conditions: list[Condition], equal: dict[sp.Symbol, sp.Symbol]) -> tuple[list[str], list[Condition]]:
    """A line for each set of sizes that conditions on several of them leave a few tuples of
    (`archcalc.symbolic.region`), and the conditions that those lines do not say."""
    relations = [(c, r) for c in conditions
                 if (r := c.relation.xreplace(equal) if equal else c.relation) not in (sp.true, sp.false)]
    lines, rest = [], conditions
    for symbols in _linked(r for _, r in relations):
        inside = [(c, r) for c, r in relations if r.free_symbols <= symbols]
        region = members(tuple(r for _, r in inside))
        if region is not None and 0 < len(region[1]) <= _STATED_AT_MOST:
            names, points = region
            tuples = [f"({', '.join(map(_thousands, point))})" for point in points]
            said = f"= {tuples[0]}" if len(tuples) == 1 else f"∈ {{{', '.join(tuples)}}}"
            needed = _fewest_by_halves(inside, lambda kept, found=region: members(tuple(r for _, r in kept)) == found)
            layers = list(dict.fromkeys(c.layer for c, _ in needed))
            lines.append(f"({', '.join(map(str, names))}) {said} ({_layers_text(layers)})")
            rest = [c for c in rest if all(c is not mine for mine, _ in inside)]
    return lines, rest


def _thousands(value: int) -> str:
    return f"{value:,}"


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


def only_on(relation: sp.Basic, name: str) -> bool:
    return {str(s) for s in relation.free_symbols} == {name}
