"""`archcalc check --format github` (issue 19 §3): one annotation per model and problem, broken
budgets first, at most what GitHub shows with a notice counting the rest, each at the line of the
top-level block where a change starts, each saying how to accept the change; the per-block record
of the baseline that makes that possible; the step summary.

GitHub's limits: 10 error annotations per step (and 10 warnings, 10 notices), 50 per job — the
'Limitations' of actions/toolkit's docs/problem-matchers.md. A workflow command is
`::error file=F,line=L,col=C,title=T::MESSAGE`, '%', CR and LF escaped as %25, %0D, %0A in the
message, and ':' and ',' also as %3A, %2C in a property (actions/toolkit, packages/core/src/command.ts)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from test_check import ANNOTATION, FAMILY, record

ROOT = Path(__file__).resolve().parents[1]
RESNET50_MACS = 4_089_184_256
"""torchvision's resnet50 at 1×3×224×224 as fvcore's FlopCountAnalysis counts it (one per
multiply-add of its convolutions and linear layer; torchvision's '4.09 GFLOPS')."""


def layer3_macs(width: int) -> int:
    """MACs of ResNet-50's conv4_x (torchvision's v1.5 bottlenecks, 6 of them, 512 channels in at
    28×28, out at 14×14) at `width` planes, by H·W·C_in·C_out·k·k for each convolution: the first
    block's 1×1 at 28×28, its strided 3×3, its 1×1 to 4·width and its strided 1×1 projection;
    five more blocks of 1×1 (4w→w), 3×3 (w→w) and 1×1 (w→4w) at 14×14."""
    w = width
    first = 28 * 28 * 512 * w + 14 * 14 * 9 * w * w + 14 * 14 * w * 4 * w + 14 * 14 * 512 * 4 * w
    return first + 5 * 14 * 14 * (4 * w * w + 9 * w * w + 4 * w * w)


def layer4_input_macs(width: int) -> int:
    """The MACs of ResNet-50's conv5_x that read conv4_x's 4·width channels: the first block's
    1×1 to 512 at 14×14 and its strided 1×1 projection to 2048 at 7×7."""
    return 14 * 14 * 4 * width * 512 + 7 * 7 * 4 * width * 2048


@pytest.fixture
def project(tmp_path, monkeypatch):
    """test_check.py's folder: FAMILY in small.yaml."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text(FAMILY)
    return tmp_path


@pytest.fixture
def widened(tmp_path, monkeypatch, cli):
    """The issue's case: the ResNet family's baseline recorded, a MACs budget on resnet50, then
    conv4_x (layer3) widened from 256 to 320 planes in every variant."""
    monkeypatch.chdir(tmp_path)
    spec = (ROOT / "specs" / "resnet.yaml").read_text()
    Path("resnet.yaml").write_text(spec)
    assert cli("check", "resnet.yaml", "--update").exit_code == 0
    lock = Path("archcalc.lock.yaml")
    lock.write_text(lock.read_text().replace("  resnet50:\n", "  resnet50:\n    max_macs: 4200000000\n"))
    widened = spec.replace('- layer3: {kind: block, repeat: "depths[2]", width: 256,',
                           '- layer3: {kind: block, repeat: "depths[2]", width: 320,')
    assert widened != spec
    Path("resnet.yaml").write_text(widened)
    return tmp_path


def line_of(path: str, text: str) -> int:
    return next(number for number, line in enumerate(Path(path).read_text().splitlines(), 1) if text in line)


def test_the_widened_layer_and_the_broken_budget_make_ten_errors_in_order_and_a_notice(widened, cli, monkeypatch):
    summary = widened / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = cli("check", "resnet.yaml", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert all(ANNOTATION.match(line) for line in lines), lines
    variants = list(yaml.safe_load(Path("resnet.yaml").read_text())["variants"])
    assert len(variants) + 1 > 10  # a drift of every variant and the budget: more than GitHub shows
    errors = [line for line in lines if line.startswith("::error")]
    assert [line for line in lines if not line.startswith("::error")] == lines[10:]
    assert len(errors) == 10 and len(lines) == 12
    # the budget first, at its line in the baseline
    now = RESNET50_MACS + layer3_macs(320) - layer3_macs(256) + layer4_input_macs(320) - layer4_input_macs(256)
    assert errors[0].startswith(f"::error file=archcalc.lock.yaml,line={line_of('archcalc.lock.yaml', 'max_macs')},"
                                "col=15,title=archcalc check%3A resnet50 over budget::resnet50: MACs "
                                f"{now:,} is over the budget of 4,200,000,000 (baseline: max_macs). It starts in "
                                "layer3: ")
    # then the drift of each model, in the spec's order, at the line of the widened stage
    layer3 = f"file=resnet.yaml,line={line_of('resnet.yaml', '- layer3:')},col=5,"
    assert [re.match(r"::error (.*?)title=archcalc check%3A (\S+) (.*?)::", line).groups() for line in errors[1:]] \
        == [(layer3, model, "drift") for model in variants[:9]]
    grown = layer3_macs(320) - layer3_macs(256)
    assert re.search(rf"::resnet50 .*It starts in layer3: [^;]*\+{grown / 1e6:.3g} M MACs "
                     rf"\(\+{100 * grown / layer3_macs(256):.1f}%25\)", errors[3]), errors[3]
    assert all("FLOPs" not in error for error in errors)  # FLOPs = 2 × MACs: the MACs say it
    assert all("'archcalc check --update'" in error for error in errors)
    rest = ", ".join(f"{model} drift" for model in variants[9:]).replace(", ", "; ")
    assert lines[10] == (f"::notice title=archcalc check%3A more problems::{len(variants) - 9} more problems are not "
                         f"annotated (GitHub shows 10 error annotations a step): {rest}. The step summary and the "
                         "table (archcalc check without --format github) list every one.")
    assert lines[11].startswith("::notice title=archcalc check::")
    step_summary_right_aligned_and_grouped(summary.read_text(), variants)


def step_summary_right_aligned_and_grouped(text: str, variants: list[str]) -> None:
    """The budgets table with the headroom, the figures table, numbers right-aligned, each model's
    rows together with its name on the first."""
    from markdown_it import MarkdownIt

    tokens = MarkdownIt().enable("table").parse(text)
    tables, table = [], None
    for index, token in enumerate(tokens):
        if token.type == "table_open":
            table = []
            tables.append(table)
        elif token.type == "tr_open":
            table.append([])
        elif token.type in ("th_open", "td_open"):
            table[-1].append((tokens[index + 1].content, token.attrGet("style")))
    budgets, figures = tables
    assert [cell for cell, _ in budgets[0]] == ["model", "budget", "limit", "now", "headroom", "%", "verdict"]
    assert [cell for cell, _ in budgets[1][:5]] == ["resnet50", "max_macs", "4,200,000,000", budgets[1][3][0],
                                                    f"{4_200_000_000 - int(budgets[1][3][0].replace(',', '')):+,}"]
    for rows in (budgets, figures):
        numbers = [index for index, (heading, _) in enumerate(rows[0]) if heading in
                   ("limit", "now", "headroom", "%", "baseline", "change")]
        assert all(row[index][1] == "text-align:right" for row in rows for index in numbers)
    models = [row[0][0] for row in figures[1:]]
    assert [model for model in models if model] == variants  # each model once, in order
    assert models == [model for variant in variants for model in (variant, "", "", "")]


def test_a_baseline_without_blocks_still_checks_the_totals_and_says_update_adds_them(project, cli):
    baseline = record(cli)
    text = baseline.read_text()
    old = "".join(line for line in text.splitlines(keepends=True) if "blocks:" not in line and "{params" not in line)
    assert old != text
    baseline.write_text(old)
    assert cli("check", "small.yaml").exit_code == 0
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    table = cli("check", "small.yaml")
    assert table.exit_code == 1 and "✗ drift (baseline)\n" in table.stdout
    hint = ("archcalc.lock.yaml records no per-block figures for small_b: 'archcalc check --update' adds them, so "
            "that a change names the block where it starts")
    assert hint in table.stdout
    errors = cli("check", "small.yaml", "--format", "github").stdout.splitlines()[:-1]
    assert len(errors) == 1 and errors[0].startswith("::error file=small.yaml,line=6,col=3,") and hint in errors[0]
    assert cli("check", "small.yaml", "--update").exit_code == 0
    assert "  small_b:\n" in baseline.read_text() and baseline.read_text().count("    blocks:\n") == 2


def conv_and_fc(width: int) -> dict[str, dict[str, int]]:
    """FAMILY's conv and fc at `width`: k·k·C_in·C_out + C_out parameters, H·W·C_out·k·k·C_in MACs
    (32×32 out), its output's float32 bytes; in·out + out and in·out for the linear layer."""
    return {"conv": {"params": 27 * width + width, "macs": 32 * 32 * width * 27, "flops": 2 * 32 * 32 * width * 27,
                     "activation_bytes": 4 * width * 32 * 32},
            "fc": {"params": width * 10 + 10, "macs": width * 10, "flops": 2 * width * 10, "activation_bytes": 40}}


def test_update_records_each_top_level_block_a_line_each_and_edits_them_in_place(project, cli):
    baseline = record(cli)
    text = baseline.read_text()
    for name, width in (("small_a", 8), ("small_b", 16)):
        entry = text.split(f"  {name}:\n", 1)[1].split("  small_b:\n", 1)[0]
        for block, figures in conv_and_fc(width).items():
            flow = ", ".join(f"{key}: {value}" for key, value in figures.items())
            assert f"      {block}: {{{flow}}}\n" in entry
    commented = text.replace("  small_b:\n", "  # the wide one, after small_a's blocks\n  small_b:  # wide\n")
    baseline.write_text(commented + "# the end\n")  # the per-block record is written whole; comments around it stay
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    assert cli("check", "small.yaml", "--update").exit_code == 0
    after = baseline.read_text()
    assert after.startswith(commented.split("  small_b:", 1)[0]) and after.endswith("# the end\n")
    assert "  small_b:  # wide\n" in after
    assert "      conv: {params: 672, " in after.split("small_b", 1)[1]  # 27·24 + 24
    assert cli("check", "small.yaml").exit_code == 0


def test_a_wrong_per_block_record_exits_2_at_its_line(project, cli):
    baseline = record(cli)
    baseline.write_text(baseline.read_text().replace("fc: {params: 90,", "fc: {parms: 90,", 1))
    result = cli("check", "small.yaml")
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert re.match(r"error: archcalc.lock.yaml:\d+:11: block 'fc' of the baseline entry 'small_a' must give "
                    r"params, macs, flops, activation_bytes", result.stderr), result.stderr
    assert "archcalc check --update" in result.stderr
    assert cli("check", "small.yaml", "--update").exit_code == 0 and cli("check", "small.yaml").exit_code == 0


def test_json_and_the_table_name_the_blocks_that_moved(project, cli):
    record(cli)
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    document = json.loads(cli("check", "small.yaml", "--format", "json").stdout)
    macs = next(f for f in document["findings"] if f["model"] == "small_b" and f["figure"] == "macs")
    old, new = conv_and_fc(16), conv_and_fc(24)
    assert macs["blocks"] == [
        {"block": block, "expected": old[block]["macs"], "now": new[block]["macs"],
         "change": new[block]["macs"] - old[block]["macs"], "location": f"small.yaml:{line}:5"}
        for block, line in (("conv", 8), ("fc", 12))]
    assert all(f["blocks"] is None for f in document["findings"] if f["ok"])
    row = next(line for line in cli("check", "small.yaml").stdout.splitlines() if "small_b  MACs" in line)
    assert row.endswith("✗ drift (baseline) in conv, fc")


def test_the_committed_baselines_blocks_add_up_to_its_totals():
    """Each model's per-block record sums to its recorded totals (every layer is in one top-level block)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C reader: the baseline is 2,000 lines
    models = yaml.load((ROOT / "archcalc.lock.yaml").read_text(), Loader=loader)["models"]
    for model, entry in models.items():
        assert {figure: sum(block[figure] for block in entry["blocks"].values())
                for figure in ("params", "macs", "flops", "activation_bytes")} \
            == {figure: entry[figure] for figure in ("params", "macs", "flops", "activation_bytes")}, model


def test_a_spec_held_by_expect_alone_is_not_told_of_a_per_block_record(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params = 27 * 8 + 8 + 8 * 10 + 10  # FAMILY's small_a: the conv's and the fc's parameters
    Path("small.yaml").write_text(FAMILY.replace("  small_a: {}\n", f"  small_a: {{expect: {{params: {params - 1}}}}}\n"))
    lines = cli("check", "small.yaml", "--format", "github").stdout.splitlines()
    drift = next(line for line in lines if "small_a drift" in line)
    # at the figure to change, in '  small_a: {expect: {params: 313}}' (it was the variant's name, column 3)
    assert drift.startswith("::error file=small.yaml,line=5,col=30,") and f"parameters {params - 1} → {params}" in drift
    assert "per-block" not in drift and drift.endswith("If the change is intended, write the new figure in the "
                                                      "spec's 'expect:' ('archcalc check --update' records the "
                                                      "baseline, not 'expect:').")
