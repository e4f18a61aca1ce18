"""Measurements of the bundled models by torch's own tools (MemTracker, FlopCounterMode, fvcore,
autograd), kept in tests/reference/measured/ so that a run compares archcalc's figures of every
bundled model with them without measuring each anew (about 15 of the suite's CPU-minutes).

A kept measurement is read only while its key holds: the sha256 of the torch model the tool
runs, what the measurement was asked (input, batches, optimizers, dtype), the code of
archcalc/torchmodel (which builds the model, and the modules' forward code), of the measuring
function and of the archcalc modules it calls (their syntax trees: a docstring or a comment
reworded keeps the key), and the versions of torch and fvcore. The model is
either the built one (every module's class and attributes, every parameter's and buffer's name,
shape, dtype and gradient flag, the order the model calls its layers in and drops their outputs:
`fingerprint`) or, where it is built only for the key, how archcalc/torchmodel builds it
(`Recipe`: each layer's torch module and the arguments it is made with, what it reads, the
blocks' labels and the outputs), which with those sources and torch's version is all the built
model depends on. Any change to what the tool would measure makes the key differ, and the test measures afresh
(correct, only slower; the run's summary says how many) until `python tests/measured.py` keeps
the new measurements. In a run with the slow tier, a few small models (SPOT_CHECKED) are measured
afresh too and, where their kept measurement's key holds, compared with it: a kept figure is the
tool's own. The fast tier alone reads theirs as it reads every other model's.

    python tests/measured.py          # measure what no longer holds, and keep it
    python tests/measured.py --afresh # measure every bundled model anew (about 17 CPU-minutes)
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import hashlib
import inspect
import json
import os
import subprocess
import sys
import textwrap
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from archcalc.graph import Graph

ROOT = Path(__file__).resolve().parent.parent
RECORDS = ROOT / "tests" / "reference" / "measured"
MODE = os.environ.get("ARCHCALC_MEASURE", "")
"""'' reads the kept measurements whose key holds; 'record' keeps every fresh measurement;
'afresh' measures every model anew and keeps it."""
TESTS = [  # the tests that read kept measurements
    "tests/test_memory.py::test_every_bundled_model_peaks_as_memtracker_measures",
    "tests/test_training_memory.py::test_every_bundled_model_trains_as_memtracker_measures",
    "tests/test_training_flops.py::test_every_bundled_models_training_step_is_flop_counter_modes_layer_by_layer",
    "tests/test_receptive_field.py::test_bundled_fields_match_the_gradient_of_the_built_model",
    "tests/test_validate.py::test_every_bundled_model_validates_on_the_cpu_under_both_counters",
    "tests/test_bad_input.py::test_resnet_1001_validates_against_its_built_model",
    "tests/test_memory.py::test_every_tensor_of_a_training_step_rounded_gives_memtrackers_rounded_peak",
]
AFRESH: list[str] = []
"""The models measured in this run because their kept measurement's key no longer held."""
SPOT_CHECK = True
"""Whether the SPOT_CHECKED models are measured afresh and held to their kept measurement: in a run
that includes the slow tier (tests/conftest.py turns it off for the fast tier alone)."""
SPOT_CHECKED = {"lenet5", "lenet5_pytorch", "context_basic", "alexnet_paper", "squeezenet1_1", "resnet18"}
"""The models the spot check measures afresh: small ones with every kind of merge, pooling and
normalisation among them (concatenation, residual sums, batch norm, local response norm, grouped
convolutions), each measured in about 3 CPU-seconds at most over the five tiers. ResNet-18 stands
for ResNet-50 (3 against 7 CPU-seconds); MobileNet v2, whose many small layers make MemTracker's
training step slow (7 CPU-seconds), has no smaller stand-in and is read from its record."""


class Recipe(NamedTuple):
    """How `build_graph(graph, input_shape, batch, device="meta")` builds a model, for a key
    without building it."""

    graph: Graph
    input_shape: tuple[int, ...] | None = None
    batch: int = 1

    def described(self) -> list:
        """Each layer's name, the names it reads, its torch module and the arguments build_graph
        makes it with (from the analysis's shapes, as build_graph takes them); each block's label;
        the model's outputs."""
        from archcalc.analysis import analyze_graph

        shapes = analyze_graph(self.graph, self.input_shape, self.batch).shapes
        layers = [[node.name, list(node.inputs), node.kind.torch_module,
                   _described(node.kind.torch_arguments(node.attrs, [shapes[name] for name in node.inputs]), {})]
                  for node in self.graph.nodes]
        labels = [[name, scope.label] for name, scope in self.graph.scopes.items()]
        return [layers, labels, list(self.graph.heads)]


