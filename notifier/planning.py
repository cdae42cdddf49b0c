"""Delivery planning: entitlement changes -> messages, per recipient and channel.

Pure functions; nothing here touches the store or a channel (links come from the ``links``
issuer the caller passes).

- ``new`` + ``direct`` -> ``benefit_direct`` (push with a one-click confirmation link);
- ``new`` + ``notice`` -> ``benefit_notice`` ("已为您自动享受");
- ``new`` + ``apply``, and every ``undetermined`` -> ``application`` (pre-filled);
- ``renewed`` -> ``renewal`` (a new period of a benefit the recipient confirmed before);
- ``revoked`` -> ``revocation`` with its reason; ``amount_changed`` -> ``amount_changed``;
- ``decided`` -> ``application_decision`` (approved, or rejected with the reason);
- ``new`` with any other outcome (superseded, over_budget) pushes nothing.

Each change is an *item* with a key (entity, policy, benefit period, kind of message): a
recipient is told of it at most once per channel (DESIGN §3), whatever reruns plan. On
channels that carry several items (inbox, e-mail, webhook) a recipient with several changes
in one batch gets one ``digest``; a per-item channel (SMS) gets one message per item.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from notifier.application import build_application
from notifier.channels.registry import ChannelSpec, specs
from notifier.links import LinkIssuer, Purpose
from notifier.masking import mask_name
from notifier.model import (
    PAYLOAD_VERSION,
    EntitlementChange,
    FieldInfo,
    MessageKind,
    PlannedMessage,
    Recipient,
)
from notifier.sms_text import period_short
from store.entitlements import no_longer_meets
from store.money import amount_text

PUSHED_OUTCOMES = ("eligible", "undetermined")
ALWAYS_TOLD: frozenset[str] = frozenset({"revocation", "application_decision"})


def default_channels() -> tuple[str, ...]:
    return tuple(s.name for s in specs())


def item_kind(change: EntitlementChange) -> MessageKind | None:
    """The message kind for one change, or None when nothing is pushed.

    >>> from notifier.model import EntitlementChange
    >>> c = EntitlementChange(entity_kind="person", entity_id="X", policy_id="p",
    ...     policy_version="v", policy_title="t", benefit_period="2025", change="new",
    ...     outcome="undetermined", amount_fen=None, amount_period=None, delivery="direct")
    >>> item_kind(c)
    'application'
    """
    if change.change == "revoked":
        return "revocation"
    if change.change == "decided":
        return "application_decision"
    if change.change == "amount_changed":
        return "amount_changed"
    if change.outcome not in PUSHED_OUTCOMES:
        return None
    if change.change == "renewed" and change.outcome == "eligible":
        return "renewal"
    if change.outcome == "undetermined" or change.delivery == "apply":
        return "application"
    return "benefit_direct" if change.delivery == "direct" else "benefit_notice"


def _hash(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def item_key(change: EntitlementChange, kind: str) -> str:
    """The idempotency key of one change: (entity, policy, benefit period, kind of message),
    hashed so that no personal data (a person's ID number) travels in a key handed to a
    provider. A decision adds what was decided."""
    return "i-" + _hash(change.entity_kind, change.entity_id, change.policy_id,
                        change.benefit_period, kind, change.decision or "")


PURPOSE_OF: dict[str, Purpose] = {"benefit_direct": "confirm", "application": "apply"}


def period_label(period: str) -> str:
    """``2025-11`` -> ``2025年11月``; ``2025`` -> ``2025年度``; ``once`` -> ``一次性``.

    >>> period_label("2025-11"), period_label("2025"), period_label("once")
    ('2025年11月', '2025年度', '一次性')
    """
    if len(period) == 7 and period[4] == "-":
        return f"{period[:4]}年{period_short(period)}"
    if len(period) == 4 and period.isdigit():
        return f"{period}年度"
    return "一次性"


def _item_payload(
    change: EntitlementChange,
    kind: MessageKind,
    *,
    links: LinkIssuer,
    profile: Mapping[str, object],
    fields: Sequence[FieldInfo],
    as_of: dt.date,
    source_as_of: Mapping[str, dt.date] | None,
) -> dict[str, object]:
    key = item_key(change, kind)
    item: dict[str, object] = {
        "key": key,
        "kind": kind,
        "entitlement_id": change.entitlement_id,
        "policy_id": change.policy_id,
        "policy_version": change.policy_version,
        "policy_title": change.policy_title,
        "benefit_period": change.benefit_period,
        "period_label": period_label(change.benefit_period),
        "change": change.change,
        "outcome": change.outcome,
        "delivery": change.delivery,
        "amount_fen": change.amount_fen,
        "amount_period": change.amount_period,
        "amount_display": amount_text(change.amount_fen, period=change.amount_period,
                                      kind=change.amount_kind),
        "amount_kind": change.amount_kind,
        "reason": change.reason or (
            no_longer_meets(change.failed_conditions) if change.failed_conditions else None
        ),
        "open_conditions": list(change.open_conditions),
        "why": change.why,
        "decision": change.decision,
        "link": None,
    }
    if change.entitlement_id is not None:
        item["link"] = links.url(entitlement_id=change.entitlement_id,
                                 purpose=PURPOSE_OF.get(kind, "view"), key=key)
    if kind == "application":
        application = build_application(
            change, profile, fields, as_of=as_of, source_as_of=source_as_of
        )
        item["application"] = application.to_json()
        item["to_fill_count"] = len(application.to_fill)
    return item


def _display_name(recipient: Recipient) -> str | None:
    if recipient.display_name is None:
        return None
    if recipient.entity_kind == "person":
        return mask_name(recipient.display_name)
    return recipient.display_name


@dataclass(frozen=True, kw_only=True)
class Route:
    """One way to reach a recipient: a channel, its address, and the address's own id
    (``suffix`` tells two webhooks of one recipient apart in the keys)."""

    spec: ChannelSpec
    address: str | None
    address_ref: str | None
    suffix: str


def recipient_routes(recipient: Recipient, enabled: Collection[str]) -> list[Route]:
    """The channels a recipient is reached on, in registry order: the inbox always, every
    other enabled channel it has an address for and did not refuse (``channels`` limits them
    to those it chose)."""
    routes: list[Route] = []
    registered = {s.name for s in specs()}
    for name in enabled:  # explicitly enabled outside the registry: the in-memory reference
        if name not in registered and name not in recipient.opted_out:
            extra = ChannelSpec(name=name, label=name, address_kind=None, per_item=False,
                                build=lambda _s: None)
            routes.append(Route(spec=extra, address=None, address_ref=None, suffix=name))
    for spec in specs():
        name = spec.name
        if name not in enabled or name in recipient.opted_out:
            continue
        wanted = recipient.channels is None or name in recipient.channels or name == "inbox"
        if not wanted:
            continue
        if spec.address_kind is None:
            routes.append(Route(spec=spec, address=None, address_ref=None, suffix=name))
            continue
        if spec.address_kind == "webhook":
            for target in recipient.webhooks:
                routes.append(Route(spec=spec, address=target.url,
                                    address_ref=f"webhook:{target.id}",
                                    suffix=f"{name}{target.id}"))
            shared = recipient.addresses.get("webhook")
            if shared:
                routes.append(Route(spec=spec, address=shared, address_ref=None, suffix=name))
            continue
        address = recipient.addresses.get(spec.address_kind) or recipient.addresses.get(name)
        if address:
            routes.append(Route(spec=spec, address=address, address_ref=None, suffix=name))
    return routes


def recipient_channels(recipient: Recipient, enabled: Collection[str]) -> tuple[str, ...]:
    """The names of the channels a recipient is reached on (see :func:`recipient_routes`)."""
    return tuple(dict.fromkeys(r.spec.name for r in recipient_routes(recipient, enabled)))


def plan_messages(
    changes: Iterable[EntitlementChange],
    *,
    links: LinkIssuer,
    as_of: dt.date,
    recipients: Mapping[tuple[str, str], Recipient] | None = None,
    profiles: Mapping[tuple[str, str], Mapping[str, object]] | None = None,
    fields: Mapping[str, Sequence[FieldInfo]] | None = None,
    source_as_of: Mapping[str, dt.date] | None = None,
    enabled_channels: Collection[str] | None = None,
    digest: bool = True,
    already: Collection[str] = (),
) -> list[PlannedMessage]:
    """The messages for a batch of entitlement changes (normally one run's diff).

    ``recipients``, ``profiles`` are keyed by (entity_kind, entity_id); ``fields`` by policy id
    (the fields the policy reads, for pre-filled applications). A missing recipient is reached
    in the in-app inbox only. ``already`` holds item-channel keys delivered before: those
    items are left out of that channel. The result is deterministic: the same changes give the
    same messages with the same idempotency keys, in the same order.
    """
    recipients = recipients or {}
    profiles = profiles or {}
    fields = fields or {}
    enabled = default_channels() if enabled_channels is None else tuple(enabled_channels)
    grouped: dict[tuple[str, str], list[dict[str, object]]] = {}
    for change in changes:
        kind = item_kind(change)
        if kind is None:
            continue
        entity = (change.entity_kind, change.entity_id)
        recipient = recipients.get(entity)
        if (recipient is not None and kind not in ALWAYS_TOLD
                and change.delivery in recipient.muted_deliveries):
            continue
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
    done = set(already)
    planned: list[PlannedMessage] = []
    for entity in sorted(grouped):
        items = sorted(grouped[entity], key=lambda i: (str(i["policy_id"]), str(i["key"])))
        items = list({str(i["key"]): i for i in items}.values())  # same change twice: once
        recipient = recipients.get(entity) or Recipient(entity_kind=entity[0], entity_id=entity[1])
        for route in recipient_routes(recipient, enabled):
            fresh = [i for i in items if f"{i['key']}-{route.suffix}" not in done]
            if not fresh:
                continue
            batches = ([fresh] if digest and not route.spec.per_item
                       else [[i] for i in fresh])
            for batch in batches:
                planned.append(_message(recipient, batch, route=route, links=links))
    return planned


def _message(
    recipient: Recipient, items: list[dict[str, object]], *, route: Route, links: LinkIssuer
) -> PlannedMessage:
    kind: MessageKind = "digest" if len(items) > 1 else items[0]["kind"]  # type: ignore[assignment]
    item_channel_keys = tuple(f"{i['key']}-{route.suffix}" for i in items)
    if kind == "digest":
        key = "d-" + _hash(recipient.entity_kind, recipient.entity_id, *item_channel_keys)
    else:
        key = item_channel_keys[0]
    payload: dict[str, object] = {
        "version": PAYLOAD_VERSION,
        "kind": kind,
        "recipient": {
            "entity_kind": recipient.entity_kind,
            "display_name": _display_name(recipient),
        },
        "items": items,
        "item_keys": [i["key"] for i in items],
        "address": route.address,
        "address_ref": route.address_ref,
        "inbox_url": links.inbox_url,
        "quiet_hours": list(recipient.quiet_hours) if recipient.quiet_hours else None,
    }
    return PlannedMessage(
        idempotency_key=key,
        recipient_kind=recipient.entity_kind,
        recipient_id=recipient.entity_id,
        channel=route.spec.name,
        kind=kind,
        payload=payload,
        item_channel_keys=item_channel_keys,
    )
