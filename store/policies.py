"""Policies and their versions, with the review workflow.

A version moves ``draft -> in_review -> published -> retired`` (a reviewer may also send it
back: ``in_review -> draft``). The reviewer who publishes must not be its author (四眼原则),
and retiring a published version takes two people as well (:mod:`store.retirements`).
A version that left ``draft`` is immutable: its text and content hash never change, and the
database itself refuses such a change (triggers of migration 0004). Every step writes an
audit entry in the same transaction; the keyed entries of publishing and retiring carry the
version's content hash, which is what :mod:`store.policy_integrity` checks the stored
versions against before a run uses them. Nothing is ever imported as published: an import
creates versions awaiting review (:func:`import_for_review`).

The store does not parse policy YAML; callers pass the parsed id, title, entity, effective
period and version alongside the text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store import audit
from store.errors import FourEyesError, ImmutableVersionError, NotFoundError, TransitionError
from store.schema import policies, policy_versions
from store.types import utcnow

VersionStatus = Literal["draft", "in_review", "published", "retired"]
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"in_review"}),
    "in_review": frozenset({"published", "draft"}),
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


def _record(row: Any) -> PolicyVersionRecord:
    return PolicyVersionRecord(**row._asdict())


def get_version(session: Session, version_id: int) -> PolicyVersionRecord:
    row = session.execute(select(policy_versions).where(policy_versions.c.id == version_id)).first()
    if row is None:
        raise NotFoundError("policy version", version_id)
    return _record(row)


def find_version(session: Session, policy_id: str, version: str) -> PolicyVersionRecord | None:
    row = session.execute(
        select(policy_versions).where(
            policy_versions.c.policy_id == policy_id, policy_versions.c.version == version
        )
    ).first()
    return None if row is None else _record(row)


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
    session: Session, version_id: int, *, actor: str, now: dt.datetime | None = None
) -> PolicyVersionRecord:
    """Send a draft for review."""
    now = now or utcnow()
    return _move(
        session, version_id, "in_review", actor=actor, now=now, values={"submitted_at": now}
    )


def reject(
    session: Session,
    version_id: int,
    *,
    reviewer: str,
    reason: str,
    now: dt.datetime | None = None,
) -> PolicyVersionRecord:
    """Send a version under review back to draft, with the reviewer's reason."""
    return _move(
        session,
        version_id,
        "draft",
        actor=reviewer,
        now=now or utcnow(),
        values={"submitted_at": None},
        detail={"reason": reason},
    )


def publish(
    session: Session, version_id: int, *, reviewer: str, now: dt.datetime | None = None
) -> PolicyVersionRecord:
    """Approve and publish a version under review; the previously published version of the
    same policy is retired. The reviewer must not be the author."""
    now = now or utcnow()
    current = get_version(session, version_id)
    if reviewer == current.author:
        raise FourEyesError(version_id, reviewer)
    for older in published_versions(session, policy_id=current.policy_id):
        _move(
            session,
            older.id,
            "retired",
            actor=reviewer,
            now=now,
            values={"retired_at": now},
            detail={"superseded_by": version_id, "content_hash": older.content_hash},
        )
    return _move(
        session,
        version_id,
        "published",
        actor=reviewer,
        now=now,
        values={"reviewer": reviewer, "published_at": now},
        detail={"content_hash": current.content_hash},
    )


def approve(
    session: Session, version_id: int, *, reviewer: str, now: dt.datetime | None = None
) -> PolicyVersionRecord:
    """Approval publishes: the same step as :func:`publish` (four eyes enforced)."""
    return publish(session, version_id, reviewer=reviewer, now=now)


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
    who must be someone else (:class:`FourEyesError`). Called by
    :func:`store.retirements.approve`, which keeps the request."""
    if reviewer == requested_by:
        raise FourEyesError(version_id, reviewer, step="retire")
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
    out = [_record(r) for r in session.execute(stmt.order_by(policy_versions.c.policy_id))]
    return [v for v in out if as_of is None or v.in_effect(as_of)]


def list_versions(session: Session, *, policy_id: str | None = None) -> list[PolicyVersionRecord]:
    stmt = select(policy_versions).order_by(policy_versions.c.policy_id, policy_versions.c.id)
    if policy_id is not None:
        stmt = stmt.where(policy_versions.c.policy_id == policy_id)
    return [_record(r) for r in session.execute(stmt)]


def import_for_review(
    session: Session,
    docs: Sequence[PolicyDocument],
    *,
    author: str,
    source: str,
    now: dt.datetime | None = None,
) -> list[PolicyVersionRecord]:
    """Import ``docs`` as versions under review, written by ``author`` (who therefore cannot
    approve them): each becomes a draft and is submitted at once; a version already stored
    (same policy and version) is skipped. Nothing is published here: a reviewer approves each
    one (:func:`publish`). Returns the versions created."""
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
                    "content_hash": draft.content_hash},
            now=now,
        )
        created.append(submit(session, draft.id, actor=author, now=now))
    return created
