"""Entitlement life cycle, bulk writes and applications, on both backends."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from sqlalchemy import Engine

from store import applications, audit, entitlements, outbox
from store.db import transaction
from store.entitlement_bulk import insert_new, load_current
from store.errors import TransitionError

NOW = dt.datetime(2025, 11, 3, 2, 0, tzinfo=dt.UTC)


def _seed(engine: Engine, n: int = 3) -> list[int]:
    frame = pl.DataFrame(
        {
            "entity_id": [f"E{i}" for i in range(n)],
            "policy_id": ["p1"] * n,
            "benefit_period": ["2025"] * n,
            "policy_version": ["v1"] * n,
            "outcome": ["eligible"] * (n - 1) + ["undetermined"],
            "amount_fen": [10000 * i for i in range(n - 1)] + [None],
            "amount_period": ["year"] * n,
            "amount_kind": ["cash"] * n,
            "delivery": ["direct"] * n,
            "unknown_fields": [[] for _ in range(n - 1)] + [["从业人数"]],
        }
    )
    with transaction(engine) as s:
        assert insert_new(s, frame, entity_kind="enterprise", run_id="r1", now=NOW) == n
        return [e.id for e in entitlements.list_entitlements(s)]


def test_bulk_insert_round_trips_values(db_engine: Engine) -> None:
    _seed(db_engine)
    with transaction(db_engine) as s:
        rows = entitlements.list_entitlements(s)
        current = load_current(s, entity_kind="enterprise", scope=[("p1", "2025")])
    assert [r.amount_fen for r in rows] == [0, 10000, None]
    assert rows[2].unknown_fields == ["从业人数"] and rows[0].unknown_fields == []
    assert rows[0].created_at == NOW and rows[0].first_run_id == "r1"
    assert current.height == 3 and current["status"].to_list() == ["new"] * 3


def test_status_life_cycle_is_enforced(db_engine: Engine) -> None:
    first, *_ = _seed(db_engine)
    with transaction(db_engine) as s:
        entitlements.transition(s, first, "notified", actor="notifier", now=NOW)
        with pytest.raises(TransitionError) as err:
            entitlements.transition(s, first, "paid", actor="treasury", now=NOW)
        assert (err.value.from_status, err.value.to_status) == ("notified", "paid")
        entitlements.transition(s, first, "confirmed", actor="E0", now=NOW)
        entitlements.transition(s, first, "paid", actor="treasury", now=NOW)
        with pytest.raises(TransitionError):
            entitlements.transition(s, first, "revoked", actor="officer", reason="x", now=NOW)
        kinds = [(e.from_status, e.to_status) for e in entitlements.events(s, first)]
        assert audit.verify(s) == []
    assert kinds == [("new", "notified"), ("notified", "confirmed"), ("confirmed", "paid")]


def test_decline_needs_a_reason(db_engine: Engine) -> None:
    first, *_ = _seed(db_engine)
    with transaction(db_engine) as s:
        with pytest.raises(ValueError):
            entitlements.transition(s, first, "declined", actor="E0")
        got = entitlements.transition(s, first, "declined", actor="E0", reason="不需要")
    assert got.status == "declined" and got.reason == "不需要"
    with transaction(db_engine) as s:
        assert entitlements.count_by_status(s, entity_kind="enterprise") == {
            "declined": 1,
            "new": 2,
        }


def test_change_and_its_message_commit_together(db_engine: Engine) -> None:
    first, *_ = _seed(db_engine)
    with pytest.raises(RuntimeError), transaction(db_engine) as s:
        entitlements.transition(s, first, "notified", actor="notifier", now=NOW)
        outbox.enqueue(
            s,
            [
                outbox.OutboxMessage(
                    idempotency_key=f"ent:{first}:notified",
                    recipient_kind="enterprise",
                    recipient_id="E0",
                    channel="sms",
                    kind="entitlement_new",
                )
            ],
        )
        raise RuntimeError("crash before commit")
    with transaction(db_engine) as s:
        assert entitlements.get(s, first).status == "new"
        assert outbox.list_messages(s) == []


def test_application_flow(db_engine: Engine) -> None:
    *_, undetermined = _seed(db_engine)
    with transaction(db_engine) as s:
        app = applications.create(
            s,
            entitlement_id=undetermined,
            prefilled={"企业名称": "甲"},
            missing_fields=["从业人数"],
            actor="system",
        )
        again = applications.create(
            s, entitlement_id=undetermined, prefilled={}, missing_fields=[], actor="system"
        )
        assert again.id == app.id
        applications.save_answers(s, app.id, {"从业人数": 12}, actor="E2")
        applications.transition(s, app.id, "submitted", actor="E2")
        with pytest.raises(TransitionError):
            applications.save_answers(s, app.id, {"从业人数": 13}, actor="E2")
        done = applications.transition(s, app.id, "approved", actor="reviewer-1")
    assert done.answers == {"从业人数": 12} and done.decided_by == "reviewer-1"