def kept(tier: str, entry, model, asked: Any, sources: list[str | Callable], measure: Callable[[], Any]) -> Any:
    """`measure()` of the bundled `entry` (as JSON reads it back; its name is the bundled model's,
    and what follows a space tells apart a model's records in one tier), or its kept measurement where
    the key of `model` (the torch module the tool runs, or how it is built, a `Recipe`; or a list
    of them), `asked`, `measure`'s source and the measuring `sources` (paths under the
    repository, or functions) holds."""
    records = _records(tier)
    key = _key(model, asked, sources, inspect.getsource(measure))
    record = records.get(entry.name)
    holds = record is not None and record["key"] == key
    spot_check = SPOT_CHECK and entry.name.split()[0] in SPOT_CHECKED  # a record's model: its name to a space
    if holds and MODE != "afresh" and not spot_check:
        return record["value"]
    value = json.loads(json.dumps(measure()))
    if holds and spot_check:
        assert record["value"] == value, f"{tier}: {entry.name}'s kept measurement is not the tool's, " \
                                         "though its key holds: the key misses what changed"
    if MODE in ("record", "afresh"):
        records[entry.name] = {"key": key, "value": value}
        _write(tier, records)
    elif not spot_check:
        AFRESH.append(f"{tier}: {entry.name}")
    return value


_READ: dict[str, dict] = {}


def kept_in_validation(monkeypatch, entry) -> None:
    """archcalc.validation's measurements of `entry` by torch's tools, kept as `kept` keeps them:
    its count by torch, fvcore and FlopCounterMode (measure.measure) and its inference and
    training peaks by MemTracker (peak.tracked_peak, peak.tracked_training_peaks); validate's own
    code, which compares them with archcalc's figures, runs as it is."""
    from dataclasses import asdict

    from archcalc.validation import measure as counting
    from archcalc.validation import peak as peaks

    count, peak, training_peaks = counting.measure, peaks.tracked_peak, peaks.tracked_training_peaks

    def counted(model, x, layers, fvcore, flop_counter):
        def measure() -> dict:
            layer_counts, total = count(model, x, layers, fvcore, flop_counter)
            return {"layers": {name: asdict(figures) for name, figures in layer_counts.items()}, "total": asdict(total)}

        asked = {"input": x.shape, "layers": layers, "fvcore": fvcore, "flop_counter": flop_counter}
        value = kept("validation_counts", entry, model, asked, ["archcalc/validation/measure.py"], measure)

        def read(figures: dict):  # a shape as a tuple; the model's of several heads, a tuple of them
            shape = figures["shape"]
            return counting.Measured(**{**figures, "shape": tuple(tuple(head) if isinstance(head, list) else head
                                                                  for head in shape)})
        return {name: read(value["layers"][name]) for name in layers}, read(value["total"])

    def tracked(graph, shape, dtype="float32", tracker=peaks.OverallPeakTracker, fake=True):
        model = Recipe(graph, shape[1:], shape[0])  # as peak._built builds it, in `dtype`
        asked = {"input": shape, "dtype": dtype, "tracker": _qualified(tracker), **({} if fake else {"fake": False})}
        return peaks.TrackedPeak(*kept("validation_peaks", entry, model, asked, ["archcalc/validation/peak.py"],
                                       lambda: peak(graph, shape, dtype, tracker, fake)))

    def tracked_training(graph, input_shape, batches, dtype="float32", optimizer="momentum",
                         tracker=peaks.OverallPeakTracker, fake=True):
        model = Recipe(graph, input_shape, min(batches))  # as peak._built builds it, in `dtype`
        asked = {"input": input_shape, "batches": batches, "dtype": dtype, "optimizer": optimizer,
                 "tracker": _qualified(tracker), "fake": fake}
        return [tuple(step) for step in kept(
            "validation_training_peaks", entry, model, asked, ["archcalc/validation/peak.py"],
            lambda: training_peaks(graph, input_shape, batches, dtype, optimizer, tracker, fake))]

    monkeypatch.setattr(counting, "measure", counted)
    monkeypatch.setattr(peaks, "tracked_peak", tracked)
    monkeypatch.setattr(peaks, "tracked_training_peaks", tracked_training)


def _records(tier: str) -> dict:
    if tier not in _READ:
        path = RECORDS / f"{tier}.json"
        _READ[tier] = json.loads(path.read_text()) if path.is_file() else {}
    return _READ[tier]


