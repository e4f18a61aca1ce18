"""Specs from existing models: `import_torch` traces a torch module and writes its spec,
`import_onnx` reads an ONNX file (with the `onnx` package alone).

The spec written is read back before it is returned: its layers must be the traced ones (names,
inputs, shapes), its parameters and buffers the module's own, and its torch model must load the
module's state dict. Anything else is refused, never a spec with other figures.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from archcalc.dependencies import require
from archcalc.errors import UserError, first_line, on_one_line
from archcalc.progress import phase

if TYPE_CHECKING:
    from torch import nn

    from archcalc.importers.common import Imported


def import_torch(module: nn.Module, input: str | tuple[int, ...], name: str | None = None,
                 source: str | None = None, allow_opaque: bool = False) -> str:
    """The spec of a torch module, as YAML text, for an input of C×H×W (`"3x224x224"`, or a tuple).

    `name` is the spec's name (the module's class, snake_cased, by default), `source` what it came
    from. The module is traced in eval mode (and put back in the mode it was in). UserError where
    it cannot be traced, has a call without a layer kind, or its spec would not be exact. With
    `allow_opaque`, a call without a layer kind is kept as an `opaque` layer (counted by no
    convention, its output shape as measured) instead.
    """
    require("torch", "archcalc import torch")
    from torch import nn

    from archcalc.importers.common import spec_text_of
    from archcalc.importers.structure import snake
    from archcalc.importers.trace import trace

    if not isinstance(module, nn.Module):
        raise UserError(f"{type(module).__name__} is not a torch.nn.Module", hint="import a module, or a "
                        "function or class that returns one")
    shape = _input_shape(input)
    name = _one_line(name or snake(type(module).__name__))
    training = module.training
    modes = _set_mode(module, False, f"'{name}'")
    try:
        _not_a_wrapper(module, name)
        phase("tracing with torch.fx")
        traced = trace(module, (1, *shape), f"'{name}'", allow_opaque)
    finally:
        _set_mode(module, training, f"'{name}'", modes)
    _made_by_layers(traced, f"'{name}'")
    text = spec_text_of(traced, {"name": name, "source": source or f"imported from torch: {type(module).__qualname__}",
                                 "input": list(shape)})
    _check(text, module, traced, shape, name)
    return text


def _set_mode(module: nn.Module, training: bool, what: str,
              modes: list[tuple[nn.Module, bool]] = ()) -> list[tuple[nn.Module, bool]]:
    """module.train(training), then each module of `modes` given its own flag again (a batch norm
    frozen in eval mode inside a model in training, which train(True) put in training); the flag of
    every module inside before. A UserError where it raises (the model's own train(), or torch's
    recursion through modules nested thousands deep), which was a traceback."""
    try:
        before = [(inside, inside.training) for inside in module.modules()]
        module.train(training)
    except Exception as error:  # noqa: BLE001 - the model's own code, whatever it raises
        raise UserError(f"{what} cannot be put in {'training' if training else 'eval'} mode: {type(error).__name__}: "
                        f"{error}", hint="import a module whose train() runs: archcalc traces it in eval mode") from None
    for inside, flag in modes:
        inside.training = flag
    return before


WRAPPERS = {"OptimizedModule": ("torch.compile's", "_orig_mod"), "DataParallel": ("torch.nn.DataParallel's", "module"),
            "DistributedDataParallel": ("DistributedDataParallel's", "module")}
"""Modules that wrap another (the class name → whose wrapper, the attribute holding the module)."""


def _not_a_wrapper(module: nn.Module, name: str) -> None:
    """A UserError where `module` is TorchScript, or a wrapper of another module (torch.compile's,
    DataParallel's), which torch.fx cannot trace: it said so with the hint about control flow; or
    holds a lazy module's parameter not made yet."""
    import torch
    from torch import nn

    wrapper = WRAPPERS.get(type(module).__name__)
    if wrapper is not None and isinstance(getattr(module, wrapper[1], None), nn.Module):
        raise UserError(f"'{name}' is {wrapper[0]} wrapper of a module, which torch.fx cannot trace",
                        hint=f"import the module it wraps (model.{wrapper[1]})")
    if isinstance(module, torch.jit.ScriptModule):
        raise UserError(f"'{name}' is a TorchScript module (torch.jit.script or trace), which torch.fx cannot trace",
                        hint="import the Python module it was made from")
    lazy = next((key for key, p in module.named_parameters() if nn.parameter.is_lazy(p)), None)
    if lazy is not None:  # the trace's fake run would make it of fake values, or fail (LazyBatchNorm2d's)
        raise UserError(f"'{name}' holds '{lazy}' of a lazy module (nn.LazyConv2d, nn.LazyLinear, …) not made yet: "
                        "its shape is not known", hint="run the model once on an input of its size before importing it")


def _one_line(name: str) -> str:
    """The spec's name; a UserError where it is not one line of text (the spec refuses it, and its
    line feed broke the error that quoted it)."""
    from archcalc.errors import hidden

    if any(map(hidden, name)):
        raise UserError(f"the name {name!r} is not one line of text", hint="a name holds no line breaks, tabs, other "
                        "control characters or invisible format characters: give another with --name")
    return name


def _made_by_layers(traced: Any, what: str) -> None:
    """A UserError where the model returns no tensor, or an output of the model is its input, which
    no layer of a spec makes (a forward that returns its input was an IndexError's traceback)."""
    from archcalc.graph import INPUT

    if not traced.heads:
        raise UserError(f"{what} returns no tensor", hint="an archcalc model gives a tensor at least: import a "
                        "module whose forward returns one")
    if not traced.ops or INPUT in traced.heads:
        raise UserError(f"{what} returns its input{' as an output' if traced.ops else ''}: no layer makes it",
                        hint="an archcalc model's outputs are made by its layers: import a module whose forward "
                             "computes each of them")


def _input_shape(input: str | tuple[int, ...]) -> tuple[int, ...]:
    from archcalc.sizes import parse_input

    shape = parse_input(input) if isinstance(input, str) else tuple(input)
    if not 2 <= len(shape) <= 4 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape):
        raise UserError(f"the input must be C×L, C×H×W or C×D×H×W in whole numbers, got {input!r}",
                        hint="for example 3x224x224 (without the batch)")
    return shape


