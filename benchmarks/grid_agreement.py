"""How alike two device profiles of the same machine are, grid by grid: the points of their
efficiencies by size (`archcalc device-profile`) at which they differ by more than a factor of
1.15, of each grid's points. Given a second pair (by other code, say), it prints both pairs and the
ratio of their counts.

    python benchmarks/grid_agreement.py NEW_A.yaml NEW_B.yaml [OLD_A.yaml OLD_B.yaml]

Profiles measured back to back differ only by the machine's noise while they ran: the fewer
points apart, the less a profile's predictions depend on the moment it was measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from archcalc.devices import SINGLE_GRIDS, SizeTable, load_profile

FACTOR = 1.15


def grids(table: SizeTable) -> dict[str, tuple[tuple[float, ...], ...]]:
    """Each grid of a table by a name: `reached` as `dense`, the grouped ones by their groups,
    the tapped ones by their taps, and `temporal` and `strided` where the table gives them."""
    out = {"dense": table.reached}
    out |= {f"{groups:g} groups": grid for groups, grid in zip(table.groups, table.grouped)}
    out |= {f"{taps:g} taps": grid for taps, grid in zip(table.taps[1:], table.tapped)}
    return out | {name: grid for name in SINGLE_GRIDS if (grid := getattr(table, name))}


def apart(first: SizeTable, second: SizeTable, factor: float = FACTOR) -> dict[str, tuple[int, int]]:
    """For each grid both tables hold, the points at which they differ by more than `factor`, and
    its points."""
    theirs = grids(second)
    return {name: (sum(max(a, b) > factor * min(a, b) for row, other in zip(grid, theirs[name])
                       for a, b in zip(row, other)),
                   sum(map(len, grid)))
            for name, grid in grids(first).items() if name in theirs}


def counts(first: str, second: str) -> dict[str, dict[str, tuple[int, int]]]:
    """`apart` for each kind of work two profile files measured by size."""
    a, b = (load_profile(path).efficiency_by_size for path in (first, second))
    return {work: apart(a[work], b[work]) for work in a}


def total(figures: dict[str, tuple[int, int]]) -> tuple[int, int]:
    return sum(count for count, _ in figures.values()), sum(points for _, points in figures.values())


def main() -> None:
    paths = sys.argv[1:]
    if len(paths) not in (2, 4):
        sys.exit("usage: grid_agreement.py A.yaml B.yaml [OTHER_A.yaml OTHER_B.yaml]")
    pairs = [counts(*paths[i:i + 2]) for i in range(0, len(paths), 2)]
    print(f"points at which two profiles differ by more than a factor of {FACTOR}, of the grid's points")
    print(f"{'kind of work':16s} {'grid':10s} " + " ".join(f"{f'pair {i + 1}':12s}" for i in range(len(pairs))))
    for work, figures in pairs[0].items():
        for name in [*figures, "all"]:
            cells = [total(pair[work]) if name == "all" else pair[work].get(name, (0, 0)) for pair in pairs]
            print(f"{work:16s} {name:10s} " + " ".join(f"{count:>5d} of {points:<4d}" for count, points in cells))
    every = [total({work + name: figure for work, grids_ in pair.items() for name, figure in grids_.items()})
             for pair in pairs]
    print(f"all grids: {', '.join(f'pair {i + 1}: {count} of {points}' for i, (count, points) in enumerate(every))}"
          + (f"; pair 2 ÷ pair 1: {every[1][0] / every[0][0]:.2f}" if len(every) == 2 and every[0][0] else ""))


if __name__ == "__main__":
    main()
