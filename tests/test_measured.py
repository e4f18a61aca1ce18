"""The kept measurements of the bundled models (tests/measured.py): read only while their key
holds, and the key changes with anything the measuring tool would see differently."""

from __future__ import annotations

import types

import pytest
from conftest import FAST_MODELS

torch = pytest.importorskip("torch")

import measured
from measured import fingerprint, kept

from archcalc.layers import LAYER_KINDS, Attrs
from archcalc.spec import bundled, load_graph
from archcalc.torchmodel import build_graph

SLOW = types.SimpleNamespace(name="a slow model")
SPOT = types.SimpleNamespace(name=min(measured.SPOT_CHECKED))


@pytest.fixture
def records(tmp_path, monkeypatch):
    """An empty folder of kept measurements in place of tests/reference/measured."""
    monkeypatch.setattr(measured, "RECORDS", tmp_path)
    monkeypatch.setattr(measured, "_READ", {})
    monkeypatch.setattr(measured, "AFRESH", [])
    monkeypatch.setattr(measured, "SPOT_CHECK", True)
    return tmp_path


def lenet():
    return build_graph(load_graph("lenet5"), device="meta")


MEASUREMENT: list = []
"""What `measure` gives next: one function, so one source in every key."""


def measure():
    if not MEASUREMENT:
        raise AssertionError("measured, though the kept measurement's key holds")
    return MEASUREMENT.pop()


def keep(model, asked, value=None, entry=SLOW, mode=""):
    """kept(), with `value` the measurement if one is made (None: no measurement may be made)."""
    MEASUREMENT[:] = [] if value is None else [value]
    measured.MODE = mode
    try:
        return kept("tier", entry, model, asked, ["archcalc/validation/peak.py"], measure)
    finally:
        measured.MODE = ""


def test_a_kept_measurement_is_read_while_its_key_holds_and_made_afresh_after(records):
    assert keep(lenet(), {"batch": 1}, (1, 2), mode="record") == [1, 2]  # as JSON reads it back
    assert (records / "tier.json").is_file()
    measured._READ.clear()
    assert keep(lenet(), {"batch": 1}) == [1, 2]
    assert measured.AFRESH == []
    assert keep(lenet(), {"batch": 2}, (3, 4)) == [3, 4]  # asked otherwise: measured afresh
    assert measured.AFRESH == ["tier: a slow model"]
    assert keep(lenet(), {"batch": 1}, (5, 6), mode="afresh") == [5, 6]
    assert keep(lenet(), {"batch": 1}) == [5, 6]


def test_a_spot_checked_model_is_measured_with_the_slow_tier_and_held_to_its_kept_measurement(records):
    keep(lenet(), {}, 7, entry=SPOT, mode="record")
    assert keep(lenet(), {}, 7, entry=SPOT) == 7
    with pytest.raises(AssertionError, match="key misses what changed"):
        keep(lenet(), {}, 8, entry=SPOT)
    assert measured.AFRESH == []


def test_the_fast_tier_alone_reads_a_spot_checked_models_kept_measurement(records, monkeypatch):
    keep(lenet(), {}, 7, entry=SPOT, mode="record")
    monkeypatch.setattr(measured, "SPOT_CHECK", False)
    assert keep(lenet(), {}, entry=SPOT) == 7  # nothing measured
    assert keep(lenet(), {"batch": 2}, 8, entry=SPOT) == 8  # its key no longer holds: measured, and said
    assert measured.AFRESH == [f"tier: {SPOT.name}"]


@pytest.mark.parametrize(("marks", "spot_check"), [((), False), (("slow",), True), ((None, "slow"), True)])
def test_the_spot_check_runs_where_the_slow_tier_runs(marks, spot_check, monkeypatch):
    """conftest's flag after collection, from the selected tests' markers."""
    import conftest

    class Item:
        def __init__(self, mark):
            self.mark = mark

        def get_closest_marker(self, name):
            return self.mark if self.mark == name else None

    monkeypatch.setattr(measured, "SPOT_CHECK", not spot_check)
    conftest.pytest_collection_finish(types.SimpleNamespace(items=[Item(mark) for mark in marks]))
    assert measured.SPOT_CHECK is spot_check


def test_a_workers_counts_and_afresh_list_reach_the_controllers_summary(monkeypatch):
    """Under pytest-xdist (`-n 2`): what a worker reports at its end, the controller adds up."""
    import conftest

    worker = types.SimpleNamespace(config=types.SimpleNamespace(workeroutput={}))
    monkeypatch.setattr(conftest, "_examples", {"count": 3, "fuzz": 0, "adversarial": 1})  # the worker's
    monkeypatch.setattr(measured, "AFRESH", ["tier: a slow model"])
    conftest.pytest_sessionfinish(worker)
    monkeypatch.setattr(conftest, "_examples", {"count": 2, "fuzz": 5, "adversarial": 0})  # the controller's
    monkeypatch.setattr(conftest, "_from_workers", [])
    conftest.pytest_testnodedown(types.SimpleNamespace(workeroutput=worker.config.workeroutput), None)
    assert conftest._examples == {"count": 5, "fuzz": 5, "adversarial": 1}
    assert conftest._from_workers == ["tier: a slow model"]


def test_the_key_changes_with_the_measuring_code(records):
    keep(lenet(), {}, 1, mode="record")
    assert kept("tier", SLOW, lenet(), {}, ["archcalc/validation/peak.py"], lambda: 2) == 2  # another function
    MEASUREMENT[:] = [3]
    assert kept("tier", SLOW, lenet(), {}, ["archcalc/validation/latency.py"], measure) == 3  # another file


