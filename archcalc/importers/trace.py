"""A torch module traced with torch.fx, its shapes run on fake tensors, each call mapped to a layer.

The result is a list of `Op`s in the order the module runs them, each named by the module it is
(`layer1.0.conv1`) or, for a functional call, by the module it runs in and the operation
(`layer1.0.add`); nothing is dropped: a call without a layer kind is an error naming it.
"""

from __future__ import annotations

import logging
import operator
import re
import sys
import traceback
import warnings
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
import torch.fx
from torch import nn

from archcalc.errors import UserError, first_line, on_one_line
from archcalc.graph import INPUT
from archcalc.importers.common import (
    Imported,
    Op,
    check_modules_apart,
    check_used,
    into_groups,
    kinds_hint,
    no_opaque_hint,
)
from archcalc.importers.mapping import (
    PASS_THROUGH,
    WEIGHTED,
    Call,
    Unsupported,
    function_rule,
    kind_of,
    module_rule,
    weighted_fields,
)
from archcalc.layers import LAYER_KINDS
from archcalc.sizes import format_shape

Shape = tuple[int, ...]


class InPlaceProxy(torch.fx.Proxy):
    """fx's Proxy, which also records `x += y` and `x *= y` as the in-place calls they are: fx's own
    has no __iadd__, so Python made them `x = x + y`, and a second reference to x (`z = x.contiguous()`,
    a caller's) read x's old value where torch reads the sum."""

    def __iadd__(self, other: Any) -> torch.fx.Proxy:
        return self.tracer.create_proxy("call_function", operator.iadd, (self, other), {})

    def __imul__(self, other: Any) -> torch.fx.Proxy:
        return self.tracer.create_proxy("call_function", operator.imul, (self, other), {})


IN_PLACE_NAMES = {"iadd": "add", "imul": "mul"}
"""The names of `x += y` and `x *= y` in the layers' names: those they had when fx traced them as `+`."""


class Tracer(torch.fx.Tracer):
    """torch.fx's tracer, which also keeps archcalc's own modules (and every module with a layer
    kind) whole, and records `x += y` as in place (InPlaceProxy)."""

    def is_leaf_module(self, module: nn.Module, qualified_name: str) -> bool:
        return module_rule(module) is not None or super().is_leaf_module(module, qualified_name)

    def proxy(self, node: torch.fx.Node) -> torch.fx.Proxy:
        return InPlaceProxy(node, self)


def trace(module: nn.Module, shape: Shape, what: str, allow_opaque: bool = False) -> Imported:
    """The ops of `module` on an input of `shape` (batch included); `what` names the module in errors.
    With `allow_opaque`, a call without a layer kind is an `opaque` layer instead of an error."""
    if module_rule(module) is not None:
        raise UserError(f"{what} is a single {type(module).__name__}: its state dict's keys "
                        f"({', '.join(repr(k) for k in list(module.state_dict())[:2]) or 'none'}) name no layer",
                        hint="import a module that holds it: nn.Sequential(module) names it '0'")
    tracer = Tracer()
    try:
        graph = tracer.trace(module)
    except UserError:
        raise
    except Exception as error:  # noqa: BLE001 - fx's own message, whatever its type
        raise _untraceable(error, tracer, what, module) from None
    inputs = [node.name for node in graph.nodes if node.op == "placeholder" and not node.args]
    if len(inputs) != 1:
        raise UserError(f"{what} takes {len(inputs)} inputs ({', '.join(inputs)}); an archcalc model takes one tensor",
                        hint="import a wrapper module whose forward takes one tensor")
    values = _run(module, graph, shape, what)
    imported = _Reader(module, values, what, allow_opaque).read(graph)
    _called_as_traced(module, what)
    return imported


def _called_as_traced(module: nn.Module, what: str) -> None:
    """A UserError where calling `module` runs more than its forward, which is what fx traces: a hook
    on it (its own or a global one), or a __call__ of its class (a GraphModule's only calls nn.Module's,
    to show an error in its generated code); the spec would miss what that computes."""
    around = _more_than_its_class(module, own_forward=False)
    own_call = not (_calls_as_a_module(type(module)) or isinstance(module, torch.fx.GraphModule))
    if around is None and own_call:
        around = f"a __call__ of the class {type(module).__qualname__} runs around it"
    if around is None:
        return
    hook = "" if "__call__" in around else ", or remove the hook with the handle its register_…_hook call returned"
    raise UserError(f"{what} cannot be traced as it runs: {around.split(' (')[0].replace(' it', f' {what}', 1)}, and "
                    "torch.fx traces its forward alone (what its call adds runs only where a module calls it)",
                    hint=f"import a module that calls this one (nn.Sequential(model), whose layers' names then start "
                         f"with '0.'){hook}")


def _calls_as_a_module(cls: type) -> bool:
    """Whether calling an instance of `cls` runs nn.Module's __call__ alone: no class before nn.Module
    has a __call__, or each only passes its arguments on (`def __call__(self, x: Tensor) -> Tensor:
    return super().__call__(x)`, written to type the call), found in its source."""
    for klass in cls.__mro__:
        if klass is nn.Module:
            return True
        call = vars(klass).get("__call__")
        if call is not None and call is not nn.Module.__call__ and not _passes_on(call):
            return False
    return False


