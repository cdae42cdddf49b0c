"""A tiny run of the event benchmark: the store it seeds holds what the event engine decides,
and the paced consumer commits every event's changes with a latency each."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.events import AS_OF, _store, make_inputs, paced, seed_store
from matcher.events.engine import EventEngine
from rules.loader import bundled_library
from store.schema import entitlements


@pytest.mark.slow
def test_seeded_store_holds_the_engines_outcomes_and_paced_events_commit(
        tmp_path: Path) -> None:
    base, updates = make_inputs(300, 12, seed=5)
    with EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF) as engine:
        engine.load(base)
        policies = dict(engine.compiled.policies)
        db, _ = _store(tmp_path, "seed", policies)
        try:
            # seeded by the batch plan, in chunks smaller than the population
            written = seed_store(db, engine, policies, chunk=128)
            with db.connect() as conn:
                stored = conn.execute(select(entitlements.c.entity_id, entitlements.c.policy_id,
                                             entitlements.c.outcome,
                                             entitlements.c.amount_fen)).all()
                assert conn.execute(select(func.count()).select_from(entitlements)
                                    ).scalar_one() == written
        finally:
            db.dispose()
        decided = engine.outcomes()  # the event engine, over every entity
        assert written == decided.height > 0
        assert sorted(tuple(r) for r in stored) == sorted(
            decided.select("entity_id", "policy_id", "outcome", "amount_fen").iter_rows())

        record = paced(engine, updates, rate=1000.0, folder=tmp_path)
    assert record["events"] == len(updates)
    assert record["seeded_entitlements"] == written
    assert 0 < record["outbox_latency_ms_p50"] <= record["outbox_latency_ms_p99"]


@pytest.mark.slow
def test_the_worker_following_a_live_file_applies_every_appended_event() -> None:
    from bench.events import _loaded, followed, with_valid_ids

    base, updates = with_valid_ids(*make_inputs(200, 15, seed=6))
    with _loaded(base) as (engine, folder):
        record = followed(engine, updates, rate=500.0, folder=folder, max_batch=4)
    assert (record["events"], record["applied"], record["rejected"]) == (15, 15, 0)
    assert record["batches"] >= 4  # at most four events a batch
    assert 0 < record["outbox_latency_ms_p50"] <= record["outbox_latency_ms_p99"]
