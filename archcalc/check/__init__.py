"""`archcalc check`: hold each model's figures to a committed baseline, its budgets and its
spec's `expect:` block; report drift, broken budgets, new models and models whose spec is gone."""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple

from archcalc.analysis import analyze_graph, input_shape
from archcalc.check.baseline import (
    BLOCKS,
    BUDGETS,
    FIGURES,
    OUTSIDE_HINT,
    Baseline,
    Entry,
    bundled_spec,
    load_baseline,
    recorded_spec,
    shell_word,
    spec_roots,
    update_command,
    updated_text,
    within_roots,
)
from archcalc.errors import Location, SpecError, UserError, hidden
from archcalc.graph import Graph
from archcalc.reading import file_there, something_at
from archcalc.spec.catalog import bundled_name
from archcalc.spec.held import Held, held_from
from archcalc.spec.source import YMap
from archcalc.stats import ModelStats

__all__ = ["BUDGETS", "FIGURES", "ON_DEMAND", "Baseline", "BlockChange", "CheckResult", "Entry", "Finding", "Held",
           "Measurement", "check", "held_again", "load_baseline", "update_baseline"]


class BlockChange(NamedTuple):
    """A top-level block whose figure differs from the baseline's record of it (`expected` None:
    a block the record lacks; `now` None: a block the model no longer has)."""

    block: str
    expected: int | None
    now: int | None
    location: Location | None
    order: int
    """Its place among the model's top-level blocks (the recorded ones it lacks after them)."""

    @property
    def change(self) -> int:
        return (self.now or 0) - (self.expected or 0)

    @property
    def relative_change(self) -> float | None:
        return self.change / self.expected if self.expected else None


class Finding(NamedTuple):
    """One figure of one model against what it is held to; `problem` is '' when it holds."""

    model: str
    figure: str
    expected: int | None
    now: int | None
    problem: str = ""
    location: Location | None = None
    detail: str = ""
    blocks: tuple[BlockChange, ...] | None = None
    """The top-level blocks whose figure moved from the baseline's record, in model order (the
    first is where the change starts); None where the baseline records no blocks."""
    where: Location | None = None
    """Where what it is held to is written: a budget's line, a figure's in `expect:`; of an input
    changed, the spec's `input:` line (else the model's)."""
    budget: str = ""
    """The budget's key (`max_macs`) where the figure is held to one."""
    update: str = ""
    """The command that records the model's figures now (`_update_command`)."""

    @property
    def ok(self) -> bool:
        return not self.problem

    @property
    def change(self) -> int | None:
        return None if self.expected is None or self.now is None else self.now - self.expected

    @property
    def relative_change(self) -> float | None:
        """The change as a share of the expected value (None where there is none)."""
        return self.change / self.expected if self.change is not None and self.expected else None

    @property
    def headroom(self) -> int | None:
        """Of a budget: how far the figure is below it (negative: over it)."""
        return None if self.change is None else -self.change


class CheckResult(NamedTuple):
    """Every finding of one run, the models measured (for --update) and the baseline used."""

    findings: list[Finding]
    measured: dict[str, dict | None]
    """Each model's baseline record (None unless check was asked to keep them)."""
    spec_files: dict[str, Path]
    baseline: Baseline
    kept: Mapping[tuple, Measurement] = {}  # shared, never changed
    """Where check was asked to keep the records: each model's measurement, by its file and
    variant (`_kept_key`), from which `held_again` holds it to the baseline --update wrote."""

    @property
    def ok(self) -> bool:
        return all(finding.ok for finding in self.findings)


def inference_peak(graph: Graph, stats: ModelStats) -> tuple[int, str]:
    """The inference peak (archcalc.memory) under the conditions checked, and where it occurs."""
    from archcalc.memory import inference_memory

    try:
        memory = inference_memory(graph, stats, stats.dtype)
    except SpecError as error:
        raise SpecError(f"{graph.model}: max_peak_bytes: {error.message}", location=graph.location,
                        hint="memory is modelled in float32, float16, bfloat16 and float64: record the model in one "
                             "of them, or remove the budget") from None
    where = f"while {memory.peak_point.name} runs" if memory.peak_point else "no operation runs"
    return memory.peak, (f"the peak is {where}; 'archcalc memory SPEC --fit {{limit}}' gives the largest batch "
                         "within the budget")


