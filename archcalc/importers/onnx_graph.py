"""An ONNX graph read into layers (`Imported`), with the `onnx` package alone.

Shapes come from the graph's input (fixed where it has a symbol, from `--input`) and ONNX's shape
inference; initialisers are parameters; constant inputs (shape arithmetic the exporter wrote) are
computed here from small values only. Nodes map onto layer kinds through onnx_ops.RULES; a few
patterns the torch exporter writes for one layer are joined back first (x·Sigmoid(x) is silu,
Transpose–LayerNormalization–Transpose a channels-first layer norm, MatMul by a parameter (+ Add of
one) a linear layer, Mul by a parameter a layer scale). Anything else is an error naming the node.

Layer names: a layer with parameters is named by them (`layer1.0.conv1.weight` → `layer1.0.conv1`,
the state dict one to one); another by the module path in its node's name, as torch's exporter
writes it (`/layer1/layer1.0/relu/Relu` → `layer1.0.relu`, `/layer1/layer1.0/Add` →
`layer1.0.add`); without such names, by its operator (`relu`, `relu_1`, …).
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from archcalc.errors import UserError, on_one_line
from archcalc.graph import INPUT
from archcalc.importers.common import (
    Imported,
    Op,
    Unsupported,
    check_used,
    into_groups,
    kinds_hint,
    names_apart,
    no_opaque_hint,
)
from archcalc.importers.onnx_ops import LAYER_NORM_BEFORE_17, RULES, ConstantWeight, Inconsistent, Node, kind_of
from archcalc.layers import LAYER_KINDS
from archcalc.limits import MAX_DIMENSION, MAX_ONNX_BYTES, MAX_ONNX_NODES
from archcalc.reading import _special as special_file

Shape = tuple[int, ...]

RESHAPES = ("Unsqueeze", "Squeeze", "Reshape")
"""Operators that reshape a parameter without computing: their output is that parameter."""
BUFFERS = {"BatchNormalization": 2}
"""How many of an operator's last parameters are buffers: a batch norm's running mean and variance
(its inputs 3 and 4, always given; its scale and bias may be Constants: affine=False)."""
SETTINGS = {"Resize": (1, 2, 3), "Pad": (1, 2, 3), "Clip": (1, 2), "Slice": (1, 2, 3, 4), "Reshape": (1,),
            "Split": (1,)}
"""Inputs, by position, that say how an operator works (a Resize's scales, a Pad's pads): an
initializer there is a value the operator reads, not a parameter, whatever its element type."""

RENAMED = ("MatMulByLeft", "LayerScale")
"""The names the joiner gives one node by what it reads (a MatMul by a parameter on its left, a Mul by a
parameter), not joined with others: messages name the node's own operator."""

INFERENCE_ROUNDS = 64
"""The most times shape inference runs, each after folding the sizes the last one gave."""

FOLDED_SIZE = 4096
"""The most values a constant computed here may hold (shape arithmetic needs a few)."""


def _settings(nodes) -> set[str]:
    """The tensors operators read as settings (SETTINGS), and those passed on to them by Identity
    nodes (an exporter passes a shared initializer on so)."""
    passed = {node.output[0]: node.input[0] for node in nodes if node.op_type == "Identity" and node.input}
    found: set[str] = set()
    for node in nodes:
        for name in (node.input[i] for i in SETTINGS.get(node.op_type, ()) if i < len(node.input)):
            while name and name not in found:
                found.add(name)
                name = passed.get(name, "")
    return found


# --- the file ------------------------------------------------------------------------------------

ONNX_FILE_HINT = "give the path of an .onnx file (torch.onnx.export writes one)"


def load(path: Path, given: str | None = None) -> onnx.ModelProto:
    """The model in an ONNX file, checked; UserError for anything that is not one. `given` is the
    path as the user wrote it (Path('./') is '.'), shown in messages."""
    shown = on_one_line(str(path) if given is None else given)  # a line feed in the name adds no line to the error
    try:
        mode, size = os.stat(path).st_mode, path.stat().st_size
    except FileNotFoundError:
        raise UserError(f"'{shown}' does not exist", hint=f"check the path: {ONNX_FILE_HINT}") from None
    except OSError as error:  # a name too long, a loop of links
        raise UserError(f"cannot read '{shown}': {error.strerror}", hint=ONNX_FILE_HINT) from None
    if stat.S_ISDIR(mode):
        raise UserError(f"'{shown}' is a directory, not an ONNX file",
                        hint="give the path of the .onnx file itself, not of the folder that holds it")
    if not stat.S_ISREG(mode):
        raise UserError(f"'{shown}' is {special_file(mode)}, not an ONNX file",
                        hint=f"{ONNX_FILE_HINT}: save what the pipe or device gives to one first")
    if size > MAX_ONNX_BYTES:
        raise UserError(f"'{shown}' is larger than {MAX_ONNX_BYTES:,} bytes, the most an ONNX file holds "
                        "(archcalc reads it whole)")
    with path.open("rb") as file:
        data = file.read(MAX_ONNX_BYTES + 1)
    try:
        model = onnx.load_model_from_string(data)
    except Exception as error:  # noqa: BLE001 - protobuf's DecodeError, or whatever a broken file raises
        raise UserError(f"'{shown}' is not an ONNX model: {_line(error) or 'it does not parse'}",
                        hint="is the file complete? an ONNX file is a protobuf ModelProto (.onnx)") from None
    del data
    if not model.HasField("graph") or not model.opset_import:
        raise UserError(f"'{shown}' is not an ONNX model: it holds no graph", hint="an ONNX file is a protobuf ModelProto (.onnx)")
    if not model.graph.node:
        raise UserError(f"the graph of '{shown}' has no node: it computes nothing",
                        hint="an archcalc model has a layer at least: export the model that computes one")
    external = _external_as_inputs(model)
    try:
        onnx.checker.check_model(model)
    except Exception as error:  # noqa: BLE001 - ValidationError, or a C++ failure on a broken graph
        raise UserError(f"'{shown}' is not a valid ONNX model: {_line(error)}",
                        hint="is the file complete? onnx.checker.check_model says what is wrong") from None
    if len(model.graph.node) > MAX_ONNX_NODES:
        raise UserError(f"'{shown}' has {len(model.graph.node):,} nodes, more than {MAX_ONNX_NODES:,}")
    _without_weights(model)
    _external_back(model, external)
    return model


def _external_as_inputs(model: onnx.ModelProto) -> list[onnx.TensorProto]:
    """Initialisers whose values are in external data files, taken out of the graph as inputs of
    their type and shape while the checker runs: their files are never opened (only their shapes
    count; the checker would look for the files)."""
    external = [t for t in model.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
    if not external:
        return []
    kept = [t for t in model.graph.initializer if t.data_location != onnx.TensorProto.EXTERNAL]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    known = {value.name for value in model.graph.input}
    model.graph.input.extend(onnx.helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                             for t in external if t.name not in known)
    return [onnx.TensorProto(name=t.name, data_type=t.data_type, dims=t.dims) for t in external]


def _external_back(model: onnx.ModelProto, external: list[onnx.TensorProto]) -> None:
    """The external initialisers back in the graph, as their name, type and shape."""
    if not external:
        return
    names = {t.name for t in external}
    inputs = [value for value in model.graph.input if value.name not in names]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    model.graph.initializer.extend(external)


def _without_weights(model: onnx.ModelProto) -> None:
    """Initialisers larger than any constant computed here keep their name, type and shape only:
    their values are never read, and each copy (the checker's, shape inference's) would hold them."""
    for tensor in model.graph.initializer:
        if math.prod(tensor.dims) > FOLDED_SIZE:
            kept = onnx.TensorProto(name=tensor.name, data_type=tensor.data_type, dims=tensor.dims)
            tensor.CopyFrom(kept)


def _has_values(tensor: onnx.TensorProto) -> bool:
    """Whether an initialiser holds its values (not one cut to its shape, nor an external one)."""
    return bool(tensor.raw_data) or any(len(getattr(tensor, field)) for field in (
        "float_data", "int32_data", "int64_data", "double_data", "uint64_data", "string_data"))


def _line(error: Exception) -> str:
    text = " ".join(str(error).split())
    return text[:300] + ("…" if len(text) > 300 else "")


# --- the graph ----------------------------------------------------------------------------------

class Read:
    """What `read` gives: the layers, the input (batch apart), the batch, and each layer's
    parameter values (weights and biases, not buffers) counted."""

    def __init__(self, imported: Imported, shape: Shape, batch: int, params: dict[str, int]) -> None:
        self.imported, self.shape, self.batch, self.params = imported, shape, batch, params


def read(model: onnx.ModelProto, input: Shape | None, what: str, allow_opaque: bool = False) -> Read:
    """The layers of `model`, its input's sizes fixed to `input` (C×H×W) where given; with
    `allow_opaque`, a node without a layer kind is an `opaque` layer instead of an error."""
    graph = model.graph
    initialisers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initialisers]
    if len(inputs) != 1:
        names = ", ".join(f"'{i.name}'" for i in inputs) or "none"
        raise UserError(f"{what} takes {len(inputs)} inputs ({names}); an archcalc model takes one tensor",
                        hint="export a model whose forward takes one tensor")
    if not graph.output:
        raise UserError(f"the graph of {what} has no output: it gives nothing",
                        hint="an archcalc model gives a tensor at least: export the model with its outputs")
    dims = inputs[0].type.tensor_type.shape.dim
    symbolic = [not (d.HasField("dim_value") and d.dim_value > 0) for d in dims]  # before they are fixed
    batch, shape = _input_shape(inputs[0], input, what)
    reader = _Reader(model, what, allow_opaque)
    reader.any_batch, reader.any_size = bool(symbolic[:1] and symbolic[0]), any(symbolic[2:])
    return reader.read(inputs[0].name, batch, shape)


