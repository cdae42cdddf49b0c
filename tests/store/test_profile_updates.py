"""Profile updates the event worker applied, on SQLite and PostgreSQL: recorded once per
(entity kind, snapshot, line) however often a batch is applied, dates as ISO text, a null
kept as null (UNKNOWN), and read back merged per entity in stream order."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from store import profile_updates
from store.db import transaction
from store.staged_insert import STAGE_FROM


def test_updates_are_recorded_once_and_merged_in_stream_order(db_engine: Engine) -> None:
    updates = [(3, "P1", {"employed": True, "birth_date": dt.date(1950, 1, 2)}),
               (5, "P2", {"disability_grade": None}),
               (7, "P1", {"employed": None})]
    for _ in range(2):  # a batch applied again after a restart
        with transaction(db_engine) as s:
            profile_updates.record(s, entity_kind="person", snapshot_hash="h1", run_id="r1",
                                   updates=updates)
    with transaction(db_engine) as s:
        profile_updates.record(s, entity_kind="person", snapshot_hash="h2", run_id="r2",
                               updates=[(3, "P1", {"employed": False})])  # another snapshot
        assert profile_updates.since_snapshot(s, entity_kind="person", snapshot_hash="h1") == {
            "P1": {"employed": None, "birth_date": "1950-01-02"},
            "P2": {"disability_grade": None}}
        last = profile_updates.last_id(s, entity_kind="person", snapshot_hash="h1")
        assert last > 0 and profile_updates.last_id(
            s, entity_kind="person", snapshot_hash="none") == 0


def test_a_large_batch_goes_through_the_staged_insert(db_engine: Engine) -> None:
    """Many updates at once (PostgreSQL stages them and copies): still once each."""
    many = [(n, f"E{n}", {"employees": n}) for n in range(1, STAGE_FROM + 2)]
    for _ in range(2):
        with transaction(db_engine) as s:
            profile_updates.record(s, entity_kind="enterprise", snapshot_hash="h", run_id="r",
                                   updates=many)
    with transaction(db_engine) as s:
        got = profile_updates.since_snapshot(s, entity_kind="enterprise", snapshot_hash="h")
    assert len(got) == len(many) and got["E7"] == {"employees": 7}
