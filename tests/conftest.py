"""Shared helpers: writing small specs, and running the command line as a user would."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import archcalc
from archcalc.analysis import forget_kept_results
from archcalc.cli import app

CLI_ENV = {"NO_COLOR": "1", "COLUMNS": "120", "TERM": "dumb"}

DEFAULT_SIGNALS = (sys.executable, "-c", ("import os, signal, sys\n"
                                          "for number in (signal.SIGINT, signal.SIGHUP): signal.signal(number, signal.SIG_DFL)\n"
                                          "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"))
"""Python, for the arguments after it, with SIGINT and SIGHUP as a terminal gives them, in the
same process: a test run under nohup, or started with `&` by a script, hands its children these
signals ignored, and archcalc leaves an ignored signal ignored, so the tests that send them start
from the default."""

FAST_MODELS = {"lenet5", "lenet5_pytorch", "context_basic", "alexnet_paper", "squeezenet1_1", "resnet50",
               "mobilenet_v2"}
"""The bundled models that per-model tests run in the fast tier (`-m "not slow"`): every kind of
merge, padding and pooling among them, the float64 route of the receptive-field measurement
(local response norm) and a reduced input; the other models run in the slow tier."""


def tier(entry, *values):
    """A bundled model as a test parameter (`values`, or the entry itself), marked slow unless it
    is one of FAST_MODELS."""
    return pytest.param(*(values or (entry,)), id=entry.name,
                        marks=() if entry.name in FAST_MODELS else pytest.mark.slow)


@pytest.fixture(autouse=True)
def _kept_results_forgotten_around_patches(request):
    """A test that patches archcalc (a layer kind's rules, a limit) sees and leaves no result kept
    across analyses (archcalc.analysis.forget_kept_results), as a fresh process would."""
    patching = "monkeypatch" in request.fixturenames
    if patching:
        forget_kept_results()
    yield
    if patching:
        forget_kept_results()


@pytest.fixture(autouse=True)
def _cuda_cache_given_back():
    """After a test that used the GPU, the memory torch's caching allocator keeps for this process
    goes back to the device: the workers of `pytest -n 8` share one GPU, and on an 80 GB H100 (5
    December 2026) seven workers' kept blocks (6.5–14.3 GiB each) left the eighth too little for
    unet_padded's training step, which passed alone (docs/gpu-validation.md)."""
    yield
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        gc.collect()
        torch.cuda.empty_cache()


YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def yaml_text(document) -> str:
    """`yaml.safe_dump(document)`, by libyaml's emitter where PyYAML has it: the property tests
    write thousands of generated specs, and the pure-Python emitter took a fifth of their time."""
    return yaml.dump(document, Dumper=YAML_DUMPER)


@pytest.fixture
def write_spec(tmp_path: Path):
    """Write a dedented spec to tmp_path/NAME and return its path."""

    def write(text: str, name: str = "model.yaml") -> Path:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write


def shown_at(path: Path | str, line: int, column: int) -> str:
    """The source line and the caret an error shows under its message, at LINE:COLUMN of `path`."""
    text = Path(path).read_text(encoding="utf-8").split("\n")[line - 1]
    return f"  {line} | {text}\n  {' ' * len(str(line))} | {' ' * (column - 1)}^\n"


@pytest.fixture
def cli():
    """Run `archcalc ARGS…` in-process; returns the typer Result (stdout, stderr, exit_code)."""
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, [str(a) for a in args], env=CLI_ENV, prog_name="archcalc")

    return run


