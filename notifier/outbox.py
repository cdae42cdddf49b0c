"""From planned messages to the store's outbox, in the caller's transaction.

Call :func:`enqueue_changes` in the same transaction that records the entitlement changes:
either both are committed or neither is. Enqueueing is idempotent on the message key, so a
rerun of the same run adds nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from notifier.delivery_rules import DeliveryRules
from notifier.links import LinkIssuer
from notifier.model import EntitlementChange, FieldInfo, PlannedMessage, Recipient
from notifier.planning import item_key, item_kind, plan_messages, recipient_routes
from store import outbox as store_outbox
from store.schema import outbox as outbox_table
from store.types import utcnow


def to_outbox(
    message: PlannedMessage, *, rules: DeliveryRules, now: dt.datetime
) -> store_outbox.OutboxMessage:
    """The store's record for a planned message; a message planned in its channel's quiet
    hours is due when they end."""
    not_before = message.not_before or rules.defer_until(message.channel, now)
    return store_outbox.OutboxMessage(
        idempotency_key=message.idempotency_key,
        recipient_kind=message.recipient_kind,
        recipient_id=message.recipient_id,
        channel=message.channel,
        kind=message.kind,
        payload=dict(message.payload),
        not_before=not_before,
        item_keys=message.item_channel_keys,
    )


def enqueue_messages(
    session: Session,
    messages: Iterable[PlannedMessage],
    *,
    rules: DeliveryRules | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Add planned messages to the outbox; returns how many were new. ``rules`` (default:
    the configured ones, :meth:`notifier.settings.NotifierSettings.delivery_rules`) decide
    which messages wait for the end of their channel's quiet hours."""
    now = now or utcnow()
    if rules is None:
        from notifier.settings import NotifierSettings

        rules = NotifierSettings().delivery_rules()
    return store_outbox.enqueue(
        session, [to_outbox(m, rules=rules, now=now) for m in messages], now=now
    )


def enqueue_changes(
    session: Session,
    changes: Sequence[EntitlementChange],
    *,
    links: LinkIssuer,
    as_of: dt.date,
    recipients: Mapping[tuple[str, str], Recipient] | None = None,
    profiles: Mapping[tuple[str, str], Mapping[str, object]] | None = None,
    fields: Mapping[str, Sequence[FieldInfo]] | None = None,
    source_as_of: Mapping[str, dt.date] | None = None,
    enabled_channels: Collection[str] | None = None,
    digest: bool = True,
    rules: DeliveryRules | None = None,
    now: dt.datetime | None = None,
) -> int:
    """Plan the messages for ``changes`` and enqueue them in ``session``'s transaction; a
    change already told on a channel (by an earlier message, a digest included) is not told
    there again."""
    already = store_outbox.known_item_keys(
        session, _candidate_keys(changes, recipients or {}, enabled_channels)
    )
    planned = plan_messages(
        changes,
        links=links,
        as_of=as_of,
        recipients=recipients,
        profiles=profiles,
        fields=fields,
        source_as_of=source_as_of,
        enabled_channels=enabled_channels,
        digest=digest,
        already=already,
    )
    links.flush()  # the links the messages carry, in the same transaction
    return enqueue_messages(session, planned, rules=rules, now=now)


def _candidate_keys(
    changes: Sequence[EntitlementChange],
    recipients: Mapping[tuple[str, str], Recipient],
    enabled: Collection[str] | None,
) -> list[str]:
    from notifier.planning import default_channels

    names = default_channels() if enabled is None else tuple(enabled)
    keys: list[str] = []
    for change in changes:
        kind = item_kind(change)
        if kind is None:
            continue
        recipient = recipients.get((change.entity_kind, change.entity_id)) or Recipient(
            entity_kind=change.entity_kind, entity_id=change.entity_id)
        key = item_key(change, kind)
        keys.extend(f"{key}-{r.suffix}" for r in recipient_routes(recipient, names))
    return keys


def sent_today(
    session: Session,
    *,
    recipient_kind: str,
    recipient_id: str,
    rules: DeliveryRules,
    now: dt.datetime,
) -> int:
    """Messages sent to a recipient on capped channels during ``now``'s local day."""
    start, end = rules.local_day(now)
    exempt = sorted(rules.cap_exempt)
    stmt = select(func.count()).where(
        outbox_table.c.recipient_kind == recipient_kind,
        outbox_table.c.recipient_id == recipient_id,
        outbox_table.c.status == "sent",
        outbox_table.c.sent_at >= start,
        outbox_table.c.sent_at < end,
        outbox_table.c.channel.not_in(exempt),
    )
    return int(session.execute(stmt).scalar_one())
