"""Fuzzing: whatever the spec, archcalc answers with a table or one clear error — never a
traceback, never a hang, and the spec file is never written.

Random YAML documents (some shaped like specs, some not, some not even YAML) and random
mutations of the bundled specs, at the text level (lines deleted, duplicated, swapped,
re-indented, numbers replaced, the file cut short) and at the structure level (keys deleted,
renamed and retyped, layers duplicated and swapped, numbers out of range): 425 cases through
`archcalc table` and 30 through `archcalc validate` in the fast tier (`-m "not slow"`), 2,200
and 150 in a full run; the count is printed at the end of the run. (Most of a case's time is
Hypothesis drawing the document, not archcalc answering it.)
"""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.layers import LAYER_KINDS
from archcalc.spec.expand import ITEM_KEYS, TOP_KEYS

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = {path.name: path.read_text(encoding="utf-8") for path in sorted((ROOT / "specs").glob("*.yaml"))}
SECONDS_PER_CASE = 10
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the harness's YAML, as fast as it can be
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

FIELDS = sorted({name for kind in LAYER_KINDS.values() for name in kind.fields})
WORDS = sorted(set(LAYER_KINDS) | TOP_KEYS | ITEM_KEYS | set(FIELDS)
               | {"same", "valid", "input", "block", "bottleneck", "basic", "width", "depths[0]",
                  "width * 4", "stride != 1", "1e400", "x // 0", "[1, 2]", "min(1)", "ceil(2.5)",
                  "index", "count", "width * (index + 1)", "round(2.5)", "pow(9, 99)", "pow(width, 0.5)",
                  "log(0)", "log(width, 1)", "int(1e400)", "round(log(width) / log(2))"})
def tiers(fast: int, more: int):
    """`cases` for a fuzz test: `fast` in the fast tier, and `more` (marked slow) in a full run."""
    return pytest.mark.parametrize("cases", [pytest.param(fast, id=str(fast)),
                                             pytest.param(more, id=f"{more} more", marks=pytest.mark.slow)])


def fuzz(cases: int) -> settings:
    """Hypothesis settings for `cases` fuzzed specs: no deadline (the alarm bounds each case)."""
    return settings(max_examples=cases, deadline=None, derandomize=False, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture])


class CaseTookTooLong(BaseException):
    """Raised by the alarm; a BaseException so that nothing on the way can swallow it."""


def _alarm(signum, frame):
    raise CaseTookTooLong


@pytest.fixture
def run_case(cli, tmp_path, count_fuzz_case):
    """Write `text` as a spec, run `archcalc table` on it (bounded in time), check the outcome."""
    path = tmp_path / "fuzzed.yaml"
    previous = signal.signal(signal.SIGALRM, _alarm)

    def run(text: str | bytes, *options: str) -> None:
        count_fuzz_case()
        data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        path.write_bytes(data)
        signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_CASE)
        try:
            result = cli("table", path, *options)
        except CaseTookTooLong:
            pytest.fail(f"no answer within {SECONDS_PER_CASE} s for:\n{data[:2000]!r}")
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        assert result.exception is None or isinstance(result.exception, SystemExit), (
            f"{result.exception!r} for:\n{data[:2000]!r}")
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            assert result.stdout == ""
            assert result.stderr.startswith(f"error: {path}:"), result.stderr
            assert "Traceback" not in result.stderr
        else:
            assert result.stdout.strip(), result.output
        assert path.read_bytes() == data  # the spec is read, never written

    yield run
    signal.signal(signal.SIGALRM, previous)


# --- random documents ----------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 300), st.integers(), text, st.sampled_from(WORDS),
    st.floats(allow_nan=True, allow_infinity=True),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(WORDS) | text, inner, max_size=4), max_leaves=20)
