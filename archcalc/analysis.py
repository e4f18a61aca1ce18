"""Analyse a spec or graph: each layer's shape, parameters, MACs, FLOPs and memory, and their
sums (`archcalc.stats`), at numeric sizes or as formulas of symbolic ones (`archcalc.symbolic`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from archcalc.conventions import DEFAULT_CONVENTION
from archcalc.errors import RankError
from archcalc.graph import Graph, within_symbolic_limits
from archcalc.layers.base import IN_TRAINING
from archcalc.sizes import format_shape, parse_batch, parse_input, within_size_limit
from archcalc.stats import ModelStats, run_rules

if TYPE_CHECKING:
    from archcalc.graph import Node


def analyze_graph(graph: Graph, input_shape: tuple | None = None, batch: int | str = 1,
                  convention: str = DEFAULT_CONVENTION, dtype: str = "float32", training: bool = False) -> ModelStats:
    """Infer every shape and count every figure of `graph`; SpecError at the first bad layer.

    `batch` is a whole number from 1 to 2³¹ − 1 or a symbol (`archcalc.sizes.parse_batch`); a
    size given as a symbol (`archcalc.symbolic`) makes every figure a formula of it. With
    `training`, for a training step: what torch's training forward refuses is refused too (batch
    norm over one value a channel), and with symbols it bounds the sizes (`IN_TRAINING`).
    """
    shape = (parse_batch(batch), *(parse_input(input_shape, symbols=True) if input_shape else graph.input_shape))
    token = IN_TRAINING.set(training)
    try:
        if not all(isinstance(size, int) for size in shape):
            within_symbolic_limits(graph)
            from archcalc.symbolic.model import analyze_symbolic

            return analyze_symbolic(graph, shape, convention, dtype)
        if sum(map(len, _APPLIED.values())) > MAX_REMEMBERED:
            _APPLIED.clear()
        known = _APPLIED.setdefault((convention, dtype, training), {})
        return run_rules(graph, shape, convention, dtype, settle=_within_limits, reuse=True, known=known)
    except RankError as error:  # a layer given a map of another rank: likely the input's
        if input_shape is not None and len(input_shape) != len(graph.input_shape):
            error.hint = _other_rank(graph, input_shape)
        raise
    finally:
        IN_TRAINING.reset(token)


def _other_rank(graph: Graph, input_shape: tuple) -> str:
    """The hint of an error met at an input of another rank than the spec's (a flattening model
    takes one: `--input 1x784` of an MLP on 1×28×28): likely that rank."""
    given, own = len(input_shape) - 1, len(graph.input_shape) - 1
    return (f"the input given, {format_shape(input_shape)}, has {given} spatial {'axis' if given == 1 else 'axes'}, "
            f"and {graph.model}'s spec input, {format_shape(graph.input_shape)}, has {own}: give one of {own}")


_APPLIED: dict[tuple[str, str, bool], dict[tuple, tuple]] = {}
"""The results of layers' rules at numeric sizes by convention, dtype and training, kept across the models
a process analyses (`archcalc check` of every bundled model meets the same layers in many of them)."""
MAX_REMEMBERED = 20_000
"""How many results _APPLIED keeps at most before it starts again."""


def forget_kept_results() -> None:
    """Empty what is kept across analyses (_APPLIED, and the resolved fields and block instances of
    archcalc.spec.expand): for code that changes a layer kind's rules within the process, as tests do."""
    from importlib import import_module

    _APPLIED.clear()
    expand = import_module("archcalc.spec.expand")  # the module (the package exports a function of its name)
    expand._RESOLVED.clear()
    expand._INSTANCES.clear()


def _within_limits(shape: tuple[int, ...], node: Node | None = None) -> tuple[int, ...]:
    return within_size_limit(shape)


def analyze(spec: str | Path, input: str | tuple[int, ...] | None = None, batch: int | str = 1,
            variant: str | None = None, convention: str = DEFAULT_CONVENTION,
            dtype: str = "float32", training: bool = False) -> ModelStats:
    """Analyse a spec file or bundled model: `analyze("resnet50", input="3x160x160")`. `batch` is
    a whole number ≥ 1 (an int or its digits) or a symbol such as N; SpecError for anything else.
    `training`: for a training step (`analyze_graph`)."""
    from archcalc.spec import load_graph

    graph = load_graph(spec, variant)
    return analyze_graph(graph, input_shape(input), batch, convention, dtype, training)


def input_shape(input: str | tuple | None) -> tuple | None:
    """An input override as given ('3x160x160', '3xHxW' or a tuple) → (C, H, W); None keeps
    the spec's. A size may be a symbol (a name such as H), kept as its name (archcalc.sizes)."""
    return None if input is None else parse_input(input, symbols=True)


_BUNDLED: dict[str, tuple[tuple, list[ModelStats]]] = {}
"""analyze_bundled's answer by convention, with the bundled files (names and bytes) it was made from."""


def analyze_bundled(convention: str = DEFAULT_CONVENTION) -> list[ModelStats]:
    """Every bundled model at its own input, in `archcalc list` order; while no bundled file has
    changed, a process asking again gets the same analyses."""
    from archcalc.spec import bundled, load_graph
    from archcalc.spec.catalog import specs_dir

    files = tuple((path.name, path.read_bytes()) for path in sorted(specs_dir().glob("*.yaml")))
    made_from, models = _BUNDLED.get(convention, (None, None))
    if made_from != files:
        models = [analyze_graph(load_graph(entry.path, entry.variant), convention=convention)
                  for entry in bundled()]
        _BUNDLED[convention] = (files, models)
    return list(models)


