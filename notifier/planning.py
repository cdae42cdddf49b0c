"""Delivery planning: entitlement changes -> messages, one per recipient and channel per run.

Pure functions; nothing here touches the store or a channel.

- ``new`` + ``direct`` -> ``benefit_direct`` (push with a one-click confirmation link);
- ``new`` + ``notice`` -> ``benefit_notice`` ("已为您自动享受");
- ``new`` + ``apply``, and every ``undetermined`` -> ``application`` (pre-filled);
- ``revoked`` -> ``revocation`` with its reason; ``amount_changed`` -> ``amount_changed``;
- ``new`` with any other outcome (ineligible, superseded, over_budget) pushes nothing.

With ``digest=True`` a recipient with several changes in one run gets one ``digest`` message
listing them all, instead of one message per policy.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence

from notifier.application import build_application
from notifier.formatting import format_amount
from notifier.links import Links
from notifier.masking import mask_name
from notifier.model import (
    PAYLOAD_VERSION,
    EntitlementChange,
    FieldInfo,
    MessageKind,
    PlannedMessage,
    Recipient,
)

PUSHED_OUTCOMES = ("eligible", "undetermined")
DEFAULT_CHANNELS = ("inbox", "webhook", "email", "sms")


def item_kind(change: EntitlementChange) -> MessageKind | None:
    """The message kind for one change, or None when nothing is pushed.

    >>> from notifier.model import EntitlementChange
    >>> c = EntitlementChange(entity_kind="person", entity_id="X", policy_id="p",
    ...     policy_version="v", policy_title="t", benefit_period="2025", change="new",
    ...     outcome="undetermined", amount=None, amount_period=None, delivery="direct")
    >>> item_kind(c)
    'application'
    """
    if change.change == "revoked":
        return "revocation"
    if change.change == "amount_changed":
        return "amount_changed"
    if change.outcome not in PUSHED_OUTCOMES:
        return None
    if change.outcome == "undetermined" or change.delivery == "apply":
        return "application"
    return "benefit_direct" if change.delivery == "direct" else "benefit_notice"


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def item_key(change: EntitlementChange, kind: str) -> str:
    """The idempotency key of one change: (entity, policy, version, kind), hashed so that no
    personal data (a person's ID number) travels in a key handed to a provider."""
    return "i-" + _hash(change.entity_kind, change.entity_id, change.policy_id,
                        change.policy_version, kind)


def _condition_labels(change: EntitlementChange, truth: bool | None) -> list[str]:
    """Labels of the explained conditions with this truth value (values are never copied:
    a message says which condition, the web page shows the figures to whoever may see them)."""
    return [
        str(c["label"])
        for c in change.explanation or ()
        if c.get("label") and "truth" in c and c["truth"] is truth
    ]


def _reason(change: EntitlementChange) -> str | None:
    if change.reason:
        return change.reason
    failed = _condition_labels(change, False)
    return "不再满足：" + "、".join(failed) if failed else None


def _item_payload(
    change: EntitlementChange,
    kind: MessageKind,
    *,
    links: Links,
    profile: Mapping[str, object],
    fields: Sequence[FieldInfo],
    as_of: dt.date,
    source_as_of: Mapping[str, dt.date] | None,
) -> dict[str, object]:
    entitlement = {
        "entity_kind": change.entity_kind,
        "entity_id": change.entity_id,
        "policy_id": change.policy_id,
        "benefit_period": change.benefit_period,
    }
    item: dict[str, object] = {
        "key": item_key(change, kind),
        "kind": kind,
        "policy_id": change.policy_id,
        "policy_version": change.policy_version,
        "policy_title": change.policy_title,
        "benefit_period": change.benefit_period,
        "change": change.change,
        "outcome": change.outcome,
        "delivery": change.delivery,
        "amount": change.amount,
        "amount_period": change.amount_period,
        "amount_display": format_amount(change.amount, change.amount_period),
        "reason": _reason(change),
        "open_conditions": _condition_labels(change, None),
    }
    if kind == "benefit_direct":
        item["confirm_url"] = links.confirm_url(**entitlement)
    if kind == "application":
        application = build_application(
            change, profile, fields, as_of=as_of, source_as_of=source_as_of
        )
        item["application"] = application.to_json()
        item["application_url"] = links.application_url(**entitlement)
    return item


def _display_name(recipient: Recipient) -> str | None:
    if recipient.display_name is None:
        return None
    if recipient.entity_kind == "person":
        return mask_name(recipient.display_name)
    return recipient.display_name


def recipient_channels(recipient: Recipient, enabled: Collection[str]) -> tuple[str, ...]:
    """The channels a recipient is reached on: the inbox, plus every enabled channel it has
    an address for, minus those it opted out of."""
    chosen = [
        name
        for name in DEFAULT_CHANNELS
        if name in enabled
        and (name == "inbox" or name in recipient.addresses)
        and name not in recipient.opted_out
    ]
    extra = sorted(
        n for n in recipient.addresses
        if n in enabled and n not in chosen and n not in recipient.opted_out
    )
    return (*chosen, *extra)


def plan_messages(
    changes: Iterable[EntitlementChange],
    *,
    links: Links,
    as_of: dt.date,
    recipients: Mapping[tuple[str, str], Recipient] | None = None,
    profiles: Mapping[tuple[str, str], Mapping[str, object]] | None = None,
    fields: Mapping[str, Sequence[FieldInfo]] | None = None,
    source_as_of: Mapping[str, dt.date] | None = None,
    enabled_channels: Collection[str] = DEFAULT_CHANNELS,
    digest: bool = True,
) -> list[PlannedMessage]:
    """The messages for a batch of entitlement changes (normally one run's diff).

    ``recipients``, ``profiles`` are keyed by (entity_kind, entity_id); ``fields`` by policy id
    (the fields the policy reads, for pre-filled applications). A missing recipient is reached
    in the in-app inbox only. The result is deterministic: the same changes give the same
    messages with the same idempotency keys, in the same order.
    """
    recipients = recipients or {}
    profiles = profiles or {}
    fields = fields or {}
    grouped: dict[tuple[str, str], list[dict[str, object]]] = {}
    for change in changes:
        kind = item_kind(change)
        if kind is None:
            continue
        entity = (change.entity_kind, change.entity_id)
        grouped.setdefault(entity, []).append(
            _item_payload(
                change,
                kind,
                links=links,
                profile=profiles.get(entity, {}),
                fields=fields.get(change.policy_id, ()),
                as_of=as_of,
                source_as_of=source_as_of,
            )
        )
    planned: list[PlannedMessage] = []
    for entity in sorted(grouped):
        items = sorted(grouped[entity], key=lambda i: (str(i["policy_id"]), str(i["key"])))
        items = list({str(i["key"]): i for i in items}.values())  # same change twice: once
        recipient = recipients.get(entity) or Recipient(entity_kind=entity[0], entity_id=entity[1])
        batches = [items] if digest else [[i] for i in items]
        for batch in batches:
            planned.extend(_messages_for(recipient, batch, links=links, enabled=enabled_channels))
    return planned


def _messages_for(
    recipient: Recipient,
    items: list[dict[str, object]],
    *,
    links: Links,
    enabled: Collection[str],
) -> list[PlannedMessage]:
    kind: MessageKind = "digest" if len(items) > 1 else items[0]["kind"]  # type: ignore[assignment]
    out: list[PlannedMessage] = []
    for channel in recipient_channels(recipient, enabled):
        if kind == "digest":
            key = "d-" + _hash(recipient.entity_kind, recipient.entity_id, channel,
                               *sorted(str(i["key"]) for i in items))
        else:
            key = f"{items[0]['key']}-{channel}"
        payload: dict[str, object] = {
            "version": PAYLOAD_VERSION,
            "kind": kind,
            "recipient": {
                "entity_kind": recipient.entity_kind,
                "display_name": _display_name(recipient),
            },
            "items": items,
            "item_keys": [i["key"] for i in items],
            "address": recipient.addresses.get(channel),
            "inbox_url": links.inbox_url,
        }
        out.append(
            PlannedMessage(
                idempotency_key=key,
                recipient_kind=recipient.entity_kind,
                recipient_id=recipient.entity_id,
                channel=channel,
                kind=kind,
                payload=payload,
            )
        )
    return out
