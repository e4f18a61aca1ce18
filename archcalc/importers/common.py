"""What every importer makes and what is done with it: the layers of a model (`Imported`), the spec
written from them, and the check that the spec read back holds exactly those layers.

A front end (torch.fx, ONNX) turns a model into `Op`s with dotted names, in the order they run;
the rest (groups, blocks, repeats, the YAML, the read-back) is the same for all. No torch here.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from archcalc.errors import UserError, bytes_escaped
from archcalc.graph import INPUT

Shape = tuple[int, ...]


class Op(NamedTuple):
    """One layer: its dotted name, kind, fields, the names it reads and its output shape."""

    name: str
    kind: str
    fields: dict
    inputs: tuple[str, ...]
    shape: Shape


class Imported(NamedTuple):
    ops: list[Op]
    heads: tuple[str, ...]
    labels: dict[str, str]
    """The name of each group's block, by its dotted path (its module's class, for torch)."""
    moved: dict[str, str] = {}  # noqa: RUF012 - never written: a NamedTuple's default
    """The model's parameters that a layer holds under another key (a bias added to a convolution
    without one, `conv(x) + self.bias`: 'bias' → 'conv.bias'), by their key in the model."""


def spec_text_of(imported: Imported, head: dict[str, Any]) -> str:
    """The spec's YAML: `head` (name, source, input), then the blocks and layers of the ops."""
    from archcalc.importers.structure import tree
    from archcalc.importers.writer import Writer, spec_text

    _check_nesting(imported.ops, head["name"])
    root = tree(imported.ops, imported.labels)
    writer = Writer(root)
    layers = writer.layers(root)
    head = {key: bytes_escaped(value) if isinstance(value, str) else value for key, value in head.items()}
    if imported.heads != (imported.ops[-1].name,):
        head["outputs"] = list(imported.heads)
    return spec_text(head, writer.blocks, layers)


def _check_nesting(ops: list[Op], name: str) -> None:
    """A UserError where a layer lies in more groups than a spec nests (MAX_NESTING): its spec would
    be refused, and the groups of one thousands deep were a RecursionError's traceback."""
    from archcalc.limits import MAX_NESTING

    deepest = max(ops, key=lambda op: op.name.count("."), default=None)
    if deepest is not None and deepest.name.count(".") > MAX_NESTING:
        parts = deepest.name.split(".")
        shown = ".".join(parts[:4]) + ".….".join(("", parts[-1]))
        raise UserError(f"layer '{shown}' of '{name}' lies in {len(parts) - 1} modules nested inside each other, more "
                        f"than the {MAX_NESTING} groups a spec nests (docs/spec.md, Limits)",
                        hint="import a model whose modules are nested less deeply")


def read_back(text: str, imported: Imported, shape: Shape, name: str, batch: int = 1) -> tuple[Any, Any]:
    """The spec's graph and its stats for an input of `shape` and `batch`, read back as archcalc
    reads a file; UserError unless its layers are the imported ones (names, inputs, output shapes,
    batch included)."""
    from archcalc.analysis import analyze_graph
    from archcalc.errors import SpecError
    from archcalc.spec import load_graph

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "imported.yaml"  # not the spec's name: '--name a/b' named a file elsewhere
        path.write_text(text, encoding="utf-8")
        try:
            graph = load_graph(path)
            stats = analyze_graph(graph, shape, batch)
        except SpecError as error:
            raise _refused(text, name, error) from None
    got = [(layer.name, layer.inputs, layer.shape) for layer in stats.layers]
    wanted = [(op.name, op.inputs, op.shape) for op in imported.ops]
    if got != wanted:
        first = next((g, w) for g, w in zip(got + [None] * len(wanted), wanted + [None] * len(got)) if g != w)
        raise not_exact(name, f"the spec's layers differ from the imported ones: {first[0]} where the model has {first[1]}")
    return graph, stats


def _refused(text: str, name: str, error: Any) -> UserError:
    """The spec written is one archcalc refuses (a convolution's window past its input, an input
    of 5 sizes): the reason, and the spec's line it is at, not the temporary file read back."""
    from archcalc.errors import yaml_lines

    line = error.location.line if error.location is not None else 0
    lines = yaml_lines(text)
    at = f" (line {line} of the spec: {lines[line - 1].strip()})" if 0 < line <= len(lines) else ""
    layer = f"layer '{error.layer}': " if error.layer else ""
    return UserError(f"the spec of '{name}' is one archcalc refuses: {layer}{error.message}{at}",
                     hint=error.hint or "this is archcalc's mistake, not the model's: please report it with the model")


class Unsupported(Exception):
    """A call or node that a rule cannot keep exact (the reason is the message)."""


def pair(value: Any) -> Any:
    """A size field as the spec writes it: one number for every axis, or a list."""
    if isinstance(value, (tuple, list)):
        value = list(value)
        return value[0] if len(set(value)) == 1 else value
    return value


def kinds_hint() -> str:
    """The hint of an operation without a layer kind: the kinds there are, and --allow-opaque."""
    from archcalc.layers import LAYER_KINDS

    return (f"the kinds are: {', '.join(sorted(LAYER_KINDS))}; --allow-opaque (allow_opaque=True) keeps it as an "
            "opaque layer of its measured shape, counted by no convention")


def no_opaque_hint(change: str) -> str:
    """The hint of an operation that --allow-opaque does not keep either: `change`, what to do instead."""
    from archcalc.layers import LAYER_KINDS

    return f"{change}: --allow-opaque does not keep it (the kinds are: {', '.join(sorted(LAYER_KINDS))})"


