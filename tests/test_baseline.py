"""The baseline cannot be fooled: what `check --update` writes reads back as meant, whatever the
names, paths and hand-written style; every entry is validated where it stands; renamed, new and
gone models are reported in every form of `check` and repaired by `--update`; concurrent updates
take turns. (Issue "Hardening", section 1.)

Each test reads the baseline back with PyYAML itself, not with archcalc's reader, and takes the
figures it compares from the seeds' formulas (`conv_fc` in test_check.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import CLI_ENV
from test_check import FAMILY, conv_fc

BASELINE = "archcalc.lock.yaml"
FIGURES = ("params", "macs", "flops", "activation_bytes")


def models_in(path: str | Path = BASELINE) -> dict:
    """The baseline's models, as PyYAML reads them."""
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))["models"]


def family(*variants: str) -> str:
    """FAMILY with these variant names (width 8 each), written as YAML keys by PyYAML itself."""
    names = yaml.safe_dump({name: {} for name in variants}, default_flow_style=False, allow_unicode=True)
    return FAMILY.replace("  small_a: {}\n  small_b: {width: 16}\n", "".join(f"  {line}\n" for line in names.splitlines()))


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


# --- names and paths that plain YAML would read as something else ----------------------------

AWKWARD_NAMES = ["lenet #5: small", "2024", "yes", "007", "null", "~", "1e3", "- dash", "&anchor", "*alias",
                 "!tag", "%percent", "@at", "`tick`", "{brace}", "[bracket]", "it's", 'say "hi"', "a, b",
                 "trailing space ", " leading", "ünïcödé"]  # names on more than one line: tests/test_names.py


@pytest.mark.parametrize("name", AWKWARD_NAMES, ids=repr)
def test_a_model_name_reads_back_as_itself(project, cli, name):
    Path("small.yaml").write_text(family(name, "plain"), encoding="utf-8")
    result = cli("check", "small.yaml", "--update")
    assert result.exit_code == 0, result.output
    models = models_in()
    assert set(models) == {name, "plain"}
    params, macs = conv_fc(8)
    assert (models[name]["params"], models[name]["macs"]) == (params, macs)
    for command in (["check"], ["check", "small.yaml"]):
        again = cli(*command)
        assert again.exit_code == 0, again.output
        assert again.stdout.rstrip().endswith("all 8 checks on 2 models hold")


AWKWARD_FILES = ["a: b.yaml", "model #1.yaml", "[x].yaml", "{y}.yaml", "'q'.yaml", "2024.yaml", "- d.yaml",
                 "ünï.yaml"]


@pytest.mark.parametrize("file", AWKWARD_FILES)
def test_a_spec_path_reads_back_as_itself(project, cli, file):
    Path(file).write_text(FAMILY, encoding="utf-8")
    result = cli("check", "--update", "--", file)  # "--": a file name may start with "-"
    assert result.exit_code == 0, result.output
    assert {model["spec"] for model in models_in().values()} == {file}
    again = cli("check")
    assert again.exit_code == 0, again.output
    assert again.stdout.rstrip().endswith("all 8 checks on 2 models hold")


def test_a_later_update_of_awkward_names_edits_in_place_and_still_reads_back(project, cli):
    names = ["lenet #5: small", "yes", "007"]
    Path("small.yaml").write_text(family(*names), encoding="utf-8")
    assert cli("check", "small.yaml", "--update").exit_code == 0
    text = Path(BASELINE).read_text(encoding="utf-8")
    Path(BASELINE).write_text(text.replace("models:\n", "models:\n  # kept\n"), encoding="utf-8")
    Path("small.yaml").write_text(family(*names).replace("width: 8", "width: 24"), encoding="utf-8")
    assert cli("check", "small.yaml", "--update").exit_code == 0
    after = Path(BASELINE).read_text(encoding="utf-8")
    assert "  # kept\n" in after
    assert {name: model["params"] for name, model in models_in().items()} == {name: conv_fc(24)[0] for name in names}


# --- hand-written styles ----------------------------------------------------------------------

def recorded(cli) -> dict:
    """Record FAMILY's two models and return what was written."""
    Path("small.yaml").write_text(FAMILY)
    assert cli("check", "small.yaml", "--update").exit_code == 0
    return models_in()


def widened(cli) -> None:
    """Widen small_b (16 → 24) and update: the baseline must then hold the new figures."""
    Path("small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 24}"))
    result = cli("check", "small.yaml", "--update")
    assert result.exit_code == 0, result.output


