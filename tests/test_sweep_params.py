"""`archcalc sweep --set`: sweeps over a spec's own parameters. Every point equals `archcalc table`
of a spec file written with those parameters (an independent path: a YAML file, another process
of reading); the values of a range are exact; bad input is one usage error; a value the spec
refuses is a row saying why; the filters and the Pareto front keep what they say."""

from __future__ import annotations

import csv
import io
import itertools
import json
import random

import pytest
import yaml

from archcalc.errors import SpecError
from archcalc.settings import parse_setting
from archcalc.sizes import parse_count
from archcalc.spec.catalog import locate
from archcalc.sweep import SweepPoint, _front, sweep

FIGURES = ("params", "weight", "bias", "buffers", "macs", "flops", "activations", "activation_bytes")

SCALED = """
    name: scaled
    input: [3, 64, 64]
    params:
      width: 1.0        # multiplies every width, rounded to a multiple of 8
      depth: 1.0        # multiplies the number of blocks, rounded up
      se: false
      act: relu
    blocks:
      unit:
        params: {out: ~}
        layers:
          - conv: {kind: conv2d, out: out, kernel: 3, padding: 1, bias: false}
          - bn: batchnorm2d
          - act: act
    layers:
      - stem: {kind: conv2d, out: "max(8, floor(32 * width / 8 + 0.5) * 8)", kernel: 3, stride: 2, padding: 1}
      - body: {kind: unit, out: "max(8, floor(64 * width / 8 + 0.5) * 8)", repeat: "ceil(2 * depth)"}
      - pool: {kind: maxpool2d, kernel: 2}
      - gate: {kind: sigmoid, when: se}
      - head: {kind: adaptive_avgpool2d, output_size: 1}
      - flatten: flatten
      - fc: {kind: linear, out: 10}
"""


def table_totals(cli, tmp_path, spec, variant, setting: dict, shape: tuple[int, ...], batch: int) -> dict | None:
    """`archcalc table` of the spec written anew with `setting` as its parameters' defaults (and
    taken out of the variant, whose values --set overrides); None where it refuses the spec."""
    path, chosen = locate(spec)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document["params"].update(setting)
    chosen = variant or chosen
    if chosen and isinstance(document.get("variants", {}).get(chosen), dict):
        for name in setting:
            document["variants"][chosen].pop(name, None)
    written = tmp_path / f"{len(list(tmp_path.iterdir()))}.yaml"
    written.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    args = ["table", written, "--input", "x".join(map(str, shape)), "--batch", str(batch), "--format", "json"]
    result = cli(*args, *(["--variant", chosen] if chosen else []))
    if result.exit_code != 0:
        assert "Traceback" not in result.output
        return None
    return json.loads(result.stdout)["totals"]


