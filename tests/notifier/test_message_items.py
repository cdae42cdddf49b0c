"""A change a message tells is stored once, whichever channels tell it; every message reads
back (outbox, inbox) exactly as it was planned; a message enqueued before items were stored
apart (its items in its own payload) reads as it always did. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import Engine, func, insert, select, update

from notifier.channels.inbox import list_inbox
from notifier.delivery_rules import DeliveryRules
from notifier.links import Links
from notifier.model import PlannedMessage
from notifier.outbox import enqueue_messages
from notifier.planning import plan_messages
from notifier.rendering import render_message
from store import outbox
from store.db import session_factory
from store.schema import message_items
from store.schema import outbox as outbox_table

from .conftest import (
    NOW,
    PERSON_FIELDS,
    PERSON_ID,
    PERSON_PROFILE,
    direct_and_application,
    person_recipient,
)

CHANNELS = ("inbox", "sms", "email")


def _planned(as_of: dt.date = dt.date(2025, 6, 1)) -> list[PlannedMessage]:
    return plan_messages(
        direct_and_application(),
        links=Links(base_url="https://mianshen.example.cn", secret=b"k"),
        as_of=as_of,
        recipients={("person", PERSON_ID): person_recipient(
            sms="13800000000", email="citizen@example.cn")},
        profiles={("person", PERSON_ID): PERSON_PROFILE},
        fields={"sh-severe-disability-care-subsidy": PERSON_FIELDS},
        enabled_channels=CHANNELS,
    )


def test_each_change_is_stored_once_and_every_message_reads_back_as_planned(
        db_engine: Engine) -> None:
    planned = _planned()
    # a digest of two on the inbox and by email; SMS carries one change a text
    assert sorted(m.channel for m in planned) == ["email", "inbox", "sms", "sms"]
    sessions = session_factory(db_engine)
    with sessions() as s, s.begin():
        assert enqueue_messages(s, planned, rules=DeliveryRules(quiet_hours={}), now=NOW) == 4
        assert enqueue_messages(s, planned, rules=DeliveryRules(quiet_hours={}), now=NOW) == 0
        s.execute(update(outbox_table).where(outbox_table.c.channel == "inbox")
                  .values(status="sent", sent_at=NOW))
    with sessions() as s:
        stored = s.execute(select(outbox_table.c.idempotency_key, outbox_table.c.payload)).all()
        item_rows = s.execute(select(func.count()).select_from(message_items)).scalar_one()
        records = {r.idempotency_key: r for r in outbox.list_messages(s)}
        inbox = list_inbox(s, recipient_kind="person", recipient_id=PERSON_ID)
    assert item_rows == 2  # two changes, told on three channels (four messages)
    assert all("items" not in payload and payload["item_refs"] for _, payload in stored)
    for m in planned:
        assert records[m.idempotency_key].payload == m.payload
    (entry,) = inbox
    (inbox_message,) = [m for m in planned if m.channel == "inbox"]
    assert list(entry.items) == inbox_message.payload["items"]
    assert entry.rendered == render_message(inbox_message.kind, inbox_message.payload)


def test_a_message_enqueued_with_its_items_inside_reads_as_it_was(db_engine: Engine) -> None:
    (old,) = [m for m in _planned() if m.channel == "inbox"]
    sessions = session_factory(db_engine)
    with sessions() as s, s.begin():
        s.execute(insert(outbox_table).values(
            idempotency_key=old.idempotency_key, recipient_kind="person", recipient_id=PERSON_ID,
            channel="inbox", kind=old.kind, payload=dict(old.payload), status="sent",
            attempts=1, next_attempt_at=NOW, created_at=NOW, sent_at=NOW))
    with sessions() as s:
        record = outbox.by_key(s, old.idempotency_key)
        (entry,) = list_inbox(s, recipient_kind="person", recipient_id=PERSON_ID)
        assert s.execute(select(func.count()).select_from(message_items)).scalar_one() == 0
    assert record is not None and record.payload == old.payload
    assert list(entry.items) == old.payload["items"]
    assert entry.rendered == render_message(old.kind, old.payload)
    assert "重度残疾人护理补贴(上海)" in "\n".join(entry.rendered.parts())


def test_a_change_told_later_on_a_new_channel_keeps_both_forms(db_engine: Engine) -> None:
    """The inbox told two changes on 2025-06-01; the person adds an e-mail address and the
    next month's run tells them by e-mail, pre-filled as of that day: the inbox message still
    reads as it was sent, and the e-mail carries the new form."""
    rules = DeliveryRules(quiet_hours={})
    first = [m for m in _planned() if m.channel == "inbox"]
    later = [m for m in _planned(as_of=dt.date(2025, 7, 1))
             if m.channel == "email"]
    sessions = session_factory(db_engine)
    with sessions() as s, s.begin():
        assert enqueue_messages(s, first, rules=rules, now=NOW) == 1
    with sessions() as s, s.begin():
        assert enqueue_messages(s, later, rules=rules, now=NOW) == 1
    with sessions() as s:
        records = {r.channel: r for r in outbox.list_messages(s)}
        forms = Counter(s.scalars(select(message_items.c.policy_id)))
    # the direct benefit reads the same both months: one row; the pre-filled application
    # (as of its day) is in two forms
    assert forms == {"sh-elderly-allowance": 1, "sh-severe-disability-care-subsidy": 2}
    (inbox_message,), (email_message,) = first, later
    assert records["inbox"].payload == inbox_message.payload
    assert records["email"].payload == email_message.payload
    assert {i["application"]["as_of"] for i in records["email"].payload["items"]
            if i.get("application")} == {"2025-07-01"}
