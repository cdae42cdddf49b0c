"""Entitlements: one per (entity kind, entity id, policy, benefit period), with a status life
cycle and a history of events.

Status: ``new -> notified -> confirmed -> paid``, or ``declined`` / ``objected`` / ``revoked``
with a reason; a benefit that needs an application goes ``new | notified -> applied`` when the
application is submitted, then ``confirmed`` (approved) or ``rejected`` (with the reason).
:data:`TRANSITIONS` is the whole life cycle; anything else raises
:class:`store.errors.TransitionError` naming both statuses. Runs write entitlements in bulk
(:mod:`store.entitlement_bulk`); people move them with :func:`transition`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store import audit
from store.errors import NotFoundError, TransitionError
from store.schema import entitlement_events, entitlements
from store.types import utcnow

EntitlementStatus = Literal[
    "new", "notified", "applied", "confirmed", "paid", "declined", "objected", "revoked",
    "rejected",
]
Outcome = Literal["eligible", "undetermined", "superseded", "over_budget"]
OUTCOMES: tuple[Outcome, ...] = ("eligible", "undetermined", "superseded", "over_budget")

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"notified", "applied", "confirmed", "declined", "objected", "revoked"}),
    "notified": frozenset({"applied", "confirmed", "declined", "objected", "revoked"}),
    "applied": frozenset({"confirmed", "rejected", "revoked"}),
    "rejected": frozenset({"objected"}),
    "confirmed": frozenset({"paid", "objected", "revoked"}),
    "objected": frozenset({"notified", "confirmed", "declined", "revoked"}),
    "paid": frozenset(),
    "declined": frozenset(),
    "revoked": frozenset({"new"}),  # eligible again in the same period (a run reinstates)
}
# Statuses a run may revoke when eligibility is lost ("before payment").
REVOCABLE: frozenset[str] = frozenset({"new", "notified", "applied", "confirmed", "objected"})
# Statuses whose figures a run no longer changes.
SETTLED: frozenset[str] = frozenset({"paid", "declined", "rejected"})


def no_longer_meets(failed: Sequence[str]) -> str:
    """Why an entitlement was revoked, once its explanation named the conditions that
    failed (its message, its 处理记录).

    >>> no_longer_meets(["北京市户籍", "年满60周岁"])
    '不再满足：北京市户籍、年满60周岁'
    """
    return "不再满足：" + "、".join(failed)


def benefit_period(amount_period: str | None, as_of: dt.date) -> str:
    """The period an entitlement covers, from the amount's period and the run's date.

    >>> d = dt.date(2025, 11, 3)
    >>> benefit_period("once", d), benefit_period("year", d), benefit_period("month", d)
    ('once', '2025', '2025-11')
    >>> benefit_period(None, d)
    'once'
    """
    if amount_period == "year":
        return f"{as_of.year:04d}"
    if amount_period == "month":
        return f"{as_of.year:04d}-{as_of.month:02d}"
    if amount_period in (None, "once"):
        return "once"
    raise ValueError(f"amount period must be once, month or year; got {amount_period!r}")


@dataclass(frozen=True, kw_only=True)
class EntitlementKey:
    entity_kind: str
    entity_id: str
    policy_id: str
    benefit_period: str


@dataclass(frozen=True, kw_only=True)
class EntitlementRecord:
    id: int
    entity_kind: str
    entity_id: str
    policy_id: str
    benefit_period: str
    policy_version: str
    outcome: Outcome
    amount_fen: int | None  # integer fen; None = unknown, never 0
    amount_period: str | None
    amount_kind: str  # rules.model.AmountKind, as the deciding policy version says
    delivery: str
    unknown_fields: list[str] | None
    status: EntitlementStatus
    reason: str | None
    first_run_id: str
    last_run_id: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @property
    def key(self) -> EntitlementKey:
        return EntitlementKey(
            entity_kind=self.entity_kind,
            entity_id=self.entity_id,
            policy_id=self.policy_id,
            benefit_period=self.benefit_period,
        )


@dataclass(frozen=True, kw_only=True)
class EntitlementEvent:
    id: int
    entitlement_id: int
    run_id: str | None
    at: dt.datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    detail: dict[str, Any] | None
    reason: str | None


def _record(row: Any) -> EntitlementRecord:
    return EntitlementRecord(**row._asdict())


def get(session: Session, entitlement_id: int) -> EntitlementRecord:
    row = session.execute(select(entitlements).where(entitlements.c.id == entitlement_id)).first()
    if row is None:
        raise NotFoundError("entitlement", entitlement_id)
    return _record(row)


def find(session: Session, key: EntitlementKey) -> EntitlementRecord | None:
    row = session.execute(
        select(entitlements).where(
            entitlements.c.entity_kind == key.entity_kind,
            entitlements.c.entity_id == key.entity_id,
            entitlements.c.policy_id == key.policy_id,
            entitlements.c.benefit_period == key.benefit_period,
        )
    ).first()
    return None if row is None else _record(row)


def list_entitlements(
    session: Session,
    *,
    entity_kind: str | None = None,
    entity_id: str | None = None,
    policy_id: str | None = None,
    status: str | None = None,
    run_id: str | None = None,
    limit: int | None = None,
) -> list[EntitlementRecord]:
    """Entitlements matching every given filter (``run_id``: last changed by that run)."""
    stmt = select(entitlements).order_by(entitlements.c.id)
    for column, value in (
        (entitlements.c.entity_kind, entity_kind),
        (entitlements.c.entity_id, entity_id),
        (entitlements.c.policy_id, policy_id),
        (entitlements.c.status, status),
        (entitlements.c.last_run_id, run_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_record(r) for r in session.execute(stmt)]


def events(session: Session, entitlement_id: int) -> list[EntitlementEvent]:
    stmt = (
        select(entitlement_events)
        .where(entitlement_events.c.entitlement_id == entitlement_id)
        .order_by(entitlement_events.c.id)
    )
    return [EntitlementEvent(**r._asdict()) for r in session.execute(stmt)]


def transition(
    session: Session,
    entitlement_id: int,
    to: EntitlementStatus,
    *,
    actor: str,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> EntitlementRecord:
    """Move an entitlement to ``to`` if the life cycle allows it; writes an event and an
    audit entry in the caller's transaction (enqueue outbox messages in the same one)."""
    now = now or utcnow()
    current = get(session, entitlement_id)
    if to not in TRANSITIONS[current.status]:
        raise TransitionError("entitlement", entitlement_id, current.status, to)
    if to in ("declined", "objected", "revoked", "rejected") and not reason:
        raise ValueError(f"a reason is required to move entitlement {entitlement_id} to {to!r}")
    result = session.execute(
        update(entitlements)
        .where(entitlements.c.id == entitlement_id, entitlements.c.status == current.status)
        .values(status=to, reason=reason, updated_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TransitionError(
            "entitlement", entitlement_id, get(session, entitlement_id).status, to
        )
    session.execute(
        entitlement_events.insert().values(
            entitlement_id=entitlement_id,
            run_id=None,
            at=now,
            actor=actor,
            kind="status",
            from_status=current.status,
            to_status=to,
            reason=reason,
        )
    )
    audit.append(
        session,
        actor=actor,
        action=f"entitlement.{to}",
        subject=f"entitlement:{entitlement_id}",
        detail={"from": current.status, "to": to, "reason": reason},
        now=now,
    )
    return get(session, entitlement_id)


def count_by_status(session: Session, *, entity_kind: str | None = None) -> dict[str, int]:
    from sqlalchemy import func

    stmt = select(entitlements.c.status, func.count()).group_by(entitlements.c.status)
    if entity_kind is not None:
        stmt = stmt.where(entitlements.c.entity_kind == entity_kind)
    return {str(s): int(n) for s, n in session.execute(stmt)}


def add_event(
    session: Session,
    entitlement_id: int,
    *,
    kind: str,
    actor: str,
    detail: dict[str, Any] | None = None,
    reason: str | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Record something that happened to an entitlement without changing its status (an
    application submitted, a link opened …): it shows in the benefit's 处理记录."""
    now = now or utcnow()
    session.execute(
        entitlement_events.insert().values(
            entitlement_id=entitlement_id, run_id=None, at=now, actor=actor, kind=kind,
            from_status=None, to_status=None, detail=detail, reason=reason,
        )
    )
    audit.append(session, actor=actor, action=f"entitlement.{kind}",
                 subject=f"entitlement:{entitlement_id}", detail=detail or {}, now=now)


def decide(
    session: Session,
    entitlement_id: int,
    *,
    to: EntitlementStatus,
    outcome: Outcome | None,
    amount_fen: int | None,
    actor: str,
    reason: str | None,
    now: dt.datetime | None = None,
) -> EntitlementRecord:
    """A decision on the entitlement's application: the status moves (``confirmed`` when
    approved, ``rejected`` when not) and, when approved, the outcome and amount become what
    the completed application decided (its unknowns answered)."""
    now = now or utcnow()
    current = get(session, entitlement_id)
    if outcome is not None:
        session.execute(
            update(entitlements)
            .where(entitlements.c.id == entitlement_id)
            .values(outcome=outcome, amount_fen=amount_fen, unknown_fields=[], updated_at=now)
        )
        if (outcome, amount_fen) != (current.outcome, current.amount_fen):
            session.execute(
                entitlement_events.insert().values(
                    entitlement_id=entitlement_id, run_id=None, at=now, actor=actor,
                    kind="updated", from_status=current.status, to_status=current.status,
                    detail={"outcome": {"from": current.outcome, "to": outcome},
                            "amount_fen": {"from": current.amount_fen, "to": amount_fen}},
                    reason=None,
                )
            )
    return transition(session, entitlement_id, to, actor=actor, reason=reason, now=now)
