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
