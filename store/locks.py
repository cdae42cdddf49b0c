"""Named, expiring locks in the database: one row per lock (name, owner, until).

Acquiring is one conditional statement (update an expired or own row, else insert if
absent), so two processes on two machines never both hold a lock. A holder that dies
leaves the row to expire; a long job keeps it with :func:`renew`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from store.schema import locks
from store.types import utcnow


@dataclass(frozen=True, kw_only=True)
class LockRecord:
    name: str
    owner: str
    until: dt.datetime
    acquired_at: dt.datetime


def acquire(
    engine: Engine, name: str, *, owner: str, ttl_seconds: float, now: dt.datetime | None = None
) -> bool:
    """Take ``name`` for ``owner`` until ``now + ttl`` if it is free, expired or already
    ``owner``'s. Commits on its own connection; returns whether the lock is held."""
    now = now or utcnow()
    until = now + dt.timedelta(seconds=ttl_seconds)
    with engine.begin() as conn:
        taken = conn.execute(
            update(locks)
            .where(locks.c.name == name, or_(locks.c.until < now, locks.c.owner == owner))
            .values(owner=owner, until=until, acquired_at=now)
        )
        if taken.rowcount == 1:
            return True
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
