"""Links in messages: one-click confirmation and the pre-filled application.

A link names the policy and benefit period, never the entity: the entity comes from the
signed-in user, and the token (an HMAC of the entitlement key) proves the link was issued for
that entity. No personal data travels in a URL.

>>> links = Links(base_url="https://mianshen.example.cn", secret=b"k")
>>> url = links.confirm_url(entity_kind="person", entity_id="X", policy_id="p",
...                         benefit_period="2025-06")
>>> url.startswith("https://mianshen.example.cn/entitlements/p/2025-06/confirm?token=")
True
>>> token = url.rsplit("=", 1)[1]
>>> verify_token(b"k", token, entity_kind="person", entity_id="X", policy_id="p",
...              benefit_period="2025-06")
True
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote


def entitlement_token(
    secret: bytes, *, entity_kind: str, entity_id: str, policy_id: str, benefit_period: str
) -> str:
    """The URL-safe HMAC-SHA256 token of one entitlement (entity, policy, benefit period)."""
    key = "\x1f".join((entity_kind, entity_id, policy_id, benefit_period)).encode()
    digest = hmac.new(secret, key, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify_token(
    secret: bytes,
    token: str,
    *,
    entity_kind: str,
    entity_id: str,
    policy_id: str,
    benefit_period: str,
) -> bool:
    """Whether ``token`` was issued for this entitlement (constant-time comparison)."""
    expected = entitlement_token(
        secret,
        entity_kind=entity_kind,
        entity_id=entity_id,
        policy_id=policy_id,
        benefit_period=benefit_period,
    )
    return hmac.compare_digest(expected, token)


@dataclass(frozen=True, kw_only=True)
class Links:
    """Where the web app lives and the secret its link tokens are signed with."""

    base_url: str
    secret: bytes

    def _url(self, suffix: str, **entitlement: str) -> str:
        token = entitlement_token(self.secret, **entitlement)
        policy = quote(entitlement["policy_id"], safe="")
        period = quote(entitlement["benefit_period"], safe="")
        return f"{self.base_url.rstrip('/')}/entitlements/{policy}/{period}/{suffix}?token={token}"

    def confirm_url(
        self, *, entity_kind: str, entity_id: str, policy_id: str, benefit_period: str
    ) -> str:
        """One-click confirmation (or correction) of the receiving account."""
        return self._url("confirm", entity_kind=entity_kind, entity_id=entity_id,
                         policy_id=policy_id, benefit_period=benefit_period)

    def application_url(
        self, *, entity_kind: str, entity_id: str, policy_id: str, benefit_period: str
    ) -> str:
        """The pre-filled application, to complete and submit."""
        return self._url("application", entity_kind=entity_kind, entity_id=entity_id,
                         policy_id=policy_id, benefit_period=benefit_period)

    @property
    def inbox_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/inbox"