def not_exact(name: str, what: str) -> UserError:
    return UserError(f"cannot write an exact spec of '{name}': {what}",
                     hint="this is archcalc's mistake, not the model's: please report it with the model")


def check_used(ops: list[Op], heads: tuple[str, ...], what: str) -> None:
    """Every layer leads to an output: a result nobody reads would be counted by torch, but is no
    layer. UserError naming the first one that does not, in `what` (the model), or a layer that is
    two of its outputs (`return y, y`), which a spec's `outputs` cannot name twice."""
    for at, head in enumerate(heads):
        if head != INPUT and head in heads[:at]:
            raise UserError(f"{what} returns the result of '{head}' twice (outputs {heads.index(head) + 1} and "
                            f"{at + 1}): a spec's outputs name each layer once",
                            hint="return each tensor once, and repeat it where the result is used")
    read = {source for op in ops for source in op.inputs} | set(heads)
    for op in ops:
        if op.name not in read:
            raise UserError(f"the result of '{op.name}' ({op.kind}) in {what} is never used",
                            hint="archcalc counts the layers that lead to an output: remove it, or return it")


def into_groups(ops: list[Op], heads: tuple[str, ...], free: set[str],
                taken: set[str]) -> tuple[list[Op], tuple[str, ...]]:
    """The ops and heads, each of the `free` ops (a call of no module, no parameters: its name is
    where it runs, not a state dict's) that runs between two layers of one group of which it is not
    (`for block in self.blocks: x = x + block(x)`, the sum between 'blocks.0' and 'blocks.1') named
    inside that group ('blocks.add'), clear of the names `taken` and the ops': a spec's group is one
    stretch of layers."""
    renamed: dict[str, str] = {}
    taken = set(taken) | {op.name for op in ops}
    for at, op in enumerate(ops):
        if op.name not in free or not at:
            continue
        before = renamed.get(ops[at - 1].name, ops[at - 1].name)
        after = next((o.name for o in ops[at + 1:] if o.name not in free), "")
        group = _shared_group(before, after)
        own = op.name.rpartition(".")[0]
        if not group.startswith(f"{own}." if own else "") or group == own:
            continue
        base = f"{group}.{re.sub(r'_[0-9]+$', '', op.name.rpartition('.')[2])}"
        name, number = base, 0
        while name in taken:
            number += 1
            name = f"{base}_{number}"
        taken.add(name)
        renamed[op.name] = name
    return _renamed(ops, heads, renamed)


def _renamed(ops: list[Op], heads: tuple[str, ...], renamed: dict[str, str]) -> tuple[list[Op], tuple[str, ...]]:
    """The ops and heads with the names `renamed` gives, wherever each is named."""
    if not renamed:
        return ops, heads
    return ([op._replace(name=renamed.get(op.name, op.name), inputs=tuple(renamed.get(i, i) for i in op.inputs))
             for op in ops], tuple(renamed.get(head, head) for head in heads))


def _shared_group(first: str, second: str) -> str:
    """The deepest group that holds the layers of both dotted names ('blocks' of 'blocks.0.conv' and
    'blocks.1.conv'), or '' (the model's)."""
    shared = []
    for a, b in zip(first.split(".")[:-1], second.split(".")[:-1]):
        if a != b:
            break
        shared.append(a)
    return ".".join(shared)


def _modules(ops: list[Op]) -> set[str]:
    """The dotted names the ops' names lie under ('blk' of 'blk.act')."""
    return {".".join(parts[:end]) for parts in (op.name.split(".") for op in ops) for end in range(1, len(parts))}


def names_apart(ops: list[Op], heads: tuple[str, ...],
                opaque: Callable[[str], str] = lambda operation: "opaque") -> tuple[list[Op], tuple[str, ...]]:
    """The ops and heads, each op named as a group of other ops ('/blk/Conv' and '/blk/act/Relu'
    of an ONNX file: 'blk' and 'blk.act') named inside it by its kind ('blk.conv2d'), an opaque one
    by `opaque` of its operation ('blk.mul'): a spec's list cannot hold a layer and a group of one name."""
    modules = _modules(ops)
    taken, renamed = {op.name for op in ops} | modules, {}
    for op in ops:
        if op.name in modules:
            base = opaque(op.fields["operation"]) if op.kind == "opaque" else op.kind
            new, count = f"{op.name}.{base}", 1
            while new in taken:
                new, count = f"{op.name}.{base}_{count}", count + 1
            taken.add(new)
            renamed[op.name] = new
    return _renamed(ops, heads, renamed)


def check_modules_apart(ops: list[Op], what: str) -> None:
    """A UserError where a module is a layer of its own and holds others too (one that calls
    F.conv2d on a weight of its own beside a child): the spec would name that layer's weight
    inside a group of the module's name, not the module's own ('blk.conv2d.weight', 'blk.weight')."""
    modules = _modules(ops)
    for op in ops:
        if op.name in modules:
            inside = next(other.name for other in ops if other.name.startswith(op.name + "."))
            raise UserError(f"module '{op.name}' of {what} is a layer ({op.kind}, on a weight of its own) and holds "
                            f"other layers too ('{inside}'): a spec names a layer's weights after its place, and the "
                            "module's own would move", hint=f"give the weight of '{op.name}' to a child module (an "
                            "nn.Conv2d, nn.Linear, …) rather than calling torch.nn.functional on it beside its children")