def _check(text: str, module: nn.Module, traced: Imported, shape: tuple[int, ...], name: str) -> None:
    """The spec read back holds the traced layers, the module's parameters and its state dict."""
    from archcalc.importers.common import not_exact, read_back

    phase("reading the spec back")
    graph, stats = read_back(text, traced, shape, name)
    params = sum(p.numel() for p in module.parameters())
    buffers = sum(b.numel() for b in module.buffers())
    totals = stats.totals
    if (totals.params, totals.buffers) != (params, buffers):
        _refuse_unread(module, traced, name)
        _refuse_held_otherwise(graph, stats.shapes, module, name)
        raise not_exact(name, f"the spec has {totals.params:,} parameters and {totals.buffers:,} buffer values, the "
                        f"module {params:,} and {buffers:,}")
    _check_state_dict(graph, stats.shapes, module, shape, name, traced.moved)


def _refuse_unread(module: nn.Module, traced: Imported, name: str) -> None:
    """A UserError where the module holds a parameter or buffer of a module that runs no layer
    (registered, never read): the spec, whose layers own their tensors, cannot hold it."""
    layers = {op.name for op in traced.ops}
    for what, named in (("parameter", module.named_parameters()), ("buffer", module.named_buffers())):
        for key, tensor in named:
            owner = traced.moved.get(key, key).rpartition(".")[0]
            if not any(owner == layer or owner.startswith(layer + ".") for layer in layers):
                raise UserError(f"'{name}' holds the {what} '{key}' ({tensor.numel():,} values), which no layer it "
                                "runs reads: a spec's layers own their parameters and buffers",
                                hint="import a module without it, or one whose forward reads it in a layer")


