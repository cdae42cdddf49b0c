"""Policies and their versions, with the review workflow.

A version moves ``draft -> in_review -> published -> retired`` (a reviewer may also send it
back: ``in_review -> draft``, or approve it for a later day: ``in_review -> scheduled``, and
:func:`publish_due` publishes it on that day). Every approval or rejection names its reviewer
and reason (:func:`reviews`). The reviewer who approves must be another person than whoever
wrote the version: its author and everyone who edited the draft (四眼原则, per person
whatever roles they hold); retiring a published version takes two people as well
(:mod:`store.retirements`). A version that left ``draft`` is immutable: its text and content
hash never change, and the database itself refuses such a change (triggers of migration
0004). Versions of a policy are numbered 1, 2, 3 … in the order they were created
(:attr:`PolicyVersionRecord.number`). Every step writes an audit entry in the same
transaction; the keyed entries of publishing and retiring carry the version's content hash,
which is what :mod:`store.policy_integrity` checks the stored versions against before a run
uses them. Nothing is ever imported as published: an import creates versions awaiting review
(:func:`import_for_review`).

The store does not parse policy YAML; callers pass the parsed id, title, entity, effective
period and version alongside the text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from store import audit
from store.errors import (
    FourEyesError,
    ImmutableVersionError,
    NotFoundError,
    TransitionError,
    UnverifiedPolicyError,
)
from store.schema import policies, policy_reviews, policy_versions
from store.types import utcnow
from store.users import SYSTEM_USER

VersionStatus = Literal["draft", "in_review", "scheduled", "published", "retired"]
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"in_review"}),
    "in_review": frozenset({"published", "scheduled", "draft"}),
    "scheduled": frozenset({"published"}),
    "published": frozenset({"retired"}),
    "retired": frozenset(),
}


@dataclass(frozen=True, kw_only=True)
class PolicyDocument:
    """A policy text with the facts the store indexes (parsed by the caller)."""

    policy_id: str
    title: str
    entity: str
    text: str
    version: str
    effective_from: dt.date
    effective_to: dt.date | None = None
    verified: bool = True  # False: marked 待核 in the text; imported as a draft only


@dataclass(frozen=True, kw_only=True)
class PolicyVersionRecord:
    id: int
    policy_id: str
    version: str
    content_hash: str
    text: str
    effective_from: dt.date
    effective_to: dt.date | None
    status: VersionStatus
    author: str
    reviewer: str | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    published_at: dt.datetime | None
    retired_at: dt.datetime | None
    number: int = 0  # 1, 2, 3 … per policy, in the order the versions were created

    def in_effect(self, when: dt.date) -> bool:
        return self.effective_from <= when and (
            self.effective_to is None or when <= self.effective_to
        )


def content_hash(text: str) -> str:
    """sha256 of the policy text.

    >>> content_hash("id: x")[:12]
    '56a14c9768e2'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class ReviewRecord:
    """One review decision on a version: approved (at once, or for ``publish_on``) or
    rejected (sent back to draft), with the reason the reviewer gave."""

    id: int
    version_id: int
    reviewer: str
    decision: Literal["approved", "rejected"]
    reason: str
    publish_on: dt.date | None
    at: dt.datetime


def _number(session: Session, policy_id: str, version_id: int) -> int:
    return int(session.execute(
        select(func.count()).select_from(policy_versions).where(
            policy_versions.c.policy_id == policy_id, policy_versions.c.id <= version_id)
    ).scalar_one())


def _record(row: Any, *, number: int) -> PolicyVersionRecord:
    return PolicyVersionRecord(**row._asdict(), number=number)


def _one(session: Session, row: Any) -> PolicyVersionRecord:
    return _record(row, number=_number(session, row.policy_id, row.id))


def get_version(session: Session, version_id: int) -> PolicyVersionRecord:
    row = session.execute(select(policy_versions).where(policy_versions.c.id == version_id)).first()
    if row is None:
        raise NotFoundError("policy version", version_id)
    return _one(session, row)


def find_version(session: Session, policy_id: str, version: str) -> PolicyVersionRecord | None:
    row = session.execute(
        select(policy_versions).where(
            policy_versions.c.policy_id == policy_id, policy_versions.c.version == version
        )
    ).first()
    return None if row is None else _one(session, row)