def training_peak(graph: Graph, stats: ModelStats) -> tuple[int, str]:
    """The peak of a training step (archcalc.training) with SGD with momentum, under the
    conditions checked, and where it occurs."""
    from archcalc.training import point_label, training_memory

    try:
        training = training_memory(graph, stats, stats.dtype, "momentum")
    except SpecError as error:
        if error.location:  # a layer torch will not train at this size: its place and how to fix it
            raise SpecError(f"{graph.model}: max_train_peak_bytes: {error.message}", location=error.location,
                            layer=error.layer, hint=error.hint) from None
        raise SpecError(f"{graph.model}: max_train_peak_bytes: {error.message}", location=graph.location,
                        hint="memory is modelled in float32, float16, bfloat16 and float64: record the model in one "
                             "of them, or remove the budget") from None
    return training.peak, (f"the peak is {point_label(training.peak_point)}; 'archcalc memory SPEC --train --fit "
                           "{limit}' gives the largest batch within the budget")


ON_DEMAND = {"peak_bytes": inference_peak, "train_peak_bytes": training_peak}
"""The figures measured only for a budget (max_…): figure → (graph, stats) → (value, how to
bring it down, with {limit} for the budget)."""


def check(specs: list[str], baseline: Baseline, jobs: int = 0, records: bool = False) -> CheckResult:
    """Measure the models of `specs` (every variant of each file; all of the baseline's models
    when none is given) and hold each to its baseline entry and its spec's `expect:` block; with
    `records`, keep each model's baseline record (for --update).

    Every spec is read first (an error there is raised before any model is measured); then up
    to `jobs` processes (0: one per core, at most parallel.MAX_JOBS) share the files, and their results, and
    the first error in order, are what one process gives (archcalc.parallel). A run that will
    stop at a model named twice is left to one process, which gets there soonest."""
    from archcalc.parallel import in_order

    documents = _Documents()
    targets, whole = _targets(specs, baseline, documents)
    if not targets and not baseline.entries:
        if baseline.broken:  # entries that name no spec to measure them by: what is wrong with the first
            raise next(iter(baseline.broken.values()))[1]
        raise UserError(f"nothing to check: no spec was given and '{baseline.path}' "
                        + ("lists no models" if baseline.exists else "does not exist"),
                        hint=f"give spec files or bundled names, or record a baseline with "
                             f"'{update_command(baseline.path, 'SPEC…')}'")
    measure = _Measure(documents, baseline, records)
    jobs = 1 if _named_twice(targets, documents) else jobs  # check stops there: one process gets there first
    models = in_order(measure, targets, jobs, weight=lambda target: _size(target[0]), together=lambda target: target[0])
    return _result(specs, baseline, targets, whole, models)


def held_again(specs: list[str], baseline: Baseline, result: CheckResult) -> CheckResult | None:
    """What `check(specs, baseline)` gives where `baseline` is the one --update wrote from
    `result` (measured with `records`), from the measurements `result` kept rather than by
    measuring the models again. None where a model must be measured again: one `result` lacks,
    one whose entry now records conditions (batch, convention, dtype) other than those it was
    measured at, or one held to a budget (max_…) of a figure measured only for one (ON_DEMAND)
    that it was not measured for (an entry --update repaired, whose budgets were not read)."""
    documents = _Documents()
    targets, whole = _targets(specs, baseline, documents)
    try:
        models = [_held_again(result.kept[_kept_key(target)], target, baseline) for target in targets]
    except (KeyError, _NotMeasured):
        return None
    return _result(specs, baseline, targets, whole, iter(models)) if targets else None


def _held_again(measurement: Measurement, target: Target, baseline: Baseline) -> Measured:
    """A model kept by the check before, held to its entry in `baseline`."""
    entry = baseline.entries.get(measurement.model)
    if entry is None or (entry.batch, entry.convention, entry.dtype) != measurement.conditions:
        raise _NotMeasured(measurement.model)
    findings = _held(measurement, target, entry, baseline)
    return Measured(measurement.model, measurement.location, findings, None)