@pytest.mark.parametrize(("spec", "variant", "settings", "sizes", "batches"), [
    ("resnet50", None, ["groups=1,32", "base_width=4,8"], "224,160x192", "1"),
    ("resnet18", None, ["depths=[1,1,1,1],[2,2,2,2]", "block=basic,bottleneck"], "224", "1,4"),
    ("densenet121", None, ["growth=12:32:20", "bn_size=2,4"], "224", "1"),
    ("mobilenet_v3_large", None, ["last_channel=1024,1280", "dilated=true,false"], "224,225", "1"),
    ("vgg11", None, ["batch_norm=true,false"], "32,64", "1"),
    ("SCALED", None, ["width=0.5:2:0.25", "depth=1,1.2,1.4", "se=true,false"], "32:96:32", "1"),
])
def test_each_point_equals_the_table_of_a_spec_written_with_those_parameters(
        cli, tmp_path, write_spec, spec, variant, settings, sizes, batches):
    if spec == "SCALED":
        spec = str(write_spec(SCALED, "scaled.yaml"))
    args = [arg for setting in settings for arg in ("--set", setting)]
    result = cli("sweep", spec, *args, "--size", sizes, "--batch", batches, "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    points = document["points"]
    names = [setting.split("=")[0] for setting in settings]
    assert document["parameters"] == names
    settings_product = list(itertools.product(*(parse_setting(s).values for s in settings)))
    assert [tuple(p["parameters"].values()) for p in points][::len(points) // len(settings_product)] == \
        settings_product
    sample = random.Random(17).sample(points, min(8, len(points)))
    out = tmp_path / "written"
    out.mkdir()
    for point in sample:
        shape = (3, point["height"], point["width"])
        expected = table_totals(cli, out, spec, variant, point["parameters"], shape, point["batch"])
        if expected is None:
            assert not point["valid"], point
            continue
        assert point["valid"], point
        assert {name: point[name] for name in FIGURES} == expected, point


def test_a_range_gives_exact_decimal_values():
    assert parse_setting("width=0.5:2:0.25").values == (0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0)
    assert parse_setting("w=0.1:0.7:0.1").values == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
    assert parse_setting("g=1:9:4").values == (1, 5, 9)
    assert parse_setting("g=1:10:4").values == (1, 5, 9)
    assert all(type(v) is int for v in parse_setting("g=1:4,8").values)
    assert parse_setting("d=1,1.2, 1.4").values == (1, 1.2, 1.4)
    assert parse_setting("b=true,basic,[3, 4, 6, 3]").values == (True, "basic", [3, 4, 6, 3])
    assert parse_setting("x=-1:1:0.5").values == (-1.0, -0.5, 0.0, 0.5, 1.0)


def test_numbers_in_exponent_notation_are_numbers():
    """As Python reads them in an expression (YAML alone would take `1e3` for a name)."""
    assert parse_setting("w=1e3,2E-1, -1.5e2").values == (float("1e3"), float("2E-1"), float("-1.5e2"))
    assert parse_setting("w=1e1:3e1:1e1").values == (10.0, 20.0, 30.0)
    assert parse_setting("g=1:1e1:3").values == (1, 4, 7, 10)


@pytest.mark.parametrize("text", ["w=1:1e300:1", "w=1:2:1e-300", "w=1:1e999999:1", "w=1:1e99999999999:1",
                                  "w=0:100000"])
def test_a_range_past_the_bound_is_refused_from_its_ends(text):
    with pytest.raises(SpecError, match="has more than 10,000 values"):
        parse_setting(text)


@pytest.mark.parametrize("text", ["width", "=1", "width=", "1w=2", "w=1:0", "w=1:2:0", "w=1:2:-1", "w=1,,2",
                                  "w=.nan", "w=.inf", "w={a: 1}", "w=~", "w=[1", "w=0:100000", "w=1e400",
                                  "w=&a [*a]", "w=" + "[" * 3000 + "]" * 3000],
                         ids=lambda text: text if len(text) < 40 else "lists nested 3,000 deep")
def test_a_bad_setting_is_refused(text):
    with pytest.raises(SpecError):
        parse_setting(text)


def test_a_setting_of_aliases_of_aliases_is_refused_at_once():
    """Lists of ten aliases of the one before stand for 10⁷ numbers here (10⁹ in 395 characters
    hung the sweep): refused as an alias, not checked number by number."""
    lists = ["&l0 [" + ",".join(["1"] * 10) + "]", *(f"&l{i} [" + ",".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 7))]
    with pytest.raises(SpecError, match="no YAML alias"):
        parse_setting("depths=[" + ",".join(lists) + "]")


def test_counts_take_decimal_and_binary_units():
    assert [parse_count(t) for t in ("25000000", "25M", "4.1G", "2.5 K", "1T", "512MiB", "1KiB")] == \
           [25_000_000, 25_000_000, 4_100_000_000, 2_500, 10**12, 512 * 2**20, 1024]
    # past decimal's 28 digits, exactly
    assert parse_count("1234567890123456789012345678.9K") == 12345678901234567890123456789 * 100
    assert parse_count("123456789012345678901234567891KiB") == 123456789012345678901234567891 * 1024
    for text in ("1.5", "x", "-1", "1e9", "1.0001K", "", "25 m"):
        with pytest.raises(SpecError):
            parse_count(text)


def test_a_limit_on_bytes_takes_a_memory_size_as_memory_fit_does(cli):
    """`--max-activation-bytes 40MB` was refused as 'a count', where `memory --fit` takes 40MB
    (and refused 40M). Both take both, 40 · 10⁶ bytes, the points kept those at or under it."""
    every = json.loads(cli("sweep", "resnet18", "--size", "224,320", "--format", "json").stdout)["points"]
    within = [p for p in every if p["activation_bytes"] <= 40_000_000]
    assert 0 < len(within) < len(every)
    for limit in ("40MB", "40M", "40000000", "40000000B"):
        result = cli("sweep", "resnet18", "--size", "224,320", "--max-activation-bytes", limit, "--format", "json")
        assert result.exit_code == 0 and json.loads(result.stdout)["points"] == within, (limit, result.output)
    assert cli("memory", "resnet18", "--fit", "40M").exit_code == 0


@pytest.mark.parametrize(("args", "says"), [
    (["--set", "grups=1,2"], ["'grups' is not a parameter of resnet", "did you mean 'groups'",
                              "its parameters: block, depths"]),
    (["--set", "groups=1:0"], ["a range is from:to:step"]),
    (["--set", "groups=1:4:0"], ["step > 0"]),
    (["--set", "groups=1:100", "--set", "base_width=1:200"], ["20,000 points", "at most 10,000"]),
    (["--set", "groups=true"], ["'groups' is a number in the spec (1), not true"]),
    (["--set", "block=1"], ["'block' is a name in the spec ('bottleneck'), not 1"]),
    (["--set", "depths=3"], ["'depths' is a list in the spec"]),
    (["--set", "groups=1", "--set", "groups=2"], ["'groups' is set twice"]),
    (["--set", "groups"], ["--set takes NAME=VALUES"]),
    (["--max-params", "lots"], ["a count is a whole number"]),
])
def test_bad_input_is_one_usage_error(cli, args, says):
    result = cli("sweep", "resnet50", "--size", "224", *args)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    for text in says:
        assert text in " ".join(result.output.replace("│", " ").split()), (text, result.output)


def test_too_many_points_are_refused_before_any_work(monkeypatch):
    import sys

    def no_work(*args, **kwargs):
        raise AssertionError("expanded before counting")

    monkeypatch.setattr(sys.modules["archcalc.spec.expand"], "expand", no_work)
    settings = [parse_setting("groups=1:100"), parse_setting("base_width=1:100")]
    from archcalc.errors import UsageError

    with pytest.raises(UsageError, match="10,000 settings of the parameters × 2 sizes × 1 batch sizes"):
        sweep("resnet50", [224, 256], [1], settings=settings)


def test_a_value_the_spec_refuses_is_a_row_saying_why(cli):
    result = cli("sweep", "mobilenet_v3_large", "--set", "last_channel=1280,0", "--size", "224,32")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.lstrip().startswith("0 ")]
    assert len(rows) == 2
    assert all("not valid: specs/mobilenet_v3.yaml:" in row and "'out' must be at least 1, got 0" in row for row in rows)
    result = cli("sweep", "mobilenet_v3_large", "--set", "last_channel=1280,0", "--size", "224", "--format", "csv")
    records = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["valid"] for r in records] == ["True", "False"]
    assert "'out' must be at least 1, got 0" in records[1]["error"] and records[1]["set.last_channel"] == "0"


