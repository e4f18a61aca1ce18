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
        max_peak_bytes: 300000000   # a budget of a figure measured only for it: the inference peak
        max_train_peak_bytes: 900000000  # and the peak of a training step (SGD with momentum)
        tolerance: {macs: 1%}       # optional; default exact
        blocks:                     # each top-level block's figures: a change names its block
          conv1: {params: 9408, macs: 118013952, flops: 236027904, activation_bytes: 3211264}
          …
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from functools import lru_cache, partial
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from archcalc.conventions import CONVENTIONS, DEFAULT_CONVENTION
from archcalc.errors import Location, OutputError, SpecError, did_you_mean, hidden, on_one_line, shown_safely
from archcalc.limits import MAX_DIMENSION, MAX_PATH_CHARS, MAX_YAML_NODES
from archcalc.reading import nothing_at, read_text_file
from archcalc.sizes import parse_input
from archcalc.spec.expand import check_one_line
from archcalc.spec.held import FIGURE_KEYS, PEAKS, Held, count, held_from, where
from archcalc.spec.source import YMap, parse_yaml
from archcalc.stats import DTYPE_BYTES
from archcalc.stats import FIGURES as ALL_FIGURES

FIGURES = {name: ALL_FIGURES[name] for name in FIGURE_KEYS}
"""The figures a model is held to, with their names in tables."""
BUDGETS = {**FIGURES, **PEAKS}
"""The figures a budget (max_…) can bound, with their names in tables."""
CONDITION_KEYS = ("spec", "input", "batch", "convention", "dtype")
BLOCKS = "blocks"
"""The key of an entry's per-block record: each top-level block's figures (`--update` writes it)."""
_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_ONE_LINE = 10**9
"""A line width no value reaches: the emitter never folds a value onto a second line."""
HEADER = ("# archcalc baseline: the figures `archcalc check` holds each model to.\n"
          "# `{update}` rewrites the figures; budgets (max_…), tolerances and comments stay.\n"
          "models:\n")
"""The top of a baseline written anew; {update}: the command that updates it (`_header`)."""


class Entry(NamedTuple):
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
    blocks: dict[str, dict[str, int]] | None = None
    """Each top-level block's figures, in model order; None where the entry records none."""


class Baseline(NamedTuple):
    """The baseline file as read: its entries, its parsed document and its text (what `--update`
    edits). `broken`: with `repairable`, the entries that do not validate, by model, each with
    its spec file where the entry names one, and the error (`--update` measures and rewrites them)."""

    path: Path
    exists: bool
    entries: dict[str, Entry]
    document: YMap | None = None
    text: str = ""
    broken: Mapping[str, tuple[Path | None, SpecError]] = {}  # shared, never changed


def load_baseline(path: str | Path, repairable: bool = False) -> Baseline:
    """The baseline at `path`; an empty one when the file does not exist yet. An entry that does
    not validate is a SpecError at its place; with `repairable` (for `--update`) it is kept
    aside in `broken` instead."""
    path = Path(path)
    if nothing_at(path):  # a name that cannot be looked up (a loop of links) is not absent: reading says why
        return Baseline(path, False, {})
    text = read_text_file(path, str(path), "baseline")
    if _holds_nothing(text):  # empty, comments alone or '---' alone: no model yet
        return Baseline(path, True, {}, YMap(), text)
    document = _parsed(text, str(path))
    for key in document:
        if key != "models":
            raise SpecError(f"unknown key '{key}' in the baseline", location=document.key_where(key),
                            hint="a baseline holds one key, 'models:'")
    models = document.get("models")
    if models is not None and not isinstance(models, YMap):  # None: 'models:' with nothing under it
        raise SpecError("'models' must be a mapping of model name → figures", location=document.where("models"))
    entries, broken = {}, {}
    roots = spec_roots(path)
    for name, body in (models or {}).items():
        # printed in the table and rewritten by --update: a name with an ESC would drive the terminal
        check_one_line(str(name), models.key_where(name), "the baseline's model name")
        spec = body.get("spec") if isinstance(body, YMap) else None
        if isinstance(spec, str) and any(map(hidden, spec)):  # shown in the table when it is gone, as a name is
            raise SpecError(f"the spec {spec!r} of the baseline entry '{name}' is not one line of text",
                            location=body.where("spec"), hint="a path holds no line breaks, tabs, other control "
                            "characters or invisible format characters (such as U+202E, which reverses the text after it)")
        if isinstance(body, YMap):  # keys, budgets and tolerances: --update keeps them, so they must be right
            held_from(body, "baseline", figures=False, other_keys=(*CONDITION_KEYS, BLOCKS))
            _within(body, path, roots)
        try:
            entries[name] = _entry(name, body, models.key_where(name), path)
        except SpecError as error:  # conditions and figures: --update measures and writes them
            if not repairable:
                raise
            spec = body.get("spec") if isinstance(body, dict) else None
            broken[name] = (spec_file(path.parent, spec) if isinstance(spec, str) and spec else None, error)
    return Baseline(path, True, entries, document, text, broken)


