"""`archcalc check` output: the terminal table, GitHub annotations with a step summary, JSON."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from archcalc.check import BUDGETS, FIGURES, BlockChange, CheckResult, Finding
from archcalc.check.baseline import update_command
from archcalc.errors import Location, hidden, on_one_line, shown_safely
from archcalc.render.numbers import grouped, human
from archcalc.render.styles import FAILED, FAILED_VERDICT, HOLDS_VERDICT
from archcalc.render.table import Column, StyledLines, Table, as_markdown, as_text

COLUMNS = [Column("model", "<"), Column("figure", "<"), Column("baseline", ">"), Column("now", ">"),
           Column("change", ">"), Column("%", ">"), Column("", "<")]
BUDGET_COLUMNS = [Column("model", "<"), Column("budget", "<"), Column("limit", ">"), Column("now", ">"),
                  Column("headroom", ">"), Column("%", ">"), Column("verdict", "<")]

PRIORITY = ("over budget", "input changed", "drift", "not in the baseline", "spec gone", "nothing to check against")
"""The order of the annotations: broken budgets first, then inputs that changed and figures that
moved (with them), then models new or gone."""
ANNOTATIONS_PER_STEP = 10
"""GitHub shows 10 error annotations of a step (10 warnings and 10 notices besides; 50 a job): the
'Limitations' of actions/toolkit's docs/problem-matchers.md. The rest are counted in a notice."""
ACCEPT = {
    "over budget": "If the growth is intended, raise the budget where it is written ('archcalc check --update' "
                   "records figures, never budgets).",
    "drift": "If the change is intended, run '{update}' and commit {baseline}.",
    "spec gone": "If that is intended, run '{update}' and commit {baseline}.",
    "drift from expect": "If the change is intended, write the new figure in the spec's 'expect:' ('archcalc check "
                         "--update' records the baseline, not 'expect:').",
}
"""How to accept each problem (by kind; a drift from a spec's `expect:` apart) where the finding's
own detail does not say it."""
BLOCKS_NAMED = 3
"""The blocks a message names with their changes (the first is where the change starts); the rest are counted."""
NO_BLOCKS = ("{baseline} records no per-block figures for {model}: '{update}' adds them, so that a "
             "change names the block where it starts")


def cells(finding: Finding) -> list[str]:
    """model, figure, baseline, now, change, %, verdict — as text."""
    change, relative = finding.change, finding.relative_change
    share = "" if relative is None else f"{100 * relative:+.2f}%"
    verdict = "✓" if finding.ok else f"✗ {finding.problem}" + (f" ({finding.detail})" if finding.detail else "")
    if finding.blocks:
        verdict += " in " + ", ".join(change.block for change in finding.blocks)
    return [finding.model, BUDGETS.get(finding.figure, ""),
            "" if finding.expected is None else grouped(finding.expected),
            "" if finding.now is None else grouped(finding.now),
            "" if change is None else f"{change:+,}", share, verdict]


def verdict(result: CheckResult) -> str:
    problems = [f for f in result.findings if not f.ok]
    models = len({f.model for f in result.findings})
    checks = f"{_counted(len(result.findings), 'check')} on {_counted(models, 'model')}"
    if not problems:
        return f"all {checks} hold" if len(result.findings) != 1 else f"the {checks} holds"
    return f"{len(problems)} of {checks} {'fails' if len(problems) == 1 else 'fail'}"


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def findings_table(findings: list[Finding], columns: list[Column] = COLUMNS) -> Table:
    """A line per finding; one that does not hold in red."""
    table = Table(columns)
    for finding in findings:
        table.add(cells(finding), "" if finding.ok else FAILED)
    return table


def check_table(result: CheckResult) -> StyledLines:
    return [(f"archcalc check against {shown_safely(on_one_line(str(result.baseline.path)))}", "bold"), ("", ""),
            *as_text(findings_table(result.findings)),
            *((_no_blocks(result, model), "") for model in _unrecorded(result)),
            (verdict(result), HOLDS_VERDICT if result.ok else FAILED_VERDICT)]


class Problem(NamedTuple):
    """One model's findings of one problem: one annotation."""

    model: str
    kind: str
    findings: list[Finding]


def problems(result: CheckResult) -> list[Problem]:
    """A problem per model and kind, in PRIORITY order (models in the order checked); a FLOPs
    drift that is twice its MACs drift at both ends is left out as the MACs one says it."""
    groups: dict[tuple[str, str], list[Finding]] = {}
    for finding in result.findings:
        if not finding.ok:
            groups.setdefault((finding.model, finding.problem), []).append(finding)
    found = [Problem(model, kind, _without_twice_macs(findings) if kind == "drift" else findings)
             for (model, kind), findings in groups.items()]
    return sorted(found, key=lambda problem: PRIORITY.index(problem.kind))


