"""The notifier's records: what it receives (entitlement changes, field metadata, recipients)
and what it produces (planned messages). Plain frozen dataclasses; JSON at the edges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from profiles.catalog import EmptyMeaning, FieldKind  # one definition of each

ChangeKind = Literal["new", "revoked", "amount_changed", "renewed", "decided"]
DeliveryMode = Literal["direct", "notice", "apply"]
AmountPeriod = Literal["once", "month", "year"]
MessageKind = Literal[
    "benefit_direct", "benefit_notice", "application", "revocation", "amount_changed",
    "renewal", "application_decision", "digest",
]

CHANGE_KINDS: tuple[ChangeKind, ...] = ("new", "revoked", "amount_changed", "renewed", "decided")
DELIVERY_MODES: tuple[DeliveryMode, ...] = ("direct", "notice", "apply")
MESSAGE_KINDS: tuple[MessageKind, ...] = (
    "benefit_direct", "benefit_notice", "application", "revocation", "amount_changed",
    "renewal", "application_decision", "digest",
)
# Serialized form version of a planned message's payload.
# 2: links, periods, explanation text, amounts in fen; 3: a pre-filled money field's value
# in integer fen (``unit``: fen), not a float of yuan
PAYLOAD_VERSION = 3


@dataclass(frozen=True, kw_only=True)
class EntitlementChange:
    """One change of one entitlement (entity, policy, benefit period): found by a run's diff
    (new, revoked, amount_changed; ``renewed`` is a new period of a benefit the recipient
    confirmed before, carried over) or by a decision on its application (``decided``).

    ``amount_fen`` None means the amount is UNKNOWN (shown as 待核定), never zero.
    ``why`` is the explanation's text (one builder for the page, the API, the CLI and the
    message); ``open_conditions`` the labels of the conditions still unknown.
    """

    entity_kind: str
    entity_id: str
    policy_id: str
    policy_version: str
    policy_title: str
    benefit_period: str
    change: ChangeKind
    outcome: str
    amount_fen: int | None
    amount_period: AmountPeriod | None
    delivery: DeliveryMode
    entitlement_id: int | None = None
    reason: str | None = None
    unknown_fields: tuple[str, ...] = ()
    open_conditions: tuple[str, ...] = ()
    failed_conditions: tuple[str, ...] = ()
    why: str | None = None
    decision: Literal["approved", "rejected"] | None = None
    #: what the amount is (rules.model.AmountKind): cash, tax_saving, deduction, in_kind;
    #: messages word a deduction as 可在个税中扣除, never as money received
    amount_kind: str = "cash"

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
    unit_label: str | None = None  # as people read it: 人, 元, 个月
    empty: EmptyMeaning = "unknown"
    personal: bool = False
    min: float | None = None
    max: float | None = None
    values: tuple[str, ...] | None = None
    #: a year column (``operating_revenue_y2024``): its yearly field, which an unknown-field
    #: list names in place of the year
    series: str | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookTarget:
    """A webhook subscription of the recipient: its id (the channel finds its secret by it)
    and URL."""

    id: int
    url: str


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """Who receives messages for an entity, where, and what they asked for.

    ``addresses`` maps a channel name to its address (email address, phone number); the
    in-app inbox needs none; ``webhooks`` are the recipient's subscriptions. ``channels`` are
    the channels the recipient wants (None: every channel it has an address for),
    ``opted_out`` those it refused, ``muted_deliveries`` the kinds of policy (by delivery mode)
    it does not want to be told of (revocations and decisions are always told), and
    ``quiet_hours`` its own ("22:00", "08:00") window, local time. ``display_name`` is what
    the greeting shows: an enterprise name, or a person's name (masked when rendered).
    """

    entity_kind: str
    entity_id: str
    display_name: str | None = None
    addresses: Mapping[str, str] = field(default_factory=dict)
    webhooks: tuple[WebhookTarget, ...] = ()
    channels: tuple[str, ...] | None = None
    opted_out: frozenset[str] = frozenset()
    muted_deliveries: frozenset[str] = frozenset()
    quiet_hours: tuple[str, str] | None = None


@dataclass(frozen=True, kw_only=True)
class PlannedMessage:
    """One message for one recipient on one channel, ready for the outbox.

    Each change it carries has an item key (entity, policy, benefit period, kind of change);
    ``item_channel_keys`` are those keys with the channel (and address): the outbox records
    them so that a change reaches each channel at most once, whatever reruns plan.
    ``idempotency_key`` is the single item-channel key, or for a digest a hash of them all.
    """

    idempotency_key: str
    recipient_kind: str
    recipient_id: str
    channel: str
    kind: MessageKind
    payload: Mapping[str, object]
    item_channel_keys: tuple[str, ...] = ()
    not_before: dt.datetime | None = None
