"""Pre-filled applications (快申快享): one per undetermined or apply-mode entitlement,
asking only for what the data could not prove.

Status: ``draft -> submitted -> approved | rejected``; ``draft | submitted -> withdrawn``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store import audit
from store.errors import NotFoundError, TransitionError
from store.schema import applications
from store.types import utcnow

ApplicationStatus = Literal["draft", "submitted", "approved", "rejected", "withdrawn"]
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"submitted", "withdrawn"}),
    "submitted": frozenset({"approved", "rejected", "withdrawn"}),
    "approved": frozenset(),
    "rejected": frozenset(),
    "withdrawn": frozenset(),
}


@dataclass(frozen=True, kw_only=True)
class ApplicationRecord:
    id: int
    entitlement_id: int
    status: ApplicationStatus
    prefilled: dict[str, Any]
    missing_fields: list[str]
    answers: dict[str, Any] | None
    decided_by: str | None
    reason: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    submitted_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None


def _record(row: Any) -> ApplicationRecord:
    return ApplicationRecord(**row._asdict())


def get(session: Session, application_id: int) -> ApplicationRecord:
    row = session.execute(select(applications).where(applications.c.id == application_id)).first()
    if row is None:
        raise NotFoundError("application", application_id)
    return _record(row)


def for_entitlement(session: Session, entitlement_id: int) -> ApplicationRecord | None:
    row = session.execute(
        select(applications).where(applications.c.entitlement_id == entitlement_id)
    ).first()
    return None if row is None else _record(row)


def create(
    session: Session,
    *,
    entitlement_id: int,
    prefilled: Mapping[str, Any],
    missing_fields: Sequence[str],
    actor: str,
    now: dt.datetime | None = None,
) -> ApplicationRecord:
    """The application of an entitlement; an existing one is returned unchanged."""
    existing = for_entitlement(session, entitlement_id)
    if existing is not None:
        return existing
    now = now or utcnow()
    new_id = session.execute(
        applications.insert()
        .values(
            entitlement_id=entitlement_id,
            status="draft",
            prefilled=dict(prefilled),
            missing_fields=list(missing_fields),
            created_at=now,
            updated_at=now,
        )
        .returning(applications.c.id)
    ).scalar_one()
    audit.append(
        session,
        actor=actor,
        action="application.create",
        subject=f"application:{new_id}",
        detail={"entitlement_id": entitlement_id},
        now=now,
    )
    return get(session, int(new_id))


def save_answers(
    session: Session,
    application_id: int,
    answers: Mapping[str, Any],
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> ApplicationRecord:
    current = get(session, application_id)
    if current.status != "draft":
        raise TransitionError("application", application_id, current.status, "draft")
    now = now or utcnow()
    merged = {**(current.answers or {}), **dict(answers)}
    session.execute(
        update(applications)
        .where(applications.c.id == application_id)
        .values(answers=merged, updated_at=now)
    )
    audit.append(
        session,
        actor=actor,
        action="application.answers",
        subject=f"application:{application_id}",
        detail={"fields": sorted(answers)},
        now=now,
    )
    return get(session, application_id)


def transition(
    session: Session,
    application_id: int,
    to: ApplicationStatus,
    *,
    actor: str,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> ApplicationRecord:
    current = get(session, application_id)
    if to not in TRANSITIONS[current.status]:
        raise TransitionError("application", application_id, current.status, to)
    now = now or utcnow()
    decided: dict[str, Any] = (
        {"decided_by": actor, "decided_at": now} if to in ("approved", "rejected") else {}
    )
    if to == "submitted":
        decided["submitted_at"] = now
    session.execute(
        update(applications)
        .where(applications.c.id == application_id, applications.c.status == current.status)
        .values(status=to, reason=reason, updated_at=now, **decided)
    )
    audit.append(
        session,
        actor=actor,
        action=f"application.{to}",
        subject=f"application:{application_id}",
        detail={"from": current.status, "to": to, "reason": reason},
        now=now,
    )
    return get(session, application_id)


def declared_answers(session: Session, *, entity_kind: str) -> dict[str, dict[str, Any]]:
    """What applicants declared in their approved applications, per entity (the newest answer
    to each field wins): a run takes these where the government's data knows nothing, so an
    approved application keeps deciding the later runs and periods."""
    from store.schema import entitlements

    stmt = (
        select(entitlements.c.entity_id, applications.c.answers)
        .join(entitlements, entitlements.c.id == applications.c.entitlement_id)
        .where(entitlements.c.entity_kind == entity_kind, applications.c.status == "approved")
        .order_by(applications.c.decided_at, applications.c.id)
    )
    out: dict[str, dict[str, Any]] = {}
    for entity_id, answers in session.execute(stmt):
        out.setdefault(str(entity_id), {}).update(
            {k: v for k, v in (answers or {}).items() if v is not None})
    return out


def submitted_queue(session: Session, *, limit: int = 200) -> list[ApplicationRecord]:
    """Applications waiting for a reviewer, oldest submission first."""
    stmt = (select(applications).where(applications.c.status == "submitted")
            .order_by(applications.c.submitted_at, applications.c.id).limit(limit))
    return [_record(r) for r in session.execute(stmt)]
