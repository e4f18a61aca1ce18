"""From named layers to a readable spec: groups from the dotted names, blocks from groups of one
class, `repeat` from numbered copies, `from` only where a layer does not read the one before.

Groups of one class (their module's class, or archcalc's block name) become one block when they
unify: the same layers in one order, each present in all (or switched by a `with_NAME`
parameter, `when:`), reading the same neighbours; the fields that differ become the block's
parameters. No torch here: plain data in, plain data (the spec as a dict) out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from archcalc.errors import UserError
from archcalc.graph import INPUT


@dataclass
class Layer:
    name: str
    full: str
    kind: str
    fields: dict
    sources: tuple[str, ...]


@dataclass
class Group:
    name: str
    full: str
    label: str
    items: list = field(default_factory=list)

    def layers(self) -> list[Layer]:
        """Every layer inside, in order."""
        found: list[Layer] = []
        for item in self.items:
            found += item.layers() if isinstance(item, Group) else [item]
        return found

    @property
    def input(self) -> str:
        first = self.layers()[0]
        return first.sources[0] if first.sources else INPUT

    @property
    def output(self) -> str:
        return self.layers()[-1].full


def tree(ops: list, labels: dict[str, str]) -> Group:
    """The groups that the layers' dotted names make; a group's layers run one after the other."""
    root = Group("", "", "")
    stack, closed = [root], {}  # a closed group → the layers before and after its end
    for before, op in zip([None, *ops], ops):
        while stack[-1].full and not op.name.startswith(stack[-1].full + "."):
            closed[stack.pop().full] = (before.name, op.name)
        parts = op.name.split(".")
        for depth in range(len(stack[-1].full.split(".")) if stack[-1].full else 0, len(parts) - 1):
            full = ".".join(parts[:depth + 1])
            if full in closed:
                last, other = closed[full]
                raise UserError(f"the layers of module '{full}' do not run one after the other ('{other}', not in "
                                f"it, runs after '{last}' and before '{op.name}'): a spec's group is one stretch of "
                                "layers", hint=f"run '{other}' inside a module of '{full}' (a block whose forward "
                                f"is x + body(x)), or outside the stretch of its layers")
            group = Group(parts[depth], full, labels.get(full, "group"))
            stack[-1].items.append(group)
            stack.append(group)
        stack[-1].items.append(Layer(parts[-1], op.name, op.kind, op.fields, op.inputs))
    return root


# --- references ------------------------------------------------------------------------------

def local_ref(target: str, group: Group) -> tuple:
    """A target as the group's own items see it: ('input',), ('in', 'bn3' or 'downsample.1'), or ('abs', name)."""
    if target == group.input:
        return ("input",)
    if group.full and target.startswith(group.full + "."):
        return ("in", target[len(group.full) + 1:])
    if not group.full and target != INPUT:
        return ("in", target)
    return ("abs", target)


def ref_text(ref: tuple, at: str, defined: dict[str, str]) -> str:
    """The text of `from` that reaches `ref` from the item `at` (a dotted name), given the names
    defined before it (name → the node it stands for)."""
    if ref[0] == "input":
        return INPUT
    if ref[0] == "in":
        return ref[1]
    target = ref[1]
    if target == INPUT:
        raise UserError(f"'{at}' reads the model's input from inside a group that reads another layer: "
                        "a spec's groups reach the model's input only through their own")
    parts = at.split(".")[:-1]
    for depth in range(len(parts), -1, -1):
        prefix = ".".join(parts[:depth])
        if depth and not target.startswith(prefix + "."):
            continue
        text = target[len(prefix) + 1:] if depth else target
        if _resolve(text, parts, defined) == target:
            return text
    raise UserError(f"'{at}' reads '{target}', which no name reaches from there")


def _resolve(ref: str, parts: list[str], defined: dict[str, str]) -> str | None:
    for depth in range(len(parts), -1, -1):
        candidate = ".".join([*parts[:depth], ref])
        if candidate in defined:
            return defined[candidate]
    return None


# --- templates: what a block of several groups keeps and what it takes as parameters -----------

class Param(str):
    """A field whose value is a block parameter (its name)."""


@dataclass
class Item:
    name: str
    kind: Any                  # a layer kind, or a Template
    fields: dict               # field or argument → value or Param
    refs: list[tuple] | None   # None: the item before
    when: Param | None = None


@dataclass
class Template:
    label: str
    items: list[Item]
    params: dict[str, list]    # name → value in each instance (None: the item is absent there)
    instances: list[Group]

    def args(self, index: int) -> dict:
        return {name: values[index] for name, values in self.params.items()}


class NoBlock(Exception):
    """The groups do not make one block."""


def unify(groups: list[Group]) -> Template:
    """The one block the groups are instances of, or NoBlock."""
    order = _merged_order([[item.name for item in g.items] for g in groups])
    params: dict[str, list] = {}
    items = []
    present_by_name = {name: [next((i for i in g.items if i.name == name), None) for g in groups] for name in order}
    for name in order:
        present = present_by_name[name]
        items.append(_unified_item(name, present, groups, params))
    _unify_refs(items, groups, present_by_name)
    merged, renamed = _merged_params(params)
    for item in items:
        item.fields = {key: Param(renamed.get(value, value)) if isinstance(value, Param) else value
                       for key, value in item.fields.items()}
        item.when = Param(renamed.get(item.when, item.when)) if item.when else None
    return Template(groups[0].label, items, merged, groups)


def _merged_order(orders: list[list[str]]) -> list[str]:
    merged: list[str] = []
    for names in orders:
        at = 0
        for name in names:
            if name in merged:
                if merged.index(name) < at:
                    raise NoBlock
                at = merged.index(name) + 1
            else:
                merged.insert(at, name)
                at += 1
    return merged


