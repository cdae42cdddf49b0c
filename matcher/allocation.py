"""Exclusivity groups and budgets over a long outcome frame (DESIGN §3).

Exclusivity (同一事项不得重复享受): among the *eligible* outcomes of one entity in one group,
the largest amount stays eligible; ties go to the lower declared priority number, then the
policy id. The others become ``superseded``. An unknown amount ranks below every known one.
Undetermined outcomes do not compete: they are not yet benefits. Exclusivity is per entity,
so a partition of the population decides it alone.

Budgets are global: a policy's eligible outcomes (after exclusivity) with a known amount are
gathered from every partition (:func:`budget_candidates`, only the policies that have a
budget), allocated once (:func:`allocate_budgets`), and the decision is applied to each
partition (:func:`apply_budget_decision`). ``ordered``: in the declared order (profile fields,
nulls last, then entity id) the longest prefix whose cumulative amount fits the total stays
eligible, the rest become ``over_budget`` (a waiting list in that order). ``pro_rata``: when
the eligible total exceeds the budget every eligible amount is scaled by budget / total and
rounded once to the fen. Amounts are integer fen throughout (:mod:`store.money`). Eligible
outcomes with an unknown amount are not allocated and stay eligible (their amount must be
settled first).

The functions work on the decoded frame (``entity_id``, ``policy_id``, ``outcome`` strings)
and on the lean one (``row``, ``policy`` and ``outcome`` as ``Enum``), named by keywords.

>>> import polars as pl
>>> from rules.model import Exclusivity
>>> long = pl.DataFrame({"entity_id": ["e1", "e1"], "policy_id": ["a", "b"],
...                      "outcome": ["eligible", "eligible"], "amount_fen": [100, 300]})
>>> class P:
...     def __init__(self, g): self.exclusivity, self.budget = g, None
>>> policies = {"a": P(Exclusivity(group="g")), "b": P(Exclusivity(group="g"))}
>>> apply_exclusivity(long, policies).sort("policy_id")["outcome"].to_list()
['superseded', 'eligible']
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from matcher.lean import enum_from_codes
from store.money import fen_expr, yuan_to_fen


def set_outcome(frame: pl.DataFrame, index: np.ndarray, value: str) -> pl.DataFrame:
    """``frame`` with the outcome of the rows at ``index`` set to ``value`` (String or Enum)."""
    if index.size == 0:
        return frame
    col = frame["outcome"]
    if isinstance(col.dtype, pl.Enum):
        codes = col.to_physical().to_numpy().copy()
        codes[index] = col.dtype.categories.to_list().index(value)
        new = enum_from_codes(codes, col.dtype, name="outcome")
    else:
        new = col.clone().scatter(pl.Series(index), value)
    return frame.with_columns(new)


def apply_exclusivity(
    long: pl.DataFrame,
    policies: Mapping[str, Any],
    *,
    amount: str = "amount_fen",
    entity: str = "entity_id",
    policy: str = "policy_id",
) -> pl.DataFrame:
    """Mark all but the winner of each (entity, exclusivity group) as ``superseded``."""
    groups = {
        pid: (p.exclusivity.group, p.exclusivity.priority)
        for pid, p in policies.items()
        if p.exclusivity is not None
    }
    if not groups or long.height == 0:
        return long
    pid_text = pl.col(policy).cast(pl.String)
    contenders = (
        long.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i"), entity, policy,
                    amount, "outcome")
        .filter(pl.col(policy).cast(pl.String).is_in(list(groups))
                & (pl.col("outcome").cast(pl.String) == "eligible"))
        .with_columns(
            pid_text.replace_strict({k: g for k, (g, _) in groups.items()}).alias("__group"),
            pid_text.replace_strict({k: pr for k, (_, pr) in groups.items()},
                                    return_dtype=pl.Int64).alias("__priority"),
            pid_text.alias("__pid"),
        )
    )
    losers = (
        contenders.sort(
            [entity, "__group", amount, "__priority", "__pid"],
            descending=[False, False, True, False, False],
            nulls_last=True,
        )
        .filter(pl.int_range(pl.len()).over([entity, "__group"]) > 0)["__i"]
    )
    return set_outcome(long, losers.to_numpy(), "superseded")


# ---- budgets ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetDecision:
    """The global allocation: per ordered policy, the entity ids put on the waiting list;
    per pro-rata policy, the factor applied to every competing amount."""

    over: dict[str, list[str]] = field(default_factory=dict)
    factor: dict[str, float] = field(default_factory=dict)


def budgeted(policies: Mapping[str, Any]) -> dict[str, Any]:
    return {pid: p.budget for pid, p in sorted(policies.items()) if p.budget is not None}


def _competing() -> pl.Expr:
    return (pl.col("outcome").cast(pl.String) == "eligible") & pl.col("amount_fen").is_not_null()


def budget_candidates(
    long: pl.DataFrame,
    policies: Mapping[str, Any],
    *,
    entity_ids: pl.Series | None = None,
    profiles: pl.DataFrame | None = None,
    key: str | None = None,
    policy: str = "policy_id",
) -> dict[str, pl.DataFrame]:
    """Per budgeted policy, its competing rows (eligible, known amount): ``entity_id``,
    ``amount_fen`` and the fields of its declared order. ``long`` is lean when
    ``entity_ids`` is given (``row`` refers into it and into ``profiles``)."""
    out: dict[str, pl.DataFrame] = {}
    for pid, budget in budgeted(policies).items():
        rows = long.filter(pl.col(policy).cast(pl.String).eq(pid) & _competing())
        order_cols = [o.field for o in budget.order]
        if entity_ids is not None:
            idx = rows["row"]
            part = pl.DataFrame({"entity_id": entity_ids.gather(idx),
                                 "amount_fen": rows["amount_fen"]})
            if order_cols:
                if profiles is None:
                    raise ValueError("a budget order needs the profile frame")
                part = part.hstack(profiles.select(order_cols)[idx.to_numpy()])
        else:
            part = rows.select("entity_id", "amount_fen")
            if order_cols:
                if profiles is None or key is None:
                    raise ValueError("a budget order needs the profile frame and its key column")
                keys = profiles.select(pl.col(key).cast(pl.String).alias("entity_id"),
                                       *order_cols)
                part = part.join(keys, on="entity_id", how="left", maintain_order="left")
        out[pid] = part
    return out


def allocate_budgets(
    candidates: Mapping[str, list[pl.DataFrame] | pl.DataFrame], policies: Mapping[str, Any]
) -> BudgetDecision:
    """Allocate each budgeted policy's total over its candidates from every partition."""
    decision = BudgetDecision()
    for pid, budget in budgeted(policies).items():
        got = candidates.get(pid, [])
        parts = [got] if isinstance(got, pl.DataFrame) else list(got)
        rows = pl.concat(parts, how="vertical") if parts else pl.DataFrame(
            schema={"entity_id": pl.String, "amount_fen": pl.Int64})
        total_fen = yuan_to_fen(budget.total) or 0
        if budget.allocation == "pro_rata":
            total = int(rows["amount_fen"].sum() or 0)
            if total > total_fen:
                decision.factor[pid] = total_fen / total
            continue
        order_cols = [o.field for o in budget.order]
        ranked = rows.sort(
            [*order_cols, "entity_id"],
            descending=[o.descending for o in budget.order] + [False],
            nulls_last=True,
        ).with_columns(pl.col("amount_fen").cum_sum().alias("__cum"))
        decision.over[pid] = ranked.filter(pl.col("__cum") > total_fen)["entity_id"].to_list()
    return decision


