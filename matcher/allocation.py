"""Exclusivity groups and budgets over the long outcome frame (DESIGN §3).

Exclusivity (同一事项不得重复享受): among the *eligible* outcomes of one entity in one group,
the largest amount stays eligible; ties go to the lower declared priority number, then the
policy id. The others become ``superseded``. An unknown amount ranks below every known one.
Undetermined outcomes do not compete: they are not yet benefits.

Budgets: a policy's eligible outcomes (after exclusivity) are allocated in the declared order
(profile fields, nulls last, then entity id). ``ordered``: the longest prefix whose cumulative
amount fits the total stays eligible, the rest become ``over_budget`` (a waiting list in that
order). ``pro_rata``: when the eligible total exceeds the budget every eligible amount is scaled
by budget / total. Eligible outcomes with an unknown amount are not allocated and stay eligible
(their amount must be settled first).

>>> import polars as pl
>>> from rules.model import Exclusivity
>>> long = pl.DataFrame({"entity_id": ["e1", "e1"], "policy_id": ["a", "b"],
...                      "outcome": ["eligible", "eligible"], "amount": [100.0, 300.0]})
>>> class P:
...     def __init__(self, g): self.exclusivity, self.budget = g, None
>>> policies = {"a": P(Exclusivity(group="g")), "b": P(Exclusivity(group="g"))}
>>> apply_exclusivity(long, policies).sort("policy_id")["outcome"].to_list()
['superseded', 'eligible']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl


def apply_exclusivity(
    long: pl.DataFrame, policies: Mapping[str, Any], *, amount: str = "amount"
) -> pl.DataFrame:
    """Mark all but the winner of each (entity, exclusivity group) as ``superseded``;
    ``amount`` names the column that ranks them (yuan or fen)."""
    groups = {
        pid: (p.exclusivity.group, p.exclusivity.priority)
        for pid, p in policies.items()
        if p.exclusivity is not None
    }
    if not groups or long.height == 0:
        return long
    meta = pl.DataFrame(
        {
            "policy_id": list(groups),
            "__group": [g for g, _ in groups.values()],
            "__priority": [pr for _, pr in groups.values()],
        },
        schema={"policy_id": pl.String, "__group": pl.String, "__priority": pl.Int64},
    )
    tagged = long.with_row_index("__i").join(
        meta, on="policy_id", how="left", maintain_order="left"
    )
    contenders = tagged.filter(pl.col("__group").is_not_null() & (pl.col("outcome") == "eligible"))
    ranked = contenders.sort(
        ["entity_id", "__group", amount, "__priority", "policy_id"],
        descending=[False, False, True, False, False],
        nulls_last=True,
    ).with_columns(
        (pl.int_range(pl.len()).over(["entity_id", "__group"]) > 0).alias("__loser")
    )
    losers = ranked.filter(pl.col("__loser")).select("__i")
    return (
        tagged.with_columns(
            pl.when(pl.col("__i").is_in(losers["__i"].implode()))
            .then(pl.lit("superseded"))
            .otherwise(pl.col("outcome"))
            .alias("outcome")
        )
        .drop("__i", "__group", "__priority")
    )


def apply_budgets(
    long: pl.DataFrame,
    policies: Mapping[str, Any],
    *,
    profiles: pl.LazyFrame | None = None,
    key: str | None = None,
) -> pl.DataFrame:
    """Allocate each budgeted policy's total over its eligible outcomes."""
    budgeted = {pid: p.budget for pid, p in policies.items() if p.budget is not None}
    if not budgeted or long.height == 0:
        return long
    indexed = long.with_row_index("__b")
    untouched = indexed.filter(~pl.col("policy_id").is_in(list(budgeted)))
    parts = [untouched]
    for pid, budget in sorted(budgeted.items()):
        rows = indexed.filter(pl.col("policy_id") == pid)
        parts.append(_allocate(rows, budget, profiles=profiles, key=key))
    return pl.concat(parts, how="vertical").sort("__b").drop("__b")


def _allocate(
    rows: pl.DataFrame, budget: Any, *, profiles: pl.LazyFrame | None, key: str | None
) -> pl.DataFrame:
    competing = pl.col("outcome").eq("eligible") & pl.col("amount").is_not_null()
    if budget.allocation == "pro_rata":
        total = rows.filter(competing)["amount"].sum()
        if total <= budget.total:
            return rows
        factor = budget.total / total
        return rows.with_columns(
            pl.when(competing).then(pl.col("amount") * factor).otherwise(pl.col("amount"))
            .alias("amount")
        )
    order_cols = [o.field for o in budget.order]
    ordered = rows.with_row_index("__i")
    if order_cols:
        if profiles is None or key is None:
            raise ValueError("a budget order needs the profile frame and its key column")
        keys = (
            profiles.select(pl.col(key).cast(pl.String).alias("entity_id"), *order_cols)
            .join(rows.lazy().select("entity_id"), on="entity_id", how="semi")
            .collect()
        )
        ordered = ordered.join(keys, on="entity_id", how="left", maintain_order="left")
    sort_cols = [*order_cols, "entity_id"]
    descending = [o.descending for o in budget.order] + [False]
    contenders = (
        ordered.filter(competing)
        .sort(sort_cols, descending=descending, nulls_last=True)
        .with_columns(pl.col("amount").cum_sum().alias("__cum"))
    )
    over = contenders.filter(pl.col("__cum") > budget.total).select("__i")
    return ordered.with_columns(
        pl.when(pl.col("__i").is_in(over["__i"].implode()))
        .then(pl.lit("over_budget"))
        .otherwise(pl.col("outcome"))
        .alias("outcome")
    ).select(rows.columns)


