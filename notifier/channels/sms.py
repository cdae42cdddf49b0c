"""SMS through an HTTP gateway. Gateways differ; the adapter is configured, not subclassed:
the URL, the credential header, the JSON field names, the idempotency header (or none, for a
gateway without one: then delivery is at least once), and the field of the answer that holds
the gateway's message id."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import httpx
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from notifier.abc import Channel, OutboundMessage, Receipt
from notifier.channels.http import check_url, post
from notifier.channels.registry import ChannelSpec
from notifier.errors import ConfigurationError, PermanentChannelError
from notifier.sms_text import SMS_SEGMENT


@dataclass(frozen=True, kw_only=True)
class SmsGateway:
    """How to talk to one SMS gateway."""

    url: str
    api_key: str | None = None
    api_key_header: str = "Authorization"
    api_key_prefix: str = "Bearer "
    signature: str = "免申即享"  # the registered SMS signature (短信签名)
    to_field: str = "to"
    text_field: str = "text"
    signature_field: str = "sign"
    reference_field: str = "client_ref"
    idempotency_header: str | None = "Idempotency-Key"
    receipt_field: str = "message_id"
    max_length: int = SMS_SEGMENT
    timeout_s: float = 5.0
    allow_http: bool = False


class SmsChannel(Channel):
    name: ClassVar[str] = "sms"

    def __init__(
        self, *, gateway: SmsGateway, transport: httpx.BaseTransport | None = None
    ) -> None:
        check_url(gateway.url, parameter="gateway.url", allow_http=gateway.allow_http)
        if gateway.max_length < 20:
            raise ConfigurationError(
                parameter="gateway.max_length", expected="at least 20", got=gateway.max_length
            )
        self.gateway = gateway
        self.idempotent = gateway.idempotency_header is not None
        self._client = httpx.Client(timeout=gateway.timeout_s, transport=transport)

    def send(self, message: OutboundMessage) -> Receipt:
        g = self.gateway
        if not message.address:
            raise PermanentChannelError(channel=self.name, reason="no phone number")
        text = message.rendered.sms
        if len(text) > g.max_length:  # never cut: the link at the end would break
            raise PermanentChannelError(
                channel=self.name,
                reason=f"text has {len(text)} characters; the gateway takes {g.max_length}",
            )
        body = {
            g.to_field: message.address,
            g.text_field: text,
            g.signature_field: g.signature,
            g.reference_field: message.idempotency_key,
        }
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if g.api_key:
            headers[g.api_key_header] = g.api_key_prefix + g.api_key
        if g.idempotency_header:
            headers[g.idempotency_header] = message.idempotency_key
        content = json.dumps(body, ensure_ascii=False).encode()
        return post(self._client, g.url, channel=self.name, content=content, headers=headers,
                    receipt_field=g.receipt_field)

    def close(self) -> None:
        self._client.close()


class SmsSettings(BaseSettings):
    """``MIANSHEN_SMS_*``: the gateway; without its URL, no SMS."""

    model_config = SettingsConfigDict(env_prefix="MIANSHEN_", extra="ignore")

    sms_gateway_url: str | None = None
    sms_api_key: SecretStr | None = None
    sms_signature: str = "免申即享"
    sms_allow_http: bool = False  # a gateway on the local network (tests, intranets)


def from_environment(_sessions: object = None) -> SmsChannel | None:
    s = SmsSettings()
    if not s.sms_gateway_url:
        return None
    return SmsChannel(gateway=SmsGateway(
        url=s.sms_gateway_url,
        api_key=s.sms_api_key.get_secret_value() if s.sms_api_key else None,
        signature=s.sms_signature, allow_http=s.sms_allow_http,
    ))


SPEC = ChannelSpec(name="sms", label="短信", address_kind="phone", per_item=True,
                   build=from_environment)
