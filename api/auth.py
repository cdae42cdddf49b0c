"""Authentication: hashed passwords, signed expiring tokens, roles, and the login rate limit.

Passwords are hashed with ``hashlib.scrypt`` and a per-user random salt; the stored form
names its parameters so they can be raised later. Tokens are ``<payload>.<signature>``: the
payload is base64url JSON (subject, role, expiry), the signature an HMAC-SHA256 of it with the
settings' secret key. Nothing here touches the database.

>>> stored = hash_password("s3cret!", n=2**10)
>>> verify_password("s3cret!", stored), verify_password("wrong", stored)
(True, False)
>>> token = issue_token("u1", role="officer", secret="k", ttl_seconds=60, now=1000.0)
>>> read_token(token, secret="k", now=1010.0).role
'officer'
>>> read_token(token, secret="k", now=2000.0)
Traceback (most recent call last):
...
api.auth.TokenError: token expired
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Final, Literal

Role = Literal["officer", "reviewer", "admin", "enterprise", "citizen"]
ROLES: Final[tuple[Role, ...]] = ("officer", "reviewer", "admin", "enterprise", "citizen")
ROLE_LABELS: Final[dict[str, str]] = {
    "officer": "政策业务人员",
    "reviewer": "审核人员",
    "admin": "系统管理员",
    "enterprise": "企业",
    "citizen": "个人",
}
# The entity kind an enterprise or citizen account stands for.
ENTITY_OF_ROLE: Final[dict[str, str]] = {"enterprise": "enterprise", "citizen": "person"}


class AuthError(Exception):
    """Root error of authentication."""


class TokenError(AuthError):
    """A token that is malformed, forged or expired."""


@dataclass(frozen=True, kw_only=True)
class TokenClaims:
    subject: str
    role: str
    expires_at: float


@dataclass(frozen=True, kw_only=True)
class Principal:
    """Who makes a request: the user, the role, and for enterprises and citizens the entity
    whose records they may reach. ``extra_roles`` are roles held besides ``role`` (an officer
    who is also a reviewer)."""

    user_id: str
    role: str
    display_name: str
    entity_kind: str | None = None
    entity_id: str | None = None
    extra_roles: frozenset[str] = frozenset()

    @property
    def is_entity(self) -> bool:
        return self.role in ENTITY_OF_ROLE

    def has_role(self, *roles: str) -> bool:
        """Whether the principal holds any of ``roles``.

        >>> Principal(user_id="u", role="officer", display_name="张",
        ...           extra_roles=frozenset({"reviewer"})).has_role("reviewer")
        True
        """
        return self.role in roles or not self.extra_roles.isdisjoint(roles)


# ---- passwords --------------------------------------------------------------------------

_SCRYPT_N: Final = 2**14


def hash_password(password: str, *, n: int = _SCRYPT_N, r: int = 8, p: int = 1) -> str:
    """``scrypt$n$r$p$<salt hex>$<hash hex>`` with a fresh 16-byte salt."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=32)
    return f"scrypt${n}${r}${p}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
            dklen=len(expected) // 2,
        )
    except ValueError:
        return False
    return hmac.compare_digest(digest.hex(), expected)


# ---- tokens -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(payload: str, secret: str) -> str:
    return _b64(hmac.new(secret.encode("utf-8"), payload.encode("ascii"), "sha256").digest())


def issue_token(
    subject: str, *, role: str, secret: str, ttl_seconds: float, now: float | None = None
) -> str:
    """A signed token for ``subject`` valid for ``ttl_seconds``."""
    expires = (time.time() if now is None else now) + ttl_seconds
    body = json.dumps({"sub": subject, "role": role, "exp": round(expires, 3)},
                      separators=(",", ":"), sort_keys=True)
    payload = _b64(body.encode("utf-8"))
    return f"{payload}.{_sign(payload, secret)}"


def read_token(token: str, *, secret: str, now: float | None = None) -> TokenClaims:
    """The claims of a valid token; :class:`TokenError` when forged, malformed or expired."""
    payload, _, signature = token.partition(".")
    if not payload or not signature:
        raise TokenError("malformed token")
    if not hmac.compare_digest(_sign(payload, secret), signature):
        raise TokenError("bad token signature")
    try:
        data = json.loads(_unb64(payload))
        claims = TokenClaims(
            subject=str(data["sub"]), role=str(data["role"]), expires_at=float(data["exp"])
        )
    except (ValueError, KeyError, TypeError):
        raise TokenError("malformed token") from None
    if claims.expires_at <= (time.time() if now is None else now):
        raise TokenError("token expired")
    return claims


# ---- the login rate limit ---------------------------------------------------------------


class LoginRateLimiter:
    """In-process sliding window: at most ``limit`` login attempts per (username, client IP)
    within ``window`` seconds. Each process keeps its own window (several workers multiply
    the limit by their number); memory holds only keys seen within the last window.

    >>> rl = LoginRateLimiter(limit=2, window=10.0)
    >>> [rl.hit("u", "1.2.3.4", now=t) for t in (0.0, 1.0, 2.0)]
    [0.0, 0.0, 8.0]
    >>> rl.hit("u", "1.2.3.4", now=11.5)
    0.0
    """

    def __init__(self, *, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, username: str, ip: str, *, now: float | None = None) -> float:
        """Record an attempt; 0 when allowed, else the seconds until the next is allowed
        (a refused attempt is not recorded)."""
        at = time.monotonic() if now is None else now
        key = (username.strip().lower(), ip)
        with self._lock:
            window = self._hits.setdefault(key, deque())
            while window and window[0] <= at - self.window:
                window.popleft()
            if len(window) >= self.limit:
                return round(window[0] + self.window - at, 3)
            window.append(at)
            if len(self._hits) > 10_000:
                self._prune(at)
            return 0.0

    def _prune(self, at: float) -> None:
        for key in [k for k, w in self._hits.items() if not w or w[-1] <= at - self.window]:
            del self._hits[key]
