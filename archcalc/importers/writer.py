"""The spec of a tree of groups and layers, as data and as YAML text written for reading."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import yaml

from archcalc.errors import SpecError, UserError
from archcalc.graph import INPUT
from archcalc.importers.structure import (
    Group,
    Item,
    Layer,
    NoBlock,
    Param,
    Template,
    frozen,
    is_stage,
    local_ref,
    ref_text,
    snake,
    unify,
)
from archcalc.layers import LAYER_KINDS
from archcalc.layers.base import coerce


class Writer:
    """Writes the spec's `blocks:` and `layers:` for the tree under `root`."""

    def __init__(self, root: Group) -> None:
        self.blocks: dict[str, dict] = {}
        self.block_of: dict[int, str] = {}
        self.defined: dict[str, str] = {}
        self.template_of: dict[str, tuple[Template, int]] = {}
        self._find_blocks(root)

    # --- which groups are instances of one block ----------------------------------------------

    def _find_blocks(self, root: Group) -> None:
        families: dict[str, list[Group]] = {}
        for group in _groups(root):
            if not is_stage(group):  # a stage of numbered blocks is a repeat
                families.setdefault(group.label, []).append(group)
        for members in families.values():
            for family in _split(members):
                try:
                    template = unify(family)
                except NoBlock:
                    continue
                for index, group in enumerate(family):
                    self.template_of[group.full] = (template, index)

    # --- the layers of a group ------------------------------------------------------------------

    def layers(self, group: Group) -> list[dict]:
        entries, previous = [], group.input
        for item in group.items:
            entries.append({item.name: self._entry(item, group, previous)})
            self._define(item)
            previous = item.output if isinstance(item, Group) else item.full
        return entries

    def _entry(self, item: Layer | Group, group: Group, previous: str) -> dict:
        if isinstance(item, Layer):
            body = {"kind": item.kind, **_named_fields(item.full, item.kind, item.fields)}
            sources = item.sources
        else:
            body = self._repeat(item) or self._instance(item) or {"layers": self.layers(item)}
            sources = (item.input,)
        if tuple(sources) != (previous,):
            texts = [ref_text(local_ref(s, group), item.full, self.defined) for s in sources]
            body = _with_from(body, texts)
        return body

    def _define(self, item: Layer | Group) -> None:
        if isinstance(item, Layer):
            self.defined[item.full] = item.full
            return
        for inner in _groups(item, own=True):
            self.defined[inner.full] = inner.output
        for layer in item.layers():
            self.defined[layer.full] = layer.full

    def _instance(self, group: Group) -> dict | None:
        found = self.template_of.get(group.full)
        if found is None:
            return None
        template, index = found
        return {"kind": self.block(template), **_arguments(template.args(index))}

    def _repeat(self, group: Group) -> dict | None:
        """Copies named 0, 1, … each reading the one before: `repeat` (with `first`), or
        `for_each` where later copies differ too."""
        copies = group.items
        if [c.name for c in copies] != [str(i) for i in range(len(copies))]:
            return None
        if all(isinstance(c, Layer) for c in copies):  # a single layer stays '0' (nn.Sequential(conv))
            if len(copies) < 2 or len({(c.kind, tuple(c.fields)) for c in copies}) != 1 or len(copies[0].sources) != 1 or any(
                    c.sources != (before.full,) for before, c in pairwise(copies)):
                return None
            return {"kind": copies[0].kind, **_repeated([c.fields for c in copies], layer=copies[0].kind)}
        if not all(isinstance(c, Group) for c in copies) or any(
                c.input != before.output for before, c in pairwise(copies)):
            return None
        found = [self.template_of.get(c.full) for c in copies]
        if None in found or len({id(t) for t, _ in found}) != 1:
            return None
        template = found[0][0]
        return {"kind": self.block(template), **_repeated([template.args(i) for _, i in found])}

    # --- blocks ---------------------------------------------------------------------------------

    def block(self, template: Template) -> str:
        """The name of the block of a template, defined on first use (one name per definition)."""
        if id(template) in self.block_of:
            return self.block_of[id(template)]
        definition: dict = {"params": {str(name): None for name in template.params}} if template.params else {}
        definition["layers"] = [{item.name: self._template_item(item)} for item in template.items]
        name = _block_name(template.label)
        for known, existing in self.blocks.items():
            if existing == definition and (known == name or known.startswith(name + "_")):
                self.block_of[id(template)] = known
                return known
        base, number = name, 1
        while name in self.blocks:
            number += 1
            name = f"{base}_{number}"
        self.blocks[name] = definition
        self.block_of[id(template)] = name
        return name

    def _template_item(self, item: Item) -> dict:
        body = self._template_body(item)
        if item.refs is not None:
            body = _with_from(body, [_template_ref(ref) for ref in item.refs])
        if item.when:
            body["when"] = str(item.when)
        return body

    def _template_body(self, item: Item) -> dict:
        body: dict = {}
        if isinstance(item.kind, Template):
            inner = item.kind
            if inner.params:
                body["kind"] = self.block(inner)
                body.update({key: str(value) if isinstance(value, Param) else _expression(value)
                             for key, value in item.fields.items()})
            else:
                body["layers"] = [{i.name: self._template_item(i)} for i in inner.items]
        else:
            body["kind"] = item.kind
            body.update(_named_fields(item.name, item.kind, item.fields))
        return body