layer_names = st.sampled_from(["conv", "relu", "pool", "fc", "sum", "input", "a", "b", "1x"]) | text
# a kind and up to four of the 49 fields and item keys, as a spec's layer has (drawing a value for
# each optional key made documents of ~25 fields, a third of the cases' time, refused at the first)
layer_keys = st.sampled_from(sorted({*FIELDS, *ITEM_KEYS} - {"kind"}))
layer_bodies = st.one_of(
    st.sampled_from(sorted(LAYER_KINDS)),
    st.builds(lambda kind, fields: {"kind": kind, **fields}, st.sampled_from(sorted(LAYER_KINDS)) | values,
              st.dictionaries(layer_keys, values, max_size=4)),
    values,
)
layer_lists = st.lists(st.dictionaries(layer_names, layer_bodies, min_size=1, max_size=2), max_size=8)
inputs = st.one_of(st.lists(st.integers(-1, 64), min_size=2, max_size=4), st.just([3, 32, 32]), values)
spec_shaped = st.fixed_dictionaries(
    {"name": st.just("fuzzed") | values, "input": inputs, "layers": layer_lists},
    optional={"params": st.dictionaries(st.sampled_from(["width", "depths", "block", "stride"]), values),
              "blocks": st.dictionaries(st.sampled_from(["unit", "relu", "block"]),
                                        st.fixed_dictionaries({"layers": layer_lists},
                                                              optional={"params": values})),
              "variants": st.dictionaries(text, values), "default": values, "source": values},
)


def dump(document) -> str:
    """The document as YAML text (libyaml's emitter: the harness's time is not archcalc's)."""
    return yaml.dump(document, Dumper=DUMPER, allow_unicode=True, sort_keys=False)


@tiers(50, 350)
def test_random_spec_shaped_documents(cases, run_case):
    @fuzz(cases)
    @given(document=spec_shaped)
    def check(document):
        run_case(dump(document))

    check()


@tiers(50, 150)
def test_random_yaml_values(cases, run_case):
    @fuzz(cases)
    @given(document=values)
    def check(document):
        run_case(dump(document))

    check()


@tiers(50, 150)
def test_random_bytes_and_text(cases, run_case):
    @fuzz(cases)
    @given(raw=st.binary(max_size=200) | st.text(max_size=200))
    def check(raw):
        run_case(raw)

    check()


# --- mutations of the bundled specs ----------------------------------------------------------

NUMBERS = [0, -1, -7, 1, 2, 2.5, 10**12, 2**31, 2**31 - 1, 99999, "1e400", True, None, "x"]


@st.composite
def text_mutations(draw):
    name = draw(st.sampled_from(sorted(BUNDLED)))
    lines = BUNDLED[name].splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(lines) - 1))
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "indent", "dedent", "number",
                                          "insert", "cut"]))
        line = lines[index]
        if operation == "delete":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, line)
        elif operation == "swap":
            other = draw(st.integers(0, len(lines) - 1))
            lines[index], lines[other] = lines[other], line
        elif operation == "indent":
            lines[index] = "  " + line
        elif operation == "dedent":
            lines[index] = line[2:] if line.startswith("  ") else line
        elif operation == "number":
            numbers = list(re.finditer(r"\d+", line))
            if numbers:
                match = draw(st.sampled_from(numbers))
                new = str(draw(st.sampled_from(NUMBERS)))
                lines[index] = line[:match.start()] + new + line[match.end():]
        elif operation == "insert":
            column = draw(st.integers(0, len(line)))
            lines[index] = line[:column] + draw(st.sampled_from(["{", "[", ":", "- ", "&a ", "*a", "'", "#",
                                                                   "\t", ", x: 1"]) | text) + line[column:]
        else:
            lines = lines[:index]
        if not lines:
            break
    return name, "".join(lines)


@tiers(200, 600)
def test_text_mutations_of_the_bundled_specs(cases, run_case):
    @fuzz(cases)
    @given(mutated=text_mutations(), use_variant=st.booleans())
    def check(mutated, use_variant):
        name, spec = mutated
        options = ["--variant", "resnet18"] if use_variant and name == "resnet.yaml" else []
        run_case(spec, *options)

    check()


