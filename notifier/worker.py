"""The delivery worker: claim due messages with leases, render, send, mark.

``run_delivery_once`` is one pass; ``mianshen notify`` runs it once and the scheduler runs it
continuously. Each step is its own transaction: the claim is committed before anything is
sent (so the lease is visible to other workers), and each message is marked on its own.

Guarantees:

- A message is marked ``sent`` once; a failure is retried with exponential backoff and goes
  to the dead letters (``store.outbox.dead_letters``) after ``max_attempts`` claims, or at
  once for a permanent error (4xx, refused address, a message that fails the masking scan).
- A worker that dies after sending and before marking leaves the message ``sending`` with a
  lease; when the lease expires another pass claims it and sends it again with the same
  idempotency key. Channels whose receiver honours the key (inbox, webhook, an SMS gateway
  with an idempotency header, the memory channel) deliver it once; SMTP and an SMS gateway
  without one deliver it at least once (twice in that case).
- Quiet hours and the daily cap defer a message (back to the queue, due later); they never
  drop it, and a deferral does not count as an attempt (``store.outbox.defer``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from notifier.abc import Channel, OutboundMessage
from notifier.delivery_rules import DeliveryRules, QuietHours
from notifier.errors import ChannelError, ConfigurationError, NotifierError
from notifier.outbox import sent_today
from notifier.rendering import render_message
from store import outbox as store_outbox
from store.errors import LeaseError
from store.types import utcnow

log = logging.getLogger("mianshen.notifier")


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Exponential backoff: ``base_s * factor ** (attempt - 1)``, at most ``max_delay_s``;
    dead letter after ``max_attempts`` attempts (deferrals do not count).

    >>> RetryPolicy(base_s=60).delay(3)
    datetime.timedelta(seconds=240)
    """

    max_attempts: int = 8
    base_s: float = 60.0
    factor: float = 2.0
    max_delay_s: float = 6 * 3600.0

    def delay(self, attempts: int) -> dt.timedelta:
        seconds = self.base_s * self.factor ** max(attempts - 1, 0)
        return dt.timedelta(seconds=min(seconds, self.max_delay_s))


@dataclass(kw_only=True)
class DeliveryReport:
    claimed: int = 0
    sent: int = 0
    duplicates: int = 0  # the receiver already had the key: delivered earlier, not again
    retried: int = 0
    dead: int = 0
    deferred: int = 0
    lease_lost: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


SessionFactory = Callable[[], Session]


def recipient_quiet_end(payload: Mapping[str, object], channel: str, now: dt.datetime, *,
                        tz: str) -> dt.datetime | None:
    """The end of the recipient's own quiet hours (我的订阅) when ``now`` falls in them, on
    every channel but the in-app inbox (which disturbs no one)."""
    window = payload.get("quiet_hours")
    if channel == "inbox" or not isinstance(window, list | tuple) or len(window) != 2:
        return None
    try:
        start, end = (dt.time.fromisoformat(str(t)) for t in window)
        quiet = QuietHours(start=start, end=end, tz=tz)
    except (ValueError, ConfigurationError):
        return None
    return quiet.until(now)


def run_delivery_once(
    sessions: SessionFactory,
    channels: Mapping[str, Channel],
    *,
    worker: str,
    now: dt.datetime | None = None,
    limit: int = 100,
    lease_seconds: float = 300.0,
    retry: RetryPolicy | None = None,
    rules: DeliveryRules | None = None,
) -> DeliveryReport:
    """Claim up to ``limit`` due messages and try each once. ``channels`` maps the outbox's
    channel names to channels; a message for a channel that is not configured is retried.
    ``now`` fixes the clock (tests, replays); by default each step reads the current time."""
    clock: Callable[[], dt.datetime] = (lambda: now) if now is not None else utcnow
    retry = retry or RetryPolicy()
    rules = rules or DeliveryRules()
    report = DeliveryReport()
    with sessions() as session, session.begin():
        records = store_outbox.claim(
            session, worker=worker, limit=limit, lease_seconds=lease_seconds, now=clock()
        )
    report.claimed = len(records)
    for record in records:
        _deliver(sessions, record, channels, worker=worker, now=clock(), retry=retry,
                 rules=rules, report=report)
    log.info("delivery pass", extra={"worker": worker, **report.as_dict()})
    return report


def _deliver(
    sessions: SessionFactory,
    record: store_outbox.OutboxRecord,
    channels: Mapping[str, Channel],
    *,
    worker: str,
    now: dt.datetime,
    retry: RetryPolicy,
    rules: DeliveryRules,
    report: DeliveryReport,
) -> None:
    def settle(action: Callable[[Session], None]) -> bool:
        try:
            with sessions() as session, session.begin():
                action(session)
        except LeaseError:
            report.lease_lost += 1
            log.warning("lease lost", extra={"message_id": record.id, "worker": worker})
            return False
        return True

    def fail(error: str, *, retryable: bool) -> None:
        dead = not retryable or record.attempts >= retry.max_attempts
        retry_at = None if dead else rules.next_slot(
            record.channel, now + retry.delay(record.attempts)
        )
        if settle(lambda s: store_outbox.mark_failed(
            s, record.id, worker=worker, now=now, error=error, retry_at=retry_at
        )):
            if dead:
                report.dead += 1
            else:
                report.retried += 1
        log.info("delivery failed", extra={"message_id": record.id, "channel": record.channel,
                                            "error": error, "dead": dead})

    def defer(until: dt.datetime, why: str) -> None:
        if settle(lambda s: store_outbox.defer(
            s, record.id, worker=worker, now=now, until=until, reason=why
        )):
            report.deferred += 1

    channel = channels.get(record.channel)
    if channel is None:
        fail(f"channel {record.channel!r} is not configured", retryable=True)
        return
    quiet_end = rules.defer_until(record.channel, now) or recipient_quiet_end(
        record.payload, record.channel, now, tz=rules.tz)
    if quiet_end is not None:
        defer(quiet_end, "quiet hours")
        return
    if rules.capped(record.channel) and rules.daily_cap is not None:
        with sessions() as session:
            count = sent_today(session, recipient_kind=record.recipient_kind,
                               recipient_id=record.recipient_id, rules=rules, now=now)
        if count >= rules.daily_cap:
            defer(rules.next_slot(record.channel, rules.local_day(now)[1]), "daily cap")
            return
    payload = record.payload
    try:
        rendered = render_message(record.kind, payload)
    except NotifierError as exc:  # a message that cannot be rendered safely never goes
        fail(str(exc), retryable=False)
        return
    address = payload.get("address")
    message = OutboundMessage(
        idempotency_key=record.idempotency_key,
        channel=record.channel,
        recipient_kind=record.recipient_kind,
        recipient_id=record.recipient_id,
        kind=record.kind,
        address=str(address) if address else None,
        address_ref=str(payload["address_ref"]) if payload.get("address_ref") else None,
        rendered=rendered,
        items=tuple(dict(i) for i in payload.get("items", [])),
    )
    try:
        receipt = channel.send(message)
    except ChannelError as exc:
        fail(str(exc), retryable=exc.retryable)
        return
    except Exception as exc:  # a bug in a channel: retry (the key guards against a repeat)
        fail(f"channel {record.channel} raised {type(exc).__name__}", retryable=True)
        return
    if settle(lambda s: store_outbox.mark_sent(
        s, record.id, worker=worker, now=now, receipt=receipt.provider_id
    )):
        report.sent += 1
        report.duplicates += int(receipt.duplicate)
