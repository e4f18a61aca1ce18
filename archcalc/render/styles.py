"""What a colour means, the same in every command: the rich style of each kind of line. Only a
terminal shows them (piped output is plain text)."""

from __future__ import annotations

from collections.abc import Sequence

FAILED = "red"
"""A row that differs or fails: validate's layers, check's findings, sweep's invalid points."""
FAILED_VERDICT = "bold red"
HOLDS_VERDICT = "bold green"
NOTE = "yellow"
COSTLY = "bold yellow"
"""The costliest rows of a layer table: those that together make COSTLY_SHARE of its cost."""
COSTLY_SHARE = 0.5
FREE = "dim"
"""A row that costs nothing: no parameters and no multiply-adds."""
RESULT = "bold"
"""The answer among the working (conv, pool): the output, the parameters, the MACs."""


def cost_styles(costs: Sequence[int], params: Sequence[int]) -> list[str]:
    """Each row's style by its cost: COSTLY for the costliest (those that together make
    COSTLY_SHARE of the total, and any that cost as much as the last of them), FREE for a row
    that costs nothing."""
    least, running, enough = 0, 0, COSTLY_SHARE * sum(costs)
    for cost in sorted(costs, reverse=True):
        if running >= enough:
            break
        least, running = cost, running + cost
    return [COSTLY if least and cost >= least else FREE if not cost and not weights else ""
            for cost, weights in zip(costs, params)]