def spec_roots(path: Path) -> tuple[Path, ...]:
    """The folders whose files a baseline may name: its own, the current one, the bundled specs'."""
    from archcalc.spec.catalog import specs_dir

    roots = [path.parent.resolve(), specs_dir().resolve()]
    try:
        roots.append(Path.cwd().resolve())
    except OSError:  # the current folder is gone
        pass
    return tuple(roots)


OUTSIDE_HINT = ("a baseline names spec files in its own folder or the current one, or below them: run check from a "
                "folder that holds the spec, or check a spec elsewhere by naming it (archcalc check PATH)")


def within_roots(spec: Path, roots: tuple[Path, ...]) -> bool:
    """Whether the file `spec` lies in one of `roots` or below it."""
    try:
        return any(spec.resolve().is_relative_to(root) for root in roots)
    except (OSError, RuntimeError, ValueError):  # a name too long, a loop of links, a NUL
        return False


def _within(body: YMap, path: Path, roots: tuple[Path, ...]) -> None:
    """A SpecError at the entry's `spec:` where it names a file outside `roots` and below them: a
    baseline nobody has read cannot make archcalc read, and quote in an error, a file elsewhere."""
    spec = body.get("spec")
    if not isinstance(spec, str) or not spec:
        return  # the entry's own check says what is wrong
    if len(spec) > MAX_PATH_CHARS:
        raise SpecError(f"the spec's path has {len(spec):,} characters, more than {MAX_PATH_CHARS:,}",
                        location=body.where("spec"), hint="name the spec file by its path from the baseline's folder")
    try:
        spec_file(path.parent, spec).resolve()
    except (OSError, RuntimeError, ValueError):  # told as "outside the baseline's folder", with the hint to move
        raise SpecError(f"the spec {spec!r} cannot be resolved: a loop of links, a name too long or a NUL",
                        location=body.where("spec"), hint="name the spec file by its path from the baseline's folder") from None
    if not within_roots(spec_file(path.parent, spec), roots):
        raise SpecError(f"the spec {spec!r} lies outside the baseline's folder and the current one",
                        location=body.where("spec"), hint=OUTSIDE_HINT)


def _holds_nothing(text: str) -> bool:
    """The text holds no YAML document, or an empty one: nothing but comments, blank lines, '---'
    and directives, as YAML reads them (a tab or a stray character is YAML's error, not nothing).
    Only a text of such lines is given to YAML here: a baseline of records is read once, by _parsed."""
    if not all(not line.strip(" \r") or line.lstrip(" ").startswith(("#", "---", "%"))
               for line in text.removeprefix("\ufeff").split("\n")):
        return False
    try:
        return _empty_document(yaml.compose(text, Loader=_COMPOSER))
    except yaml.YAMLError:
        return False


def _empty_document(root: yaml.Node | None) -> bool:
    """No document at all, or one of nothing ('---' alone)."""
    return root is None or (isinstance(root, yaml.ScalarNode) and root.tag.endswith(":null") and root.value == "")


_RECORD = re.compile(r"^( +[\w.-]+: )(\{" + ", ".join(fr"{figure}: (0|[1-9][0-9]*)" for figure in FIGURE_KEYS) + r"\})$",
                     re.MULTILINE)
