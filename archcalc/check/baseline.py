"""The baseline file (`archcalc.lock.yaml`): reading it, and rewriting it line by line so that
order, comments, budgets and tolerances stay as they were and its diff shows only what changed.

    # what the models are held to
    models:
      resnet50:
        spec: specs/resnet.yaml
        input: 3x224x224
        batch: 1
        convention: paper
        dtype: float32
        params: 25557032
        macs: 4089184256
        flops: 8178368512
        activation_bytes: 150405120
        max_macs: 4200000000        # a budget: optional
        tolerance: {macs: 1%}       # optional; default exact
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from archcalc.errors import Location, SpecError, did_you_mean
from archcalc.spec.source import YMap, load_yaml
from archcalc.stats import FIGURES as ALL_FIGURES

FIGURES = {name: ALL_FIGURES[name] for name in ("params", "macs", "flops", "activation_bytes")}
"""The figures a model is held to, with their names in tables."""
FIGURE_KEYS = tuple(FIGURES)
BUDGET_KEYS = tuple(f"max_{figure}" for figure in FIGURE_KEYS)
CONDITION_KEYS = ("spec", "input", "batch", "convention", "dtype")
HEADER = ("# archcalc baseline: the figures `archcalc check` holds each model to.\n"
          "# `archcalc check --update` rewrites the figures; budgets (max_…), tolerances and comments stay.\n"
          "models:\n")


@dataclass(frozen=True)
class Tolerance:
    """How far a figure may move: an absolute amount, or a share of the baseline ('1%')."""

    amount: float
    relative: bool

    def allows(self, expected: int, now: int) -> bool:
        limit = self.amount * abs(expected) / 100 if self.relative else self.amount
        return abs(now - expected) <= limit

    def __str__(self) -> str:
        return f"{self.amount:g}%" if self.relative else f"{self.amount:g}"


@dataclass(frozen=True)
class Held:
    """What a model is held to by one source (the baseline, or the spec's `expect:`)."""

    figures: dict[str, int]
    budgets: dict[str, int]
    tolerances: dict[str, Tolerance]
    source: str


@dataclass(frozen=True)
class Entry:
    """One model of the baseline: the conditions it was measured under, and what it is held to."""

    model: str
    spec: str
    spec_path: Path
    input: str
    batch: int
    convention: str
    dtype: str
    held: Held
    location: Location


@dataclass(frozen=True)
class Baseline:
    path: Path
    exists: bool
    entries: dict[str, Entry]
    document: YMap | None = None


def load_baseline(path: str | Path) -> Baseline:
    """The baseline at `path`; an empty one when the file does not exist yet."""
    path = Path(path)
    if not path.exists():
        return Baseline(path, False, {})
    document = load_yaml(path)
    for key in document:
        if key != "models":
            raise SpecError(f"unknown key '{key}' in the baseline", location=document.key_where(key),
                            hint="a baseline holds one key, 'models:'")
    models = document.get("models") or {}
    if not isinstance(models, YMap):
        raise SpecError("'models' must be a mapping of model name → figures", location=document.where("models"))
    entries = {name: _entry(name, body, models.key_where(name), path.parent) for name, body in models.items()}
    return Baseline(path, True, entries, document)


def held_from(mapping: Mapping, source: str) -> Held:
    """The figures, budgets and tolerances written in a baseline entry or an `expect:` block."""
    allowed = (*FIGURE_KEYS, *BUDGET_KEYS, "tolerance")
    for key in mapping:
        if key not in allowed and key not in CONDITION_KEYS:
            raise SpecError(f"unknown key '{key}' in {source}{did_you_mean(key, allowed)}",
                            location=_where(mapping, key, as_key=True), hint=f"allowed: {', '.join(allowed)}")
    figures = {key: _count(mapping, key) for key in FIGURE_KEYS if key in mapping}
    budgets = {key[4:]: _count(mapping, key) for key in BUDGET_KEYS if key in mapping}
    return Held(figures, budgets, _tolerances(mapping), source)


def _entry(name: str, body: Any, location: Location, folder: Path) -> Entry:
    if not isinstance(body, YMap):
        raise SpecError(f"the baseline entry '{name}' must be a mapping", location=location)
    for key in ("spec", "input"):
        if not isinstance(body.get(key), str):
            raise SpecError(f"the baseline entry '{name}' needs '{key}:' as text", location=body.location,
                            hint="run 'archcalc check --update' to rewrite the entry")
    return Entry(name, body["spec"], folder / body["spec"], body["input"], _count(body, "batch", 1),
                 str(body.get("convention", "paper")), str(body.get("dtype", "float32")),
                 held_from(body, "baseline"), location)


def _count(mapping: Mapping, key: str, default: int | None = None) -> int:
    value = mapping.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SpecError(f"'{key}' must be a whole number ≥ 0, got {value!r}", location=_where(mapping, key))
    return value


def _tolerances(mapping: Mapping) -> dict[str, Tolerance]:
    given = mapping.get("tolerance") or {}
    if not isinstance(given, Mapping):
        raise SpecError("'tolerance' must map figures to an amount or a percentage, like {macs: 1%}",
                        location=_where(mapping, "tolerance"))
    tolerances = {}
    for figure, value in given.items():
        if figure not in FIGURE_KEYS:
            raise SpecError(f"unknown figure '{figure}' in 'tolerance'{did_you_mean(str(figure), FIGURE_KEYS)}",
                            location=_where(given, figure, as_key=True), hint=f"figures: {', '.join(FIGURE_KEYS)}")
        tolerances[figure] = _tolerance(value, _where(given, figure))
    return tolerances


def _tolerance(value: Any, location: Location | None) -> Tolerance:
    text = str(value).strip()
    relative = text.endswith("%")
    try:
        amount = float(text.rstrip("%"))
    except ValueError:
        amount = -1.0
    if isinstance(value, bool) or not amount >= 0:
        raise SpecError(f"a tolerance is an amount ≥ 0 or a percentage, like 1000 or 1%, got {value!r}",
                        location=location)
    return Tolerance(amount, relative)


def _where(mapping: Mapping, name: str, as_key: bool = False) -> Location | None:
    if isinstance(mapping, YMap):
        return mapping.key_where(name) if as_key else mapping.where(name)
    return None


# --- rewriting -----------------------------------------------------------------------------

def updated_text(baseline: Baseline, measured: dict[str, dict[str, Any]], gone: set[str]) -> str:
    """The baseline's text with each measured model's conditions and figures set, models whose
    spec is gone removed, and new models appended; every other line is kept as it was."""
    if not baseline.exists:
        return HEADER + "".join(line for name, values in measured.items() for line in _entry_lines(name, values))
    lines = baseline.path.read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    models = baseline.document.get("models") or YMap()
    starts = sorted(models.key_where(name).line - 1 for name in models) if models else []
    edits: list[tuple[int, int, list[str]]] = []  # (first line, end line, replacement), 0-based
    for name in models:
        first = models.key_where(name).line - 1
        later = [start for start in starts if start > first]
        end = later[0] if later else _block_end(lines, first)
        if name in gone:
            edits.append((first, end, []))
        elif name in measured:
            edits.append((first, end, _updated_block(lines[first:end], models[name], first, measured[name])))
    tail = _block_end(lines, starts[-1]) if starts else len(lines)
    new = [line for name, values in measured.items() if name not in models for line in _entry_lines(name, values)]
    if not models and "models" not in baseline.document:
        new = ["models:\n", *new]
    edits.append((tail, tail, new))
    for first, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        lines[first:end] = replacement
    return "".join(lines)


def _entry_lines(name: str, values: dict[str, Any]) -> list[str]:
    return [f"  {name}:\n", *(f"    {key}: {values[key]}\n" for key in (*CONDITION_KEYS, *FIGURE_KEYS))]


def _updated_block(block: list[str], body: YMap, first: int, values: dict[str, Any]) -> list[str]:
    block = list(block)
    indent = "    "
    last_key = 0
    for key in body:
        where = body.key_where(key)
        indent = " " * (where.column - 1)
        last_key = max(last_key, where.line - 1 - first)
    missing = []
    for key in (*CONDITION_KEYS, *FIGURE_KEYS):
        if key in body:
            line = body.where(key).line - 1 - first
            column = body.where(key).column - 1
            text = block[line]
            comment = text.find(" #", column)
            rest = text[comment:].rstrip("\n") if comment >= 0 else ""
            block[line] = f"{text[:column]}{values[key]}{rest}\n"
        else:
            missing.append(f"{indent}{key}: {values[key]}\n")
    block[last_key + 1:last_key + 1] = missing
    return block


def _block_end(lines: list[str], first: int) -> int:
    """The line after an entry that starts at `first`: the next line indented as little as it."""
    depth = len(lines[first]) - len(lines[first].lstrip())
    for index in range(first + 1, len(lines)):
        stripped = lines[index].strip()
        if stripped and not stripped.startswith("#") and len(lines[index]) - len(lines[index].lstrip()) <= depth:
            return index
    end = len(lines)
    while end > first + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def relative_spec(spec_file: str, baseline_path: Path) -> str:
    """The spec's path as the baseline records it: relative to the baseline's folder."""
    return os.path.relpath(Path(spec_file).resolve(), baseline_path.resolve().parent)
