"""Fuzzing: whatever the spec, archcalc answers with a table or one clear error — never a
traceback, never a hang, and the spec file is never written.

Random YAML documents (some shaped like specs, some well-formed specs of random networks of real
kinds and fields, some not specs, some not even YAML) and random
mutations of the bundled specs, at the text level (lines deleted, duplicated, swapped,
re-indented, numbers replaced, the file cut short) and at the structure level (keys deleted,
renamed and retyped, layers duplicated and swapped, numbers out of range): 475 cases through
`archcalc table` and 30 through `archcalc validate` in the fast tier (`-m "not slow"`), 2,600
and 150 in a full run; the count is printed at the end of the run. Hypothesis draws only a seed
per case (new seeds each run), and plain functions build the case from `random.Random(seed)`. A
failing case prints its seed and its document; `document_from(seed, generator)` (spec_shaped
unless another is named) builds that document again. (About nine tenths of the run's time is
archcalc answering; drawing the seeds and building and dumping the documents take the rest.)
"""

from __future__ import annotations

import math
import pickle
import random
import re
import signal
import struct
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from archcalc.layers import LAYER_KINDS
from archcalc.spec.expand import ITEM_KEYS, TOP_KEYS

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = {path.name: path.read_text(encoding="utf-8") for path in sorted((ROOT / "specs").glob("*.yaml"))}
SECONDS_PER_CASE = 10
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the harness's YAML, as fast as it can be
DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# each bundled spec parsed once: a case unpickles its own copy, thirty times quicker than parsing it
PARSED = {name: pickle.dumps(yaml.load(text, Loader=LOADER)) for name, text in BUNDLED.items()}

FIELDS = sorted({name for kind in LAYER_KINDS.values() for name in kind.fields})
WORDS = sorted(set(LAYER_KINDS) | TOP_KEYS | ITEM_KEYS | set(FIELDS)
               | {"same", "valid", "input", "block", "bottleneck", "basic", "width", "depths[0]",
                  "width * 4", "stride != 1", "1e400", "x // 0", "[1, 2]", "min(1)", "ceil(2.5)",
                  "index", "count", "width * (index + 1)", "round(2.5)", "pow(9, 99)", "pow(width, 0.5)",
                  "log(0)", "log(width, 1)", "int(1e400)", "round(log(width) / log(2))"})
SEEDS = st.integers(0, 2**64 - 1)  # all that Hypothesis draws: the generators below build the rest


def tiers(fast: int, more: int):
    """`cases` for a fuzz test: `fast` in the fast tier, and `more` (marked slow) in a full run."""
    return pytest.mark.parametrize("cases", [pytest.param(fast, id=str(fast)),
                                             pytest.param(more, id=f"{more} more", marks=pytest.mark.slow)])