def _passes_on(call: Any) -> bool:
    """Whether the function `call` is a docstring at most and `return super().__call__(…)` of its
    own arguments as it takes them, undecorated; False where its source cannot be read."""
    import ast
    import inspect
    import textwrap

    try:
        (function,) = ast.parse(textwrap.dedent(inspect.getsource(call))).body
    except (OSError, TypeError, SyntaxError, ValueError):
        return False
    if not isinstance(function, ast.FunctionDef) or function.decorator_list:
        return False
    body = function.body[1:] if ast.get_docstring(function) is not None else function.body
    a = function.args
    args = [name.arg for name in [*a.posonlyargs, *a.args][1:]]
    keywords = [f"{name.arg}={name.arg}" for name in a.kwonlyargs]
    passed = ", ".join([*args, *([f"*{a.vararg.arg}"] if a.vararg else []), *keywords,
                        *([f"**{a.kwarg.arg}"] if a.kwarg else [])])
    return (len(body) == 1 and isinstance(body[0], ast.Return) and body[0].value is not None
            and ast.dump(body[0].value) == ast.dump(ast.parse(f"super().__call__({passed})", mode="eval").body))


TRACE_HINT = ("torch.fx records the operations without running them, so Python control flow that depends "
              "on a tensor (an if or a loop on its values or sizes) cannot be traced: make it depend on a "
              "constructor argument (--args), or write it with tensor operations (torch.where)")
UNREGISTERED_HINT = ("a module held in a plain list, dict or tuple is no submodule (nor are its parameters the "
                     "model's): hold it in nn.ModuleList, nn.ModuleDict or nn.Sequential, or as an attribute of the "
                     "module")
PYTHON_HINT = ("torch.fx records the operations without running them, so a traced tensor or size holds no number "
               "for a Python or numpy function (len, int, float, range, math.*, numpy) to read: write it with "
               "torch's operations (x.size(0), x.shape[1], torch.sqrt), compute it from a constructor argument "
               "(--args), or wrap the function with torch.fx.wrap at module scope (its call is then recorded, and "
               "--allow-opaque keeps one that makes a tensor as an opaque layer)")
OTHER_HINT = ("torch.fx records the operations without running them, on a stand-in for the tensor: rewrite the "
              "code where it stopped with torch's operations, or import a module that runs without it")
CONTROL_FLOW = "symbolically traced variables cannot be used as inputs to control flow"
PYTHON_ON_A_PROXY = ("is not supported in symbolic tracing", "Proxy", "_array_")
"""What fx (or Python, or numpy) says when a traced value is given to a function that needs a number."""


def _untraceable(error: Exception, tracer: Tracer, what: str, module: nn.Module) -> UserError:
    """fx's message, where in the model's code it stopped, and the fix that fits why it stopped."""
    stack = getattr(tracer, "module_stack", {}) or {}
    scope = next(reversed(stack), None) if stack else None
    where = f" in module '{scope}'" if scope else ""
    frame = _user_frame(error)
    at = f" ({frame})" if frame else ""
    message = " ".join(str(error).split()) or type(error).__name__  # with the fix fx suggests, if any
    return UserError(f"torch.fx cannot trace {what}{where}{at}: {message}",
                     hint=_trace_hint(message, module, frame))


def _trace_hint(message: str, module: nn.Module, frame: str | None) -> str:
    """The fix of a failed trace, by why it failed: a module no submodule, an argument of forward
    besides the tensor, control flow on a tensor, a Python function given a traced value, or else."""
    if message == "module is not installed as a submodule":
        return UNREGISTERED_HINT
    argument = _argument_hint(module, frame)
    if argument is not None:
        return argument
    if CONTROL_FLOW in message:
        return TRACE_HINT
    if any(said in message for said in PYTHON_ON_A_PROXY):
        return PYTHON_HINT
    return OTHER_HINT