def test_the_key_keeps_through_a_reworded_docstring_or_comment():
    code = 'def f(x):\n    """Twice x."""\n    return 2 * x  # doubled\n'
    assert measured._code(code) == measured._code('def f(x):\n    """Two times x."""\n\n    return 2 * x\n')
    assert measured._code(code) != measured._code('def f(x):\n    """Twice x."""\n    return 3 * x\n')
    assert measured._code(code) != measured._code('def f(x):\n    return "Twice x."\n')  # a string returned is code
    assert measured._code("    lambda: (1,") == b"    lambda: (1,"  # lines that are no whole statement: as written


@pytest.mark.parametrize("change", [
    "a stride", "a padding", "an in-place flag", "a weight's shape", "a weight's dtype", "a frozen weight",
    "another module class", "the order outputs are dropped", "another input read", "train mode"])
def test_the_fingerprint_changes_with_what_the_tool_would_see(change):
    model, before = lenet(), fingerprint(lenet())
    conv = next(module for module in model.modules() if isinstance(module, torch.nn.Conv2d))
    calls = model._program.calls
    if change == "a stride":
        conv.stride = (2, 2)
    elif change == "a padding":
        conv.padding = (1, 1)
    elif change == "an in-place flag":
        model.act1.inplace = True  # a new attribute of Tanh, which has none
    elif change == "a weight's shape":
        conv.weight = torch.nn.Parameter(torch.empty(1, 1, 1, 1, device="meta"))
    elif change == "a weight's dtype":
        conv.weight = torch.nn.Parameter(conv.weight.to(torch.float64))
    elif change == "a frozen weight":
        conv.weight.requires_grad_(False)
    elif change == "another module class":
        conv.__class__ = type("Other", (torch.nn.Conv2d,), {})
    elif change == "the order outputs are dropped":
        call = next(call for call in calls if call.done)
        object.__setattr__(call, "done", ())
    elif change == "another input read":
        object.__setattr__(calls[2], "reads", (calls[0].name,))  # pool1 reading conv1, not act1
    else:
        model.eval()
    assert fingerprint(model) != before


def test_an_attribute_the_fingerprint_cannot_describe_is_refused():
    model = lenet()
    next(iter(model.children())).opaque = object()
    with pytest.raises(TypeError, match="no description of object"):
        fingerprint(model)


@pytest.mark.parametrize("entry", [entry for entry in bundled() if entry.name in FAST_MODELS], ids=str)
def test_a_bundled_models_fingerprint_is_the_same_built_twice(entry):
    graph = load_graph(entry.path, entry.variant)
    assert fingerprint(build_graph(graph, device="meta")) == fingerprint(build_graph(graph, device="meta"))


@pytest.mark.parametrize("change", [
    "a stride", "a kernel", "another layer kind", "another input read", "a block's label", "the outputs",
    "the input size"])
def test_a_recipe_changes_with_what_the_built_model_would_change_with(change):
    """A Recipe (how a model is built, for a key without building it) differs wherever the model
    build_graph builds from it would: each change is also seen by the built model's fingerprint."""
    graph, shape = (load_graph("lenet5"), (1, 32, 32)) if change == "the input size" else (load_graph("resnet18"), (3, 64, 64))
    before = measured.Recipe(graph, shape).described()
    built = fingerprint(build_graph(graph, shape, device="meta"))
    nodes = list(graph.nodes)
    conv = next(index for index, node in enumerate(nodes) if node.name in ("layer1.0.conv1", "conv1"))
    if change == "a stride":
        nodes[0] = nodes[0]._replace(attrs=Attrs(nodes[0].attrs, stride=(1, 1)))  # the stem's 2
    elif change == "a kernel":
        nodes[conv] = nodes[conv]._replace(attrs=Attrs(nodes[conv].attrs, kernel=(5, 5), padding=(2, 2)))
    elif change == "another layer kind":
        relu = next(index for index, node in enumerate(nodes) if node.kind.key == "relu")
        nodes[relu] = nodes[relu]._replace(kind=LAYER_KINDS["relu6"], attrs=LAYER_KINDS["relu6"].resolve({}))
    elif change == "another input read":
        add = next(index for index, node in enumerate(nodes) if node.kind.key == "add")
        nodes[add] = nodes[add]._replace(inputs=(nodes[add].inputs[0], nodes[add].inputs[0]))
    elif change == "a block's label":
        name, scope = next(iter(graph.scopes.items()))
        graph = graph._replace(scopes={**graph.scopes, name: scope._replace(label="another")})
    elif change == "the outputs":
        graph = graph._replace(outputs=(nodes[-2].name, nodes[-1].name))
    else:  # lenet5's first linear layer takes the flattened map: its in_features follow the input's size
        shape = (1, 36, 36)
    graph = graph._replace(nodes=nodes)
    assert measured.Recipe(graph, shape).described() != before
    assert fingerprint(build_graph(graph, shape, device="meta")) != built


@pytest.mark.parametrize("entry", [entry for entry in bundled() if entry.name in FAST_MODELS], ids=str)
def test_a_bundled_models_recipe_is_the_same_loaded_twice(entry):
    graph, again = load_graph(entry.path, entry.variant), load_graph(entry.path, entry.variant)
    assert measured.Recipe(graph).described() == measured.Recipe(again).described()