"""A block's line of the per-block record as --update writes it: the key, then its figures in flow style."""
_location = partial(tuple.__new__, Location)
"""Location(…) without its Python __new__."""


@lru_cache(maxsize=8)
def _parsed(text: str, name: str) -> YMap:
    """The baseline's text as parse_yaml reads it (cached: callers must not change it). The lines
    of the per-block records, most of the file, are read by one pattern (`_RECORD`): YAML reads a
    placeholder `1` in each one's figures' place, and is given the very mappings, values and
    places it would have made of them; the text is read whole by YAML where anything differs
    (an error, a placeholder not where it stands, anchors, a node count near the bound)."""
    records, pieces, line, at, end = {}, [], 1, 0, 0
    for match in _RECORD.finditer(text):
        line += text.count("\n", at, match.start())
        at = match.start()
        records[(line, len(match[1]) + 1)] = match
        pieces += [text[end:match.start(2)], "1"]
        end = match.end(2)
    if not records or "&" in text:
        return parse_yaml(text, name, what="baseline")
    try:
        document = parse_yaml.__wrapped__("".join(pieces) + text[end:], name, what="baseline")
    except SpecError:
        return parse_yaml(text, name, what="baseline")  # which raises the error where the text has it
    models = document.get("models")
    nodes, found = _nodes(document), 0
    for body in models.values() if isinstance(models, YMap) else ():
        blocks = body.get(BLOCKS) if isinstance(body, YMap) else None
        if not isinstance(blocks, YMap):
            continue
        for block, value in blocks.items():
            where = blocks.value_locations[block]
            match = records.get((where.line, where.column))
            if match is not None and value == 1 and type(value) is int:
                blocks[block] = _record(match, where)
                found += 1
    if found != len(records) or nodes + 8 * found > MAX_YAML_NODES:  # a record is 9 nodes, not 1
        return parse_yaml(text, name, what="baseline")
    return document


def _record(match: re.Match, where: Location) -> YMap:
    """One block's figures (`_RECORD`'s `match`, its `{` at `where`), as YAML reads them."""
    record = YMap()
    record.location = where
    record.key_locations, record.value_locations = {}, {}
    file, line, start = where.file, where.line, match.start() - 1
    for group, figure in enumerate(FIGURE_KEYS, start=3):
        column = match.start(group) - start
        record.key_locations[figure] = _location((file, line, column - len(figure) - 2))
        record.value_locations[figure] = _location((file, line, column))
        record[figure] = int(match[group])
    return record


def _nodes(value: Any) -> int:
    """The YAML nodes of a parsed value (a mapping's keys and values, a list's items, itself)."""
    if isinstance(value, dict):
        return 1 + len(value) + sum(map(_nodes, value.values()))
    if isinstance(value, list):
        return 1 + sum(map(_nodes, value))
    return 1


DEFAULT_BASELINE = Path("archcalc.lock.yaml")
"""The baseline `check` reads and writes without --baseline."""


def update_command(baseline: Path, spec: str = "") -> str:
    """'archcalc check [SPEC] --update', the command that records a model in `baseline`: with
    '--baseline FILE' where that is not the default file (without it, the command writes another).
    `spec` is a word of the command line already (`shell_word`)."""
    named = "" if Path(baseline) == DEFAULT_BASELINE else f" --baseline {shell_word(str(baseline))}"
    return f"archcalc check {spec + ' ' if spec else ''}--update{named}"


def shell_word(text: str) -> str:
    """A file's name as one word of a command line a message shows: in double quotes where a shell
    would split it (single quotes where it holds what double quotes expand), and with what a
    terminal acts on (an ESC, a line feed) written as its escape; one that starts with '-' as a
    path, './-net.yaml', which no command line reads as an option."""
    if any(map(hidden, text)):
        text = shown_safely(on_one_line(text))
    if text.startswith("-"):
        text = "./" + text
    quoted = shlex.quote(text)
    return quoted if quoted == text or any(c in text for c in '"$`\\!') else f'"{text}"'