def _result(specs: list[str], baseline: Baseline, targets: list[Target], whole: set[str],
            models: Iterator[Measured]) -> CheckResult:
    """The models' findings in order, then those of the baseline's models whose spec is gone."""
    findings, measured, spec_files, kept = _gathered(targets, models)
    checked = whole  # a file whose every model was measured: those of its baseline models not among them are gone
    if not specs:  # a bare check looks at every file the baseline names, even with no model left in it
        checked |= {str(entry.spec_path) for entry in baseline.entries.values()}
        checked |= {str(path) for path, _ in baseline.broken.values() if path is not None}
    findings += _gone(baseline, set(measured), checked)
    return CheckResult(findings, measured, spec_files, baseline, kept)


def _gathered(targets: list[Target], models: Iterator[Measured]) -> tuple[list[Finding], dict[str, dict | None],
                                                                         dict[str, Path], dict[tuple, Measurement]]:
    """Each model's findings and record, its spec file and its measurement where kept, in order;
    a model's name met again in another file is an error, at that model."""
    from archcalc.spec.catalog import display_name

    findings: list[Finding] = []
    measured: dict[str, dict | None] = {}
    spec_files: dict[str, Path] = {}
    kept: dict[tuple, Measurement] = {}
    for target, model in zip(targets, models):
        path = Path(target[0])
        if model.name in spec_files and spec_files[model.name] != path:
            raise SpecError(f"the model '{model.name}' is also defined in {display_name(spec_files[model.name])}: "
                            "the baseline holds one entry per model name", location=model.location,
                            hint="rename one of them, or check the files one at a time with their own --baseline")
        measured[model.name] = model.record
        spec_files[model.name] = path
        findings += model.findings
        if model.kept is not None:
            kept[_kept_key(target)] = model.kept
    return findings, measured, spec_files, kept


def _kept_key(target: Target) -> tuple:
    """A model measured, as the baseline --update wrote names it again: its file (by `_file_key`,
    whatever path reaches it) and its variant."""
    return _file_key(target[0]), target[1]


Target = tuple[str, str | None]
"""A model to measure: its spec file, and its variant (None: the file's one model)."""


class Measured(NamedTuple):
    """What `check` keeps of one model, as plain data (a process measuring it sends it back)."""

    name: str
    location: Location | None
    findings: list[Finding]
    record: dict | None
    """Its baseline record, but the spec (where asked for)."""
    kept: Measurement | None = None
    """Its measurement, as plain data (where the record is asked for: `held_again` holds it again)."""


class _Measure(NamedTuple):
    """One model measured and held: expanded, analysed at its spec's input and its baseline
    entry's batch, convention and dtype, and held to the entry and its `expect:` block."""

    documents: _Documents
    baseline: Baseline
    records: bool

    def __call__(self, target: Target) -> Measured:
        from archcalc.spec.expand import check_document, expand

        path, variant = target
        document, name = self.documents[path]
        check_document(document)  # what is wrong in the file whichever variant: not said of this one
        try:
            graph = expand(document, name, variant, Path(path))
            entry = self.baseline.entries.get(graph.model)
            stats = _analyze(graph, entry)
        except SpecError as error:  # a family's variants share their layers' lines: say which variant
            if variant is None:
                raise
            raise _in_variant(error, variant) from None
        measurement = Measurement(graph, stats, document)
        findings = _held(measurement, target, entry, self.baseline)
        if not self.records:
            return Measured(graph.model, graph.location, findings, None)
        kept = measurement.kept()
        return Measured(graph.model, graph.location, findings, record_of(stats, kept.blocks()[0]), kept)


class _NotMeasured(Exception):
    """A figure measured only for a budget (ON_DEMAND) asked of a measurement kept without it."""


