"""Match results of the latest successful run: by entity, by policy (paginated, filterable),
and the explanation of one (entity, policy), ineligible ones included (差在哪).

Enterprises and citizens reach only their own entity; ID numbers of persons are masked for
everyone but the person themself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

import polars as pl
from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from api.auth import Principal
from api.deps import CurrentUser, DataDep, SessionDep, Staff
from api.models.matches import ExplanationPublic, MatchPage, MatchPublic
from api.services.amount_kinds import published_kinds
from api.services.errors import Forbidden, NotFound
from api.services.explaining import explanation_dict
from api.services.population import DISTRICT_COLUMNS, DataAccess, Population, fill_declared
from matcher.outcomes import OUTCOME_LABELS
from profiles.masking import mask_id
from store.money import amount_text

router = APIRouter(prefix="/api/matches", tags=["matches"])
EntityKind = Literal["enterprise", "person"]
OUTCOME_PATTERN = "^(eligible|undetermined|superseded|over_budget)$"


def shown_id(principal: Principal, entity_kind: str, entity_id: str) -> str:
    """The entity id as this viewer may see it (persons' ID numbers masked for others)."""
    if entity_kind != "person" or (
        principal.entity_kind == "person" and principal.entity_id == entity_id
    ):
        return entity_id
    return mask_id(entity_id) or ""


def check_own(principal: Principal, entity_kind: str, entity_id: str) -> None:
    if principal.is_entity and (
        principal.entity_kind != entity_kind or principal.entity_id != entity_id
    ):
        raise Forbidden("只能查看本单位或本人的记录")


def _rows(principal: Principal, entity: str, frame: pl.DataFrame,
          kinds: Mapping[str, str]) -> list[MatchPublic]:
    return [
        MatchPublic(
            entity_id=shown_id(principal, entity, r["entity_id"]),
            policy_id=r["policy_id"], policy_version=r["policy_version"], outcome=r["outcome"],
            outcome_label=OUTCOME_LABELS.get(r["outcome"], r["outcome"]),
            amount_fen=r["amount_fen"],
            amount_display=amount_text(r["amount_fen"], period=r["amount_period"],
                                       kind=kinds.get(r["policy_id"], "cash")),
            amount_period=r["amount_period"], delivery=r["delivery"],
            unknown_fields=list(r["unknown_fields"] or []), district=r.get("district"),
        )
        for r in frame.iter_rows(named=True)
    ]


@router.get("/entities/{entity_kind}/{entity_id}", response_model=MatchPage)
def matches_of_entity(entity_kind: EntityKind, entity_id: str, principal: CurrentUser,
                      session: SessionDep, data: DataDep) -> MatchPage:
    """一个企业或个人在最近一次运行中的全部匹配结果（不含不符合的）。"""
    check_own(principal, entity_kind, entity_id)
    population = data.population(session, entity_kind)
    rows = population.outcomes.filter(pl.col("entity_id") == entity_id)
    return MatchPage(run_id=population.run.id, as_of=population.run.as_of.isoformat(),
                     total=rows.height, offset=0, limit=rows.height,
                     items=_rows(principal, entity_kind, rows, published_kinds(data, session)))


def _entity_of_policy(data: DataAccess, session: Session, policy_id: str) -> str:
    policies, _ = data.published(session)
    for p in policies:
        if p.id == policy_id:
            return p.entity
    raise NotFound(f"已发布政策中没有 {policy_id!r}")


@router.get("/policies/{policy_id}", response_model=MatchPage)
def matches_of_policy(
    policy_id: str, principal: Staff, session: SessionDep, data: DataDep,
    outcome: Annotated[str | None, Query(pattern=OUTCOME_PATTERN)] = None,
    district: Annotated[str | None, Query(pattern="^[0-9]{2,6}$", description="区划代码前缀")]
    = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> MatchPage:
    """一项政策的匹配结果，可按结果、区划筛选，分页。"""
    entity = _entity_of_policy(data, session, policy_id)
    population = data.population(session, entity)
    rows = population.outcomes.filter(pl.col("policy_id") == policy_id)
    if outcome is not None:
        rows = rows.filter(pl.col("outcome") == outcome)
    column = DISTRICT_COLUMNS[entity]
    attrs = population.frame.select(pl.col(population.key).cast(pl.String).alias("entity_id"),
                                    pl.col(column).cast(pl.String).alias("district"))
    rows = rows.join(attrs, on="entity_id", how="left")
    if district is not None:
        rows = rows.filter(pl.col("district").str.starts_with(district))
    page = rows.slice(offset, limit)
    return MatchPage(run_id=population.run.id, as_of=population.run.as_of.isoformat(),
                     total=rows.height, offset=offset, limit=limit,
                     items=_rows(principal, entity, page, published_kinds(data, session)))


EVENT_RUN_PREFIX = "event-"  # the run id of entitlements an event changed (matcher.events)


def explain_entitlement(principal: Principal, data: DataAccess, session: Session,
                        e: Any) -> ExplanationPublic:
    """The explanation a benefit's page and API show (an entitlement record ``e``): its own
    outcome and amount, and - when an event decided it after the run - its conditions as
    they read now, not the run's outcome."""
    return explain_one(principal, data, session, e.entity_kind, e.entity_id, e.policy_id,
                       outcome=e.outcome, amount_fen=e.amount_fen,
                       decided_by_event=str(e.last_run_id).startswith(EVENT_RUN_PREFIX))


def explain_one(principal: Principal, data: DataAccess, session: Session, entity_kind: str,
                entity_id: str, policy_id: str, *, outcome: str | None = None,
                amount_fen: int | None = None, decided_by_event: bool = False,
                ) -> ExplanationPublic:
    """The explanation of one (entity, policy) on the latest run's data with the profile
    updates since (:meth:`DataAccess.population`), completed by what the applicant declared in
    approved applications (as the next run will be). ``outcome`` / ``amount_fen``, when
    given, are the entitlement's own (e.g. approved on application), so that the page never
    contradicts the benefit it explains. The run's outcome is not used for an entity updated
    since the run, nor when an event decided the benefit (``decided_by_event``: a spouse's
    update re-decides the other spouse, whose own row did not change): the conditions as
    they read now decide."""
    import dataclasses

    from api.services.simulate import match_context
    from matcher.explain import EntityNotFoundError, PolicyNotFoundError, explain_entity
    from rules.model import with_references

    check_own(principal, entity_kind, entity_id)
    population = data.population(session, entity_kind)
    policies, sets = data.policies_for(session, entity_kind)
    frame = declared_frame(session, population, entity_id)
    # the household register, the employment links and the award ledger, as the run matched
    # with them (without them a spouse's age or a received() lookup reads 未知)
    extra = match_context(data, session, population, population.frame,
                          with_references(policies, [policy_id]), as_of=population.run.as_of)
    try:
        [explanation] = explain_entity(
            frame, entity=entity_kind, policies=policies, as_of=population.run.as_of,
            entity_id=entity_id, policy_id=policy_id, sets=sets,
            # the run's outcome, unless the entity's data changed since (an event decided
            # it again): then the conditions as they read now
            outcomes=(None if decided_by_event or entity_id in population.updated
                      else population.outcomes),
            **extra,
        )
    except EntityNotFoundError:
        raise NotFound("画像中没有这个企业或个人") from None
    except PolicyNotFoundError:
        raise NotFound(f"政策 {policy_id!r} 在评估日不适用于该类对象") from None
    if outcome is not None and outcome != explanation.outcome and (
            explanation.outcome == "undetermined" or outcome != "eligible"):
        explanation = dataclasses.replace(explanation, outcome=outcome, amount_fen=amount_fen)
    payload = explanation_dict(explanation)
    payload["entity_id"] = shown_id(principal, entity_kind, entity_id)
    return ExplanationPublic.model_validate(payload)


def declared_frame(session: Session, population: Population, entity_id: str) -> pl.DataFrame:
    """The entity's profile row completed by what it declared in approved applications."""
    from store.applications import declared_answers

    row = population.frame.filter(pl.col(population.key).cast(pl.String) == entity_id)
    answers = declared_answers(session, entity_kind=population.entity).get(entity_id)
    return fill_declared(row, {entity_id: answers} if answers else {},
                         entity=population.entity, as_of=population.run.as_of)


@router.get("/explain/{entity_kind}/{entity_id}/{policy_id}", response_model=ExplanationPublic)
def explain(entity_kind: EntityKind, entity_id: str, policy_id: str, principal: CurrentUser,
            session: SessionDep, data: DataDep) -> ExplanationPublic:
    """逐条解释：为什么符合 / 差在哪（含不符合的政策）。"""
    return explain_one(principal, data, session, entity_kind, entity_id, policy_id)