def no_spec_hint(baseline: Path) -> str:
    """What to do about an entry that names no spec: a bare --update cannot measure it."""
    return (f"run '{update_command(baseline, 'SPEC')}' with the spec file that defines the model, or write that "
            "file's path (or a bundled spec's name) under 'spec:', or remove the entry")


def _entry(name: str, body: Any, location: Location, path: Path) -> Entry:
    """One entry of the baseline at `path`, validated: its conditions (text, sizes and names
    archcalc knows) and every figure."""
    if not isinstance(body, YMap):
        raise SpecError(f"the baseline entry '{name}' must be a mapping", location=location, hint=no_spec_hint(path))
    rewrite = f"run '{update_command(path)}' to rewrite the entry"
    for key, fix in (("spec", no_spec_hint(path)), ("input", rewrite)):
        if not isinstance(body.get(key), str) or not body[key]:
            raise SpecError(f"the baseline entry '{name}' needs '{key}:' as text",
                            location=body.where(key) if key in body else body.location, hint=fix)
    try:
        parse_input(body["input"])
    except SpecError as error:
        raise SpecError(f"'input' of the baseline entry '{name}': {error.message}", location=body.where("input"),
                        hint="sizes are whole numbers, like 3x224x224") from None
    batch = count(body, "batch", 1, minimum=1)
    if batch > MAX_DIMENSION:
        raise SpecError(f"'batch' of the baseline entry '{name}' must be at most {MAX_DIMENSION:,}, got {batch:,}",
                        location=body.where("batch"), hint=rewrite)
    convention = _choice(body, "convention", DEFAULT_CONVENTION, CONVENTIONS)
    dtype = _choice(body, "dtype", "float32", DTYPE_BYTES)
    held = held_from(body, "baseline", other_keys=(*CONDITION_KEYS, BLOCKS))
    for figure in FIGURE_KEYS:
        if figure not in body:
            raise SpecError(f"the baseline entry '{name}' has no '{figure}'", location=body.location,
                            hint=f"run '{update_command(path)}' to record its figures")
    return Entry(name, body["spec"], spec_file(path.parent, body["spec"]), body["input"], batch, convention, dtype, held,
                 location, _blocks(name, body, path))


def _blocks(name: str, body: YMap, path: Path) -> dict[str, dict[str, int]] | None:
    """The entry's per-block record, each block's four figures whole numbers ≥ 0 (None if it has none)."""
    blocks = body.get(BLOCKS)
    if BLOCKS not in body:
        return None
    fix = f"run '{update_command(path)}' to record them anew"
    if not isinstance(blocks, YMap) or not blocks:
        raise SpecError(f"'{BLOCKS}' of the baseline entry '{name}' must map each top-level block to its figures",
                        location=body.where(BLOCKS), hint=fix)
    for block, figures in blocks.items():
        if any(map(hidden, str(block))):  # a block the model no longer has is named in the table
            raise SpecError(f"block {str(block)!r} of the baseline entry '{name}' is not one line of text",
                            location=blocks.key_where(block), hint=fix)
        if not isinstance(figures, YMap) or set(figures) != set(FIGURE_KEYS):
            raise SpecError(f"block '{block}' of the baseline entry '{name}' must give {', '.join(FIGURE_KEYS)}",
                            location=blocks.where(block), hint=fix)
        for figure in FIGURE_KEYS:
            count(figures, figure)
    return {str(block): dict(figures) for block, figures in blocks.items()}


def _choice(mapping: Mapping, key: str, default: str, choices: Mapping) -> str:
    value = mapping.get(key, default)
    if isinstance(value, (list, dict)):  # no name (nor hashable)
        raise SpecError(f"the {key} must be one name, got a {'list' if isinstance(value, list) else 'mapping'}",
                        location=where(mapping, key), hint=f"write one of {', '.join(choices)}, without brackets")
    if not isinstance(value, str) or value not in choices:
        raise SpecError(f"unknown {key} {value!r}{did_you_mean(str(value), choices)}",
                        location=where(mapping, key), hint=f"choose one of {', '.join(choices)}")
    return value