def flow(entry: dict) -> str:
    return "{" + ", ".join(f"{key}: {value}" for key, value in entry.items()) + "}"


STYLES = {
    "an entry in flow style": lambda m: (
        "models:\n  small_a:\n" + "".join(f"    {k}: {v}\n" for k, v in m["small_a"].items())
        + f"  small_b: {flow(m['small_b'])}  # wide\n"),
    "an entry spread over lines in flow style": lambda m: (
        "models:\n  small_a: " + flow(m["small_a"]) + "\n  small_b: {\n"
        + ",\n".join(f"    {k}: {v}" for k, v in m["small_b"].items()) + "\n  }\n"),
    "models in flow style": lambda m: "models: {small_a: " + flow(m["small_a"]) + ", small_b: " + flow(m["small_b"]) + "}\n",
    "a folded value": lambda m: (
        "models:\n" + "".join(f"  {name}:\n" + "".join(
            f"    {k}: >-\n      {v}\n" if k in ("spec", "input") else f"    {k}: {v}\n" for k, v in e.items())
            for name, e in m.items())),
    "a literal block value": lambda m: (
        "models:\n" + "".join(f"  {name}:\n" + "".join(
            f"    {k}: |-\n      {v}\n" if k == "input" else f"    {k}: {v}\n" for k, v in e.items())
            for name, e in m.items())),
    "a value on the line after its key": lambda m: (
        "models:\n" + "".join(f"  {name}:\n" + "".join(
            f"    {k}:\n      {v}\n" if k == "macs" else f"    {k}: {v}\n" for k, v in e.items())
            for name, e in m.items())),
    "a document start and end": lambda m: "---\nmodels:\n" + "".join(
        f"  {name}:\n" + "".join(f"    {k}: {v}\n" for k, v in e.items()) for name, e in m.items()) + "...\n",
    "quoted keys and values": lambda m: "models:\n" + "".join(
        f"  '{name}':\n" + "".join(f'    "{k}": "{v}"\n' if isinstance(v, str) else f"    '{k}': {v}\n"
                                   for k, v in e.items()) for name, e in m.items()),
}


@pytest.mark.parametrize("style", STYLES)
def test_an_update_of_a_hand_written_style_is_never_corrupted(project, cli, style):
    written = STYLES[style](recorded(cli))
    Path(BASELINE).write_text(written)
    assert cli("check", "small.yaml").exit_code == 0, written  # the style reads as the same figures
    widened(cli)
    models = models_in()
    params, macs = conv_fc(24)
    assert (models["small_b"]["params"], models["small_b"]["macs"]) == (params, macs)
    assert models["small_a"]["params"] == conv_fc(8)[0]
    again = cli("check", "small.yaml")
    assert again.exit_code == 0, (Path(BASELINE).read_text(), again.output)


def test_budgets_tolerances_and_comments_of_a_flow_entry_survive_its_rewrite(project, cli):
    m = recorded(cli)
    Path(BASELINE).write_text("# top\nmodels:\n  small_a: " + flow(m["small_a"]) + "\n  # the wide one\n  small_b: "
                              + flow({**m["small_b"], "max_macs": 10**9}) + "\n")
    widened(cli)
    text = Path(BASELINE).read_text()
    assert text.startswith("# top\n") and "# the wide one" in text
    assert models_in()["small_b"]["max_macs"] == 10**9


# --- entries that are incomplete or wrong -----------------------------------------------------