def _argument_hint(module: nn.Module, frame: str | None) -> str | None:
    """The fix where the trace stopped on an argument of forward besides the tensor, which fx traces
    as a symbol: one without a default (an archcalc model takes one tensor), or one with a default
    where the trace with that default (what a call with one tensor passes) gets past `frame`."""
    import inspect

    try:
        parameters = list(inspect.signature(module.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    others = [p for p in parameters if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    required = [p.name for p in others if p.default is p.empty]
    if required:
        return (f"its forward takes {', '.join(repr(n) for n in required)} besides the tensor, and an archcalc model "
                "takes one tensor: import a wrapper module whose forward takes the tensor alone and passes the rest as "
                "constants")
    defaults = {p.name: p.default for p in others}
    if not defaults or not _stops_elsewhere(module, defaults, frame):
        return None
    shown = ", ".join(f"{name}={value!r}" for name, value in defaults.items())
    return (f"torch.fx traces the arguments of forward besides the tensor ({shown}) as symbols, not as the defaults a "
            "call with one tensor passes: import nn.Sequential(model), whose call passes the tensor alone (its layers' "
            "names then start with '0.'), or make them constructor arguments (--args)")


def _stops_elsewhere(module: nn.Module, concrete: dict, frame: str | None) -> bool:
    """Whether tracing `module` with the arguments `concrete` as given values gets past `frame`."""
    tracer = Tracer()
    try:
        tracer.trace(module, concrete_args=concrete)
    except Exception as error:  # noqa: BLE001 - the model's own failure, whatever its type
        return _user_frame(error) != frame
    return True


def _user_frame(error: Exception) -> str | None:
    """file:line of the model's own code where the trace stopped (the last frame outside torch)."""
    torch_dir = str(Path(torch.__file__).parent)
    frames = [f for f in traceback.extract_tb(error.__traceback__) if not f.filename.startswith(torch_dir)
              and not f.filename.startswith(str(Path(__file__).parent))]
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None


def _run(module: nn.Module, graph: torch.fx.Graph, shape: Shape, what: str) -> dict:
    """Every node's value, `graph` (traced from `module`) run by torch.fx's interpreter on the
    module itself (no GraphModule: its generated code is never needed), on fake tensors of the
    input's shape (no weights are read); a module on the meta device, whose tensors hold no values
    already, runs on a meta input as it is (the same shapes, without the fake tensors' dispatch: a
    third of the time). A call whose output has its input's shape for certain (`_keeps_the_shape`)
    is given it without running."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    first = next(iter([*module.parameters(), *module.buffers()]), None)
    on_meta = first is not None and first.device.type == "meta"
    mode = nullcontext() if on_meta else FakeTensorMode(allow_non_fake_inputs=True)
    values: dict = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, node: torch.fx.Node) -> Any:
            try:
                with mode:
                    values[node] = super().run_node(node)
            except Exception as error:  # noqa: BLE001 - the model's own failure, shown as one line
                message = first_line(error)
                if isinstance(error, _values_read()):
                    raise UserError(f"{what} cannot be traced at node '{node.name}' ({_operation(node, module)}): it "
                                    f"reads the values of a tensor ({message}), which the trace has not: it runs the "
                                    "model on the shapes alone", hint=VALUES_HINT) from None
                raise UserError(f"{what} does not run on an input of {format_shape(shape)}: at node '{node.name}' "
                                f"({_operation(node, module)}): {message}", hint=_run_hint(first)) from None
            return values[node]

        def call_module(self, target: str, args: tuple, kwargs: dict) -> Any:
            if not kwargs and _keeps_the_shape(self.fetch_attr(target), args):
                return torch.empty_like(args[0])
            return super().call_module(target, args, kwargs)

        def call_function(self, target: Any, args: tuple, kwargs: dict) -> Any:
            if not kwargs and any(target is f for f in SUMS) and len(args) == 2 and _alike(args):
                return torch.empty_like(args[0])
            return super().call_function(target, args, kwargs)

    device = first.device if first is not None else "cpu"  # the input on the module's device
    try:
        with mode:  # made fake: a large input is never allocated (3×100000×100000 was 120 GB)
            x = torch.empty(shape, device=device)
    except RuntimeError as error:  # more bytes than torch counts (2⁶³)
        raise UserError(f"torch cannot make an input of {format_shape(shape)} for {what}: {str(error).strip()}",
                        hint="check --input (C×H×W, without the batch): import at a smaller size") from None
    log = logging.getLogger("torch._subclasses.fake_tensor")  # which logs a model's failure with a traceback
    level = log.level
    log.setLevel(logging.CRITICAL)
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on the layers run (padding='same' of an even kernel's copy)
            Recorder(module, graph=graph).run(x)
    finally:
        log.setLevel(level)
    return values


VALUES_HINT = ("a spec's layers make tensors whose shapes follow from the input's, not from its values: compute "
               "it with tensor operations (torch.where for a mask), or from a constructor argument (--args)")


def _values_read() -> tuple[type, ...]:
    """The errors of the fake tensors' run where an operation needs a tensor's values (x.item(),
    x.tolist(), x.nonzero(), y[y > 0])."""
    from torch._subclasses import fake_tensor

    return tuple(getattr(fake_tensor, name) for name in ("DataDependentOutputException", "DynamicOutputShapeException")
                 if hasattr(fake_tensor, name))



def _run_hint(first: torch.Tensor | None) -> str:
    """The hint of a model that does not run on the traced input: its size, or its dtype where the
    model's tensors are not float32 (the input is)."""
    if first is not None and first.is_floating_point() and first.dtype != torch.float32:
        return (f"archcalc traces the model on a float32 input, and its tensors are {str(first.dtype).removeprefix('torch.')}:"
                " import it in float32 (module.float()), or check --input (C×H×W, without the batch)")
    return "check --input (C×H×W, without the batch) against the model"


ELEMENT_WISE = frozenset({nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.SiLU, nn.Hardswish, nn.Hardsigmoid, nn.LeakyReLU,
                          nn.GELU, nn.Dropout, nn.Identity})
"""Modules whose output has their input's shape, whatever it is (in eval mode)."""
BATCH_NORMS = frozenset({nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d})
SUMS = (operator.add, operator.iadd, torch.add)
"""Functions whose sum of two floating-point tensors of one shape and dtype is of that shape and dtype."""


def _keeps_the_shape(module: nn.Module, args: tuple) -> bool:
    """Whether `module`, called on `args` (meta or fake tensors), gives a tensor of the first one's shape
    and dtype for certain: an element-wise module, a batch norm in eval mode whose statistics and
    affine tensors are of the input's channels (after torch's own check of its rank), or
    archcalc's sum of tensors of one shape, all floating-point. Such a call is not run: torch's meta kernels of
    these operations are Python, most of a trace's time. A module with hooks or a forward of its
    own runs as it is."""
    from archcalc.torchmodel.modules import Add

    if not _alike(args) or _hooked(module):
        return False
    kind = type(module)
    if kind is Add or (kind in ELEMENT_WISE and len(args) == 1):
        return True
    if kind not in BATCH_NORMS or len(args) != 1 or module.training or module.running_mean is None:
        return False
    module._check_input_dim(args[0])  # torch's error for an input of another rank
    channels = (args[0].shape[1],)
    return all(t is None or tuple(t.shape) == channels
               for t in (module.weight, module.bias, module.running_mean, module.running_var))


def _alike(args: tuple) -> bool:
    """Whether `args` are floating-point tensors, all of one shape, dtype and device (an element-wise
    operation on whole numbers may give another dtype: torch.sigmoid of an int64 tensor is float)."""
    return bool(args) and all(isinstance(a, torch.Tensor) and a.is_floating_point() and a.shape == args[0].shape
                              and a.dtype == args[0].dtype and a.device == args[0].device for a in args)


def _hooked(module: nn.Module) -> bool:
    """Whether calling `module` would run anything besides its class's forward."""
    from torch.nn.modules import module as hooks

    return bool("forward" in vars(module) or module._forward_hooks or module._forward_pre_hooks
                or getattr(hooks, "_global_forward_hooks", None) or getattr(hooks, "_global_forward_pre_hooks", None))


def _more_than_its_class(module: nn.Module, own_forward: bool = True) -> str | None:
    """What calling `module` runs besides its class's forward (a hook, a forward of its own), or None;
    with `own_forward` False, its hooks alone (fx traces a forward set on the module as it is)."""
    from torch.nn.modules import module as hooks

    spectral = "a forward pre-hook runs before it (torch.nn.utils.spectral_norm's and weight_norm's do)"
    found = [(module._forward_pre_hooks, spectral),
             (module._forward_hooks, "a forward hook runs after it"),
             (own_forward and "forward" in vars(module), "a forward of its own replaces its class's"),
             (getattr(hooks, "_global_forward_pre_hooks", None), "a global forward pre-hook runs before it"),
             (getattr(hooks, "_global_forward_hooks", None), "a global forward hook runs after it")]
    return next((what for present, what in found if present), None)


def _operation(node: torch.fx.Node, root: nn.Module) -> str:
    """What a node does, as its operation's name: torch.nn.Conv2d, torch.nn.functional.elu, Tensor.view."""
    if node.op == "call_module":
        cls = type(root.get_submodule(node.target))
        return f"{cls.__module__}.{cls.__qualname__}"
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ("torch" if "torch" in repr(target) else "")
    name = getattr(target, "__name__", repr(target))
    return f"{module}.{name}" if module else name


NAME_PARTS = "letters, digits and _ starting with a letter, or digits alone"


class _Reader:
    """Reads the traced graph into ops, one node at a time."""

    def __init__(self, module: nn.Module, values: dict, what: str, allow_opaque: bool = False) -> None:
        self.root, self.values, self.what, self.allow_opaque = module, values, what, allow_opaque
        self.names: dict[torch.fx.Node, str] = {}
        self.alias: dict[torch.fx.Node, torch.fx.Node] = {}
        self.chunks: dict[torch.fx.Node, tuple[torch.fx.Node, int]] = {}
        self.copies: set[torch.fx.Node] = set()  # x.contiguous() that copied x: no layer, a tensor of its own
        self.free: set[str] = set()  # the layers of calls of no module (F.relu, a + b, x.flatten(1))
        self.taken = {name for name, _ in module.named_modules() if name}
        self.ops: list[Op] = []
        self.called: set[str] = set()
        self.owners: dict[int, str] = {}  # a parameter's or buffer's id → the name of its layer's tensor
        self.moved: dict[str, str] = {}  # a parameter's key → its key in the spec's model

    def read(self, graph: torch.fx.Graph) -> Imported:
        heads: tuple[str, ...] = ()
        for node in graph.nodes:
            if node.op == "placeholder":
                self._placeholder(node)
            elif node.op == "output":
                heads = self._heads(node)
            elif node.op != "get_attr":
                self._call(node)
        self.ops, heads = into_groups(self.ops, heads, self.free, self.taken)
        check_used(self.ops, heads, self.what)
        check_modules_apart(self.ops, self.what)
        labels = {name: _label(m) for name, m in self.root.named_modules() if name}
        return Imported(self.ops, heads, labels, self.moved)

    def _placeholder(self, node: torch.fx.Node) -> None:
        if not node.args:  # the input; an argument with a default keeps it
            self.names[node] = INPUT

    def _heads(self, node: torch.fx.Node) -> tuple[str, ...]:
        result = node.args[0]
        nodes = list(result) if isinstance(result, (tuple, list)) else [result]
        if not all(isinstance(n, torch.fx.Node) and n in self.names for n in nodes):
            chunks = next((n for n in nodes if n in self.chunks), None)
            inside = next((n for n in nodes if not isinstance(n, torch.fx.Node)), None) if nodes != [result] else None
            returned = ("a dict" if isinstance(result, dict) else f"the chunks of '{chunks.name}' as one tuple"
                        if chunks is not None else f"a {type(result).__name__} holding a {type(inside).__name__}"
                        if inside is not None else f"a {type(result).__name__}")
            raise UserError(f"{self.what} returns {returned}; archcalc models return a tensor or a "
                            "tuple of tensors", hint="import a wrapper module that returns a tuple")
        return tuple(self.names[self._current(n)] for n in nodes)

    def _current(self, node: torch.fx.Node) -> torch.fx.Node:
        """The node that holds a tensor's value now: the last in-place operation on it."""
        while node in self.alias:
            node = self.alias[node]
        return node

    def _call(self, node: torch.fx.Node) -> None:
        value = self.values[node]
        if node.op == "call_function" and node.target is operator.getitem and node.args[0] in self.chunks:
            return self._split(node)
        if isinstance(value, (tuple, list)) and value and all(isinstance(v, torch.Tensor) for v in value):
            return self._chunk(node)
        if not isinstance(value, torch.Tensor):
            return None  # sizes and their arithmetic (x.size(0)): no layer, no tensor
        if self._bias_added(node):
            return None
        inputs = self._tensor_inputs(node)
        sized_by = _sized_by(node, self.values)
        if sized_by is not None:  # F.interpolate(x, size=y.shape[2:]): to the second input's size
            inputs.append(self._current(sized_by))
        if node.op == "call_method" and node.target in PASS_THROUGH:
            self.names[node] = self.names[inputs[0]]
            if value is self.values[inputs[0]]:  # the tensor itself: an in-place call on one writes the other
                self.alias[node] = inputs[0]
            else:  # a copy (of a permuted map): what is written into it, in place, is not in the map it copies
                self.copies.add(node)
            return None
        kind, fields, name = self._layer(node, inputs)
        in_place = _in_place(node, self.root) and bool(inputs)
        if in_place and "inplace" in LAYER_KINDS[kind].fields and inputs[0] not in self.copies:
            fields = {**fields, "inplace": True}  # the memory model counts no new tensor for it
        self._add(node, Op(name, kind, fields, tuple(self.names[n] for n in inputs), tuple(value.shape)))
        if node.op != "call_module" and not (node.op == "call_function" and node.target in WEIGHTED):
            self.free.add(name)  # a call of no module, named by where it runs
        if in_place:
            self.alias[inputs[0]] = node
        return None

    def _bias_added(self, node: torch.fx.Node) -> bool:
        """Whether `node` adds a parameter of one value an output channel to a convolution's output
        without a bias, which it alone reads (`self.conv(x) + self.bias`, of shape (C, 1, 1) or
        (1, C, 1, 1)): the convolution's layer then has a bias, that parameter (torch counts the
        same parameters; fvcore and FlopCounterMode count no work for a convolution's bias or an add)."""
        summed = (node.op == "call_function" and node.target in SUMS + (operator.iadd,)) or (
            node.op == "call_method" and node.target in ("add", "add_"))
        if not summed or node.kwargs or len(node.args) != 2:
            return False
        held = [n for n in node.args if isinstance(n, torch.fx.Node) and n.op == "get_attr"]
        conv = next((n for n in node.args if isinstance(n, torch.fx.Node) and n.op != "get_attr"), None)
        if len(held) != 1 or conv is None or self._current(conv) is not conv or len(conv.users) != 1:
            return False
        (bias,) = held
        layer = next((op for op in reversed(self.ops) if op.name == self.names.get(conv)), None)
        parameter = dict(self.root.named_parameters()).get(bias.target)
        if (layer is None or not layer.kind.startswith(("conv1d", "conv2d", "conv3d", "conv_transpose"))
                or layer.fields.get("bias") is not False or parameter is None or id(parameter) in self.owners
                or sum(n.op == "get_attr" and n.target == bias.target for n in node.graph.nodes) != 1):
            return False
        out = layer.shape
        channel = (out[1],) + (1,) * (len(out) - 2)
        if tuple(parameter.shape) not in (channel, (1, *channel)) or parameter.dtype != self.values[conv].dtype:
            return False
        self.ops[self.ops.index(layer)] = layer._replace(fields={**layer.fields, "bias": True})
        self.owners[id(parameter)] = self.moved[bias.target] = f"{layer.name}.bias"
        self.names[node] = layer.name
        return True

    def _tensor_inputs(self, node: torch.fx.Node) -> list[torch.fx.Node]:
        found: list[torch.fx.Node] = []
        torch.fx.node.map_arg((node.args, node.kwargs), found.append)
        tensors = []
        for n in found:
            if n in self.chunks:  # torch.cat(x.chunk(2, 1), 1): no layer reads a tuple
                raise self._unsupported(node, f"it reads the chunks of '{n.name}' together; index each of them "
                                              "(chunks[0], chunks[1]) to make it a split layer")
            if n.op == "get_attr" and not (node.op == "call_function" and node.target in WEIGHTED):
                raise self._unsupported(node, f"it reads the parameter or buffer '{n.target}' directly")
            if n.op != "get_attr" and isinstance(self.values.get(n), torch.Tensor):
                tensors.append(self._current(n))
        return tensors

    def _layer(self, node: torch.fx.Node, inputs: list[torch.fx.Node]) -> tuple[str, dict, str]:
        """The kind, fields and name of a node's layer."""
        call = self._call_of(node, inputs)
        if node.op == "call_function" and node.target in WEIGHTED:
            return self._weighted(node, call)
        rule = module_rule(call.module) if call.module is not None else function_rule(
            node.target if node.op == "call_function" else str(node.target))
        written = _batch_written(node)
        if written is not None:  # not even opaque: an opaque layer keeps the batch first
            raise self._unsupported(node, f"{written}{_line_of(self.root, node.name)}")
        more = _more_than_its_class(call.module) if call.module is not None and rule is not None else None
        try:
            if rule is None:
                raise Unsupported()
            if more is not None:
                raise Unsupported(f"{more}, and its layer kind computes its class's forward alone")
            computed = _computed_setting(node, self.values)
            if computed is not None:
                raise Unsupported(computed)
            kind, fields = kind_of(rule, call), rule.fields(call)
            if kind not in LAYER_KINDS:
                raise Unsupported(f"a {call.axes}-axis map")
        except Unsupported as reason:
            if self.allow_opaque and inputs:
                return "opaque", self._opaque(node, call), self._name(node)
            error = self._unsupported(node, str(reason) or None, opaque=bool(inputs),
                                      not_opaque=NOT_OPAQUE_WITHOUT_INPUT if self.allow_opaque else None)
            error.hint = HOOKED_HINT if more is not None else error.hint
            raise error from None
        return kind, fields, self._name(node)

    def _opaque(self, node: torch.fx.Node, call: Call) -> dict:
        """An opaque layer's fields: the operation, the measured shapes of its output and first input
        after the batch, and the parameters and buffer values of its module."""
        fields = {"operation": _operation(node, self.root), "shape": list(call.out[1:]),
                  "reads": list(call.shapes[0][1:])}
        if call.module is not None:
            fields["params"] = sum(p.numel() for p in call.module.parameters())
            fields["buffers"] = sum(b.numel() for b in call.module.buffers())
        return fields

    def _call_of(self, node: torch.fx.Node, inputs: list[torch.fx.Node]) -> Call:
        args, kwargs = torch.fx.node.map_arg((node.args, node.kwargs), lambda n: self.values.get(n))
        module = self.root.get_submodule(node.target) if node.op == "call_module" else None
        return Call(module, tuple(args), dict(kwargs), [tuple(self.values[n].shape) for n in inputs],
                    tuple(self.values[node].shape))

    def _weighted(self, node: torch.fx.Node, call: Call) -> tuple[str, dict, str]:
        """F.conv2d(x, self.weight, self.bias, …): the layer is the module holding the weight."""
        weight, bias = _argument(node, 1, "weight"), _argument(node, 2, "bias")
        owner = _owner(weight, "weight")
        if owner is None or (bias is not None and _owner(bias, "bias") != owner) or owner in self.called:
            raise self._unsupported(node, "its weight and bias are not the 'weight' and 'bias' of one module "
                                          "that holds them for this call alone")
        if bias is None and isinstance(getattr(self.root.get_submodule(owner), "bias", None), torch.Tensor):
            raise self._unsupported(node, f"it leaves out the bias that module '{owner}' holds (a layer holds its "
                                          "module's weight and bias: the spec would count a bias the call does not add)")
        self.called.add(owner)
        self._own(owner)
        fields = weighted_fields(node.target, call, tuple(self.values[weight].shape), bias is not None)
        return WEIGHTED[node.target][0], fields, owner

    def _name(self, node: torch.fx.Node) -> str:
        """The module's path, or the scope's path and the operation; `_1`, `_2` … when taken."""
        if node.op == "call_module":
            base = node.target
            module = self.root.get_submodule(base)
            held = "parameters" if any(True for _ in module.parameters()) else \
                "buffers" if any(True for _ in module.buffers()) else None  # a BatchNorm2d(affine=False)'s statistics
            if base in self.called and held:
                raise UserError(f"module '{base}' of {self.what} is called more than once and has {held}: "
                                "shared weights have no spec form", hint="give each use its own module")
            self._own(base)
        else:
            stack = node.meta.get("nn_module_stack") or {}
            scope = next(reversed(stack)) if stack else ""
            operation = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "op")
            operation = IN_PLACE_NAMES.get(operation, operation)
            base = (f"{scope}." if scope else "") + operation.strip("_")
        own = node.target if node.op == "call_module" else None
        name, number = base, 0
        while name in self.called or (name in self.taken and name != own):
            number += 1
            name = f"{base}_{number}"
        self.called.add(name)
        self._check_name(name, node)
        return name

    def _own(self, path: str) -> None:
        """Take the parameters and buffers of the module at `path` for its layer; a UserError where
        another layer's module holds one of them too (tied weights): a spec's layers own theirs, and
        two would count them twice."""
        module = self.root.get_submodule(path)
        for name, tensor in (*module.named_parameters(), *module.named_buffers()):
            held = f"{path}.{name}"
            first = self.owners.setdefault(id(tensor), held)
            if not first.startswith(f"{path}."):
                raise UserError(f"module '{path}' of {self.what} holds '{held}', which is '{first}' of another module: "
                                "shared weights have no spec form",
                                hint="import the model with each module's weights its own (untie them)")

    def _check_name(self, name: str, node: torch.fx.Node) -> None:
        for part in name.split("."):
            if not ((part.isascii() and part.isidentifier() and part[0] != "_") or (part.isascii() and part.isdigit())) \
                    or part == INPUT:
                raise UserError(f"node '{node.name}' of {self.what}: the name '{name}' cannot name a layer ('{part}')",
                                hint=f"a layer's name is {NAME_PARTS} (and not 'input'): rename the module")

    def _add(self, node: torch.fx.Node, op: Op) -> None:
        self.ops.append(op)
        self.names[node] = op.name

    def _chunk(self, node: torch.fx.Node) -> None:
        """x.chunk(parts, dim=1) (or an equal torch.split): its items become `split` layers."""
        target = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
        if node.op == "call_module" or target not in ("chunk", "split"):
            raise self._unsupported(node, None)
        source = self._tensor_inputs(node)[0]
        parts = len(self.values[node])
        shapes = {tuple(v.shape) for v in self.values[node]}
        dim = node.kwargs.get("dim", node.args[2] if len(node.args) > 2 else 0)
        expected = self.values[source].shape[1] // parts if parts else 0
        if dim not in (1, -len(self.values[source].shape) + 1):
            raise self._unsupported(node, f"it splits the axis {dim}, not the channels (archcalc's split takes equal "
                                          "slices of the channels)")
        if len(shapes) != 1 or next(iter(shapes))[1] != expected:
            raise self._unsupported(node, "it makes several tensors that are not equal slices of the channels")
        self.chunks[node] = (source, parts)

    def _split(self, node: torch.fx.Node) -> None:
        source, parts = self.chunks[node.args[0]]
        take = node.args[1]
        if not isinstance(take, int):  # chunks[1:3], chunks[::-1]: several tensors, each no layer yet
            raise self._unsupported(node, f"it takes the chunks [{_slice_text(take)}] together; index each of them "
                                          "(chunks[1], chunks[2]) to make it a split layer")
        value = self.values[node]
        name = self._name_split(node)
        self._add(node, Op(name, "split", {"parts": parts, "take": take}, (self.names[source],), tuple(value.shape)))

    def _name_split(self, node: torch.fx.Node) -> str:
        original = node.target
        node.target = "split"
        try:
            return self._name(node)
        finally:
            node.target = original

    def _unsupported(self, node: torch.fx.Node, reason: str | None, opaque: bool = False,
                     not_opaque: str | None = None) -> UserError:
        """The error of a call no layer writes, with why --allow-opaque does not keep it either
        (`not_opaque`); its hint offers --allow-opaque only where it keeps the call (`opaque`): a
        call of a tensor's result without a layer kind."""
        scope = node.target if node.op == "call_module" else next(reversed(node.meta.get("nn_module_stack") or {"": 0}))
        where = f"module '{scope}'" if scope else "the top-level forward"
        operation = _operation(node, self.root)
        hint = kinds_hint() if opaque else no_opaque_hint("write this call of the model as a layer kind computes it")
        nor = f"; nor kept opaque: {not_opaque}" if not_opaque else ""
        if reason is None:
            return UserError(f"node '{node.name}' ({where}, {operation}) has no layer kind in archcalc{nor}", hint=hint)
        return UserError(f"node '{node.name}' ({where}, {operation}) cannot be written exactly: {reason}{nor}",
                         hint=hint)


NOT_OPAQUE_WITHOUT_INPUT = "an opaque layer reads a tensor of the model, and this call reads none"
HOOKED_HINT = ("import the model with its modules run as their classes run them: remove a hook with the handle its "
               "register_…_hook call returned, and a forward set on the module itself; --allow-opaque keeps the call "
               "as an opaque layer, counted by no convention")


def _batch_written(node: torch.fx.Node) -> str | None:
    """Why a view or reshape that writes its batch as a number (`x.reshape(1, -1)`) is no layer:
    traced at a batch of 1 it joins the sizes after the batch, at another batch it joins the batch
    with them, which no flatten does. -1 (`x.view(-1, 400)`) or `x.size(0)` follows the batch: a
    flatten where it is one at the traced size, which, as `x.flatten(1)` before an `nn.Linear(400, …)`,
    holds at that input size (the spec's linear takes the features it is given). None for another node."""
    reshape = (node.op == "call_method" and node.target in ("view", "reshape")) or node.target is torch.reshape
    if not reshape:
        return None
    sizes = node.args[1:] or (node.kwargs.get("shape", node.kwargs.get("size")),)
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list, torch.Size)):
        sizes = tuple(sizes[0])
    if sizes and isinstance(sizes[0], int) and sizes[0] != -1:
        return (f"its batch is written as the number {sizes[0]} (a flatten at that batch alone: at another, the "
                "batch is joined with the sizes); write x.flatten(1) or x.view(x.size(0), -1)")
    return None


