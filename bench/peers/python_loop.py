"""A plain Python per-row loop: the reference interpreter called for every (row, policy).

This is what a straightforward rule engine in Python costs. It is far too slow to run over
every entity, so it runs over a sample of rows and the time is extrapolated linearly (the
loop does the same work for every row).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import polars as pl

from profiles.catalog import EntityCatalog
from profiles.relations import RelatedFrame, rows_with_members
from rules.ledger import AwardLedger
from rules.model import Policy
from rules.sets import NamedSets


@dataclass(frozen=True)
class LoopResult:
    """Per policy, the truth (None = UNKNOWN) and amount for each sampled row."""

    seconds: float
    rows: int
    truth: dict[str, list[bool | None]]
    amount: dict[str, list[float | None]]


def evaluate_rows(frame: pl.DataFrame, policies: Sequence[Policy], *, catalog: EntityCatalog,
                  sets: NamedSets, as_of: dt.date,
                  related: Mapping[str, RelatedFrame] | None = None,
                  ledger: AwardLedger | None = None) -> LoopResult:
    """Every policy over every row of ``frame`` with :func:`rules.interpret.evaluate_policy`;
    the seconds it took (the conversion of the frame to dicts, with each owner's members of
    ``related``, included)."""
    from rules.interpret import evaluate_policy

    library = {p.id: p for p in policies}
    truth: dict[str, list[bool | None]] = {p.id: [] for p in policies}
    amount: dict[str, list[float | None]] = {p.id: [] for p in policies}
    start = time.perf_counter()
    for row in rows_with_members(frame, catalog.key, related or {}):
        for policy in policies:
            result = evaluate_policy(policy, row, catalog=catalog, sets=sets, as_of=as_of,
                                     library=library, ledger=ledger)
            truth[policy.id].append(result.truth)
            amount[policy.id].append(result.amount)
    seconds = time.perf_counter() - start
    return LoopResult(seconds=seconds, rows=frame.height, truth=truth, amount=amount)