ENTRY = "models:\n  small_a:\n    spec: small.yaml\n    input: 3x32x32\n"
BAD_ENTRIES = {  # baseline text → (line, column, message)
    "only spec and input": (ENTRY, 3, 5, "the baseline entry 'small_a' has no 'params'"),
    "one figure missing": (ENTRY + "    params: 314\n    macs: 221264\n    flops: 442528\n", 3, 5,
                           "the baseline entry 'small_a' has no 'activation_bytes'"),
    "an empty entry": ("models:\n  small_a:\n", 2, 3, "the baseline entry 'small_a' must be a mapping"),
    "an entry that is a list": ("models:\n  small_a: [1, 2]\n", 2, 3, "the baseline entry 'small_a' must be a mapping"),
    "no input": ("models:\n  small_a:\n    spec: small.yaml\n", 3, 5,
                 "the baseline entry 'small_a' needs 'input:' as text"),
    "a symbolic input": (ENTRY.replace("3x32x32", "3xHxW"), 4, 12, "'input' of the baseline entry 'small_a': "),
    "a word as input": (ENTRY.replace("3x32x32", "banana"), 4, 12, "'input' of the baseline entry 'small_a': "),
    "batch 0": (ENTRY + "    batch: 0\n", 5, 12, "'batch' must be a whole number ≥ 1, got 0"),
    "batch -1": (ENTRY + "    batch: -1\n", 5, 12, "'batch' must be a whole number ≥ 1, got -1"),
    "batch as text": (ENTRY + "    batch: two\n", 5, 12, "'batch' must be a whole number ≥ 1, got 'two'"),
    # an error of no file and line ('the batch size must be … (in the variant …)'), which --update kept
    "batch 2^31": (ENTRY + "    batch: 2147483648\n", 5, 12,
                   "'batch' of the baseline entry 'small_a' must be at most 2,147,483,647, got 2,147,483,648"),
    "an unknown convention": (ENTRY + "    convention: bogus\n", 5, 17, "unknown convention 'bogus'"),
    "an unknown dtype": (ENTRY + "    dtype: float128\n", 5, 12, "unknown dtype 'float128'"),
    # a list or a mapping where a name goes: a traceback (TypeError: unhashable type)
    "a convention as a list": (ENTRY + "    convention: [paper]\n", 5, 17, "the convention must be one name, got a list"),
    "a dtype as a mapping": (ENTRY + "    dtype: {float32: 1}\n", 5, 12, "the dtype must be one name, got a mapping"),
    "a negative figure": (ENTRY + "    params: -5\n", 5, 13, "'params' must be a whole number ≥ 0, got -5"),
    "a fractional figure": (ENTRY + "    macs: 1.5\n", 5, 11, "'macs' must be a whole number ≥ 0, got 1.5"),
}


@pytest.mark.parametrize("spec", ['""', "123"])
def test_an_entry_that_names_no_spec_says_so_to_update_too(project, cli, spec):
    """check said to run --update, which then said 'nothing to check: … lists no models'."""
    text = f"models:\n  m:\n    spec: {spec}\n    input: 3x8x8\n"
    Path(BASELINE).write_text(text)
    for command in (["check"], ["check", "--update"]):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {BASELINE}:3:11: the baseline entry 'm' needs 'spec:' as text"), \
            result.stderr
        assert "hint: run 'archcalc check SPEC --update' with the spec file that defines the model" in result.stderr
    assert Path(BASELINE).read_text() == text


@pytest.mark.parametrize("case", BAD_ENTRIES)
def test_a_bad_entry_is_an_error_at_its_place_and_update_repairs_it(project, cli, case):
    text, line, column, message = BAD_ENTRIES[case]
    Path("small.yaml").write_text(family("small_a"))
    Path(BASELINE).write_text(text)
    for command in (["check"], ["check", "small.yaml"], ["check", "--format", "json"]):
        result = cli(*command)
        assert result.exit_code == 2, (command, result.output)
        assert result.stdout == ""
        assert result.stderr.startswith(f"error: {BASELINE}:{line}:{column}: {message}"), result.stderr
        assert "Traceback" not in result.stderr
    assert Path(BASELINE).read_text() == text  # checking never writes
    repaired = cli("check", "small.yaml", "--update")
    assert repaired.exit_code == 0, repaired.output
    params, macs = conv_fc(8)
    entry = models_in()["small_a"]
    assert (entry["input"], entry["batch"], entry["params"], entry["macs"]) == ("3x32x32", 1, params, macs)
    assert cli("check").exit_code == 0


@pytest.mark.parametrize("case", ["only spec and input", "no input", "batch 2^31"])
def test_a_bad_entry_of_another_baseline_is_repaired_by_the_command_its_hint_gives(project, cli, case):
    """Beside --baseline ci/lock.yaml the hint said 'run archcalc check --update', which checks and
    writes archcalc.lock.yaml instead (here: 'nothing to check … does not exist', exit 2)."""
    text = BAD_ENTRIES[case][0]
    Path("ci").mkdir()
    Path("small.yaml").write_text(family("small_a"))
    Path("ci/lock.yaml").write_text(text.replace("spec: small.yaml", "spec: ../small.yaml"))
    result = cli("check", "--baseline", "ci/lock.yaml")
    assert result.exit_code == 2 and result.stdout == "", result.output
    command = re.search(r"hint: run '(archcalc check [^']*)'", result.stderr)[1].split()
    assert command[-2:] == ["--baseline", "ci/lock.yaml"]
    assert cli(*command[1:]).exit_code == 0
    assert cli("check", "--baseline", "ci/lock.yaml").exit_code == 0 and not Path(BASELINE).exists()


