"""`archcalc check` output: the terminal table, GitHub annotations with a step summary, JSON."""

from __future__ import annotations

from archcalc.check import BUDGETS, CheckResult, Finding
from archcalc.render.numbers import grouped
from archcalc.render.styles import FAILED, FAILED_VERDICT, HOLDS_VERDICT
from archcalc.render.table import Column, StyledLines, Table, as_markdown, as_text

COLUMNS = [Column("model", "<"), Column("figure", "<"), Column("baseline", ">"), Column("now", ">"),
           Column("change", ">"), Column("%", ">"), Column("", "<")]


def cells(finding: Finding) -> list[str]:
    """model, figure, baseline, now, change, %, verdict — as text."""
    change, relative = finding.change, finding.relative_change
    share = "" if relative is None else f"{100 * relative:+.2f}%"
    verdict = "✓" if finding.ok else f"✗ {finding.problem}" + (f" ({finding.detail})" if finding.detail else "")
    return [finding.model, BUDGETS.get(finding.figure, ""),
            "" if finding.expected is None else grouped(finding.expected),
            "" if finding.now is None else grouped(finding.now),
            "" if change is None else f"{change:+,}", share, verdict]


def verdict(result: CheckResult) -> str:
    problems = [f for f in result.findings if not f.ok]
    models = len({f.model for f in result.findings})
    if not problems:
        return f"all {len(result.findings)} checks on {models} models hold"
    return f"{len(problems)} of {len(result.findings)} checks on {models} models fail"


def findings_table(findings: list[Finding], columns: list[Column] = COLUMNS) -> Table:
    """A line per finding; one that does not hold in red."""
    table = Table(columns)
    for finding in findings:
        table.add(cells(finding), "" if finding.ok else FAILED)
    return table


def check_table(result: CheckResult) -> StyledLines:
    return [(f"archcalc check against {result.baseline.path}", "bold"), ("", ""),
            *as_text(findings_table(result.findings)),
            (verdict(result), HOLDS_VERDICT if result.ok else FAILED_VERDICT)]


def github(result: CheckResult) -> str:
    """One `::error` workflow command per problem, pointing at the spec (or baseline) line."""
    out = []
    for finding in result.findings:
        if finding.ok:
            continue
        where = finding.location
        place = f"file={_property(where.file)},line={where.line},col={where.column}," if where else ""
        title = _property(f"archcalc check: {finding.model}")
        out.append(f"::error {place}title={title}::{_message(_sentence(finding))}\n")
    out.append(f"::notice title=archcalc check::{_message(verdict(result))}\n")
    return "".join(out)


def summary_markdown(result: CheckResult) -> str:
    """The step summary: the verdict and a table of what does not hold (or of everything)."""
    shown = [f for f in result.findings if not f.ok] or result.findings
    columns = [Column(column.heading or "verdict") for column in COLUMNS]  # alignment left to GitHub
    return (f"### archcalc check: {verdict(result)}\n\n"
            + "".join(f"{line}\n" for line in as_markdown(findings_table(shown, columns))) + "\n")


def to_json(result: CheckResult) -> str:
    import json

    findings = [{
        "model": f.model, "figure": f.figure or None, "expected": f.expected, "now": f.now,
        "change": f.change, "ok": f.ok, "problem": f.problem or None, "detail": f.detail or None,
        "location": str(f.location) if f.location else None,
    } for f in result.findings]
    document = {"schema": "archcalc.check/1", "baseline": str(result.baseline.path), "ok": result.ok,
                "verdict": verdict(result), "findings": findings}
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _sentence(finding: Finding) -> str:
    if not finding.figure:
        return f"{finding.model}: {finding.problem}" + (f" — {finding.detail}" if finding.detail else "")
    what = BUDGETS[finding.figure]
    if finding.problem == "over budget":
        return (f"{finding.model}: {what} {grouped(finding.now)} is over the budget of "
                f"{grouped(finding.expected)} ({finding.detail})")
    return (f"{finding.model}: {what} changed from {grouped(finding.expected)} to {grouped(finding.now)} "
            f"({finding.change:+,}; {finding.detail})")


def _message(text: str) -> str:
    """Escaping for a workflow command's message (GitHub Actions toolkit rules)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    """Escaping for a workflow command's property value."""
    return _message(text).replace(":", "%3A").replace(",", "%2C")
