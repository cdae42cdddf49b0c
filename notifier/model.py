"""The notifier's records: what it receives (entitlement changes, field metadata, recipients)
and what it produces (planned messages). Plain frozen dataclasses; JSON at the edges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

ChangeKind = Literal["new", "revoked", "amount_changed"]
DeliveryMode = Literal["direct", "notice", "apply"]
AmountPeriod = Literal["once", "month", "year"]
FieldKind = Literal["base", "derived", "declared"]
EmptyMeaning = Literal["unknown", "not_listed"]
MessageKind = Literal[
    "benefit_direct", "benefit_notice", "application", "revocation", "amount_changed", "digest"
]

CHANGE_KINDS: tuple[ChangeKind, ...] = ("new", "revoked", "amount_changed")
DELIVERY_MODES: tuple[DeliveryMode, ...] = ("direct", "notice", "apply")
MESSAGE_KINDS: tuple[MessageKind, ...] = (
    "benefit_direct", "benefit_notice", "application", "revocation", "amount_changed", "digest"
)
# Serialized form version of a planned message's payload.
PAYLOAD_VERSION = 1


@dataclass(frozen=True, kw_only=True)
class EntitlementChange:
    """One change of one entitlement (entity, policy, benefit period) found by a run's diff.

    ``amount`` None means the amount is UNKNOWN (shown as 待核定), never zero.
    ``explanation`` is the matcher's per-condition explanation, as plain data, when it kept one.
    """

    entity_kind: str
    entity_id: str
    policy_id: str
    policy_version: str
    policy_title: str
    benefit_period: str
    change: ChangeKind
    outcome: str
    amount: float | None
    amount_period: AmountPeriod | None
    delivery: DeliveryMode
    reason: str | None = None
    unknown_fields: tuple[str, ...] = ()
    explanation: tuple[Mapping[str, object], ...] | None = None

    @property
    def entitlement_key(self) -> str:
        """One entitlement per (entity, policy, benefit period) (DESIGN §3)."""
        return f"{self.entity_kind}:{self.entity_id}:{self.policy_id}:{self.benefit_period}"


@dataclass(frozen=True, kw_only=True)
class FieldInfo:
    """What the notifier needs to know about a profile field; the API passes the catalog's."""

    name: str
    label: str
    source: str | None = None
    kind: FieldKind = "base"
    type: str = "str"
    unit: str | None = None
    empty: EmptyMeaning = "unknown"
    personal: bool = False


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """Who receives messages for an entity, where, and which channels they refused.

    ``addresses`` maps a channel name to its address (email address, phone number, webhook
    URL); the in-app inbox needs none. ``display_name`` is what the greeting shows: an
    enterprise name, or a person's name (masked when rendered).
    """

    entity_kind: str
    entity_id: str
    display_name: str | None = None
    addresses: Mapping[str, str] = field(default_factory=dict)
    opted_out: frozenset[str] = frozenset()


@dataclass(frozen=True, kw_only=True)
class PlannedMessage:
    """One message for one recipient on one channel, ready for the outbox.

    ``idempotency_key`` is (entity, policy, version, kind, channel) for a single change, or
    for a digest the recipient, the channel and a hash of the keys of every item it carries:
    planning the same changes again gives the same keys, and the outbox keeps one row per key.
    """

    idempotency_key: str
    recipient_kind: str
    recipient_id: str
    channel: str
    kind: MessageKind
    payload: Mapping[str, object]
    not_before: dt.datetime | None = None
