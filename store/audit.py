"""The audit log: append-only, each entry hashing the one before it.

``hash = sha256(prev_hash + canonical JSON of (seq, at, actor, action, subject, detail))``.
:func:`verify` walks the chain and reports edited rows (hash mismatch), deleted rows (a gap
in ``seq`` or a ``prev_hash`` that no longer matches) and reordered rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from store.schema import audit_head, audit_log
from store.types import utcnow

GENESIS = "0" * 64
ProblemKind = Literal["edited", "missing", "chain_broken"]


@dataclass(frozen=True, kw_only=True)
class AuditEntry:
    seq: int
    at: dt.datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One defect of the chain, at entry ``seq``."""

    seq: int
    kind: ProblemKind
    message: str


def canonical_json(value: object) -> str:
    """JSON with sorted keys and no spaces: the form that is hashed.

    >>> canonical_json({"b": 1, "a": "甲"})
    '{"a":"甲","b":1}'
    """
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    detail: str,
) -> str:
    body = canonical_json(
        {
            "seq": seq,
            "at": at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "detail": detail,
        }
    )
    return hashlib.sha256((prev_hash + body).encode("utf-8")).hexdigest()


def _serialise_appends(session: Session) -> None:
    # On PostgreSQL two transactions could read the same head; a transaction-scoped advisory
    # lock makes appends take turns. SQLite transactions already hold the write lock.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(4242002)"))


def append(
    session: Session,
    *,
    actor: str,
    action: str,
    subject: str,
    detail: Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction."""
    _serialise_appends(session)
    at = (now or utcnow()).astimezone(dt.UTC)
    head = session.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (1, GENESIS) if head is None else (int(head[0]) + 1, str(head[1]))
    detail_json = canonical_json(dict(detail or {}))
    digest = entry_hash(
        prev_hash=prev_hash,
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=detail_json,
    )
    _move_head(session, seq=seq, digest=digest)
    session.execute(
        audit_log.insert().values(
            seq=seq,
            at=at,
            actor=actor,
            action=action,
            subject=subject,
            detail=detail_json,
            prev_hash=prev_hash,
            hash=digest,
        )
    )
    return AuditEntry(
        seq=seq,
        at=at,
        actor=actor,
        action=action,
        subject=subject,
        detail=json.loads(detail_json),
        prev_hash=prev_hash,
        hash=digest,
    )


def _move_head(session: Session, *, seq: int, digest: str) -> None:
    moved = session.execute(
        update(audit_head).where(audit_head.c.name == "main").values(seq=seq, hash=digest)
    )
    if moved.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(audit_head.insert().values(name="main", seq=seq, hash=digest))


def head(session: Session) -> tuple[int, str] | None:
    """(seq, hash) of the newest entry as recorded at append time; anchor it elsewhere."""
    row = session.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def entries(
    session: Session, *, subject: str | None = None, limit: int | None = None
) -> list[AuditEntry]:
    stmt = select(audit_log).order_by(audit_log.c.seq)
    if subject is not None:
        stmt = stmt.where(audit_log.c.subject == subject)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [
        AuditEntry(
            seq=r.seq,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            detail=json.loads(r.detail),
            prev_hash=r.prev_hash,
            hash=r.hash,
        )
        for r in session.execute(stmt)
    ]


def verify(session: Session, *, batch_size: int = 10_000) -> list[Problem]:
    """Every defect of the chain, and a head that points past its end (the newest entries
    deleted); an empty list means intact."""
    problems: list[Problem] = []
    expected_seq, prev_hash = 1, GENESIS
    result = session.execute(
        select(audit_log).order_by(audit_log.c.seq).execution_options(yield_per=batch_size)
    )
    for r in result:
        seq = int(r.seq)
        if seq != expected_seq:
            problems.append(
                Problem(
                    seq=seq,
                    kind="missing",
                    message=f"entries {expected_seq}..{seq - 1} are missing before entry {seq}",
                )
            )
        if r.prev_hash != prev_hash:
            problems.append(
                Problem(
                    seq=seq,
                    kind="chain_broken",
                    message=f"entry {seq} does not follow the entry before it "
                    "(prev_hash differs: deleted, reordered or edited predecessor)",
                )
            )
        recomputed = entry_hash(
            prev_hash=r.prev_hash,
            seq=seq,
            at=r.at,
            actor=r.actor,
            action=r.action,
            subject=r.subject,
            detail=r.detail,
        )
        if recomputed != r.hash:
            problems.append(
                Problem(seq=seq, kind="edited", message=f"entry {seq} was changed after writing")
            )
        expected_seq, prev_hash = seq + 1, r.hash
    recorded = head(session)
    last_seq = expected_seq - 1
    if recorded is not None and recorded[0] > last_seq:
        problems.append(
            Problem(
                seq=recorded[0],
                kind="missing",
                message=f"entries {last_seq + 1}..{recorded[0]} at the end of the log are missing",
            )
        )
    elif recorded is not None and recorded != (last_seq, prev_hash):
        problems.append(
            Problem(
                seq=last_seq,
                kind="chain_broken",
                message=f"the newest entry {last_seq} is not the recorded head {recorded[0]}",
            )
        )
    return problems
