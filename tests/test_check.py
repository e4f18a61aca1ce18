"""`archcalc check`: figures held to a baseline, budgets and `expect:`; --update; GitHub output."""

from __future__ import annotations

import json
import os
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CLI_ENV, run_process

ROOT = Path(__file__).resolve().parents[1]

FAMILY = """\
name: small
input: [3, 32, 32]
params: {width: 8}
variants:
  small_a: {}
  small_b: {width: 16}
layers:
  - conv: {kind: conv2d, out: width, kernel: 3, padding: 1}
  - relu: relu
  - pool: {kind: adaptive_avgpool2d, output_size: 1}
  - flat: flatten
  - fc: {kind: linear, out: 10}
"""


def conv_fc(width: int) -> tuple[int, int]:
    """Parameters and MACs of FAMILY at `width`, from the seeds' formulas:
    conv k·k·C_in·C_out + C_out and H·W·C_out·k·k·C_in; linear in·out + out and in·out."""
    params = 3 * 3 * 3 * width + width + width * 10 + 10
    macs = 32 * 32 * width * 3 * 3 * 3 + width * 10
    return params, macs


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder with one spec family and a baseline recorded from it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "small.yaml").write_text(FAMILY)
    return tmp_path


def record(cli) -> Path:
    result = cli("check", "small.yaml", "--update")
    assert result.exit_code == 0, result.output
    return Path("archcalc.lock.yaml")


def test_update_records_every_variant_and_then_check_passes(project, cli):
    baseline = record(cli)
    text = baseline.read_text()
    for name, width in (("small_a", 8), ("small_b", 16)):
        params, macs = conv_fc(width)
        block = text.split(f"  {name}:\n", 1)[1]
        assert f"    params: {params}\n" in block and f"    macs: {macs}\n" in block
    result = cli("check", "small.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("all 8 checks on 2 models hold")


def test_without_specs_check_reads_the_baseline_models(project, cli):
    record(cli)
    result = cli("check")
    assert result.exit_code == 0 and "all 8 checks on 2 models hold" in result.stdout


def test_a_widened_layer_fails_with_its_row(project, cli):
    record(cli)
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 1
    old, new = conv_fc(16)[0], conv_fc(24)[0]
    row = next(line for line in result.stdout.splitlines() if line.startswith("small_b") and "parameters" in line)
    # the parameters of the conv (k·k·C_in·C_out + C_out) and of the fc (in·out + out) both grow with the width
    assert re.split(r"\s{2,}", row) == ["small_b", "parameters", f"{old:,}", f"{new:,}", f"+{new - old:,}",
                                         f"+{100 * (new - old) / old:.2f}%", "✗ drift (baseline) in conv, fc"]
    assert all("✓" in line for line in result.stdout.splitlines() if line.startswith("small_a"))
    assert result.stdout.rstrip().endswith("4 of 8 checks on 2 models fail")


def test_a_tolerance_lets_a_small_drift_pass(project, cli):
    baseline = record(cli)
    baseline.write_text(baseline.read_text().replace(
        "  small_b:\n", "  small_b:\n    tolerance: {params: 100%, macs: 100%, flops: 100%, activation_bytes: 100%}\n"))
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    assert cli("check", "small.yaml").exit_code == 0


def test_a_broken_budget_fails_even_when_the_baseline_holds(project, cli):
    baseline = record(cli)
    params, _ = conv_fc(16)
    baseline.write_text(baseline.read_text().replace("  small_b:\n", f"  small_b:\n    max_params: {params - 1}\n"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines() if "over budget" in line)
    assert re.split(r"\s{2,}", row)[:4] == ["small_b", "parameters", f"{params - 1:,}", f"{params:,}"]


def test_an_added_and_a_removed_model_are_reported(project, cli):
    record(cli)
    (project / "small.yaml").write_text(FAMILY.replace("  small_b: {width: 16}\n", "  small_c: {width: 4}\n"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 1
    assert re.search(r"^small_c .*✗ not in the baseline", result.stdout, re.M)
    assert re.search(r"^small_b .*✗ spec gone \(small.yaml no longer defines it", result.stdout, re.M)


def test_a_deleted_spec_file_is_reported(project, cli):
    record(cli)
    (project / "small.yaml").unlink()
    result = cli("check")
    assert result.exit_code == 1
    assert re.search(r"^small_a .*✗ spec gone \(small.yaml does not exist", result.stdout, re.M)


def test_update_keeps_comments_budgets_and_order_and_then_passes(project, cli):
    baseline = record(cli)
    edited = baseline.read_text().replace("  small_b:\n", "  # the wide one\n  small_b:\n    max_macs: 99999999\n")
    baseline.write_text(edited)
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}")
                                        .replace("  small_a: {}\n", "  small_a: {}\n  small_c: {width: 4}\n"))
    assert cli("check", "small.yaml").exit_code == 1
    assert cli("check", "small.yaml", "--update").exit_code == 0
    after = baseline.read_text()
    params, macs = conv_fc(24)
    assert "  # the wide one\n  small_b:\n    max_macs: 99999999\n" in after
    assert f"    params: {params}\n" in after.split("  small_b:\n", 1)[1]
    assert after.index("small_a:") < after.index("small_b:") < after.index("small_c:")  # new ones at the end
    # only the figures of small_b and the new entry changed
    changed = [line for line in after.splitlines() if line not in edited.splitlines()]
    assert all(line.split(":")[0].strip() in {"params", "macs", "flops", "activation_bytes", "small_c", "spec",
                                               "input", "batch", "convention", "dtype", "blocks", "conv", "relu",
                                               "pool", "flat", "fc"} for line in changed)
    assert cli("check", "small.yaml").exit_code == 0


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"], ids=["CRLF", "CR"])
def test_update_of_a_baseline_written_with_windows_line_endings_keeps_them(project, cli, ending):
    """A baseline saved on Windows (CRLF), or with the old Mac's CR alone, and updated: every line,
    edited, kept or added, ends as the file's first line does, not a mix (which before was LF for
    the lines update wrote; and of a CR file, LF beside CR)."""
    baseline = record(cli)
    baseline.write_bytes(baseline.read_bytes().replace(b"\n", ending))
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}")
                                        .replace("  small_a: {}\n", "  small_a: {}\n  small_c: {width: 4}\n"))
    result = cli("check", "small.yaml", "--update")
    assert result.exit_code == 0 and "wrote archcalc.lock.yaml: 3 models" in result.stderr
    after = baseline.read_bytes()
    assert after.replace(b"\r\n", b"").count(b"\n") == 0 and after.count(ending) > 0
    assert after.replace(ending, b"").count(b"\r") == 0
    assert f"    params: {conv_fc(24)[0]}".encode() + ending in after.split(b"  small_b:" + ending, 1)[1]
    assert cli("check", "small.yaml").exit_code == 0


@pytest.mark.parametrize("named", ["nodir/x.yaml", "link.yaml"])
def test_update_into_a_folder_that_does_not_exist_says_so(project, cli, named):
    """--baseline in a missing folder (or a link to a file in one) said "No such file or directory",
    hint "the file was left as it was": which file, and what to do? The folder, and to create it."""
    os.symlink("gone/base.yaml", "link.yaml")
    folder = "nodir" if named == "nodir/x.yaml" else str(project / "gone")
    result = cli("check", "small.yaml", "--update", "--baseline", named)
    assert result.exit_code == 2
    assert result.stderr == (f"error: cannot write '{named}': the folder '{folder}' does not exist\n"
                             "  hint: create the folder first, or write elsewhere\n")
    assert sorted(os.listdir(project)) == ["link.yaml", "small.yaml"]


def test_update_of_one_model_says_model(project, cli):
    (project / "small.yaml").write_text(FAMILY.replace("  small_b: {width: 16}\n", ""))
    result = cli("check", "small.yaml", "--update")
    assert result.exit_code == 0 and "wrote archcalc.lock.yaml: 1 model\n" in result.stderr


