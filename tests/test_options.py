"""Options and the Python API: sweep ranges counted before they are built, pooling's dilation,
receptive fields with a symbolic batch, the batch sizes `analyze` takes, and validate's memory
guard under a process or cgroup limit.

Every expected message and figure is written out by hand; the receptive fields of LeNet-5 (5×5
conv, 2×2 pool, 5×5 conv, 2×2 pool) follow from r' = r + (k − 1)·j, j' = j·s, t' = t + ((k − 1)/2)·j.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from conftest import CLI_ENV

from archcalc import analyze
from archcalc.errors import SpecError


def usage_error(output: str, command: str) -> str:
    """The message of a usage error of `command` (after checking that the usage came with it)."""
    message, usage, help = output.rsplit("\n", 3)[:3] if output.endswith("\n") else (output, "", "")
    assert message.startswith("error: ") and usage.startswith(f"  usage: archcalc {command} "), output
    assert help == f"  help:  archcalc {command} --help", output
    return message.removeprefix("error: ")


def refused(cli, command: str, *args: str) -> str:
    result = cli(command, *args)
    assert result.exit_code == 2, result.output
    return usage_error(result.stderr, command)


def run_limited(args: list[str], address_space: int = 2**30) -> subprocess.CompletedProcess:
    """`python ARGS` in a fresh process that may map at most `address_space` bytes (1 GiB:
    enough for any command here, far too little for a list of 10⁸ sizes)."""
    def limit() -> None:
        hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        soft = address_space if hard == resource.RLIM_INFINITY else min(address_space, hard)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))

    return subprocess.run([sys.executable, *args], capture_output=True, text=True, check=False,
                          env={**os.environ, **CLI_ENV}, preexec_fn=limit, timeout=60)


# ---- sweep --size, --batch and report --sweep: counted, never built, beyond 10,000 ----

TOO_MANY = "a sweep takes at most 10,000 (use a larger step)"


@pytest.mark.parametrize("args, option, message", [
    (["sweep", "lenet5", "--size", "1:2147483647"], "'--size'", "2,147,483,647 sizes"),
    (["sweep", "lenet5", "--size", "1:2147483647:2"], "'--size'", "1,073,741,824 sizes"),
    (["sweep", "lenet5", "--size", "1:2147483647,1:2147483647"], "'--size'", "4,294,967,294 sizes"),
    (["sweep", "lenet5", "--size", "32", "--batch", "1:2147483647"], "'--batch'", "2,147,483,647 batch sizes"),
    (["report", "lenet5", "--sweep", "1:100000000"], "'--sweep'", "100,000,000 sizes"),
], ids=["size", "size-step", "two-ranges", "batch", "report"])
def test_a_huge_range_is_refused_without_building_it(args, option, message):
    result = run_limited(["-m", "archcalc", *args])
    assert result.returncode == 2, result.stderr
    assert usage_error(result.stderr, args[0]) == f"invalid value for {option}: {message}; {TOO_MANY}"


def test_counting_a_huge_range_takes_no_time():
    script = textwrap.dedent("""
        import json, time
        from archcalc import sizes
        from archcalc.errors import SpecError
        answers = []
        for parse, text in [("parse_size_list", "1:2147483647"), ("parse_batch_list", "1:2147483647"),
                            ("parse_size_list", "1:1000000:1,5:2147483647:3")]:
            start = time.perf_counter()
            try:
                getattr(sizes, parse)(text)
            except SpecError as error:
                answers.append([error.message, time.perf_counter() - start])
        print(json.dumps(answers))
    """)
    done = run_limited(["-c", script])
    assert done.returncode == 0, done.stderr
    answers = json.loads(done.stdout)
    # (2,147,483,647 − 5) // 3 + 1 = 715,827,881 sizes after the first million
    assert [message for message, _ in answers] == [f"2,147,483,647 sizes; {TOO_MANY}",
                                                   f"2,147,483,647 batch sizes; {TOO_MANY}",
                                                   f"716,827,881 sizes; {TOO_MANY}"]
    assert all(seconds < 0.5 for _, seconds in answers), answers  # microseconds, on an idle machine


@pytest.mark.parametrize("args, last_line", [
    (["--size", "1:10000"], "1,10000,10000,"),
    (["--size", "1:20000:2"], "1,19999,19999,"),
    (["--size", "1:100", "--batch", "1:100"], "100,100,100,"),
])
def test_ten_thousand_points_pass(cli, args, last_line):
    result = cli("sweep", "lenet5", *args, "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1 + 10_000  # the header and one line a point
    assert lines[-1].startswith(last_line)


@pytest.mark.parametrize("command, args, option, message", [
    ("sweep", ["--size", "1:10001"], "'--size'", "10,001 sizes"),
    ("sweep", ["--size", "1:20001:2"], "'--size'", "10,001 sizes"),
    ("sweep", ["--size", "1:5000,5001:10000,7x9"], "'--size'", "10,001 sizes"),
    ("sweep", ["--size", "32", "--batch", "1:10001"], "'--batch'", "10,001 batch sizes"),
    ("sweep", ["--size", "1:137", "--batch", "1:73"], "'--size' / '--batch'",
     "137 sizes × 73 batch sizes give 10,001 points"),
    ("sweep", ["--size", "1:5001", "--batch", "1,2"], "'--size' / '--batch'",
     "5,001 sizes × 2 batch sizes give 10,002 points"),
    ("report", ["--sweep", "1:10001"], "'--sweep'", "10,001 sizes"),
])
def test_ten_thousand_and_one_points_are_a_usage_error(cli, command, args, option, message):
    assert refused(cli, command, "lenet5", *args) == f"invalid value for {option}: {message}; {TOO_MANY}"


@pytest.mark.parametrize("option, value, named", [
    ("--batch", "0", "batch size"), ("--batch", "0:8:4", "batch size"), ("--batch", "4,2147483648", "batch size"),
    ("--size", "0", "size"), ("--size", "0:64:32", "size"),
])
def test_a_size_out_of_bounds_names_what_it_is(cli, option, value, named):
    # --batch 0 said "each size must be …", as if --size were wrong
    args = ["--size", "32", option, value] if option == "--batch" else [option, value]
    assert refused(cli, "sweep", "lenet5", *args) == (f"invalid value for '{option}': each {named} must be "
                                                      f"from 1 to 2,147,483,647")


@pytest.mark.parametrize("command, args, option, given", [
    ("sweep", ["--size", "32,32"], "--size", "the size 32 is given more than once: give each size once"),
    ("sweep", ["--size", "16:64:16,32x32"], "--size",
     "the size 32x32 is given more than once (as 32 and as 32x32): give each size once"),
    ("sweep", ["--size", "32", "--batch", "1,1:4"], "--batch",
     "the batch size 1 is given more than once: give each batch size once"),
    ("sweep", ["--size", "32", "--set", "padding=0:2,1"], "--set",
     "the value 1 of 'padding' is given more than once: give each value once"),
    ("sweep", ["--size", "32", "--set", "padding=1,1.0"], "--set",
     "the value 1.0 of 'padding' is given more than once (as 1 and as 1.0): give each value once"),
    ("report", ["--sweep", "32,32"], "--sweep", "the size 32 is given more than once: give each size once"),
])
def test_a_value_given_twice_in_a_sweep_list_is_refused(cli, command, args, option, given):
    """`sweep lenet5 --size 32,32` printed the row of 1×32×32 twice, exit 0: a point given twice is
    a usage error naming it (as `--set` refuses a parameter set twice)."""
    assert refused(cli, command, "lenet5", *args) == f"invalid value for '{option}': {given}"


def test_size_lists_are_exact_at_the_boundary():
    from archcalc.sizes import parse_batch_list, parse_size_list
    from archcalc.sweep import sweep

    sizes = parse_size_list("1:9998,224x320,7")
    assert len(sizes) == 10_000 and sizes[9997:] == [(9998, 9998), (224, 320), (7, 7)]
    assert parse_batch_list("1:9999:1,10000") == [*range(1, 10_001)]
    with pytest.raises(SpecError) as error:
        parse_size_list("1:9998,224x320,7,8")
    assert error.value.message == f"10,001 sizes; {TOO_MANY}"
    with pytest.raises(SpecError) as error:  # the library's own bound, before the spec is read
        sweep("no-such-model", [(32, 32)] * 137, list(range(1, 74)))
    assert error.value.message == f"137 sizes × 73 batch sizes give 10,001 points; {TOO_MANY}"


# ---- pool: average pooling has no dilation ----

NO_DILATION = ("invalid value for '--dilation': average pooling has no dilation (torch.nn.AvgPool2d takes none): "
               "leave out --dilation, or leave out --average for max pooling")


@pytest.mark.parametrize("args", [["--average", "--dilation", "5"], ["--dilation", "2", "--average"],
                                  ["--average", "--dilation", "1"], ["--average", "--dilation", "2x3"]])
def test_average_pooling_refuses_a_dilation(cli, args):
    assert refused(cli, "pool", "--input", "32", "--kernel", "2", *args) == NO_DILATION


@pytest.mark.parametrize("value", ["banana", "2.5", "", "2x2x2"])
@pytest.mark.parametrize("average", [[], ["--average"]], ids=["max", "average"])
def test_a_dilation_that_is_not_a_size_is_refused(cli, value, average):
    message = refused(cli, "pool", "--input", "32", "--kernel", "2", "--dilation", value, *average)
    assert message == f"invalid value for '--dilation': --dilation takes a whole number or HxW, got '{value}'"


@pytest.mark.parametrize("args, output", [
    (["--kernel", "3", "--dilation", "2"], "output: 1×10×10 (C×H×W)"),  # ⌊(32 − 2·2 − 1)/3⌋ + 1 = 10
    (["--kernel", "3", "--dilation", "1x2", "--stride", "1"], "output: 1×30×28 (C×H×W)"),  # 32 − 2, 32 − 4
    (["--kernel", "2", "--average"], "output: 1×16×16 (C×H×W)"),
])
def test_pooling_without_the_conflict_still_works(cli, args, output):
    result = cli("pool", "--input", "32", *args)
    assert result.exit_code == 0, result.output
    assert output in result.stdout.splitlines()


# ---- table --rf: receptive fields with a symbolic batch or channel count ----

LENET_FIELDS = {"conv1": ("5", "1", "2"), "act1": ("5", "1", "2"), "pool1": ("6", "2", "2.5"),
                "conv2": ("14", "2", "6.5"), "pool2": ("16", "4", "7.5"), "flatten": ("—", "—", "—"),
                "fc3": ("—", "—", "—")}


@pytest.mark.parametrize("args", [["--input", "1x32x32", "--batch", "N"], ["--batch", "N"],
                                  ["--input", "Cx32x32"], ["--input", "Cx32x32", "--batch", "B2"]])
def test_rf_with_a_symbolic_batch_or_channel_count(cli, args):
    result = cli("table", "lenet5", "--rf", *args)
    assert result.exit_code == 0, result.output
    rows = {line.split()[1]: tuple(line.split()[-3:]) for line in result.stdout.splitlines()
            if re.match(r"\s*\d+ ", line)}
    assert {name: rows[name] for name in LENET_FIELDS} == LENET_FIELDS
    document = json.loads(cli("table", "lenet5", *args, "--format", "json").stdout)
    fields = {row["name"]: row["receptive_field"] for row in document["rows"]}
    assert fields["conv2"] == {"height": {"size": 14, "jump": 2, "start": 6.5},
                               "width": {"size": 14, "jump": 2, "start": 6.5}}
    assert fields["flatten"] is None


@pytest.mark.parametrize("spec, args", [("lenet5", ["--input", "1xHx32"]), ("lenet5", ["--input", "1x32xW", "--batch", "N"]),
                                        ("resnet50", ["--input", "3xHxW"]), ("lenet5", ["--input", "CxSxS"])])
def test_rf_with_a_symbolic_height_or_width_is_refused(cli, spec, args):
    assert refused(cli, "table", spec, "--rf", *args) == (
        "invalid value for '--rf': receptive fields need whole-number sizes: give the height and width as "
        "numbers (--input 3x224x224 or Cx224x224), or leave out --rf")


@pytest.mark.parametrize("args", [[], ["--input", "1xHxW", "--format", "json"]])
def test_train_under_fvcore_is_refused(cli, args):
    assert refused(cli, "table", "lenet5", "--train", "--convention", "fvcore", *args) == (
        "invalid value for '--train': the fvcore convention counts no backward pass: fvcore's FlopCountAnalysis "
        "traces and counts the forward pass only\n  hint: use --convention torch (FlopCounterMode over forward "
        "and backward) or paper (each gradient as many MACs as the forward)")


@pytest.mark.parametrize("model", ["resnet50", "mobilenet_v3_small", "squeezenet1_1"])
def test_fields_with_a_symbolic_batch_are_those_at_a_numeric_one(model):
    # the numeric fields are measured against torch's gradients in test_receptive_field.py;
    # mobilenet_v3_small has squeeze-and-excitation scales (fields of the whole input)
    numeric = analyze(model).receptive_fields
    assert analyze(model, batch="N").receptive_fields == numeric
    assert any(field is not None for field in numeric.values())


# ---- analyze(batch=…): whole numbers and symbols, nothing else ----

@pytest.mark.parametrize("batch", [2.5, 2.0, 1.0, True, False, None, "2.5", "+4", "4_0", "٤", "n", "", "N x",
                                   0, -1, 2**31, "2147483648", "9" * 5000, [2], (2,)],
                         ids=repr)
def test_analyze_refuses_a_batch_that_is_not_a_whole_number_or_a_symbol(batch):
    with pytest.raises(SpecError) as error:
        analyze("lenet5", batch=batch)
    assert error.value.message == ("the batch size must be a whole number from 1 to 2,147,483,647 or a symbol "
                                   f"such as N, got {batch!r}")


def test_analyze_takes_integers_their_digits_and_symbols():
    import numpy
    import sympy

    # LeNet-5: 117,600 + 240,000 + 48,000 + 10,080 + 840 = 416,520 MACs a sample
    for batch in [2, "2", " 2 ", "0002", numpy.int64(2), sympy.Integer(2)]:
        stats = analyze("lenet5", batch=batch)
        assert stats.input_shape == (2, 1, 32, 32) and type(stats.input_shape[0]) is int, repr(batch)
        assert stats.totals.macs == 833_040 and type(stats.totals.macs) is int
    symbolic = analyze("lenet5", batch="N")
    assert str(symbolic.input_shape[0]) == "N" and str(symbolic.totals.macs) == "416520*N"


def test_table_batch_option_takes_the_same_grammar(cli):
    assert refused(cli, "table", "lenet5", "--batch", "2.5") == (
        "invalid value for '--batch': the batch size must be a whole number from 1 to 2,147,483,647 or a symbol "
        "such as N, got '2.5'")
    assert cli("table", "lenet5", "--batch", "+4").exit_code == 2
    assert "833,040" in cli("table", "lenet5", "--batch", "2").stdout


def test_validate_and_build_torch_refuse_a_batch_they_cannot_build():
    pytest.importorskip("torch")
    from archcalc import build_torch, validate

    numbers_only = "the batch size must be a whole number from 1 to 2,147,483,647, got "
    for batch in [True, 2.5, "N"]:
        with pytest.raises(SpecError) as error:
            validate("lenet5", batch=batch, device="meta", runs=0)
        assert error.value.message == numbers_only + repr(batch)
    with pytest.raises(SpecError) as error:
        validate("lenet5", input="1xHxW", device="meta", runs=0)
    assert error.value.message == "validation builds the model at one size, got the input 1×1×H×W"
    with pytest.raises(SpecError) as error:
        build_torch("lenet5", batch=2.0, device="meta")
    assert error.value.message.endswith("or a symbol such as N, got 2.0")


# ---- validate's memory guard: the smallest of the machine's, the process's and the cgroups' ----

GIB, MIB = 2**30, 2**20


@pytest.fixture
def machine(tmp_path, monkeypatch):
    """A fake /proc and /sys/fs/cgroup for archcalc.validation.memory, and no rlimits:
    `machine.write(path, text)` fills them, `machine.limit(AS=bytes)` sets a soft rlimit."""
    from archcalc.validation import memory

    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    monkeypatch.setattr(memory, "PROC", proc)
    monkeypatch.setattr(memory, "CGROUP", cgroup)
    soft = {}
    infinity = resource.RLIM_INFINITY
    monkeypatch.setattr(memory.resource, "getrlimit", lambda which: (soft.get(which, infinity), infinity))

    def write(path: str, text: str) -> None:
        target = tmp_path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="ascii")

    def limit(**values: int) -> None:
        soft.update({getattr(resource, f"RLIMIT_{name}"): value for name, value in values.items()})

    write("proc/meminfo", "MemTotal:       64000000 kB\nMemAvailable:   16777216 kB\n")  # 16 GiB
    write("proc/self/status", "Name:\tpython\nVmSize:\t  1048576 kB\nVmData:\t   524288 kB\n")  # 1 GiB, 512 MiB
    write("proc/self/cgroup", "0::/\n")
    return SimpleNamespace(write=write, limit=limit)


def available():
    from archcalc.validation.memory import available_memory

    return available_memory()


def test_memory_is_the_machines_without_other_limits(machine):
    assert available() == 16 * GIB


def test_memory_under_an_address_space_limit(machine):
    machine.limit(AS=3 * GIB)  # ulimit -v: 3 GiB less the 1 GiB mapped
    assert available() == 2 * GIB
    machine.limit(AS=GIB // 2)  # already beyond it
    assert available() == 0


def test_memory_under_a_data_limit(machine):
    machine.limit(DATA=GIB, AS=4 * GIB)  # 1 GiB less 512 MiB of data; 4 GiB less 1 GiB mapped
    assert available() == 512 * MIB


def test_memory_under_a_cgroup_v2_limit_leaves_out_the_page_cache(machine):
    machine.write("proc/self/cgroup", "0::/job/step\n")
    machine.write("cgroup/job/step/memory.max", "max\n")
    machine.write("cgroup/job/memory.max", f"{GIB}\n")
    machine.write("cgroup/job/memory.current", f"{768 * MIB}\n")
    machine.write("cgroup/job/memory.stat", f"anon {256 * MIB}\nfile {512 * MIB}\n")
    assert available() == GIB - 256 * MIB  # the 512 MiB of page cache is reclaimed first
    machine.write("cgroup/memory.max", f"{900 * MIB}\n")  # the root of this namespace, above both
    machine.write("cgroup/memory.current", f"{800 * MIB}\n")
    assert available() == 100 * MIB


def test_memory_under_a_cgroup_v1_limit(machine):
    machine.write("proc/self/cgroup", "9:name=systemd:/\n4:memory:/process_api/abc\n0::/\n")
    machine.write("cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")  # v1's "no limit"
    machine.write("cgroup/memory/memory.usage_in_bytes", f"{60 * GIB}\n")
    machine.write("cgroup/memory/process_api/abc/memory.limit_in_bytes", f"{2 * GIB}\n")
    machine.write("cgroup/memory/process_api/abc/memory.usage_in_bytes", f"{3 * GIB // 2}\n")
    machine.write("cgroup/memory/process_api/abc/memory.stat", f"cache 1\ntotal_cache {GIB}\ntotal_rss {GIB // 2}\n")
    assert available() == GIB + GIB // 2


@pytest.mark.parametrize("files, under_3_gib", [
    ({"proc/meminfo": "MemAvailable: lots kB\n", "cgroup/memory.max": "banana\n"}, 2 * GIB),
    ({"proc/meminfo": "", "proc/self/cgroup": "0::/../../elsewhere\n", "cgroup/memory.max": "max\n"}, 2 * GIB),
    ({"proc/meminfo": "MemFree: 5 kB\n", "proc/self/status": "VmSize: -3 kB\n", "proc/self/cgroup": "garbage",
      "cgroup/memory.max": f"{GIB}\n"}, 3 * GIB),
])
def test_memory_files_that_do_not_parse_add_no_figure(machine, files, under_3_gib):
    for path, text in files.items():
        machine.write(path, text)
    assert available() is None
    machine.limit(AS=3 * GIB)  # less the 1 GiB mapped where the status file says so
    assert available() == under_3_gib


def test_memory_limit_of_a_namespace_root_is_read_for_a_path_outside_it(machine):
    machine.write("proc/self/cgroup", "0::/../../elsewhere\n")
    machine.write("cgroup/memory.max", f"{GIB}\n")
    machine.write("cgroup/memory.current", "0\n")
    assert available() == GIB


def test_validate_refuses_what_the_cgroup_cannot_hold(machine, cli):
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    machine.write("cgroup/memory.max", f"{200 * 1024}\n")
    machine.write("cgroup/memory.current", "0\n")
    result = cli("validate", "lenet5", "--device", "cpu", "--runs", "0")
    assert result.exit_code == 2, result.output
    # 4 bytes × (61,706 weights + 1,024 input values + conv1's 6×28×28 = 4,704 outputs) = 263.4 KiB
    assert result.stderr == ("error: the model needs at least 263.4 KiB on cpu (weights, buffers, input and its "
                             "largest output), and 200.0 KiB is available\n"
                             "  hint: use --device meta, which allocates nothing, or a smaller input or batch\n")


def test_validate_counts_the_bytes_of_the_dtype_it_times_in(machine, cli):
    """A fuzzer found float64 timing running out of memory where the check, at 4 bytes an element
    whatever the dtype, said the model fits: timed in float64, an element takes 8."""
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    machine.write("cgroup/memory.max", f"{400 * 1024}\n")
    machine.write("cgroup/memory.current", "0\n")
    result = cli("validate", "lenet5", "--device", "cpu", "--runs", "1", "--dtype", "float64")
    assert result.exit_code == 2, result.output
    # 8 bytes × (61,706 weights + 1,024 input values + conv1's 6×28×28 = 4,704 outputs) = 526.8 KiB
    assert result.stderr.startswith("error: the model needs at least 526.8 KiB on cpu (weights, buffers, input and "
                                    "its largest output, in float64), and 400.0 KiB is available\n"), result.stderr
    assert "or leave out --dtype: the model is built, counted and timed in float32" in result.stderr  # 4 bytes: fits


@pytest.mark.slow  # a fresh interpreter that imports torch
def test_validate_refuses_a_model_beyond_a_real_address_space_limit():
    pytest.importorskip("torch")
    pytest.importorskip("fvcore")
    script = textwrap.dedent("""
        import resource, sys
        import fvcore.nn, torch  # what validate imports, mapped before the limit
        mapped = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmSize:"))
        resource.setrlimit(resource.RLIMIT_AS, (mapped * 1024 + 256 * 2**20, resource.getrlimit(resource.RLIMIT_AS)[1]))
        sys.argv = ["archcalc", "validate", "vgg16", "--device", "cpu", "--runs", "0"]
        from archcalc.cli import main
        main()
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False,
                          timeout=120, env={**os.environ, **CLI_ENV})
    assert done.returncode == 2, done.stdout[-2000:] + done.stderr[-2000:]
    # 4 bytes × (138,357,544 weights + 3×224×224 = 150,528 input values + 64×224×224 = 3,211,264
    # outputs of conv1_1) = 566,877,344 bytes = 540.6 MiB; at most 256 MiB is left under the limit
    found = re.fullmatch(r"error: the model needs at least 540\.6 MiB on cpu \(weights, buffers, input and its "
                         r"largest output\), and ([0-9.]+) MiB is available\n"
                         r"  hint: use --device meta, which allocates nothing, or a smaller input or batch\n",
                         done.stderr)
    assert found, done.stderr
    assert float(found.group(1)) <= 256

