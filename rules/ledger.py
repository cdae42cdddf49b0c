"""The award ledger as the rule language sees it: ``received("p")`` and
``received_amount("p", within = 3 years)`` (:class:`rules.ast.LedgerRef`).

The ledger holds every award on record (entity, policy, granted on, amount in yuan) and, per
policy, the date from which it is **complete** (``complete_from``): every award of that
policy granted on or after that date is on record, whether the system granted it or it was
imported from an earlier system. What is known follows from that, three-valued:

- ``received("p")`` over a window is TRUE when an award of ``p`` granted in the window is on
  record (a record decides, complete or not); FALSE when none is and the ledger is complete
  for the whole window; UNKNOWN otherwise (no ledger data for part of the window).
- ``received_amount("p")`` is the sum of the awards in the window when the ledger is complete
  for the window (0 when there are none), UNKNOWN otherwise: a partial sum is not the sum.

The system's own grant of the current benefit period of a policy (``current_grant``) is not a
previous award *for that policy's own lookups* (``LedgerRef.own``, set by the checker): a
firm granted 小巨人 in this run stays eligible in the next run of the same benefit, while an
award imported from the earlier system makes it ineligible.

A window ``within = N months`` is ``(as_of - N months, as_of]``; without ``within`` it is every
award up to the as-of date. No window starts before the policy's effective date (no award of
a policy can predate it; ``policy_starts``). Awards granted after the as-of date are not seen, so a
run as of a past date gives the same answer again.

Two implementations of these semantics live here: :func:`ledger_value` (one entity at a time,
plain Python: the reference the interpreter uses) and :func:`join_ledger` (a group-by and a
join in the polars plan: the batch engine); the property tests hold them to each other.

>>> import datetime as dt
>>> from rules import ast
>>> ledger = AwardLedger.from_records(
...     [("e1", "p", dt.date(2026, 2, 12), 1_000_000.0)],
...     complete_from={"p": dt.date(2025, 8, 23)}, policy_starts={"p": dt.date(2025, 8, 23)})
>>> got = ast.LedgerRef(kind="received", policy_id="p")
>>> [ledger_value(ledger, got, e, dt.date(2026, 3, 1)) for e in ("e1", "e2")]
[True, False]
>>> ledger_value(ledger, got, "e1", dt.date(2026, 2, 11))  # granted after the as-of date
False
>>> ledger_value(AwardLedger.empty(), got, "e1", dt.date(2026, 3, 1)) is None
True
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from rules import ast

AWARD_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(), "policy_id": pl.String(), "granted_on": pl.Date(),
    "amount": pl.Float64(), "current_grant": pl.Boolean(),
}


def months_before(when: dt.date, months: int) -> dt.date:
    """``when`` moved back by whole months, the day clipped to the month's end.

    >>> months_before(dt.date(2026, 3, 31), 1), months_before(dt.date(2028, 2, 29), 12)
    (datetime.date(2026, 2, 28), datetime.date(2027, 2, 28))
    """
    index = when.year * 12 + when.month - 1 - months
    year, month = divmod(index, 12)
    day = min(when.day, calendar.monthrange(year, month + 1)[1])
    return dt.date(year, month + 1, day)


@dataclass(frozen=True)
class AwardLedger:
    """Awards on record and where the record is complete (see the module text)."""

    awards: pl.DataFrame  # AWARD_SCHEMA
    complete_from: Mapping[str, dt.date] = field(default_factory=dict)
    policy_starts: Mapping[str, dt.date] = field(default_factory=dict)
    #: what the entities' awards of the current period by policies the caller does not
    #: decide draw from each cap group (``entity_id``, ``group``, ``amount_fen``;
    #: :func:`store.cap_draws.group_draws`): received, for the cap groups
    cap_draws: pl.DataFrame | None = None

    @classmethod
    def empty(cls) -> AwardLedger:
        """No awards and no complete period: every lookup is UNKNOWN (or TRUE never)."""
        return cls(pl.DataFrame(schema=AWARD_SCHEMA))

    @classmethod
    def from_records(cls, records: Iterable[tuple[str, str, dt.date, float]
                                            | tuple[str, str, dt.date, float, bool]], *,
                     complete_from: Mapping[str, dt.date] | None = None,
                     policy_starts: Mapping[str, dt.date] | None = None) -> AwardLedger:
        rows = [(*r, False) if len(r) == 4 else r for r in records]
        frame = pl.DataFrame(
            {name: [r[i] for r in rows] for i, name in enumerate(AWARD_SCHEMA)},
            schema=AWARD_SCHEMA)
        return cls(frame, dict(complete_from or {}), dict(policy_starts or {}))

    def window_start(self, ref: ast.LedgerRef, as_of: dt.date) -> dt.date | None:
        """The first day of the window (None: the policy's start is not known). No award of a
        policy predates the policy, so a window never starts before the policy does."""
        start = self.policy_starts.get(ref.policy_id)
        if ref.within_months is not None:
            begin = months_before(as_of, ref.within_months) + dt.timedelta(days=1)
            return begin if start is None else max(begin, start)
        return start

    def complete_for(self, ref: ast.LedgerRef, as_of: dt.date) -> bool:
        """Whether every award of the window is on record."""
        since = self.complete_from.get(ref.policy_id)
        start = self.window_start(ref, as_of)
        return since is not None and (since == dt.date.min or (start is not None
                                                               and since <= start))


def ledger_column(ref: ast.LedgerRef) -> str:
    """The column (batch) or fact key (events) that holds a lookup's value per entity.

    >>> ledger_column(ast.LedgerRef(kind="amount", policy_id="p", within_months=36))
    '__ledger:amount:p:36'
    """
    window = "all" if ref.within_months is None else str(ref.within_months)
    return f"__ledger:{ref.kind}:{ref.policy_id}:{window}" + (":own" if ref.own else "")


def ledger_value(ledger: AwardLedger, ref: ast.LedgerRef, entity_id: Any,
                 as_of: dt.date) -> Any:
    """The lookup for one entity, row by row (the reference semantics)."""
    start = ledger.window_start(ref, as_of) or dt.date.min
    found: list[float] = []
    for row in ledger.awards.iter_rows(named=True):
        if (entity_id is not None and row["entity_id"] == str(entity_id)
                and row["policy_id"] == ref.policy_id and start <= row["granted_on"] <= as_of
                and not (ref.own and row["current_grant"])):
            found.append(row["amount"])
    complete = ledger.complete_for(ref, as_of)
    if ref.kind == "received":
        if found:
            return True
        return False if complete else None
    return sum(found, 0.0) if complete else None


def join_ledger(lf: pl.LazyFrame, ledger: AwardLedger, refs: Iterable[ast.LedgerRef], *,
                key: str, as_of: dt.date) -> pl.LazyFrame:
    """``lf`` with one column per lookup (:func:`ledger_column`): the awards are filtered
    and grouped by entity once per lookup, then joined on the entity key."""
    out = lf
    awards = ledger.awards.lazy()
    for ref in sorted(set(refs), key=ledger_column):
        name = ledger_column(ref)
        start = ledger.window_start(ref, as_of) or dt.date.min
        complete = ledger.complete_for(ref, as_of)
        grouped = (
            awards.filter((pl.col("policy_id") == ref.policy_id)
                          & pl.col("granted_on").is_between(start, as_of)
                          & (~pl.col("current_grant") if ref.own else pl.lit(True)))
            .group_by("entity_id")
            .agg(pl.col("amount").sum().alias("__sum"), pl.len().alias("__n"))
        )
        if ref.kind == "received":
            value = pl.when(pl.col("__n") > 0).then(pl.lit(True)).otherwise(
                pl.lit(False if complete else None, dtype=pl.Boolean))
        else:
            value = (pl.col("__sum").fill_null(0.0) if complete
                     else pl.lit(None, dtype=pl.Float64))
        out = (
            out.with_columns(pl.col(key).cast(pl.String).alias("__ledger_key"))
            .join(grouped, left_on="__ledger_key", right_on="entity_id", how="left",
                  maintain_order="left")
            .with_columns(value.alias(name))
            .drop("__ledger_key", "__sum", "__n")
        )
    return out