def _ensure_policy(session: Session, doc: PolicyDocument, now: dt.datetime) -> None:
    exists = session.execute(select(policies.c.id).where(policies.c.id == doc.policy_id)).first()
    if exists is None:
        session.execute(
            policies.insert().values(
                id=doc.policy_id, title=doc.title, entity=doc.entity, created_at=now
            )
        )
    else:
        session.execute(
            update(policies).where(policies.c.id == doc.policy_id).values(title=doc.title)
        )


def create_draft(
    session: Session, doc: PolicyDocument, *, author: str, now: dt.datetime | None = None
) -> PolicyVersionRecord:
    """A new draft version of ``doc.policy_id`` (the policy is created if new). A version
    whose text is already stored is returned as it is."""
    now = now or utcnow()
    existing = find_version(session, doc.policy_id, doc.version)
    if existing is not None:
        return existing
    _ensure_policy(session, doc, now)
    new_id = session.execute(
        policy_versions.insert()
        .values(
            policy_id=doc.policy_id,
            version=doc.version,
            content_hash=content_hash(doc.text),
            text=doc.text,
            effective_from=doc.effective_from,
            effective_to=doc.effective_to,
            status="draft",
            author=author,
            created_at=now,
        )
        .returning(policy_versions.c.id)
    ).scalar_one()
    audit.append(
        session,
        actor=author,
        action="policy.draft",
        subject=f"policy:{doc.policy_id}",
        detail={"version": doc.version, "version_id": new_id},
        now=now,
    )
    return get_version(session, int(new_id))


def update_draft(
    session: Session,
    version_id: int,
    doc: PolicyDocument,
    *,
    actor: str,
    now: dt.datetime | None = None,
) -> PolicyVersionRecord:
    """Replace the text of a draft; any other status is immutable."""
    current = get_version(session, version_id)
    if current.status != "draft":
        raise ImmutableVersionError(version_id, current.status)
    now = now or utcnow()
    session.execute(
        update(policy_versions)
        .where(policy_versions.c.id == version_id, policy_versions.c.status == "draft")
        .values(
            version=doc.version,
            content_hash=content_hash(doc.text),
            text=doc.text,
            effective_from=doc.effective_from,
            effective_to=doc.effective_to,
        )
    )
    audit.append(
        session,
        actor=actor,
        action="policy.edit",
        subject=f"policy:{current.policy_id}",
        detail={"version_id": version_id, "version": doc.version},
        now=now,
    )
    return get_version(session, version_id)