def _line_of(root: nn.Module, name: str) -> str:
    """` (at FILE:LINE)`, the line of the model's code that makes the node `name` (traced again,
    recording where each node is made), or '' where it is not found."""
    tracer = Tracer()
    tracer.record_stack_traces = True
    try:
        graph = tracer.trace(root)
    except Exception:  # noqa: BLE001 - traced once already; the line is an aid, not the error
        return ""
    stack = next((node.stack_trace or "" for node in graph.nodes if node.name == name), "")
    outside = [f"{file}:{line}" for file, line in re.findall(r'File "(.*?)", line (\d+)', stack)
               if not file.startswith((str(Path(torch.__file__).parent), str(Path(__file__).parent)))]
    return f" (at {outside[-1]})" if outside else ""


RESHAPES = ("view", "reshape", torch.reshape)
"""Calls whose sizes may be computed (`x.view(x.size(0), -1)`): read as a flatten by their shapes."""


def _computed_setting(node: torch.fx.Node, values: dict) -> str | None:
    """Why a call with a setting computed from the sizes of the model's tensors is no layer
    (`F.interpolate(x, size=(x.shape[2] * 2, …))`, `F.avg_pool2d(x, x.size()[2:])`): its field
    would be the number computed at the traced input, which the model computes again at another
    (at 3×12×12 the spec upsampled to 16×16, the model to 24×24). None where every setting is a
    constant of the code, or a reshape's."""
    if node.op not in ("call_function", "call_method") or node.target in RESHAPES or _sized_by(node, values):
        return None
    found: list[torch.fx.Node] = []
    torch.fx.node.map_arg((node.args, node.kwargs), found.append)
    computed = next((n for n in found if not isinstance(values.get(n), torch.Tensor) and _of_sizes(n, values)), None)
    if computed is None:
        return None
    value = values.get(computed)
    shown = tuple(value) if isinstance(value, torch.Size) else value
    return (f"a setting computed from the sizes of its tensors ('{computed.name}', {shown!r} at this input): another "
            "input gives another, and a spec's field is a number; write it as a constant, an upsampling by "
            "scale_factor or to size=y.shape[2:] (the map it is sized to), a pooling of the whole map as "
            "F.adaptive_avg_pool2d(x, 1)")