def apply_budget_decision(
    long: pl.DataFrame,
    decision: BudgetDecision,
    *,
    entity_ids: pl.Series | None = None,
    policy: str = "policy_id",
) -> pl.DataFrame:
    """``long`` with the global allocation applied to its rows."""
    if not decision.over and not decision.factor:
        return long
    entity = (pl.col("row").map_batches(lambda r: entity_ids.gather(r), return_dtype=pl.String)
              if entity_ids is not None else pl.col("entity_id"))
    pid = pl.col(policy).cast(pl.String)
    index = pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i")
    losers: list[np.ndarray] = []
    for p, over in decision.over.items():
        if over:
            hit = long.select(index, pid.alias("__p"), entity.alias("__e"), "outcome",
                              "amount_fen").filter(
                (pl.col("__p") == p) & _competing() & pl.col("__e").is_in(over))
            losers.append(hit["__i"].to_numpy())
    out = set_outcome(long, np.concatenate(losers) if losers else np.empty(0, np.uint32),
                      "over_budget")
    for p, factor in decision.factor.items():
        scaled = fen_expr(pl.col("amount_fen").cast(pl.Float64) * factor / 100.0)
        out = out.with_columns(
            pl.when((pid == p) & _competing()).then(scaled).otherwise(pl.col("amount_fen"))
            .alias("amount_fen")
        )
    return out