def _input_shape(value: onnx.ValueInfoProto, given: Shape | None, what: str) -> tuple[int, Shape]:
    """The batch and the C×H×W of the input, fixing its symbols (a symbolic batch is 1)."""
    dims, name = value.type.tensor_type.shape.dim, on_one_line(value.name)
    if not value.type.tensor_type.HasField("shape") or len(dims) < 3:
        raise UserError(f"the input '{name}' of {what} has no shape of batch, channels and sizes",
                        hint="export with an input of a fixed shape (N×C×H×W)")
    written = [d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else on_one_line(d.dim_param or "?")
               for d in dims]
    if any(d.HasField("dim_value") and d.dim_value == 0 for d in dims[1:]):
        sizes = " × ".join(str(d.dim_value) if d.HasField("dim_value") else str(w) for d, w in zip(dims, written))
        raise UserError(f"the input '{name}' of {what} has a size of 0 ({sizes})",
                        hint="export with an input of sizes from 1")
    if given is not None:
        if len(given) != len(dims) - 1 or any(isinstance(w, int) and w != g for w, g in zip(written[1:], given)):
            raise UserError(f"--input {'x'.join(map(str, given))} does not fit the input '{name}' of {what}, "
                            f"of shape {' × '.join(map(str, written))}")
        sizes = list(given)
    elif any(not isinstance(w, int) for w in written[1:]):
        raise UserError(f"the input '{name}' of {what} has a dynamic size ({' × '.join(map(str, written))}): "
                        "archcalc needs its channels and sizes", hint="give them with --input, e.g. --input 3x224x224")
    else:
        sizes = written[1:]
    batch = written[0] if isinstance(written[0], int) else 1
    if max(batch, *sizes) > MAX_DIMENSION:
        raise UserError(f"the input '{name}' of {what} has a size above {MAX_DIMENSION:,} "
                        f"({' × '.join(map(str, [batch, *sizes]))})", hint="sizes are limited to 2³¹ − 1 "
                        "(docs/spec.md, Limits): export with an input of a smaller shape")
    for dim, size in zip(dims, [batch, *sizes]):
        dim.Clear()
        dim.dim_value = size
    return batch, tuple(sizes)