def _of_sizes(node: torch.fx.Node, values: dict) -> bool:
    """Whether a value the trace computed reads the sizes of a tensor (`x.shape`, `x.size()`), not
    only its rank (`x.dim() - 1`, the same at every input) or attributes."""
    if node.op == "call_method" and node.target == "size":
        return True
    if node.op == "call_function" and node.target is getattr and node.args[1:] == ("shape",):
        return True
    found: list[torch.fx.Node] = []
    torch.fx.node.map_arg((node.args, node.kwargs), found.append)
    return any(not isinstance(values.get(n), torch.Tensor) and _of_sizes(n, values) for n in found)


def _sized_by(node: torch.fx.Node, values: dict) -> torch.fx.Node | None:
    """The map whose spatial size `F.interpolate(x, size=…)` takes (`y.shape[2:]`, `y.shape[-2:]`,
    `y.size()[2:]`), or None."""
    if node.op != "call_function" or node.target is not torch.nn.functional.interpolate:
        return None
    size = _argument(node, 1, "size")
    if not (isinstance(size, torch.fx.Node) and size.target is operator.getitem and isinstance(size.args[1], slice)):
        return None
    sizes = size.args[0]
    source = (sizes.args[0] if sizes.op == "call_function" and sizes.target is getattr and sizes.args[1] == "shape"
              else sizes.args[0] if sizes.op == "call_method" and sizes.target == "size" and len(sizes.args) == 1
              else None)
    x = values.get(node.args[0]) if node.args else None
    y = values.get(source)
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor) and y.dim() == x.dim()):
        return None
    return source if tuple(range(y.dim())[size.args[1]]) == tuple(range(2, y.dim())) else None