def tiny_macs(size: int) -> int:
    """A 3×3 convolution of 3 channels into 8, no padding, on a size×size input: (size−2)² · 8 · 3·3·3."""
    return (size - 2) ** 2 * 8 * 3 * 3 * 3


@pytest.mark.parametrize("recorded", ["3x32x32", "3x2x2"])
def test_an_input_the_spec_no_longer_has_fails_and_update_records_the_specs(project, cli, recorded):
    """The spec's input went from 3x32x32 to 3x64x64 after the baseline was recorded: check went on
    measuring at the baseline's 3x32x32 (its figures and budgets held there, exit 0, the MACs 4x as
    many now), and --update kept 3x32x32, so the new input could never be recorded. A recorded input
    the model cannot take (3x2x2) was an error at the spec's layer. Now each fails, saying both inputs,
    with the figures measured at the spec's; --update records the model at it."""
    spec = "name: tiny\ninput: [3, 32, 32]\nlayers:\n  - conv: {kind: conv2d, out: 8, kernel: 3}\n"
    Path("tiny.yaml").write_text(spec)
    assert cli("check", "tiny.yaml", "--update").exit_code == 0
    Path(BASELINE).write_text(Path(BASELINE).read_text().replace("input: 3x32x32", f"input: {recorded}"))
    Path("tiny.yaml").write_text(spec.replace("[3, 32, 32]", "[3, 64, 64]"))
    result = cli("check")
    assert result.exit_code == 1, result.output
    assert re.search(rf"^tiny +✗ input changed \(the spec's input is now 3x64x64; {BASELINE} records {recorded}: "
                     r"run 'archcalc check --update' to record the model at 3x64x64\)$", result.stdout, re.MULTILINE), \
        result.stdout
    macs = next(line for line in result.stdout.splitlines() if line.startswith("tiny") and "MACs" in line)
    assert re.split(r"\s{2,}", macs)[:4] == ["tiny", "MACs", f"{tiny_macs(32):,}", f"{tiny_macs(64):,}"]
    assert cli("check", "--update").exit_code == 0
    entry = models_in()["tiny"]
    assert (entry["input"], entry["macs"]) == ("3x64x64", tiny_macs(64))
    assert cli("check").exit_code == 0


def test_a_variants_own_input_changed_fails_too(project, cli):
    """A family's variant with an input of its own (as lenet5_pytorch's 1x28x28): its change is the
    spec's input changing for that model alone."""
    Path("small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 16, input: [3, 16, 16]}"))
    assert cli("check", "small.yaml", "--update").exit_code == 0
    Path("small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 16, input: [3, 8, 8]}"))
    result = cli("check", "small.yaml")
    assert result.exit_code == 1
    assert re.search(r"^small_b +✗ input changed \(the spec's input is now 3x8x8; archcalc.lock.yaml records 3x16x16",
                     result.stdout, re.MULTILINE), result.stdout
    assert not re.search(r"^small_a .*✗", result.stdout, re.MULTILINE)


def test_an_input_changed_annotation_points_at_the_input_line(project, cli):
    """The annotation of an input changed pointed at the model's line (the variant's key, or the
    spec's name); what changed is the `input:` written: the variant's own, else the spec's."""
    Path("small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 16, input: [3, 16, 16]}"))
    assert cli("check", "small.yaml", "--update").exit_code == 0
    Path("small.yaml").write_text(FAMILY.replace("small_b: {width: 16}", "small_b: {width: 16, input: [3, 8, 8]}")
                                  .replace("input: [3, 32, 32]", "input: [3, 30, 30]"))
    result = cli("check", "small.yaml", "--format", "github")
    assert result.exit_code == 1
    places = {model: place for place, model in re.findall(
        r"^::error file=small\.yaml,(line=\d+,col=\d+),title=archcalc check%3A (small_\w) input changed::",
        result.stdout, re.MULTILINE)}
    # line 2 'input: [3, 30, 30]': the '[' in column 8; line 6 '  small_b: {width: 16, input: [3, 8, 8]}': in column 31
    assert places == {"small_a": "line=2,col=8", "small_b": "line=6,col=31"}, result.stdout