def test_update_that_records_figures_over_a_budget_writes_them_and_fails(project, cli):
    """--update recorded the widened small_b, said only 'wrote archcalc.lock.yaml: 2 models' and
    exited 0, though its max_params was broken by the very figures recorded: the next plain check
    (in CI) failed. It still writes the figures, then fails as check does, with the table."""
    baseline = record(cli)
    params, _ = conv_fc(24)
    baseline.write_text(baseline.read_text().replace("  small_b:\n", f"  small_b:\n    max_params: {params - 1}\n"))
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    result = cli("check", "small.yaml", "--update")
    assert result.exit_code == 1, result.output
    assert "wrote archcalc.lock.yaml: 2 models\n" in result.stderr
    assert f"    params: {params}\n" in baseline.read_text().split("  small_b:\n", 1)[1]  # recorded all the same
    row = next(line for line in result.stdout.splitlines() if "over budget" in line)
    assert re.split(r"\s{2,}", row)[:5] == ["small_b", "parameters", f"{params - 1:,}", f"{params:,}", "+1"]
    assert result.stdout.rstrip().endswith("1 of 9 checks on 2 models fails")  # what check itself now says
    assert "not the budgets (max_…) nor a spec's 'expect:'" in result.stderr
    assert cli("check", "small.yaml").stdout == result.stdout


def test_update_of_a_model_that_misses_its_expect_writes_it_and_fails(project, cli):
    """A spec's expect: is no figure --update records: a model that misses it failed the next
    check, after an --update that exited 0 and said only what it wrote."""
    params, _ = conv_fc(8)
    (project / "small.yaml").write_text(FAMILY.replace("  small_a: {}\n", f"  small_a: {{expect: {{params: {params + 1}}}}}\n"))
    result = cli("check", "small.yaml", "--update")
    assert result.exit_code == 1, result.output
    assert "small_a:" in Path("archcalc.lock.yaml").read_text()
    row = next(line for line in result.stdout.splitlines() if "drift" in line)
    assert re.split(r"\s{2,}", row)[:5] == ["small_a", "parameters", f"{params + 1:,}", f"{params:,}", "-1"]
    assert "✗ drift (expect)" in row


def test_update_where_every_check_holds_prints_no_table(project, cli):
    record(cli)
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    result = cli("check", "small.yaml", "--update")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == "wrote archcalc.lock.yaml: 2 models\n"


def broken_b(budget: str) -> str:
    """small_b's entry made one --update repairs (batch 0), with `budget` beside it, which it keeps."""
    text = Path("archcalc.lock.yaml").read_text()
    head, entry = text.split("  small_b:\n", 1)
    return head + "  small_b:\n" + entry.replace("    batch: 1\n", f"    batch: 0\n    {budget}\n", 1)


UPDATE_CASES = {
    # what is done after recording: (the baseline's new text, or None; the spec's), models measured, exit
    "every check holds": (lambda: None, FAMILY.replace("width: 16}", "width: 24}"), 2, 0),
    "a budget broken": (lambda: Path("archcalc.lock.yaml").read_text().replace(
        "  small_b:\n", f"  small_b:\n    max_params: {conv_fc(24)[0] - 1}\n"), FAMILY.replace("width: 16}", "width: 24}"), 2, 1),
    "an expect: missed": (lambda: None, FAMILY.replace("  small_a: {}\n", "  small_a: {expect: {params: 1}}\n"), 2, 1),
    # the entry repaired is held to the budget it keeps, which a plain figure of the measurement answers
    "a repaired entry's budget broken": (lambda: broken_b(f"max_macs: {conv_fc(16)[1] - 1}"), FAMILY, 2, 1),
    # a peak was not measured for it (its entry unread): measured again, as the next check does
    "a repaired entry's peak budget": (lambda: broken_b("max_peak_bytes: 1"), FAMILY, 4, 1),
}


@pytest.mark.parametrize("case", UPDATE_CASES)
@pytest.mark.parametrize("named", [True, False], ids=["SPEC", "bare"])
def test_update_measures_each_model_once_and_holds_it_as_the_next_check(project, cli, monkeypatch, case, named):
    """--update measured every model twice: to record it, then again to hold it to the baseline it
    wrote (half its time). The models are held from the first measurement, to the entries as
    written (a repaired one's budgets too), with what the next check prints and its exit code; a
    model is measured again only where that measurement cannot answer (a peak it was not measured for)."""
    import archcalc.check

    record(cli)
    baseline, spec, measured, exit_code = UPDATE_CASES[case]
    text = baseline()
    if text is not None:
        Path("archcalc.lock.yaml").write_text(text)
    (project / "small.yaml").write_text(spec)
    analysed, analyze = [], archcalc.check.analyze_graph
    monkeypatch.setattr(archcalc.check, "analyze_graph", lambda graph, *rest: analysed.append(graph.model) or
                        analyze(graph, *rest))
    specs = ["small.yaml"] if named else []
    result = cli("check", *specs, "--update", "-j", "1")
    assert (result.exit_code, len(analysed)) == (exit_code, measured), result.output
    after = cli("check", *specs)
    assert (result.exit_code, result.stdout) == (after.exit_code, after.stdout if after.exit_code else "")


def test_update_holds_a_repaired_entry_in_the_baseline_s_order(project, cli):
    """A bare check takes the files in the order of the baseline's entries, the broken ones last;
    once --update repaired m1's entry, the first, its file is first: the table --update prints is
    the one the next check prints, m1 first."""
    (project / "one.yaml").write_text(small_spec("m1"))
    assert cli("check", "one.yaml", "small.yaml", "--update").exit_code == 0
    baseline = Path("archcalc.lock.yaml")
    assert baseline.read_text().index("  m1:") < baseline.read_text().index("  small_a:")
    baseline.write_text(baseline.read_text().replace("    batch: 1\n", "    batch: 0\n    max_params: 1\n", 1))
    result = cli("check", "--update", "-j", "1")
    assert result.exit_code == 1
    rows = [line.split()[0] for line in result.stdout.splitlines() if line.startswith(("m1", "small_"))]
    assert list(dict.fromkeys(rows)) == ["m1", "small_a", "small_b"], result.stdout
    assert result.stdout == cli("check").stdout


def generated_spec(rng, name: str) -> str:
    """A small spec (one model, or a family of 1 to 3 variants, some of their own input), some
    with an `expect:` of figures and budgets, peaks among them, that hold or break."""
    def expect() -> str:
        budgets = [f"{key}: {rng.choice(values)}" for key, values in (
            ("params", [1, 10**9]), ("max_params", [1, 10**9]), ("max_macs", [1, 10**12]),
            ("max_peak_bytes", [1, 10**12]), ("max_train_peak_bytes", [1, 10**12])) if rng.random() < 0.35]
        return f"{{{', '.join(budgets)}}}" if budgets and rng.random() < 0.4 else ""

    side = rng.choice([16, 32])
    text = f"name: {name}\ninput: [3, {side}, {side}]\n"
    if rng.random() < 0.5:
        held = expect()
        text += f"expect: {held}\n" if held else ""
    else:
        text += "variants:\n"
        for index in range(rng.randint(1, 3)):
            own = [f"input: [3, {rng.choice([16, 24])}, {rng.choice([16, 24])}]"] if rng.random() < 0.3 else []
            held = expect()
            own += [f"expect: {held}"] if held else []
            text += f"  {name}_{index}: {{{', '.join(own)}}}\n"
    return text + (f"layers:\n  - conv: {{kind: conv2d, out: {rng.choice([4, 8, 16])}, kernel: 3, padding: 1}}\n"
                   "  - relu: relu\n  - pool: {kind: adaptive_avgpool2d, output_size: 1}\n  - flat: flatten\n"
                   f"  - fc: {{kind: linear, out: {rng.choice([5, 10])}}}\n")


def edited_baseline(rng, text: str) -> str:
    """A baseline edited by hand: budgets added (peaks among them), other conditions set (batch,
    convention, dtype), a figure or the input changed, a tolerance, and now and then a value
    --update repairs (batch 0, an unknown dtype)."""
    def sometimes(pattern: str, choices: list[str], text: str) -> str:
        return re.sub(pattern, lambda found: rng.choice(choices) if rng.random() < 0.25 else found[0], text)

    text = re.sub(r"^  \w+:$", lambda found: found[0] + "".join(
        f"\n    {key}: {rng.choice(values)}" for key, values in (
            ("max_params", [1, 10**9]), ("max_peak_bytes", [1, 10**12]), ("max_train_peak_bytes", [1, 10**12]),
            ("max_activation_bytes", [1, 10**12])) if rng.random() < 0.25), text, flags=re.MULTILINE)
    text = sometimes(r"    batch: 1", ["    batch: 2", "    batch: 2", "    batch: 0"], text)
    text = sometimes(r"    convention: paper", ["    convention: torch", "    convention: fvcore"], text)
    text = sometimes(r"    dtype: float32", ["    dtype: float16", "    dtype: float64", "    dtype: nope"], text)
    text = sometimes(r"    params: \d+", ["    params: 7"], text)
    text = sometimes(r"    input: \S+", ["    input: 3x8x8"], text)
    return sometimes(r"    macs: \d+", ["    macs: 1\n    tolerance: {params: 50%, macs: 1%}"], text)