def _with_from(body: dict, texts: list[str]) -> dict:
    """The body with `from` after its kind (before a group's layers)."""
    written = texts[0] if len(texts) == 1 else texts
    if "layers" in body:
        return {"from": written, **body}
    kind = body.pop("kind")
    return {"kind": kind, "from": written, **body}


def _groups(group: Group, own: bool = False) -> list[Group]:
    """Every group inside `group` (and `group` itself with `own`), outer first."""
    found = [group] if own else []
    for item in group.items:
        if isinstance(item, Group):
            found += _groups(item, own=True)
    return found


def _split(members: list[Group]) -> list[list[Group]]:
    """A family of groups of one class: all together where they unify, else by exact structure."""
    if len(members) < 2:
        return []
    try:
        unify(members)
        return [members]
    except NoBlock:
        pass
    by_key: dict[Any, list[Group]] = {}
    for group in members:
        by_key.setdefault(_key(group), []).append(group)
    return [family for family in by_key.values() if len(family) >= 2]


def _key(group: Group) -> tuple:
    return tuple((item.name, _key(item) if isinstance(item, Group) else item.kind) for item in group.items)


def _block_name(label: str) -> str:
    name = snake(label)
    name = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name).strip("_") or "block"
    if not name[0].isalpha():
        name = f"block_{name}"
    if name in LAYER_KINDS or name in ("model", "group", INPUT):
        name = f"{name}_block"
    return name


def _template_ref(ref: tuple) -> str:
    return INPUT if ref[0] == "input" else ref[1]


def _named_fields(name: str, kind: str, fields: dict) -> dict:
    """`_layer_fields`, a field no spec can hold (a padding past 2³¹ − 1) refused naming the layer."""
    try:
        return _layer_fields(kind, fields)
    except SpecError as error:
        raise UserError(f"layer '{name}' ({kind}) cannot be written: {error.message}", hint=error.hint or (
            f"archcalc's {kind} does not take the model's value (docs/spec.md lists each kind's fields): import a "
            "model without it")) from None