def test_a_row_saying_why_escapes_what_would_drive_the_terminal(cli, write_spec):
    """docs/spec.md: an error quotes what the spec wrote with every character that is not
    printable escaped. A spec whose kind is a parameter holding an ESC ('g\\e[2J'), read where a
    --set value turns the layer on, cleared the screen from the sweep's 'not valid' row (and its
    CSV); so did a --set value in its own column (of the CSV too, until the table's was escaped)."""
    spec = write_spec('name: p\ninput: [3, 16, 16]\nparams: {w: 4, k: "g\\e[2J"}\nlayers:\n'
                      '  - c: {kind: conv2d, out: w, kernel: 3}\n  - a: {kind: k, when: "w > 4"}\n')
    for args, kind in ((["--set", "w=4,8"], "g"), (["--set", "w=4,8", "--format", "csv"], "g"),
                       (["--set", "w=8", "--set", 'k=relu,"h\\e[2J"'], "h"),
                       (["--set", "w=8", "--set", 'k=relu,"h\\e[2J"', "--format", "csv"], "h")):
        result = cli("sweep", spec, "--size", "16", *args)
        assert result.exit_code == 0, result.output
        assert "\x1b" not in result.stdout, (args, result.stdout)
        assert f"unknown layer kind '{kind}\\x1b[2J'" in result.stdout, result.stdout


def test_a_size_the_spec_refuses_is_a_row_saying_why(cli, write_spec):
    spec = write_spec(SCALED)
    result = cli("sweep", spec, "--set", "width=1,2", "--size", "1,64", "--format", "json")
    points = json.loads(result.stdout)["points"]
    assert [p["valid"] for p in points] == [False, True, False, True]
    assert points[0]["error"]["layer"] == "pool" and points[0]["error"]["location"].startswith(str(spec))