# --- rewriting -----------------------------------------------------------------------------

def updated_text(baseline: Baseline, measured: dict[str, dict[str, Any]], gone: set[str]) -> str:
    """The baseline's new text: each measured model's conditions and figures set, the models in
    `gone` removed, new models appended at the end.

    An entry written in block style is edited in place, value by value, so that order, comments,
    budgets and tolerances stay and the diff shows only what changed; an entry in any other style
    (flow `{…}`, a folded or multi-line value) is written anew in block style, and a file whose
    `models:` is not a block mapping is written anew as a whole. Every value is written by the YAML
    emitter, and the text is read back and compared with what was meant before it is returned."""
    meant = _meant(baseline, measured, gone)
    ending = _line_ending(baseline.text) if baseline.exists else "\n"
    text = _edited(baseline, meant, measured, gone) if baseline.exists else None
    text = text if text is None else _ended(text, ending)
    if text is None or _read_back(text, baseline.path) != meant:
        text = _ended(_written_anew(meant, baseline.path), ending)
        if _read_back(text, baseline.path) != meant:  # pragma: no cover - the emitter's own output
            raise OutputError(f"the new baseline for {baseline.path} does not read back as written; "
                              "nothing was written")
    return text


def _line_ending(text: str) -> str:
    """The line ending of a text's first line: '\\r\\n' (a file written on Windows), '\\r' alone
    (as the old Mac OS wrote, and YAML reads) or '\\n'."""
    first = re.search("\r\n?|\n", text)
    return first[0] if first else "\n"


def _ended(text: str, ending: str) -> str:
    """`text` with every line ended by `ending`, so that lines edited or added match the file's
    (a file of another ending holds no '\\n' nor '\\r' but as its line breaks, which YAML reads so)."""
    return re.sub("\r\n?|\n", ending, text) if ending != "\n" else text


def yaml_scalar(value: Any) -> str:
    """One value as YAML writes it, on one line: quoted where plain text would read back as
    something else (`'2024'`, `'yes'`, `'a: b'`, `'#5'`)."""
    text = yaml.dump(value, Dumper=_DUMPER, allow_unicode=True, width=_ONE_LINE).removesuffix("\n...\n").rstrip("\n")
    if "\n" in text:  # a line break inside: the double-quoted style writes it as \n
        text = yaml.dump(value, Dumper=_DUMPER, allow_unicode=True, width=_ONE_LINE, default_style='"').rstrip("\n")
    return text


def _meant(baseline: Baseline, measured: dict[str, dict[str, Any]], gone: set[str]) -> dict[str, dict]:
    """What the new baseline must hold: each model's keys and values, as plain data."""
    old = baseline.document.get("models") if baseline.document is not None else None
    models = {name: body for name, body in (old if isinstance(old, dict) else {}).items() if name not in gone}
    for name, values in measured.items():
        previous = models.get(name)
        models[name] = {**(previous if isinstance(previous, dict) else {}), **values}
    return models


def _read_back(text: str, path: Path) -> dict | None:
    """The models of `text` as the baseline reader sees them (None if it does not parse)."""
    try:
        document = parse_yaml(text, str(path), what="baseline")
    except SpecError:
        return None
    models = document.get("models")
    return models if isinstance(models, dict) else ({} if models is None else None)


def _header(path: Path) -> str:
    """HEADER for the baseline at `path`: one that is not archcalc.lock.yaml is updated with
    --baseline naming it (its path from wherever the command runs: not written into the file)."""
    named = Path(path) == DEFAULT_BASELINE
    return HEADER.format(update="archcalc check --update" + ("" if named else " --baseline <this file>"))


def _written_anew(models: dict[str, dict], path: Path) -> str:
    """The whole baseline written by the YAML emitter, in block style (comments are not kept)."""
    return _header(path) + "".join(line for name, values in models.items() for line in _entry_lines(name, values))


