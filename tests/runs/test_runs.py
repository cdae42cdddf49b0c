"""Runs: only changes are written, reruns change nothing, the life cycle of entitlements
follows eligibility; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).parent))
import runkit

from matcher import runs
from store import audit, entitlements, locks
from store import runs as run_store
from store.db import transaction

AS_OF = dt.date(2025, 11, 3)
POLICIES = [runkit.policy("p1"), runkit.policy("p2", period="month")]


def _run(
    engine: Engine,
    tmp_path: Path,
    rows: Sequence[tuple[object, ...]],
    *,
    as_of: dt.date = AS_OF,
    name: str = "snap",
) -> runs.RunReport:
    snap = runkit.write_snapshot(runkit.outcomes(rows), tmp_path / f"{name}.parquet")
    return runs.execute_run(
        engine=engine,
        snapshot_path=snap,
        as_of=as_of,
        policies=POLICIES,
        outcomes_dir=tmp_path / "outcomes",
        entity="enterprise",
        match=runkit.passthrough_match,
    )


FIRST = [
    ("E1", "p1", "eligible", 150000, "once"),
    ("E2", "p1", "undetermined", None, "once"),
    ("E1", "p2", "eligible", 7500, "month"),
]


def test_first_run_creates_entitlements_with_benefit_periods(
    db_engine: Engine, tmp_path: Path
) -> None:
    report = _run(db_engine, tmp_path, FIRST)
    assert (report.status, report.new, report.updated, report.revoked) == ("succeeded", 3, 0, 0)
    assert report.outcomes_path.exists()
    with transaction(db_engine) as s:
        got = {(e.entity_id, e.policy_id): e for e in entitlements.list_entitlements(s)}
        run = run_store.get_run(s, report.run_id)
        assert audit.verify(s) == []
    assert got[("E1", "p1")].benefit_period == "once"
    assert got[("E1", "p2")].benefit_period == "2025-11"
    assert got[("E2", "p1")].amount_fen is None  # unknown stays NULL, never 0
    assert {e.status for e in got.values()} == {"new"}
    assert run.status == "succeeded" and run.counts["per_policy"]["p1"] == {  # type: ignore[index]
        "eligible": 1,
        "undetermined": 1,
    }


def test_rerunning_the_same_run_changes_nothing(db_engine: Engine, tmp_path: Path) -> None:
    first = _run(db_engine, tmp_path, FIRST)
    before = runkit.dump(db_engine)
    again = _run(db_engine, tmp_path, FIRST)
    assert again.run_id == first.run_id and again.status == "unchanged"
    assert (again.new, again.updated, again.revoked) == (0, 0, 0)
    assert runkit.dump(db_engine) == before


def test_same_outcomes_from_another_snapshot_write_no_changes(
    db_engine: Engine, tmp_path: Path
) -> None:
    _run(db_engine, tmp_path, FIRST)
    before = runkit.dump(db_engine)
    other = _run(db_engine, tmp_path, list(reversed(FIRST)), name="snap2")
    assert other.status == "succeeded" and (other.new, other.updated, other.revoked) == (0, 0, 0)
    assert runkit.dump(db_engine) == before


def test_changes_update_revoke_and_keep_settled(db_engine: Engine, tmp_path: Path) -> None:
    _run(db_engine, tmp_path, [*FIRST, ("E3", "p1", "eligible", 1000, "once")])
    with transaction(db_engine) as s:
        e3 = entitlements.list_entitlements(s, entity_id="E3")[0]
        entitlements.transition(s, e3.id, "notified", actor="notifier")
        entitlements.transition(s, e3.id, "confirmed", actor="E3")
        entitlements.transition(s, e3.id, "paid", actor="treasury")
    second = [
        ("E1", "p1", "eligible", 300000, "once"),  # amount changed
        ("E2", "p1", "eligible", 80000, "once"),  # undetermined -> eligible
        # E1/p2 lost -> revoked; E3/p1 lost but paid -> kept
    ]
    report = _run(db_engine, tmp_path, second, name="snap2")
    assert (report.new, report.updated, report.revoked) == (0, 2, 1)
    with transaction(db_engine) as s:
        got = {(e.entity_id, e.policy_id): e for e in entitlements.list_entitlements(s)}
        history = entitlements.events(s, got[("E1", "p1")].id)
    assert got[("E1", "p1")].amount_fen == 300000 and got[("E1", "p1")].last_run_id == report.run_id
    assert got[("E2", "p1")].outcome == "eligible"
    assert got[("E1", "p2")].status == "revoked" and "不再符合" in (got[("E1", "p2")].reason or "")
    assert got[("E3", "p1")].status == "paid"
    assert history[-1].kind == "updated" and history[-1].detail == {
        "amount_fen": {"from": 150000, "to": 300000}
    }
    # eligible again -> reinstated as new
    third = _run(
        db_engine, tmp_path, [*second, ("E1", "p2", "eligible", 7500, "month")], name="snap3"
    )
    assert (third.new, third.updated, third.revoked) == (0, 1, 0)
    with transaction(db_engine) as s:
        (e,) = entitlements.list_entitlements(s, entity_id="E1", policy_id="p2")
    assert e.status == "new" and e.reason is None


def test_a_new_month_opens_new_entitlements_and_leaves_the_old_month(
    db_engine: Engine, tmp_path: Path
) -> None:
    _run(db_engine, tmp_path, FIRST)
    december = dt.date(2025, 12, 2)
    report = _run(db_engine, tmp_path, FIRST[:2], as_of=december, name="dec")
    assert (report.new, report.revoked) == (0, 0)  # p2 (monthly) for December: none eligible
    with transaction(db_engine) as s:
        (nov,) = entitlements.list_entitlements(s, entity_id="E1", policy_id="p2")
    assert nov.benefit_period == "2025-11" and nov.status == "new"


def test_failure_before_commit_leaves_previous_state_and_rerun_succeeds(
    db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(db_engine, tmp_path, FIRST)
    before = runkit.dump(db_engine)
    from store import entitlement_bulk

    original = entitlement_bulk.write_changes

    def write_then_fail(*args: object, **kwargs: object) -> dict[str, int]:
        original(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr(entitlement_bulk, "write_changes", write_then_fail)
    changed = [("E9", "p1", "eligible", 100, "once")]
    with pytest.raises(RuntimeError):
        _run(db_engine, tmp_path, changed, name="snap2")
    assert runkit.dump(db_engine) == before
    with transaction(db_engine) as s:
        failed = [r for r in run_store.list_runs(s) if r.status == "failed"]
    assert len(failed) == 1 and "disk full" in (failed[0].error or "")
    monkeypatch.setattr(entitlement_bulk, "write_changes", original)
    report = _run(db_engine, tmp_path, changed, name="snap2")
    assert report.run_id == failed[0].id and report.resumed and report.new == 1
    with transaction(db_engine) as s:
        assert run_store.get_run(s, report.run_id).attempts == 2


def test_a_second_run_is_refused_while_one_holds_the_lock(
    db_engine: Engine, tmp_path: Path
) -> None:
    assert locks.acquire(db_engine, runs.RUN_LOCK, owner="elsewhere", ttl_seconds=60)
    # a live holder: on PostgreSQL it also holds the server-side advisory lock (a row
    # without it is a dead holder's, taken over at once: tests/faults/test_dead_lock_holder)
    with locks.session_lock(db_engine, runs.RUN_LOCK) as held, \
            pytest.raises(runs.RunLockedError) as err:
        assert held
        _run(db_engine, tmp_path, FIRST)
    assert err.value.holder == "elsewhere"
    assert runkit.dump(db_engine) == []


def test_outbox_messages_commit_with_the_runs_changes(db_engine: Engine, tmp_path: Path) -> None:
    from sqlalchemy.orm import Session

    from store import outbox
    from store.entitlement_bulk import RunChanges

    def plan(session: Session, changes: RunChanges, run_id: str) -> None:
        created = entitlements.list_entitlements(session, run_id=run_id, status="new")
        outbox.enqueue(
            session,
            [
                outbox.OutboxMessage(
                    idempotency_key=f"ent:{e.id}:new",
                    recipient_kind=e.entity_kind,
                    recipient_id=e.entity_id,
                    channel="sms",
                    kind="entitlement_new",
                )
                for e in created
            ],
        )
        if changes.new.height > 3:
            raise RuntimeError("planning failed")

    snap = runkit.write_snapshot(runkit.outcomes(FIRST), tmp_path / "a.parquet")
    kwargs = dict(
        as_of=AS_OF,
        policies=POLICIES,
        outcomes_dir=tmp_path / "o",
        entity="enterprise",
        match=runkit.passthrough_match,
        on_changes=plan,
    )
    runs.execute_run(engine=db_engine, snapshot_path=snap, **kwargs)  # type: ignore[arg-type]
    with transaction(db_engine) as s:
        assert len(outbox.list_messages(s)) == 3
    more = runkit.write_snapshot(
        runkit.outcomes([*FIRST, *[(f"X{i}", "p1", "eligible", 100, "once") for i in range(4)]]),
        tmp_path / "b.parquet",
    )
    before = runkit.dump(db_engine)
    with pytest.raises(RuntimeError):
        runs.execute_run(engine=db_engine, snapshot_path=more, **kwargs)  # type: ignore[arg-type]
    assert runkit.dump(db_engine) == before
    with transaction(db_engine) as s:
        assert len(outbox.list_messages(s)) == 3


def test_a_run_keeps_the_status_and_reason_of_an_objection(
    db_engine: Engine, tmp_path: Path
) -> None:
    _run(db_engine, tmp_path, FIRST)
    with transaction(db_engine) as s:
        (e,) = entitlements.list_entitlements(s, entity_id="E1", policy_id="p1")
        entitlements.transition(s, e.id, "objected", actor="E1", reason="金额有误")
    changed = [("E1", "p1", "eligible", 180000, "once"), *FIRST[1:]]
    report = _run(db_engine, tmp_path, changed, name="snap2")
    assert report.updated == 1
    with transaction(db_engine) as s:
        after = entitlements.get(s, e.id)
        history = entitlements.events(s, e.id)
    assert (after.status, after.reason, after.amount_fen) == ("objected", "金额有误", 180000)
    assert history[-1].detail == {"amount_fen": {"from": 150000, "to": 180000}}


def test_a_confirmed_recurring_benefit_carries_over_to_the_next_period_without_a_reset(
    db_engine: Engine, tmp_path: Path
) -> None:
    """What the recipient confirmed for November holds for December: the new period starts
    confirmed (with a 处理记录 entry saying why), a rerun resets nothing, and a benefit never
    confirmed starts as new."""
    from store import confirmations
    from store.types import utcnow

    monthly = [("E1", "p2", "eligible", 7500, "month"), ("E2", "p2", "eligible", 7500, "month")]
    _run(db_engine, tmp_path, monthly)
    with transaction(db_engine) as s:
        nov = entitlements.find(s, entitlements.EntitlementKey(
            entity_kind="enterprise", entity_id="E1", policy_id="p2", benefit_period="2025-11"))
        assert nov is not None
        entitlements.transition(s, nov.id, "confirmed", actor="E1")
        confirmations.record(s, entity_kind="enterprise", entity_id="E1", policy_id="p2",
                             entitlement_id=nov.id, account="6222000011112222", actor="E1",
                             now=utcnow())
    december = dt.date(2025, 12, 1)
    report = _run(db_engine, tmp_path, monthly, as_of=december, name="dec")
    assert (report.new, report.carried_over) == (2, 1)
    again = _run(db_engine, tmp_path, monthly, as_of=december, name="dec")
    assert again.status == "unchanged"
    with transaction(db_engine) as s:
        got = {(e.entity_id, e.benefit_period): e for e in entitlements.list_entitlements(s)}
        history = entitlements.events(s, got[("E1", "2025-12")].id)
    assert got[("E1", "2025-12")].status == "confirmed"
    assert got[("E2", "2025-12")].status == "new"
    assert got[("E1", "2025-11")].status == "confirmed"  # last month untouched
    assert [(h.actor, h.to_status) for h in history] == [("carry-over", "confirmed")]
    assert "沿用" in (history[0].reason or "")
