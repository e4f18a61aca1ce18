"""A training step's cost, layer by layer: the forward pass and the backward pass's gradients of
each layer's input and of its weights, under the analysis's convention
(`Convention.backward_count`). A layer's input needs a gradient only where a trained parameter
lies before it: the first convolution computes none."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from archcalc.conventions import CONVENTIONS, PAPER, Convention, counted
from archcalc.errors import UsageError
from archcalc.graph import INPUT
from archcalc.stats import ModelStats, block_of, sum_column

STEP_FIGURES = {"input_grad": "gradient of the input", "weight_grad": "gradient of the weights",
                "step": "training step (forward and backward)"}
"""The figures `--train` adds to a row, in output order, with their names in prose; each is given
in MACs and in FLOPs (`input_grad_macs`, `input_grad_flops`, …)."""


class Step(NamedTuple):
    """The MACs of a training step of a layer, a block or a whole model (the optimizer's update
    not counted)."""

    forward: int = 0
    input_grad: int = 0
    weight_grad: int = 0

    @property
    def backward(self) -> int:
        return self.input_grad + self.weight_grad

    @property
    def step(self) -> int:
        return self.forward + self.backward

    @staticmethod
    def total(items: Iterable[Step]) -> Step:
        columns = list(zip(*items))
        return Step(*map(sum_column, columns)) if columns else Step()

    def figures(self) -> dict:
        """STEP_FIGURES in MACs and in FLOPs (2 × MACs), by their output names."""
        return {f"{name}_{unit}": factor * getattr(self, name) for name in STEP_FIGURES
                for unit, factor in (("macs", 1), ("flops", 2))}


class Training(NamedTuple):
    """A training step per layer (or per row of a table: `at`), in order, and the model's."""

    names: list[str]
    steps: list[Step]
    total: Step

    def at(self, depth: int | None) -> Training:
        """A step per row of `ModelStats.rows(depth)`: blocks summed over their layers."""
        if depth is None:
            return self
        groups: dict[str, list[Step]] = {}
        for name, step in zip(self.names, self.steps):
            groups.setdefault(block_of(name, depth), []).append(step)
        return Training(list(groups), [members[0] if len(members) == 1 else Step.total(members)
                                       for members in groups.values()], self.total)


def training(stats: ModelStats) -> Training:
    """The training step of every layer of `stats` (analysed with its graph), under its
    convention; UsageError under one that counts no backward pass."""
    convention = counting_backward(stats.convention)
    shapes = stats.shapes
    steps = []
    valued = stats.graph.valued()  # a layer read only for its shape runs no backward
    for layer, node, input_grad in zip(stats.layers, stats.graph.nodes, needs_input_gradient(stats)):
        macs = counted(layer.counts[PAPER.name])  # the kind's own
        grads = convention.backward_count(node.kind, node.attrs, [shapes[name] for name in layer.inputs],
                                          layer.shape, macs, input_grad) if layer.name in valued else (0, 0)
        steps.append(Step(layer.figures.macs, *grads))
    return Training([layer.name for layer in stats.layers], steps, Step.total(steps))


def counting_backward(name: str) -> Convention:
    """The convention of that name; UsageError where it counts no backward pass."""
    convention = CONVENTIONS[name]
    if convention.no_backward:
        raise UsageError(f"the {convention.name} convention counts no backward pass: {convention.no_backward}",
                         hint="use --convention torch (FlopCounterMode over forward and backward) or paper "
                              "(each gradient as many MACs as the forward)", option="'--train'")
    return convention


def needs_input_gradient(stats: ModelStats) -> list[bool]:
    """For each layer, whether backward computes the gradient of its input: whether a layer with
    trained parameters lies on a path from the model's input to an input whose values it reads."""
    trained = {INPUT: False}
    needs = []
    for layer, node in zip(stats.layers, stats.graph.nodes):
        need = any(trained[name] for name in layer.inputs[:node.kind.value_inputs])
        trained[layer.name] = need or layer.figures.params != 0
        needs.append(need)
    return needs
