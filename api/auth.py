"""Authentication: hashed passwords, signed expiring login tokens, roles.

Passwords are hashed with ``hashlib.scrypt`` and a per-user random salt; the stored form
names its parameters so they can be raised later. A login attempt for an unknown user
spends the same scrypt work on a dummy hash (:func:`spend_password_check`), so the answer
time does not tell which accounts exist. Login tokens are JWTs (PyJWT, HS256) signed with the
``login`` key (never the key of message links), carrying the subject, role, issue and expiry
times and a random token id that logout revokes. Nothing here touches the database.

>>> stored = hash_password("s3cret!", n=2**10)
>>> verify_password("s3cret!", stored), verify_password("wrong", stored)
(True, False)
>>> key = b"k" * 32
>>> token = issue_token("u1", role="officer", key=key, ttl_seconds=60)
>>> claims = read_token(token, key=key)
>>> claims.subject, claims.role, len(claims.token_id) >= 16
('u1', 'officer', True)
>>> read_token(issue_token("u1", role="officer", key=key, ttl_seconds=-1), key=key)
Traceback (most recent call last):
...
api.auth.TokenError: token expired
>>> read_token(token, key=b"another key of thirty-two bytes!")
Traceback (most recent call last):
...
api.auth.TokenError: bad token signature
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Final, Literal

import jwt

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
    token_id: str


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


@functools.cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def spend_password_check(password: str) -> None:
    """The work of :func:`verify_password` against a dummy hash with the default
    parameters: what a login for an unknown user costs, so that it costs the same."""
    verify_password(password, _dummy_hash())


# ---- tokens -----------------------------------------------------------------------------

TOKEN_ALGORITHM: Final = "HS256"
TOKEN_ISSUER: Final = "mianshen"
TOKEN_AUDIENCE: Final = "mianshen:login"


def issue_token(
    subject: str, *, role: str, key: bytes, ttl_seconds: float, now: float | None = None
) -> str:
    """A signed login token for ``subject`` valid for ``ttl_seconds``, with a fresh id."""
    issued = time.time() if now is None else now
    claims = {
        "sub": subject,
        "role": role,
        "iat": int(issued),
        "exp": int(issued + ttl_seconds),
        "jti": secrets.token_urlsafe(18),
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
    }
    return jwt.encode(claims, key, algorithm=TOKEN_ALGORITHM)


def read_token(token: str, *, key: bytes) -> TokenClaims:
    """The claims of a valid token; :class:`TokenError` when forged, malformed or expired.
    (Whether it was revoked is the store's business: ``store.tokens.is_revoked``.)"""
    try:
        data = jwt.decode(
            token, key, algorithms=[TOKEN_ALGORITHM], audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER,
            options={"require": ["sub", "exp", "iat", "jti", "iss", "aud"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("token expired") from None
    except jwt.InvalidSignatureError:
        raise TokenError("bad token signature") from None
    except jwt.PyJWTError:
        raise TokenError("malformed token") from None
    try:
        return TokenClaims(subject=str(data["sub"]), role=str(data["role"]),
                           expires_at=float(data["exp"]), token_id=str(data["jti"]))
    except (KeyError, TypeError, ValueError):
        raise TokenError("malformed token") from None