def _slice_text(index: Any) -> str:
    """An index as Python writes it in brackets (1:3, ::-1)."""
    if not isinstance(index, slice):
        return repr(index)
    text = ":".join("" if part is None else str(part) for part in (index.start, index.stop, index.step))
    return text.removesuffix(":")


def _argument(node: torch.fx.Node, index: int, name: str) -> Any:
    return node.args[index] if len(node.args) > index else node.kwargs.get(name)


def _owner(argument: Any, attribute: str) -> str | None:
    """The module that holds a parameter read as `self.weight` (get_attr 'layer.weight'), if it is one."""
    if isinstance(argument, torch.fx.Node) and argument.op == "get_attr":
        owner, _, last = argument.target.rpartition(".")
        return owner if owner and last == attribute else None
    return None


def _in_place(node: torch.fx.Node, root: nn.Module) -> bool:
    """Whether the node writes into its first input (x.relu_(), F.relu(x, inplace=True), ReLU(inplace=True))."""
    if node.op == "call_method":
        return node.target.endswith("_") and not node.target.endswith("__")
    if node.op == "call_module":
        return bool(getattr(root.get_submodule(node.target), "inplace", False))
    name = getattr(node.target, "__name__", "")
    return bool(node.kwargs.get("inplace")) or name in ("iadd", "imul") or name.endswith("_")