@pytest.mark.parametrize("text, line, column, message", [
    (ENTRY + "    parms: 5\n", 5, 5, "unknown key 'parms' in baseline (did you mean 'params'?)"),
    (ENTRY + "    max_macs: lots\n", 5, 15, "'max_macs' must be a whole number ≥ 0, got 'lots'"),
    (ENTRY + "    tolerance: {macs: many}\n", 5, 23, "a tolerance is a finite amount ≥ 0 or a percentage"),
    # an infinite one turned the check off (+4833180.00% ✓), and with % crashed (OverflowError)
    (ENTRY + "    tolerance: {macs: .inf}\n", 5, 23, "a tolerance is a finite amount ≥ 0 or a percentage"),
    (ENTRY + "    tolerance: {macs: 1e400%}\n", 5, 23, "a tolerance is a finite amount ≥ 0 or a percentage"),
    (ENTRY + "    tolerance: {macs: inf%}\n", 5, 23, "a tolerance is a finite amount ≥ 0 or a percentage"),
    # read as no tolerance at all
    (ENTRY + "    tolerance: 0\n", 5, 16, "'tolerance' must map figures to an amount or a percentage"),
    (ENTRY + "    tolerance: []\n", 5, 16, "'tolerance' must map figures to an amount or a percentage"),
    # a review's: Python's ValueError traceback (Fraction converts 4,300 digits at most)
    (ENTRY + "    tolerance: {macs: '0." + "0" * 5000 + "1'}\n", 5, 23, "a tolerance is written in at most 100 characters"),
    # a review's: read as 0.0, then held as an exact Fraction of 10 to the -99,999,999th, for minutes
    (ENTRY + "    tolerance: {macs: '1e-99999999'}\n", 5, 23, "a tolerance's exponent is at most 400 either way"),
], ids=["an unknown key", "a bad budget", "a bad tolerance", "an infinite tolerance", "an overflowing percentage",
        "an infinite percentage", "a tolerance of 0", "an empty list of tolerances", "a tolerance of 5,003 characters",
        "a tolerance of a huge exponent"])
def test_what_update_keeps_must_be_right_before_it_writes(project, cli, text, line, column, message):
    """Budgets, tolerances and unknown keys are the user's: --update keeps them, so it refuses to
    write while they are wrong, at their place."""
    Path("small.yaml").write_text(family("small_a"))
    Path(BASELINE).write_text(text)
    for command in (["check"], ["check", "small.yaml", "--update"]):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {BASELINE}:{line}:{column}: {message}"), result.stderr
    assert Path(BASELINE).read_text() == text


@pytest.mark.parametrize("text, hint", [
    ("models:\n  small_b:\n    <<: {spec: small.yaml}\n", "write the keys out where they are needed"),
    ("- small_a\n", "a baseline is a mapping with one key, 'models:'"),
    ("models: {}\n---\nmodels: {}\n", "keep one baseline per file"),
    ("models: !!set {}\n", "a baseline holds numbers, true/false, text, lists and mappings only"),
], ids=["a merge key", "a list", "two documents", "a tag"])
def test_a_baseline_yaml_refuses_gets_a_baselines_hint(project, cli, text, hint):
    """The YAML a spec and a baseline share refused with a hint for a baseline: a merge key was
    told to 'use a block with parameters to share layers', a list that 'a spec is a mapping with
    keys such as 'name', 'input' and 'layers''."""
    Path("small.yaml").write_text(family("small_a"))
    Path(BASELINE).write_text(text)
    result = cli("check", "small.yaml")
    assert result.exit_code == 2 and result.stderr.endswith(f"  hint: {hint}\n"), result.stderr


FIGURES_OF_ONE = ("    input: 3x32x32\n    batch: 1\n    convention: paper\n    dtype: float32\n"
                  "    params: 1\n    macs: 1\n    flops: 1\n    activation_bytes: 1\n")


@pytest.mark.parametrize("text", [
    "models:\n  ? small_a\n  :\n    spec: a.yaml\n" + FIGURES_OF_ONE,  # an explicit key: its value on lines after it
    "models:\n  small_a: &entry\n    spec: a.yaml\n" + FIGURES_OF_ONE + "  small_b: *entry\n",  # an entry an alias of another
    "models:\n  small_a:\n    spec: a.yaml\n" + FIGURES_OF_ONE + "  ?\n    small_b\n  :\n    spec: b.yaml\n"
    + FIGURES_OF_ONE,  # the '?' on a line of its own, the key's name on the next
], ids=["an explicit key", "an aliased entry", "an explicit key after a lone '?'"])
def test_an_entry_whose_text_is_not_below_its_key_is_updated(project, cli, text):
    """--update edited such entries in place by line numbers their text does not have: an
    IndexError (a traceback), and for the alias a line of another entry. It writes the file anew."""
    Path("a.yaml").write_text(family("small_a"))
    Path("b.yaml").write_text(family("small_b"))
    Path(BASELINE).write_text(text)
    result = cli("check", "a.yaml", "b.yaml", "--update")
    assert result.exit_code == 0, result.output
    params, macs = conv_fc(8)
    models = models_in()
    assert {name: (models[name]["spec"], models[name]["params"], models[name]["macs"]) for name in models} == \
        {"small_a": ("a.yaml", params, macs), "small_b": ("b.yaml", params, macs)}
    assert cli("check").exit_code == 0