class Measurement:
    """One model measured, as `_hold` holds it to a baseline entry and its spec's `expect:`: its
    figures, and (worked out when first asked for) its blocks' figures and places, and each
    figure measured only for a budget (ON_DEMAND). `kept()` is it as plain data, without the
    model and its analysis, which --update holds to the baseline it wrote (`held_again`)."""

    def __init__(self, graph: Graph, stats: ModelStats, document: YMap) -> None:
        self.model, self.location, self.input_shape = graph.model, graph.location, tuple(graph.input_shape)
        self.input_place = _input_place(document, graph.model)
        self.expect = _expect(graph)
        self.expect_written = _writes(document, graph.model, "expect") is not None
        """Whether its spec writes an `expect:` for it (one of nothing, None above, included)."""
        self.conditions = (stats.input_shape[0], stats.convention, stats.dtype)
        """The batch, convention and dtype it was measured at."""
        self.figures = figures_of(stats)
        self.peaks: dict[str, tuple[int, str]] = {}
        """The ON_DEMAND figures measured: each one's value, and how to bring it down."""
        self._blocks: tuple[dict, dict] | None = None
        self._analysed: tuple[Graph, ModelStats] | None = (graph, stats)

    def blocks(self) -> tuple[dict[str, dict[str, int]], dict[str, Location]]:
        """Each top-level block's figures (`blocks_of`) and place in the spec (`block_places`)."""
        if self._blocks is None:
            graph, stats = self._analysed
            self._blocks = blocks_of(stats), block_places(graph)
        return self._blocks

    def peak(self, figure: str) -> tuple[int, str]:
        """An ON_DEMAND figure: its value, and how to bring it down (with {limit})."""
        if figure not in self.peaks:
            if self._analysed is None:
                raise _NotMeasured(figure)
            self.peaks[figure] = ON_DEMAND[figure](*self._analysed)
        return self.peaks[figure]

    def kept(self) -> Measurement:
        """This measurement as plain data: its blocks worked out, the model and its analysis left."""
        self.blocks()
        kept = copy.copy(self)
        kept._analysed = None
        return kept


def _held(measurement: Measurement, target: Target, entry: Entry | None, baseline: Baseline) -> list[Finding]:
    """The findings of a model measured from `target`, held to `entry` of `baseline`."""
    path, variant = target
    spec = _argument(path, variant)
    return _hold(measurement, entry, baseline, spec, _update_command(entry, path, baseline, spec))


def _in_variant(error: SpecError, variant: str) -> SpecError:
    """A copy of `error` that names the variant measured (the error itself, which its raiser
    may hold and raise again, is left as it was)."""
    named = copy.copy(error)
    named.message = f"{error.message} (in the variant '{variant}')"
    return named


def _update_command(entry: Entry | None, measured_from: str, baseline: Baseline, spec: str) -> str:
    """The command that records a model in `baseline` from the file it was measured from: a bare
    `check --update` measures the file its entry names, so a model moved to another file (and
    checked there) is named by that file (else --update dropped it as gone from the old one)."""
    moved = entry is not None and not _same_file(entry.spec_path, measured_from)
    return update_command(baseline.path, spec if moved else "")


def _same_file(path: Path, other: str | Path) -> bool:
    try:
        return path.resolve() == Path(other).resolve()
    except (OSError, RuntimeError):  # a loop of links
        return False


def _argument(path: str, variant: str | None) -> str:
    """A model's spec as `check` is given it on a command line: a bundled model by its name, else
    its file's path, quoted for a shell."""
    bundled = bundled_spec(path)
    if bundled is not None:
        return variant or bundled
    return shell_word(path)


def record_of(stats: ModelStats, blocks: dict[str, dict[str, int]] | None = None) -> dict:
    """A model's baseline record, but the spec: the conditions measured under, then its figures
    (`blocks`: its blocks' figures, where worked out already)."""
    return {"input": "x".join(map(str, stats.input_shape[1:])), "batch": stats.input_shape[0],
            "convention": stats.convention, "dtype": stats.dtype, **figures_of(stats),
            BLOCKS: blocks_of(stats) if blocks is None else blocks}


class _Documents(dict):
    """Spec files by path, each read and parsed once, with its name in messages: a family file is
    read for its variant names, then expanded once for each."""

    def __missing__(self, path: str) -> tuple[YMap, str]:
        from archcalc.spec.catalog import display_name, load_document

        self[path] = spec = load_document(Path(path)), display_name(Path(path))
        return spec


def _named_document(documents: _Documents, path: Path, baseline: Baseline) -> YMap:
    """The spec file a baseline entry names, parsed; where it is no spec file at all (a folder, a
    pipe), the error at the entry that names it, as well as at the file."""
    try:
        return documents[str(path)][0]
    except SpecError as error:
        entry = next((entry for entry in baseline.entries.values() if entry.spec_path == path), None)
        if entry is None or error.location is None or error.location[1:] != (1, 1):
            raise
        raise SpecError(f"model '{entry.model}': its spec '{entry.spec}': {error.message}",
                        location=entry.location, hint=error.hint) from None