def _unified_item(name: str, present: list, groups: list[Group], params: dict) -> Item:
    found = [item for item in present if item is not None]
    when = None
    if len(found) < len(present) and name.isdigit():
        raise NoBlock  # copies of a repeat, more in some groups than in others: a repeat of its own
    if len(found) < len(present):
        when = Param(f"with_{_param_part(name)}")
        params[when] = [item is not None for item in present]
    if all(isinstance(item, Layer) for item in found):
        if len({item.kind for item in found}) != 1 or len({tuple(item.fields) for item in found}) != 1:
            raise NoBlock
        values = {key: [None if item is None else item.fields[key] for item in present] for key in found[0].fields}
        return Item(name, found[0].kind, _fields(name, values, params), None, when)
    if not all(isinstance(item, Group) for item in found) or any(is_stage(item) for item in found):
        raise NoBlock  # a stage of numbered blocks is a repeat, written where it stands
    inner = unify(found)
    positions = [i for i, item in enumerate(present) if item is not None]
    values = {}
    for key, inner_values in inner.params.items():
        column: list = [None] * len(present)
        for position, value in zip(positions, inner_values):
            column[position] = value
        values[key] = column
    return Item(name, inner, _fields(name, values, params), None, when)


def is_stage(group: Group) -> bool:
    """Whether a group holds numbered copies of blocks (`layer1.0`, `layer1.1`, …)."""
    return all(item.name.isdigit() and isinstance(item, Group) for item in group.items)


def _fields(name: str, values: dict[str, list], params: dict) -> dict:
    """Each field's value where every instance has the same; a parameter where they differ."""
    result: dict = {}
    for key, column in values.items():
        given = [frozen(v) for v in column if v is not None]
        if len(set(given)) == 1:
            result[key] = next(v for v in column if v is not None)
        else:
            param = Param(f"{_param_part(name)}_{key}")
            params[param] = column
            result[key] = param
    return result


def _param_part(name: str) -> str:
    return name if name[0].isalpha() else f"n{name}"


def frozen(value: Any) -> Any:
    """A value that compares as written: 1, 1.0 and True apart, lists and tuples alike."""
    if isinstance(value, (list, tuple)):
        return tuple(frozen(v) for v in value)
    return type(value), value


def _merged_params(params: dict[str, list]) -> tuple[dict[str, list], dict[str, str]]:
    """Parameters whose values agree wherever both are given become one (ResNet's conv2 stride
    and its projection's); an absent item's value is then taken from its neighbours. The
    parameters, and the new name of each merged one."""
    merged: dict[str, list] = {}
    renamed: dict[str, str] = {}
    for name, column in params.items():
        for other, values in merged.items():
            if name.startswith("with_") == other.startswith("with_") and all(
                    a is None or b is None or frozen(a) == frozen(b) for a, b in zip(column, values)):
                merged[other] = [b if b is not None else a for a, b in zip(column, values)]
                renamed[name] = other
                break
        else:
            merged[name] = list(column)
    for column in merged.values():
        _fill(column)
    return merged, renamed


def _fill(column: list) -> None:
    """An absent item's parameter takes the value before it (or after it), so that copies agree."""
    known = [v for v in column if v is not None]
    last = known[0] if known else False
    for i, value in enumerate(column):
        if value is None:
            column[i] = last
        else:
            last = value


def _unify_refs(items: list[Item], groups: list[Group], present_by_name: dict[str, list]) -> None:
    """Each item's `from`, the same text in every instance, read as the spec reads it: an absent
    item passes on what it reads."""
    actual = []
    for group in groups:
        refs = {}
        for item in group.items:
            first = item.layers()[0] if isinstance(item, Group) else item
            sources = first.sources if isinstance(item, Layer) else (item.input,)
            refs[item.name] = [_name_ref(local_ref(s, group), group) for s in sources]
        actual.append(refs)
    names = [item.name for item in items]
    counts = [len(refs) for refs in actual]
    for item in items:
        best = max((i for i, refs in enumerate(actual) if item.name in refs), key=lambda i: counts[i])
        item.refs = actual[best][item.name]
    for index, refs in enumerate(actual):
        simulated = _simulate(items, [present_by_name[n][index] is not None for n in names])
        if any(simulated[name] != refs[name] for name in refs):
            raise NoBlock
    for position, item in enumerate(items):
        before = [("input",)] if position == 0 else [("in", items[position - 1].name)]
        if item.refs == before:
            item.refs = None


def _name_ref(ref: tuple, group: Group) -> tuple:
    """A reference to a group's item by the item's name where it is that item's output."""
    if ref[0] != "in":
        return ref
    for item in group.items:
        if isinstance(item, Group) and ref[1] == f"{item.name}.{item.output[len(item.full) + 1:]}":
            return ("in", item.name)
    return ref


def _simulate(items: list[Item], present: list[bool]) -> dict[str, list[tuple]]:
    """What each present item reads in an instance, when absent items pass their first input on."""
    out: dict[str, tuple] = {}
    reads: dict[str, list[tuple]] = {}
    previous: tuple = ("input",)
    for item, here in zip(items, present):
        refs = item.refs if item.refs is not None else [previous]
        resolved = [_through(ref, out) for ref in refs]
        if here:
            reads[item.name] = resolved
            out[item.name] = ("in", item.name)
        else:
            out[item.name] = resolved[0]
        previous = out[item.name]
    return reads


def _through(ref: tuple, out: dict[str, tuple]) -> tuple:
    if ref[0] == "in" and ref[1] in out:
        return out[ref[1]]
    if ref[0] == "in" and ref[1].split(".")[0] in out and out[ref[1].split(".")[0]] != ("in", ref[1].split(".")[0]):
        return ("absent", ref[1])
    return ref


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
