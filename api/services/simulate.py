"""Simulate a draft policy against the current snapshot, before it is published: eligible
and undetermined counts by district and industry, the total cost, sample entities with their
explanations, and the difference from the published version of the same policy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl
from sqlalchemy.orm import Session

from api.services.groups import district_label, industry_label, ordered
from api.services.population import DISTRICT_COLUMNS, DataAccess, NoDataYet, Population
from profiles.masking import mask_id, mask_name
from rules.model import Policy
from store.money import yuan_of_fen

COUNTED = ("eligible", "undetermined")


def derived_frame(population: Population, as_of: dt.date) -> pl.DataFrame:
    """The snapshot with its derived tags recomputed as of ``as_of`` (the run's date: as is)."""
    if as_of == population.run.as_of:
        return population.frame
    from profiles.catalog import load_catalog
    from profiles.derive import derive

    derived = {f.name for f in load_catalog().entity(population.entity).by_kind("derived")}
    base = population.frame.drop([c for c in population.frame.columns if c in derived])
    return derive(base, entity=population.entity, as_of=as_of).collect()


def match_policy(frame: pl.DataFrame, policy: Policy, others: Sequence[Policy], *, as_of: dt.date,
           sets: Any, extra: dict[str, Any] | None = None) -> pl.DataFrame:
    from matcher.evaluate import match_frame

    pool = [policy, *(p for p in others if p.id != policy.id)]
    out = match_frame(frame, entity=policy.entity, policies=pool, as_of=as_of, sets=sets,
                      **(extra or {}))
    return out.filter(pl.col("policy_id") == policy.id)


def match_context(data: DataAccess, session: Session, population: Population,
                  frame: pl.DataFrame, pool: Sequence[Policy], *, as_of: dt.date
                  ) -> dict[str, Any]:
    """What the nightly run gives the matcher besides the profiles, so that a simulation
    decides as the run would: the award ledger (received(), first-time conditions, cap
    groups) and the household register and employment links of the sources folder, their
    members' own fields from the person snapshot."""
    extra: dict[str, Any] = {}
    if any(p.ledger_lookups or p.cap for p in pool):
        from matcher.award_import import load_ledger

        extra["ledger"] = load_ledger(session, entity_kind=population.entity, library=pool,
                                      as_of=as_of)
    folder = data.settings.run_sources_dir
    if any(p.aggregates for p in pool):
        from profiles.relations import load_relations

        persons: pl.DataFrame | None = frame if population.entity == "person" else None
        person_population = population if population.entity == "person" else None
        if persons is None:
            try:
                person_population = data.population(session, "person")
                persons = derived_frame(person_population, as_of)
            except NoDataYet:
                persons = None  # members' person fields UNKNOWN, link fields known
        if person_population is not None and persons is person_population.frame:
            extra["related"] = data.relations(folder, persons)  # a population's: kept
        else:
            extra["related"] = load_relations(folder, persons=persons).frames
    return extra


def group_codes(frame: pl.DataFrame, key: str, column: str) -> pl.DataFrame | None:
    """(entity_id, group code): districts as 6-digit codes, industries as 2-digit divisions."""
    if column not in frame.columns:
        return None
    value = pl.col(column).cast(pl.String)
    if column == "industry_code":
        value = value.str.slice(0, 2)
    return frame.select(pl.col(key).cast(pl.String).alias("entity_id"), value.alias("code"))


def label_of(column: str, code: str | None) -> str:
    return industry_label(code) if column == "industry_code" else district_label(code)


def _groups(outcomes: pl.DataFrame, frame: pl.DataFrame, key: str, column: str
            ) -> list[dict[str, Any]]:
    attrs = group_codes(frame, key, column)
    if attrs is None:
        return []
    joined = outcomes.join(attrs, on="entity_id", how="left").filter(
        pl.col("outcome").is_in(COUNTED)
    )
    table = joined.group_by("code").agg(
        eligible=(pl.col("outcome") == "eligible").sum(),
        undetermined=(pl.col("outcome") == "undetermined").sum(),
        amount=pl.col("amount_fen").filter(pl.col("outcome") == "eligible").sum(),
    )
    return ordered([
        {"group": label_of(column, r["code"]), "code": r["code"],
         "eligible": int(r["eligible"]), "undetermined": int(r["undetermined"]),
         "amount": yuan_of_fen(r["amount"])}
        for r in table.iter_rows(named=True)
    ], by=("eligible", "undetermined"))


def _totals(outcomes: pl.DataFrame) -> dict[str, Any]:
    eligible = outcomes.filter(pl.col("outcome") == "eligible")
    counts = {o: int((outcomes["outcome"] == o).sum()) for o in
              ("eligible", "undetermined", "superseded", "over_budget")}
    return {
        **counts,
        "total_cost": yuan_of_fen(int(eligible["amount_fen"].sum() or 0)),
        "total_cost_fen": int(eligible["amount_fen"].sum() or 0),
        "unknown_amounts": int(eligible["amount_fen"].is_null().sum()),
    }


def display_id(entity: str, entity_id: str) -> str:
    return (mask_id(entity_id) or "") if entity == "person" else entity_id


def sample_ids(frame: pl.DataFrame, outcomes: pl.DataFrame, *, key: str,
               per_outcome: int) -> list[str]:
    """A few entities of each counted outcome, then a few the policy does not match."""
    chosen: list[str] = []
    for outcome in COUNTED:
        ids = outcomes.filter(pl.col("outcome") == outcome)["entity_id"].head(per_outcome)
        chosen += [str(i) for i in ids]
    matched = set(outcomes["entity_id"].to_list())
    ineligible = [str(i) for i in frame[key].cast(pl.String).head(200 + per_outcome).to_list()
                  if i not in matched][:per_outcome]
    return chosen + ineligible


def explain_samples(frame: pl.DataFrame, ids: Sequence[str], policy: Policy,
                    others: Sequence[Policy], outcomes: pl.DataFrame, *, key: str,
                    as_of: dt.date, sets: Any, extra: dict[str, Any] | None = None,
                    with_name: bool = False) -> list[dict[str, Any]]:
    """The explanations of ``ids`` under ``policy``, with what the match had besides the
    profiles (``extra``: award ledger, related entities; see :func:`match_context`), so a
    sample says why as the outcome was decided; ids masked for persons."""
    from api.services.explaining import explanation_dict
    from matcher.explain import explain_many

    pool = [policy, *(p for p in others if p.id != policy.id)]
    explained = explain_many(frame, entity=policy.entity, policies=pool, as_of=as_of,
                             entity_ids=list(ids), policy_id=policy.id, sets=sets,
                             outcomes=outcomes, **(extra or {}))
    out = []
    for entity_id in ids:
        [explanation] = explained[entity_id]
        data = explanation_dict(explanation)
        data["entity_id"] = display_id(policy.entity, entity_id)
        if with_name:
            data["name"] = name_of(frame, key, policy.entity, entity_id)
        out.append(data)
    return out


def name_of(frame: pl.DataFrame, key: str, entity: str, entity_id: str) -> str | None:
    if "name" not in frame.columns:
        return None
    hit = frame.filter(pl.col(key).cast(pl.String) == entity_id)["name"]
    if hit.is_empty() or hit[0] is None:
        return None
    return mask_name(str(hit[0])) if entity == "person" else str(hit[0])


def simulate(data: DataAccess, session: Session, policy: Policy, *,
             as_of: dt.date | None = None, samples: int = 3) -> dict[str, Any]:
    """The simulation report of ``policy`` (a draft, already checked) as JSON-ready data."""
    population = data.population(session, policy.entity)
    day = as_of or population.run.as_of
    note = None
    if not policy.in_effect(day):
        note = f"政策在 {day} 不在有效期内，改按生效日 {policy.effective_from} 模拟"
        day = policy.effective_from
    frame = derived_frame(population, day)
    others, sets = data.policies_for(session, policy.entity)
    extra = match_context(data, session, population, frame,
                          [policy, *(p for p in others if p.id != policy.id)], as_of=day)
    outcomes = match_policy(frame, policy, others, as_of=day, sets=sets, extra=extra)
    key = population.key
    district = DISTRICT_COLUMNS[policy.entity]
    report: dict[str, Any] = {
        "policy_id": policy.id,
        "version": policy.version,
        "entity": policy.entity,
        "as_of": day.isoformat(),
        "note": note,
        "population": frame.height,
        "run_id": population.run.id,
        "amount_period": policy.amount.period if policy.amount else None,
        "totals": _totals(outcomes),
        "by_district": _groups(outcomes, frame, key, district),
        "by_industry": _groups(outcomes, frame, key, "industry_code")
        if policy.entity == "enterprise" else [],
        "samples": explain_samples(
            frame, sample_ids(frame, outcomes, key=key, per_outcome=samples), policy, others,
            outcomes, key=key, as_of=day, sets=sets, extra=extra),
        "published": None,
    }
    current = next((p for p in others if p.id == policy.id), None)
    if current is not None and current.in_effect(day):
        before = match_policy(frame, current, others, as_of=day, sets=sets, extra=extra)
        report["published"] = _difference(before, outcomes, current)
    return report


def _difference(before: pl.DataFrame, after: pl.DataFrame, current: Policy) -> dict[str, Any]:
    def ids(df: pl.DataFrame, outcome: str) -> set[str]:
        return set(df.filter(pl.col("outcome") == outcome)["entity_id"].to_list())

    b, a = _totals(before), _totals(after)
    return {
        "version": current.version,
        "totals": b,
        "newly_eligible": len(ids(after, "eligible") - ids(before, "eligible")),
        "no_longer_eligible": len(ids(before, "eligible") - ids(after, "eligible")),
        "eligible_delta": a["eligible"] - b["eligible"],
        "undetermined_delta": a["undetermined"] - b["undetermined"],
        "cost_delta": yuan_of_fen(a["total_cost_fen"] - b["total_cost_fen"]),
        "cost_delta_fen": a["total_cost_fen"] - b["total_cost_fen"],
    }
