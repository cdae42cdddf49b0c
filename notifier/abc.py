"""The channel interface. Every channel (in-app inbox, webhook, SMTP, SMS gateway, and the
in-memory reference) implements it and passes the same contract suite.

A channel receives a rendered, masked :class:`OutboundMessage` and either returns a
:class:`Receipt` or raises :class:`~notifier.errors.ChannelError` (``retryable`` or not).

``idempotent`` says whether the receiving side honours the message's idempotency key (it
discards a second message with a key it has seen). Where it does, a worker that dies after
sending and before marking the message sent causes no second delivery: the message is claimed
again when its lease expires and re-sent with the same key, and the receiver drops it. Where it
does not (SMTP), delivery is at least once: the same crash can deliver the message twice; each
copy carries the same ``Message-ID`` so that mail clients can fold them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from notifier.rendering import RenderedMessage


@dataclass(frozen=True, kw_only=True)
class OutboundMessage:
    """One message for one channel: rendered, masked, with its idempotency key.

    ``address`` is personal data (a phone number, an email address): channels use it, and
    never log it.
    """

    idempotency_key: str
    channel: str
    recipient_kind: str
    recipient_id: str
    kind: str
    address: str | None
    rendered: RenderedMessage
    address_ref: str | None = None  # which stored address (e.g. ``webhook:<id>``)
    items: tuple[Mapping[str, object], ...] = field(default_factory=tuple)


@dataclass(frozen=True, kw_only=True)
class Receipt:
    """What the channel got back: the provider's id for the delivery, and whether the
    provider said it had already seen this idempotency key."""

    provider_id: str
    duplicate: bool = False


class Channel(ABC):
    """A way to reach a recipient."""

    name: ClassVar[str]
    #: Whether the receiving side discards a second message with the same idempotency key.
    idempotent: bool = False
    #: Whether the channel needs an address (the in-app inbox does not).
    needs_address: ClassVar[bool] = True

    @abstractmethod
    def send(self, message: OutboundMessage) -> Receipt:
        """Deliver ``message`` or raise ChannelError."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""