def _move(
    session: Session,
    version_id: int,
    to: VersionStatus,
    *,
    actor: str,
    now: dt.datetime,
    values: dict[str, Any],
    detail: dict[str, Any] | None = None,
) -> PolicyVersionRecord:
    current = get_version(session, version_id)
    if to not in TRANSITIONS[current.status]:
        raise TransitionError("policy version", version_id, current.status, to)
    result = session.execute(
        update(policy_versions)
        .where(policy_versions.c.id == version_id, policy_versions.c.status == current.status)
        .values(status=to, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TransitionError("policy version", version_id, current.status, to)
    audit.append(
        session,
        actor=actor,
        action=f"policy.{to}",
        subject=f"policy:{current.policy_id}",
        detail={"version_id": version_id, "version": current.version, **(detail or {})},
        now=now,
    )
    return get_version(session, version_id)


def submit(
    session: Session, version_id: int, *, actor: str, verified: bool = True,
    now: dt.datetime | None = None,
) -> PolicyVersionRecord:
    """Send a draft for review. The audit entry records the content hash submitted: what is
    published later must still be that text. ``verified`` is what the caller read in the text
    (the store does not parse it): a draft marked 待核 is refused
    (:class:`store.errors.UnverifiedPolicyError`)."""
    now = now or utcnow()
    current = get_version(session, version_id)
    if not verified:
        raise UnverifiedPolicyError(current.policy_id, version_id)
    return _move(
        session, version_id, "in_review", actor=actor, now=now, values={"submitted_at": now},
        detail={"content_hash": current.content_hash}
    )


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise ValueError("a review decision needs a reason; got an empty one")


def _record_review(
    session: Session,
    version_id: int,
    *,
    reviewer: str,
    decision: str,
    reason: str,
    publish_on: dt.date | None,
    now: dt.datetime,
) -> None:
    _require_reason(reason)
    session.execute(policy_reviews.insert().values(
        version_id=version_id, reviewer=reviewer, decision=decision, reason=reason.strip(),
        publish_on=publish_on, at=now))


def reviews(session: Session, version_id: int) -> list[ReviewRecord]:
    """Every review decision on a version, oldest first."""
    rows = session.execute(select(policy_reviews).where(policy_reviews.c.version_id == version_id)
                           .order_by(policy_reviews.c.id))
    return [ReviewRecord(**r._asdict()) for r in rows]


def last_reviews(session: Session, version_ids: Sequence[int]) -> dict[int, ReviewRecord]:
    """The newest review decision of each of ``version_ids`` that has one."""
    out: dict[int, ReviewRecord] = {}
    if not version_ids:
        return out
    rows = session.execute(select(policy_reviews).where(
        policy_reviews.c.version_id.in_(list(version_ids))).order_by(policy_reviews.c.id))
    for r in rows:
        out[int(r.version_id)] = ReviewRecord(**r._asdict())
    return out


def writers(session: Session, version_id: int) -> frozenset[str]:
    """Everyone who wrote the version: its author and each user who edited the draft."""
    current = get_version(session, version_id)
    edits = {
        e.actor for e in audit.entries(session, subject=f"policy:{current.policy_id}")
        if e.action == "policy.edit" and e.detail.get("version_id") == version_id
    }
    return frozenset({current.author, *edits})


def reject(
    session: Session,
    version_id: int,
    *,
    reviewer: str,
    reason: str,
    now: dt.datetime | None = None,
) -> PolicyVersionRecord:
    """Send a version under review back to draft, with the reviewer's reason."""
    _require_reason(reason)
    now = now or utcnow()
    moved = _move(
        session,
        version_id,
        "draft",
        actor=reviewer,
        now=now,
        values={"submitted_at": None},
        detail={"reason": reason},
    )
    _record_review(session, version_id, reviewer=reviewer, decision="rejected", reason=reason,
                   publish_on=None, now=now)
    return moved


def _go_live(session: Session, version: PolicyVersionRecord, *, actor: str, reviewer: str,
             now: dt.datetime, detail: dict[str, Any] | None = None) -> PolicyVersionRecord:
    from store.policy_integrity import verify_as_submitted

    verify_as_submitted(session, version)  # never publish a text changed since submission
    for older in published_versions(session, policy_id=version.policy_id):
        _move(
            session,
            older.id,
            "retired",
            actor=actor,
            now=now,
            values={"retired_at": now},
            detail={"superseded_by": version.id, "content_hash": older.content_hash},
        )
    return _move(
        session,
        version.id,
        "published",
        actor=actor,
        now=now,
        values={"reviewer": reviewer, "published_at": now},
        detail={**(detail or {}), "content_hash": version.content_hash},
    )


def publish(
    session: Session,
    version_id: int,
    *,
    reviewer: str,
    reason: str | None = None,
    publish_on: dt.date | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> PolicyVersionRecord:
    """Approve a version under review, with the reviewer's reason. It is published at once
    (the previously published version of the same policy is retired), or, when
    ``publish_on`` is after ``today``, scheduled for that day (:func:`publish_due`).

    The reviewer must be another person than each of its :func:`writers`
    (:class:`~store.errors.FourEyesError` otherwise)."""
    if reason is not None:
        _require_reason(reason)
    now = now or utcnow()
    today = today or now.date()
    current = get_version(session, version_id)
    if reviewer == current.author:
        raise FourEyesError(version_id, reviewer)
    if reviewer in writers(session, version_id):
        raise FourEyesError(version_id, reviewer, role="editor")
    if current.status != "in_review":
        raise TransitionError("policy version", version_id, current.status, "published")
    if reason is not None:
        _record_review(session, version_id, reviewer=reviewer, decision="approved",
                       reason=reason, publish_on=publish_on, now=now)
    if publish_on is not None and publish_on > today:
        return _move(session, version_id, "scheduled", actor=reviewer, now=now,
                     values={"reviewer": reviewer},
                     detail={"publish_on": publish_on.isoformat()})
    return _go_live(session, current, actor=reviewer, reviewer=reviewer, now=now)


def approve(
    session: Session,
    version_id: int,
    *,
    reviewer: str,
    reason: str | None = None,
    publish_on: dt.date | None = None,
    now: dt.datetime | None = None,
) -> PolicyVersionRecord:
    """Approval publishes: the same step as :func:`publish` (four eyes enforced)."""
    return publish(session, version_id, reviewer=reviewer, reason=reason,
                   publish_on=publish_on, now=now)


def publish_due(
    session: Session, *, today: dt.date, now: dt.datetime | None = None
) -> list[PolicyVersionRecord]:
    """Publish every scheduled version whose day has come (oldest approval first); returns
    the versions published. Run by the nightly job before it reads the published rules."""
    now = now or utcnow()
    scheduled = [v for v in list_versions(session) if v.status == "scheduled"]
    approvals = last_reviews(session, [v.id for v in scheduled])
    due = sorted(
        (v for v in scheduled
         if v.id in approvals and (approvals[v.id].publish_on or today) <= today),
        key=lambda v: approvals[v.id].at,
    )
    out = []
    for v in due:
        approval = approvals[v.id]
        out.append(_go_live(session, v, actor=SYSTEM_USER, reviewer=approval.reviewer, now=now,
                            detail={"scheduled_for": str(approval.publish_on),
                                    "approved_by": approval.reviewer}))
    return out


def scheduled_for(session: Session, version_id: int) -> dt.date | None:
    """The day a scheduled version goes live, or None when it is not scheduled."""
    if get_version(session, version_id).status != "scheduled":
        return None
    last = last_reviews(session, [version_id]).get(version_id)
    return last.publish_on if last else None


def retire(
    session: Session,
    version_id: int,
    *,
    reviewer: str,
    requested_by: str,
    reason: str,
    now: dt.datetime | None = None,
) -> PolicyVersionRecord:
    """Retire a published version on ``requested_by``'s request, approved by ``reviewer``,
    who must be another person (:class:`FourEyesError`, role ``requester``). Called by
    :func:`store.retirements.approve`, which keeps the request."""
    if reviewer == requested_by:
        raise FourEyesError(version_id, reviewer, role="requester")
    now = now or utcnow()
    current = get_version(session, version_id)
    return _move(
        session, version_id, "retired", actor=reviewer, now=now, values={"retired_at": now},
        detail={"requested_by": requested_by, "reason": reason,
                "content_hash": current.content_hash},
    )


def published_versions(
    session: Session,
    *,
    policy_id: str | None = None,
    entity: str | None = None,
    as_of: dt.date | None = None,
) -> list[PolicyVersionRecord]:
    """Published versions, optionally of one policy or entity and in effect on ``as_of``."""
    stmt = select(policy_versions).where(policy_versions.c.status == "published")
    if policy_id is not None:
        stmt = stmt.where(policy_versions.c.policy_id == policy_id)
    if entity is not None:
        stmt = stmt.join(policies, policies.c.id == policy_versions.c.policy_id).where(
            policies.c.entity == entity
        )
    out = [_one(session, r) for r in session.execute(stmt.order_by(policy_versions.c.policy_id))]
    return [v for v in out if as_of is None or v.in_effect(as_of)]


def list_versions(session: Session, *, policy_id: str | None = None) -> list[PolicyVersionRecord]:
    """Versions (of one policy, or all), by policy and then in the order created."""
    stmt = select(policy_versions).order_by(policy_versions.c.policy_id, policy_versions.c.id)
    if policy_id is not None:
        stmt = stmt.where(policy_versions.c.policy_id == policy_id)
    out: list[PolicyVersionRecord] = []
    counts: dict[str, int] = {}
    for r in session.execute(stmt):
        counts[r.policy_id] = counts.get(r.policy_id, 0) + 1
        out.append(_record(r, number=counts[r.policy_id]))
    return out


def import_for_review(
    session: Session,
    docs: Sequence[PolicyDocument],
    *,
    author: str,
    source: str,
    now: dt.datetime | None = None,
) -> list[PolicyVersionRecord]:
    """Import ``docs`` as versions under review, written by ``author`` (who therefore cannot
    approve them): each becomes a draft and is submitted at once, except a draft marked 待核
    (``verified`` False), which stays a draft until its text is verified; a version already
    stored (same policy and version) is skipped. Nothing is published here: a reviewer approves
    each one (:func:`publish`). Returns the versions created (in review, or draft)."""
    now = now or utcnow()
    created = []
    for doc in docs:
        if find_version(session, doc.policy_id, doc.version) is not None:
            continue
        draft = create_draft(session, doc, author=author, now=now)
        audit.append(
            session,
            actor=author,
            action="policy.import",
            subject=f"policy:{doc.policy_id}",
            detail={"version_id": draft.id, "version": doc.version, "source": source,
                    "content_hash": draft.content_hash, "verified": doc.verified},
            now=now,
        )
        created.append(submit(session, draft.id, actor=author, verified=True, now=now)
                       if doc.verified else draft)
    return created
