"""The evidence a reviewer decides on: what a version under review changes against the
published version of the same policy, simulated on the latest snapshot — who becomes
eligible, who no longer is, how the cost changes, by district and by industry (with their
GB/T names), and sample entities of each kind with the explanation of their result.

A new policy (nothing published yet) is compared with nobody eligible."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from api.services.groups import ordered
from api.services.population import DISTRICT_COLUMNS, DataAccess
from api.services.simulate import (
    derived_frame,
    explain_samples,
    group_codes,
    label_of,
    match_context,
    match_policy,
)
from rules.model import Policy
from store.money import yuan_of_fen

_EMPTY = pl.DataFrame(schema={"entity_id": pl.String, "outcome": pl.String,
                              "amount_fen": pl.Int64})


def _side(outcomes: pl.DataFrame, suffix: str) -> pl.DataFrame:
    return outcomes.select(
        pl.col("entity_id").cast(pl.String),
        pl.col("outcome").alias(f"outcome_{suffix}"),
        pl.col("amount_fen").cast(pl.Int64).alias(f"amount_{suffix}"),
    )


def compare(before: pl.DataFrame, after: pl.DataFrame) -> pl.DataFrame:
    """One row per entity matched by either side: newly / lost flags and the cost change in
    fen (the eligible amount after minus before; an unknown amount counts as none)."""
    joined = _side(after, "after").join(_side(before, "before"), on="entity_id", how="full",
                                        coalesce=True)
    eligible_after = pl.col("outcome_after") == "eligible"
    eligible_before = pl.col("outcome_before") == "eligible"
    return joined.with_columns(
        newly=eligible_after.fill_null(False) & ~eligible_before.fill_null(False),
        lost=eligible_before.fill_null(False) & ~eligible_after.fill_null(False),
        cost_after=pl.when(eligible_after).then(pl.col("amount_after")).otherwise(0)
        .fill_null(0),
        cost_before=pl.when(eligible_before).then(pl.col("amount_before")).otherwise(0)
        .fill_null(0),
    ).with_columns(cost_delta=pl.col("cost_after") - pl.col("cost_before"))


def _by(changes: pl.DataFrame, attrs: pl.DataFrame | None, column: str) -> list[dict[str, Any]]:
    if attrs is None:
        return []
    table = changes.join(attrs, on="entity_id", how="left").group_by("code").agg(
        newly=pl.col("newly").sum(), lost=pl.col("lost").sum(),
        cost_delta=pl.col("cost_delta").sum(),
        eligible_after=(pl.col("outcome_after") == "eligible").sum(),
    )
    rows = [
        {"group": label_of(column, r["code"]), "code": r["code"], "newly": int(r["newly"]),
         "lost": int(r["lost"]), "cost_delta": yuan_of_fen(r["cost_delta"]),
         "eligible_after": int(r["eligible_after"])}
        for r in table.iter_rows(named=True) if r["newly"] or r["lost"] or r["cost_delta"]
    ]
    return ordered(rows, by=("newly", "lost", "cost_delta"))


def impact(data: DataAccess, session: Session, policy: Policy, *, as_of: dt.date | None = None,
           samples: int = 3) -> dict[str, Any]:
    """The impact report of ``policy`` (a version under review, checked) against the
    published version of the same policy."""
    population = data.population(session, policy.entity)
    day = as_of or population.run.as_of
    note = None
    if not policy.in_effect(day):
        note = f"该版本在 {day} 不在有效期内，改按其生效日 {policy.effective_from} 模拟"
        day = policy.effective_from
    frame = derived_frame(population, day)
    others, sets = data.policies_for(session, policy.entity)
    extra = match_context(data, session, population, frame,
                          [policy, *(p for p in others if p.id != policy.id)], as_of=day)
    after = match_policy(frame, policy, others, as_of=day, sets=sets, extra=extra)
    current = next((p for p in others if p.id == policy.id), None)
    before = _EMPTY
    if current is not None and current.in_effect(day):
        before = match_policy(frame, current, others, as_of=day, sets=sets, extra=extra)
    changes = compare(before, after)
    key = population.key
    district = DISTRICT_COLUMNS[policy.entity]
    newly = changes.filter(pl.col("newly"))["entity_id"].sort().head(samples).to_list()
    lost = changes.filter(pl.col("lost"))["entity_id"].sort().head(samples).to_list()
    return {
        "policy_id": policy.id,
        "version": policy.version,
        "published_version": current.version if current is not None else None,
        "entity": policy.entity,
        "as_of": day.isoformat(),
        "note": note,
        "population": frame.height,
        "run_id": population.run.id,
        "totals": {
            "eligible_before": int((changes["outcome_before"] == "eligible").sum()),
            "eligible_after": int((changes["outcome_after"] == "eligible").sum()),
            "undetermined_after": int((changes["outcome_after"] == "undetermined").sum()),
            "newly": int(changes["newly"].sum()),
            "lost": int(changes["lost"].sum()),
            "cost_before": yuan_of_fen(int(changes["cost_before"].sum())),
            "cost_after": yuan_of_fen(int(changes["cost_after"].sum())),
            "cost_delta": yuan_of_fen(int(changes["cost_delta"].sum())),
        },
        "by_district": _by(changes, group_codes(frame, key, district), district),
        "by_industry": _by(changes, group_codes(frame, key, "industry_code"), "industry_code")
        if policy.entity == "enterprise" else [],
        "newly_samples": explain_samples(frame, newly, policy, others, after, key=key,
                                         as_of=day, sets=sets, extra=extra, with_name=True),
        "lost_samples": explain_samples(frame, lost, policy, others, after, key=key,
                                        as_of=day, sets=sets, extra=extra, with_name=True),
    }
