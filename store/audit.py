"""The audit log: append-only, each entry keyed-hashing the one before it.

``hash = HMAC-SHA256(key, prev_hash + canonical JSON of (seq, at, actor, action, subject,
detail))``. The key is not in the database: it comes with the engine's :class:`AuditSeal`
(``store.db.make_engine(..., audit_seal=...)``), together with the sink that receives every
committed head outside the database (:mod:`store.audit_heads`). Whoever can write to the
database but holds neither the key nor the sink can edit, delete, reorder, truncate, empty
or rewrite the log, and :func:`verify` says so:

- an edited entry no longer matches its HMAC; a deleted or reordered one breaks ``seq`` or
  ``prev_hash``; a chain recomputed without the key fails every HMAC;
- a truncated or emptied log (its in-database head moved along) no longer reaches a head
  exported earlier, and a rewritten one no longer contains it.

Entries written before the chain was keyed (``scheme = 'sha256'``) are plain hashes; they are
accepted only before the first keyed entry, whose HMAC covers their hash.

>>> import tempfile, pathlib
>>> from store.audit_heads import HeadFile
>>> from store.db import make_engine, transaction
>>> from store.schema import metadata
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> seal = AuditSeal(key=b"k" * 32, heads=HeadFile(folder / "heads.log"))
>>> engine = make_engine(f"sqlite:///{folder / 'a.db'}", audit_seal=seal)
>>> metadata.create_all(engine)
>>> with transaction(engine) as s:
...     _ = append(s, actor="officer", action="policy.draft", subject="policy:p")
>>> with transaction(engine) as s:
...     verify(s)
[]
>>> [h.seq for h in seal.heads.exported()]
[1]
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, Engine, event, select, text, update
from sqlalchemy.orm import Session

from store.audit_heads import ExportedHead, HeadFileDamaged, HeadSink
from store.errors import StoreError
from store.schema import audit_head, audit_log
from store.types import utcnow

GENESIS = "0" * 64
SCHEME_LEGACY = "sha256"
SCHEME_KEYED = "hmac-sha256"
SEAL_OPTION = "mianshen_audit_seal"
ProblemKind = Literal[
    "edited", "missing", "chain_broken", "unkeyed", "truncated", "rewritten", "head_file"
]
log = logging.getLogger("mianshen.audit")


@dataclass(frozen=True)
class AuditSeal:
    """The key of the chain and where its heads are exported: both outside the database."""

    key: bytes
    heads: HeadSink

    def __post_init__(self) -> None:
        if len(self.key) < 32:
            raise ValueError(f"expected an audit key of at least 32 bytes, got {len(self.key)}")

    def __repr__(self) -> str:  # never print the key
        return f"AuditSeal(key=<{len(self.key)} bytes>, heads={self.heads!r})"


class AuditKeyMissingError(StoreError):
    """The engine carries no :class:`AuditSeal`: entries cannot be keyed or checked."""

    def __init__(self) -> None:
        super().__init__(
            "the audit log needs its key: build the engine with "
            "store.db.make_engine(url, audit_seal=AuditSeal(...)) (api.storage.open_engine "
            "does it from the settings)"
        )


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
    scheme: str = SCHEME_KEYED


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


def seal_of(bind: Session | Connection | Engine) -> AuditSeal:
    """The seal the engine behind ``bind`` was built with; :class:`AuditKeyMissingError`
    when it has none."""
    target = bind.get_bind() if isinstance(bind, Session) else bind
    seal = target.get_execution_options().get(SEAL_OPTION)
    if not isinstance(seal, AuditSeal):
        raise AuditKeyMissingError()
    return seal


def entry_hash(
    *,
    prev_hash: str,
    seq: int,
    at: dt.datetime,
    actor: str,
    action: str,
    subject: str,
    detail: str,
    key: bytes | None,
) -> str:
    """HMAC-SHA256 of the entry with ``key``; plain SHA-256 for a legacy entry
    (``key=None``)."""
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
    message = (prev_hash + body).encode("utf-8")
    if key is None:
        return hashlib.sha256(message).hexdigest()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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
    """Append one keyed entry in the caller's transaction; its head is exported once the
    transaction commits."""
    seal = seal_of(session)
    _serialise_appends(session)
    at = (now or utcnow()).astimezone(dt.UTC)
    head_row = session.execute(
        select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (1, GENESIS) if head_row is None else (int(head_row[0]) + 1, str(head_row[1]))
    detail_json = canonical_json(dict(detail or {}))
    digest = entry_hash(
        prev_hash=prev_hash, seq=seq, at=at, actor=actor, action=action, subject=subject,
        detail=detail_json, key=seal.key,
    )
    _move_head(session, seq=seq, digest=digest)
    session.execute(
        audit_log.insert().values(
            seq=seq, at=at, actor=actor, action=action, subject=subject, detail=detail_json,
            prev_hash=prev_hash, hash=digest, scheme=SCHEME_KEYED,
        )
    )
    _export_on_commit(session, seal, seq=seq, digest=digest)
    return AuditEntry(
        seq=seq, at=at, actor=actor, action=action, subject=subject,
        detail=json.loads(detail_json), prev_hash=prev_hash, hash=digest,
    )


# ---- exporting the head after commit ----------------------------------------------------

_PENDING = "mianshen_audit_pending_head"
_HOOKED = "mianshen_audit_hooked"


def _export_on_commit(session: Session, seal: AuditSeal, *, seq: int, digest: str) -> None:
    if not session.info.get(_HOOKED):
        event.listen(session, "after_commit", _export_pending)
        event.listen(session, "after_soft_rollback", _forget_pending)
        session.info[_HOOKED] = True
    session.info[_PENDING] = (seal, seq, digest)


def _export_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    seal, seq, digest = pending
    try:
        seal.heads.export(seq=seq, digest=digest)
    except OSError:
        # The entries are committed; the exported head lags until the next commit. Loud,
        # because until then the newest entries rely on the key alone.
        log.error("audit head export failed", extra={"seq": seq}, exc_info=True)


def _forget_pending(session: Session, _previous: object) -> None:
    # A rolled-back (sub)transaction may have removed the pending entry: export nothing
    # rather than a head that was never committed.
    session.info.pop(_PENDING, None)


def _move_head(session: Session, *, seq: int, digest: str) -> None:
    moved = session.execute(
        update(audit_head).where(audit_head.c.name == "main").values(seq=seq, hash=digest)
    )
    if moved.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(audit_head.insert().values(name="main", seq=seq, hash=digest))


def head(session: Session) -> tuple[int, str] | None:
    """(seq, hash) of the newest entry as recorded in the database at append time."""
    row = session.execute(select(audit_head.c.seq, audit_head.c.hash)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _entry(r: Any) -> AuditEntry:
    return AuditEntry(
        seq=r.seq, at=r.at, actor=r.actor, action=r.action, subject=r.subject,
        detail=json.loads(r.detail), prev_hash=r.prev_hash, hash=r.hash, scheme=r.scheme,
    )


def entries(
    session: Session,
    *,
    subject: str | None = None,
    action: str | None = None,
    limit: int | None = None,
) -> list[AuditEntry]:
    stmt = select(audit_log).order_by(audit_log.c.seq)
    if subject is not None:
        stmt = stmt.where(audit_log.c.subject == subject)
    if action is not None:
        stmt = stmt.where(audit_log.c.action == action)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [_entry(r) for r in session.execute(stmt)]


def is_authentic(entry: AuditEntry, *, key: bytes) -> bool:
    """Whether ``entry`` is, as stored, what a holder of ``key`` wrote (its HMAC matches).
    Legacy entries are never authentic on their own."""
    if entry.scheme != SCHEME_KEYED:
        return False
    expected = entry_hash(
        prev_hash=entry.prev_hash, seq=entry.seq, at=entry.at, actor=entry.actor,
        action=entry.action, subject=entry.subject, detail=canonical_json(entry.detail),
        key=key,
    )
    return hmac.compare_digest(expected, entry.hash)


# ---- verification -----------------------------------------------------------------------


def verify(
    session: Session, *, batch_size: int = 10_000, extra_heads: Iterable[tuple[int, str]] = ()
) -> list[Problem]:
    """Every defect of the chain: edited, missing, reordered or unkeyed entries, a database
    head past the end, and exported heads (the seal's sink, plus ``extra_heads`` kept
    elsewhere) that the chain no longer reaches or no longer contains. [] means intact."""
    seal = seal_of(session)
    problems: list[Problem] = []
    exported, sink_problem = _exported_heads(seal)
    if sink_problem is not None:
        problems.append(sink_problem)
    readable = sink_problem is None and exported is not None
    wanted = {seq: digest for seq, digest in exported or []}
    wanted.update(dict(extra_heads))
    found: dict[int, str] = {}
    expected_seq, prev_hash, keyed_seen = 1, GENESIS, False
    result = session.execute(
        select(audit_log).order_by(audit_log.c.seq).execution_options(yield_per=batch_size)
    )
    for r in result:
        seq = int(r.seq)
        if seq != expected_seq:
            problems.append(Problem(
                seq=seq, kind="missing",
                message=f"entries {expected_seq}..{seq - 1} are missing before entry {seq}"))
        if r.prev_hash != prev_hash:
            problems.append(Problem(
                seq=seq, kind="chain_broken",
                message=f"entry {seq} does not follow the entry before it "
                "(prev_hash differs: deleted, reordered or edited predecessor)"))
        keyed = r.scheme == SCHEME_KEYED
        if not keyed and keyed_seen:
            problems.append(Problem(
                seq=seq, kind="unkeyed",
                message=f"entry {seq} is not keyed although earlier entries are "
                "(written without the audit key)"))
        keyed_seen = keyed_seen or keyed
        recomputed = entry_hash(
            prev_hash=r.prev_hash, seq=seq, at=r.at, actor=r.actor, action=r.action,
            subject=r.subject, detail=r.detail, key=seal.key if keyed else None,
        )
        if not hmac.compare_digest(recomputed, r.hash):
            problems.append(Problem(seq=seq, kind="edited",
                                    message=f"entry {seq} was changed after writing"))
        if seq in wanted:
            found[seq] = r.hash
        expected_seq, prev_hash = seq + 1, r.hash
    last_seq = expected_seq - 1
    problems += _head_problems(head(session), last_seq=last_seq, last_hash=prev_hash)
    problems += _exported_problems(wanted, found, last_seq=last_seq)
    if keyed_seen and readable and not exported and _PENDING not in session.info:
        problems.append(Problem(
            seq=last_seq, kind="head_file",
            message="the log has keyed entries but no head was exported outside the database "
            "(the head file was deleted, emptied or is not the one this log writes to)"))
    return problems


def _exported_heads(seal: AuditSeal) -> tuple[list[tuple[int, str]] | None, Problem | None]:
    """The exported heads (None when the sink cannot be read back), and a problem when
    it should be readable but is not."""
    try:
        heads: list[ExportedHead] | None = seal.heads.exported()
    except HeadFileDamaged as exc:
        return [], Problem(seq=0, kind="head_file",
                           message=f"the exported head file is damaged: {exc}")
    except OSError as exc:
        return [], Problem(seq=0, kind="head_file",
                           message=f"the exported heads cannot be read: {exc}")
    return (None if heads is None else [(h.seq, h.digest) for h in heads]), None


def _head_problems(recorded: tuple[int, str] | None, *, last_seq: int,
                   last_hash: str) -> list[Problem]:
    if recorded is not None and recorded[0] > last_seq:
        return [Problem(
            seq=recorded[0], kind="missing",
            message=f"entries {last_seq + 1}..{recorded[0]} at the end of the log are missing")]
    if recorded is not None and recorded != (last_seq, last_hash):
        return [Problem(
            seq=last_seq, kind="chain_broken",
            message=f"the newest entry {last_seq} is not the recorded head {recorded[0]}")]
    return []


def _exported_problems(wanted: Mapping[int, str], found: Mapping[int, str], *,
                       last_seq: int) -> list[Problem]:
    problems: list[Problem] = []
    beyond = sorted(seq for seq in wanted if seq > last_seq)
    if beyond:
        problems.append(Problem(
            seq=beyond[-1], kind="truncated",
            message=f"a head exported outside the database reaches entry {beyond[-1]}, "
            f"but the log ends at entry {last_seq}: entries were removed "
            "(truncated or emptied)"))
    for seq in sorted(s for s in wanted if s <= last_seq):
        got = found.get(seq)
        if got is None:
            problems.append(Problem(
                seq=seq, kind="truncated",
                message=f"entry {seq}, exported as a head, is missing from the log"))
        elif not hmac.compare_digest(got, wanted[seq]):
            problems.append(Problem(
                seq=seq, kind="rewritten",
                message=f"entry {seq} differs from the head exported outside the database "
                "when it was written: the log was rewritten"))
    return problems
