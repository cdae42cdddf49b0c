"""Named, expiring locks in the database: one row per lock (name, owner, until).

Acquiring is one conditional statement (update an expired or own row, else insert if
absent), so two processes on two machines never both hold a lock. A long job keeps it with
:func:`renew`. A holder that dies does not block the next one for the rest of its ttl:

* owners made by :func:`process_owner` carry host, pid and the process's start time; a
  holder on this host whose process is gone (or whose pid now belongs to another process)
  is dead, and its lock is taken over at once (SQLite and PostgreSQL);
* on PostgreSQL, :func:`session_lock` also holds a session advisory lock, which the server
  releases the moment the holder's connection drops (kill -9 included), whatever machine
  it ran on; whoever gets it may take over the row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, delete, or_, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from store.schema import locks
from store.types import utcnow


@dataclass(frozen=True, kw_only=True)
class LockRecord:
    name: str
    owner: str
    until: dt.datetime
    acquired_at: dt.datetime


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` (clock ticks since boot, Linux), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def process_owner() -> str:
    """An owner name for this process: ``host:pid:start:random``."""
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid) or '-'}:{uuid.uuid4().hex[:8]}"


def holder_alive(owner: str) -> bool | None:
    """Whether the process named by ``owner`` (from :func:`process_owner`) still runs:
    None when that cannot be known here (another host, another kind of name)."""
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return None
    pid, start = int(parts[1]), parts[2]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, owned by someone else
    if start != "-" and _start_time(pid) not in (None, start):
        return False  # the pid was reused by a new process
    return True


@contextmanager
def session_lock(engine: Engine, name: str) -> Iterator[bool]:
    """On PostgreSQL, hold the session advisory lock of ``name`` on a connection of its
    own for the block (yields whether it was got); the server drops it with the connection,
    so a killed holder frees it at once. Elsewhere yields True (nothing to hold).

    Advisory locks belong to the whole database: the key names the schema too, so two
    installations in schemas of one database never take each other's lock."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as conn:
        schema = conn.execute(text("SELECT current_schema()")).scalar()
        key = int.from_bytes(hashlib.sha256(f"mianshen:{schema}:{name}".encode()).digest()[:8],
                             "big", signed=True)
        got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
        conn.commit()
        try:
            yield got
        finally:
            if got:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


def acquire(
    engine: Engine,
    name: str,
    *,
    owner: str,
    ttl_seconds: float,
    now: dt.datetime | None = None,
    take_over: bool = False,
) -> bool:
    """Take ``name`` for ``owner`` until ``now + ttl`` if it is free, expired, already
    ``owner``'s, or held by a process known to be dead (:func:`holder_alive`); with
    ``take_over`` (the caller holds :func:`session_lock`, so no live holder exists) whatever
    the row says. Commits on its own connection; returns whether the lock is held."""
    now = now or utcnow()
    until = now + dt.timedelta(seconds=ttl_seconds)
    with engine.begin() as conn:
        free = or_(locks.c.until < now, locks.c.owner == owner)
        taken = conn.execute(
            update(locks)
            .where(locks.c.name == name, *(() if take_over else (free,)))
            .values(owner=owner, until=until, acquired_at=now)
        )
        if taken.rowcount == 1:
            return True
        current = conn.execute(select(locks.c.owner).where(locks.c.name == name)).scalar()
        if current is not None and holder_alive(current) is False:
            stolen = conn.execute(
                update(locks)
                .where(locks.c.name == name, locks.c.owner == current)
                .values(owner=owner, until=until, acquired_at=now)
            )
            return stolen.rowcount == 1
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        inserted = conn.execute(
            dialect.insert(locks)
            .values(name=name, owner=owner, until=until, acquired_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
            .returning(locks.c.name)
        )
        # RETURNING, not rowcount: psycopg reports -1 for INSERT ... ON CONFLICT.
        return inserted.first() is not None


def renew(
    engine: Engine, name: str, *, owner: str, ttl_seconds: float, now: dt.datetime | None = None
) -> bool:
    """Extend a lock ``owner`` still holds; False when it was lost."""
    now = now or utcnow()
    with engine.begin() as conn:
        result = conn.execute(
            update(locks)
            .where(locks.c.name == name, locks.c.owner == owner)
            .values(until=now + dt.timedelta(seconds=ttl_seconds))
        )
        return result.rowcount == 1


def release(engine: Engine, name: str, *, owner: str) -> bool:
    with engine.begin() as conn:
        result = conn.execute(delete(locks).where(locks.c.name == name, locks.c.owner == owner))
        return result.rowcount == 1


def holder(engine: Engine, name: str) -> LockRecord | None:
    with engine.connect() as conn:
        row = conn.execute(select(locks).where(locks.c.name == name)).first()
    return None if row is None else LockRecord(**row._asdict())
