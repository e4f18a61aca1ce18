"""archcalc device-profile: measure this machine's device as a profile for the roofline."""

from __future__ import annotations

from pathlib import Path

from archcalc.commands import OUTPUT, Option, emit
from archcalc.limits import MAX_THREADS


def device_profile(
    device: str = Option("auto", "cpu, cuda, or auto: cuda where torch has it, else cpu.", choices=("auto", "cpu", "cuda")),
    threads: int = Option(1, "Threads torch uses on the CPU (one by default: the figures of one core).", min=1,
                          max=MAX_THREADS),
    dtype: str = Option("float32", "Element type the efficiencies per kind of work are measured in.",
                        choices=("float32", "float16", "bfloat16", "float64")),
    name: str | None = Option(None, "The profile's name in the file (default: local-cpu or local-cuda).", ("--name",)),
    output: Path | None = OUTPUT,
) -> None:
    from archcalc.dependencies import require
    from archcalc.devices import PROFILE_KEY_HINT, profile_key_readable
    from archcalc.errors import UsageError
    from archcalc.progress import phase
    from archcalc.render.progress import working

    if name is not None and not profile_key_readable(name):  # refused before minutes of measuring, not after
        raise UsageError(f"--name {name!r} is not printable text on one line: a profile file cannot name it so",
                         hint=PROFILE_KEY_HINT, option="'--name'")
    if output is not None:  # before the measurement's seconds, as at the end
        from archcalc.output import writable_target

        writable_target(output)
    with working("device-profile"):
        phase("importing torch")
        torch = require("torch", "archcalc device-profile")
        import gc

        gc.enable()  # torch runs for seconds: the collector is back on for it
        from archcalc.devices import profile_document
        from archcalc.measure_device import measure_profile

        chosen = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        _check_threads(threads, chosen)
        try:
            profile = measure_profile(chosen, threads, dtype, name)
        except (RuntimeError, MemoryError) as error:  # minutes in, a traceback said only torch's words
            from archcalc.errors import DeviceError, first_line
            from archcalc.measure_device import COPY_BYTES, GRID_BYTES
            from archcalc.validation import out_of_memory

            if not out_of_memory(error):
                raise
            raise DeviceError(f"memory ran out on {chosen} while measuring: {first_line(error)}",
                              hint=f"free memory on {chosen} (another process may hold it), or measure on a machine "
                                   f"with more: the copy that measures the bandwidth holds 2 × "
                                   f"{COPY_BYTES[chosen] // 2**20:,} MiB, the largest synthetic layers tensors of up "
                                   f"to {GRID_BYTES // 2**20:,} MiB each") from None
    emit(profile_document(profile), output)


def _check_threads(threads: int, device: str) -> None:
    """Refuse, before minutes of measuring, more CPU threads than the CPUs this process may run on:
    the profile would hold their contention (`validate` notes it of a time; a profile is kept)."""
    from archcalc.errors import UsageError
    from archcalc.parallel import cores

    if device == "cpu" and threads > cores():
        raise UsageError(f"--threads {threads} is more than the {cores()} CPU{'s' if cores() != 1 else ''} this "
                         "process may run on: the profile would measure the threads' contention, not the device",
                         hint=f"give --threads {cores()} or fewer", option="'--threads'")