def github(result: CheckResult) -> str:
    """One `::error` workflow command per model and problem (most important first), at the line
    of its cause: the first block that changed, the budget broken; at most as many as GitHub
    shows, then a notice counting the rest, and a notice with the verdict."""
    found = problems(result)
    shown, rest = found[:ANNOTATIONS_PER_STEP], found[ANNOTATIONS_PER_STEP:]
    out = [_command("error", _problem_place(problem), f"archcalc check: {problem.model} {problem.kind}",
                    _problem_message(problem, result)) for problem in shown]
    if rest:
        out.append(_command("notice", None, "archcalc check: more problems",
                            f"{len(rest)} more problems are not annotated (GitHub shows {ANNOTATIONS_PER_STEP} error "
                            "annotations a step): " + "; ".join(f"{p.model} {p.kind}" for p in rest)
                            + ". The step summary and the table (archcalc check without --format github) "
                              "list every one."))
    out.append(_command("notice", None, "archcalc check", verdict(result)))
    return "".join(out)


def summary_markdown(result: CheckResult) -> str:
    """The step summary: the verdict, the budgets as headroom and the figures against the
    baseline, each a table grouped by model (of what does not hold, or of everything)."""
    shown = [f for f in result.findings if not f.ok] or result.findings
    budgets = [f for f in shown if f.budget]
    figures = [f for f in shown if not f.budget]
    parts = [f"### archcalc check: {verdict(result)}\n"]
    if budgets:
        parts.append(_markdown(_grouped(budgets, BUDGET_COLUMNS, _budget_cells)))
    if figures:
        parts.append(_markdown(_grouped(figures, [*COLUMNS[:-1], Column("verdict", "<")], cells)))
    parts += [f"{_no_blocks(result, model)}.\n" for model in _unrecorded(result)]
    return "\n".join(parts) + "\n"


def to_json(result: CheckResult) -> str:
    import json

    findings = [{
        "model": f.model, "figure": f.figure or None, "expected": f.expected, "now": f.now,
        "change": f.change, "ok": f.ok, "problem": f.problem or None, "detail": f.detail or None,
        "location": str(f.location) if f.location else None,
        "blocks": None if f.blocks is None else [
            {"block": b.block, "expected": b.expected, "now": b.now, "change": b.change,
             "location": str(b.location) if b.location else None} for b in f.blocks],
    } for f in result.findings]
    document = {"schema": "archcalc.check/1", "baseline": str(result.baseline.path), "ok": result.ok,
                "verdict": verdict(result), "findings": findings}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _grouped(findings: list[Finding], columns: list[Column], write) -> Table:
    """A line per finding, the findings of a model together, its name on the first of them."""
    models = list(dict.fromkeys(f.model for f in findings))
    ordered = sorted(findings, key=lambda f: models.index(f.model))
    table = Table(columns)
    for index, finding in enumerate(ordered):
        row = write(finding)
        table.add(["" if index and ordered[index - 1].model == finding.model else row[0], *row[1:]])
    return table


def _budget_cells(finding: Finding) -> list[str]:
    """model, budget, limit, now, headroom, its share of the limit, verdict."""
    headroom, limit = finding.headroom, finding.expected
    share = f"{100 * headroom / limit:+.2f}%" if headroom is not None and limit else ""
    return [finding.model, finding.budget, grouped(limit), grouped(finding.now), f"{headroom:+,}", share,
            cells(finding)[-1]]


def _markdown(table: Table) -> str:
    return "".join(f"{line}\n" for line in as_markdown(table))


def _without_twice_macs(findings: list[Finding]) -> list[Finding]:
    macs = next((f for f in findings if f.figure == "macs"), None)
    return [f for f in findings if not (f.figure == "flops" and macs is not None and macs.expected is not None
                                        and (f.expected, f.now) == (2 * macs.expected, 2 * macs.now))]


def _problem_place(problem: Problem) -> Location | None:
    """Where its annotation points: the budget's line; the first block where a drift starts, else
    the line of the figure in `expect:` that moved."""
    first = problem.findings[0]
    if problem.kind == "over budget":
        return first.where or first.location
    blocks = _block_changes(problem.findings)
    start = blocks[0][0][0] if blocks else None
    return start.location if start and start.location else first.where or first.location


def _block_changes(findings: list[Finding]) -> list[list[tuple[BlockChange, str]]]:
    """The blocks the findings name, in model order: each block's changes with their figures."""
    by_block: dict[str, list[tuple[BlockChange, str]]] = {}
    for finding in findings:
        for change in finding.blocks or ():
            by_block.setdefault(change.block, []).append((change, finding.figure))
    return sorted(by_block.values(), key=lambda changes: changes[0][0].order)


