"""How numbers and shapes are written in every output."""

from __future__ import annotations

_UNITS = [(10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K")]


def grouped(n: int) -> str:
    """25557032 → '25,557,032'."""
    return f"{n:,}"


def human(n: float) -> str:
    """4089184256 → '4.09 G' (decimal prefixes, three significant figures)."""
    for size, unit in _UNITS:
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:g}"


def human_bytes(n: int) -> str:
    """Bytes with binary prefixes: 44040192 → '42.0 MiB'."""
    for size, unit in [(2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")]:
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def shape_text(shape: tuple[int, ...], sep: str = "×") -> str:
    return sep.join(str(d) for d in shape)


def percent(share: float) -> str:
    return f"{100 * share:.1f}%"