def run_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """`python -m archcalc ARGS…` in a fresh process."""
    env = {**os.environ, **CLI_ENV}
    return subprocess.run([sys.executable, "-m", "archcalc", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=120)


def done_quietly(result: subprocess.CompletedProcess, work: str) -> bool:
    """The command succeeded and its error stream holds only the line saying `work` is done (what
    a pipe gets instead of a terminal's spinner): nothing torch or onnx logs reaches it."""
    return result.returncode == 0 and re.fullmatch(rf"{re.escape(work)}: done \(\d+\.\d s\)\n", result.stderr) is not None


def run_in(folder: Path, *args: str) -> subprocess.CompletedProcess:
    """`archcalc ARGS…` in this process, from `folder`: what `run_process` answers, without a fresh
    interpreter (and its import of torch) where a fresh process is not what a test is about. A
    module it imports from `folder` (a test's models) is forgotten afterwards."""
    here, known = Path.cwd(), set(sys.modules)
    os.chdir(folder)
    try:
        result = CliRunner().invoke(app, [str(a) for a in args], env=CLI_ENV, prog_name="archcalc")
    finally:
        os.chdir(here)
        keep = (Path(sys.prefix).resolve(), Path(archcalc.__file__).parent.resolve())  # a venv or archcalc in `folder`
        for name in set(sys.modules) - known:
            file = Path(getattr(sys.modules[name], "__file__", "") or "/").resolve()
            if file.is_relative_to(Path(folder).resolve()) and not any(file.is_relative_to(k) for k in keep):
                del sys.modules[name]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, result.stderr)


_examples = {"count": 0, "fuzz": 0, "adversarial": 0}


@pytest.fixture(scope="session")
def count_example():
    """Call once per property-test example; the total is printed at the end of the run."""

    def count() -> None:
        _examples["count"] += 1

    return count


@pytest.fixture(scope="session")
def count_fuzz_case():
    """Call once per fuzzed spec; the total is printed at the end of the run."""

    def count() -> None:
        _examples["fuzz"] += 1

    return count


@pytest.fixture(scope="session")
def count_adversarial_case():
    """Call once per adversarial case; the total is printed at the end of the run."""

    def count() -> None:
        _examples["adversarial"] += 1

    return count


def pytest_configure(config):
    """Python's cyclic garbage collector every 10,000 new objects, not 700: the test process holds
    a large heap (torch, sympy's caches, every analysis kept), and the collections that scan it took
    about a tenth of the run; the tests make little cyclic garbage (a built model is freed by its
    reference count), as the command line makes little (archcalc.cli.main turns the collector off)."""
    gc.set_threshold(10_000, *gc.get_threshold()[1:])


def pytest_collection_finish(session):
    """torch on one thread: the tests are many small computations, and on a shared CPU more
    threads only contend (two threads made the gradient measurements several times slower). The
    spot check of the kept measurements (tests/measured.py) runs with the slow tier."""
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)
    measured = sys.modules.get("measured")
    if measured is not None:  # the spot-checked models measured afresh and held to their kept measurements
        measured.SPOT_CHECK = any(item.get_closest_marker("slow") for item in session.items)


_from_workers: list[str] = []
"""The bundled models measured afresh by pytest-xdist's workers (`-n 2`), as each reported at its end."""


def pytest_sessionfinish(session):
    """In a worker of pytest-xdist, what the summary below reports goes to the run's controller."""
    report = getattr(session.config, "workeroutput", None)
    if report is not None:
        measured = sys.modules.get("measured")
        report["archcalc"] = {"examples": dict(_examples), "afresh": list(measured.AFRESH) if measured is not None else []}


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist's worker `node` ended: add what it counted to this process's summary."""
    report = getattr(node, "workeroutput", {}).get("archcalc")
    if report is not None:
        for name, count in report["examples"].items():
            _examples[name] += count
        _from_workers.extend(report["afresh"])


def pytest_terminal_summary(terminalreporter):
    if _examples["fuzz"]:
        terminalreporter.write_line(f"fuzz: {_examples['fuzz']:,} specs, each a result or one clear error")
    if _examples["adversarial"]:
        terminalreporter.write_line(f"adversarial corpus: {_examples['adversarial']:,} cases, each holding its "
                                    "invariant (exit code, one clear message, files intact, time)")
    if _examples["count"]:
        terminalreporter.write_line(f"property tests: {_examples['count']:,} examples checked against torch")
    measured = sys.modules.get("measured")
    afresh = [*_from_workers, *(measured.AFRESH if measured is not None else [])]
    if afresh:
        terminalreporter.write_line(f"{len(afresh)} bundled-model measurement(s) made afresh, their kept "
                                    "measurement's key no longer holding (`python tests/measured.py` keeps them): "
                                    + ", ".join(sorted(afresh)))