def test_update_records_the_file_a_model_moved_to(project, cli):
    """small_b moved from a.yaml to b.yaml: --update kept 'spec: a.yaml', and the next bare check
    said it was gone from a.yaml."""
    Path("a.yaml").write_text(family("small_a", "small_b"))
    assert cli("check", "a.yaml", "--update").exit_code == 0
    Path("a.yaml").write_text(family("small_a"))
    Path("b.yaml").write_text(family("small_b"))
    assert cli("check", "a.yaml", "b.yaml", "--update").exit_code == 0
    assert {name: entry["spec"] for name, entry in models_in().items()} == {"small_a": "a.yaml", "small_b": "b.yaml"}
    assert cli("check").exit_code == 0


@pytest.mark.parametrize("target", ["elsewhere/base.yaml", "elsewhere/deeper/base.yaml"])
def test_a_baseline_named_by_a_link_names_its_specs_from_the_links_folder(project, cli, target):
    """check read a linked baseline's `spec:` paths from the link's folder, --update wrote them from
    its target's: '../project/small.yaml' read back by luck from one folder down, and from two
    ('../../project/small.yaml') was refused as outside, by the check --update runs after writing.
    Both now go by the link's folder, the path the user gave: the spec beside the link is 'small.yaml'."""
    work = project / "project"
    (work / Path(target).parent).mkdir(parents=True)
    (work / "small.yaml").write_text(FAMILY)
    (work / "elsewhere" / "small.yaml").write_text(FAMILY.replace("small_", "other_"))  # not the one meant
    os.chdir(work)
    os.symlink(target, "link.yaml")
    result = cli("check", "small.yaml", "--update", "--baseline", "link.yaml")
    assert result.exit_code == 0, result.output
    assert {entry["spec"] for entry in models_in(work / target).values()} == {"small.yaml"}
    os.chdir(project)  # from elsewhere, the link's folder still holds the spec
    result = cli("check", "--baseline", "project/link.yaml")
    assert result.exit_code == 0 and "all 8 checks on 2 models hold" in result.stdout, result.output


def test_a_bundled_model_is_recorded_by_its_specs_name_and_holds_anywhere(project, cli, monkeypatch):
    """A bundled model's spec was recorded as its path from the baseline's folder to where archcalc
    is installed (../../…/specs/lenet.yaml), which no longer led there once the project was
    checked out at another depth: the next check refused the entry."""
    assert cli("check", "lenet5", "--update").exit_code == 0
    assert models_in()["lenet5"]["spec"] == "lenet"
    deeper = project / "checked" / "out" / "again"
    deeper.mkdir(parents=True)
    Path(BASELINE).rename(deeper / BASELINE)
    monkeypatch.chdir(deeper)
    result = cli("check")
    assert result.exit_code == 0, result.output
    assert result.stdout.rstrip().endswith("all 4 checks on 1 model hold")


def test_a_file_of_no_yaml_name_is_recorded_as_a_path(project, cli):
    """A spec of yours named 'mynet' (no .yaml) beside the baseline is recorded ./mynet: a bare
    name is a bundled spec's where there is one. A baseline recorded before, with 'mynet', reads
    the file as it did."""
    Path("mynet").write_text(family("small_a"))
    assert cli("check", "mynet", "--update").exit_code == 0
    assert models_in()["small_a"]["spec"] == "./mynet"
    assert cli("check").exit_code == 0
    Path(BASELINE).write_text(Path(BASELINE).read_text().replace("spec: ./mynet", "spec: mynet"))
    result = cli("check")
    assert result.exit_code == 0 and result.stdout.rstrip().endswith("all 4 checks on 1 model hold"), result.output


def test_a_file_named_as_a_bundled_spec_does_not_take_its_entry(project, cli):
    """A file 'lenet' of the baseline's folder (a script, say) is not the bundled spec the entry
    'spec: lenet' names."""
    assert cli("check", "lenet5", "--update").exit_code == 0
    Path("lenet").write_text("#!/bin/sh\necho lenet\n")
    result = cli("check")
    assert result.exit_code == 0 and result.stdout.rstrip().endswith("all 4 checks on 1 model hold"), result.output