def apply_budgets(
    long: pl.DataFrame,
    policies: Mapping[str, Any],
    *,
    entity_ids: pl.Series | None = None,
    profiles: pl.DataFrame | None = None,
    key: str | None = None,
    policy: str = "policy_id",
) -> pl.DataFrame:
    """Allocate each budgeted policy's total over the eligible outcomes of ``long`` alone
    (one partition holding the whole population)."""
    if not budgeted(policies) or long.height == 0:
        return long
    cands = budget_candidates(long, policies, entity_ids=entity_ids, profiles=profiles,
                              key=key, policy=policy)
    decision = allocate_budgets(cands, policies)
    return apply_budget_decision(long, decision, entity_ids=entity_ids, policy=policy)


# ---- cap groups -------------------------------------------------------------------------


def apply_caps(
    long: pl.DataFrame,
    policies: Mapping[str, Any],
    *,
    as_of: Any,
    ledger: Any | None = None,
    entity_ids: pl.Series | None = None,
    entity: str = "entity_id",
    policy: str = "policy_id",
) -> pl.DataFrame:
    """Cap groups (:mod:`rules.caps`): per entity and group, the eligible amounts are paid in
    the group's order (priority, then policy id) until the limit, less what the award ledger
    already holds for the period (calendar year of ``as_of``, or all years; the system's own
    grants of the current benefit periods are this run's rows, not counted twice). The row
    that crosses the limit is paid the remainder; the rows after it become ``over_budget``.
    Where the ledger is not complete for the period, what was already received is not known:
    the rows still paid keep their place but their amount is UNKNOWN (待核定), never a
    guess; rows beyond the limit by this run's amounts alone are ``over_budget`` all the same.
    Undetermined rows and unknown amounts do not compete. Amounts are integer fen. Like the
    budgets, it works on the decoded frame and on the lean one (``entity="row"``,
    ``policy="policy"``, ``entity_ids`` the ids the rows refer to); caps are per entity, so
    a partition of the population decides them alone. The ledger's ``cap_draws`` (what the
    group's policies that this caller does not decide already draw in their current period,
    :func:`store.cap_draws.group_draws`) count as received.

    >>> import datetime as dt
    >>> from rules.caps import CapGroup
    >>> class P:
    ...     def __init__(self, prio):
    ...         self.cap = CapGroup(group="g", limit=500.0, priority=prio)
    >>> long = pl.DataFrame({"entity_id": ["e", "e", "e"], "policy_id": ["a", "b", "c"],
    ...                      "outcome": ["eligible"] * 3, "amount_fen": [30000, 30000, 10000]})
    >>> from rules.ledger import AwardLedger
    >>> full = AwardLedger.from_records([], complete_from={p: dt.date.min for p in "abc"})
    >>> out = apply_caps(long, {"a": P(1), "b": P(2), "c": P(3)}, as_of=dt.date(2026, 3, 1),
    ...                  ledger=full)
    >>> out.select("policy_id", "outcome", "amount_fen").rows()
    [('a', 'eligible', 30000), ('b', 'eligible', 20000), ('c', 'over_budget', 10000)]
    """
    import datetime as dt

    capped = {pid: p.cap for pid, p in policies.items() if getattr(p, "cap", None) is not None}
    if not capped or long.height == 0:
        return long
    meta = pl.DataFrame(
        {"__p": list(capped), "__cap_group": [c.group for c in capped.values()],
         "__cap_prio": [c.priority for c in capped.values()]},
        schema={"__p": pl.String, "__cap_group": pl.String, "__cap_prio": pl.Int64},
    )
    pid = pl.col(policy).cast(pl.String)
    rows = (
        long.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__i"), pid.alias("__p"),
                    entity, "outcome", "amount_fen")
        .filter(pl.col("__p").is_in(list(capped)) & _competing())
    )
    if rows.height == 0:
        return long
    if entity_ids is not None:
        rows = rows.with_columns(entity_ids.gather(rows[entity]).alias("__e"))
    else:
        rows = rows.with_columns(pl.col(entity).cast(pl.String).alias("__e"))
    groups: dict[str, Any] = {}
    for p, cap in sorted(capped.items()):
        groups.setdefault(cap.group, (cap, []))[1].append(p)
    limits: list[tuple[str, int, bool]] = []
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
                     .group_by("entity_id")
                     .agg(fen_expr(pl.col("amount")).sum().alias("__cap_prior"))
                     .select(pl.col("entity_id").cast(pl.String).alias("__e"),
                             pl.col("__cap_prior").cast(pl.Int64), pl.lit(name)
                             .alias("__cap_group")))
            priors.append(prior)
        limits.append((name, yuan_to_fen(cap.limit) or 0, known))
    limit_frame = pl.DataFrame(
        {"__cap_group": [n for n, _, _ in limits], "__cap_limit": [v for _, v, _ in limits],
         "__cap_known": [k for _, _, k in limits]},
        schema={"__cap_group": pl.String, "__cap_limit": pl.Int64, "__cap_known": pl.Boolean})
    drawn = None if ledger is None else ledger.cap_draws
    if drawn is not None and drawn.height:  # other writers' awards of the current period
        priors.append(drawn.select(pl.col("entity_id").cast(pl.String).alias("__e"),
                                   pl.col("amount_fen").cast(pl.Int64).alias("__cap_prior"),
                                   pl.col("group").cast(pl.String).alias("__cap_group")))
    rows = rows.join(meta, on="__p", how="left").join(limit_frame, on="__cap_group", how="left")
    if priors:
        prior = (pl.concat(priors).group_by(["__e", "__cap_group"])
                 .agg(pl.col("__cap_prior").sum()))
        rows = rows.join(prior, on=["__e", "__cap_group"], how="left")
    else:
        rows = rows.with_columns(pl.lit(None, dtype=pl.Int64).alias("__cap_prior"))
    decided = (
        rows.sort(["__e", "__cap_group", "__cap_prio", "__p"])
        .with_columns(
            (pl.col("__cap_limit") - pl.col("__cap_prior").fill_null(0)
             - (pl.col("amount_fen").cum_sum() - pl.col("amount_fen"))
             .over(["__e", "__cap_group"])).alias("__left"))
        .select(
            "__i",
            (pl.col("__left") <= 0).alias("__over"),
            pl.when(pl.col("__left") <= 0).then(pl.col("amount_fen"))
            .when(~pl.col("__cap_known")).then(pl.lit(None, dtype=pl.Int64))
            .otherwise(pl.min_horizontal(pl.col("amount_fen"), pl.col("__left")))
            .cast(pl.Int64).alias("__cap_amount"),
        )
    )
    out = set_outcome(long, decided.filter("__over")["__i"].to_numpy(), "over_budget")
    amounts = out["amount_fen"].cast(pl.Int64).clone().scatter(decided["__i"],
                                                                decided["__cap_amount"])
    return out.with_columns(amounts.cast(long.schema["amount_fen"]).alias("amount_fen"))