def places(node, path=()):
    """Every (path to a container, key or index) in a plain YAML structure."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield path, key
            yield from places(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield path, index
            yield from places(value, (*path, index))


def container(document, path):
    for step in path:
        document = document[step]
    return document


@st.composite
def structure_mutations(draw):
    name = draw(st.sampled_from(sorted(BUNDLED)))
    document = yaml.load(BUNDLED[name], Loader=LOADER)
    for _ in range(draw(st.integers(1, 3))):
        spots = list(places(document))
        path, key = draw(st.sampled_from(spots))
        parent = container(document, path)
        operation = draw(st.sampled_from(["delete", "duplicate", "swap", "retype", "number", "rename"]))
        if operation == "delete":
            del parent[key]
        elif operation == "duplicate" and isinstance(parent, list):
            parent.insert(key, parent[key])
        elif operation == "swap" and isinstance(parent, list):
            other = draw(st.integers(0, len(parent) - 1))
            parent[key], parent[other] = parent[other], parent[key]
        elif operation == "retype":
            parent[key] = draw(scalars | st.just([]) | st.just({}) | st.just([1, 2, 3]))
        elif operation == "number":
            parent[key] = draw(st.sampled_from(NUMBERS))
        elif operation == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from(WORDS) | text)] = parent.pop(key)
    return dump(document)


@tiers(75, 525)
def test_structure_mutations_of_the_bundled_specs(cases, run_case):
    @fuzz(cases)
    @given(spec=structure_mutations())
    def check(spec):
        run_case(spec)

    check()


SMALL = {name: text for name, text in BUNDLED.items() if name in ("lenet.yaml", "alexnet.yaml")}


@tiers(30, 120)
def test_validate_answers_mutated_specs_too(cases, cli, tmp_path, count_fuzz_case):
    """The torch route reads the same specs: a result (0), a difference torch reports (1) or one
    clear error (2). Small models on the meta device, so that each case is quick."""
    pytest.importorskip("torch")

    @fuzz(cases)
    @given(data=st.data())
    def check(data):
        count_fuzz_case()
        name = data.draw(st.sampled_from(sorted(SMALL)))
        document = yaml.load(SMALL[name], Loader=LOADER)
        path, key = data.draw(st.sampled_from(list(places(document))))
        container(document, path)[key] = data.draw(st.sampled_from(NUMBERS) | scalars)
        spec = tmp_path / "fuzzed.yaml"
        spec.write_text(dump(document), encoding="utf-8")
        result = cli("validate", spec, "--device", "meta", "--counter", "torch", "--runs", "0")
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 1, 2), result.output
        if result.exit_code == 2:
            assert result.stderr.startswith(f"error: {spec}:"), result.stderr

    check()


# --- random expressions ----------------------------------------------------------------------

operands = st.one_of(st.integers(-10**16, 10**16), st.floats(allow_nan=True, allow_infinity=True),
                     st.sampled_from(["width", "index", "[1, 2]", "'a'", "true"]))


def _applied(inner):
    return st.one_of(
        st.tuples(st.sampled_from(["round", "int", "log", "ceil", "floor", "min", "max"]), inner)
        .map(lambda call: f"{call[0]}({call[1]})"),
        st.tuples(st.sampled_from(["pow", "log", "min"]), inner, inner).map(lambda call: f"{call[0]}({call[1]}, {call[2]})"),
        st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "//", "%", "<", "=="]), inner)
        .map(lambda parts: f"({parts[0]} {parts[1]} {parts[2]})"),
        st.tuples(inner, inner, inner).map(lambda parts: f"({parts[0]} if {parts[1]} else {parts[2]})"),
    )


expressions = st.recursive(operands.map(str), _applied, max_leaves=12)


@tiers(300, 2000)
def test_random_expressions_give_a_value_or_one_spec_error(cases):
    """Powers, logarithms and roundings of anything (huge numbers, nan, inf, text, lists): a value
    within the magnitude bound, or a SpecError; never another exception, never a hang."""
    from archcalc.errors import SpecError
    from archcalc.limits import MAX_MAGNITUDE
    from archcalc.spec.expr import evaluate

    @fuzz(cases)
    @given(expression=expressions)
    def check(expression):
        try:
            value = evaluate(expression, {"width": 64, "index": 3})
        except SpecError:
            return
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert not abs(value) > MAX_MAGNITUDE, (expression, value)

    check()
