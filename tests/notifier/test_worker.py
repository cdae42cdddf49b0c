"""The delivery worker against the real outbox: retries with exponential backoff, dead
letters, quiet hours, the daily cap, enqueueing atomically and idempotently."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import pytest
from sqlalchemy import Engine

from notifier.abc import Channel, OutboundMessage, Receipt
from notifier.channels.memory import MemoryChannel
from notifier.delivery_rules import DeliveryRules
from notifier.errors import PermanentChannelError, TransientChannelError
from notifier.links import Links
from notifier.model import EntitlementChange, PlannedMessage, Recipient
from notifier.outbox import enqueue_changes, enqueue_messages
from notifier.worker import DeliveryReport, RetryPolicy, run_delivery_once
from store import outbox
from store.db import session_factory
from store.schema import outbox as outbox_table

from .conftest import NOW, PERSON_ID, change

LINKS = Links(base_url="https://mianshen.example.cn", secret=b"k")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def _enqueue(engine: Engine, *changes_: EntitlementChange, channel: str = "inbox",
             now: dt.datetime = NOW, rules: DeliveryRules | None = None) -> int:
    addresses = {} if channel == "inbox" else {channel: "13800000000"}
    recipient = Recipient(entity_kind="person", entity_id=PERSON_ID, addresses=addresses)
    with session_factory(engine)() as s, s.begin():
        return enqueue_changes(
            s, list(changes_) or [change()], links=LINKS, as_of=dt.date(2025, 6, 1),
            recipients={("person", PERSON_ID): recipient}, enabled_channels=(channel,),
            now=now, rules=rules,
        )


def _run(
    engine: Engine,
    channels: Mapping[str, Channel],
    at: dt.datetime,
    *,
    retry: RetryPolicy | None = None,
    rules: DeliveryRules | None = None,
    limit: int = 100,
    worker: str = "w1",
) -> DeliveryReport:
    return run_delivery_once(session_factory(engine), channels, worker=worker, now=at,
                             retry=retry, rules=rules, limit=limit, lease_seconds=10)


def _records(engine: Engine) -> list[outbox.OutboxRecord]:
    with session_factory(engine)() as s:
        return outbox.list_messages(s)


def test_transient_failures_back_off_exponentially_then_dead_letter(db_engine: Engine) -> None:
    _enqueue(db_engine)
    mem = MemoryChannel(name="inbox")
    mem.fail_next(TransientChannelError(channel="inbox", reason="down"), times=10)
    retry = RetryPolicy(max_attempts=3, base_s=60, factor=2)
    at = NOW
    due_times = []
    for _ in range(2):
        report = _run(db_engine, {"inbox": mem}, at, retry=retry)
        assert report.retried == 1
        (record,) = _records(db_engine)
        due_times.append(record.next_attempt_at - at)
        at = record.next_attempt_at
    assert due_times == [dt.timedelta(seconds=60), dt.timedelta(seconds=120)]
    report = _run(db_engine, {"inbox": mem}, at, retry=retry)
    assert report.dead == 1
    with session_factory(db_engine)() as s:
        (dead,) = outbox.dead_letters(s)
    assert dead.attempts == 3 and dead.last_error and "down" in dead.last_error
    assert mem.delivered == []


def test_requeued_dead_letter_is_delivered(db_engine: Engine) -> None:
    _enqueue(db_engine)
    mem = MemoryChannel(name="inbox")
    mem.fail_next(PermanentChannelError(channel="inbox", reason="refused"))
    assert _run(db_engine, {"inbox": mem}, NOW).dead == 1
    (record,) = _records(db_engine)
    with session_factory(db_engine)() as s, s.begin():
        outbox.requeue(s, record.id, now=NOW)
    assert _run(db_engine, {"inbox": mem}, NOW).sent == 1
    assert len(mem.delivered) == 1


def test_message_for_an_unconfigured_channel_waits_and_is_not_lost(db_engine: Engine) -> None:
    _enqueue(db_engine)
    report = _run(db_engine, {}, NOW)
    assert report.retried == 1
    (record,) = _records(db_engine)
    assert record.status == "queued" and "not configured" in (record.last_error or "")


def test_a_message_that_fails_the_masking_scan_is_never_sent(db_engine: Engine) -> None:
    bad = PlannedMessage(
        idempotency_key="i-bad", recipient_kind="person", recipient_id=PERSON_ID,
        channel="inbox", kind="benefit_notice",
        payload={"recipient": {"display_name": PERSON_ID},
                 "items": [{"kind": "benefit_notice", "policy_title": "t",
                            "benefit_period": "2025", "amount_display": "1.00 元"}]},
    )
    with session_factory(db_engine)() as s, s.begin():
        enqueue_messages(s, [bad], now=NOW)
    mem = MemoryChannel(name="inbox")
    assert _run(db_engine, {"inbox": mem}, NOW).dead == 1
    assert mem.attempts == 0
    (record,) = _records(db_engine)
    assert PERSON_ID not in (record.last_error or "")


def test_enqueue_is_idempotent_across_reruns(db_engine: Engine) -> None:
    assert _enqueue(db_engine, change(policy_id="a"), change(policy_id="b")) == 1  # one digest
    assert _enqueue(db_engine, change(policy_id="b"), change(policy_id="a")) == 0
    assert len(_records(db_engine)) == 1


def test_enqueue_shares_the_callers_transaction(db_engine: Engine) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), session_factory(db_engine)() as s, s.begin():
        enqueue_changes(s, [change()], links=LINKS, as_of=dt.date(2025, 6, 1), now=NOW)
        raise Boom  # the entitlement change failed: its messages go too
    assert _records(db_engine) == []


def test_sms_planned_in_quiet_hours_waits_until_they_end(db_engine: Engine) -> None:
    late = dt.datetime(2025, 6, 1, 23, 30, tzinfo=SHANGHAI)
    _enqueue(db_engine, channel="sms", now=late)
    (record,) = _records(db_engine)
    assert record.next_attempt_at == dt.datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)
    sms = MemoryChannel(name="sms")
    assert _run(db_engine, {"sms": sms}, late + dt.timedelta(hours=2)).claimed == 0
    report = _run(db_engine, {"sms": sms}, dt.datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI))
    assert report.sent == 1 and len(sms.delivered) == 1


@pytest.mark.parametrize(("setting", "due"), [
    ("", dt.datetime(2025, 6, 1, 23, 30, tzinfo=SHANGHAI)),  # none: due at once
    ("23:00-07:00", dt.datetime(2025, 6, 2, 7, 0, tzinfo=SHANGHAI)),
])
def test_sms_planned_at_night_waits_for_the_configured_quiet_hours(
        db_engine: Engine, monkeypatch: pytest.MonkeyPatch, setting: str, due: dt.datetime,
) -> None:
    """What a run enqueues waits for the quiet hours the operator set
    (MIANSHEN_SMS_QUIET_HOURS), not for the default ones: with none set, a message planned
    at 23:30 is due at once, as the worker would send it."""
    monkeypatch.setenv("MIANSHEN_SMS_QUIET_HOURS", setting)
    late = dt.datetime(2025, 6, 1, 23, 30, tzinfo=SHANGHAI)
    _enqueue(db_engine, channel="sms", now=late)
    (record,) = _records(db_engine)
    assert record.next_attempt_at == due


def test_sms_due_before_quiet_hours_but_claimed_in_them_is_deferred_not_dropped(
    db_engine: Engine,
) -> None:
    _enqueue(db_engine, channel="sms", now=dt.datetime(2025, 6, 1, 21, 0, tzinfo=SHANGHAI))
    sms = MemoryChannel(name="sms")
    report = _run(db_engine, {"sms": sms}, dt.datetime(2025, 6, 1, 22, 15, tzinfo=SHANGHAI))
    assert report.deferred == 1 and sms.attempts == 0
    (record,) = _records(db_engine)
    assert record.status == "queued"
    assert record.next_attempt_at == dt.datetime(2025, 6, 2, 8, 0, tzinfo=SHANGHAI)


def test_email_is_not_held_by_sms_quiet_hours(db_engine: Engine) -> None:
    late = dt.datetime(2025, 6, 1, 23, 30, tzinfo=SHANGHAI)
    _enqueue(db_engine, channel="email", now=late)
    mail = MemoryChannel(name="email")
    assert _run(db_engine, {"email": mail}, late).sent == 1


def test_daily_cap_defers_the_rest_to_the_next_day(db_engine: Engine) -> None:
    rules = DeliveryRules(daily_cap=2)
    for policy in ("a", "b", "c"):  # three runs, three messages for one person
        _enqueue(db_engine, change(policy_id=policy), channel="email", rules=rules)
    mail = MemoryChannel(name="email")
    first = _run(db_engine, {"email": mail}, NOW, rules=rules, limit=1)
    second = _run(db_engine, {"email": mail}, NOW, rules=rules, limit=1)
    third = _run(db_engine, {"email": mail}, NOW, rules=rules, limit=1)
    assert (first.sent, second.sent, third.deferred) == (1, 1, 1)
    assert len(mail.delivered) == 2
    tomorrow = dt.datetime(2025, 6, 3, 0, 0, tzinfo=SHANGHAI)
    queued = [r for r in _records(db_engine) if r.status == "queued"]
    assert [r.next_attempt_at for r in queued] == [tomorrow]
    assert _run(db_engine, {"email": mail}, tomorrow, rules=rules).sent == 1


def test_inbox_is_not_capped(db_engine: Engine) -> None:
    rules = DeliveryRules(daily_cap=1)
    for policy in ("a", "b"):
        _enqueue(db_engine, change(policy_id=policy), rules=rules)
    inbox = MemoryChannel(name="inbox")
    assert _run(db_engine, {"inbox": inbox}, NOW, rules=rules).sent == 2


def test_a_slow_worker_that_lost_its_lease_does_not_mark_and_nothing_is_sent_twice(
    db_engine: Engine,
) -> None:
    _enqueue(db_engine)
    receiver = MemoryChannel(name="inbox")
    reports: list[DeliveryReport] = []

    class Slow(Channel):
        idempotent = True

        def send(self, message: OutboundMessage) -> Receipt:
            # while w1 is still sending, its lease runs out and w2 takes the message over
            reports.append(_run(db_engine, {"inbox": receiver}, NOW + dt.timedelta(seconds=11),
                                worker="w2"))
            return receiver.send(message)

    slow = _run(db_engine, {"inbox": Slow()}, NOW)
    assert reports[0].sent == 1
    assert (slow.sent, slow.lease_lost) == (0, 1)
    assert len(receiver.delivered) == 1
    (record,) = _records(db_engine)
    assert record.status == "sent" and record.lease_owner is None


def test_a_channel_bug_is_retried_and_does_not_stop_the_pass(db_engine: Engine) -> None:
    _enqueue(db_engine, channel="email")
    _enqueue(db_engine)

    class Buggy(Channel):
        def send(self, message: OutboundMessage) -> Receipt:
            raise RuntimeError("bug")

    inbox = MemoryChannel(name="inbox")
    report = _run(db_engine, {"email": Buggy(), "inbox": inbox}, NOW)
    assert (report.retried, report.sent) == (1, 1)
    (email,) = [r for r in _records(db_engine) if r.channel == "email"]
    assert email.status == "queued" and email.last_error == "channel email raised RuntimeError"


def test_deferrals_never_use_up_the_retries(db_engine: Engine) -> None:
    _enqueue(db_engine, channel="sms", now=dt.datetime(2025, 6, 1, 21, 0, tzinfo=SHANGHAI))
    sms = MemoryChannel(name="sms")
    retry = RetryPolicy(max_attempts=2)
    night = dt.datetime(2025, 6, 1, 23, 0, tzinfo=SHANGHAI)
    for day in range(5):  # claimed in quiet hours five nights running
        report = _run(db_engine, {"sms": sms}, night + dt.timedelta(days=day), retry=retry)
        assert report.deferred == 1 and report.dead == 0
        (record,) = _records(db_engine)
        assert record.status == "queued" and record.attempts == 0
        with session_factory(db_engine)() as s, s.begin():  # due again that night
            s.execute(outbox_table.update().values(next_attempt_at=record.created_at))
    morning = dt.datetime(2025, 6, 6, 9, 0, tzinfo=SHANGHAI)
    assert _run(db_engine, {"sms": sms}, morning, retry=retry).sent == 1