def update_baseline(result: CheckResult) -> set[str]:
    """Rewrite the baseline with the measured models (atomically); returns the models dropped.

    Runs take turns on a baseline (a lock on its folder), and each re-reads it under the lock, so
    that a model another run recorded meanwhile is kept."""
    from archcalc.output import serialised, write_atomically

    if None in result.measured.values():
        raise ValueError("the result holds no baseline records: measure with check(..., records=True)")
    with serialised(result.baseline.path):
        base = load_baseline(result.baseline.path, repairable=True)
        measured = {}
        roots = spec_roots(base.path)
        for model, record in result.measured.items():
            entry = base.entries.get(model)
            if not within_roots(result.spec_files[model], roots):
                raise UserError(f"cannot record '{model}' in {base.path}: its spec {result.spec_files[model]} lies "
                                "outside the baseline's folder and the current one, where check would not read it",
                                hint=OUTSIDE_HINT)
            spec = _spec_recorded(entry, result.spec_files[model], base.path)
            if any(map(hidden, spec)):  # check would refuse it, as a path that drives the terminal
                raise UserError(f"cannot record '{model}' in {base.path}: its spec's path {spec!r} is not one line "
                                "of text", hint="rename the file: a path in a baseline holds no line breaks, tabs, "
                                                "other control characters or invisible format characters")
            measured[model] = {"spec": spec, **record}
        gone = {f.model for f in result.findings if f.problem == "spec gone"} & _models_of(base)
        write_atomically(base.path, updated_text(base, measured, gone), list(result.spec_files.values()))
    return gone


def _spec_recorded(entry: Entry | None, measured_from: Path, baseline_path: Path) -> str:
    """The `spec:` an updated entry records: the entry's own, as written, where it names the file
    the model was measured from, but a bundled spec's name where it named that bundled spec by a
    path out of the baseline's folder (to where archcalc was installed, which moves); else that
    file (the model moved to another spec file)."""
    same = entry is not None and _same_file(entry.spec_path, measured_from)
    out_of_the_folder = Path(entry.spec).is_absolute() or ".." in Path(entry.spec).parts if same else False
    if same and not (bundled_spec(measured_from) is not None and out_of_the_folder):
        return entry.spec
    return recorded_spec(measured_from, baseline_path)


def _models_of(baseline: Baseline) -> set[str]:
    return {*baseline.entries, *baseline.broken}


def figures_of(stats: ModelStats) -> dict[str, int]:
    return {figure: getattr(stats.totals, figure) for figure in FIGURES}


def blocks_of(stats: ModelStats) -> dict[str, dict[str, int]]:
    """Each top-level block's (or top-level layer's) figures, in model order."""
    return {row.name: {figure: getattr(row.figures, figure) for figure in FIGURES} for row in stats.rows(depth=1)}


def block_changes(figure: str, recorded: dict[str, dict[str, int]], now: dict[str, dict[str, int]],
                  places: dict[str, Location]) -> tuple[BlockChange, ...]:
    """The blocks whose `figure` differs between the record and now: the model's in its order,
    then the recorded blocks it no longer has."""
    names = [*now, *(name for name in recorded if name not in now)]
    changes = [BlockChange(name, recorded[name][figure] if name in recorded else None,
                           now[name][figure] if name in now else None, places.get(name), index)
               for index, name in enumerate(names)]
    return tuple(change for change in changes if change.expected != change.now)


def block_places(graph: Graph) -> dict[str, Location]:
    """Where each top-level block and layer is written in the spec."""
    return {name: item.location for name, item in {**{node.name: node for node in graph.nodes}, **graph.scopes}.items()
            if "." not in name}


def _targets(specs: list[str], baseline: Baseline, documents: _Documents) -> tuple[list[Target], set[str]]:
    """The models to measure, and the files measured whole: a spec file's every variant, where a
    bundled variant's name (lenet5) measures that one alone."""
    from archcalc.spec.catalog import locate
    from archcalc.spec.expand import variant_names

    if not specs:
        targets = _once_each(_baseline_targets(baseline, documents))
        return targets, {path for path, _ in targets}
    targets, whole = [], set()
    for spec in specs:
        path, variant = locate(spec)
        if not variant:
            whole.add(str(path))
        names = [variant] if variant else (variant_names(documents[str(path)][0]) or [None])
        targets += [(str(path), name) for name in names]
    return _once_each(targets), whole