def _refuse_held_otherwise(graph: Any, shapes: dict, module: nn.Module, name: str) -> None:
    """A UserError where the module holds as a buffer a tensor its layer's kind holds as a parameter
    (a frozen weight registered with register_buffer, read by a convolution), or the reverse: the
    spec counts it where its kind does, torch where the module holds it."""
    from archcalc.torchmodel import build_layer

    held = {**{key: "buffer" for key, _ in module.named_buffers()},
            **{key: "parameter" for key, _ in module.named_parameters()}}
    for node in graph.nodes:
        if node.kind.key == "opaque":
            continue
        layer = build_layer(node.kind, node.attrs, [shapes[source] for source in node.inputs], "meta")
        kept = {**{key: "buffer" for key, _ in layer.named_buffers()},
                **{key: "parameter" for key, _ in layer.named_parameters()}}
        for key, what in kept.items():
            theirs = held.get(f"{node.name}.{key}", what)
            if theirs != what:
                fix = ("nn.Parameter(tensor, requires_grad=False) keeps it frozen" if what == "parameter"
                       else "module.register_buffer(name, tensor)")
                raise UserError(f"'{name}' holds '{node.name}.{key}' as a {theirs}, which its layer (a {node.kind.key}) "
                                f"holds as a {what}: torch counts it among the module's {theirs}s, the spec among its "
                                f"{what}s", hint=f"register it as a {what} ({fix}), as its layer kind holds it")


def _check_state_dict(graph: Any, shapes: dict, module: nn.Module, shape: tuple[int, ...], name: str,
                      moved: dict[str, str]) -> None:
    """The spec's torch model has the module's state-dict keys, each of the same shape (those of
    its opaque layers apart: they have no torch module, their parameters are counted as a whole;
    a parameter a layer holds under another key, `moved`, under that key, as one value a channel)."""
    from archcalc.importers.common import not_exact
    from archcalc.torchmodel import build_graph

    phase("building the spec's model to compare its state dict")
    opaque = tuple(f"{node.name}." for node in graph.nodes if node.kind.key == "opaque")
    built = build_graph(graph, shape, device="meta").state_dict() if not opaque else _layer_state_dicts(graph, shapes)
    original = module.state_dict()
    ours = {key: tuple(value.shape) for key, value in built.items()}
    theirs = {moved.get(key, key): (value.numel(),) if key in moved else tuple(value.shape)
              for key, value in original.items() if not (opaque and key.startswith(opaque))}
    if ours != theirs:
        _refuse_aliases(module, ours, name)
        missing = sorted(theirs.keys() - ours.keys())[:3]
        extra = sorted(ours.keys() - theirs.keys())[:3]
        other = sorted(k for k in ours.keys() & theirs.keys() if ours[k] != theirs[k])[:3]
        _refuse_state_dict_hooks(module, name, f"{missing} where its modules hold {extra}")
        raise not_exact(name, "the spec's state dict differs from the module's: "
                        f"missing {missing}, extra {extra}, other shapes {other}")


def _refuse_state_dict_hooks(module: nn.Module, name: str, keys: str) -> None:
    """A UserError where a state-dict hook changes the module's state dict (renames its keys): the
    spec's model holds each tensor under its module's name, which the hook's keys are not."""
    hooked = next((path for path, child in module.named_modules() if child._state_dict_hooks), None)
    if hooked is not None:
        where = f"module '{hooked}' of '{name}'" if hooked else f"'{name}'"
        raise UserError(f"{where} has a state-dict hook that changes the keys of its state dict ({keys}): the spec's "
                        "model holds each tensor under its module's name",
                        hint="import the module without the hook: the spec is written from its modules, and its model "
                             "loads the state dict the module gives without it")


def _refuse_aliases(module: nn.Module, ours: dict, name: str) -> None:
    """A UserError where a key of the module's state dict that the spec's lacks holds a tensor the
    spec has under another key (a child registered twice, `self.head = self.fc`): a spec's layers
    hold each tensor once, under one name."""
    held = module.state_dict(keep_vars=True)
    keys: dict[int, list[str]] = {}
    for key, tensor in held.items():
        keys.setdefault(id(tensor), []).append(key)
    for key in sorted(held.keys() - ours.keys()):
        other = next((k for k in keys[id(held[key])] if k in ours), None)
        if other is not None:
            raise UserError(f"'{name}' holds '{other}' under a second name too, '{key}' (a module or tensor registered "
                            "twice): a spec's layers hold each tensor once, under one name",
                            hint="import a module that registers it once (delete the second name, or make it a property)")


