"""Entitlements as the entity sees them, and their pre-filled applications."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.models.benefits import ApplicationPublic, BenefitDetailPublic, BenefitPublic, EventPublic
from api.services.errors import Conflict, NotFound
from api.services.population import DataAccess
from matcher.outcomes import OUTCOME_LABELS
from store import applications as application_store
from store import entitlements as entitlement_store
from store.entitlements import EntitlementRecord
from store.schema import policies as policies_table

STATUS_LABELS = {
    "new": "待处理", "notified": "已通知", "confirmed": "已确认", "paid": "已兑现",
    "declined": "已放弃", "objected": "异议处理中", "revoked": "已撤销",
}
DELIVERY_LABELS = {"direct": "免申即享", "notice": "申报即享", "apply": "依申请"}


def titles(session: Session) -> dict[str, str]:
    rows = session.execute(select(policies_table.c.id, policies_table.c.title))
    return {r.id: r.title for r in rows}


def benefit_public(e: EntitlementRecord, names: dict[str, str]) -> BenefitPublic:
    return BenefitPublic(
        id=e.id, entity_kind=e.entity_kind, entity_id=e.entity_id, policy_id=e.policy_id,
        policy_title=names.get(e.policy_id, e.policy_id), benefit_period=e.benefit_period,
        policy_version=e.policy_version, outcome=e.outcome,
        outcome_label=OUTCOME_LABELS.get(e.outcome, e.outcome), amount=e.amount,
        amount_period=e.amount_period, delivery=e.delivery,
        delivery_label=DELIVERY_LABELS.get(e.delivery, e.delivery),
        unknown_fields=list(e.unknown_fields or []), status=e.status,
        status_label=STATUS_LABELS.get(e.status, e.status), reason=e.reason,
        last_run_id=e.last_run_id, updated_at=e.updated_at,
    )


def benefit_detail(session: Session, e: EntitlementRecord) -> BenefitDetailPublic:
    events = [
        EventPublic(at=ev.at, actor=ev.actor, kind=ev.kind, from_status=ev.from_status,
                    to_status=ev.to_status, reason=ev.reason)
        for ev in entitlement_store.events(session, e.id)
    ]
    return BenefitDetailPublic(**benefit_public(e, titles(session)).model_dump(), events=events)


def own_entitlement(
    session: Session, principal: Principal, entitlement_id: int
) -> EntitlementRecord:
    """The entitlement when it belongs to the principal's entity; 404 otherwise (another
    entity's id is indistinguishable from a missing one)."""
    try:
        e = entitlement_store.get(session, entitlement_id)
    except LookupError:
        raise NotFound("没有这项待遇") from None
    if e.entity_kind != principal.entity_kind or e.entity_id != principal.entity_id:
        raise NotFound("没有这项待遇")
    return e


def application_public(a: application_store.ApplicationRecord) -> ApplicationPublic:
    return ApplicationPublic(id=a.id, entitlement_id=a.entitlement_id, status=a.status,
                             prefilled=a.prefilled, missing_fields=list(a.missing_fields),
                             answers=a.answers, reason=a.reason)


def open_application(session: Session, data: DataAccess, e: EntitlementRecord, *,
                     actor: str) -> application_store.ApplicationRecord:
    """The entitlement's application, pre-filled from the latest snapshot on first open."""
    found = application_store.for_entitlement(session, e.id)
    if found is not None:
        return found
    if e.outcome != "undetermined" and e.delivery != "apply":
        raise Conflict("这项待遇无需申请（免申即享或申报即享）")
    prefilled = _prefilled(data, session, e, names=titles(session))
    missing = [str(f["name"]) for f in prefilled["to_fill"]]
    return application_store.create(session, entitlement_id=e.id, prefilled=prefilled,
                                    missing_fields=missing, actor=actor)


def _prefilled(data: DataAccess, session: Session, e: EntitlementRecord, *,
               names: dict[str, str]) -> dict[str, Any]:
    import polars as pl

    from notifier.application import build_application
    from notifier.model import EntitlementChange, FieldInfo
    from profiles.catalog import load_catalog

    population = data.population(session, e.entity_kind)
    rows = population.frame.filter(pl.col(population.key).cast(pl.String) == e.entity_id)
    profile = rows.row(0, named=True) if rows.height else {}
    policies, _ = data.policies_for(session, e.entity_kind)
    policy = next((p for p in policies if p.id == e.policy_id), None)
    catalog = load_catalog().entity(e.entity_kind)
    names_read = sorted(policy.fields_read) if policy else list(e.unknown_fields or [])
    fields = []
    for name in names_read:
        f = catalog.field(name)
        fields.append(FieldInfo(name=f.name, label=f.label, source=f.source, kind=f.kind,
                                type=f.type, unit=f.unit, empty=f.empty, personal=f.personal))
    change = EntitlementChange(
        entity_kind=e.entity_kind, entity_id=e.entity_id, policy_id=e.policy_id,
        policy_version=e.policy_version, policy_title=names.get(e.policy_id, e.policy_id),
        benefit_period=e.benefit_period, change="new", outcome=e.outcome, amount=e.amount,
        amount_period=e.amount_period, delivery=e.delivery,  # type: ignore[arg-type]
        unknown_fields=tuple(e.unknown_fields or ()),
    )
    return build_application(change, profile, fields, as_of=population.run.as_of).to_json()