@pytest.mark.parametrize("symbolic", [True, False])
def test_both_ways_give_the_same_points(monkeypatch, write_spec, symbolic):
    """Numeric at each point, or symbolic once a setting: the same totals, and a row for each
    size refused (its error, or its unmet constraint)."""
    import archcalc.sweep as module

    spec = write_spec(SCALED)
    settings = [parse_setting("width=0.5,1.25"), parse_setting("se=true,false")]
    expected = sweep(spec, [1, 2, 32, (48, 64)], [1, 3], settings=settings).points
    monkeypatch.setattr(module, "symbolic_is_faster", lambda settings, points: symbolic)
    points = sweep(spec, [1, 2, 32, (48, 64)], [1, 3], settings=settings).points
    assert [(p.setting, p.batch, p.input, p.totals) for p in points] == \
           [(p.setting, p.batch, p.input, p.totals) for p in expected]
    refused = [p for p in points if p.totals is None]
    assert len(refused) == 16  # sizes 1 and 2, at both batch sizes, in each of the 4 settings
    assert all((p.unmet is not None) == symbolic and (p.error is not None) != symbolic for p in refused)


def test_filters_and_the_front(cli, write_spec):
    spec = write_spec(SCALED)
    every = json.loads(cli("sweep", spec, "--set", "width=0.5:2:0.25", "--set", "depth=1,1.5,2",
                           "--size", "32,64", "--format", "json").stdout)["points"]
    result = cli("sweep", spec, "--set", "width=0.5:2:0.25", "--set", "depth=1,1.5,2", "--size", "32,64",
                 "--max-params", "60K", "--max-macs", "0.1G", "--pareto", "macs", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    within = [p for p in every if p["params"] <= 60_000 and p["macs"] <= 100_000_000]
    front = [p for p in within if not any(q["macs"] <= p["macs"] and q["params"] >= p["params"]
                                          and (q["params"], q["macs"]) != (p["params"], p["macs"]) for q in within)]
    assert document["points"] == front
    assert document["selection"]["evaluated"] == len(every) and document["selection"]["kept"] == len(front)
    table = cli("sweep", spec, "--set", "width=0.5:2:0.25", "--size", "32", "--max-params", "20000")
    assert "points kept" in table.stdout and "params over 20,000" in table.stdout


@pytest.mark.parametrize(("cost", "other"), [("macs", "params"), ("params", "macs")])
def test_the_front_against_every_pair(cost, other):
    """A point is dominated when another of its batch size costs no more and has no less of the
    other figure, and differs: checked pair by pair on random figures."""
    chance = random.Random(3)
    for _ in range(200):
        points = [SweepPoint(chance.choice([1, 2]), (3, 8, 8), _figures(chance.randint(1, 6), chance.randint(1, 6)))
                  for _ in range(chance.randint(1, 12))]
        expected = [p for p in points if not any(
            q.batch == p.batch and getattr(q.totals, cost) <= getattr(p.totals, cost)
            and getattr(q.totals, other) >= getattr(p.totals, other)
            and (q.totals.params, q.totals.macs) != (p.totals.params, p.totals.macs) for q in points)]
        assert _front(points, cost) == expected


def _figures(params: int, macs: int):
    from archcalc.stats import Figures

    return Figures(params, 0, 0, macs, 2 * macs, 1, 4)


def test_a_sweep_without_settings_is_unchanged(cli):
    plain = cli("sweep", "resnet18", "--size", "32:64:32", "--format", "json")
    document = json.loads(plain.stdout)
    assert "parameters" not in document and "selection" not in document and "formulas" in document
    assert "parameters" not in document["points"][0]


@pytest.mark.parametrize("symbolic", [True, False])
def test_a_size_past_the_limit_behind_upsampling_is_the_same_error_either_way(write_spec, monkeypatch, symbolic):
    """An input of 600,000,000 samples upsampled by 4 makes 2,400,000,000, past 2³¹ − 1: the
    numeric analysis refuses that layer; the formulas hold no constraint saying so, so a point
    taken from them gets the numeric analysis's error too, and both ways give the same rows."""
    import archcalc.sweep as module

    spec = write_spec("""
        name: up
        input: [1, 8]
        params: {factor: 4}
        layers:
          - conv: {kind: conv1d, out: 2, kernel: 1}
          - up: {kind: upsample1d, scale: factor}
    """)
    monkeypatch.setattr(module, "symbolic_is_faster", lambda settings, points: symbolic)
    plain = sweep(spec, [8, 600_000_000], [1])
    both = sweep(spec, [8, 600_000_000], [1], settings=[parse_setting("factor=4")])
    for points in (plain.points, both.points):
        assert points[0].totals is not None and points[0].spatial == (8,)
        assert points[1].totals is None and points[1].error is not None
        assert "layer 'up'" in str(points[1].error) and "above 2,147,483,647" in str(points[1].error)


@pytest.mark.parametrize("setting", ["groups=32", "groups=1,2", "base_width=128", "groups=0"])
def test_a_setting_that_changes_nothing_is_one_usage_error(cli, setting):
    """resnet18's blocks are torchvision's BasicBlock, which never reads groups nor base_width
    (torchvision's resnet.py: "BasicBlock only supports groups=1 and base_width=64"): a sweep of
    either would give resnet18 as it is at every value, so it is refused saying so. Its own value
    alone is taken."""
    name = setting.split("=")[0]
    result = cli("sweep", "resnet18", "--set", setting, "--size", "224")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    flat = " ".join(result.output.replace("│", " ").split())
    assert f"'{name}' changes nothing in resnet18" in flat, flat
    assert "leave" in flat and "sweep a variant whose layers read it" in flat
    own = cli("sweep", "resnet18", "--set", "groups=1", "--size", "224")
    assert own.exit_code == 0, own.output


GATED = """
    name: gated
    input: [3, 32, 32]
    params: {se: false, ratio: 0.25}
    layers:
      - conv: {kind: conv2d, out: 64, kernel: 3, padding: 1}
      - gate: {kind: conv2d, out: "max(1, floor(64 * ratio))", kernel: 1, when: se}
"""


@pytest.mark.parametrize(("settings", "refused"), [
    (["ratio=0.5"], True),                             # the gate is not there: ratio is never read
    (["se=true", "ratio=0.25,0.5"], False),            # read by the gate
    (["se=false,true", "ratio=0.5"], False),           # read where se is true
    (["se=false", "ratio=0.125,0.5"], True),
])
def test_a_setting_read_only_with_another_is_taken_with_it(cli, write_spec, settings, refused):
    """By hand: GATED's ratio sizes a layer that is there only where se is true. Set with se
    true at some point of the sweep, it changes the model there and is taken; otherwise it is
    refused as changing nothing."""
    spec = write_spec(GATED, "gated.yaml")
    result = cli("sweep", spec, *[arg for setting in settings for arg in ("--set", setting)], "--size", "32")
    flat = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == (2 if refused else 0), result.output
    assert ("'ratio' changes nothing in gated" in flat) is refused, flat


REFUSED_AT_ONE = """
    name: refused_at_one
    input: [3, 8, 8]
    params: {c: 8, unused: 1}
    layers:
      - conv: {kind: conv2d, out: "c * 8 // (c - 6)", kernel: 3}
"""


def test_a_setting_that_changes_nothing_is_refused_where_another_makes_the_spec_refuse_a_point(cli, write_spec):
    """A review's: by hand, c = 6 divides by zero, whatever 'unused' is; a refused point's digest
    held the values set, so 'unused' there seemed to change the model and was taken. Refused
    alike now, it is refused as with c = 8 alone; c itself is taken (c = 6 is refused, 8 not).
    A setting of many values that changes nothing names five of them and their count."""
    spec = write_spec(REFUSED_AT_ONE, "refused_at_one.yaml")
    result = cli("sweep", spec, "--set", "c=8,6", "--set", "unused=2", "--size", "8")
    assert result.exit_code == 2 and "'unused' changes nothing in refused_at_one: at 2 it is" in result.output, \
        result.output
    assert cli("sweep", spec, "--set", "c=8,6", "--size", "8").exit_code == 0
    result = cli("sweep", "resnet18", "--set", "groups=2:30", "--size", "224")
    flat = " ".join(result.output.replace("│", " ").split())
    assert result.exit_code == 2 and "at 2, 3, 4, 5, 6, … (29 values) it is the model of its own value (1)" in flat, flat
