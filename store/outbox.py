"""The notification outbox: messages written in the same transaction as the change that
causes them, then claimed by workers with leases so a crashed worker loses nothing.

Life cycle: ``queued`` -> (claim) ``sending`` -> ``sent``; a failure goes back to ``queued``
with a retry time, or to ``dead`` when there is none; ``requeue`` revives a dead letter.
Each message has an idempotency key: enqueueing the same key twice is a no-op, so reruns
and retries never deliver twice.

A message's items (the changes it tells, each with its text, link and pre-filled application)
are stored once each in ``message_items``, named by a hash of their content (so the same
item on several channels is one row, and a change told again later with a fresh link is
another); the stored payload names them (``item_refs``, in place of ``items`` and
``item_keys``). Every record read back through this module has its payload again exactly as
it was enqueued.

Claiming is one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED)`` on PostgreSQL;
SQLite ignores the row lock but every transaction there holds the write lock
(``BEGIN IMMEDIATE``), and the outer ``UPDATE`` repeats the guard.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import and_, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session

from store.db import compact_json
from store.errors import LeaseError, NotFoundError, TransitionError
from store.schema import message_items, message_keys, outbox
from store.staged_insert import existing, insert_ignoring_duplicates
from store.types import utcnow

OutboxStatus = Literal["queued", "sending", "sent", "dead"]


@dataclass(frozen=True, kw_only=True)
class OutboxMessage:
    """A message to enqueue. ``payload`` must be JSON-serialisable."""

    idempotency_key: str
    recipient_kind: str
    recipient_id: str
    channel: str
    kind: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    not_before: dt.datetime | None = None
    item_keys: tuple[str, ...] = ()  # the (change, channel) keys it carries


@dataclass(frozen=True, kw_only=True)
class OutboxRecord:
    id: int
    idempotency_key: str
    recipient_kind: str
    recipient_id: str
    channel: str
    kind: str
    payload: dict[str, Any]
    status: OutboxStatus
    attempts: int
    next_attempt_at: dt.datetime
    lease_owner: str | None
    lease_until: dt.datetime | None
    last_error: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    provider_receipt: str | None


def _record(row: Row[Any]) -> OutboxRecord:
    return OutboxRecord(**row._asdict())


def _records(session: Session, rows: Iterable[Row[Any]]) -> list[OutboxRecord]:
    records = [_record(r) for r in rows]
    attach_items(session, [r.payload for r in records])
    return records


def item_ref(item: Mapping[str, Any]) -> str:
    """The name an item is stored under: a hash of its JSON as stored (the planner builds
    equal items with their keys in the same order, so they hash the same)."""
    return hashlib.sha256(compact_json(item).encode()).hexdigest()[:40]


def attach_items(session: Session, payloads: Sequence[dict[str, Any]]) -> None:
    """Put each stored payload's items back (``items``, in ``item_refs`` order), read in one
    query per thousand refs. A payload that holds its own items (enqueued before items were
    stored apart, or not in the planner's form) is left as it is."""
    wanted = {str(r) for p in payloads if "items" not in p for r in p.get("item_refs") or ()}
    if not wanted:
        return
    found: dict[str, Any] = {}
    ordered = sorted(wanted)
    for start in range(0, len(ordered), 1000):
        chunk = ordered[start : start + 1000]
        found.update((r, v) for r, v in session.execute(
            select(message_items.c.ref, message_items.c.payload)
            .where(message_items.c.ref.in_(chunk))))
    for payload in payloads:
        if "items" not in payload and "item_refs" in payload:
            payload["items"] = [found[str(r)] for r in payload.pop("item_refs")]
            payload["item_keys"] = [i["key"] for i in payload["items"]]


def told_policies(session: Session) -> Iterator[tuple[str, str, str, str, set[str]]]:
    """(recipient kind, recipient id, channel, status, the policies its items tell) for every
    message, read without putting the items back: an item's policy comes from
    ``message_items.policy_id`` (a message enqueued before items were stored apart: from its
    own items)."""
    policy_of = {str(r): str(p) for r, p in session.execute(
        select(message_items.c.ref, message_items.c.policy_id))}
    o = outbox.c
    for kind, rid, channel, status, payload in session.execute(
            select(o.recipient_kind, o.recipient_id, o.channel, o.status, o.payload)):
        payload = payload or {}
        if "items" in payload:
            told = {str(i.get("policy_id")) for i in payload["items"] if isinstance(i, Mapping)}
        else:
            told = {policy_of[str(r)] for r in payload.get("item_refs") or ()
                    if str(r) in policy_of}
        yield str(kind), str(rid), str(channel), str(status), told


def _split_items(
    payload: Mapping[str, Any], refs: dict[int, tuple[Mapping[str, Any], str]]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The payload to store and its items to store apart, by ref: a payload whose
    ``item_keys`` name its ``items`` (the planner's form) keeps only their refs
    (``item_refs``; the keys are the items' own); any other is stored whole. ``refs``
    remembers the ref of each item object seen (the planner gives every channel's message
    the same item objects), so each is hashed once."""
    stored = dict(payload)
    items = stored.get("items")
    if not isinstance(items, list | tuple) or not all(isinstance(i, Mapping) for i in items):
        return stored, {}
    if [i.get("key") for i in items] != list(stored.get("item_keys") or ()) or not items:
        return stored, {}
    del stored["items"], stored["item_keys"]
    apart = {}
    for i in items:
        seen = refs.get(id(i))
        if seen is None or seen[0] is not i:
            seen = refs[id(i)] = (i, item_ref(i))
        apart[seen[1]] = dict(i)
    stored["item_refs"] = list(apart)
    return stored, apart


def known_item_keys(session: Session, keys: Iterable[str]) -> set[str]:
    """Those of ``keys`` (change + channel) that some enqueued message already carries: a
    digest names them in ``message_keys``; a message of one change is keyed by it."""
    wanted = list(keys)
    return (existing(session, message_keys, "key", wanted)
            | existing(session, outbox, "idempotency_key", wanted))


def enqueue(
    session: Session, messages: Iterable[OutboxMessage], *, now: dt.datetime | None = None
) -> int:
    """Add messages in the caller's transaction; returns how many were new (a key already
    present, or repeated in ``messages``, is skipped)."""
    now = now or utcnow()
    rows: dict[str, dict[str, Any]] = {}
    carried: dict[str, tuple[str, ...]] = {}
    items: dict[str, dict[str, dict[str, Any]]] = {}
    refs: dict[int, tuple[Mapping[str, Any], str]] = {}
    for m in messages:
        if m.idempotency_key in rows:
            continue
        carried[m.idempotency_key] = m.item_keys
        payload, items[m.idempotency_key] = _split_items(m.payload, refs)
        rows[m.idempotency_key] = {
            "idempotency_key": m.idempotency_key,
            "recipient_kind": m.recipient_kind,
            "recipient_id": m.recipient_id,
            "channel": m.channel,
            "kind": m.kind,
            "payload": payload,
            "status": "queued",
            "attempts": 0,
            "next_attempt_at": m.not_before or now,
            "created_at": now,
        }
    if not rows:
        return 0
    new = insert_ignoring_duplicates(session, outbox, list(rows.values()),
                                     key="idempotency_key", returning=("id", "idempotency_key"))
    # the changes each new message carries, but for a message keyed by the one it carries
    keys = [{"key": k, "outbox_id": outbox_id}
            for outbox_id, idempotency_key in new for k in carried.get(idempotency_key, ())
            if k != idempotency_key]
    insert_ignoring_duplicates(session, message_keys, keys, key="key")
    # the items of the new messages, each once
    item_rows = {ref: {"ref": ref, "policy_id": str(i.get("policy_id") or ""), "payload": i}
                 for _, idempotency_key in new
                 for ref, i in items.get(idempotency_key, {}).items()}
    insert_ignoring_duplicates(session, message_items, list(item_rows.values()), key="ref")
    inserted = len(new)
    return inserted


def claim(
    session: Session, *, worker: str, limit: int, lease_seconds: float, now: dt.datetime
) -> list[OutboxRecord]:
    """Lease up to ``limit`` messages that are due (queued with ``next_attempt_at <= now``,
    or sending with an expired lease) to ``worker`` until ``now + lease_seconds``.
    Each claim counts as one attempt."""
    due = or_(
        and_(outbox.c.status == "queued", outbox.c.next_attempt_at <= now),
        and_(outbox.c.status == "sending", outbox.c.lease_until < now),
    )
    candidates = (
        select(outbox.c.id)
        .where(due)
        .order_by(outbox.c.next_attempt_at, outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    # Two statements, not ``IN (subquery)``: PostgreSQL may re-run a LIMITed subquery
    # inside an UPDATE and claim more than ``limit`` rows.
    ids = list(session.execute(candidates).scalars())
    if not ids:
        return []
    stmt = (
        update(outbox)
        .where(outbox.c.id.in_(ids), due)
        .values(
            status="sending",
            lease_owner=worker,
            lease_until=now + dt.timedelta(seconds=lease_seconds),
            attempts=outbox.c.attempts + 1,
        )
        .returning(*outbox.c)
    )
    records = _records(session, session.execute(stmt))
    return sorted(records, key=lambda r: (r.next_attempt_at, r.id))


def _settle(session: Session, message_id: int, worker: str, values: dict[str, Any]) -> None:
    result = session.execute(
        update(outbox)
        .where(
            outbox.c.id == message_id,
            outbox.c.status == "sending",
            outbox.c.lease_owner == worker,
        )
        .values(lease_owner=None, lease_until=None, **values)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        get(session, message_id)  # raises NotFoundError for an unknown id
        raise LeaseError(message_id, worker)


def mark_sent(
    session: Session,
    message_id: int,
    *,
    worker: str,
    now: dt.datetime,
    receipt: str | None = None,
) -> None:
    """Record a successful delivery by the worker holding the lease."""
    _settle(
        session,
        message_id,
        worker,
        {"status": "sent", "sent_at": now, "provider_receipt": receipt, "last_error": None},
    )


def mark_failed(
    session: Session,
    message_id: int,
    *,
    worker: str,
    now: dt.datetime,
    error: str,
    retry_at: dt.datetime | None,
) -> None:
    """Record a failed attempt: retry at ``retry_at``, or dead-letter when it is None."""
    values: dict[str, Any] = {"last_error": error[:2000]}
    if retry_at is None:
        values["status"] = "dead"
    else:
        values.update(status="queued", next_attempt_at=max(retry_at, now))
    _settle(session, message_id, worker, values)


def defer(
    session: Session,
    message_id: int,
    *,
    worker: str,
    now: dt.datetime,
    until: dt.datetime,
    reason: str,
) -> None:
    """Put a claimed message back in the queue, due at ``until``, without counting the
    claim as an attempt: quiet hours and daily caps postpone a message, they never use up
    its retries."""
    _settle(
        session,
        message_id,
        worker,
        {
            "status": "queued",
            "next_attempt_at": max(until, now),
            "attempts": outbox.c.attempts - 1,
            "last_error": f"deferred: {reason}"[:2000],
        },
    )


def get(session: Session, message_id: int) -> OutboxRecord:
    row = session.execute(select(outbox).where(outbox.c.id == message_id)).first()
    if row is None:
        raise NotFoundError("outbox message", message_id)
    return _records(session, [row])[0]


def by_key(session: Session, idempotency_key: str) -> OutboxRecord | None:
    row = session.execute(select(outbox).where(outbox.c.idempotency_key == idempotency_key)).first()
    return None if row is None else _records(session, [row])[0]


def list_messages(
    session: Session, *, status: OutboxStatus | None = None, limit: int | None = None
) -> list[OutboxRecord]:
    stmt = select(outbox).order_by(outbox.c.id)
    if status is not None:
        stmt = stmt.where(outbox.c.status == status)
    if limit is not None:
        stmt = stmt.limit(limit)
    return _records(session, session.execute(stmt))


def dead_letters(session: Session) -> list[OutboxRecord]:
    return list_messages(session, status="dead")


def requeue(session: Session, message_id: int, *, now: dt.datetime | None = None) -> None:
    """Put a dead letter back in the queue, due now."""
    result = session.execute(
        update(outbox)
        .where(outbox.c.id == message_id, outbox.c.status == "dead")
        .values(status="queued", next_attempt_at=now or utcnow(), last_error=None)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        record = get(session, message_id)
        raise TransitionError("outbox message", message_id, record.status, "queued")


def counts(session: Session) -> dict[str, int]:
    """Messages per status."""
    from sqlalchemy import func

    rows = session.execute(select(outbox.c.status, func.count()).group_by(outbox.c.status))
    return {str(status): int(n) for status, n in rows}
