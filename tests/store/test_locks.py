"""Database locks: exclusive, expiring, renewable; on both backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from store import locks

T0 = dt.datetime(2026, 1, 1, 2, 0, tzinfo=dt.UTC)


def test_only_one_owner_holds_a_lock_until_it_expires(db_engine: Engine) -> None:
    assert locks.acquire(db_engine, "nightly", owner="a", ttl_seconds=60, now=T0)
    assert not locks.acquire(db_engine, "nightly", owner="b", ttl_seconds=60, now=T0)
    assert locks.acquire(db_engine, "nightly", owner="a", ttl_seconds=60, now=T0)  # re-entrant
    later = T0 + dt.timedelta(seconds=61)
    assert locks.acquire(db_engine, "nightly", owner="b", ttl_seconds=60, now=later)
    held = locks.holder(db_engine, "nightly")
    assert held is not None and held.owner == "b"


def test_renew_and_release(db_engine: Engine) -> None:
    assert locks.acquire(db_engine, "x", owner="a", ttl_seconds=10, now=T0)
    assert locks.renew(db_engine, "x", owner="a", ttl_seconds=100, now=T0)
    assert not locks.acquire(
        db_engine, "x", owner="b", ttl_seconds=10, now=T0 + dt.timedelta(seconds=50)
    )
    assert not locks.release(db_engine, "x", owner="b")
    assert locks.release(db_engine, "x", owner="a")
    assert locks.acquire(db_engine, "x", owner="b", ttl_seconds=10, now=T0)
    assert not locks.renew(db_engine, "x", owner="a", ttl_seconds=10, now=T0)