def _edited(baseline: Baseline, meant: dict[str, dict], measured: dict[str, dict[str, Any]],
            gone: set[str]) -> str | None:
    """The baseline's text edited in place, or None where its `models:` is not a block mapping."""
    text = baseline.text
    if text and not text.endswith(("\n", "\r")):
        text += "\n"
    try:
        root = yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError:
        return None
    new = [line for name, values in measured.items() for line in _entry_lines(name, values)]
    if _empty_document(root) and text.strip():  # comments or '---' alone: kept above the models
        return text + "models:\n" + "".join(new)
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        return None
    models = next((value for key, value in root.value if key.value == "models"), None)
    if models is None:  # 'models' left out
        return text + "models:\n" + "".join(new)
    if _is_null(models):  # 'models:' and nothing under it (the last key: it is the only one)
        return text + "".join(new)
    if not isinstance(models, yaml.MappingNode) or models.flow_style:
        return None
    lines = text.splitlines(keepends=True)
    if not all(map(partial(_laid_out, lines), models.value)):
        return None
    starts = [key.start_mark.line for key, _ in models.value]
    edits: list[tuple[int, int, list[str]]] = []  # (first line, end line, new lines), 0-based
    for index, (key, body) in enumerate(models.value):
        first = key.start_mark.line
        end = starts[index + 1] if index + 1 < len(starts) else _block_end(lines, first)
        if key.value in gone:
            edits.append((first, end, []))
        elif key.value in measured:
            edited = _edited_entry(lines[first:end], first, body, measured[key.value])
            if edited is not None:
                edits.append((first, end, edited))
            else:  # written anew: up to the entry's last line, so that comments after it stay
                last = body.end_mark.line if body.end_mark.column > 0 else body.end_mark.line - 1
                edits.append((first, max(first + 1, min(end, last + 1)), _entry_lines(key.value, meant[key.value])))
    tail = _block_end(lines, starts[-1]) if starts else len(lines)
    edits.append((tail, tail, [line for name, values in measured.items()
                               if name not in baseline.document["models"] for line in _entry_lines(name, values)]))
    for first, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        lines[first:end] = replacement
    return "".join(lines)


def _laid_out(lines: list[str], entry: tuple[yaml.Node, yaml.Node]) -> bool:
    """Whether an entry's text is its key's line and the lines after it: a key of one line with
    its ':' after it on that line (not one written after a '?', whose ':' may come lines later),
    and a value that is not an alias of another entry's (whose text is that entry's)."""
    key, body = entry
    line = lines[key.start_mark.line]
    return key.start_mark.line == key.end_mark.line and not line.lstrip().startswith("?") \
        and line[key.end_mark.column:].lstrip(" ").startswith(":") and body.start_mark.line >= key.start_mark.line


def _edited_entry(block: list[str], first: int, body: yaml.Node, values: dict[str, Any]) -> list[str] | None:
    """An entry's lines with `values` set in place; None where it is not a block mapping of
    one-line values (then it is written anew)."""
    if not isinstance(body, yaml.MappingNode) or body.flow_style:
        return None
    pairs = {key.value: value for key, value in body.value}
    for key, value in body.value:
        if key.start_mark.line != key.end_mark.line or (
                key.value in values and key.value != BLOCKS
                and not (_one_line(value) and value.start_mark.line == key.start_mark.line and not _is_null(value))):
            return None
    block = list(block)
    for name, new in values.items():  # one key a line, so each line changes once
        if name in pairs and name != BLOCKS:
            value = pairs[name]
            line = value.start_mark.line - first
            start = value.start_mark.column
            stop = value.end_mark.column
            block[line] = block[line][:start] + yaml_scalar(new) + block[line][stop:]
    indent = " " * body.value[0][0].start_mark.column
    last = max((value.end_mark.line for _, value in body.value if _one_line(value)), default=first) - first
    missing = [f"{indent}{name}: {yaml_scalar(values[name])}\n" for name in values
               if name not in pairs and name != BLOCKS]
    splices = []  # (first line, end line, new lines): applied from the last, the record before the keys at a tie
    if BLOCKS in values:  # the per-block record written anew, where it was (else after the other keys)
        key = next((key for key, _ in body.value if key.value == BLOCKS), None)
        start, end = (key.start_mark.line - first, _last_line(pairs[BLOCKS]) - first + 1) if key else (last + 1,) * 2
        splices.append((start, end, _blocks_lines(indent, values[BLOCKS])))
    splices.append((last + 1, last + 1, missing))
    for start, end, lines in sorted(splices, key=lambda splice: splice[0], reverse=True):
        block[start:end] = lines
    return block


