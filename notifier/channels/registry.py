"""The channel registry: every way of reaching a recipient, in one place.

Each channel module defines its :class:`ChannelSpec` as ``SPEC`` (its name, the label a
recipient reads on 我的订阅, the kind of address it needs, whether it carries one change per
message, and how it is built from the environment); :data:`CHANNEL_MODULES` lists the
modules. Adding a channel is one module plus one line here: planning, delivery, settings and
the subscription page read the registry.

>>> [s.name for s in specs()]
['inbox', 'webhook', 'email', 'sms']
>>> spec("sms").address_kind, spec("sms").per_item
('phone', True)
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from notifier.abc import Channel
    from notifier.worker import SessionFactory

AddressKind = Literal["phone", "email", "webhook"]

CHANNEL_MODULES: tuple[str, ...] = (
    "notifier.channels.inbox",
    "notifier.channels.webhook",
    "notifier.channels.smtp",
    "notifier.channels.sms",
)


@dataclass(frozen=True, kw_only=True)
class ChannelSpec:
    """A registered channel. ``address_kind`` None: needs no address (the in-app inbox).
    ``per_item``: one message per change (a 70-character SMS cannot carry a digest).
    ``build(sessions)`` returns the configured channel, or None when its settings are
    absent (its messages then wait in the outbox)."""

    name: str
    label: str
    address_kind: AddressKind | None
    per_item: bool
    build: Callable[[SessionFactory | None], Channel | None]


@cache
def specs() -> tuple[ChannelSpec, ...]:
    """Every registered channel, in registration order."""
    out = []
    for module in CHANNEL_MODULES:
        found = getattr(importlib.import_module(module), "SPEC", None)
        if not isinstance(found, ChannelSpec):
            raise TypeError(f"channel module {module} must define SPEC = ChannelSpec(...)")
        out.append(found)
    return tuple(out)


def spec(name: str) -> ChannelSpec:
    for s in specs():
        if s.name == name:
            return s
    raise KeyError(f"no channel {name!r}; registered: {', '.join(s.name for s in specs())}")


def names() -> tuple[str, ...]:
    return tuple(s.name for s in specs())


def build_channels(sessions: SessionFactory | None = None) -> dict[str, Channel]:
    """Every channel the environment configures, by name."""
    built: dict[str, Channel] = {}
    for s in specs():
        channel = s.build(sessions)
        if channel is not None:
            built[s.name] = channel
    return built