def fuzz(cases: int) -> settings:
    """Hypothesis settings for `cases` fuzzed specs: no deadline (the alarm bounds each case), and
    no shrinking (a smaller seed is no simpler a document)."""
    return settings(max_examples=cases, deadline=None, derandomize=False, database=None,
                    phases=[Phase.explicit, Phase.generate],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def document_from(seed: int, generator=None):
    """What `generator` (spec_shaped unless named) builds from `seed`: a failing case, by hand."""
    return (generator or spec_shaped)(random.Random(seed))


def case(seed: int, generator):
    """document_from(seed, generator), noted for Hypothesis to print should the case fail."""
    document = document_from(seed, generator)
    note(f"document_from({seed}, {generator.__name__}) == {document!r}")
    return document


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
# Each generator takes a random.Random and builds one part of a case, as the Hypothesis strategy
# of the same name did (drawing each part through Hypothesis was nine tenths of a case's time).

ODD_CHARACTERS = " \t\n\r\x0b\x0c\x85\xa0\u1680\u2028\u2029\u200b\u202e\u3000\ufeff\u0301éß中😀\U000e0001"
EDGE_INTS = [0, 1, -1, 2, 255, 256, 2**31 - 1, 2**31, -2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, -2**63,
             2**64, 10**20, -10**20, 10**400]
EDGE_FLOATS = [0.0, -0.0, math.nan, -math.nan, math.inf, -math.inf, 5e-324, -5e-324, 2.2250738585072014e-308,
               1e-300, 1.7976931348623157e308, -1.7976931348623157e308, 1e300, 1e16, 0.5, 1.5, 2.5, -1.0]
LAYER_NAMES = ["conv", "relu", "pool", "fc", "sum", "input", "a", "b", "1x"]
KINDS = sorted(LAYER_KINDS)
# a kind and up to four of the 49 fields and item keys, as a spec's layer has (drawing a value for
# each optional key made documents of ~25 fields, a third of the cases' time, refused at the first)
LAYER_KEYS = sorted({*FIELDS, *ITEM_KEYS} - {"kind"})


def one_of(rng, *generators):
    """What one of `generators`, picked at random, builds."""
    return rng.choice(generators)(rng)


def size(rng, max_size: int, min_size: int = 0) -> int:
    """A length from `min_size` to `max_size`: the shortest or the longest one time in four each (as
    Hypothesis drew them), else any."""
    roll = rng.random()
    return min_size if roll < 0.25 else max_size if roll < 0.5 else rng.randint(min_size, max_size)


def character(rng) -> str:
    """Any character but a surrogate (category Cs): ASCII, control, odd spaces and marks, or any other."""
    roll = rng.random()
    if roll < 0.35:
        return chr(rng.randint(32, 126))
    if roll < 0.45:
        return chr(rng.choice((*range(32), 127)))
    if roll < 0.55:
        return rng.choice(ODD_CHARACTERS)
    code = rng.randint(128, (0xFFFF if roll < 0.85 else 0x10FFFF) - 0x800)  # the 0x800 surrogates skipped
    return chr(code + 0x800 if code >= 0xD800 else code)


def text(rng, max_size: int = 12) -> str:
    """Up to `max_size` characters."""
    return "".join(character(rng) for _ in range(size(rng, max_size)))


def words(rng) -> str:
    """One of WORDS: a kind, a key, a field or an expression."""
    return rng.choice(WORDS)


def integers(rng, bits: int = 128) -> int:
    """Any integer: an edge value (0, ±1, 2**31, 2**63, 10**20, …) or up to `bits` random bits, either sign."""
    if rng.random() < 0.3:
        return rng.choice(EDGE_INTS)
    return rng.choice((1, -1)) * rng.getrandbits(rng.randint(1, bits))


def floats(rng) -> float:
    """Any float: an edge value (nan, ±inf, -0.0, tiny, huge), any 64 bits, a whole one or a plain one."""
    roll = rng.random()
    if roll < 0.25:
        return rng.choice(EDGE_FLOATS)
    if roll < 0.6:
        return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    if roll < 0.9:
        return float(rng.choice((1, -1)) * rng.getrandbits(rng.randint(1, 57)))
    return round(rng.uniform(-1000, 1000), rng.randint(0, 3))


def scalars(rng):
    """None, a boolean, a small integer (-3..300), any integer, a text, a word or any float."""
    return one_of(rng, lambda rng: None, lambda rng: rng.random() < 0.5, lambda rng: rng.randint(-3, 300),
                  integers, text, words, floats)


def values(rng, leaves: list[int] | None = None, depth: int = 0):
    """Lists and dicts (up to 4 items, keys words or text) of values, or a scalar: the deeper, the
    likelier a scalar (as Hypothesis drew them); 20 scalars at most."""
    leaves = [20] if leaves is None else leaves  # the scalars still to give, shared down the tree
    if leaves[0] <= 1 or rng.random() > 0.9 * 0.5**depth:
        leaves[0] -= 1
        return scalars(rng)
    items = range(size(rng, 4))
    if rng.random() < 2 / 3:
        return [values(rng, leaves, depth + 1) for _ in items if leaves[0] > 0]
    return {one_of(rng, words, text): values(rng, leaves, depth + 1) for _ in items if leaves[0] > 0}


def layer_names(rng) -> str:
    """A usual layer name, or any text."""
    return rng.choice(LAYER_NAMES) if rng.random() < 0.5 else text(rng)


def layer_bodies(rng):
    """A kind's name; a kind (or any value) with up to four fields and item keys; or any value."""
    roll = rng.randrange(3)
    if roll == 0:
        return rng.choice(KINDS)
    if roll == 1:
        kind = rng.choice(KINDS) if rng.random() < 0.5 else values(rng)
        return {"kind": kind, **{rng.choice(LAYER_KEYS): values(rng) for _ in range(size(rng, 4))}}
    return values(rng)


def layer_lists(rng) -> list:
    """Up to 8 layers, each a dict of one or two names to bodies."""
    return [{layer_names(rng): layer_bodies(rng) for _ in range(rng.randint(1, 2))} for _ in range(size(rng, 8))]


def inputs(rng):
    """Two to four integers (-1..64), [3, 32, 32], or any value."""
    roll = rng.randrange(3)
    if roll == 0:
        return [rng.randint(-1, 64) for _ in range(size(rng, 4, 2))]
    return [3, 32, 32] if roll == 1 else values(rng)


def params(rng) -> dict:
    """Some of width, depths, block and stride, each any value."""
    return {key: values(rng) for key in rng.sample(["width", "depths", "block", "stride"], size(rng, 4))}


def blocks(rng) -> dict:
    """Some of the blocks unit, relu and block: each layers, and params half the time."""
    return {name: {"layers": layer_lists(rng), **({"params": values(rng)} if rng.random() < 0.5 else {})}
            for name in rng.sample(["unit", "relu", "block"], size(rng, 3))}


def variants(rng) -> dict:
    """Up to six variants, each a text naming any value."""
    return {text(rng): values(rng) for _ in range(size(rng, 6))}


OPTIONAL = {"params": params, "blocks": blocks, "variants": variants, "default": values, "source": values}


def spec_shaped(rng) -> dict:
    """A name, an input and layers, then some of params, blocks, variants, default and source."""
    document = {"name": "fuzzed" if rng.random() < 0.5 else values(rng), "input": inputs(rng),
                "layers": layer_lists(rng)}
    optional = rng.choices(range(6), weights=(34, 22, 18, 10, 4, 12))[0]  # how many, as Hypothesis drew them
    for key in rng.sample(sorted(OPTIONAL), optional):
        document[key] = OPTIONAL[key](rng)
    return document


PLAUSIBLE = {
    "count": lambda rng, rank: rng.randint(1, 16),
    "index": lambda rng, rank: rng.randint(-3, 3),
    "indices": lambda rng, rank: [rng.randint(-3, 3) for _ in range(rng.randint(1, 3))],
    "size": lambda rng, rank: rng.randint(1, 5) if rng.random() < 0.6 else [rng.randint(1, 5) for _ in range(rank)],
    "offset": lambda rng, rank: rng.randint(0, 3) if rng.random() < 0.6 else [rng.randint(0, 3) for _ in range(rank)],
    "optional size": lambda rng, rank: None if rng.random() < 0.3 else rng.randint(1, 40),
    "padding": lambda rng, rank: rng.choice([0, 1, 2, "same", "valid", [1] * rank, [0, 1, 2][:rank]]),
    "bool": lambda rng, rank: rng.random() < 0.5,
    "text": lambda rng, rank: rng.choice(["nearest", "linear", "bilinear", "mean"]),
    "number": lambda rng, rank: rng.choice([0, 0.5, 1, 2, 1.0e-5, 1.0e+3, -1, 0.75]),
    "probability": lambda rng, rank: rng.choice([0, 0.1, 0.5, 1]),
}
"""For a field of each type (archcalc.layers.base.COERCIONS), a value of the kind a spec gives it."""


def plausible_fields(rng, kind, rank: int, earlier: list[str]) -> dict:
    """Every required field of `kind` and up to two others, each a value of its type, or of one of
    its choices; one time in eight one of them an edge value; and now and then 'from', 'repeat' or
    'when'."""
    fields = LAYER_KINDS[kind].fields
    chosen = [n for n, f in fields.items() if f.required] + rng.sample(sorted(fields), min(len(fields), rng.randint(0, 2)))
    body = {"kind": kind}
    for name in chosen:
        field = fields[name]
        body[name] = rng.choice(field.choices) if field.choices and rng.random() < 0.8 \
            else PLAUSIBLE[field.type](rng, rank)
    if chosen and rng.random() < 1 / 8:
        body[rng.choice(chosen)] = rng.choice(NUMBERS) if rng.random() < 0.5 else scalars(rng)
    roll = rng.random()
    if LAYER_KINDS[kind].min_inputs > 1 and rng.random() < 0.9:  # a merge: two earlier layers, or one twice
        body["from"] = [rng.choice(earlier or ["input"]), rng.choice(earlier or ["input"])]
    elif roll < 0.15 and earlier:
        body["from"] = rng.sample(earlier, min(len(earlier), rng.randint(1, 2)))
    elif roll < 0.25:
        body["repeat"] = rng.randint(0, 3)
    elif roll < 0.3:
        body["when"] = rng.choice([True, False, "width > 4", "width"])
    return body


KINDS_OF_RANK = {rank: [k for k in KINDS if not re.search(r"[123]d$", k) or k.endswith(f"{rank}d")] for rank in (1, 2, 3)}
"""The kinds an input of 1, 2 or 3 spatial axes suits: those of its dimension, and those of any."""


def plausible_networks(rng) -> dict:
    """A spec every key of which is well formed: one to eight layers of real kinds with their own
    fields, at a small 1-D, 2-D or 3-D input, now and then reading earlier layers, repeated or
    switched off; the errors left are those of the network itself (shapes, fields out of range)."""
    rank = rng.choice((1, 2, 2, 2, 3))
    document = {"name": "fuzzed", "input": [rng.randint(1, 16), *(rng.randint(1, 40) for _ in range(rank))],
                "params": {"width": rng.randint(1, 16)}, "layers": []}
    earlier: list[str] = []
    for index in range(rng.randint(1, 8)):
        kind = rng.choice(KINDS_OF_RANK[rank] if rng.random() < 0.7 else KINDS)
        document["layers"].append({f"l{index}": plausible_fields(rng, kind, rank, earlier)})
        earlier.append(f"l{index}")
    return document


def raw_documents(rng) -> str | bytes:
    """Bytes or any text: one to ten long nine times in ten (as Hypothesis drew them), else up to 200."""
    length = rng.randint(1, 10) if rng.random() < 0.9 else rng.randint(0, 200)
    return rng.randbytes(length) if rng.random() < 0.5 else "".join(character(rng) for _ in range(length))


def dump(document) -> str:
    """The document as YAML text (libyaml's emitter: the harness's time is not archcalc's)."""
    return yaml.dump(document, Dumper=DUMPER, allow_unicode=True, sort_keys=False)


@tiers(50, 350)
def test_random_spec_shaped_documents(cases, run_case):
    @fuzz(cases)
    @given(seed=SEEDS)
    def check(seed):
        run_case(dump(case(seed, spec_shaped)))

    check()


@tiers(50, 350)
def test_random_plausible_networks(cases, run_case):
    """Well-formed specs of random networks: what spec_shaped documents, refused at their first
    key nearly every time, do not reach (no case of a thousand of those was analysed)."""
    @fuzz(cases)
    @given(seed=SEEDS)
    def check(seed):
        run_case(dump(case(seed, plausible_networks)))

    check()


@tiers(50, 150)
def test_random_yaml_values(cases, run_case):
    @fuzz(cases)
    @given(seed=SEEDS)
    def check(seed):
        run_case(dump(case(seed, values)))

    check()


@tiers(50, 150)
def test_random_bytes_and_text(cases, run_case):
    @fuzz(cases)
    @given(seed=SEEDS)
    def check(seed):
        run_case(case(seed, raw_documents))

    check()


# --- mutations of the bundled specs ----------------------------------------------------------

NUMBERS = [0, -1, -7, 1, 2, 2.5, 10**12, 2**31, 2**31 - 1, 99999, "1e400", True, None, "x"]
INSERTS = ["{", "[", ":", "- ", "&a ", "*a", "'", "#", "\t", ", x: 1"]


def text_mutations(rng) -> tuple[str, list[str]]:
    """A bundled spec's text with one to three lines deleted, duplicated, swapped, re-indented,
    renumbered, written into or cut at; and its options (`--variant resnet18` half the time for resnet)."""
    name = rng.choice(sorted(BUNDLED))
    lines = BUNDLED[name].splitlines(keepends=True)
    for _ in range(rng.randint(1, 3)):
        index = rng.randrange(len(lines))
        operation = rng.choice(["delete", "duplicate", "swap", "indent", "dedent", "number", "insert", "cut"])
        line = lines[index]
        if operation == "delete":
            del lines[index]
        elif operation == "duplicate":
            lines.insert(index, line)
        elif operation == "swap":
            other = rng.randrange(len(lines))
            lines[index], lines[other] = lines[other], line
        elif operation == "indent":
            lines[index] = "  " + line
        elif operation == "dedent":
            lines[index] = line.removeprefix("  ")
        elif operation == "number":
            numbers = list(re.finditer(r"\d+", line))
            if numbers:
                match = rng.choice(numbers)
                lines[index] = line[:match.start()] + str(rng.choice(NUMBERS)) + line[match.end():]
        elif operation == "insert":
            column = rng.randint(0, len(line))
            lines[index] = line[:column] + (rng.choice(INSERTS) if rng.random() < 0.5 else text(rng)) + line[column:]
        else:
            lines = lines[:index]
        if not lines:
            break
    use_variant = rng.random() < 0.5
    return "".join(lines), ["--variant", "resnet18"] if use_variant and name == "resnet.yaml" else []


@tiers(200, 600)
def test_text_mutations_of_the_bundled_specs(cases, run_case):
    @fuzz(cases)
    @given(seed=SEEDS)
    def check(seed):
        spec, options = case(seed, text_mutations)
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


def structure_mutations(rng) -> str:
    """A bundled spec with one to three keys or items deleted, duplicated, swapped, retyped,
    renumbered or renamed, as YAML text."""
    document = pickle.loads(PARSED[rng.choice(sorted(PARSED))])
    for _ in range(rng.randint(1, 3)):
        path, key = rng.choice(list(places(document)))
        parent = container(document, path)
        operation = rng.choice(["delete", "duplicate", "swap", "retype", "number", "rename"])
        if operation == "delete":
            del parent[key]
        elif operation == "duplicate" and isinstance(parent, list):
            parent.insert(key, parent[key])
        elif operation == "swap" and isinstance(parent, list):
            other = rng.randrange(len(parent))
            parent[key], parent[other] = parent[other], parent[key]
        elif operation == "retype":  # a scalar seven times in ten, else [], {} or [1, 2, 3]
            parent[key] = scalars(rng) if rng.random() < 0.7 else rng.choice(([], {}, [1, 2, 3]))
        elif operation == "number":
            parent[key] = rng.choice(NUMBERS)
        elif operation == "rename" and isinstance(parent, dict):
            parent[one_of(rng, words, text)] = parent.pop(key)
    return dump(document)


@tiers(75, 525)
def test_structure_mutations_of_the_bundled_specs(cases, run_case):
    @fuzz(cases)
    @given(seed=SEEDS)
    def check(seed):
        run_case(case(seed, structure_mutations))

    check()


SMALL = ["alexnet.yaml", "lenet.yaml"]


def validate_mutations(rng) -> str:
    """lenet or alexnet with one key or item made one of NUMBERS or any scalar, as YAML text."""
    document = pickle.loads(PARSED[rng.choice(SMALL)])
    path, key = rng.choice(list(places(document)))
    container(document, path)[key] = rng.choice(NUMBERS) if rng.random() < 1 / 8 else scalars(rng)
    return dump(document)


@tiers(30, 120)
def test_validate_answers_mutated_specs_too(cases, cli, tmp_path, count_fuzz_case):
    """The torch route reads the same specs: a result (0), a difference torch reports (1) or one
    clear error (2). Small models on the meta device, so that each case is quick."""
    pytest.importorskip("torch")

    @fuzz(cases)
    @given(seed=SEEDS)
    def check(seed):
        count_fuzz_case()
        spec = tmp_path / "fuzzed.yaml"
        spec.write_text(case(seed, validate_mutations), encoding="utf-8")
        result = cli("validate", spec, "--device", "meta", "--counter", "torch", "--runs", "0")
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        assert result.exit_code in (0, 1, 2), result.output
        if result.exit_code == 2:
            assert result.stderr.startswith(f"error: {spec}:"), result.stderr

    check()


# --- random expressions ----------------------------------------------------------------------

OPERANDS = ["width", "index", "[1, 2]", "'a'", "true"]


def operands(rng) -> str:
    """An integer (any, held within ±10**16), any float, or a name, list, text or boolean: as text."""
    roll = rng.randrange(3)
    if roll == 0:
        return str(min(max(integers(rng, bits=54), -10**16), 10**16))
    return str(floats(rng)) if roll == 1 else rng.choice(OPERANDS)


def expressions(rng, leaves: list[int] | None = None, depth: int = 0) -> str:
    """A call, an operation or a conditional of expressions, or an operand: the deeper, the likelier
    an operand (as Hypothesis drew them); about 12 operands at most."""
    leaves = [12] if leaves is None else leaves  # the operands still to give, shared down the tree
    if leaves[0] <= 1 or rng.random() > 0.95 * 0.6**depth:
        leaves[0] -= 1
        return operands(rng)
    inner = lambda: expressions(rng, leaves, depth + 1)
    form = rng.randrange(4)
    if form == 0:
        return f"{rng.choice(['round', 'int', 'log', 'ceil', 'floor', 'min', 'max'])}({inner()})"
    if form == 1:
        return f"{rng.choice(['pow', 'log', 'min'])}({inner()}, {inner()})"
    if form == 2:
        return f"({inner()} {rng.choice(['+', '-', '*', '/', '//', '%', '<', '=='])} {inner()})"
    return f"({inner()} if {inner()} else {inner()})"


@tiers(300, 2000)
def test_random_expressions_give_a_value_or_one_spec_error(cases):
    """Powers, logarithms and roundings of anything (huge numbers, nan, inf, text, lists): a value
    within the magnitude bound, or a SpecError; never another exception, never a hang."""
    from archcalc.errors import SpecError
    from archcalc.limits import MAX_MAGNITUDE
    from archcalc.spec.expr import evaluate

    @fuzz(cases)
    @given(seed=SEEDS)
    def check(seed):
        expression = case(seed, expressions)
        try:
            value = evaluate(expression, {"width": 64, "index": 3})
        except SpecError:
            return
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            assert not abs(value) > MAX_MAGNITUDE, (expression, value)

    check()
