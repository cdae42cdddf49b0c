"""Counters in fixed time buckets, shared by every process through the database: the
storage of the login limits when Redis is not configured.

:func:`increment` adds one to ``(key, bucket)`` and returns the new count with the count of
the bucket before, in one transaction; the upsert is atomic, so concurrent attempts never
read the same count.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects import postgresql, sqlite

from store.db import transaction
from store.schema import rate_counters


def increment(engine: Engine, key: str, *, bucket: int) -> tuple[int, int]:
    """(count of ``key`` in ``bucket`` after adding one, count in ``bucket - 1``)."""
    with transaction(engine) as session:
        dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(rate_counters).values(key=key, bucket=bucket, count=1)
        current = session.execute(
            stmt.on_conflict_do_update(
                index_elements=["key", "bucket"], set_={"count": rate_counters.c.count + 1}
            ).returning(rate_counters.c.count)
        ).scalar_one()
        previous = session.execute(
            select(rate_counters.c.count).where(
                rate_counters.c.key == key, rate_counters.c.bucket == bucket - 1
            )
        ).scalar()
        if current == 1:  # the first hit of a new bucket clears what no window reaches
            session.execute(delete(rate_counters).where(rate_counters.c.bucket < bucket - 1))
    return int(current), int(previous or 0)
