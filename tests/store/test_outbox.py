"""Outbox contract, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, String, cast, func, select

from store import outbox
from store.db import transaction
from store.errors import LeaseError, TransitionError
from store.schema import message_keys
from store.schema import outbox as outbox_table

T0 = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)


def _msg(key: str, **kw: object) -> outbox.OutboxMessage:
    base: dict[str, object] = {
        "idempotency_key": key,
        "recipient_kind": "enterprise",
        "recipient_id": "E1",
        "channel": "sms",
        "kind": "entitlement_new",
        "payload": {"policy": "p1", "amount": 1500.0},
    }
    base.update(kw)
    return outbox.OutboxMessage(**base)  # type: ignore[arg-type]


def test_duplicate_idempotency_key_is_a_noop(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        assert outbox.enqueue(s, [_msg("a"), _msg("b"), _msg("a")], now=T0) == 2
    with transaction(db_engine) as s:
        assert outbox.enqueue(s, [_msg("b"), _msg("c")], now=T0) == 1
        assert [m.idempotency_key for m in outbox.list_messages(s)] == ["a", "b", "c"]
        assert outbox.by_key(s, "a") is not None
        assert outbox.by_key(s, "a").payload == {"policy": "p1", "amount": 1500.0}  # type: ignore[union-attr]


def test_claim_leases_due_messages_up_to_the_limit(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        outbox.enqueue(s, [_msg(f"k{i}") for i in range(5)], now=T0)
        outbox.enqueue(s, [_msg("later", not_before=T0 + dt.timedelta(hours=1))], now=T0)
    with transaction(db_engine) as s:
        first = outbox.claim(s, worker="w1", limit=3, lease_seconds=60, now=T0)
    with transaction(db_engine) as s:
        second = outbox.claim(s, worker="w2", limit=10, lease_seconds=60, now=T0)
    assert len(first) == 3 and len(second) == 2
    assert {r.idempotency_key for r in first}.isdisjoint({r.idempotency_key for r in second})
    assert all(r.status == "sending" and r.attempts == 1 for r in first + second)
    assert all(r.lease_owner == "w1" for r in first)


def test_expired_lease_is_claimed_again_and_old_worker_cannot_settle(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        outbox.enqueue(s, [_msg("a")], now=T0)
        (rec,) = outbox.claim(s, worker="w1", limit=1, lease_seconds=30, now=T0)
    later = T0 + dt.timedelta(seconds=31)
    with transaction(db_engine) as s:
        assert outbox.claim(s, worker="w2", limit=1, lease_seconds=1, now=T0) == []
        (again,) = outbox.claim(s, worker="w2", limit=1, lease_seconds=30, now=later)
    assert again.id == rec.id and again.attempts == 2
    with transaction(db_engine) as s, pytest.raises(LeaseError):
        outbox.mark_sent(s, rec.id, worker="w1", now=later)
    with transaction(db_engine) as s:
        outbox.mark_sent(s, rec.id, worker="w2", now=later, receipt="r-1")
        done = outbox.get(s, rec.id)
    assert done.status == "sent" and done.provider_receipt == "r-1" and done.sent_at == later


def test_failure_retries_then_dead_letters_and_requeue(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        outbox.enqueue(s, [_msg("a")], now=T0)
        (rec,) = outbox.claim(s, worker="w", limit=1, lease_seconds=30, now=T0)
        retry = T0 + dt.timedelta(minutes=5)
        outbox.mark_failed(s, rec.id, worker="w", now=T0, error="timeout", retry_at=retry)
        assert outbox.claim(s, worker="w", limit=1, lease_seconds=30, now=T0) == []
        (rec,) = outbox.claim(s, worker="w", limit=1, lease_seconds=30, now=retry)
        outbox.mark_failed(s, rec.id, worker="w", now=retry, error="bounced", retry_at=None)
        (dead,) = outbox.dead_letters(s)
        assert dead.last_error == "bounced" and dead.attempts == 2
        outbox.requeue(s, rec.id, now=retry)
        with pytest.raises(TransitionError):
            outbox.requeue(s, rec.id)
    with transaction(db_engine) as s:
        assert outbox.get(s, rec.id).status == "queued"
        assert outbox.dead_letters(s) == []
        assert outbox.counts(s) == {"queued": 1}


def test_enqueue_rolls_back_with_the_surrounding_transaction(db_engine: Engine) -> None:
    with pytest.raises(RuntimeError), transaction(db_engine) as s:
        outbox.enqueue(s, [_msg("a")], now=T0)
        raise RuntimeError("change failed")
    with transaction(db_engine) as s:
        assert outbox.list_messages(s) == []


def test_json_is_stored_compactly_with_its_chinese_text_as_it_is(db_engine: Engine) -> None:
    payload = {"title": "上海市老年综合津贴", "amount_fen": 15000, "items": [1, 2]}
    with transaction(db_engine) as s:
        outbox.enqueue(s, [_msg("a", payload=payload)], now=T0)
        raw = s.execute(select(cast(outbox_table.c.payload, String))).scalar_one()
        assert outbox.get(s, 1).payload == payload
    assert raw == '{"title":"上海市老年综合津贴","amount_fen":15000,"items":[1,2]}'


def test_changes_carried_are_known_whether_a_digest_or_a_single_message_carried_them(
        db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        outbox.enqueue(s, [
            _msg("i-a-sms", item_keys=("i-a-sms",)),  # one change: keyed by it, no key row
            _msg("d-1", channel="inbox", kind="digest", item_keys=("i-a-inbox", "i-b-inbox")),
        ], now=T0)
    with transaction(db_engine) as s:
        rows = s.execute(select(func.count()).select_from(message_keys)).scalar_one()
        known = outbox.known_item_keys(s, ["i-a-sms", "i-a-inbox", "i-b-inbox", "i-b-sms"])
    assert rows == 2
    assert known == {"i-a-sms", "i-a-inbox", "i-b-inbox"}