class _Reader:
    def __init__(self, model: onnx.ModelProto, what: str, allow_opaque: bool = False) -> None:
        self.model, self.what, self.allow_opaque = model, what, allow_opaque
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
        self.initialisers = {t.name: t for t in self.graph.initializer}
        self.param_of: dict[str, str] = {name: name for name in self.initialisers}  # a name → its parameter
        self.constants: dict[str, np.ndarray] = {}
        self.same: dict[str, str] = {}      # an Identity's output → the tensor it passes on
        self.producer: dict[str, str] = {}  # a tensor → the name of the layer that makes it
        self.ops: list[Op] = []
        self.params: dict[str, int] = {}
        self.owner: dict[str, tuple[int, str]] = {}
        """Each initializer read as a parameter → the item (its id) and the layer that read it first."""
        self.shapes: dict[str, Shape] = {}
        self.sized_by: dict[str, set[str]] = {}  # a computed constant → the tensors whose Shape it reads
        self.any_batch = False  # whether the input's batch is symbolic: the graph runs at any batch
        self.any_size = False  # whether a spatial size of the input is: the graph runs at any size
        self.free: set[str] = set()  # the layers that read no initializer: named by their node alone

    # --- shapes and constants -------------------------------------------------------------------

    def _fold_before_inference(self, shapes: dict[str, Shape]) -> bool:
        """Integer constants computed from constants alone (the starts of torch's Slice: Unsqueeze of
        Constant) and from the `shapes` known (Shape of a tensor), and settings of any type (the
        scales of torch's Resize: a Concat of two float Constants) made initialisers, their nodes
        dropped: ONNX's shape inference reads initialisers but not what such nodes compute. Whether
        any was."""
        known = {t.name: numpy_helper.to_array(t) for t in self.graph.initializer
                 if t.data_type in INTEGER_TYPES and _has_values(t) and math.prod(t.dims) <= FOLDED_SIZE}
        settings = _settings(self.graph.node)
        folded, kept = [], []
        for node in self.graph.node:
            value = None
            if node.domain not in STANDARD:
                pass  # another domain's operator: not the one of that name computed here
            elif node.op_type == "Constant":
                value = _constant_value(node)
            elif node.op_type == "Shape" and (node.input[0] in shapes or node.input[0] in known):
                start, end = node_attributes(node).get("start", 0), node_attributes(node).get("end")
                size = shapes[node.input[0]] if node.input[0] in shapes else known[node.input[0]].shape
                value = np.array(size[start:end], dtype=np.int64)
                self._sized_by(node, known)
            elif node.op_type in FOLDS and node.input and all(not n or n in known for n in node.input):
                try:
                    with np.errstate(all="raise"):  # a division by 0, an overflow: not computed, no warning
                        value = np.asarray(FOLDS[node.op_type](node_attributes(node), *[known.get(n) for n in node.input]))
                except Exception:  # noqa: BLE001 - left to the reading below
                    value = None
                self._sized_by(node, known)
            small = value is not None and value.size <= FOLDED_SIZE
            if node.op_type == "If" and node.input[0] in known and known[node.input[0]].size == 1:
                kept += _branch(node, bool(known[node.input[0]].reshape(-1)[0]))
                folded.append(None)  # the graph changed
            elif small and (value.dtype.kind in "iub" or (node.output[0] in settings and value.size)):
                known[node.output[0]] = value
                folded.append(numpy_helper.from_array(value, node.output[0]))
            else:
                if small:  # a float constant, kept as it is: a setting may be computed from it
                    known[node.output[0]] = value
                kept.append(node)
        if folded:
            folded = [t for t in folded if t is not None]
            del self.graph.node[:]
            self.graph.node.extend(kept)
            self.graph.initializer.extend(folded)
            self.initialisers.update({t.name: t for t in folded})
            return True
        return False

    def _sized_by(self, node: onnx.NodeProto, constants: Any) -> None:
        """Which tensors' Shape a computed constant reads (a Pad to another map's size)."""
        if node.op_type == "Shape":
            self.sized_by[node.output[0]] = {node.input[0]} if node.input[0] not in constants else set()
        else:
            self.sized_by[node.output[0]] = set().union(*(self.sized_by.get(name, ()) for name in node.input))

    def _infer(self) -> None:
        """Every shape ONNX's inference gives, inferred again while sizes it gave make more constants
        (a chunk's slice ends, computed from the Shape of a tensor whose shape it had to infer)."""
        self._fold_before_inference({})
        for _ in range(INFERENCE_ROUNDS):
            try:
                inferred = onnx.shape_inference.infer_shapes(self.model, strict_mode=True, data_prop=True)
            except Exception as error:  # noqa: BLE001 - onnx's InferenceError, or a C++ failure
                raise UserError(f"the shapes of {self.what} cannot be inferred: {_line(error)}",
                                hint="ONNX's shape inference stopped there: check the model with onnx.checker") from None
            for value in [*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input]:
                dims = value.type.tensor_type.shape.dim
                if value.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                    self.shapes[value.name] = tuple(d.dim_value for d in dims)
            if not self._fold_before_inference(self.shapes):
                break
        settings = _settings(self.graph.node)
        for name, tensor in self.initialisers.items():
            self.shapes[name] = tuple(tensor.dims)
            small = math.prod(tensor.dims) <= FOLDED_SIZE
            if _has_values(tensor) and (small and (tensor.data_type in INTEGER_TYPES or name in settings)
                                        or not tensor.dims):
                self.constants[name] = numpy_helper.to_array(tensor)  # shape arithmetic, a setting, or a scalar
                self.param_of.pop(name, None)

    def _constant(self, node: onnx.NodeProto) -> bool:
        """Constant nodes, and shape arithmetic on constants: computed, no layers."""
        if node.op_type == "Constant":
            self.constants[node.output[0]] = _constant_value(node)
            return True
        if node.op_type == "Shape" and node.input[0] in self.shapes:
            start, end = node_attributes(node).get("start", 0), node_attributes(node).get("end")
            self.constants[node.output[0]] = np.array(self.shapes[node.input[0]][start:end], dtype=np.int64)
            self._sized_by(node, self.constants)
            return True
        inputs = [name for name in node.input if name]
        if node.op_type not in FOLDS or not inputs or not all(name in self.constants for name in inputs):
            return False
        try:
            with np.errstate(all="raise"):  # a division by 0, an overflow: not computed, no warning
                value = FOLDS[node.op_type](node_attributes(node), *[self.constants[name] for name in node.input])
        except Exception:  # noqa: BLE001 - a computation that does not fit is a layer, refused below
            return False
        if np.size(value) > FOLDED_SIZE:
            return False
        self.constants[node.output[0]] = np.asarray(value)
        self._sized_by(node, self.constants)
        return True

    # --- nodes ----------------------------------------------------------------------------------

    def read(self, input_name: str, batch: int, shape: Shape) -> Read:
        self.batch = batch
        self._infer()
        for node in self.graph.node:
            if node.domain not in STANDARD:  # 'custom:Relu' is not ONNX's Relu: no rule, no pattern reads it so
                node.op_type = f"{node.domain}:{node.op_type}"
        self.producer[input_name] = INPUT
        self.consumers: dict[str, list[onnx.NodeProto]] = {}
        self.made_by = {output: node for node in self.graph.node for output in node.output}
        for node in self.graph.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)
        layers = []
        for node in self.graph.node:
            if self._constant(node):
                continue
            if node.op_type == "Identity" or (node.op_type in RESHAPES and node.input[0] in self.param_of):
                self._identity(node)
                continue
            if node.op_type == "Slice":
                self._slice_shape(node)
            layers += _outputs_apart(node) if node.op_type == "Split" else [node]
        joined = _Joiner(self).join(self._live(layers))
        names = _Namer(self, joined).names()
        for item in joined:
            self._add(item, names[id(item)])
        heads = tuple(self._head(output.name) for output in self.graph.output)
        ops, heads = into_groups(self.ops, heads, self.free, set())
        check_used(ops, heads, self.what)
        ops, heads = names_apart(ops, heads, _operation)
        params = {op.name: self.params[before.name] for op, before in zip(ops, self.ops)}
        labels = _labels([op.name for op in ops])
        return Read(Imported(ops, heads, labels), shape, batch, params)

    def _live(self, nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
        """The nodes whose results lead to an output: one that nothing reads (torch's exporter
        writes both slices of a chunk of which one is used) computes nothing the model gives."""
        needed = {self._tensor(output.name) for output in self.graph.output}
        live = []
        for node in reversed(nodes):
            if any(output in needed for output in node.output):
                live.append(node)
                needed.update(self._tensor(name) for name in node.input)
        return live[::-1]

    def _slice_shape(self, node: onnx.NodeProto) -> None:
        """A Slice's output shape from its constant starts and ends, where inference gave none."""
        values = [self.constants.get(name) if name else None for name in node.input]
        values += [None] * (5 - len(values))
        source = self.shapes.get(node.input[0])
        if node.output[0] in self.shapes or source is None or values[1] is None or values[2] is None:
            return
        axes = values[3] if values[3] is not None else range(len(values[1]))
        steps = values[4] if values[4] is not None else [1] * len(values[1])
        shape = list(source)
        for start, end, axis, step in zip(values[1], values[2], axes, steps):
            shape[int(axis)] = len(range(*slice(int(start), int(end), int(step)).indices(source[int(axis)])))
        self.shapes[node.output[0]] = tuple(shape)

    def _identity(self, node: onnx.NodeProto) -> None:
        source = node.input[0]
        if source in self.param_of and node.op_type != "Identity":  # a parameter reshaped (PReLU's slope)
            self.param_of[node.output[0]] = self.param_of[source]
        elif source in self.param_of:  # a deduplicated parameter, named by its Identity
            self.param_of[node.output[0]] = node.output[0]
            self.shapes[node.output[0]] = self.shapes[source]
        elif source in self.constants:
            self.constants[node.output[0]] = self.constants[source]
        else:
            self.same[node.output[0]] = self._tensor(source)

    def _tensor(self, name: str) -> str:
        return self.same.get(name, name)

    def _add(self, item: Joined, name: str) -> None:
        node = item.node
        inputs = tuple(self._source(item, t) for t in item.tensors)
        written = self._batch_written(item)
        if written is not None:  # not even opaque: an opaque layer keeps the batch first at any batch
            raise self._unsupported(item, written)
        try:
            rule = RULES.get(item.op_type)
            if rule is None:
                raise Unsupported()
            computed = self._size_computed(item)
            if computed is not None:
                raise Unsupported(computed)
            out = self._shape(item, item.output)
            view = Node(item.op_type, node_attributes(node), [self.shapes[t] for t in item.tensors], out,
                        item.constants, [(p, self.shapes[p]) for p in item.params], self.opset,
                        len([o for o in node.output if o]))
            kind, fields = kind_of(rule, view), rule.fields(view)
            if kind not in LAYER_KINDS:
                raise Unsupported(f"a {len(view.shapes[0]) - 2}-axis map")
            if min(out, default=1) < 1 and "kernel" not in fields:  # a window's spec says why it is empty
                raise self._empty(node, out)
        except Inconsistent as reason:
            raise UserError(f"{_named(node)} ({node.op_type}) of {self.what} does not go together: {reason}",
                            hint="the file's mistake: export the model again (onnx.shape_inference.infer_shapes with "
                                 "strict_mode=True finds such a node)") from None
        except Unsupported as reason:
            if item.output in self.shapes and min(self.shapes[item.output], default=1) < 1:
                raise self._empty(node, self.shapes[item.output]) from None  # the reason it is no layer
            not_opaque = self._not_kept_opaque(item, inputs, reason)
            if not self.allow_opaque or not_opaque is not None:
                shown = not_opaque if self.allow_opaque else None  # why the flag asked for does not keep it
                raise self._unsupported(item, str(reason) or None, not_opaque=shown, opaque=not_opaque is None) from None
            out = self._shape(item, item.output)
            if min(out, default=1) < 1:
                raise self._empty(node, out) from None
            kind, fields = "opaque", self._opaque(item, out)
        self._own(item, name)
        self.ops.append(Op(name, kind, fields, inputs, out))
        if not item.params:
            self.free.add(name)
        self.producer[item.output] = name
        learned = len(item.params) - BUFFERS.get(item.op_type, 0)
        self.params[name] = sum(math.prod(self.shapes[p]) for p in item.params[:learned])

    def _batch_written(self, item: Joined) -> str | None:
        """Why a Reshape whose shape writes the batch as a number (torch's `x.reshape(1, -1)`, a
        Constant [1, -1]) in a graph of any batch (a symbolic one) is no layer: at a batch of 1 it
        joins the sizes after the batch, at another it joins the batch with them, which no flatten
        does; nor one that writes it as -1 beside numbers (`x.view(-1, 256)`) in a graph of any
        size, which at another size makes a batch of another size, unless it reshapes a pooling's
        output of one size at every input (`_sized_alike`). None for another node, a graph of one
        batch (whose exporter writes x.size(0) as that number), or a shape computed from a Shape
        (`x.view(x.size(0), -1)`) or whose batch is 0."""
        shape_input = item.node.input[1] if item.op_type == "Reshape" and len(item.node.input) > 1 else ""
        if not (self.any_batch or self.any_size):
            return None
        shape = self.constants.get(shape_input)
        if shape is None or not np.size(shape) or self.sized_by.get(shape_input):
            return None
        sizes = [int(n) for n in np.reshape(shape, -1)]
        if sizes[0] == -1 and len(sizes) > 1 and self.any_size and not self._sized_alike(item):
            return (f"its batch is written as -1 beside the numbers {', '.join(map(str, sizes[1:]))} in a graph of any "
                    "size (a flatten at this input's size alone: at another, the sizes after the batch change, the "
                    "numbers do not, and -1 makes a batch of another size); export x.flatten(1) or "
                    "x.view(x.size(0), -1)")
        if sizes[0] in (-1, 0) or not self.any_batch:
            return None
        return (f"its batch is written as the number {sizes[0]} (a flatten at that batch alone: at another, the batch "
                "is joined with the sizes); export x.flatten(1) or x.view(x.size(0), -1)")

    def _sized_alike(self, item: Joined) -> bool:
        """Whether the tensor `item` reshapes has the same sizes after the batch at every input size:
        the output of a global or adaptive pooling, or of a mean over the spatial axes."""
        layer = self.producer.get(self._tensor(item.tensors[0])) if item.tensors else None
        kind = next((op.kind for op in reversed(self.ops) if op.name == layer), "")
        return kind == "mean" or kind.startswith(("adaptive_avgpool", "adaptive_maxpool"))

    def _size_computed(self, item: Joined) -> str | None:
        """Why a Resize whose sizes, or a Pad whose pads, are computed from the shapes of its tensors
        (torch's `F.interpolate(x, size=(x.shape[2] * 2, …))`, `F.pad(x, [(16 - x.shape[2]) // 2] * 4)`),
        or a crop, in a graph of any size is no layer: its size would be the number computed at this
        input, which the graph computes again at another. None for another node, a graph of one size,
        or a Resize or Pad to another map's size (a ResizeTo, a PadTo)."""
        if self.any_size and item.op_type == "Slice":
            return self._crop_here(item)
        if self.any_size and item.op_type == "AdaptiveAveragePool":
            return self._windows_here(item)
        pads = item.node.input[1] if item.op_type == "Pad" and len(item.node.input) > 1 else ""
        if self.any_size and self.sized_by.get(pads):
            return (f"its pads are computed from the shape of {', '.join(map(repr, sorted(self.sized_by[pads])))} "
                    f"({np.asarray(item.constants.get(1)).tolist()} at this input): another input gives others, and "
                    "a spec's padding is a number; export a padding of numbers, or one to the size of the map it is "
                    "concatenated with")
        sizes = item.node.input[3] if item.op_type == "Resize" and len(item.node.input) > 3 else ""
        if not (self.any_size and self.sized_by.get(sizes)):
            return None
        return (f"its sizes are computed from the shape of {', '.join(map(repr, sorted(self.sized_by[sizes])))} "
                f"({list(self.shapes[item.output][2:])} at this input): another input gives another, and a spec's "
                "size is a number; export an upsampling by scale_factor, or to size=y.shape[2:] (the map it is "
                "sized to)")

    def _crop_here(self, item: Joined) -> str:
        """Why a Slice of the spatial axes (a crop) in a graph of any size is no layer: its bounds,
        numbers or computed, are those of this input, and a spec's crop keeps this input's output
        size at every input (a slice 1:-1 of 8 is 6, of 12 is 10, where the spec's crop says 6)."""
        source, out = self.shapes[item.tensors[0]], self.shapes[item.output]
        return (f"a slice of {list(source[2:])} to {list(out[2:])} in a graph of any size: its bounds are this "
                "input's, and a spec's crop, to this size, would keep it at another input, where the graph cuts "
                "otherwise; export the model at a fixed size (without dynamic axes)")

    def _windows_here(self, item: Joined) -> str:
        """Why an AveragePool and a Gather of its windows' starts (an adaptive average pooling, as
        archcalc's module exports one) in a graph of any size is no layer: its kernel and starts are
        numbers of this input's, and at another the graph pools windows of that kernel from those
        starts where a spec's adaptive pooling spreads its windows over the map (at 28 it pools 7 wide
        from 0, 7, 14 and 21, where the graph exported at 14 pools 4 wide from 0, 3, 7 and 10)."""
        kernel = node_attributes(item.node).get("kernel_shape")
        starts = np.asarray(item.constants[2]).tolist()
        return (f"an AveragePool of kernel {kernel} and a Gather of the windows' starts {starts} in a graph of any size: "
                "an adaptive pooling at this input's size alone (at another, the graph pools windows of that kernel "
                "from those starts, and a spec's adaptive pooling spreads its windows over the map); export the model "
                "at a fixed size (without dynamic axes)")

    def _own(self, item: Joined, name: str) -> None:
        """Take the initializers `item` reads for the layer `name`; a UserError where another layer
        read one already, or it reads one twice (a batch norm of one tensor as its scale, bias, mean
        and variance): a spec's layers own their parameters (two would count them twice)."""
        for param in item.params:
            reader, first = self.owner.setdefault(param, (id(item), name))
            if reader != id(item) or item.params.count(param) > 1:
                also = f"which '{on_one_line(first)}' reads too" if reader != id(item) else "more than once"
                raise UserError(f"{_named(item.node)} ({item.node.op_type}) of {self.what} reads the initializer "
                                f"'{on_one_line(param)}', {also}: shared weights have no spec form",
                                hint="give each node its own initializer: export the model with untied weights, and "
                                     "without an optimizer that merges initializers of equal values")

    def _opaque(self, item: Joined, out: Shape) -> dict:
        """An opaque layer's fields: the operator, the inferred shapes of its output and first input
        after the batch, its parameters and buffer values (the initialisers it reads)."""
        learned = len(item.params) - BUFFERS.get(item.op_type, 0)
        sizes = [(i >= learned, math.prod(self.shapes[p])) for i, p in enumerate(item.params)]
        return {"operation": _shown(item), "shape": list(out[1:]), "reads": list(self._shape(item, item.tensors[0])[1:]),
                "params": sum(n for b, n in sizes if not b),
                "buffers": sum(n for b, n in sizes if b)}

    def _source(self, item: Joined, tensor: str) -> str:
        if tensor not in self.producer and any(tensor in known for known in (self.constants, self.initialisers)):
            raise UserError(f"{_named(item.node)} ({item.node.op_type}) of {self.what} reads '{on_one_line(tensor)}', "
                            "a constant, where a layer reads a tensor it computes: archcalc computes no "
                            f"{item.node.op_type} of constants", hint="the operators computed of constants are "
                            f"Constant, Shape, {', '.join(FOLDS)}: export the model so that its sizes need no other")
        if tensor not in self.producer:
            raise UserError(f"{_named(item.node)} ({item.node.op_type}) of {self.what} reads '{on_one_line(tensor)}', "
                            "which no node before it makes", hint="the nodes of an ONNX graph are in the order they run")
        return self.producer[tensor]

    def _empty(self, node: onnx.NodeProto, out: Shape) -> UserError:
        return UserError(f"{_named(node)} ({node.op_type}) of {self.what} makes an empty tensor, of shape {list(out)}: "
                         "archcalc's layers make tensors of sizes from 1",
                         hint="check the node's sizes, scales or ends (a Resize to a scale under 1/size, a Slice of "
                              "no element)")

    def _shape(self, item: Joined, tensor: str) -> Shape:
        if tensor not in self.shapes and item.op_type == "Pad" and 1 in item.constants and item.tensors:
            source, pads = self.shapes.get(item.tensors[0]), [int(p) for p in item.constants[1]]
            if source is not None and len(pads) == 2 * len(source):  # pads computed here, not by inference
                self.shapes[tensor] = tuple(s + a + b for s, a, b in zip(source, pads, pads[len(source):]))
        if tensor not in self.shapes:
            raise UserError(f"{_named(item.node)} ({item.node.op_type}) of {self.what}: the shape of "
                            f"'{on_one_line(tensor)}' is not known",
                            hint="ONNX's shape inference could not give it a fixed shape")
        return self.shapes[tensor]

    def _head(self, output: str) -> str:
        tensor = self._tensor(output)
        if tensor not in self.producer or self.producer[tensor] == INPUT:
            made = "is its input: no layer makes it" if self.producer.get(tensor) == INPUT else "is not made by a layer"
            raise UserError(f"the output '{on_one_line(output)}' of {self.what} {made}",
                            hint="an archcalc model's outputs are made by its layers (a model of dropouts and "
                                 "identities alone exports none): export a model that computes each of them")
        return self.producer[tensor]

    def _unsupported(self, item: Joined, reason: str | None, not_opaque: str | None = None,
                     opaque: bool = False) -> UserError:
        """The error of a node no layer writes, with why --allow-opaque does not keep it either
        (`not_opaque`); its hint offers --allow-opaque only where it keeps the node (`opaque`)."""
        node = item.node
        what = f"{_named(node)} ({_shown(item)}) of {self.what}"
        hint = kinds_hint() if opaque else no_opaque_hint("export the model with this node written as a layer kind "
                                                          "computes it")
        nor = f"; nor kept opaque: {not_opaque}" if not_opaque else ""
        if reason is None:
            return UserError(f"{what} has no layer kind in archcalc{self._layer_norm_written_out(node)}{nor}", hint=hint)
        return UserError(f"{what} cannot be written exactly: {reason}{nor}", hint=hint)

    def _not_kept_opaque(self, item: Joined, inputs: tuple, reason: Unsupported) -> str | None:
        """Why an opaque layer would not keep a node either, None where it would."""
        made = [o for o in item.node.output if o]
        if len(made) != 1:
            return f"an opaque layer makes one tensor, and this node makes {len(made)}"
        if not inputs:
            return "an opaque layer reads a tensor of the model, and this node reads none"
        if isinstance(reason, ConstantWeight):
            return ("an opaque layer's parameters are the initializers it reads, and it would count none of the "
                    "Constant's values")
        out, read = self.shapes.get(item.output), self.shapes.get(item.tensors[0])
        if out is not None and read is not None and (out[:1] != (self.batch,) or read[:1] != (self.batch,)):
            return (f"an opaque layer keeps the batch ({self.batch}) first, and this one reads {list(read)} and "
                    f"makes {list(out)}")
        return None

    def _layer_norm_written_out(self, node: onnx.NodeProto) -> str:
        """'; torch writes nn.LayerNorm so before opset 17: …' for the Sub of a map and its ReduceMean
        over the last axis (x - x.mean(-1, keepdim=True)) before opset 17, '' otherwise: over the last
        axis of an (N, C, L) map that ReduceMean is a mean of every spatial axis, which imports, so the
        Sub is the first node of torch's nn.LayerNorm refused."""
        if node.op_type != "Sub" or self.opset >= 17 or len(node.input) != 2:
            return ""
        mean = self.made_by.get(node.input[1])
        if mean is None or mean.op_type != "ReduceMean" or self._tensor(mean.input[0]) != self._tensor(node.input[0]):
            return ""
        rank = len(self.shapes.get(node.input[0], ()))
        axes = node_attributes(mean).get("axes") or []
        return f"; {LAYER_NORM_BEFORE_17}" if rank and [a % rank for a in axes] == [rank - 1] else ""


def _shown(item: Joined) -> str:
    """The operator a message or an opaque layer names: the node's own (`Mul`, not `LayerScale`, the
    name the joiner gives a Mul by a parameter), a joined pattern's name (`SiLU`)."""
    return item.node.op_type if item.op_type in (item.node.op_type, *RENAMED) else item.op_type


INTEGER_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32}

