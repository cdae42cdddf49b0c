"""The in-memory reference channel: keeps what it delivers, honours idempotency keys, and can
be told to fail. Used by tests and by dry runs."""

from __future__ import annotations

from collections import deque
from typing import ClassVar

from notifier.abc import Channel, OutboundMessage, Receipt
from notifier.errors import ChannelError, PermanentChannelError


class MemoryChannel(Channel):
    name: ClassVar[str] = "memory"
    idempotent: bool = True
    needs_address: ClassVar[bool] = False

    def __init__(self, *, name: str = "memory") -> None:
        self.channel_name = name
        self.delivered: list[OutboundMessage] = []
        self.attempts = 0
        self._receipts: dict[str, str] = {}
        self._failures: deque[ChannelError] = deque()

    def fail_next(self, error: ChannelError, *, times: int = 1) -> None:
        """The next ``times`` sends raise ``error``."""
        self._failures.extend([error] * times)

    def send(self, message: OutboundMessage) -> Receipt:
        self.attempts += 1
        if self._failures:
            raise self._failures.popleft()
        if self.needs_address and not message.address:
            raise PermanentChannelError(channel=self.channel_name, reason="no address")
        known = self._receipts.get(message.idempotency_key)
        if known is not None:
            return Receipt(provider_id=known, duplicate=True)
        receipt = f"mem-{len(self.delivered) + 1}"
        self._receipts[message.idempotency_key] = receipt
        self.delivered.append(message)
        return Receipt(provider_id=receipt)
