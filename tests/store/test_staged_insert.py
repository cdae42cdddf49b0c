"""Bulk enqueue through the staging table (PostgreSQL) and executemany (SQLite): the same
rows, duplicates skipped, keys found, payloads read back as written."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, func, insert, select

from store import links as link_store
from store import outbox
from store.db import transaction
from store.schema import entitlements, links, message_keys
from store.staged_insert import STAGE_FROM

T0 = dt.datetime(2026, 1, 5, 2, 0, tzinfo=dt.UTC)
N = STAGE_FROM + 500  # above the staging threshold


def _msg(i: int) -> outbox.OutboxMessage:
    return outbox.OutboxMessage(
        idempotency_key=f"m{i:05d}", recipient_kind="enterprise", recipient_id=f"E{i}",
        channel="inbox", kind="digest",
        payload={"items": [{"key": f"k{i}", "amount_fen": 150_000 + i, "title": "稳岗返还"}],
                 "address": None},
        item_keys=(f"k{i}-inbox", f"k{i}b-inbox"))


def test_a_large_batch_is_enqueued_once_with_its_keys(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        assert outbox.enqueue(s, [_msg(i) for i in range(N)], now=T0) == N
    with transaction(db_engine) as s:  # a rerun with half of them new
        assert outbox.enqueue(s, [_msg(i) for i in range(N // 2, N + N // 2)], now=T0) == N // 2
        total = s.execute(select(func.count()).select_from(message_keys)).scalar_one()
        assert total == 2 * (N + N // 2)
        wanted = [f"k{i}-inbox" for i in range(0, 2 * N, 2)] + ["nope"]
        assert outbox.known_item_keys(s, wanted) == {f"k{i}-inbox" for i in range(0, N + N // 2, 2)}
        back = outbox.by_key(s, "m00007")
        assert back is not None and back.payload == _msg(7).payload
        assert back.status == "queued" and back.next_attempt_at == T0
        owner = s.execute(select(message_keys.c.outbox_id).where(
            message_keys.c.key == "k7b-inbox")).scalar_one()
        assert owner == back.id


def test_links_recorded_in_bulk_keep_their_first_token(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        owner = s.execute(insert(entitlements).values(
            entity_kind="enterprise", entity_id="E1", policy_id="p", benefit_period="2025",
            policy_version="v1", outcome="eligible", delivery="direct", status="new",
            first_run_id="r1", last_run_id="r1", created_at=T0, updated_at=T0,
        ).returning(entitlements.c.id)).scalar_one()
    rows = [{"id": f"L{i:06d}", "token": f"t{i}", "entitlement_id": owner, "purpose": "confirm",
             "created_at": T0, "expires_at": T0 + dt.timedelta(days=30), "used_at": None}
            for i in range(N)]
    with transaction(db_engine) as s:
        link_store.add_many(s, rows)
    with transaction(db_engine) as s:
        link_store.add_many(s, [{**r, "token": "other"} for r in rows[:10]] + [
            {**rows[0], "id": "Lnew", "token": "tnew"}])
        assert s.execute(select(func.count()).select_from(links)).scalar_one() == N + 1
        first = link_store.get(s, "L000003")
        assert first is not None and first.token == "t3"
        assert first.expires_at == rows[3]["expires_at"]
