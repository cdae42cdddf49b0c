"""Budgets in the event engine: a real-time award draws on the same budget as the nightly
batch, in the store. Differential: events arriving in the batch's allocation order end with
the batch's outcomes (eligible / over_budget, to the fen); together with what a batch already
drew the cap is never exceeded; concurrent awards cannot pass it (both backends)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from matcher.evaluate import match_frame
from matcher.events.delivery import EntityOutcomes, record_batch, record_outcomes
from matcher.events.engine import EventEngine
from rules.loader import bundled_library
from rules.model import Budget
from store.db import make_engine, transaction, upgrade
from store.schema import entitlements
from tests.events.strategies import base_frame, derived_frame

AS_OF = dt.date(2025, 10, 1)
PID = "graduate-hiring-subsidy"  # 1500 yuan per graduate hired


def library_with_budget(total: float):
    lib = bundled_library()
    policy = dataclasses.replace(lib[PID], budget=Budget(total=total))
    return [policy], lib.sets


def rows_of(hires: list[int | None]) -> list[dict[str, object]]:
    return [{"status": "存续", "graduate_hires": h} for h in hires]


def store_outcomes(url: str) -> dict[str, tuple[str, int | None]]:
    engine = make_engine(url)
    with transaction(engine, write=False) as s:
        got = {r.entity_id: (r.outcome, r.amount_fen) for r in s.execute(select(
            entitlements.c.entity_id, entitlements.c.outcome, entitlements.c.amount_fen))}
    engine.dispose()
    return got


def apply_events(url: str, policies, sets, hires: list[int | None], *,
                 batched: bool = False) -> None:
    db = make_engine(url)
    with EventEngine(policies, entity="enterprise", as_of=AS_OF, sets=sets) as engine:
        engine.load(base_frame(rows_of(hires), entity="enterprise"))
        if batched:  # every event in one transaction (a consumer's micro-batch)
            record_batch(db, [EntityOutcomes(f"K{i:04d}", engine.outcomes_of(f"K{i:04d}"))
                              for i in range(len(hires))],
                         entity_kind="enterprise", policies=engine.compiled.policies,
                         as_of=AS_OF, run_id="event-batch")
            db.dispose()
            return
        for i in range(len(hires)):  # the batch's order: entity id
            entity_id = f"K{i:04d}"
            record_outcomes(db, entity_kind="enterprise", entity_id=entity_id,
                            outcomes=engine.outcomes_of(entity_id),
                            policies=engine.compiled.policies, as_of=AS_OF,
                            run_id=f"event-{i}")
    db.dispose()


def cap_used(url: str) -> int:
    engine = make_engine(url)
    with transaction(engine, write=False) as s:
        used = s.execute(select(func.coalesce(func.sum(entitlements.c.amount_fen), 0))
                         .where(entitlements.c.outcome == "eligible")).scalar_one()
    engine.dispose()
    return int(used)


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(hires=st.lists(st.one_of(st.none(), st.integers(0, 4)), min_size=1, max_size=8),
       total=st.sampled_from([0, 1500, 4000, 6000, 30000]), batched=st.booleans())
def test_events_in_allocation_order_end_with_the_batch_outcomes(hires, total, batched,
                                                                tmp_path_factory):
    """One event per transaction, or all of them in one micro-batch: the same outcomes."""
    policies, sets = library_with_budget(total)
    frame = derived_frame(base_frame(rows_of(hires), entity="enterprise"), entity="enterprise",
                          as_of=AS_OF)
    batch = match_frame(frame, entity="enterprise", policies=policies, as_of=AS_OF, sets=sets)
    expected = {r["entity_id"]: (r["outcome"], r["amount_fen"])
                for r in batch.iter_rows(named=True)}
    url = f"sqlite:///{tmp_path_factory.mktemp('budget') / 'db.sqlite'}"
    upgrade(url)
    apply_events(url, policies, sets, hires, batched=batched)
    assert store_outcomes(url) == expected
    assert cap_used(url) <= total * 100


def test_events_draw_only_what_the_batch_left(db_url):
    policies, sets = library_with_budget(6000)  # 600000 fen
    # what the nightly batch awarded: K0000 with 3 hires (450000 fen)
    apply_events(db_url, policies, sets, [3])
    # then events, in one micro-batch: K0001 (150000 fits exactly), K0002 (150000 does not:
    # K0001 drew it in the same transaction), K0003 must wait
    apply_events(db_url, policies, sets, [3, 1, 1, 1], batched=True)
    got = store_outcomes(db_url)
    assert got["K0000"] == ("eligible", 450000)
    assert got["K0001"] == ("eligible", 150000)
    assert got["K0002"] == ("over_budget", 150000)
    assert got["K0003"] == ("over_budget", 150000)  # the waiting list is not jumped
    assert cap_used(db_url) == 600000


def test_concurrent_awards_never_pass_the_cap(db_url):
    policies, sets = library_with_budget(1500)  # room for exactly one award
    hires = [1] * 6
    db = make_engine(db_url)
    with EventEngine(policies, entity="enterprise", as_of=AS_OF, sets=sets) as engine:
        engine.load(base_frame(rows_of(hires), entity="enterprise"))
        outcomes = {f"K{i:04d}": engine.outcomes_of(f"K{i:04d}") for i in range(len(hires))}
        compiled = engine.compiled.policies
    errors: list[BaseException] = []
    start = threading.Barrier(len(hires))

    def award(entity_id: str) -> None:
        try:
            start.wait()
            record_outcomes(db, entity_kind="enterprise", entity_id=entity_id,
                            outcomes=outcomes[entity_id], policies=compiled, as_of=AS_OF,
                            run_id=f"event-{entity_id}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=award, args=(e,)) for e in outcomes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.dispose()
    assert errors == []
    got = store_outcomes(db_url)
    assert sorted(o for o, _ in got.values()) == ["eligible"] + ["over_budget"] * 5
    assert cap_used(db_url) == 150000


@pytest.mark.parametrize("total", [0.0])
def test_a_zero_budget_awards_nothing(tmp_path, total):
    policies, sets = library_with_budget(total)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade(url)
    apply_events(url, policies, sets, [1, 2])
    assert {o for o, _ in store_outcomes(url).values()} == {"over_budget"}