def update_then_check(rng, cli) -> tuple[tuple, tuple] | None:
    """One generated case in the current folder: specs recorded, the baseline and specs edited
    (a file removed, a model moved, a link), then `check --update` and the `check` after it, each
    as (exit code, stdout); None where --update stops at an error (the next check does too)."""
    names = [f"m{index}.yaml" for index in range(rng.randint(1, 3))]
    for index, name in enumerate(names):
        Path(name).write_text(generated_spec(rng, f"s{index}"))
    assert cli("check", *names, "--update", "-j", "1").exit_code in (0, 1)
    baseline = Path("archcalc.lock.yaml")
    baseline.write_text(edited_baseline(rng, baseline.read_text()))
    for index, name in enumerate(names):
        if rng.random() < 0.4:
            Path(name).write_text(generated_spec(rng, f"s{index}"))
    if len(names) > 1 and rng.random() < 0.2:  # the first file's models moved to the second, or the first file gone
        if rng.random() < 0.5:
            Path(names[1]).write_text(Path(names[0]).read_text())
            Path(names[0]).write_text(generated_spec(rng, "moved"))
        else:
            Path(names.pop(0)).unlink()
    if rng.random() < 0.15:
        os.symlink(names[0], "link.yaml")
        names.append("link.yaml")
    specs = rng.sample(names, rng.randint(1, len(names))) if rng.random() < 0.5 else []
    update = cli("check", *specs, "--update", "-j", rng.choice(["1", "2"]))
    after = cli("check", *specs)
    if update.exit_code == 2:
        assert after.exit_code == 2, update.output
        return None
    if ": 0 models" in update.stderr:  # every model removed: nothing to hold, and nothing to check after
        return None
    return (update.exit_code, update.stdout), (after.exit_code, after.stdout if after.exit_code else "")


@pytest.mark.parametrize("seeds", [pytest.param(range(40), id="40"),
                                   pytest.param(range(40, 400), id="360 more", marks=pytest.mark.slow)])
def test_update_gives_what_the_next_check_gives_over_generated_cases(tmp_path, cli, monkeypatch, seeds):
    """--update holds the models to the baseline it wrote from their first measurement (not by
    measuring them again): its table and exit code must be those of a plain `check` run after it,
    which measures them anew, over generated specs and hand-edited baselines (budgets of peaks,
    other batches, conventions and dtypes, entries it repairs, variants, several files, a spec
    edited, moved or removed, -j 1 and 2)."""
    compared = 0
    for seed in seeds:
        rng = random.Random(seed)
        folder = tmp_path / str(seed)
        folder.mkdir()
        monkeypatch.chdir(folder)
        outcome = update_then_check(rng, cli)
        if outcome is not None:
            update, after = outcome
            assert update == after, f"seed {seed}"
            compared += 1
    assert compared >= len(seeds) // 2  # most cases reach the comparison