STANDARD = ("", "ai.onnx")
"""The domains of ONNX's own operators, which the rules are written for."""


def _branch(node: onnx.NodeProto, condition: bool) -> list[onnx.NodeProto]:
    """The nodes of the branch an If takes on a condition computed here (torch's exporter writes
    `if x.size(1) == 1: squeeze` so), its outputs passed on as the If's by Identity nodes."""
    graph = next(a.g for a in node.attribute if a.name == ("then_branch" if condition else "else_branch"))
    return [*graph.node, *(onnx.helper.make_node("Identity", [inner.name], [outer], name=f"{node.name}/{outer}")
                           for inner, outer in zip(graph.output, node.output))]


def _outputs_apart(node: onnx.NodeProto) -> list[onnx.NodeProto]:
    """A Split node as one node per output, each with the attributes `parts` (the outputs) and
    `take` (its own): a layer is one tensor."""
    apart = []
    for take, output in enumerate(node.output):
        copy = onnx.NodeProto()
        copy.CopyFrom(node)
        del copy.output[:]
        copy.output.append(output)
        copy.attribute.extend([onnx.helper.make_attribute("parts", len(node.output)),
                               onnx.helper.make_attribute("take", take)])
        apart.append(copy)
    return apart


def node_attributes(node: onnx.NodeProto) -> dict[str, Any]:
    values = {}
    for attribute in node.attribute:
        value = onnx.helper.get_attribute_value(attribute)
        values[attribute.name] = value.decode() if isinstance(value, bytes) else value
    return values