def _layer_state_dicts(graph: Any, shapes: dict) -> dict:
    """The state dict of the torch modules of a graph's layers but its opaque ones, built one by one."""
    from archcalc.torchmodel import build_layer

    found = {}
    for node in graph.nodes:
        if node.kind.key != "opaque":
            layer = build_layer(node.kind, node.attrs, [shapes[source] for source in node.inputs], "meta")
            found.update({f"{node.name}.{key}": value for key, value in layer.state_dict().items()})
    return found


def import_onnx(path: str | Path, input: str | tuple[int, ...] | None = None, name: str | None = None,
                source: str | None = None, allow_opaque: bool = False) -> str:
    """The spec of the model in an ONNX file, as YAML text.

    `input` (C×H×W) fixes the sizes where the graph's input has symbols (a symbolic batch is 1);
    `name` is the spec's name (the file's, snake_cased, by default). UserError where the file is no
    ONNX model, a node has no layer kind, or the spec would not be exact. With `allow_opaque`, a
    node without a layer kind is kept as an `opaque` layer (counted by no convention) instead.
    """
    require("onnx", "archcalc import onnx", install="pip install 'archcalc[onnx]'")
    from archcalc.errors import on_one_line
    from archcalc.importers.common import not_exact, read_back, spec_text_of
    from archcalc.importers.onnx_graph import load, read

    if str(path) == "":  # Path('') is the current folder: refused as "'.' is not a file", a name never given
        raise UserError("the ONNX file's name is empty", hint="give the path of an .onnx file (torch.onnx.export "
                                                               "writes one)")
    given, path = str(path), Path(path)
    name = _one_line(name or _file_name(path))
    phase(f"loading {path.name}")
    model = load(path, given)
    phase("reading the graph")
    found = read(model, None if input is None else _input_shape(input), f"'{on_one_line(path.name)}'", allow_opaque)
    text = spec_text_of(found.imported, {"name": name, "source": source or f"imported from ONNX: {path.name}",
                                         "input": list(found.shape)})
    phase("reading the spec back")
    _, stats = read_back(text, found.imported, found.shape, name, found.batch)
    for layer in stats.layers:
        if layer.figures.weight + layer.figures.bias != found.params[layer.name]:
            raise not_exact(name, f"layer '{layer.name}' has {layer.figures.weight + layer.figures.bias:,} parameters "
                            f"in the spec, {found.params[layer.name]:,} in the graph")
    return text


def _file_name(path: Path) -> str:
    from archcalc.importers.structure import snake

    name = snake(path.stem).replace("-", "_").replace(".", "_")
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name) or "model"


__all__ = ["import_onnx", "import_torch"]


def make_module(target: str, arguments: tuple[list, dict]) -> tuple[nn.Module, str]:
    """The module that `MODULE:CALLABLE` names or returns, called with `arguments`, and its
    spec name (the callable's, snake_cased)."""
    phase("importing torch")
    require("torch", "archcalc import torch")
    from torch import nn

    from archcalc.importers.structure import snake
    from archcalc.importers.trace import load_callable, split_target

    phase(f"importing {split_target(target)[0]}")
    found = load_callable(target)
    name = snake(target.rpartition(":")[2].rpartition(".")[2])
    positional, keywords = arguments
    if isinstance(found, nn.Module):
        if positional or keywords:
            raise UserError(f"'{target}' is a module already: it takes no --args")
        return found, name
    if not callable(found):
        raise UserError(f"'{target}' is a {type(found).__name__}, not a torch.nn.Module or something that makes one")
    phase(f"making the module with {target}")
    try:
        module = found(*positional, **keywords)
    except Exception as error:  # noqa: BLE001 - the user's constructor, whatever it raises
        said = f"{type(error).__name__}: {first_line(error)}"
        if isinstance(error, ModuleNotFoundError) and error.name:
            raise UserError(f"'{target}' failed: {said}",
                            hint=f"install '{on_one_line(error.name)}', which its code imports") from None
        if positional or keywords:
            raise UserError(f"'{target}' failed with these arguments: {said}",
                            hint="check --args against its parameters") from None
        raise UserError(f"'{target}' failed, called without arguments: {said}",
                        hint="give it the arguments it needs with --args, or import one whose call does not fail") \
            from None
    if not isinstance(module, nn.Module):
        raise UserError(f"'{target}' returned a {type(module).__name__}, not a torch.nn.Module")
    return module, name
