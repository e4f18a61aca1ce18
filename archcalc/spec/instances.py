"""Block instances expanded once: an instance of a block with the same parameters, in surroundings
that give the same values to every name it can read, expands to the same layers as the first one
did, at another place. archcalc.spec.expand copies that first expansion, its names moved to the
new place, instead of expanding it again (the conv–bn–activation of every EfficientNet block,
the bottleneck of every ResNet stage, across the models of one process)."""

from __future__ import annotations

from itertools import islice
from typing import Any, NamedTuple

from archcalc.errors import Location
from archcalc.graph import INPUT
from archcalc.layers import LAYER_KINDS
from archcalc.spec.expr import names_in
from archcalc.spec.source import YMap

MISSING = object()
"""A name the surroundings do not give, in a key."""
MAX_COPIED = 10_000
"""An instance of more items than this is not kept (a bound on the memory the kept instances take)."""


def free_names(block: YMap, blocks: dict[str, YMap]) -> tuple[str, ...] | None:
    """The names an instance of `block` may read from its surroundings, found once per block;
    None for a block that includes a model or (through other blocks) itself: never copied. The
    kinds its items name are among them (a parameter of that name with a text value, visible
    there, redirects the kind or is refused as naming a layer kind or block too); a kind
    redirected by a parameter's value is found as the instance is expanded (see
    archcalc.spec.expand._Builder.redirects)."""
    try:
        return block.free_names
    except AttributeError:
        block.free_names = None  # while it is worked out: a block reached again is never copied
    block.free_names = found = _free_names(block, blocks)
    return found


def _free_names(block: YMap, blocks: dict[str, YMap]) -> tuple[str, ...] | None:
    names = _read_by_layers(block, blocks)
    if names is None:
        return None
    params = _params(block)
    names.difference_update(params)
    for position, default in enumerate(params.values()):
        if isinstance(default, (str, list)):  # it reads the surroundings, and the parameters not set yet
            names.update(_strings_read(default).difference(list(params)[:position]))
    names.discard(INPUT)
    return tuple(sorted(names))


def _read_by_layers(block: YMap, blocks: dict[str, YMap], fields_left_out: tuple = ()) -> set[str] | None:
    """The names the layers of `block` read (its parameters among them), less those read only by
    the fields of the items `fields_left_out`; None where it includes a model or itself."""
    names: set[str] = set()
    kinds: set[str] = set()
    _walk_items(block.get("layers"), names, kinds, {id(body) for _, body, _ in fields_left_out})
    if "model" in kinds:
        return None
    names |= kinds  # a kind is looked up among the names first: one a parameter there names is refused
    for kind in kinds & blocks.keys():
        inner = free_names(blocks[kind], blocks)
        if inner is None:
            return None
        names.update(inner)
    return names


class Body(NamedTuple):
    """What the layers of an instance of a block expand from once its parameters are worked out."""

    names: tuple[str, ...]
    """The names whose values shape them: an instance with the same values is a copy of another."""
    refreshed: tuple[tuple[str, YMap, Location], ...]
    """Its own layers (name, body, place) whose fields read names besides: a copy resolves their
    fields again in its own scope (EfficientNet's and ConvNeXt's drop-path rate, one per block)."""


def body_of(block: YMap, blocks: dict[str, YMap]) -> Body | None:
    """What an instance of `block` expands from once its parameters are worked out, found once
    per block; None for a block never copied (see free_names)."""
    try:
        return block.body
    except AttributeError:
        pass
    block.body = found = None if free_names(block, blocks) is None else _body(block, blocks)
    return found


def _body(block: YMap, blocks: dict[str, YMap]) -> Body:
    plain = _plain_layers(block.get("layers"), blocks)
    names = _read_by_layers(block, blocks, plain)
    names.discard(INPUT)
    refreshed = tuple(item for item in plain if not _strings_read(_fields(item[1])) <= names)
    return Body(tuple(sorted(names)), refreshed)


def _plain_layers(items: Any, blocks: dict[str, YMap]) -> tuple[tuple[str, YMap, Location], ...]:
    """The items of a block's list that are one layer of a kind named as it is: each makes one
    node (or none, switched off by `when`) whose fields are all its fields give."""
    found = []
    for entry in items if isinstance(items, list) else ():
        if isinstance(entry, YMap) and len(entry) == 1:
            [(name, body)] = entry.items()
            kind = body.get("kind") if isinstance(body, YMap) else None
            if isinstance(kind, str) and kind in LAYER_KINDS and kind not in blocks \
                    and not body.keys() & _MAKING_SEVERAL:
                found.append((name, body, entry.key_locations[name]))
    return tuple(found)


_MAKING_SEVERAL = {"layers", "repeat", "for_each", "first", "as"}
_PLACING = ("kind", "from", "when")
"""The keys of a plain layer item that are not its fields: what it is, what it reads, whether it is there."""


def _fields(body: dict) -> list:
    return [value for key, value in body.items() if key not in _PLACING]


def body_key(block: YMap, body: Body, scope: dict) -> tuple:
    """What an instance of `block` expands from, its parameters worked out (in `scope`)."""
    return (_AFTER_PARAMETERS, id(block), *told_apart([scope.get(name, MISSING) for name in body.names]))


