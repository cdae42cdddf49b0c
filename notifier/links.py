"""One-click links (一键享): a short link in every message, standing for a signed, expiring,
single-purpose token for one entitlement.

The token is made and checked with itsdangerous (``URLSafeTimedSerializer``) under a key of
its own (never the login key) and a salt naming its use; it carries the link id, the
entitlement id and the purpose, nothing personal. A message carries only the short form
``<base>/l/<link id>`` (SMS texts must fit one 70-character segment); the server resolves the
id to the stored token and checks the token's signature and age, then whether the link was
already used.

>>> import datetime as dt
>>> signer = LinkSigner(secret=b"k" * 32, ttl_seconds=3600)
>>> token = signer.sign(link_id="abc", entitlement_id=7, purpose="confirm")
>>> signer.verify(token).entitlement_id
7
>>> signer.verify(token[:-2] + "xx")
Traceback (most recent call last):
...
notifier.links.LinkInvalid: tampered
>>> link_id(b"k" * 32, entitlement_id=7, purpose="confirm", key="i-1")
'2juzYdYJuhi'
"""

from __future__ import annotations

import datetime as dt
import hmac
import time
import zlib
from dataclasses import dataclass, field
from typing import Literal, Protocol

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode, int_to_bytes
from sqlalchemy.orm import Session

from store import links as link_store

Purpose = Literal["confirm", "apply", "view"]
PURPOSES: tuple[Purpose, ...] = ("confirm", "apply", "view")
SALT = "mianshen.one-click-link.v1"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
LINK_ID_LENGTH = 11  # 62**11: about 65 bits, unguessable; the token is checked as well