def _last_line(node: yaml.Node) -> int:
    """The last line (0-based) a value's text stands on."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style:
        return max(_last_line(part) for pair in node.value for part in pair)
    if isinstance(node, yaml.SequenceNode) and not node.flow_style:
        return max(map(_last_line, node.value))
    return node.end_mark.line - (node.end_mark.column == 0 and node.end_mark.line > node.start_mark.line)


def _blocks_lines(indent: str, blocks: dict[str, dict[str, int]]) -> list[str]:
    """The per-block record: a line per block, its figures in flow style."""
    return [f"{indent}{BLOCKS}:\n",
            *(f"{indent}  {yaml_scalar(name)}: {_flow(figures)}\n" for name, figures in blocks.items())]


def _flow(value: dict) -> str:
    return yaml.dump(_plain(value), Dumper=_DUMPER, allow_unicode=True, sort_keys=False, width=_ONE_LINE,
                     default_flow_style=True).strip()


def _plain(value: Any) -> Any:
    """Parsed mappings and lists as plain dicts and lists, which the emitter writes."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _one_line(node: yaml.Node) -> bool:
    """A scalar written on one line, plain or quoted (not `|` or `>`)."""
    return (isinstance(node, yaml.ScalarNode) and node.style not in ("|", ">")
            and node.start_mark.line == node.end_mark.line)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null"


def _entry_lines(name: str, values: dict[str, Any]) -> list[str]:
    """A whole entry in block style, each key and value written by the emitter; its per-block
    record last, a line per block."""
    blocks = values.get(BLOCKS) if isinstance(values, dict) and _is_record(values.get(BLOCKS)) else None
    rest = {key: value for key, value in values.items() if key != BLOCKS} if blocks else values
    body = yaml.dump({name: _plain(rest)}, Dumper=_DUMPER, allow_unicode=True, sort_keys=False,
                     width=_ONE_LINE, default_flow_style=False, indent=2)
    return [f"  {line}\n" for line in body.splitlines()] + (_blocks_lines("    ", blocks) if blocks else [])


def _is_record(blocks: Any) -> bool:
    """A per-block record as --update writes it: blocks, each a mapping of figures."""
    return isinstance(blocks, dict) and bool(blocks) and all(isinstance(value, dict) for value in blocks.values())


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


def spec_file(folder: Path, spec: str) -> Path:
    """The file an entry's `spec:` names: a bundled spec by its file's name ('resnet', wherever
    archcalc is installed) where there is one, else a path relative to the baseline's `folder` (a
    baseline recorded before, naming a file of its folder that has no .yaml, reads as it did)."""
    from archcalc.spec.catalog import bundled_name, specs_dir

    bundled = specs_dir() / f"{spec}.yaml"
    return bundled if bundled_name(spec) and bundled.is_file() else folder / spec


def recorded_spec(path: str | Path, baseline_path: Path) -> str:
    """A spec file as a baseline records it (`spec_file` reads it back): a bundled spec by its
    file's name, so that the baseline holds wherever archcalc and the project are; else its path
    relative to the baseline's folder (./NAME where NAME alone would read as a bundled name): the
    folder of the path it is named by, a link's and not its target's, where `check` reads it from."""
    from archcalc.spec.catalog import bundled_name

    bundled = bundled_spec(path)
    if bundled is not None:
        return bundled
    relative = os.path.relpath(Path(path).resolve(), baseline_path.parent.resolve())
    return f"./{relative}" if bundled_name(relative) else relative


def bundled_spec(path: str | Path) -> str | None:
    """The name of the bundled spec at `path` ('resnet'); None where it is no bundled spec."""
    from archcalc.spec.catalog import specs_dir

    resolved = Path(path).resolve()
    return resolved.stem if resolved.parent == specs_dir().resolve() and resolved.suffix == ".yaml" else None