def _once_each(targets: list[Target]) -> list[Target]:
    """`targets` in order, each model once: one file reached by two paths from one folder (a link
    beside it, ../, an absolute path) is one model. A link in another folder is not: the specs it
    includes are found from the folder it is named in."""
    seen, kept = set(), []
    for path, name in targets:
        file = _file_key(path)
        if (file, name) not in seen:
            seen.add((file, name))
            kept.append((path, name))
    return kept


def _file_key(path: str) -> tuple | str:
    """A spec file as one model's file: the file itself (reached by whichever path) in the folder
    it is named in (whose specs it includes); its path where it cannot be read."""
    try:
        found = os.stat(path)
        return found.st_dev, found.st_ino, Path(path).parent.resolve()
    except (OSError, RuntimeError, ValueError):  # read already, so gone since: its path stands for it
        return path


def _named_twice(targets: list[Target], documents: _Documents) -> bool:
    """Whether two files seem to define a model of the same name (its variant's, or its spec's)."""
    files: dict = {}
    for path, variant in targets:
        name = variant if variant is not None else documents[path][0].get("name")
        if files.setdefault(name if isinstance(name, str) else None, Path(path)) != Path(path):
            return True
    return False


def _size(path: str) -> int:
    """A spec file's size, a guess at the work of each of its models (0 where it cannot be told)."""
    try:
        return os.stat(path).st_size
    except (OSError, ValueError):  # gone since it was read; or a name the system refuses
        return 0


def _baseline_targets(baseline: Baseline, documents: _Documents) -> list[Target]:
    """What a bare `check` measures: every model of each of the user's spec files the baseline
    names (so that a model added or renamed there shows), and the recorded models of the bundled
    families (a new release adding a bundled variant does not fail anyone's check)."""
    from archcalc.spec.catalog import specs_dir
    from archcalc.spec.expand import variant_names

    files = [entry.spec_path for entry in baseline.entries.values()]
    files += [path for path, _ in baseline.broken.values() if path is not None]
    bundled = specs_dir()
    targets = []
    for path in dict.fromkeys(files):
        if not something_at(path):  # told as gone; a pipe or a folder there is read, and refused as what it is
            continue
        document = _named_document(documents, path, baseline)
        variants = variant_names(document)
        if path.resolve().parent == bundled:  # a recorded model no longer defined shows as gone
            defined = variants or [document.get("name")]
            recorded = [entry.model for entry in baseline.entries.values() if entry.spec_path == path]
            recorded += [model for model, (spec, _) in baseline.broken.items() if spec == path]
            targets += [(str(path), model) for model in recorded if model in defined]
        else:
            targets += [(str(path), name) for name in variants or [None]]
    return targets


def _analyze(graph: Graph, entry: Entry | None) -> ModelStats:
    """At the spec's input, and the batch, convention and dtype the baseline recorded (else the
    defaults). The entry's input is what its figures were measured at: one the spec no longer
    has is told (`_input_changed`), never measured in its place."""
    if entry is None:
        return analyze_graph(graph)
    return analyze_graph(graph, None, entry.batch, entry.convention, entry.dtype)


def _writes(document: YMap, model: str, key: str) -> YMap | None:
    """The mapping of a spec that writes `key` for a model: its variant's, else the spec's top
    level (None: neither does; a key written with nothing after it is written)."""
    variants = document.get("variants")
    variant = variants.get(model) if isinstance(variants, YMap) else None
    return next((holder for holder in (variant, document) if isinstance(holder, YMap) and key in holder), None)


def _input_place(document: YMap, model: str) -> Location | None:
    """Where a model's input is written in its spec: its variant's `input:`, else the spec's."""
    holder = _writes(document, model, "input")
    return holder.where("input") if holder is not None else None


def _input_changed(measurement: Measurement, entry: Entry, update: str) -> Finding | None:
    """A failure where the spec's input (its variant's) is not the one the entry's figures were
    measured at: the figures compared are of another input, and its budgets were set at that one.
    It points at the spec's `input:` line, what changed."""
    recorded = input_shape(entry.input)
    if measurement.input_shape == tuple(recorded):
        return None
    now = "x".join(map(str, measurement.input_shape))
    return Finding(measurement.model, "", None, None, "input changed", measurement.location,
                   f"the spec's input is now {now}; {entry.location.file} records {'x'.join(map(str, recorded))}: "
                   f"run '{update}' to record the model at {now}", where=measurement.input_place)


