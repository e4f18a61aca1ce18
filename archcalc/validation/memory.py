"""How much memory this process may still take, for `validate`'s guard: the smallest of

- the kernel's estimate for the whole machine (MemAvailable in /proc/meminfo);
- the process's own limits (`ulimit -v`, `ulimit -d`: RLIMIT_AS, RLIMIT_DATA) less what it
  already uses (VmSize, VmData in /proc/self/status);
- the limit of the process's cgroup and of each cgroup above it (v2 memory.max, v1
  memory.limit_in_bytes) less what the cgroup holds, its page cache left out (the kernel
  reclaims that before it kills).

Each is read defensively: a file that is missing, unreadable, or says `max` or anything but a
number adds no figure.
"""

from __future__ import annotations

import resource
from pathlib import Path

PROC = Path("/proc")
CGROUP = Path("/sys/fs/cgroup")

V2 = ("memory.max", "memory.current", "file")
"""cgroup v2: the limit, the usage and the memory.stat key of the page cache."""
V1 = ("memory.limit_in_bytes", "memory.usage_in_bytes", "total_cache")
"""cgroup v1 (its memory hierarchy is mounted at CGROUP/memory): the same files."""


def available_memory() -> int | None:
    """Bytes this process may still allocate: the smallest figure known, None when none is."""
    figures = [machine_available(), *process_room(), *cgroup_room()]
    return min((figure for figure in figures if figure is not None), default=None)


def machine_available() -> int | None:
    """MemAvailable: what the kernel estimates new work can take without swapping."""
    kib = _fields(PROC / "meminfo").get("MemAvailable")
    return None if kib is None else kib * 1024


def process_room() -> list[int | None]:
    """RLIMIT_AS less the address space in use, RLIMIT_DATA less the data in use (soft limits)."""
    status = _fields(PROC / "self" / "status")
    rooms = []
    for limit, used in ((resource.RLIMIT_AS, "VmSize"), (resource.RLIMIT_DATA, "VmData")):
        soft = resource.getrlimit(limit)[0]
        rooms.append(None if soft == resource.RLIM_INFINITY else max(0, soft - 1024 * status.get(used, 0)))
    return rooms


def cgroup_room() -> list[int | None]:
    """For the process's cgroup and each one above it: its limit less its usage but page cache."""
    return [_cgroup_room(directory, files) for directory, files in _cgroup_directories()]


def _cgroup_room(directory: Path, files: tuple[str, str, str]) -> int | None:
    limit_file, usage_file, cache_key = files
    limit = _number(directory / limit_file)
    if limit is None:
        return None
    used = _number(directory / usage_file) or 0
    cache = _fields(directory / "memory.stat").get(cache_key, 0)
    return max(0, limit - max(0, used - cache))


def _cgroup_directories() -> list[tuple[Path, tuple[str, str, str]]]:
    """The directories of the process's memory cgroups, v2 and v1, each with those above it
    (/proc/self/cgroup names them: '0::/path' for v2, 'N:…memory…:/path' for v1)."""
    directories = []
    for line in _lines(PROC / "self" / "cgroup") or ["0::/", "1:memory:/"]:
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if number == "0" and not controllers:
            directories += [(d, V2) for d in _upwards(CGROUP, path)]
        elif "memory" in controllers.split(","):
            directories += [(d, V1) for d in _upwards(CGROUP / "memory", path)]
    return directories


def _upwards(root: Path, path: str) -> list[Path]:
    """root/path and every directory above it up to root; root alone for a path that leaves it
    ('/../..', a cgroup outside this namespace)."""
    parts = path.strip().strip("/").split("/")
    if ".." in parts or parts == [""]:
        return [root]
    return [root.joinpath(*parts[:depth]) for depth in range(len(parts), -1, -1)]


def _number(path: Path) -> int | None:
    """The whole number a file holds; None for 'max', anything else, or no file."""
    lines = _lines(path)
    return int(lines[0]) if lines and lines[0].strip().isdigit() else None


def _fields(path: Path) -> dict[str, int]:
    """'Key: 123 kB' or 'key 123' lines → {key: 123}; lines that do not parse are left out."""
    fields = {}
    for line in _lines(path):
        words = line.split()
        if len(words) >= 2 and words[1].isdigit():
            fields[words[0].rstrip(":")] = int(words[1])
    return fields


def _lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="ascii", errors="replace").splitlines()
    except (OSError, ValueError):
        return []
