"""HTTP transport shared by the webhook and the SMS gateway: one POST, and the mapping of
its outcome to a receipt or a retryable / permanent channel error."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from notifier.abc import Receipt
from notifier.errors import ConfigurationError, PermanentChannelError, TransientChannelError

RETRYABLE_STATUS = frozenset({408, 425, 429})
DUPLICATE_STATUS = 409  # the receiver has this idempotency key already


def check_url(url: str, *, parameter: str, allow_http: bool) -> str:
    """``url`` if it is HTTPS (or HTTP when allowed, for local tests)."""
    scheme = urlsplit(url).scheme
    allowed = ("https", "http") if allow_http else ("https",)
    if scheme not in allowed or not urlsplit(url).hostname:
        raise ConfigurationError(
            parameter=parameter, expected=f"an absolute {' or '.join(allowed)} URL", got=url
        )
    return url


def post(
    client: httpx.Client,
    url: str,
    *,
    channel: str,
    content: bytes,
    headers: Mapping[str, str],
    receipt_field: str = "id",
) -> Receipt:
    """POST ``content`` and turn the answer into a receipt or a ChannelError.

    2xx: delivered; 409: already delivered under this key; 408, 425, 429 and 5xx, timeouts
    and connection errors: retryable; any other 4xx: permanent.
    """
    try:
        response = client.post(url, content=content, headers=dict(headers))
    except httpx.TimeoutException:
        raise TransientChannelError(channel=channel, reason="timed out") from None
    except httpx.HTTPError as exc:
        raise TransientChannelError(
            channel=channel, reason=f"connection failed ({type(exc).__name__})"
        ) from None
    status = response.status_code
    if status == DUPLICATE_STATUS:
        return Receipt(provider_id=_provider_id(response, receipt_field), duplicate=True)
    if 200 <= status < 300:
        return Receipt(provider_id=_provider_id(response, receipt_field))
    if status in RETRYABLE_STATUS or status >= 500:
        raise TransientChannelError(channel=channel, reason=f"HTTP {status}")
    raise PermanentChannelError(channel=channel, reason=f"HTTP {status}")


def _provider_id(response: httpx.Response, receipt_field: str) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get(receipt_field) is not None:
        return str(body[receipt_field])
    return response.headers.get("x-request-id") or f"http-{response.status_code}"