def _hold(measurement: Measurement, entry: Entry | None, baseline: Baseline, spec: str,
          update: str) -> list[Finding]:
    """The findings of one model (`spec`: its spec as `check` is given it, for the command that
    records it where the baseline does not have it; `update`: the one that records it again)."""
    model, now, where, expect = measurement.model, measurement.figures, measurement.location, measurement.expect
    helds = [held for held in (entry.held if entry else None, expect) if held and (held.figures or held.budgets)]
    findings = []
    if entry is None and baseline.exists:  # its expect: is still held
        findings.append(Finding(model, "", None, None, "not in the baseline", where,
                                f"run '{update_command(baseline.path, spec)}' to record it"))
    elif not helds:  # an expect: of a tolerance alone, or of nothing, holds nothing either
        return [Finding(model, "", None, None, "nothing to check against", where,
                        f"record a baseline with '{update_command(baseline.path, spec)}', or " + (
                            "write figures or budgets under the spec's 'expect:'"
                            if expect or measurement.expect_written else "give the spec an 'expect:' block"))]
    changed = _input_changed(measurement, entry, update) if entry else None
    findings += [changed] if changed else []
    recorded = entry.blocks if entry else None
    for figure in FIGURES:
        for held in helds:
            for finding in _figure_findings(model, figure, now[figure], held, where):
                if recorded is not None and not finding.ok:  # each block's figures and place, worked out once
                    finding = finding._replace(blocks=block_changes(figure, recorded, *measurement.blocks()))
                findings.append(finding)
    for figure in ON_DEMAND:
        limits = [held for held in helds if figure in held.budgets]
        if limits:
            value, fix = measurement.peak(figure)
            findings += [_budget_finding(model, figure, value, held, where, fix) for held in limits]
    return [finding._replace(update=update) for finding in findings]


def _figure_findings(model: str, figure: str, value: int, held: Held, where: Location | None) -> list[Finding]:
    findings = []
    if figure in held.figures:
        expected = held.figures[figure]
        tolerance = held.tolerances.get(figure)
        holds = value == expected if tolerance is None else tolerance.allows(expected, value)
        detail = f"{held.source}" + (f", tolerance {tolerance}" if tolerance else "")
        written = held.written.get(figure) if held.source == "expect" else None  # the line to change
        findings.append(Finding(model, figure, expected, value, "" if holds else "drift", where, detail, where=written))
    if figure in held.budgets:
        findings.append(_budget_finding(model, figure, value, held, where))
    return findings


def _budget_finding(model: str, figure: str, value: int, held: Held, where: Location | None,
                    fix: str = "") -> Finding:
    """`value` against the budget `held` gives `figure`; `fix` (with {limit}) says how to meet it."""
    limit = held.budgets[figure]
    over = value > limit
    detail = f"{held.source}: max_{figure}" + (f"; {fix.format(limit=limit)}" if over and fix else "")
    return Finding(model, figure, limit, value, "over budget" if over else "", where, detail,
                   where=held.where.get(figure, where), budget=f"max_{figure}")


def _expect(graph: Graph) -> Held | None:
    return None if graph.expect is None else held_from(graph.expect, "expect")


def _shown(entry: Entry) -> str:
    """An entry's `spec:` in a message: a bundled spec's name said to be one."""
    return f"the bundled spec {entry.spec!r}" if bundled_name(entry.spec) and bundled_spec(entry.spec_path) else entry.spec


def _gone(baseline: Baseline, measured: set[str], checked: set[str]) -> list[Finding]:
    """Baseline models whose spec file is gone, or whose file (among those checked) lost them."""
    entries = [(entry.model, entry.spec_path, _shown(entry), entry.location) for entry in baseline.entries.values()]
    entries += [(model, path, str(path), error.location) for model, (path, error) in baseline.broken.items()]
    entries = [entry for entry in entries if entry[0] not in measured]
    if not entries:
        return []
    checked_files = {Path(path).resolve() for path in checked if file_there(Path(path))}
    findings = []
    for model, path, spec, location in entries:
        if path is None or not file_there(path):
            findings.append(Finding(model, "", None, None, "spec gone", location,
                                    f"{spec} does not exist; remove the entry or run '{update_command(baseline.path)}'"))
        elif path.resolve() in checked_files:
            findings.append(Finding(model, "", None, None, "spec gone", location,
                                    f"{spec} no longer defines it (renamed?); run '{update_command(baseline.path)}' "
                                    "to bring the baseline up to date"))
    return findings