def _label(module: nn.Module) -> str:
    """A module's block name: archcalc's own block's, else its class's."""
    label = getattr(module, "_label", None)
    if isinstance(label, str):
        return label.split(" ×")[0]
    return type(module).__name__


def _not_imported(module_name: str, attribute: str, error: Exception) -> UserError:
    """The error of `import_module(module_name)` failing: a name no module has (a file's path, which
    MODULE is not; a relative name), or the module's own code failing (the first line of its error,
    and the package it lacks where that is what failed)."""
    from pathlib import PureWindowsPath

    windows = "\\" in module_name or DRIVE.match(module_name) is not None
    shown, file = on_one_line(module_name), PureWindowsPath(module_name) if windows else Path(module_name)
    said = f"{type(error).__name__}: {first_line(error)}"
    as_name = f"'{on_one_line(file.stem)}:{on_one_line(attribute)}'"
    path = module_name.endswith(".py") or "/" in module_name or windows
    if module_name.startswith(".") and not path:
        named = on_one_line(module_name.lstrip("."))
        return UserError(f"cannot import '{shown}': a name starting with '.' is relative to the package it is written "
                         "in, and MODULE is imported from none",
                         hint=f"write '{named}:{on_one_line(attribute)}', run from the folder that holds "
                              f"{named.replace('.', '/')}.py (or, for a module of a package, its whole name: "
                              f"'package.{named}:{on_one_line(attribute)}')")
    if _no_module_named(module_name, error):
        if path:
            return UserError(f"cannot import '{shown}': MODULE is the name Python imports the module by, not its "
                             "file's path",
                             hint=f"write {as_name}, run from the folder that holds {on_one_line(file.name)}")
        return UserError(f"cannot import '{shown}': {said}", hint="run from the folder that holds it, or install its package")
    missing = error.name if isinstance(error, ModuleNotFoundError) and error.name else None
    fix = f"install '{on_one_line(missing)}', which it imports" if missing else "fix its code where it fails"
    if path:
        fix = f"write {as_name} (MODULE is the name Python imports the module by, not its file's path), and {fix}"
    return UserError(f"cannot import '{shown}': its code failed: {said}", hint=fix)