_AFTER_PARAMETERS = object()
"""The first item of a body_key (an instance_key's is the block's id: the two never meet)."""


def _params(block: YMap) -> dict:
    params = block.get("params")
    return params if isinstance(params, dict) else {}


def _walk_items(items: Any, names: set[str], kinds: set[str], fields_left_out: set[int] = frozenset()) -> None:
    """Collect the names that the items of a layer list read, and their kinds (of the items whose
    ids are in `fields_left_out`, what places them only)."""
    if not isinstance(items, list):
        return
    for entry in items:
        if isinstance(entry, dict):
            for body in entry.values():
                if isinstance(body, str):
                    kinds.add(body)
                elif isinstance(body, dict):
                    if id(body) in fields_left_out:
                        body = {key: value for key, value in body.items() if key in _PLACING}
                    _walk_body(body, names, kinds)


def _walk_body(body: dict, names: set[str], kinds: set[str]) -> None:
    for key, value in body.items():
        if key == "kind":
            if isinstance(value, str):
                kinds.add(value)
        elif key == "layers":
            _walk_items(value, names, kinds)
        elif key == "first" and isinstance(value, dict):
            _walk_body(value, names, kinds)
        elif key in ("from", "as"):  # a name looked up as it is (a parameter naming a layer; one 'as' hides)
            names.update(ref for ref in (value if isinstance(value, list) else [value]) if isinstance(ref, str))
        else:
            names |= _strings_read(value)


def _strings_read(value: Any) -> set[str]:
    """The names the expressions in `value` (a string, or lists and mappings of them) read."""
    found: set[str] = set()
    pending = [value]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            found |= names_in(value, calls=False)  # the names bound, not the functions called
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def instance_key(block: YMap, free: tuple[str, ...], given: dict, env: dict) -> tuple:
    """What an instance of `block` expands from: the values of its parameters given, and of the
    names it may read in `env`."""
    return (id(block), *given, *told_apart([*given.values(), *[env.get(name, MISSING) for name in free]]))


def told_apart(values: list) -> tuple:
    """`values` in a key: each, then the type of each (1, 1.0 and True are equal, and not the same
    value here); a list or mapping as `frozen` gives it."""
    types = tuple(map(type, values))
    if not _STANDING_FOR_THEMSELVES.issuperset(types):
        values = [value if kind in _STANDING_FOR_THEMSELVES else frozen(value) for value, kind in zip(values, types)]
    return (*values, *types)


_STANDING_FOR_THEMSELVES = {int, float, bool, str, type(None), type(MISSING)}
"""The values that stand for themselves in a key, beside their type."""


def frozen(value: Any) -> Any:
    """A hashable stand-in for field values that tells 1, 1.0 and True apart, and a list from a
    mapping (an empty one of each too)."""
    if isinstance(value, dict):
        return dict, tuple([(key, frozen(item)) for key, item in value.items()])
    if isinstance(value, list):
        return list, tuple([frozen(item) for item in value])
    return type(value), value


class Expanded(NamedTuple):
    """An instance as first expanded: its block (held, so that its id stays its own), and what
    its expansion added, every name inside it relative to it (None: its input; a node's inputs
    are one such name where it reads one, else a tuple of them)."""

    block: YMap
    output: str | None
    nodes: list[tuple]
    outputs: list[tuple[str, str | None]]
    scopes: list[tuple]
    items: int
    depth: int


class Added(NamedTuple):
    """What an instance's expansion added, as it stands (made into an Expanded when it is first
    copied: most instances never are)."""

    block: YMap
    prefix: str
    """Its dotted name and '.'."""
    source: str
    """Its input."""
    output: str
    nodes: list
    outputs: list[tuple[str, str]]
    scopes: list[tuple[str, Any]]
    items: int
    depth: int

    def moved(self) -> Expanded:
        """Every name inside the instance relative to it."""
        prefix, source = self.prefix, self.source
        cut = len(prefix)

        def relative(name: str) -> str | None:
            return None if name == source else name[cut:]

        nodes = [(node.name[cut:], node.kind, node.attrs, _relative_inputs(node.inputs, relative),
                  node.location, node.field_locations) for node in self.nodes]
        outputs = [(name[cut:], relative(value)) for name, value in self.outputs]
        scopes = [(name[cut:], scope.label, scope.location, relative(scope.output)) for name, scope in self.scopes]
        return Expanded(self.block, relative(self.output), nodes, outputs, scopes, self.items, self.depth)


def _relative_inputs(inputs: tuple[str, ...], relative) -> str | None | tuple[str | None, ...]:
    """A node's inputs relative to its instance: one input as its relative name (None: the
    instance's input), several as a tuple of those (a copy makes the common single input faster)."""
    if len(inputs) == 1:
        return relative(inputs[0])
    return tuple([relative(name) for name in inputs])


def last(mapping: dict, count: int) -> list[tuple]:
    """The last `count` entries of `mapping`, in order."""
    return list(islice(reversed(mapping.items()), count))[::-1]