def test_an_entry_naming_a_bundled_spec_by_the_install_path_is_recorded_by_its_name(project, cli):
    """A baseline recorded before bundled names kept the path from its folder to where archcalc is
    installed; --update keeps an entry's spec: as written, but not that."""
    from archcalc.spec.catalog import specs_dir

    assert cli("check", "lenet5", "--update").exit_code == 0
    installed = os.path.relpath(specs_dir() / "lenet.yaml", project)
    assert installed.startswith("..")
    Path(BASELINE).write_text(Path(BASELINE).read_text().replace("spec: lenet", f"spec: {installed}"))
    assert cli("check").exit_code == 0
    assert cli("check", "--update").exit_code == 0
    assert models_in()["lenet5"]["spec"] == "lenet"


# --- renamed, new and gone models -------------------------------------------------------------

CHANGES = {
    "renamed": (family("small_a", "small_c"), {"small_c": "not in the baseline",
                                                "small_b": "spec gone (small.yaml no longer defines it (renamed?)"}),
    "a new variant": (family("small_a", "small_b", "small_c"), {"small_c": "not in the baseline"}),
    "a variant removed": (family("small_a"), {"small_b": "spec gone (small.yaml no longer defines it"}),
    "the file deleted": (None, {"small_a": "spec gone (small.yaml does not exist",
                                "small_b": "spec gone (small.yaml does not exist"}),
}


@pytest.mark.parametrize("change", CHANGES)
def test_renamed_new_and_gone_models_show_in_every_form_and_update_repairs(project, cli, change):
    Path("small.yaml").write_text(family("small_a", "small_b"))
    assert cli("check", "small.yaml", "--update").exit_code == 0
    spec, problems = CHANGES[change]
    if spec is None:
        Path("small.yaml").unlink()
    else:
        Path("small.yaml").write_text(spec)
    forms = [["check"]] + ([["check", "small.yaml"]] if spec is not None else [])
    for command in forms:
        result = cli(*command)
        assert result.exit_code == 1, (command, result.output)
        for model, problem in problems.items():
            assert re.search(rf"^{model} .*✗ {re.escape(problem)}", result.stdout, re.MULTILINE), (command, result.stdout)
    repaired = cli("check", "--update")
    assert repaired.exit_code == 0, repaired.output
    expected = set() if spec is None else set(yaml.safe_load(spec)["variants"])
    assert set(models_in() or {}) == expected
    if expected:
        assert cli("check").exit_code == 0
        assert cli("check", "small.yaml").exit_code == 0


# --- concurrent updates -------------------------------------------------------------------------

def slow_spec(name: str) -> str:
    """A spec that takes a few tenths of a second to measure, so that two runs overlap."""
    return (f"name: {name}\ninput: [3, 16, 16]\nlayers:\n"
            "  - body: {kind: conv2d, out: 3, kernel: 3, padding: 1, repeat: 3000}\n")


