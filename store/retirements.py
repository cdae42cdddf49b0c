"""Retiring a published policy version takes two people (四眼原则): one asks, with a reason;
a reviewer who is not the one who asked approves (the version is retired) or rejects it (it
stays published). Every step is audited; one request per version may be pending.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store import audit
from store import policies as policy_store
from store.errors import FourEyesError, NotFoundError, TransitionError
from store.schema import policy_retirements
from store.types import utcnow

RetirementStatus = Literal["pending", "approved", "rejected"]


@dataclass(frozen=True, kw_only=True)
class RetirementRecord:
    id: int
    version_id: int
    status: RetirementStatus
    reason: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None


def _record(row: Any) -> RetirementRecord:
    return RetirementRecord(**row._asdict())


def get(session: Session, retirement_id: int) -> RetirementRecord:
    row = session.execute(
        select(policy_retirements).where(policy_retirements.c.id == retirement_id)
    ).first()
    if row is None:
        raise NotFoundError("policy retirement", retirement_id)
    return _record(row)


def pending(session: Session, *, version_id: int | None = None) -> list[RetirementRecord]:
    stmt = select(policy_retirements).where(policy_retirements.c.status == "pending")
    if version_id is not None:
        stmt = stmt.where(policy_retirements.c.version_id == version_id)
    return [_record(r) for r in session.execute(stmt.order_by(policy_retirements.c.id))]


def request(
    session: Session, version_id: int, *, actor: str, reason: str, now: dt.datetime | None = None
) -> RetirementRecord:
    """Ask to retire a published version; :class:`TransitionError` when it is not published
    or a request for it is already pending."""
    now = now or utcnow()
    version = policy_store.get_version(session, version_id)
    if version.status != "published" or pending(session, version_id=version_id):
        raise TransitionError("policy version", version_id, version.status, "retired")
    new_id = session.execute(
        policy_retirements.insert()
        .values(version_id=version_id, status="pending", reason=reason, requested_by=actor,
                requested_at=now)
        .returning(policy_retirements.c.id)
    ).scalar_one()
    audit.append(session, actor=actor, action="policy.retire_requested",
                 subject=f"policy:{version.policy_id}",
                 detail={"version_id": version_id, "retirement_id": new_id, "reason": reason},
                 now=now)
    return get(session, int(new_id))


def _decide(session: Session, retirement_id: int, *, reviewer: str, status: RetirementStatus,
            reason: str | None, now: dt.datetime) -> RetirementRecord:
    current = get(session, retirement_id)
    if current.status != "pending":
        raise TransitionError("policy retirement", retirement_id, current.status, status)
    if reviewer == current.requested_by:
        raise FourEyesError(current.version_id, reviewer, role="requester")
    session.execute(
        update(policy_retirements)
        .where(policy_retirements.c.id == retirement_id,
               policy_retirements.c.status == "pending")
        .values(status=status, decided_by=reviewer, decided_at=now, decision_reason=reason)
    )
    return get(session, retirement_id)


def approve(
    session: Session, retirement_id: int, *, reviewer: str, now: dt.datetime | None = None
) -> policy_store.PolicyVersionRecord:
    """Approve a pending request (the reviewer is not who asked): the version is retired."""
    now = now or utcnow()
    decided = _decide(session, retirement_id, reviewer=reviewer, status="approved", reason=None,
                      now=now)
    return policy_store.retire(session, decided.version_id, reviewer=reviewer,
                               requested_by=decided.requested_by, reason=decided.reason, now=now)


def reject(
    session: Session, retirement_id: int, *, reviewer: str, reason: str,
    now: dt.datetime | None = None,
) -> RetirementRecord:
    """Reject a pending request, with the reviewer's reason: the version stays published."""
    now = now or utcnow()
    decided = _decide(session, retirement_id, reviewer=reviewer, status="rejected",
                      reason=reason, now=now)
    version = policy_store.get_version(session, decided.version_id)
    audit.append(session, actor=reviewer, action="policy.retire_rejected",
                 subject=f"policy:{version.policy_id}",
                 detail={"version_id": version.id, "retirement_id": retirement_id,
                         "reason": reason}, now=now)
    return decided