def _layer_fields(kind: str, fields: dict) -> dict:
    """The fields that differ from the kind's defaults, written as the spec reads them."""
    layer = LAYER_KINDS[kind]
    written = {}
    for name, value in fields.items():
        if isinstance(value, Param):
            written[name] = str(value)
            continue
        spec_field = layer.fields[name]
        if name == "stride" and spec_field.default is None and frozen(value) == frozen(fields.get("kernel")):
            continue  # a pool's stride is its kernel's unless it says otherwise
        if not spec_field.required and value is not None and frozen(
                coerce(spec_field.type, value, name, layer.axes)) == frozen(layer.defaults[name]):
            continue
        if value is None:
            continue
        literal = not isinstance(value, str) or value in spec_field.choices or value in ("same", "valid")
        written[name] = value if literal else _expression(value)
    return written


def _expression(value: Any) -> Any:
    """A value as an expression: text quoted."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, (list, tuple)):
        return [_expression(v) for v in value]
    return value


def _arguments(values: dict) -> dict:
    return {name: _expression(value) for name, value in values.items()}


def _repeated(copies: list[dict], layer: str | None = None) -> dict:
    """`repeat` with the values of the copies after the first (and `first` where it differs), or
    `for_each` over the values that differ between later copies."""
    later = copies[1:] or copies
    keys = list(copies[0])
    write = (lambda values: _layer_fields(layer, values)) if layer else _arguments
    if all(len({frozen(c[k]) for c in later}) == 1 for k in keys):
        first = {k: copies[0][k] for k in keys if frozen(copies[0][k]) != frozen(later[0][k])}
        body: dict = {"repeat": len(copies), **write(dict(later[0]))}
        if first:
            body["first"] = _expression_or_literal(first, layer)
        return body
    varying = [k for k in keys if len({frozen(c[k]) for c in copies}) > 1]
    rows = [[_expression(c[k]) for k in varying] for c in copies]
    fixed = write({k: copies[0][k] for k in keys if k not in varying})
    return {"for_each": rows, "as": "row", **fixed, **{k: f"row[{i}]" for i, k in enumerate(varying)}}


def _expression_or_literal(values: dict, layer: str | None) -> dict:
    if layer is None:
        return _arguments(values)
    spec_fields = LAYER_KINDS[layer].fields
    return {k: v if not isinstance(v, str) or v in spec_fields[k].choices or v in ("same", "valid")
            else _expression(v) for k, v in values.items()}


# --- YAML text ----------------------------------------------------------------------------------

class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(Param, lambda dumper, value: dumper.represent_str(str(value)))
_Dumper.add_representer(type(None), lambda dumper, _: dumper.represent_scalar("tag:yaml.org,2002:null", "~"))


def flow(value: Any) -> str:
    """One value on one line, YAML's flow style."""
    return yaml.dump(value, Dumper=_Dumper, default_flow_style=True, sort_keys=False, width=1 << 30,
                     allow_unicode=True).strip().removesuffix("...").strip()


def spec_text(head: dict, blocks: dict[str, dict], layers: list[dict]) -> str:
    """The spec: its top keys, blocks and layers, one layer a line."""
    lines = [f"{key}: {flow(value)}" for key, value in head.items()]
    if blocks:
        lines.append("blocks:")
        for name, definition in blocks.items():
            lines.append(f"  {flow(name)}:")
            if "params" in definition:
                lines.append(f"    params: {flow(definition['params'])}")
            lines.append("    layers:")
            lines += _item_lines(definition["layers"], 6)
    lines.append("layers:")
    lines += _item_lines(layers, 2)
    return "\n".join(lines) + "\n"


def _item_lines(entries: list[dict], indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for entry in entries:
        [(name, body)] = entry.items()
        key = flow(name)  # quoted where YAML reads it otherwise: '0', 'on', 'null'
        if "layers" not in body:
            lines.append(f"{pad}- {key}: {flow(body) if set(body) != {'kind'} else flow(body['kind'])}")
            continue
        lines.append(f"{pad}- {key}:")
        lines += [f"{pad}    {k}: {flow(v)}" for k, v in body.items() if k != "layers"]
        lines.append(f"{pad}    layers:")
        lines += _item_lines(body["layers"], indent + 6)
    return lines