class LinkInvalid(Exception):
    """A link that cannot be used; ``why`` is ``unknown``, ``tampered``, ``expired`` or
    ``used``."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(why)


@dataclass(frozen=True, kw_only=True)
class LinkClaims:
    link_id: str
    entitlement_id: int
    purpose: Purpose


def link_id(secret: bytes, *, entitlement_id: int, purpose: str, key: str) -> str:
    """The short id of the link for one message item: deterministic (a rerun that plans the
    same message plans the same link) and unguessable without the key."""
    digest = hmac.digest(secret, f"{entitlement_id}\x1f{purpose}\x1f{key}".encode(), "sha256")
    number = int.from_bytes(digest[:12], "big")
    out = []
    for _ in range(LINK_ID_LENGTH):
        number, rest = divmod(number, 62)
        out.append(_ALPHABET[rest])
    return "".join(out)


class LinkSigner:
    """Signs and checks link tokens with the link key (``link_secret_key``)."""

    def __init__(self, *, secret: bytes, ttl_seconds: int) -> None:
        if len(secret) < 16:
            raise ValueError(f"the link key must have at least 16 bytes; got {len(secret)}")
        self.ttl_seconds = ttl_seconds
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        self._secret = secret
        # the serializer's own signer and derived key, made once (a run signs millions)
        signer = self._serializer.make_signer()
        self._sign_key = signer.derive_key()

    def _signature(self, value: bytes) -> bytes:
        # the serializer's default algorithm: HMAC-SHA1 (one-shot, in C)
        return base64_encode(hmac.digest(self._sign_key, value, "sha1"))

    @property
    def secret(self) -> bytes:
        return self._secret

    def sign(self, *, link_id: str, entitlement_id: int, purpose: Purpose) -> str:
        """The token ``URLSafeTimedSerializer.dumps`` makes for these claims, byte for byte
        (compact JSON, compressed when that is shorter, the timestamp, HMAC-SHA1 under the
        derived key), without its per-call key derivation and JSON encoder."""
        if purpose not in PURPOSES or not link_id.isalnum():
            raise ValueError(f"unexpected link claims: {link_id!r}, {purpose!r}")
        raw = f'{{"l":"{link_id}","e":{int(entitlement_id)},"p":"{purpose}"}}'.encode()
        packed = zlib.compress(raw)
        payload = (b"." + base64_encode(packed) if len(packed) < len(raw) - 1
                   else base64_encode(raw))
        value = payload + b"." + base64_encode(int_to_bytes(int(time.time())))
        return (value + b"." + self._signature(value)).decode("ascii")

    def verify(self, token: str) -> LinkClaims:
        """The claims of a token that is intact and younger than the ttl, else LinkInvalid."""
        try:
            data = self._serializer.loads(token, max_age=self.ttl_seconds)
        except SignatureExpired:
            raise LinkInvalid("expired") from None
        except BadSignature:
            raise LinkInvalid("tampered") from None
        if not isinstance(data, dict) or data.get("p") not in PURPOSES:
            raise LinkInvalid("tampered")
        return LinkClaims(link_id=str(data["l"]), entitlement_id=int(data["e"]),
                          purpose=data["p"])


class LinkIssuer(Protocol):
    """What planning needs: a URL for one purpose on one entitlement, and the inbox."""

    def url(self, *, entitlement_id: int, purpose: Purpose, key: str) -> str: ...

    @property
    def inbox_url(self) -> str: ...

    def flush(self) -> None:
        """Record the links issued so far (in the caller's transaction)."""


@dataclass(frozen=True, kw_only=True)
class Links:
    """Link URLs without a store (previews, tests): the same short ids as
    :class:`StoredLinks`, nothing recorded, so they do not open anything."""

    base_url: str
    secret: bytes

    def url(self, *, entitlement_id: int, purpose: Purpose, key: str) -> str:
        return short_url(self.base_url, link_id(self.secret, entitlement_id=entitlement_id,
                                                purpose=purpose, key=key))

    @property
    def inbox_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/me"

    def flush(self) -> None:
        """Nothing to record."""


@dataclass(kw_only=True)
class StoredLinks:
    """Issues links in the caller's transaction: the token is signed and kept in the store
    under its short id, and the message gets ``<base_url>/l/<id>``."""

    session: Session
    base_url: str
    signer: LinkSigner
    now: dt.datetime

    pending: dict[str, dict[str, object]] = field(default_factory=dict)

    def url(self, *, entitlement_id: int, purpose: Purpose, key: str) -> str:
        lid = link_id(self.signer.secret, entitlement_id=entitlement_id, purpose=purpose,
                      key=key)
        if lid not in self.pending:
            self.pending[lid] = {
                "id": lid,
                "token": self.signer.sign(link_id=lid, entitlement_id=entitlement_id,
                                          purpose=purpose),
                "entitlement_id": entitlement_id, "purpose": purpose, "created_at": self.now,
                "expires_at": self.now + dt.timedelta(seconds=self.signer.ttl_seconds),
            }
        return short_url(self.base_url, lid)

    def flush(self) -> None:
        link_store.add_many(self.session, list(self.pending.values()))
        self.pending.clear()

    @property
    def inbox_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/me"


def short_url(base_url: str, lid: str) -> str:
    return f"{base_url.rstrip('/')}/l/{lid}"


@dataclass(frozen=True, kw_only=True)
class ResolvedLink:
    record: link_store.LinkRecord
    claims: LinkClaims


def resolve(session: Session, signer: LinkSigner, lid: str, *,
            now: dt.datetime) -> ResolvedLink:
    """The link behind a short id, checked: unknown id, a token that fails its signature or
    names another link, an expired or an already used link raise LinkInvalid."""
    record = link_store.get(session, lid)
    if record is None:
        raise LinkInvalid("unknown")
    claims = signer.verify(record.token)
    if claims.link_id != lid or claims.entitlement_id != record.entitlement_id:
        raise LinkInvalid("tampered")
    if record.expires_at <= now:
        raise LinkInvalid("expired")
    if record.used_at is not None:
        raise LinkInvalid("used")
    return ResolvedLink(record=record, claims=claims)