def _no_module_named(module_name: str, error: Exception) -> bool:
    """Whether importing `module_name` failed for its name (no module has it, or a relative name),
    not in the code of a module it found."""
    if module_name.startswith("."):  # a relative name: import_module runs nothing
        return True
    return isinstance(error, ModuleNotFoundError) and bool(error.name) and (module_name + ".").startswith(
        f"{error.name}.")


DRIVE = re.compile(r"[A-Za-z]:[\\/]")
"""A Windows path's drive (`C:\\`, `C:/`), whose colon is not the one of MODULE:CALLABLE."""


def split_target(target: str) -> tuple[str, str]:
    """MODULE and CALLABLE of `MODULE:CALLABLE`, split at the first colon after a Windows drive's
    (`C:\\models\\net.py:Net` is the path 'C:\\models\\net.py', which MODULE is not, and 'Net')."""
    drive = target[:2] if DRIVE.match(target) else ""
    module_name, _, attribute = target[len(drive):].partition(":")
    return drive + module_name, attribute


def load_callable(target: str) -> Any:
    """`package.module:Callable` imported (the current folder first on the path)."""
    module_name, attribute = split_target(target)
    if not module_name or not attribute or "\n" in target:  # no module or attribute is named with a line feed
        raise UserError(f"'{on_one_line(target)}' is not MODULE:CALLABLE",
                        hint="for example 'torchvision.models:resnet50' or 'mynet:Net'")
    from importlib import import_module

    folder = str(Path.cwd())  # the folder now: the module's code may change it (os.chdir)
    sys.path.insert(0, folder)
    try:
        found: Any = import_module(module_name)
    except Exception as error:  # noqa: BLE001 - any failure of the user's module is one message
        raise _not_imported(module_name, attribute, error) from None
    finally:
        if folder in sys.path:  # the module's code may have taken it out
            sys.path.remove(folder)
    for part in attribute.split("."):
        if not hasattr(found, part):
            raise UserError(f"'{module_name}' has no '{attribute}'")
        found = getattr(found, part)
    return found