def _write(tier: str, records: dict) -> None:
    RECORDS.mkdir(exist_ok=True)
    path = RECORDS / f"{tier}.json"
    temporary = path.with_suffix(".tmp")
    lines = (f"{json.dumps(name)}: {json.dumps(records[name], sort_keys=True, separators=(',', ':'))}"
             for name in sorted(records))
    temporary.write_text("{\n" + ",\n".join(lines) + "\n}\n")  # a line per model
    temporary.replace(path)


def _key(model, asked: Any, sources: list[str | Callable], measuring: str) -> str:
    import torch

    digest = hashlib.sha256()
    versions = [torch.__version__.split("+")[0], _version("fvcore")]
    models = [one.described() if isinstance(one, Recipe) else fingerprint(one)
              for one in (model if isinstance(model, list) else [model])]
    digest.update(json.dumps([versions, asked, measuring, models], sort_keys=True).encode())
    for path in sorted({*(ROOT / "archcalc" / "torchmodel").glob("*.py"),
                        *(ROOT / source for source in sources if isinstance(source, str))}):
        digest.update(_code(path.read_text(encoding="utf-8")))
    for function in (source for source in sources if callable(source)):
        digest.update(_code(textwrap.dedent(inspect.getsource(function))))
    return digest.hexdigest()


def _code(source: str) -> bytes:
    """What Python runs of `source`: its syntax tree without docstrings (nor comments, nor line
    numbers), so that a change of wording keeps the measurements; the text itself where it is not
    whole statements (the lines of a lambda inside a call)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source.encode()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body and \
                isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and \
                isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree).encode()


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def fingerprint(model) -> list:
    """The torch module as a tool runs it: each module's name, class and attributes (its
    submodules by name), each parameter's and buffer's name, shape, dtype and gradient flag."""
    names = {id(module): name for name, module in model.named_modules(remove_duplicate=False)}
    modules = []
    for name, module in model.named_modules(remove_duplicate=False):
        attributes = {key: value for key, value in vars(module).items()
                      if key not in ("_parameters", "_buffers", "_modules")}
        modules.append([name, _qualified(type(module)), _described(attributes, names),
                        [[key, *_tensor(value)] for key, value in module._parameters.items() if value is not None],
                        [[key, *_tensor(value)] for key, value in module._buffers.items() if value is not None],
                        sorted(module._modules)])
    return modules


def _tensor(tensor) -> list:
    return [list(tensor.shape), str(tensor.dtype), bool(tensor.requires_grad)]


def _qualified(thing) -> str:
    return f"{getattr(thing, '__module__', '?')}.{getattr(thing, '__qualname__', type(thing).__qualname__)}"


_PLAIN = frozenset({type(None), bool, int, float, str})


def _described(value, names: dict[int, str]):
    """`value` as plain JSON that says all a forward pass could read of it; a TypeError for a kind
    of value it does not know (so that no attribute is silently left out of the key)."""
    kind = type(value)  # the kinds met most, by their exact type first: the same description
    if kind in _PLAIN:
        return value
    if kind is list or kind is tuple:
        return [_described(item, names) for item in value]
    if kind is dict or kind is OrderedDict:
        return [[str(key), _described(item, names)] for key, item in value.items()]
    return _described_by_kind(value, names)


def _described_by_kind(value, names: dict[int, str]):
    import torch

    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, torch.nn.Module):
        return ["module", names.get(id(value), "outside the model")]
    if isinstance(value, torch.Tensor):
        return ["tensor", *_tensor(value)]
    if isinstance(value, (tuple, list)):
        return [_described(item, names) for item in value]
    if isinstance(value, (set, frozenset)):
        return sorted(map(str, value))
    if isinstance(value, dict):
        return [[str(key), _described(item, names)] for key, item in value.items()]
    if dataclasses.is_dataclass(value):
        return [_qualified(type(value)), *(_described(getattr(value, field.name), names)
                                           for field in dataclasses.fields(value))]
    if isinstance(value, (enum.Enum, torch.dtype, torch.device, torch.memory_format)):
        return str(value)
    if callable(value):
        return _qualified(value)
    raise TypeError(f"no description of {type(value).__qualname__} for the key of a kept measurement")


def main(arguments: list[str]) -> int:
    """Run the tiers that read kept measurements, keeping what each measures afresh."""
    mode = "afresh" if "--afresh" in arguments else "record"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS]
    return subprocess.call(command, cwd=ROOT, env={**os.environ, "ARCHCALC_MEASURE": mode})


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