def _problem_message(problem: Problem, result: CheckResult) -> str:
    """What moved or broke, where it starts, and how to accept it."""
    findings, baseline = problem.findings, str(result.baseline.path)
    if not findings[0].figure:  # a model new, gone, or with nothing to hold it to
        text = f"{problem.model}: {problem.kind}" + (f" — {findings[0].detail}" if findings[0].detail else "")
    elif problem.kind == "over budget":
        text = f"{problem.model}: " + "; ".join(
            f"{BUDGETS[f.figure]} {grouped(f.now)} is over the budget of {grouped(f.expected)} ({f.detail})"
            for f in findings)
    else:
        one = len({f.detail for f in findings}) == 1  # where they are held to, once if the same for all
        text = f"{problem.model}" + (f" ({findings[0].detail})" if one else "") + ": " + ", ".join(
            f"{BUDGETS[f.figure]} {grouped(f.expected)} → {grouped(f.now)} ({_percent(f.relative_change)}"
            + ("" if one else f", {f.detail}") + ")" for f in findings)
    blocks = _block_changes(findings)
    if blocks:
        named, more = blocks[:BLOCKS_NAMED], blocks[BLOCKS_NAMED:]
        text += ". It starts in " + "; then ".join(map(_block_text, named))
        text += f"; and {len(more)} more block{'s' * (len(more) > 1)}" if more else ""
    elif problem.model in _unrecorded(result, findings):
        text += ". " + _no_blocks(result, problem.model)
    kinds = dict.fromkeys(f"{problem.kind} from expect" if f.detail.startswith("expect") and problem.kind == "drift"
                          else problem.kind for f in findings)
    update = _update_of(result, problem.model)
    return f"{text}." + "".join(f" {ACCEPT[kind].format(baseline=baseline, update=update)}" for kind in kinds
                                if kind in ACCEPT)


def _block_text(changes: list[tuple[BlockChange, str]]) -> str:
    """'layer3: +5.55 G MACs (+35.9%), +1.18 M parameters (+16.6%)'."""
    return changes[0][0].block + ": " + ", ".join(
        f"{_signed(change.change)} {BUDGETS[figure]} ({_percent(change.relative_change)})"
        if change.expected and change.now is not None else
        f"{BUDGETS[figure]} {'none' if change.expected is None else human(change.expected)} → "
        f"{'none' if change.now is None else human(change.now)}"
        for change, figure in changes)


def _signed(number: int) -> str:
    return ("+" if number > 0 else "") + human(number)


def _percent(share: float | None) -> str:
    return "new" if share is None else f"{100 * share:+.1f}%"


def _unrecorded(result: CheckResult, findings: list[Finding] | None = None) -> list[str]:
    """The models failing a figure the baseline records, whose entry records no blocks."""
    entries = result.baseline.entries
    return list(dict.fromkeys(f.model for f in (result.findings if findings is None else findings)
                              if not f.ok and f.figure in FIGURES and f.model in entries
                              and entries[f.model].blocks is None))


def _no_blocks(result: CheckResult, model: str) -> str:
    return NO_BLOCKS.format(baseline=result.baseline.path, model=model, update=_update_of(result, model))


def _update_of(result: CheckResult, model: str) -> str:
    """The command that records `model` again (its findings', which name its spec file where it
    moved to another; a bare 'archcalc check --update' where none says)."""
    return next((f.update for f in result.findings if f.model == model and f.update),
                update_command(result.baseline.path))


def _command(kind: str, where: Location | None, title: str, message: str) -> str:
    """A workflow command: `::error file=F,line=L,col=C,title=T::MESSAGE` (GitHub's 'Workflow
    commands for GitHub Actions', docs.github.com), its values escaped as actions/toolkit does."""
    place = f"file={_property(_in_checkout(where.file))},line={where.line},col={where.column}," if where else ""
    return f"::{kind} {place}title={_property(title)}::{_message(message)}\n"


def _in_checkout(file: str) -> str:
    """A spec's path as GitHub matches an annotation to a file of the repository: relative to the
    checkout ($GITHUB_WORKSPACE) where it lies in it (a step may run in a folder below it), as
    named (a link is not followed to its target), and never from ./ (GitHub shows no annotation on
    ./specs/a.yaml, nor on an absolute path). A bundled spec's name (specs/resnet.yaml) is left as
    it is: it is no file of the checkout."""
    from archcalc.spec.catalog import shown_as_bundled

    if shown_as_bundled(file):
        return file
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        try:
            return Path(os.path.abspath(file)).relative_to(os.path.abspath(workspace)).as_posix()
        except ValueError:  # outside the checkout
            pass
    while file.startswith("./"):
        file = file[2:]
    return file


def _message(text: str) -> str:
    """Escaping for a workflow command's message (GitHub Actions toolkit rules); any other hidden
    character (an ESC in a file's name) percent-encoded alike (a byte of a name that is no UTF-8
    stays, written as that byte)."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text if text.isprintable() else "".join(_encoded(c) if hidden(c) else c for c in text)


def _encoded(character: str) -> str:
    """A character percent-encoded, byte by byte of its UTF-8."""
    return "".join(f"%{byte:02X}" for byte in character.encode("utf-8"))


def _property(text: str) -> str:
    """Escaping for a workflow command's property value."""
    return _message(text).replace(":", "%3A").replace(",", "%2C")
