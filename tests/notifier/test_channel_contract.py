"""The contract every channel passes: memory (reference), in-app inbox, webhook, SMTP, SMS.

Each channel is driven through the real worker and outbox against a real receiver (a local
HTTP server, a local aiosmtpd server, the store), and must: deliver a message once; deliver a
resent key once where it is idempotent (at least once otherwise); survive a crash between
send and mark; retry a receiver failure; show the receiver only masked personal data.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import Any

import pytest
from sqlalchemy import Engine

from notifier.abc import Channel, OutboundMessage, Receipt
from notifier.channels.inbox import InboxChannel, list_inbox
from notifier.channels.memory import MemoryChannel
from notifier.channels.sms import SmsChannel, SmsGateway
from notifier.channels.smtp import SmtpChannel
from notifier.channels.webhook import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookChannel,
    verify_signature,
)
from notifier.errors import PermanentChannelError, TransientChannelError
from notifier.links import Links
from notifier.masking import find_unmasked
from notifier.outbox import enqueue_changes
from notifier.rendering import render_message
from notifier.worker import RetryPolicy, run_delivery_once
from store import outbox
from store.db import session_factory

from .conftest import (
    NOW,
    PERSON_FIELDS,
    PERSON_ID,
    PERSON_PROFILE,
    WEBHOOK_SECRET,
    HttpReceiver,
    SmtpReceiver,
    direct_and_application,
    person_recipient,
)

CHANNELS = ("memory", "inbox", "webhook", "smtp", "sms")


class Crash(BaseException):
    """The worker process dies (not an error the worker could handle)."""


class CrashAfterSend(Channel):
    def __init__(self, inner: Channel) -> None:
        self.inner = inner
        self.idempotent = inner.idempotent

    def send(self, message: OutboundMessage) -> Receipt:
        self.inner.send(message)
        raise Crash


@dataclass
class Harness:
    outbox_name: str
    channel: Channel
    address: str | None
    received: Callable[[], list[str]]  # the content of every delivery the receiver kept
    break_receiver: Callable[[], None] | None = None
    repair_receiver: Callable[[], None] | None = None


@pytest.fixture(params=CHANNELS)
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """The channel under test and its receiver; receivers start only for their channel, and
    the database only for tests that use one (on every backend)."""
    name = request.param
    if name == "memory":
        mem = MemoryChannel()
        yield Harness(
            "memory", mem, "anywhere",
            lambda: ["\n".join(m.rendered.parts()) for m in mem.delivered],
            lambda: mem.fail_next(TransientChannelError(channel="memory", reason="down")),
            lambda: None,
        )
    elif name == "inbox":
        if "db_engine" not in request.fixturenames:
            yield Harness("inbox", InboxChannel(), None, lambda: [])
            return
        sessions = session_factory(request.getfixturevalue("db_engine"))

        def inbox_texts() -> list[str]:
            with sessions() as s:
                entries = list_inbox(s, recipient_kind="person", recipient_id=PERSON_ID)
            return ["\n".join(e.rendered.parts()) for e in entries]

        yield Harness("inbox", InboxChannel(), None, inbox_texts)
    elif name == "webhook":
        http_receiver: HttpReceiver = request.getfixturevalue("http_receiver")
        hook = WebhookChannel(secret=WEBHOOK_SECRET, allow_http=True, timeout_s=5)
        yield Harness(
            "webhook", hook, http_receiver.url,
            lambda: [r["body"].decode() for r in http_receiver.delivered],
            lambda: setattr(http_receiver, "status", 503),
            lambda: setattr(http_receiver, "status", 200),
        )
        hook.close()
    elif name == "smtp":
        smtp_receiver: SmtpReceiver = request.getfixturevalue("smtp_receiver")
        mail = SmtpChannel(host=smtp_receiver.host, port=smtp_receiver.port,
                           sender="noreply@mianshen.example.cn", timeout_s=5)

        def mail_texts() -> list[str]:
            texts = []
            for m in smtp_receiver.messages:
                parsed = BytesParser(policy=policy.default).parsebytes(m.as_bytes())
                parts = [p.get_content() for p in parsed.walk() if not p.is_multipart()]
                texts.append(str(parsed["Subject"]) + "\n" + "\n".join(parts))
            return texts

        yield Harness("email", mail, "citizen@example.cn", mail_texts,
                      smtp_receiver.stop, smtp_receiver.start)
    else:
        http_receiver = request.getfixturevalue("http_receiver")
        sms = SmsChannel(gateway=SmsGateway(url=http_receiver.url, api_key="k",
                                            allow_http=True))
        yield Harness(
            "sms", sms, "13800000000",
            lambda: [json.loads(r["body"])["text"] for r in http_receiver.delivered],
            lambda: setattr(http_receiver, "status", 503),
            lambda: setattr(http_receiver, "status", 200),
        )
        sms.close()


def _enqueue(db_engine: Engine, h: Harness) -> str:
    """One digest (a direct benefit and a pre-filled application) for a person; on SMS,
    which carries one change a text, the direct benefit alone."""
    changes = direct_and_application()
    if h.outbox_name == "sms":
        changes = changes[:1]
    addresses = {h.outbox_name: h.address} if h.address else {}
    with session_factory(db_engine)() as s, s.begin():
        enqueue_changes(
            s, changes,
            links=Links(base_url="https://mianshen.example.cn", secret=b"k"),
            as_of=dt.date(2025, 6, 1),
            recipients={("person", PERSON_ID): person_recipient(**addresses)},
            profiles={("person", PERSON_ID): PERSON_PROFILE},
            fields={"sh-severe-disability-care-subsidy": PERSON_FIELDS},
            enabled_channels=(h.outbox_name,),
            now=NOW,
        )
    with session_factory(db_engine)() as s:
        rows = outbox.list_messages(s)
    assert [r.channel for r in rows] == [h.outbox_name]
    return rows[0].idempotency_key


def _run(db_engine: Engine, channel: Channel, h: Harness, *, at: dt.datetime) -> Any:
    return run_delivery_once(
        session_factory(db_engine), {h.outbox_name: channel}, worker="w1", now=at,
        retry=RetryPolicy(max_attempts=3, base_s=60), lease_seconds=60,
    )


def _status(db_engine: Engine, key: str) -> str:
    with session_factory(db_engine)() as s:
        record = outbox.by_key(s, key)
    assert record is not None
    return record.status


def test_channel_delivers_a_queued_message_once(db_engine: Engine, harness: Harness) -> None:
    key = _enqueue(db_engine, harness)
    report = _run(db_engine, harness.channel, harness, at=NOW)
    assert (report.sent, report.dead, report.retried) == (1, 0, 0)
    assert _status(db_engine, key) == "sent"
    assert len(harness.received()) == 1
    again = _run(db_engine, harness.channel, harness, at=NOW + dt.timedelta(hours=1))
    assert again.claimed == 0
    assert len(harness.received()) == 1


def test_receiver_sees_only_masked_personal_data(db_engine: Engine, harness: Harness) -> None:
    _enqueue(db_engine, harness)
    _run(db_engine, harness.channel, harness, at=NOW)
    (text,) = harness.received()
    assert find_unmasked(text) == ()
    assert PERSON_ID not in text and "13800000000" not in text
    assert "3101**********1234" in text or harness.outbox_name == "sms"


def test_same_key_sent_twice_is_delivered_once_where_the_channel_is_idempotent(
    harness: Harness,
) -> None:
    payload = {
        "recipient": {"entity_kind": "person", "display_name": "张*"},
        "items": [{"kind": "benefit_notice", "policy_title": "婴幼儿照护专项附加扣除",
                   "benefit_period": "2025", "period_label": "2025年度",
                   "amount_fen": 200000, "amount_period": "month",
                   "amount_display": "2,000.00 元/月", "link": "https://x.cn/l/abcdefghijk"}],
    }
    message = OutboundMessage(
        idempotency_key="i-contract-twice", channel=harness.outbox_name,
        recipient_kind="person", recipient_id=PERSON_ID, kind="benefit_notice",
        address=harness.address, rendered=render_message("benefit_notice", payload),
    )
    first = harness.channel.send(message)
    second = harness.channel.send(message)
    assert first.provider_id
    if harness.outbox_name == "inbox":
        return  # the inbox shows a message when it is marked sent: see the worker tests
    if harness.channel.idempotent:
        assert len(harness.received()) == 1
        assert second.provider_id == first.provider_id
    else:  # at least once: a second send is a second delivery
        assert len(harness.received()) == 2


def test_crash_between_send_and_mark_does_not_deliver_twice_where_idempotent(
    db_engine: Engine, harness: Harness
) -> None:
    key = _enqueue(db_engine, harness)
    with pytest.raises(Crash):
        _run(db_engine, CrashAfterSend(harness.channel), harness, at=NOW)
    assert _status(db_engine, key) == "sending"
    still_leased = _run(db_engine, harness.channel, harness, at=NOW + dt.timedelta(seconds=30))
    assert still_leased.claimed == 0
    report = _run(db_engine, harness.channel, harness, at=NOW + dt.timedelta(seconds=61))
    assert report.sent == 1
    assert _status(db_engine, key) == "sent"
    expected = 1 if harness.channel.idempotent else 2
    assert len(harness.received()) == expected


def test_receiver_failure_is_retried_with_backoff_then_delivered(
    db_engine: Engine, harness: Harness
) -> None:
    if harness.break_receiver is None or harness.repair_receiver is None:
        pytest.skip("the in-app inbox has no remote receiver that can fail")
    key = _enqueue(db_engine, harness)
    harness.break_receiver()
    failed = _run(db_engine, harness.channel, harness, at=NOW)
    assert (failed.sent, failed.retried) == (0, 1)
    assert _status(db_engine, key) == "queued"
    harness.repair_receiver()
    too_early = _run(db_engine, harness.channel, harness, at=NOW + dt.timedelta(seconds=59))
    assert too_early.claimed == 0
    report = _run(db_engine, harness.channel, harness, at=NOW + dt.timedelta(seconds=60))
    assert report.sent == 1
    assert len(harness.received()) == 1


def test_message_without_an_address_is_refused_permanently(harness: Harness) -> None:
    if not harness.channel.needs_address:
        pytest.skip(f"{harness.outbox_name} needs no address")
    payload = {"recipient": {"entity_kind": "person", "display_name": None},
               "items": [{"kind": "revocation", "policy_title": "t", "benefit_period": "2025",
                          "reason": "不再符合条件"}]}
    message = OutboundMessage(
        idempotency_key="i-no-address", channel=harness.outbox_name, recipient_kind="person",
        recipient_id=PERSON_ID, kind="revocation", address=None,
        rendered=render_message("revocation", payload),
    )
    with pytest.raises(PermanentChannelError):
        harness.channel.send(message)


def test_webhook_signature_verifies_with_the_shared_secret(
    db_engine: Engine, http_receiver: HttpReceiver
) -> None:
    hook = WebhookChannel(secret=WEBHOOK_SECRET, allow_http=True)
    h = Harness("webhook", hook, http_receiver.url, lambda: [])
    _enqueue(db_engine, h)
    _run(db_engine, hook, h, at=NOW)
    (request,) = http_receiver.delivered
    headers = {k.lower(): v for k, v in request["headers"].items()}
    ts = headers[TIMESTAMP_HEADER.lower()]
    sig = headers[SIGNATURE_HEADER.lower()]
    assert verify_signature(WEBHOOK_SECRET, timestamp=ts, body=request["body"], signature=sig,
                            now=float(ts))
    assert not verify_signature(b"another-secret-xxxxxxxx", timestamp=ts, body=request["body"],
                                signature=sig, now=float(ts))
    assert not verify_signature(WEBHOOK_SECRET, timestamp=ts, body=request["body"] + b" ",
                                signature=sig, now=float(ts))
    hook.close()


def test_client_error_from_a_gateway_goes_to_the_dead_letters_at_once(
    db_engine: Engine, http_receiver: HttpReceiver
) -> None:
    sms = SmsChannel(gateway=SmsGateway(url=http_receiver.url, allow_http=True))
    h = Harness("sms", sms, "13800000000", lambda: [])
    key = _enqueue(db_engine, h)
    http_receiver.status = 400
    report = _run(db_engine, sms, h, at=NOW)
    assert report.dead == 1
    assert _status(db_engine, key) == "dead"
    with session_factory(db_engine)() as s:
        (dead,) = outbox.dead_letters(s)
    assert dead.last_error is not None and "HTTP 400" in dead.last_error
    sms.close()


def test_webhook_refuses_plain_http_unless_allowed_and_does_not_echo_the_url() -> None:
    hook = WebhookChannel(secret=WEBHOOK_SECRET)
    message = OutboundMessage(
        idempotency_key="i-http", channel="webhook", recipient_kind="enterprise",
        recipient_id="E", kind="revocation", address="http://erp.example.cn/hook?token=s3cret",
        rendered=render_message("revocation", {
            "recipient": {"display_name": None},
            "items": [{"kind": "revocation", "policy_title": "t", "benefit_period": "2025",
                       "reason": None}]}),
    )
    with pytest.raises(PermanentChannelError) as caught:
        hook.send(message)
    assert "s3cret" not in str(caught.value)
    hook.close()


def test_sms_gateway_adapter_uses_the_configured_fields_and_never_cuts_the_link(
    http_receiver: HttpReceiver,
) -> None:
    gateway = SmsGateway(url=http_receiver.url, allow_http=True, to_field="mobile",
                         text_field="content", idempotency_header=None,
                         api_key="k", api_key_header="X-Api-Key", api_key_prefix="")
    sms = SmsChannel(gateway=gateway)
    assert sms.idempotent is False  # no idempotency header: at least once
    link = "https://mianshen.example.cn/l/abcdefghijk"
    payload = {"recipient": {"display_name": None},
               "items": [{"kind": "benefit_notice", "policy_title": "很长的政策名称" * 5,
                          "benefit_period": "2025", "period_label": "2025年度",
                          "amount_fen": None, "amount_period": "year",
                          "amount_display": "待核定", "link": link}]}
    message = OutboundMessage(
        idempotency_key="i-sms", channel="sms", recipient_kind="person", recipient_id="x",
        kind="benefit_notice", address="13800000000",
        rendered=render_message("benefit_notice", payload))
    sms.send(message)
    (request,) = http_receiver.delivered
    body = json.loads(request["body"])
    assert body["mobile"] == "13800000000"
    # one 70-character segment: the title shrinks, the link stays whole
    assert len(body["content"]) <= 70 and body["content"].endswith(link)
    assert "…" in body["content"]
    assert request["headers"]["X-Api-Key"] == "k"
    assert "Idempotency-Key" not in request["headers"]
    sms.close()
    narrow = SmsChannel(gateway=SmsGateway(url=http_receiver.url, allow_http=True,
                                           max_length=30))
    with pytest.raises(PermanentChannelError):  # refused, never cut
        narrow.send(message)
    narrow.close()