def _constant_value(node: onnx.NodeProto) -> np.ndarray:
    attribute = node.attribute[0]
    value = onnx.helper.get_attribute_value(attribute)
    if isinstance(value, onnx.TensorProto):
        return numpy_helper.to_array(value)
    return np.array(value)


def _slice(attributes: dict, data: np.ndarray, starts: Any, ends: Any, axes: Any = None, steps: Any = None) -> np.ndarray:
    axes = list(range(len(starts))) if axes is None else list(axes)
    steps = [1] * len(starts) if steps is None else list(steps)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps):
        index[axis] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def _unsqueeze(attributes: dict, data: np.ndarray, axes: Any = None) -> np.ndarray:
    axes = list(attributes.get("axes", []) if axes is None else axes)
    rank = data.ndim + len(axes)
    return np.expand_dims(data, tuple(int(a) % rank for a in axes))


def _squeeze(attributes: dict, data: np.ndarray, axes: Any = None) -> np.ndarray:
    axes = attributes.get("axes") if axes is None else list(axes)
    return np.squeeze(data, tuple(int(a) for a in axes) if axes is not None else None)


def _constant_of_shape(attributes: dict, shape: np.ndarray) -> np.ndarray:
    if math.prod(int(s) for s in shape) > FOLDED_SIZE:
        raise ValueError("too large")
    fill = attributes.get("value")
    value = numpy_helper.to_array(fill).reshape(-1)[0] if fill is not None else np.float32(0)
    return np.full([int(s) for s in shape], value)