def test_concurrent_updates_take_turns_and_keep_every_model(project):
    for name in ("first", "second", "third"):
        Path(f"{name}.yaml").write_text(slow_spec(name))
    env = {**os.environ, **CLI_ENV}
    runs = [subprocess.Popen([sys.executable, "-m", "archcalc", "check", f"{name}.yaml", "--update"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
            for name in ("first", "second", "third")]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr
    assert set(models_in()) == {"first", "second", "third"}
    assert not [path for path in project.iterdir() if path.name.endswith(".tmp")]


def test_a_bundled_model_is_held_alone_and_its_renaming_never_passes_silently(project, cli):
    """A baseline may hold one model of a bundled family: a bare check measures that one (the
    family's other variants are not reported), and a recorded name the family no longer defines
    is reported as gone, never 'all 0 checks hold'."""
    assert cli("check", "resnet50", "--update").exit_code == 0
    result = cli("check")
    assert result.exit_code == 0 and result.stdout.rstrip().endswith("all 4 checks on 1 model hold")
    Path(BASELINE).write_text(Path(BASELINE).read_text().replace("  resnet50:\n", "  resnet50_old:\n"))
    result = cli("check")
    assert result.exit_code == 1
    assert re.search(r"^resnet50_old .*✗ spec gone \(the bundled spec 'resnet' no longer defines it \(renamed\?\)",
                     result.stdout, re.MULTILINE), result.stdout
    assert cli("check", "--update").exit_code == 0
    assert not models_in()


# --- the per-block records read by a pattern: what YAML reads, at the same places ----------------

RECORD = "{params: 10, macs: 20, flops: 40, activation_bytes: 0}"


def entry(number: int) -> str:
    return f"  m{number}:\n    spec: s.yaml\n    input: 3x8x8\n    blocks:\n      conv1: {RECORD}\n      fc: {RECORD}\n"


RECORD_TEXTS = {
    "as --update writes it": "models:\n" + entry(1) + entry(2),
    "awkward keys and values": ("models:\n  m:\n    blocks:\n      'quoted': " + RECORD + "\n      1e3: " + RECORD
                                + "\n      a.b-c_d: " + RECORD + "  # a comment\n      zero: {params: +7, macs: 0, "
                                "flops: 0, activation_bytes: 0}\n      x: {macs: 1, params: 2, flops: 2, activation_bytes: 3}\n"),
    "a record's text inside a literal block": "models:\n  m:\n    note: |\n      conv1: " + RECORD + "\n" + entry(1),
    "a record outside 'blocks'": "models:\n  m:\n    other:\n      conv1: " + RECORD + "\n" + entry(1),
    "a record as a model": "models:\n  conv1: " + RECORD + "\n" + entry(1),
    "anchors": "models:\n" + entry(1) + "  m2: &a\n    spec: s.yaml\n  m3: *a\n",
}


def same_places(ours, theirs, path="document"):
    """Equal values, of equal types, with every key, value and item at the same place."""
    assert type(ours) is type(theirs), path
    if isinstance(ours, dict):
        assert list(ours) == list(theirs), path
        assert (ours.location, ours.key_locations, ours.value_locations) == \
               (theirs.location, theirs.key_locations, theirs.value_locations), path
        for key in ours:
            same_places(ours[key], theirs[key], f"{path}.{key}")
    elif isinstance(ours, list):
        assert (len(ours), ours.location, ours.item_locations) == (len(theirs), theirs.location, theirs.item_locations)
        for index, (mine, other) in enumerate(zip(ours, theirs)):
            same_places(mine, other, f"{path}[{index}]")
    else:
        assert ours == theirs, path


@pytest.mark.parametrize("text", [*RECORD_TEXTS.values(), Path(BASELINE).read_text(encoding="utf-8")],
                         ids=[*RECORD_TEXTS, "the committed baseline"])
def test_the_per_block_records_read_by_pattern_are_what_yaml_reads_at_the_same_places(text):
    from archcalc.check.baseline import _parsed
    from archcalc.spec.source import parse_yaml

    ours = _parsed(text, "baseline.yaml")
    same_places(ours, parse_yaml.__wrapped__(text, "baseline.yaml"))
    assert ours == yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # PyYAML itself
    by_pattern = ours is not parse_yaml(text, "baseline.yaml", what="baseline")  # else read whole, by YAML
    assert by_pattern == ("note: |" not in text and "other:" not in text and "conv1: {" not in text[:20]
                          and "&" not in text)


@pytest.mark.parametrize("text", ["models:\n  m:\n    blocks:\n      conv1: " + RECORD + "\n     bad: [\n",
                                  "models:\n  m:\n    blocks:\n      conv1: " + RECORD + "\n      conv1: " + RECORD + "\n",
                                  "models:\n  m:\n    blocks:\n      true: " + RECORD + "\n",
                                  "models:\n  m:\n    blocks:\n      conv1: " + RECORD.replace("10", "010") + "\n"],
                         ids=["a syntax error", "a duplicate block", "a key that is not text", "an octal number"])
def test_a_baseline_yaml_refuses_is_refused_with_the_same_error(text):
    from archcalc.check.baseline import _parsed
    from archcalc.errors import SpecError
    from archcalc.spec.source import parse_yaml

    with pytest.raises(SpecError) as theirs:
        parse_yaml.__wrapped__(text, "baseline.yaml")
    with pytest.raises(SpecError) as ours:
        _parsed(text, "baseline.yaml")
    assert (ours.value.message, ours.value.location) == (theirs.value.message, theirs.value.location)


def test_records_that_pass_the_node_bound_only_as_their_yaml_nodes_are_refused(monkeypatch):
    """Each record is 9 YAML nodes where its placeholder is one: the bound counts the nine."""
    from archcalc import yaml_text
    from archcalc.check import baseline
    from archcalc.errors import SpecError
    from archcalc.spec import source

    text = "models:\n" + entry(1) + entry(2) + entry(3)  # 43 nodes, 67 written out
    for bounded in (yaml_text, source, baseline):  # the composer's, the converter's, the records'
        monkeypatch.setattr(bounded, "MAX_YAML_NODES", 60)
    with pytest.raises(SpecError, match="more than 60 YAML nodes"):
        baseline._parsed(text, "baseline.yaml")