def apply_caps(
    long: pl.DataFrame,
    policies: Mapping[str, Any],
    *,
    as_of: Any,
    ledger: Any | None = None,
) -> pl.DataFrame:
    """Cap groups (:mod:`rules.caps`): per entity and group, the eligible amounts are paid in
    the group's order (priority, then policy id) until the limit, less what the award ledger
    already holds for the period (calendar year of ``as_of``, or all years; the system's own
    grants of the current benefit periods are this run's rows, not counted twice). The row
    that crosses the limit is paid the remainder; the rows after it become ``over_budget``.
    Where the ledger is not complete for the period, what was already received is not known:
    the rows still paid keep their place but their amount is UNKNOWN (待核定), never a
    guess; rows beyond the limit by this run's amounts alone are ``over_budget`` all the same.
    Undetermined rows and unknown amounts do not compete. The event engine applies the same
    function to one entity's outcomes after each change.

    >>> import datetime as dt
    >>> from rules.caps import CapGroup
    >>> class P:
    ...     def __init__(self, prio):
    ...         self.cap = CapGroup(group="g", limit=500.0, priority=prio)
    >>> long = pl.DataFrame({"entity_id": ["e", "e", "e"], "policy_id": ["a", "b", "c"],
    ...                      "outcome": ["eligible"] * 3, "amount": [300.0, 300.0, 100.0]})
    >>> from rules.ledger import AwardLedger
    >>> full = AwardLedger.from_records([], complete_from={p: dt.date.min for p in "abc"})
    >>> out = apply_caps(long, {"a": P(1), "b": P(2), "c": P(3)}, as_of=dt.date(2026, 3, 1),
    ...                  ledger=full)
    >>> out.select("policy_id", "outcome", "amount").rows()
    [('a', 'eligible', 300.0), ('b', 'eligible', 200.0), ('c', 'over_budget', 100.0)]
    """
    import datetime as dt

    capped = {pid: p.cap for pid, p in policies.items() if getattr(p, "cap", None) is not None}
    if not capped or long.height == 0:
        return long
    meta = pl.DataFrame(
        {"policy_id": list(capped), "__cap_group": [c.group for c in capped.values()],
         "__cap_prio": [c.priority for c in capped.values()]},
        schema={"policy_id": pl.String, "__cap_group": pl.String, "__cap_prio": pl.Int64},
    )
    tagged = long.with_row_index("__k").join(meta, on="policy_id", how="left",
                                             maintain_order="left")
    competing = (pl.col("__cap_group").is_not_null() & (pl.col("outcome") == "eligible")
                 & pl.col("amount").is_not_null())
    groups: dict[str, Any] = {}
    for pid, cap in sorted(capped.items()):
        groups.setdefault(cap.group, (cap, []))[1].append(pid)
    limits: list[tuple[str, float, bool]] = []
    priors: list[pl.DataFrame] = []
    for name, (cap, members) in sorted(groups.items()):
        start = dt.date(as_of.year, 1, 1) if cap.per == "year" else dt.date.min
        known = ledger is not None and all(
            ledger.complete_from.get(m) is not None and ledger.complete_from[m] <= max(
                start, ledger.policy_starts.get(m, dt.date.min)) for m in members)
        if ledger is not None and ledger.awards.height:
            prior = (ledger.awards.filter(pl.col("policy_id").is_in(members)
                                          & pl.col("granted_on").is_between(start, as_of)
                                          & ~pl.col("current_grant"))
                     .group_by("entity_id").agg(pl.col("amount").sum().alias("__cap_prior"))
                     .with_columns(pl.lit(name).alias("__cap_group")))
            priors.append(prior)
        limits.append((name, cap.limit, known))
    limit_frame = pl.DataFrame(
        {"__cap_group": [n for n, _, _ in limits], "__cap_limit": [v for _, v, _ in limits],
         "__cap_known": [k for _, _, k in limits]},
        schema={"__cap_group": pl.String, "__cap_limit": pl.Float64, "__cap_known": pl.Boolean})
    rows = tagged.filter(competing).join(limit_frame, on="__cap_group", how="left")
    if priors:
        rows = rows.join(pl.concat(priors), on=["entity_id", "__cap_group"], how="left")
    else:
        rows = rows.with_columns(pl.lit(None, dtype=pl.Float64).alias("__cap_prior"))
    rows = (
        rows.sort(["entity_id", "__cap_group", "__cap_prio", "policy_id"])
        .with_columns(
            (pl.col("__cap_limit") - pl.col("__cap_prior").fill_null(0.0)
             - (pl.col("amount").cum_sum() - pl.col("amount"))
             .over(["entity_id", "__cap_group"])).alias("__left"))
        .select(
            "__k",
            pl.when(pl.col("__left") <= 0).then(pl.lit("over_budget"))
            .otherwise(pl.lit("eligible")).alias("__cap_outcome"),
            pl.when(pl.col("__left") <= 0).then(pl.col("amount"))
            .when(~pl.col("__cap_known")).then(pl.lit(None, dtype=pl.Float64))
            .otherwise(pl.min_horizontal(pl.col("amount"), pl.col("__left")))
            .alias("__cap_amount"),
        )
    )
    return (
        tagged.join(rows, on="__k", how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("__cap_outcome", "outcome").alias("outcome"),
            pl.when(pl.col("__cap_outcome").is_not_null()).then(pl.col("__cap_amount"))
            .otherwise(pl.col("amount")).alias("amount"),
        )
        .select(long.columns)
    )