def _divide(attributes: dict, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a // b if np.issubdtype(a.dtype, np.integer) else a / b


FOLDS: dict[str, Any] = {
    "Gather": lambda at, data, index: np.take(data, index, axis=at.get("axis", 0)),
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze,
    "Concat": lambda at, *values: np.concatenate([np.atleast_1d(v) for v in values], axis=at.get("axis", 0)),
    "Slice": _slice,
    "Cast": lambda at, data: data.astype(onnx.helper.tensor_dtype_to_np_dtype(at["to"])),
    "Add": lambda at, a, b: a + b, "Sub": lambda at, a, b: a - b, "Mul": lambda at, a, b: a * b,
    "Div": _divide, "Equal": lambda at, a, b: np.equal(a, b),
    "Reshape": lambda at, data, shape: data.reshape([int(s) for s in shape]),
    "Transpose": lambda at, data: np.transpose(data, at.get("perm")),
    "ConstantOfShape": _constant_of_shape,
}
"""Shape arithmetic computed here when every input is a known constant."""


# --- several nodes that are one layer -------------------------------------------------------------

class Joined:
    """A layer's node (the last of those it is made of), its operator as a rule knows it, the
    tensors it reads, its parameters and constant inputs, and every node it is made of."""

    def __init__(self, node: onnx.NodeProto, op_type: str, tensors: list[str], params: list[str],
                 constants: dict[int, np.ndarray], nodes: list[onnx.NodeProto]) -> None:
        self.node, self.op_type, self.tensors, self.params, self.constants = node, op_type, tensors, params, constants
        self.nodes = nodes
        self.output = node.output[0]


class _Joiner:
    def __init__(self, reader: _Reader) -> None:
        self.reader = reader
        self.absorbed: set[int] = set()
        self.biases: set[int] = set()  # the Adds of a bias joined into the Conv before them

    def join(self, nodes: list[onnx.NodeProto]) -> list[Joined]:
        by_output = {output: node for node in nodes for output in node.output}
        self.by_output = by_output
        self.position = {output: index for index, node in enumerate(nodes) for output in node.output}
        joined = []
        for node in nodes:
            item = self._join(node)
            if item is not None:
                joined.append(item)
        return [item for item in joined if id(item.nodes[-1]) not in self.absorbed]  # item.node may be a copy

    def _only_reader(self, tensor: str) -> onnx.NodeProto | None:
        readers = self.reader.consumers.get(tensor, [])
        outputs = {o.name for o in self.reader.graph.output}
        return readers[0] if len(readers) == 1 and tensor not in outputs else None

    def _made_by(self, tensor: str, op_type: str) -> onnx.NodeProto | None:
        node = self.by_output.get(tensor)
        return node if node is not None and node.op_type == op_type else None

    def _join(self, node: onnx.NodeProto) -> Joined | None:
        reader = self.reader
        params = [reader.param_of[name] for name in node.input if name in reader.param_of]
        constants = {i: reader.constants[name] for i, name in enumerate(node.input) if name in reader.constants}
        tensors = [reader._tensor(name) for name in node.input
                   if name and name not in reader.param_of and name not in reader.constants]
        op_type, nodes = node.op_type, [node]
        if node.op_type == "Mul" and len(tensors) == 2:
            silu = self._silu(node, tensors)
            if silu is not None:
                return silu
        if node.op_type == "Mul" and len(tensors) == 1 and len(params) == 1:
            op_type = "LayerScale"
        if node.op_type == "Transpose":
            return self._channel_layer_norm(node) or Joined(node, op_type, tensors, params, constants, nodes)
        if node.op_type == "MatMul":
            return self._linear(node, tensors, params)
        if node.op_type in ("Conv", "ConvTranspose") and len(params) == 1 and len(tensors) == 1:
            return self._bias_added(node, tensors, params) or Joined(node, op_type, tensors, params, constants, nodes)
        if node.op_type == "Slice":
            return self._crop(node, tensors, constants)
        if node.op_type == "Reshape":
            return self._channel_shuffle(node) or Joined(node, op_type, tensors, params, constants, nodes)
        if node.op_type == "Resize" and len(tensors) == 1:
            return self._resize_to(node, tensors) or Joined(node, op_type, tensors, params, constants, nodes)
        if node.op_type == "Pad" and len(tensors) == 1:
            return self._pad_to(node, tensors, constants) or Joined(node, op_type, tensors, params, constants, nodes)
        if node.op_type == "Div" and len(tensors) == 2:
            return self._lrn(node, tensors) or Joined(node, op_type, tensors, params, constants, nodes)
        if node.op_type == "Gather" and len(tensors) == 1:
            return self._adaptive_average(node) or Joined(node, op_type, tensors, params, constants, nodes)
        if node.op_type == "Add" and (self._is_linear_bias(node) or id(node) in self.biases):
            return None
        return Joined(node, op_type, tensors, params, constants, nodes)

    def _silu(self, node: onnx.NodeProto, tensors: list[str]) -> Joined | None:
        for this, other in (tensors, tensors[::-1]):
            sigmoid = self._made_by(this, "Sigmoid")
            if sigmoid is not None and self.reader._tensor(sigmoid.input[0]) == other and self._only_reader(this) is node:
                self.absorbed.add(id(sigmoid))
                return Joined(node, "SiLU", [other], [], {}, [sigmoid, node])
        return None

    def _channel_layer_norm(self, last: onnx.NodeProto) -> Joined | None:
        norm = self._made_by(last.input[0], "LayerNormalization")
        first = self._made_by(norm.input[0], "Transpose") if norm is not None else None
        if first is None or self._only_reader(first.output[0]) is not norm or self._only_reader(norm.output[0]) is not last:
            return None
        rank = len(node_attributes(first).get("perm", []))
        if rank < 3 or node_attributes(first)["perm"] != [0, *range(2, rank), 1] or \
                node_attributes(last).get("perm") != [0, rank - 1, *range(1, rank - 1)]:
            return None
        reader = self.reader
        if any(name and name not in reader.param_of and name not in reader.constants for name in norm.input[1:]):
            return None  # a scale or bias made in the graph: the LayerNormalization's own rule says so
        self.absorbed.update({id(first), id(norm)})
        params = [reader.param_of[name] for name in norm.input if name in reader.param_of]
        constants = {i: reader.constants[name] for i, name in enumerate(norm.input) if i and name in reader.constants}
        joined = Joined(last, "ChannelLayerNorm", [reader._tensor(first.input[0])], params, constants, [first, norm, last])
        joined.node = _with_attributes(last, norm)
        return joined

    def _channel_shuffle(self, last: onnx.NodeProto) -> Joined | None:
        """Reshape to (N, groups, C / groups, …), Transpose of the two, Reshape back: a channel
        shuffle (torch's exporter writes archcalc's so). The rule checks the shapes; the middle
        shape is given as constant 1."""
        transpose = self._made_by(last.input[0], "Transpose")
        first = self._made_by(transpose.input[0], "Reshape") if transpose is not None else None
        if first is None or self._only_reader(first.output[0]) is not transpose \
                or self._only_reader(transpose.output[0]) is not last:
            return None
        middle = self.reader.shapes.get(first.output[0])
        rank = len(middle or ())
        if rank < 4 or node_attributes(transpose).get("perm") != [0, 2, 1, *range(3, rank)]:
            return None
        self.absorbed.update({id(first), id(transpose)})
        return Joined(last, "ChannelShuffle", [self.reader._tensor(first.input[0])], [],
                      {1: np.array(middle)}, [first, transpose, last])

    def _adaptive_average(self, last: onnx.NodeProto) -> Joined | None:
        """An AveragePool, then a Gather of constant indices along spatial axes: an adaptive average
        pooling whose windows are of one size (archcalc's export of one the exporter refuses, such as
        GoogLeNet's 14 → 4). The rule checks the indices and the kernel; the axes are given as
        constant 1, the indices of each as constants 2 on, the pool's attributes as the node's."""
        gathers, node = [], last
        while node is not None and node.op_type == "Gather":
            gathers.insert(0, node)
            if self._only_reader(node.input[0]) is not node:
                return None
            node = self.by_output.get(node.input[0])
        indices = [self.reader.constants.get(gather.input[1]) for gather in gathers]
        if node is None or node.op_type != "AveragePool" or any(index is None for index in indices):
            return None
        self.absorbed.update(id(n) for n in [node, *gathers[:-1]])
        axes = np.array([node_attributes(gather).get("axis", 0) for gather in gathers])
        joined = Joined(last, "AdaptiveAveragePool", [self.reader._tensor(node.input[0])], [],
                        {1: axes, **{2 + j: np.asarray(index) for j, index in enumerate(indices)}}, [node, *gathers])
        joined.node = _with_attributes(last, node)
        return joined

    def _lrn(self, last: onnx.NodeProto, tensors: list[str]) -> Joined | None:
        """torch's local response norm (F.local_response_norm of a map), x / (k + α·avg(x²))^β:
        Mul(x, x), Reshape to (N, 1, C, …), Pad the channels, AveragePool over them, Squeeze,
        Reshape back, Mul α, Add k, Pow β, Div of x by it. The rule checks the sizes; the pads,
        the pool's attributes, α, k and β are given as constants 1 to 5."""
        chain, tensor = [], tensors[1]
        for op_type in ("Pow", "Add", "Mul", "Reshape", "Squeeze", "AveragePool", "Pad", "Reshape", "Mul"):
            node = self._made_by(tensor, op_type)
            reader = self._only_reader(node.output[0]) if node is not None else None
            while reader is not None and reader.op_type == "Identity":  # an If's branch, passed on
                reader = self._only_reader(reader.output[0])
            if reader is None or reader not in (last, *chain[-1:]):
                return None
            chain.append(node)
            tensor = self.reader._tensor(node.input[0])
        square = chain[-1]
        if [self.reader._tensor(name) for name in square.input] != [tensors[0]] * 2:
            return None
        constants = self.reader.constants
        values = [constants.get(chain[i].input[1]) for i in (0, 1, 2)]
        pads = constants.get(chain[6].input[1]) if len(chain[6].input) > 1 else None
        if any(v is None or np.size(v) != 1 for v in values) or pads is None:
            return None
        pool = node_attributes(chain[5])
        beta, k, alpha = (float(np.asarray(v).reshape(-1)[0]) for v in values)
        self.absorbed.update(id(n) for n in chain)
        shape = self.reader.shapes.get(chain[6].output[0])
        return Joined(last, "LocalResponseNorm", [tensors[0]], [], {
            1: np.asarray(pads), 2: np.array([*pool.get("kernel_shape", []), *pool.get("strides", []),
                                              pool.get("count_include_pad", 0), *pool.get("pads", [])]),
            3: np.array([alpha, k, beta]), 4: np.array(shape or [])}, [*chain[::-1], last])

    def _pad_to(self, node: onnx.NodeProto, tensors: list[str], constants: dict[int, np.ndarray]) -> Joined | None:
        """A Pad whose pads differ before and after, or in a graph of any size are computed from shapes:
        a pad to the size of a map of the padded size made before it (U-Net ports pad the upsampled map
        to the skip's), the map whose Shape its pads are computed from, else (the exporter wrote the
        sizes as constants) one a Concat joins it with. The rule checks that the pads are those of a
        pad to that size."""
        source, pads = self.reader.shapes.get(tensors[0]), constants.get(1)
        if source is None or pads is None or len(pads) != 2 * len(source):
            return None
        half = len(source)
        computed = self.reader.any_size and self.reader.sized_by.get(node.input[1])  # at another input, others
        if list(pads[:half]) == list(pads[half:]) and not computed:
            return None
        out = tuple(int(s + a + b) for s, a, b in zip(source, pads[:half], pads[half:]))
        joined = [self.reader._tensor(t) for reader in self.reader.consumers.get(node.output[0], [])
                  if reader.op_type == "Concat" for t in reader.input]
        here = self.position[node.output[0]]
        references = [t for t in [*sorted(self.reader.sized_by.get(node.input[1], ())), *joined]
                      if t != tensors[0] and self.position.get(t, -1) < here
                      and len(self.reader.shapes.get(t, ())) == half and self.reader.shapes[t][2:] == out[2:]]
        if not references:
            return None
        return Joined(node, "PadTo", [tensors[0], self.reader._tensor(references[0])], [], constants, [node])

    def _resize_to(self, node: onnx.NodeProto, tensors: list[str]) -> Joined | None:
        """A Resize whose sizes are computed from the Shape of a map before it of the size it makes
        (torch's `F.interpolate(x, size=y.shape[2:])`, whose batch and channels it takes from x's),
        joined with that map: archcalc's upsampling to a second input's size."""
        sizes, out = node.input[3] if len(node.input) > 3 else "", self.reader.shapes.get(node.output[0])
        if not sizes or out is None:
            return None
        here = self.position[node.output[0]]
        references = [t for t in sorted(self.reader.sized_by.get(sizes, ())) if t != tensors[0]
                      and self.position.get(t, -1) < here and len(self.reader.shapes.get(t, ())) == len(out)
                      and self.reader.shapes[t][2:] == out[2:]]
        if len(references) != 1:
            return None
        constants = {i: self.reader.constants[name] for i, name in enumerate(node.input) if name in self.reader.constants}
        return Joined(node, "ResizeTo", [tensors[0], self.reader._tensor(references[0])], [], constants, [node])

    def _linear(self, node: onnx.NodeProto, tensors: list[str], params: list[str]) -> Joined:
        """MatMul(x, W) or MatMul(x, Transpose(W)) with W a parameter, and the Add of a bias after it."""
        reader = self.reader
        nodes = [node]
        if node.input and node.input[0] in reader.param_of:
            return Joined(node, "MatMulByLeft", tensors, params, {}, nodes)
        if len(tensors) == 2 and not params:
            transpose = self._made_by(tensors[1], "Transpose")
            if transpose is not None and transpose.input[0] in reader.param_of and self._only_reader(tensors[1]) is node:
                self.absorbed.add(id(transpose))
                params, tensors, nodes = [reader.param_of[transpose.input[0]]], tensors[:1], [transpose, node]
        bias = self._only_reader(node.output[0])
        if params and bias is not None and bias.op_type == "Add" and any(n in reader.param_of for n in bias.input):
            params = params + [reader.param_of[n] for n in bias.input if n in reader.param_of]
            joined = Joined(bias, "MatMul", tensors, params, {}, [*nodes, bias])
            joined.node = _with_attributes(bias, node)
            return joined
        return Joined(node, "MatMul", tensors, params, {}, nodes)

    def _bias_added(self, node: onnx.NodeProto, tensors: list[str], params: list[str]) -> Joined | None:
        """A Conv or ConvTranspose without a bias and the Add of a parameter that only it reads, to
        its output that only the Add reads (torch's `self.conv(x) + self.bias`): one convolution
        whose bias is that parameter, of one value an output channel (named and checked as the Conv)."""
        add = self._only_reader(node.output[0])
        if add is None or add.op_type != "Add" or len(add.input) != 2:
            return None
        other = add.input[1] if add.input[0] == node.output[0] else add.input[0]
        if other not in self.reader.param_of or len(self.reader.consumers.get(other, [])) != 1:
            return None
        out = self.reader.shapes.get(node.output[0])
        channel = (out[1],) + (1,) * (len(out) - 2) if out is not None and len(out) > 1 else None
        if channel is None or tuple(self.reader.shapes.get(self.reader.param_of[other], ())) not in (channel, (1, *channel)):
            return None  # no bias: the Add is refused (or kept opaque) on its own
        self.biases.add(id(add))
        joined = Joined(add, f"{node.op_type}BiasAdded", tensors, [*params, self.reader.param_of[other]], {}, [node, add])
        copy = onnx.NodeProto()
        copy.CopyFrom(node)  # the Conv's name and attributes, the Add's output
        del copy.output[:]
        copy.output.extend(add.output)
        joined.node = copy
        return joined

    def _crop(self, node: onnx.NodeProto, tensors: list[str], constants: dict[int, np.ndarray]) -> Joined:
        """A Slice, with the Slices before it that only it reads (torch writes one per axis): their
        starts and axes joined (the steps kept, for the rule to check)."""
        nodes, starts, axes, steps = [node], [], [], []
        current = node
        while True:
            values = {i: self.reader.constants.get(name) for i, name in enumerate(current.input)}
            if values.get(1) is None or values.get(2) is None:
                break
            count = len(values[1])
            starts += list(values[1])
            axes += list(values[3]) if values.get(3) is not None else list(range(count))
            steps += list(values[4]) if values.get(4) is not None else [1] * count
            before = self._made_by(current.input[0], "Slice")
            if before is None or self._only_reader(current.input[0]) is not current:
                break
            self.absorbed.add(id(before))
            nodes.insert(0, before)
            current = before
        if len(nodes) == 1:
            axes = constants.get(3)
            channels = axes is not None and len(tensors) == 1 and [int(a) % len(self.reader.shapes.get(tensors[0], "..")) for a in axes] == [1]
            if channels:
                return Joined(node, "ChannelSlice", tensors, [], constants, nodes)
            return self._crop_to(Joined(node, "Slice", tensors, [], constants, nodes))
        joined = {1: np.array(starts), 3: np.array(axes), 4: np.array(steps)}
        return self._crop_to(Joined(node, "Slice", [self.reader._tensor(current.input[0])], [], joined, nodes))

    def _crop_to(self, crop: Joined) -> Joined:
        """In a graph of any size, a crop whose bounds are computed from the Shape of a map before it of
        the size it makes (U-Net's crop of the skip to the upsampled map's size): archcalc's crop to a
        second input's size (a CropTo, whose rule checks that it is centred); else the crop as it is."""
        reader, out = self.reader, self.reader.shapes.get(crop.output)
        if not reader.any_size or out is None or not crop.tensors:
            return crop
        bounds = {t for n in crop.nodes for name in n.input[1:3] for t in reader.sized_by.get(name, ())}
        here = self.position[crop.output]
        references = [t for t in sorted(bounds) if t != crop.tensors[0] and self.position.get(t, -1) < here
                      and len(reader.shapes.get(t, ())) == len(out) and reader.shapes[t][2:] == out[2:]]
        if not references:
            return crop
        return Joined(crop.node, "CropTo", [crop.tensors[0], reader._tensor(references[0])], [], crop.constants,
                      crop.nodes)

    def _is_linear_bias(self, node: onnx.NodeProto) -> bool:
        return any(self._made_by(name, "MatMul") is not None and self._only_reader(name) is node
                   and any(n in self.reader.param_of for n in node.input) for name in node.input)


def _with_attributes(node: onnx.NodeProto, source: onnx.NodeProto) -> onnx.NodeProto:
    """`node` (its name and output) with the attributes of `source`."""
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    del copy.attribute[:]
    copy.attribute.extend(source.attribute)
    return copy


# --- names ----------------------------------------------------------------------------------------

PART = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[0-9]+")


class _Namer:
    """The layers' dotted names: their parameters' owner, the module path of their node's name, or
    their operator."""

    def __init__(self, reader: _Reader, joined: list[Joined]) -> None:
        self.reader, self.joined = reader, joined
        self.taken: set[str] = set()
        self.result: dict[int, str] = {}
        self.numbered: dict[str, int] = {}
        """Per base name, a number below which every `base_N` is taken: where `_free` starts (a
        chain of 10,000 ReLUs counted up from 1 for each, 7 s)."""

    def names(self) -> dict[int, str]:
        owners = {id(item): _owner(item.params, item.op_type) for item in self.joined}
        self.taken = {owner for owner in owners.values() if owner}
        scopes = {id(item): _scope(item.node.name) for item in self.joined}
        self.groups = {".".join(path[:i]) for path in [*(o.split(".") for o in self.taken), *filter(None, scopes.values())]
                       for i in range(1, len(path))}
        modules = {id(item): _module(owners[id(item)], item.params) for item in self.joined}
        flat = any(modules[key] and "." in owners[key] and scopes[key] is not None and scopes[key] != modules[key].split(".")
                   for key in owners)  # module paths lost: layers called from one forward
        per_scope: dict[tuple, int] = {}
        for scope in scopes.values():
            if scope:
                per_scope[tuple(scope)] = per_scope.get(tuple(scope), 0) + 1
        deeper = {tuple(s[:i]) for s in scopes.values() if s for i in range(1, len(s))}
        made: dict[str, str] = {}         # a tensor → the name of the layer that makes it
        group_input: dict[str, str] = {}  # a group → what its first layer reads
        previous = ""
        placed: list[list] = []       # [item, name, whether it was placed by what it reads]
        owned: set[str] = set()       # the owners named so far: two layers reading one module's initializers
        seconds: list[int] = []       # the places of the layers of an owner named already
        for item in self.joined:
            owner, scope = owners[id(item)], scopes[id(item)]
            guessed = False
            if owner:
                if owner in owned:
                    seconds.append(len(placed))
                name = self._free(owner) if owner in owned else owner
                owned.add(owner)
            elif flat and scope:
                group = _group(previous, [made.get(t, INPUT) for t in item.tensors], group_input)
                name = self._free(f"{group}.{_strip_number(scope[-1])}" if group else _strip_number(scope[-1]),
                                  f"{group}.{scope[-1]}" if group else scope[-1])
                guessed = True
            elif scope is not None and scope and per_scope[tuple(scope)] == 1 and tuple(scope) not in deeper:
                name = self._free(".".join(scope))  # a module that is one node: its path
            else:
                name = self._free(".".join([*(scope or []), self._base(item)]))
            self.taken.add(name)
            placed.append([item, name, guessed])
            made[item.output] = name
            previous = name.rpartition(".")[0]
            first = made.get(item.tensors[0], INPUT) if item.tensors else INPUT
            for depth in range(1, name.count(".") + 1):
                group_input.setdefault(".".join(name.split(".")[:depth]), first)
        if flat:
            self._lift(placed)
        else:
            self._inside_their_module(placed, [(at, owners[id(placed[at][0])]) for at in seconds])
        return {id(item): name for item, name, _ in placed}

    def _inside_their_module(self, placed: list[list], seconds: list[tuple[int, str]]) -> None:
        """A second layer of a module's parameters (`norm_1`, a LayerNorm's bias Add before opset 17)
        named inside the module where other layers are named inside it (`norm.add_1`): names_apart
        puts the first there too (`norm.mul`), and a spec's group is one stretch of layers. Where none
        is (two Convs of 'm.weight' and 'm.bias'), the first keeps the module's name, its key."""
        modules = {name.rpartition(".")[0] for _, name, _ in placed}
        for at, owner in seconds:
            if owner not in modules:
                continue
            self.taken.discard(placed[at][1])
            self.numbered.clear()  # a name let go: numbers below may be free again
            placed[at][1] = self._free(f"{owner}.{self._base(placed[at][0])}")
            self.taken.add(placed[at][1])

    @staticmethod
    def _base(item: Joined) -> str:
        """The name of a layer by its operator (`relu`, `add`)."""
        return _operation(item.op_type if item.op_type in RULES else item.node.op_type)

    def _lift(self, placed: list[list]) -> None:
        """A guessed layer at the end of its group that no other group as deep holds (a classifier's
        pooling after the last block) goes to the group around it, as often as that holds."""
        changed = True
        while changed:
            changed = False
            held = {(name.rpartition(".")[0], name.rpartition(".")[2]) for _, name, _ in placed}
            for index in reversed(range(len(placed))):
                _, name, guessed = placed[index]
                group, _, base = name.rpartition(".")
                after = placed[index + 1][1] if index + 1 < len(placed) else ""
                if not guessed or not group or after.startswith(group + "."):
                    continue
                depth = group.count(".")
                if any(g != group and g.count(".") == depth and b == base for g, b in held):
                    continue
                outer = group.rpartition(".")[0]
                self.taken.discard(name)
                self.numbered.clear()  # a name let go: numbers below may be free again
                placed[index][1] = self._free(f"{outer}.{base}" if outer else base)
                self.taken.add(placed[index][1])
                changed = True
                break

    def _free(self, name: str, fallback: str | None = None) -> str:
        """`name` where no layer or group has it, else the first free `base_N` (base: `fallback`
        or `name`); the caller takes it."""
        if name not in self.taken and name not in self.groups:
            return name
        base = fallback or name
        number = self.numbered.get(base, 0)
        candidate = f"{base}_{number}" if number else base
        while candidate in self.taken or candidate in self.groups:
            number += 1
            candidate = f"{base}_{number}"
        self.numbered[base] = number + 1  # this one is about to be taken
        return candidate


def _owner(params: list[str], op_type: str = "") -> str | None:
    """`layer1.0.conv1` of parameters `layer1.0.conv1.weight` and `.bias`, if they name one module;
    a layer scale's parameter of another name than `weight` (`self.gamma` of a block: `block.gamma`)
    names the layer itself, whose key is then that name and `.weight` (a spec's layer_scale holds
    its parameter as `weight`: no spec keeps the key `block.gamma`); a convolution whose bias was
    added after it is named by its weight."""
    if op_type == "LayerScale" and len(params) == 1 and params[0].rpartition(".")[2] != "weight":
        return params[0] if all(PART.fullmatch(p) and p != INPUT for p in params[0].split(".")) else None
    owners = {name.rpartition(".")[0] for name in (params[:1] if op_type.endswith("BiasAdded") else params)}
    if len(owners) != 1:
        return None
    owner = owners.pop()
    return owner if owner and all(PART.fullmatch(p) and p != INPUT for p in owner.split(".")) else None


def _module(owner: str | None, params: list[str]) -> str | None:
    """The module whose node reads the parameters of a layer of that owner: the owner, or the one
    that holds a layer scale's parameter named by itself (`block` of `block.gamma`)."""
    return owner.rpartition(".")[0] if owner and owner in params else owner


def _scope(node_name: str) -> list[str] | None:
    """The module path in a node name of torch's exporter (`/layer1/layer1.0/conv1/Conv` →
    ['layer1', '0', 'conv1'] as parts of `layer1.0.conv1`), or None."""
    if not node_name.startswith("/"):
        return None
    parts = node_name.split("/")[1:-1]
    path: list[str] = []
    for part in parts:
        atoms = part.split(".")
        if not all(PART.fullmatch(a) for a in atoms):
            return None
        if len(atoms) > 1 and path and path[-1] == atoms[0]:
            atoms = atoms[1:]  # `layer1.0` under `layer1`: torch names a numbered module with its parent
        path += atoms
    return [p for p in path if p != INPUT] if path else []


def _group(previous: str, sources: list[str], group_input: dict[str, str]) -> str:
    """The deepest group still open after `previous`'s group from which a layer reads only its own
    layers and the group's input: a merge of two branches is their parent's, a block's last add
    its block's."""
    parts = previous.split(".") if previous else []
    for depth in range(len(parts), 0, -1):
        group = ".".join(parts[:depth])
        if all(s.startswith(group + ".") or s == group_input.get(group) for s in sources):
            return group
    return ""


def _strip_number(part: str) -> str:
    """`relu3` of `relu3_15`: torch's exporter numbers modules of one name in one scope."""
    return re.sub(r"_[0-9]+$", "", part) or part


OPERATION_NAMES = {"SiLU": "silu", "ChannelLayerNorm": "norm", "MatMul": "linear", "Gemm": "linear"}


def _operation(op_type: str) -> str:
    """A layer name of an operator: `Add` → `add`, `GlobalAveragePool` → `global_average_pool`."""
    if op_type in OPERATION_NAMES:
        return OPERATION_NAMES[op_type]
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", op_type).lower()
    name = re.sub(r"[^a-z0-9_]", "_", name).strip("_")
    return name if name[:1].isalpha() else f"op_{name}"


def _named(node) -> str:
    """A node as a message names it: by its name, or, where it has none (ONNX names are optional),
    by the first tensor it writes, which every node that matters has."""
    if node.name:
        return f"node '{on_one_line(node.name)}'"
    written = next((output for output in node.output if output), None)
    return f"the node that writes '{on_one_line(written)}'" if written else "a node without a name or an output"


def _labels(names: list[str]) -> dict[str, str]:
    """Each group's block name: its own name, or for a numbered group (`layer1.0`) its parent's
    without the number (`layer`), so that the blocks of every stage are one family."""
    labels = {}
    for name in names:
        parts = name.split(".")[:-1]
        for depth in range(1, len(parts) + 1):
            part = parts[depth - 1]
            if part.isdigit():
                part = re.sub(r"_?[0-9]+$", "", parts[depth - 2]) if depth > 1 else ""
            labels[".".join(parts[:depth])] = part or "block"
    return labels
