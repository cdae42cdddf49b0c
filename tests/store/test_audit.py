"""The audit chain detects an edited, a deleted and a reordered entry (written by someone who
dropped the database's append-only guards first: ordinary SQL is refused outright)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, update

from store import audit
from store.db import make_engine, transaction
from store.schema import audit_log
from tests.conftest import seal_in
from tests.tampering import drop_guards

T0 = dt.datetime(2026, 3, 1, 8, 30, 0, 123456, tzinfo=dt.UTC)


def _fill(engine: Engine, n: int) -> None:
    with transaction(engine) as s:
        for i in range(n):
            audit.append(
                s,
                actor="officer-1",
                action="policy.draft",
                subject=f"policy:p{i}",
                detail={"i": i, "标题": "稳岗返还"},
                now=T0 + dt.timedelta(seconds=i),
            )


def test_intact_chain_verifies(db_engine: Engine) -> None:
    _fill(db_engine, 5)
    with transaction(db_engine) as s:
        assert audit.verify(s) == []
        got = audit.entries(s)
    assert [e.seq for e in got] == [1, 2, 3, 4, 5]
    assert got[0].prev_hash == audit.GENESIS and got[1].prev_hash == got[0].hash
    assert got[2].detail == {"i": 2, "标题": "稳岗返还"} and got[2].at == T0 + dt.timedelta(
        seconds=2
    )


def test_ordinary_sql_cannot_edit_or_delete_entries(db_engine: Engine) -> None:
    import pytest
    from sqlalchemy.exc import DBAPIError

    _fill(db_engine, 3)
    for stmt in (update(audit_log).where(audit_log.c.seq == 2).values(actor="intruder"),
                 delete(audit_log).where(audit_log.c.seq == 3)):
        with pytest.raises(DBAPIError, match="append-only"), db_engine.begin() as conn:
            conn.execute(stmt)
    with transaction(db_engine) as s:
        assert audit.verify(s) == [] and len(audit.entries(s)) == 3


def test_edited_entry_is_found(db_engine: Engine) -> None:
    _fill(db_engine, 5)
    drop_guards(db_engine)
    with transaction(db_engine) as s:
        s.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor="intruder"))
    with transaction(db_engine) as s:
        problems = audit.verify(s)
    assert [(p.seq, p.kind) for p in problems] == [(3, "edited")]


def test_deleted_entry_is_found(db_engine: Engine) -> None:
    _fill(db_engine, 5)
    drop_guards(db_engine)
    with transaction(db_engine) as s:
        s.execute(delete(audit_log).where(audit_log.c.seq == 2))
    with transaction(db_engine) as s:
        problems = audit.verify(s)
    assert {(p.seq, p.kind) for p in problems} == {(3, "missing"), (3, "chain_broken")}


def test_deleting_the_newest_entries_is_found(db_engine: Engine) -> None:
    _fill(db_engine, 5)
    drop_guards(db_engine)
    with transaction(db_engine) as s:
        assert audit.head(s) == (5, audit.entries(s)[-1].hash)
        s.execute(delete(audit_log).where(audit_log.c.seq >= 4))
    with transaction(db_engine) as s:
        problems = audit.verify(s)
    assert [(p.seq, p.kind) for p in problems] == [(5, "missing"), (5, "truncated")]


def test_head_is_backfilled_by_the_migration_and_old_entries_are_covered_by_keyed_ones(
    empty_db_url: str, tmp_path: Path
) -> None:
    from store.db import make_engine, upgrade

    upgrade(empty_db_url, revision="0001")
    engine = make_engine(empty_db_url, audit_seal=seal_in(tmp_path))
    digest = audit.entry_hash(
        prev_hash=audit.GENESIS, seq=1, at=T0, actor="a", action="x", subject="s", detail="{}",
        key=None,
    )
    with engine.begin() as conn:
        conn.execute(
            audit_log.insert().values(
                seq=1,
                at=T0,
                actor="a",
                action="x",
                subject="s",
                detail="{}",
                prev_hash=audit.GENESIS,
                hash=digest,
            )
        )
    upgrade(engine)
    with transaction(engine) as s:
        assert audit.head(s) == (1, digest)
        assert audit.verify(s) == []
        audit.append(s, actor="b", action="y", subject="s", now=T0)
    with transaction(engine) as s:
        assert audit.verify(s) == [] and audit.head(s) is not None
        assert [e.scheme for e in audit.entries(s)] == ["sha256", "hmac-sha256"]
    drop_guards(engine)
    with engine.begin() as conn:  # the old, unkeyed entry is now covered by the keyed one
        conn.execute(update(audit_log).where(audit_log.c.seq == 1).values(
            actor="z", hash=audit.entry_hash(prev_hash=audit.GENESIS, seq=1, at=T0,
                                             actor="z", action="x", subject="s", detail="{}",
                                             key=None)))
    with transaction(engine) as s:
        assert {p.kind for p in audit.verify(s)} == {"chain_broken"}
    engine.dispose()


def test_reordered_entries_are_found(db_engine: Engine) -> None:
    _fill(db_engine, 4)
    drop_guards(db_engine)
    with transaction(db_engine) as s:
        rows = {r.seq: r for r in s.execute(audit_log.select())}
        for a, b in ((2, 3), (3, 2)):
            src = rows[b]
            s.execute(
                update(audit_log)
                .where(audit_log.c.seq == a)
                .values(
                    at=src.at,
                    actor=src.actor,
                    action=src.action,
                    subject=src.subject,
                    detail=src.detail,
                    prev_hash=src.prev_hash,
                    hash=src.hash,
                )
            )
    with transaction(db_engine) as s:
        kinds = {p.kind for p in audit.verify(s)}
    assert "chain_broken" in kinds


@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(min_value=2, max_value=8),
    victim=st.integers(min_value=1, max_value=8),
    tamper=st.sampled_from(["edit", "delete"]),
)
def test_any_single_tampering_is_found(n: int, victim: int, tamper: str) -> None:
    """SQLite only (a fresh in-memory database per example); the contract tests above
    cover PostgreSQL."""
    import tempfile

    victim = min(victim, n)
    engine = make_engine("sqlite://", audit_seal=seal_in(Path(tempfile.mkdtemp())))
    from store.schema import metadata

    metadata.create_all(engine)
    _fill(engine, n)
    with transaction(engine) as s:
        where = audit_log.c.seq == victim
        if tamper == "edit":
            s.execute(update(audit_log).where(where).values(detail='{"i":-1}'))
        else:
            s.execute(delete(audit_log).where(where))
    with transaction(engine) as s:
        assert audit.verify(s) != []
