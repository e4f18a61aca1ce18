"""The peak of a memory timeline as an exact formula in the batch size N.

Every tensor's bytes are linear in N (the batch is the first size of every activation; parameters,
buffers and per-channel statistics do not depend on it), so the total live bytes at each point of
a timeline is a line a + b·N, and the peak is the most of them: a maximum of lines. Two
evaluations of the timeline give each line exactly; a third checks that it is one. The lines
that are the maximum somewhere from the first batch the model takes to MAX_DIMENSION are kept, each with the range of N where
it is (the first point in the timeline wins a tie, as the numeric peak does); the others are
dropped. Any timeline plugs in: `peak_formula(lambda batch: [(name, bytes), …])`.

Where what torch runs changes with the batch (a batch of one is an axis of size 1, which a view
merges where a larger batch's cannot; oneDNN runs a 3-D convolution from a batch of 16), the
batches from which it may change are `breaks`: the lines are worked out between them, each range
on its own (a range of one batch is its peak there), and pieces that continue one another are
joined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from archcalc.limits import MAX_DIMENSION

Timeline = Callable[[int], list[tuple[str, int]]]
"""batch → the total live bytes at each point of the timeline, with the point's name (the same
points, in the same order, at every batch)."""

class NotLinear(RuntimeError):
    """An internal error: a timeline whose bytes are not a line in the batch (a bug in archcalc)."""


SAMPLES = (0, 1, 6)
"""Where the timeline is evaluated, after the first batch: two give each line, the third checks it."""


@dataclass(frozen=True)
class Piece:
    """One line of the formula, `constant + per_sample·N` bytes, the peak from `first` to `last`
    (None: to the largest batch) while `point` runs."""

    point: str
    constant: int
    per_sample: int
    first: int
    last: int | None

    def at(self, batch: int) -> int:
        return self.constant + self.per_sample * batch


@dataclass(frozen=True)
class PeakFormula:
    """The peak as a maximum of lines, only those that are the maximum somewhere; no piece for a
    timeline with no point (the peak is then 0)."""

    pieces: list[Piece]
    first: int = 1
    """The smallest batch the model takes (2 where batch norm without running statistics would
    otherwise normalise over one value)."""
    last: int = MAX_DIMENSION
    """The largest batch it covers: MAX_DIMENSION, or the last at which every tensor is one torch
    can make (`archcalc.memory.largest_makeable_batch`)."""

    def piece_at(self, batch: int) -> Piece | None:
        """The line that is the peak at `batch` (None without lines)."""
        return next((piece for piece in self.pieces if piece.last is None or batch <= piece.last), None)

    def at(self, batch: int) -> int:
        """The peak at `batch`, in bytes."""
        piece = self.piece_at(batch)
        return piece.at(batch) if piece else 0

    def fit(self, budget: int) -> Fit:
        """The largest batch within `budget`, its peak, and the line that bounds it."""
        batch = self.largest(budget)
        following = max(batch + 1, self.first)
        bound = self.piece_at(following) if following <= self.last else None
        return Fit(budget, batch, self.at(batch) if batch else None, bound, bound.at(following) if bound else None)

    def largest(self, budget: int) -> int:
        """The largest batch whose peak, and every smaller batch's, is at most `budget` (0 when not
        even the first batch fits; at most MAX_DIMENSION), worked out piece by piece."""
        if not self.pieces:  # no operation, no peak: every batch fits
            return self.last
        fits = self.first - 1
        for piece in self.pieces:
            last = MAX_DIMENSION if piece.last is None else piece.last
            room = budget - piece.constant
            within = last if not piece.per_sample else min(last, room // piece.per_sample)
            if room < 0 or within < piece.first:
                break
            fits = within
            if within < last:
                break
        return fits if fits >= self.first else 0


@dataclass(frozen=True)
class Fit:
    """The largest batch whose peak is at most `budget` (0: not even the first batch), its peak,
    and the line that is the peak at the next batch, over the budget (`bound`, `over`; None at the
    largest batch archcalc takes)."""

    budget: int
    batch: int
    peak: int | None
    bound: Piece | None
    over: int | None


def peak_formula(timeline: Timeline, first: int = 1, breaks: tuple[int, ...] = (),
                 last: int = MAX_DIMENSION) -> PeakFormula:
    """The peak of `timeline` from batch `first` to `last`, as an exact formula in the batch,
    worked out on its own between the `breaks` where the lines change there (see the module's
    docstring)."""
    starts = [first, *sorted(b for b in set(breaks) if first < b <= last)]
    ends = [*(b - 1 for b in starts[1:]), last]
    ranges: list[tuple[int, int, list[tuple[str, int, int]]]] = []
    for start, end in reversed(list(zip(starts, ends))):  # from the last range: a range joins the next where on its lines
        lines = _lines(timeline, start, end)
        if ranges and _on(lines, ranges[0][2], start, end):
            lines = ranges.pop(0)[2]
            end = ranges[0][0] - 1 if ranges else last
        ranges.insert(0, (start, end, lines))
    return PeakFormula([piece for start, end, lines in ranges for piece in _envelope(lines, start, end)], first, last)


def _lines(timeline: Timeline, first: int, last: int) -> list[tuple[str, int, int]]:
    """The line of each point of `timeline` from batch `first` to `last`, worked out from three
    batches of the range (of one batch, each point's bytes there)."""
    batches = sorted({min(first + offset, last) for offset in SAMPLES})
    samples = [timeline(batch) for batch in batches]
    names = [name for name, _ in samples[0]]
    if any([name for name, _ in sample] != names for sample in samples[1:]):
        raise NotLinear("internal error: the timeline's points differ from batch to batch")
    if len(batches) == 1:
        return [(name, value, 0) for name, value in samples[0]]
    lines = []
    for name, *values in zip(names, *([value for _, value in sample] for sample in samples)):
        per_sample = (values[1] - values[0]) // (batches[1] - batches[0])
        constant = values[0] - per_sample * batches[0]
        if any(constant + per_sample * batch != value for batch, value in zip(batches, values)) or per_sample < 0:
            raise NotLinear(f"internal error: the live bytes while {name} runs are not a growing line in the "
                            f"batch ({', '.join(f'{v:,} at {b}' for b, v in zip(batches, values))})")
        lines.append((name, constant, per_sample))
    return lines


def _on(lines: list[tuple[str, int, int]], following: list[tuple[str, int, int]], first: int, last: int) -> bool:
    """Whether the points of a range's `lines` are those of the `following` range's, as far as the
    range's batches tell (a range of one batch: its bytes on the following lines)."""
    if [name for name, *_ in lines] != [name for name, *_ in following]:
        return False
    if first == last:
        return all(constant == c + s * first for (_, constant, _), (_, c, s) in zip(lines, following))
    return lines == following


def _envelope(lines: list[tuple[str, int, int]], batch: int, last: int = MAX_DIMENSION) -> list[Piece]:
    """The lines that are the maximum somewhere in batch ≤ N ≤ last, each with its range; the
    first line wins a tie. From N = batch, the line that is the maximum there holds until the
    first N where a steeper one beats it."""
    pieces: list[Piece] = []
    while lines and batch <= last:
        values = [constant + per_sample * batch for _, constant, per_sample in lines]
        best = values.index(max(values))
        name, constant, per_sample = lines[best]
        following = MAX_DIMENSION + 1
        for index, (_, other_constant, other_slope) in enumerate(lines):
            if other_slope > per_sample:
                gap, steeper = constant - other_constant, other_slope - per_sample
                beats = gap // steeper + 1 if index > best else -(-gap // steeper)  # > after it, ≥ before it
                following = min(following, max(beats, batch + 1))
        end = min(following - 1, last)
        pieces.append(Piece(name, constant, per_sample, batch, end if end < MAX_DIMENSION else None))
        batch = following
    return pieces