def test_expect_in_a_spec_works_without_a_baseline(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    params, macs = conv_fc(8)
    spec = FAMILY.replace("  small_a: {}\n", f"  small_a: {{expect: {{params: {params}, max_macs: {macs}}}}}\n")
    Path("small.yaml").write_text(spec)
    result = cli("check", "small.yaml")
    lines = result.stdout.splitlines()
    assert any(line.startswith("small_a") and "parameters" in line and "✓" in line for line in lines)
    assert any(line.startswith("small_b") and "nothing to check against" in line for line in lines)
    Path("small.yaml").write_text(spec.replace(f"max_macs: {macs}", f"max_macs: {macs - 1}"))
    failing = cli("check", "small.yaml")
    assert failing.exit_code == 1 and "over budget (expect: max_macs)" in failing.stdout



@pytest.mark.parametrize("expect", ["{}", "{tolerance: {macs: 1%}}", "", "null"])
@pytest.mark.parametrize("format", ["table", "github", "json"])
def test_an_expect_that_holds_no_figure_holds_nothing(tmp_path, cli, monkeypatch, expect, format):
    """An attacking review found "all 0 checks on 0 models hold", exit 0, for a spec whose expect:
    held nothing (or a tolerance alone) and no baseline: a pull request emptying expect: went green.
    An `expect:` with nothing after it was told to "give the spec an 'expect:' block", which it has."""
    monkeypatch.chdir(tmp_path)
    Path("tiny.yaml").write_text(f"name: tiny\ninput: [3, 32, 32]\nexpect: {expect}\nlayers:\n"
                                 "  - conv: {kind: conv2d, out: 8, kernel: 3}\n")
    result = cli("check", "tiny.yaml", "--format", format)
    assert result.exit_code == 1 and "nothing to check against" in result.stdout
    assert "write figures or budgets under the spec's 'expect:'" in result.stdout


def test_the_hint_for_a_variants_empty_expect_says_to_fill_it(project, cli):
    """The variant's own `expect:` with nothing after it: fill it in; the variant without one: give it one."""
    Path("small.yaml").write_text(FAMILY.replace("  small_a: {}\n", "  small_a:\n    expect:\n"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 1
    assert re.search(r"^small_a .*nothing to check against .*write figures or budgets under the spec's 'expect:'",
                     result.stdout, re.MULTILINE), result.stdout
    assert re.search(r"^small_b .*nothing to check against .*give the spec an 'expect:' block", result.stdout,
                     re.MULTILINE), result.stdout


@pytest.mark.parametrize("second", ["current.yaml", "{folder}/m1.yaml", "../{name}/m1.yaml"])
def test_one_spec_file_named_by_two_paths_is_checked_once(tmp_path, cli, monkeypatch, second):
    """A link beside the spec (`check *.yaml`), an absolute path or ../ named the same file again,
    and check refused it as "the model 'm1' is also defined in current.yaml" (an attacking review)."""
    monkeypatch.chdir(tmp_path)
    Path("m1.yaml").write_text("name: m1\ninput: [3, 64, 64]\nexpect: {max_macs: 1000000000}\nlayers:\n"
                               "  - conv: {kind: conv2d, out: 8, kernel: 3}\n")
    Path("current.yaml").symlink_to("m1.yaml")
    result = cli("check", "m1.yaml", second.format(folder=tmp_path, name=tmp_path.name))
    assert result.exit_code == 0 and "the 1 check on 1 model holds" in result.stdout


@pytest.mark.parametrize("second", ["{folder}/small.yaml", "../{name}/small.yaml"])
def test_one_spec_file_named_by_two_paths_in_the_baseline_is_checked_once(project, cli, second):
    """docs/ci.md: `check` and `check SPEC…` agree, and one file named twice is one file. Where the
    baseline's entries named small.yaml by two paths (one written by hand as an absolute path or
    through ../), a bare check refused its own baseline: "the model 'small_a' is also defined in …"."""
    baseline = record(cli)
    text = baseline.read_text()
    spec = second.format(folder=project, name=project.name)
    baseline.write_text(text.replace("spec: small.yaml", f"spec: {spec}", 1))
    result = cli("check")
    assert result.exit_code == 0 and "all 8 checks on 2 models hold" in result.stdout, result.output
    assert cli("check", "--update").exit_code == 0
    assert baseline.read_text().count(f"spec: {spec}\n") == 1


def test_a_link_in_another_folder_may_be_another_model(tmp_path, cli, monkeypatch):
    """The specs a file includes are found from the folder it is named in: through a link in
    another folder the same file can define another model, so the two are not taken for one (the
    review of the test above found which of them was checked depending on the order)."""
    monkeypatch.chdir(tmp_path)
    Path("sub").mkdir()
    Path("m1.yaml").write_text("name: m1\ninput: [3, 16, 16]\nexpect: {max_macs: 1000000000}\nlayers:\n"
                               "  - body: {kind: model, spec: parts.yaml}\n")
    Path("parts.yaml").write_text("name: parts\ninput: [3, 16, 16]\nlayers:\n  - conv: {kind: conv2d, out: 4, kernel: 3}\n")
    Path("sub/parts.yaml").write_text("name: parts\ninput: [3, 16, 16]\nlayers:\n  - conv: {kind: conv2d, out: 64, kernel: 3}\n")
    Path("sub/link.yaml").symlink_to("../m1.yaml")
    for order in (["m1.yaml", "sub/link.yaml"], ["sub/link.yaml", "m1.yaml"]):
        result = cli("check", *order)
        assert result.exit_code == 2 and "the model 'm1' is also defined in" in result.stderr, result.output


def test_expect_is_held_by_a_model_a_baseline_does_not_hold_yet(project, cli):
    """docs/ci.md: a spec's expect: is checked with or without a baseline. With a baseline that
    holds other models only, the new model was reported 'not in the baseline' and its expect:
    drift left out, to show only after --update had recorded the wrong figures."""
    (project / "other.yaml").write_text(FAMILY)
    assert cli("check", "other.yaml", "--update").exit_code == 0
    params = conv_fc(8)[0]
    (project / "held.yaml").write_text(FAMILY.replace("name: small\n", "name: held\n").replace(
        "  small_a: {}\n", f"  held_a: {{expect: {{params: {params + 1}}}}}\n").replace("  small_b: {width: 16}\n", ""))
    result = cli("check", "held.yaml")
    assert result.exit_code == 1
    rows = [line for line in result.stdout.splitlines() if line.startswith("held_a")]
    assert any("not in the baseline" in row for row in rows), result.stdout
    assert any("parameters" in row and f"{params + 1:,}" in row and f"{params:,}" in row and "✗" in row
               for row in rows), result.stdout

def test_a_spec_error_exits_2(project, cli):
    record(cli)
    (project / "small.yaml").write_text(FAMILY.replace("kernel: 3", "kernel: 99"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 2 and result.stderr.startswith("error: small.yaml:8:")


def test_a_bad_baseline_exits_2_with_its_location(project, cli):
    Path("archcalc.lock.yaml").write_text("models:\n  small_a:\n    spec: small.yaml\n    input: 3x32x32\n"
                                          "    parms: 5\n")
    result = cli("check", "small.yaml")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: archcalc.lock.yaml:5:5: unknown key 'parms' in baseline "
                                    "(did you mean 'params'?)")


# GitHub Actions workflow commands: ::error file=F,line=L,col=C,title=T::MESSAGE
ANNOTATION = re.compile(r"^::(error|notice) ((file=[^,:]+,line=\d+,col=\d+,)?title=[^:]*)::[^\r\n]*$")


def test_github_format_writes_annotations_and_a_step_summary(project, cli, monkeypatch):
    record(cli)
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    summary = project / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    result = cli("check", "small.yaml", "--format", "github")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert all(ANNOTATION.match(line) for line in lines), lines
    errors = [line for line in lines if line.startswith("::error")]
    assert len(errors) == 1  # one per model and problem: the four figures of small_b's drift together
    # points at where the change starts: the conv, on line 8, column 5 of the spec
    assert errors[0].startswith("::error file=small.yaml,line=8,col=5,title=archcalc check%3A small_b drift::")
    old, new = conv_fc(16)[0], conv_fc(24)[0]
    assert f"small_b (baseline): parameters {old:,} → {new:,} (+{100 * (new - old) / old:.1f}%25)" in errors[0]
    text = summary.read_text()
    assert text.startswith("earlier step\n### archcalc check: 4 of 8 checks on 2 models fail\n")
    from markdown_it import MarkdownIt

    tokens = MarkdownIt().enable("table").parse(text)
    assert sum(t.type == "tr_open" for t in tokens) == 1 + 4


@pytest.mark.parametrize("folder, spec, workspace, named", [
    ("models", "small.yaml", ".", "models/small.yaml"),  # a step run in a folder below the checkout
    (".", "specs/lenet.yaml", None, "specs/lenet.yaml"),  # shown ./specs/lenet.yaml, apart from the bundled one
    (".", "small.yaml", "elsewhere", "small.yaml"),  # a spec outside the checkout: as given
])
def test_an_annotation_names_the_spec_from_the_checkouts_root(project, cli, monkeypatch, folder, spec, workspace, named):
    """GitHub shows an annotation only on a file's path from the root of the checkout, with no ./
    before it (crate-ci/typos pull request 1496, adrienverge/yamllint issue 764)."""
    (project / folder / spec).parent.mkdir(parents=True, exist_ok=True)
    (project / folder / spec).write_text(FAMILY)
    monkeypatch.chdir(project / folder)
    assert cli("check", spec, "--update").exit_code == 0
    (project / folder / spec).write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    if workspace is not None:
        monkeypatch.setenv("GITHUB_WORKSPACE", str(project / workspace))
    result = cli("check", spec, "--format", "github")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"::error file={named},line=8,col=5,"), result.stdout


def test_an_annotation_names_a_linked_spec_by_the_link_and_a_bundled_one_by_its_name(project, cli, monkeypatch):
    """A spec named through a link inside the checkout was annotated at the link's target; a
    bundled spec's name (specs/lenet.yaml), no file of the checkout, was read from the folder the
    step ran in (sub/specs/lenet.yaml)."""
    (project / "real").mkdir()
    (project / "real" / "small.yaml").write_text(FAMILY)
    (project / "linked.yaml").symlink_to("real/small.yaml")
    assert cli("check", "linked.yaml", "--update").exit_code == 0
    (project / "real" / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    monkeypatch.setenv("GITHUB_WORKSPACE", str(project))
    result = cli("check", "linked.yaml", "--format", "github")
    assert result.stdout.startswith("::error file=linked.yaml,line=8,col=5,"), result.stdout
    from archcalc.render.check import _in_checkout

    (project / "sub").mkdir()
    monkeypatch.chdir(project / "sub")
    assert _in_checkout("specs/lenet.yaml") == "specs/lenet.yaml"
    assert _in_checkout("mine.yaml") == "sub/mine.yaml"


def test_a_step_summary_is_made_only_when_its_markdown_is_written(project, cli, monkeypatch):
    """$GITHUB_STEP_SUMMARY names a file that does not exist yet: a check whose output cannot be
    written (-o into a folder that does not exist) fails with one error and leaves no empty summary;
    one that succeeds makes it, with the summary in it."""
    record(cli)
    summary = project / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    failed = cli("check", "small.yaml", "--format", "github", "-o", project / "missing" / "annotations.txt")
    assert failed.exit_code == 2 and "the folder" in failed.stderr and "does not exist" in failed.stderr
    assert not summary.exists()
    passed = cli("check", "small.yaml", "--format", "github")
    assert passed.exit_code == 0, passed.stderr
    assert summary.read_text().startswith("### archcalc check: ")


@pytest.mark.parametrize("before", [None, "earlier step\n"])
def test_a_step_summary_cut_short_by_a_full_disk_is_taken_back(project, cli, monkeypatch, before):
    """A write of the summary that fails part of the way (here: ENOSPC after 10 bytes, as a full
    disk gives) is one error, exit 2, and the file is as it was: the earlier steps' text alone, or
    no file where there was none."""
    import errno
    import os

    record(cli)
    summary = project / "summary.md"
    if before is not None:
        summary.write_text(before)
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    write = os.write

    def full_disk(descriptor: int, data: bytes) -> int:
        write(descriptor, bytes(data[:10]))
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full_disk)
    result = cli("check", "small.yaml", "--format", "github")
    monkeypatch.undo()
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: cannot append to $GITHUB_STEP_SUMMARY ({summary}): No space left on device")
    assert (summary.read_text() if summary.exists() else None) == before


def test_a_step_summary_that_links_to_nothing_is_refused_before_anything_is_printed(project, cli, monkeypatch):
    record(cli)
    link = project / "summary.md"
    link.symlink_to(project / "elsewhere.md")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(link))
    result = cli("check", "small.yaml", "--format", "github")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"error: refusing to append to $GITHUB_STEP_SUMMARY ({link}): it is a link to nothing")
    assert not (project / "elsewhere.md").exists()


def test_json_format(project, cli):
    record(cli)
    document = json.loads(cli("check", "small.yaml", "--format", "json").stdout)
    assert document["schema"] == "archcalc.check/1" and document["ok"] is True
    first = document["findings"][0]
    assert first["model"] == "small_a" and first["figure"] == "params"
    assert first["expected"] == first["now"] == conv_fc(8)[0]


def test_the_committed_baseline_holds_for_every_bundled_spec(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    result = cli("check", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*.yaml")))
    assert result.exit_code == 0, result.stdout


def test_github_format_end_to_end_in_a_fresh_process(project, cli):
    from conftest import run_process

    record(cli)
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    result = run_process("check", "small.yaml", "--format", "github", cwd=project)
    assert result.returncode == 1 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and all(ANNOTATION.match(line) for line in lines)
    assert lines[-1] == "::notice title=archcalc check::4 of 8 checks on 2 models fail"


def test_nothing_to_check_is_an_error_not_a_pass(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = cli("check")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: nothing to check: no spec was given and 'archcalc.lock.yaml' does not exist")


def test_layers_met_again_in_another_model_of_the_process_keep_their_own_figures(write_spec, monkeypatch):
    """Resolved fields and the results of a layer's rules are kept across the models a process
    analyses (archcalc.spec.expand._RESOLVED, archcalc.analysis._APPLIED): the same layer at
    another input size, under another convention or dtype, gives what it gives with the memos
    emptied before each analysis, as in a fresh process."""
    import importlib

    import archcalc
    from archcalc import analysis

    expand = importlib.import_module("archcalc.spec.expand")
    path = write_spec(FAMILY, "small.yaml")
    cases = [(variant, input, convention, dtype) for variant in ("small_a", "small_b") for input in ("3x32x32", "3x16x16")
             for convention in ("paper", "fvcore") for dtype in ("float32", "float16")]

    def analysed() -> dict:
        return {case: archcalc.analyze(path, case[1], variant=case[0], convention=case[2], dtype=case[3])
                for case in cases}

    kept = analysed()
    with monkeypatch.context() as patched:
        patched.setattr(analysis, "MAX_REMEMBERED", -1)
        patched.setattr(expand, "MAX_REMEMBERED", -1)
        fresh = analysed()
    for case in cases:
        assert (kept[case].layers, kept[case].totals) == (fresh[case].layers, fresh[case].totals), case
    assert len({stats.totals for stats in fresh.values()}) == len(cases)
    assert (fresh["small_a", "3x32x32", "paper", "float32"].totals.params,
            fresh["small_a", "3x32x32", "paper", "float32"].totals.macs) == conv_fc(8)


# Budgets of figures measured only for a budget: the inference peak

def memtracker_peak(width: int) -> int:
    """MemTracker's inference peak of FAMILY at `width` (batch 1, float32), on fake tensors."""
    pytest.importorskip("torch")
    from archcalc.spec import load_graph
    from archcalc.validation.peak import tracked_peak

    Path("peak.yaml").write_text(FAMILY.replace("width: 8}", f"width: {width}}}").replace(
        "variants:\n  small_a: {}\n  small_b: {width: 16}\n", ""))
    graph = load_graph(Path("peak.yaml"))
    Path("peak.yaml").unlink()
    return tracked_peak(graph, (1, *graph.input_shape)).total


def test_a_peak_budget_holds_at_memtrackers_peak_and_breaks_a_byte_below(project, cli):
    baseline = record(cli)
    peak = memtracker_peak(16)
    text = baseline.read_text()
    baseline.write_text(text.replace("  small_b:\n", f"  small_b:\n    max_peak_bytes: {peak}\n"))
    holding = cli("check", "small.yaml")
    assert holding.exit_code == 0 and holding.stdout.rstrip().endswith("all 9 checks on 2 models hold")
    baseline.write_text(text.replace("  small_b:\n", f"  small_b:\n    max_peak_bytes: {peak - 1}  # the GPU\n"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines() if "over budget" in line)
    assert re.split(r"\s{2,}", row)[:6] == ["small_b", "inference peak", f"{peak - 1:,}", f"{peak:,}", "+1",
                                            f"+{100 / (peak - 1):.2f}%"]
    assert row.endswith(f"✗ over budget (baseline: max_peak_bytes; the peak is while relu runs; 'archcalc memory "
                        f"SPEC --fit {peak - 1}' gives the largest batch within the budget)")
    github = cli("check", "small.yaml", "--format", "github").stdout
    assert f"::small_b: inference peak {peak:,} is over the budget of {peak - 1:,} (baseline: max_peak_bytes" in github
    assert cli("check", "small.yaml", "--update").exit_code == 1  # records figures: the budget stays broken
    assert f"    max_peak_bytes: {peak - 1}  # the GPU\n" in baseline.read_text()


def test_a_peak_budget_in_expect_and_a_wrong_one(project, cli):
    peak = memtracker_peak(8)
    Path("small.yaml").write_text(FAMILY.replace("  small_a: {}\n", f"  small_a: {{expect: {{max_peak_bytes: {peak}}}}}\n"))
    lines = cli("check", "small.yaml").stdout.splitlines()
    assert any(re.split(r"\s{2,}", line)[:4] == ["small_a", "inference peak", f"{peak:,}", f"{peak:,}"] for line in lines)
    Path("small.yaml").write_text(FAMILY.replace("  small_a: {}\n", "  small_a: {expect: {max_peak_bytes: -1}}\n"))
    wrong = cli("check", "small.yaml")
    assert wrong.exit_code == 2 and "'max_peak_bytes' must be a whole number ≥ 0" in wrong.stderr


def test_a_peak_budget_of_an_int8_model_exits_2_with_how_to_fix(project, cli):
    baseline = record(cli)
    baseline.write_text(baseline.read_text().replace("dtype: float32", "dtype: int8").replace(
        "  small_b:\n", "  small_b:\n    max_peak_bytes: 1000000\n"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 2 and "small_b: max_peak_bytes: unknown dtype 'int8' for memory" in result.stderr
    assert "record the model in one of them, or remove the budget" in result.stderr


# The peak of a training step (SGD with momentum), a budget as the inference peak is

def memtracker_training_peak(width: int) -> int:
    """MemTracker's peak of a training step of FAMILY at `width` (batch 1, float32, SGD with
    momentum, in steady state), on fake tensors."""
    pytest.importorskip("torch")
    from archcalc.spec import load_graph
    from archcalc.validation.peak import tracked_training_peaks

    Path("peak.yaml").write_text(FAMILY.replace("width: 8}", f"width: {width}}}").replace(
        "variants:\n  small_a: {}\n  small_b: {width: 16}\n", ""))
    graph = load_graph(Path("peak.yaml"))
    Path("peak.yaml").unlink()
    return tracked_training_peaks(graph, graph.input_shape, [1], optimizer="momentum")[0][-1]


def test_a_training_peak_budget_holds_at_memtrackers_peak_and_breaks_a_byte_below(project, cli):
    baseline = record(cli)
    peak = memtracker_training_peak(16)
    text = baseline.read_text()
    baseline.write_text(text.replace("  small_b:\n", f"  small_b:\n    max_train_peak_bytes: {peak}\n"))
    holding = cli("check", "small.yaml")
    assert holding.exit_code == 0 and holding.stdout.rstrip().endswith("all 9 checks on 2 models hold")
    baseline.write_text(text.replace("  small_b:\n", f"  small_b:\n    max_train_peak_bytes: {peak - 1}  # the GPU\n"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 1
    row = next(line for line in result.stdout.splitlines() if "over budget" in line)
    assert re.split(r"\s{2,}", row)[:6] == ["small_b", "training peak", f"{peak - 1:,}", f"{peak:,}", "+1",
                                            f"+{100 / (peak - 1):.2f}%"]
    assert re.search(r"✗ over budget \(baseline: max_train_peak_bytes; the peak is (the \w+ of \w+|the loss|the "
                     rf"optimizer's step); 'archcalc memory SPEC --train --fit {peak - 1}' gives the largest batch "
                     r"within the budget\)$", row), row
    github = cli("check", "small.yaml", "--format", "github").stdout
    assert f"::small_b: training peak {peak:,} is over the budget of {peak - 1:,} (baseline: max_train_peak_bytes" \
        in github
    assert cli("check", "small.yaml", "--update").exit_code == 1  # records figures: the budget stays broken
    assert f"    max_train_peak_bytes: {peak - 1}  # the GPU\n" in baseline.read_text()


def test_a_training_peak_budget_in_expect_beside_the_inference_one_and_a_wrong_one(project, cli):
    inference, training = memtracker_peak(8), memtracker_training_peak(8)
    assert training > inference
    Path("small.yaml").write_text(FAMILY.replace("  small_a: {}\n", f"  small_a: {{expect: {{max_peak_bytes: "
                                                 f"{inference}, max_train_peak_bytes: {training}}}}}\n"))
    lines = [re.split(r"\s{2,}", line)[:4] for line in cli("check", "small.yaml").stdout.splitlines()]
    assert ["small_a", "inference peak", f"{inference:,}", f"{inference:,}"] in lines
    assert ["small_a", "training peak", f"{training:,}", f"{training:,}"] in lines
    Path("small.yaml").write_text(FAMILY.replace("  small_a: {}\n", "  small_a: {expect: {max_train_peak_bytes: 8GiB}}\n"))
    wrong = cli("check", "small.yaml")
    assert wrong.exit_code == 2 and "'max_train_peak_bytes' must be a whole number ≥ 0" in wrong.stderr


def test_a_training_peak_budget_of_an_int8_model_exits_2_with_how_to_fix(project, cli):
    baseline = record(cli)
    baseline.write_text(baseline.read_text().replace("dtype: float32", "dtype: int8").replace(
        "  small_b:\n", "  small_b:\n    max_train_peak_bytes: 1000000\n"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 2 and "small_b: max_train_peak_bytes: unknown dtype 'int8' for memory" in result.stderr
    assert "record the model in one of them, or remove the budget" in result.stderr and "Traceback" not in result.stderr


def test_two_files_defining_one_model_are_refused(project, cli):
    """The baseline holds one entry per model name: a second file with the same name would put its
    figures under the first file's entry (the next check then fails every figure)."""
    (project / "other").mkdir()
    (project / "other" / "small.yaml").write_text(FAMILY)
    result = cli("check", "small.yaml", "other/small.yaml", "--update")
    assert result.exit_code == 2 and "is also defined in small.yaml" in result.stderr
    assert not (project / "archcalc.lock.yaml").exists()
    assert cli("check", "small.yaml", "small.yaml", "--update").exit_code == 0  # one file twice is one


@pytest.mark.parametrize("options", [["-o", "out.json"], ["--format", "json"]])
def test_update_with_an_output_or_a_format_is_a_usage_error(project, cli, options):
    """--update prints no result (but check's table where a check still fails): -o and --format would be silently dropped."""
    result = cli("check", "small.yaml", "--update", *options)
    assert result.exit_code == 2 and "-o and --format do not apply" in result.stderr
    assert not (project / "archcalc.lock.yaml").exists() and not (project / "out.json").exists()


def test_a_figure_of_any_size_with_a_percentage_tolerance_is_a_drift_not_a_crash(project, cli):
    """A hand-edited figure of 400 digits under `tolerance: {params: 1%}`: held exactly in whole
    numbers (a float product overflowed: a traceback)."""
    record(cli)
    baseline = project / "archcalc.lock.yaml"
    text = baseline.read_text()
    model = next(line for line in text.splitlines() if line.startswith("  ") and not line.startswith("   "))
    params = next(line for line in text.splitlines() if line.strip().startswith("params:"))
    baseline.write_text(text.replace(params, params.split(":")[0] + ": " + "9" * 400, 1)
                        .replace(model, model + "\n    tolerance: {params: 1%}", 1))
    result = cli("check", "--format", "json")
    assert result.exit_code == 1, result.output
    drifted = [f for f in json.loads(result.stdout)["findings"] if f["figure"] == "params" and not f["ok"]]
    assert drifted and drifted[0]["expected"] == int("9" * 400)


@pytest.mark.parametrize("tolerance, expected, now, holds", [
    ("23.412%", 50_000, 61_706, True), ("23.412%", 50_000, 61_707, False),  # 23.412% of 50,000: 11,706
    ("38.294%", 100_000, 61_706, True),  # of 100,000: 38,294, below
    (11706.5, 50_000, 61_706, True), ("11705.999", 50_000, 61_706, False)])
def test_a_decimal_tolerance_is_held_exactly_as_written(tolerance, expected, now, holds):
    """A fuzzer's: 23.412% was read as the float 23.41199…, so a drift of exactly 23.412% failed.
    A tolerance is held as the decimal written (by hand: 50,000 × 23.412% = 11,706)."""
    from archcalc.spec.held import _tolerance

    assert _tolerance(tolerance, None).allows(expected, now) is holds


def test_a_spec_name_too_long_for_the_system_is_a_spec_gone(project, cli):
    record(cli)
    baseline = project / "archcalc.lock.yaml"
    baseline.write_text(baseline.read_text().replace("spec: small.yaml", "spec: " + "a" * 300 + ".yaml"))
    result = cli("check")
    assert result.exit_code == 1 and "spec gone" in result.stdout, result.output


def test_a_bundled_variant_named_alone_leaves_its_familys_other_variants_be(tmp_path, cli, monkeypatch):
    """A reviewer's: `check lenet5` on a baseline that also holds lenet5_pytorch (specs/lenet.yaml's
    other variant, which the command did not measure) said "spec gone ... no longer defines it"
    and failed; --update would have dropped it. Naming one variant checks that one; the file's
    other models are neither gone nor touched."""
    monkeypatch.chdir(tmp_path)
    assert cli("check", "lenet5", "lenet5_pytorch", "--update").exit_code == 0
    recorded = (tmp_path / "archcalc.lock.yaml").read_text()
    result = cli("check", "lenet5")
    assert result.exit_code == 0 and "spec gone" not in result.stdout, result.output
    assert cli("check", "lenet5", "--update").exit_code == 0
    assert (tmp_path / "archcalc.lock.yaml").read_text() == recorded  # lenet5_pytorch kept, nothing moved


def test_an_error_in_one_variant_of_a_family_names_the_variant(project, cli):
    """The variants share their layers' lines: the layer's line alone did not say which one failed."""
    (project / "fam.yaml").write_text("name: fam\ninput: [3, 16, 16]\nparams: {k: 3}\nvariants:\n  a: {}\n  d: {k: 17}\n"
                                      "layers:\n  - c: {kind: conv2d, out: 4, kernel: k}\n")
    result = cli("check", "fam.yaml", "--update")
    assert result.exit_code == 2 and "the output would be empty (in the variant 'd')" in result.stderr


@pytest.mark.parametrize("wrong, message", [("  d: {kk: 17}\n", "variant 'd' sets 'kk', which is not a parameter (did you mean 'k'?)"),
                                            ("default: e\n", "unknown variant 'e'")])
def test_an_error_of_the_file_is_not_said_of_the_variant_measured(project, cli, wrong, message):
    """A family's file-wide mistake (the variant 'd' setting no parameter, a default naming none) is
    found whichever variant is expanded: it was said '(in the variant 'a')', the first measured."""
    (project / "fam.yaml").write_text("name: fam\ninput: [3, 16, 16]\nparams: {k: 3}\nvariants:\n  a: {}\n"
                                      f"{wrong}layers:\n  - c: {{kind: conv2d, out: 4, kernel: k}}\n")
    result = cli("check", "fam.yaml", "--update")
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: fam.yaml:6:") and first.endswith(message), first


@pytest.mark.parametrize("wrong, where, message", [
    (("blocks:\n  unit:\n    params: {w-1: 2}\n    layers:\n      - c: {kind: conv2d, out: 4, kernel: 1}\nlayers:\n"
      "  - c: {kind: conv2d, out: 4, kernel: k}\n"), "8:14", "'w-1' cannot name a parameter"),
    ("layers: []\n", "6:9", "'layers' must be a non-empty list"),
])
def test_an_error_of_the_files_blocks_or_layers_is_not_said_of_the_variant_measured(project, cli, wrong, where,
                                                                                       message):
    """A block's parameter named 'w-1', or an empty list of layers, is wrong whichever variant is
    expanded, and was said '(in the variant 'a')', as a variant's unknown key was before."""
    (project / "fam.yaml").write_text(f"name: fam\ninput: [3, 16, 16]\nparams: {{k: 3}}\nvariants:\n  a: {{}}\n{wrong}")
    result = cli("check", "fam.yaml", "--update")
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0] == f"error: fam.yaml:{where}: {message}"


def small_spec(name: str, kernel: int = 3) -> str:
    """A one-convolution model on an 8×8 input: a kernel over 8 leaves no output (an error found
    when the model is measured, not when its file is read)."""
    return f"name: {name}\ninput: [3, 8, 8]\nlayers:\n  - conv: {{kind: conv2d, out: 4, kernel: {kernel}}}\n"


PROCESS_CASES = {
    # the files, in the order given; the file the error names (None: no error)
    "all hold": ([small_spec("m1"), FAMILY, small_spec("m3")], None),
    "the first of two models that fail": ([small_spec("m1"), small_spec("m2", 9), small_spec("m3"),
                                           small_spec("m4", 9)], "f1.yaml"),
    "a file that cannot be read before a model that fails": ([small_spec("m1"), small_spec("m2", 9), small_spec("m3"),
                                                              "name: [m4\n"], "f3.yaml"),
    "a model in two files": ([small_spec("m1"), small_spec("same"), small_spec("m3"), small_spec("same")], "f1.yaml"),
}


@pytest.mark.parametrize("case", PROCESS_CASES)
def test_several_processes_give_what_one_gives(tmp_path, case):
    """Models measured by copies of the process (archcalc.parallel) come back as one process
    measures them: the same findings in the same order, the same first error (the one process
    raises: every file is read before any model is measured) and exit code. Fresh processes: a
    copy is made only where no other thread runs."""
    texts, named = PROCESS_CASES[case]
    files = [f"f{index}.yaml" for index in range(len(texts))]
    for file, text in zip(files, texts):
        (tmp_path / file).write_text(text)
    one = run_process("check", "-j", "1", *files, "--format", "json", cwd=tmp_path)
    assert one.returncode == (1 if named is None else 2), one.stderr  # no baseline: "not in the baseline"
    if named is not None:
        assert named in one.stderr.splitlines()[0] or f"defined in {named}" in one.stderr, one.stderr
    for jobs in ("2", "4"):
        several = run_process("check", "-j", jobs, *files, "--format", "json", cwd=tmp_path)
        assert (several.returncode, several.stdout, several.stderr) == (one.returncode, one.stdout, one.stderr)


FORKS = """
import os, sys
from archcalc.cli import main
forks, fork = [], os.fork
def counted():
    pid = fork()
    forks.extend([pid] if pid else [])
    return pid
os.fork = counted
sys.argv = ["archcalc", *sys.argv[1:]]
try:
    main()
finally:
    sys.stderr.write(f"forks: {len(forks)}")
"""


@pytest.mark.parametrize(("jobs", "case", "copies"), [("2", "all hold", 1), ("4", "all hold", 2), ("1", "all hold", 0),
                                                      ("4", "a model in two files", 0)])
def test_the_models_are_measured_by_copies_where_several_processes_are_asked_for(tmp_path, jobs, case, copies):
    """What the test above compares is made by copies indeed (one per file at most); a run that
    will stop at a model named twice is left to one process, which gets there soonest."""
    texts, _ = PROCESS_CASES[case]
    files = [f"f{index}.yaml" for index in range(len(texts))]
    for file, text in zip(files, texts):
        (tmp_path / file).write_text(text)
    done = subprocess.run([sys.executable, "-c", FORKS, "check", "-j", jobs, *files], cwd=tmp_path, check=False,
                          capture_output=True, text=True, timeout=120, env={**os.environ, **CLI_ENV})
    assert done.stderr.endswith(f"forks: {copies}"), done.stderr


@pytest.mark.slow  # fresh processes, every bundled model three times
def test_every_bundled_model_is_measured_alike_by_one_process_and_by_several():
    specs = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "specs").glob("*.yaml"))
    one = run_process("check", "-j", "1", *specs, "--format", "json", cwd=ROOT)
    several = run_process("check", "-j", "3", *specs, "--format", "json", cwd=ROOT)
    assert one.returncode == 0 and (several.returncode, several.stdout) == (one.returncode, one.stdout)
    recorded = yaml.safe_load((ROOT / "archcalc.lock.yaml").read_text())["models"]
    assert {finding["model"] for finding in json.loads(several.stdout)["findings"]} == set(recorded)


@pytest.mark.parametrize("empty", ["models:\n", "models: {}\n", "", "# the figures we hold to\n\n  # kept by hand\n",
                                   "\ufeff# saved with a byte order mark\r\n", "---\n", "%YAML 1.1\n---\n# none yet\n"])
def test_a_baseline_with_no_models_yet_is_empty_not_wrong(project, cli, empty):
    """`models:` with nothing under it, an empty mapping, an empty file, comments alone or an empty
    document hold no model (the first two were refused as not a mapping, the others as holding no
    YAML document or a single value): each model is new, and --update records them, below what
    the file held."""
    from archcalc.check.baseline import load_baseline

    path = project / "archcalc.lock.yaml"
    path.write_text(empty, newline="")
    result = cli("check", "small.yaml")
    assert result.exit_code == 1 and result.stdout.count("not in the baseline") == 2, result.output
    assert cli("check", "small.yaml", "--update").exit_code == 0
    assert cli("check", "small.yaml").exit_code == 0
    assert len(load_baseline(path).entries) == 2
    if "#" in empty or "-" in empty:
        assert path.read_bytes().decode("utf-8").startswith(empty)


@pytest.mark.parametrize("text", ["\t\n", "# kept\n \t\n", "\u00a0# not a comment to YAML\n"])
def test_a_baseline_that_only_looks_empty_is_yamls_error_and_update_leaves_it(project, cli, text):
    """A tab, or a line YAML reads as text, is not an empty baseline: one error, and --update
    leaves the file as it was (no traceback)."""
    path = project / "archcalc.lock.yaml"
    path.write_text(text, newline="")
    for command in (("check", "small.yaml"), ("check", "small.yaml", "--update")):
        result = cli(*command)
        assert result.exit_code == 2 and result.output.count("error:") == 1, result.output
        assert "Traceback" not in result.output
    assert path.read_bytes().decode("utf-8") == text


@pytest.mark.parametrize("named", ["../outside.yaml", "ABSOLUTE"])
def test_a_baseline_cannot_make_check_read_a_file_outside_its_folder_and_the_current_one(tmp_path, monkeypatch, cli,
                                                                                         named):
    """As a spec's `kind: model` cannot: a baseline from a pull request naming ../outside.yaml (or
    /etc/passwd) would have check read it and quote its lines in an error. One error at the entry's
    `spec:`, before anything is read, for check and --update alike."""
    outside = tmp_path / "outside.yaml"
    outside.write_text("name: x\ninput: [1, 4, 4]\nlayers:\n  - a: {kind: conv2d, out: 1, kernel: 9}  # SECRET\n")
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    spec = str(outside) if named == "ABSOLUTE" else named
    Path("archcalc.lock.yaml").write_text(f"models:\n  x:\n    spec: {spec}\n    input: 1x4x4\n    params: 1\n"
                                          "    macs: 1\n    flops: 1\n    activation_bytes: 1\n")
    for args in ((), ("--update",)):
        result = cli("check", *args)
        assert result.exit_code == 2 and result.output.count("error:") == 1, result.output
        assert "archcalc.lock.yaml:3:11: the spec" in result.stderr and "lies outside the baseline's folder" in result.stderr
        assert "SECRET" not in result.output


def test_a_baseline_spec_in_a_loop_of_links_says_so(project, cli):
    """A `spec:` naming a link to itself, in the baseline's own folder, was refused as lying
    "outside the baseline's folder and the current one", with the hint to run check elsewhere."""
    baseline = record(cli)
    Path("loop.yaml").symlink_to("loop.yaml")
    text = baseline.read_text().replace("spec: small.yaml", "spec: loop.yaml")
    baseline.write_text(text)
    for args in ((), ("--update",)):
        result = cli("check", *args)
        assert result.exit_code == 2 and result.output.count("error:") == 1, result.output
        assert result.stderr.startswith("error: archcalc.lock.yaml:5:11: the spec 'loop.yaml' cannot be resolved: "
                                        "a loop of links"), result.stderr
    assert baseline.read_text() == text


def test_every_hint_to_update_is_a_command_that_records_the_model(project, cli):
    """The hints said 'archcalc check --update' whatever the baseline and the spec: beside
    --baseline "ci/the lock.yaml" that command writes archcalc.lock.yaml instead, and a bare --update
    records no model of a spec file the baseline does not name yet (the check failed again). Each
    hint's command, run as written, now makes the check it came from pass."""
    Path("ci").mkdir()
    baseline = ["--baseline", "ci/the lock.yaml"]

    def follow(pattern: str, *args: str) -> None:
        result = cli("check", *args, *baseline)
        assert result.exit_code == 1, result.output
        command = shlex.split(re.search(pattern, result.stdout)[1])
        assert command[:2] == ["archcalc", "check"] and "--update" in command, command
        assert cli(*command[1:]).exit_code == 0
        assert cli("check", *args, *baseline).exit_code == 0

    follow(r"record a baseline with '(archcalc check [^']*)'", "small.yaml")  # nothing to check against
    (project / "small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    follow(r"run '(archcalc check [^']*)' and commit ci/the lock.yaml", "small.yaml", "--format", "github")  # drift
    (project / "other file.yaml").write_text(FAMILY.replace("small_a", "other_a").replace("small_b", "other_b"))
    follow(r"not in the baseline \(run '(archcalc check [^']*)' to record it\)", "other file.yaml")
    assert not Path("archcalc.lock.yaml").exists()
    # and the file itself, written anew, says the same (it said 'archcalc check --update' rewrites it)
    assert Path("ci/the lock.yaml").read_text().splitlines()[1].startswith(
        "# `archcalc check --update --baseline <this file>` rewrites the figures")


def test_the_hint_for_a_model_moved_to_another_file_records_it_from_there(project, cli):
    """small_b moved from small.yaml to moved.yaml and widened: `check moved.yaml` said to run
    'archcalc check --update', which measures small.yaml (where small_b is gone), drops its entry,
    and the next `check moved.yaml` failed 'not in the baseline'. The hint names moved.yaml."""
    record(cli)
    (project / "small.yaml").write_text(FAMILY.replace("  small_b: {width: 16}\n", ""))
    (project / "moved.yaml").write_text(FAMILY.replace("name: small", "name: moved").replace(
        "  small_a: {}\n", "").replace("small_b: {width: 16}", "small_b: {width: 24}"))
    result = cli("check", "moved.yaml", "--format", "github")
    assert result.exit_code == 1, result.output
    commands = set(re.findall(r"run '(archcalc check [^']*)'", result.stdout))
    assert commands == {"archcalc check moved.yaml --update"}, result.stdout
    assert cli("check", "moved.yaml", "--update").exit_code == 0
    assert cli("check", "moved.yaml").exit_code == 0
    assert "    spec: moved.yaml\n" in Path("archcalc.lock.yaml").read_text()


def test_a_hint_to_update_names_a_file_starting_with_a_dash_by_its_path(project, cli):
    """The hint for a spec '-small.yaml' (given after '--') was 'archcalc check -small.yaml --update
    --baseline -the.lock.yaml', which the command line reads as the options '-s…': exit 2, no
    such option. A file whose name starts with '-' is written './-small.yaml' in the hint."""
    (project / "-small.yaml").write_text(FAMILY)
    baseline = ["--baseline", "./-the.lock.yaml"]
    result = cli("check", *baseline, "--", "-small.yaml")
    assert result.exit_code == 1, result.output
    command = shlex.split(re.search(r"record a baseline with '(archcalc check [^']*)'", result.stdout)[1])
    assert command == ["archcalc", "check", "./-small.yaml", "--update", "--baseline", "./-the.lock.yaml"]
    assert cli(*command[1:]).exit_code == 0
    assert cli("check", *baseline, "--", "-small.yaml").exit_code == 0


def test_update_refuses_to_record_a_spec_check_would_then_refuse(tmp_path, monkeypatch, cli):
    """A spec named by its path outside the baseline's folder and the current one: --update wrote
    an entry that the next check refused, as a whole baseline (found by a reviewer)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "small.yaml").write_text(FAMILY)
    repo = tmp_path / "repo"
    repo.mkdir()
    monkeypatch.chdir(repo)
    result = cli("check", str(elsewhere / "small.yaml"), "--update")
    assert result.exit_code == 2 and result.output.count("error:") == 1
    assert "cannot record 'small_a' in archcalc.lock.yaml: its spec" in result.stderr
    assert not Path("archcalc.lock.yaml").exists()


def test_a_baseline_in_a_subfolder_names_specs_of_the_current_folder(project, cli):
    """ci/archcalc.lock.yaml, run from the project's folder, records ../small.yaml and checks it."""
    Path("ci").mkdir()
    assert cli("check", "small.yaml", "--baseline", "ci/archcalc.lock.yaml", "--update").exit_code == 0
    assert "    spec: ../small.yaml\n" in Path("ci/archcalc.lock.yaml").read_text()
    result = cli("check", "--baseline", "ci/archcalc.lock.yaml")
    assert result.exit_code == 0, result.output


def test_a_file_name_with_an_escape_reaches_the_output_encoded(project, cli):
    """A spec file named with an ESC (a pull request may add one) went raw into the table's header
    and into the `::error file=` of the annotations (found by a fuzzer)."""
    name = "s\x1b[31mall.yaml"
    (project / name).write_text(FAMILY)
    table = cli("table", name, "--variant", "small_a")
    assert table.exit_code == 0 and "\x1b" not in table.stdout and "(s\\x1b[31mall.yaml)" in table.stdout
    checked = cli("check", name, "--format", "github")
    assert checked.exit_code == 1 and "\x1b" not in checked.stdout
    assert "::error file=s%1B[31mall.yaml," in checked.stdout, checked.stdout


def test_a_file_name_that_is_no_utf_8_is_annotated_with_its_byte_escaped(project):
    """Its byte is held as a surrogate, which the percent-encoding of hidden characters could not
    encode: the annotations failed as an encoding error of standard output (found by a reviewer);
    then they held the raw byte, no UTF-8, which GitHub reads as text; now its escape."""
    import os

    name = os.fsdecode(b"b\xff.yaml")
    (project / name).write_text(FAMILY)
    done = run_process("check", name, "--format", "github", "-o", "out.txt", cwd=project)
    assert done.returncode == 1, done.stderr
    assert b"::error file=b\\xff.yaml," in (project / "out.txt").read_bytes()
    (project / "out.txt").read_bytes().decode("utf-8")


@pytest.mark.parametrize("made, says", [(os.mkfifo, "this is a named pipe (FIFO), not a spec file"),
                                        (os.mkdir, "this is a directory, not a spec file")])
def test_a_spec_the_baseline_names_that_is_no_file_is_said_so_not_gone(tmp_path, cli, monkeypatch, made, says):
    """A named pipe or a folder where the baseline's spec was reported 'spec gone (… does not exist)';
    then refused at the file alone ('t.yaml:1:1'), the baseline's entry untold (a fuzzer's)."""
    monkeypatch.chdir(tmp_path)
    Path("t.yaml").write_text("name: tiny\ninput: [3, 32, 32]\nlayers:\n  - conv: {kind: conv2d, out: 8, kernel: 3}\n")
    assert cli("check", "t.yaml", "--update").exit_code == 0
    Path("t.yaml").unlink()
    made("t.yaml")
    result = cli("check")
    assert result.exit_code == 2 and result.stderr.startswith(
        f"error: archcalc.lock.yaml:4:3: model 'tiny': its spec 't.yaml': {says}\n"), result.output


def test_an_error_in_a_variant_is_named_on_a_copy_the_raisers_own_is_left(project, monkeypatch):
    """check adds '(in the variant …)' to the error it reports; the SpecError it caught is the
    raiser's, which may raise it again: it keeps its message (it read '… (in the variant 'a')
    (in the variant 'a')' at its second report)."""
    from archcalc.check import check, load_baseline
    from archcalc.errors import Location, SpecError

    raised = SpecError("it broke", location=Location("fam.yaml", 3, 1), hint="fix it")
    monkeypatch.setattr(sys.modules["archcalc.spec.expand"], "expand", lambda *args, **kwargs: (_ for _ in ()).throw(raised))
    (project / "fam.yaml").write_text("name: fam\ninput: [3, 16, 16]\nvariants:\n  a: {}\n"
                                      "layers:\n  - c: {kind: conv2d, out: 4, kernel: 3}\n")
    for _ in range(2):
        with pytest.raises(SpecError) as caught:
            check(["fam.yaml"], load_baseline("archcalc.lock.yaml"), jobs=1)
        assert caught.value.message == "it broke (in the variant 'a')"
        assert (caught.value.location, caught.value.hint) == (raised.location, raised.hint)
    assert raised.message == "it broke"
