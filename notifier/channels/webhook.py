"""Webhook channel: an HTTPS POST of JSON, signed with HMAC-SHA256.

Headers: ``X-Mianshen-Timestamp`` (Unix seconds), ``X-Mianshen-Signature``
(``sha256=<hex of HMAC-SHA256(secret, timestamp + "." + body)>``) and ``Idempotency-Key``.
A receiver checks the signature with :func:`verify_signature`, refuses stale timestamps, and
answers 2xx (or 409 for a key it has already processed).

>>> body = b'{"a":1}'
>>> sig = sign(b"s", timestamp=1700000000, body=body)
>>> verify_signature(b"s", timestamp="1700000000", body=body, signature=sig, now=1700000100)
True
>>> verify_signature(b"s", timestamp="1700000000", body=body, signature=sig, now=1700009999)
False
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import ClassVar

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.orm import Session

from notifier.abc import Channel, OutboundMessage, Receipt
from notifier.channels.http import check_url, post
from notifier.channels.registry import ChannelSpec
from notifier.errors import ConfigurationError, PermanentChannelError

SIGNATURE_HEADER = "X-Mianshen-Signature"
TIMESTAMP_HEADER = "X-Mianshen-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"


def sign(secret: bytes, *, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(
    secret: bytes,
    *,
    timestamp: str,
    body: bytes,
    signature: str,
    now: float,
    tolerance_s: float = 300,
) -> bool:
    """Whether ``signature`` signs ``body`` at ``timestamp`` and the timestamp is fresh."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs(now - ts) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp=ts, body=body), signature)


def webhook_body(message: OutboundMessage) -> bytes:
    """The JSON document posted for ``message`` (masked content only, no address)."""
    document = {
        "version": 1,
        "idempotency_key": message.idempotency_key,
        "kind": message.kind,
        "subject": message.rendered.subject,
        "text": message.rendered.text,
        "items": [dict(i) for i in message.items],
    }
    return json.dumps(document, ensure_ascii=False, sort_keys=True).encode()


SecretLookup = Callable[[int], bytes | None]
"""subscription id -> its HMAC secret, or None when the subscription is gone."""


class WebhookChannel(Channel):
    """Posts to the recipient's subscribed URL, signed with that subscription's own secret
    (``address_ref`` ``webhook:<id>``, looked up with ``secrets``), or with the shared
    ``secret`` for a URL given without a subscription."""

    name: ClassVar[str] = "webhook"
    idempotent: bool = True  # receivers must honour Idempotency-Key (documented)

    def __init__(
        self,
        *,
        secret: bytes | None = None,
        secrets: SecretLookup | None = None,
        timeout_s: float = 10.0,
        allow_http: bool = False,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if secret is not None and len(secret) < 16:
            raise ConfigurationError(
                parameter="secret", expected="at least 16 bytes", got=f"{len(secret)} bytes"
            )
        if secret is None and secrets is None:
            raise ConfigurationError(
                parameter="secret", expected="a shared secret or a subscription lookup",
                got="neither",
            )
        self._secret = secret
        self._secrets = secrets
        self._allow_http = allow_http
        self._clock = clock
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def send(self, message: OutboundMessage) -> Receipt:
        if not message.address:
            raise PermanentChannelError(channel=self.name, reason="no webhook URL")
        try:
            url = check_url(message.address, parameter="address", allow_http=self._allow_http)
        except ConfigurationError:  # the URL may hold a token: not repeated in the error
            raise PermanentChannelError(
                channel=self.name, reason="webhook URL is not an absolute HTTPS URL"
            ) from None
        secret = self._secret_for(message)
        body = webhook_body(message)
        timestamp = int(self._clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(secret, timestamp=timestamp, body=body),
            IDEMPOTENCY_HEADER: message.idempotency_key,
        }
        return post(self._client, url, channel=self.name, content=body, headers=headers)

    def _secret_for(self, message: OutboundMessage) -> bytes:
        ref = message.address_ref or ""
        if ref.startswith("webhook:") and self._secrets is not None:
            found = self._secrets(int(ref.split(":", 1)[1]))
            if found is None:
                raise PermanentChannelError(channel=self.name, reason="subscription revoked")
            return found
        if self._secret is None:
            raise PermanentChannelError(channel=self.name, reason="no secret for this URL")
        return self._secret

    def close(self) -> None:
        self._client.close()


class WebhookSettings(BaseSettings):
    """``MIANSHEN_WEBHOOK_*``: the shared secret for URLs given without a subscription, and
    whether plain HTTP is allowed (a receiver on the local network)."""

    model_config = SettingsConfigDict(env_prefix="MIANSHEN_", extra="ignore")

    webhook_secret: SecretStr | None = None
    webhook_timeout_s: float = 10.0
    webhook_allow_http: bool = False


def subscription_secrets(sessions: Callable[[], Session]) -> SecretLookup:
    """Look subscription secrets up in the store (one short read per message)."""
    from store import recipients

    def lookup(subscription_id: int) -> bytes | None:
        with sessions() as session:
            try:
                sub = recipients.get_webhook(session, subscription_id)
            except LookupError:
                return None
        return None if sub.revoked_at is not None else sub.secret.encode()

    return lookup


def from_environment(sessions: Callable[[], Session] | None = None) -> WebhookChannel | None:
    s = WebhookSettings()
    secret = s.webhook_secret.get_secret_value().encode() if s.webhook_secret else None
    lookup = subscription_secrets(sessions) if sessions is not None else None
    if secret is None and lookup is None:
        return None
    return WebhookChannel(secret=secret, secrets=lookup, timeout_s=s.webhook_timeout_s,
                          allow_http=s.webhook_allow_http)


SPEC = ChannelSpec(name="webhook", label="Webhook 推送", address_kind="webhook", per_item=False,
                   build=from_environment)
