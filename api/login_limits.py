"""Login limits that hold across processes and cannot be sidestepped.

Every attempt counts against two limits at once: its client address (an IPv6 address by its
/64, which one subscriber usually holds whole) and the account name tried, whether or not
that account exists. Spraying one password over many names hits the address limit; trying
one name from many addresses hits the account limit. The client address is the peer of the
connection; ``X-Forwarded-For`` is believed only from configured proxies
(:func:`client_address`).

Counts live in shared storage, the database (:mod:`store.rate_counters`) or Redis, in fixed
buckets of one window; the count over the last window is estimated from the current and the
previous bucket (the previous weighted by how much of it the window still covers). The
attempt is counted before the check, atomically, so concurrent attempts cannot slip through
together. Keys are keyed hashes: no address or account name is stored.

>>> limits = LoginLimits(MemoryCounters(), per_address=3, per_account=2, window=60.0,
...                      pepper=b"p")
>>> [limits.check(address="10.0.0.1", username="u", now=t) for t in (0.0, 1.0)]
[None, None]
>>> limits.check(address="10.0.0.1", username="u", now=2.0)
Refusal(scope='account', retry_after=98.0)
>>> limits.check(address="10.0.0.1", username="v", now=3.0)
Refusal(scope='address', retry_after=87.0)
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from sqlalchemy import Engine


class Counters(Protocol):
    """Fixed-bucket counters: add one to ``key`` in ``bucket``; return the new count and
    the count of the bucket before. ``ttl`` is how long a bucket must be kept."""

    def increment(self, key: str, *, bucket: int, ttl: float) -> tuple[int, int]: ...


class MemoryCounters:
    """One process only: the reference implementation, for tests and examples."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def increment(self, key: str, *, bucket: int, ttl: float) -> tuple[int, int]:
        with self._lock:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= bucket - 1}
            current = self._counts.get((key, bucket), 0) + 1
            self._counts[(key, bucket)] = current
            return current, self._counts.get((key, bucket - 1), 0)


class DatabaseCounters:
    """The store's ``rate_counters`` table (the default)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def increment(self, key: str, *, bucket: int, ttl: float) -> tuple[int, int]:
        from store import rate_counters

        return rate_counters.increment(self.engine, key, bucket=bucket)


class RedisCounters:
    """Redis (``INCR`` + ``EXPIRE`` in one MULTI/EXEC), for many processes and hosts."""

    def __init__(self, url: str, *, prefix: str = "mianshen:login:") -> None:
        import redis

        self.client: Any = redis.Redis.from_url(url, socket_timeout=2.0)
        self.prefix = prefix

    def increment(self, key: str, *, bucket: int, ttl: float) -> tuple[int, int]:
        name = f"{self.prefix}{key}:{bucket}"
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(name)
        pipe.expire(name, math.ceil(ttl))
        pipe.get(f"{self.prefix}{key}:{bucket - 1}")
        current, _, previous = pipe.execute()
        return int(current), int(previous or 0)


@dataclass(frozen=True)
class Refusal:
    """Which limit refused the attempt and how many seconds until one would be allowed."""

    scope: Literal["address", "account"]
    retry_after: float


class LoginLimits:
    """The two limits over shared ``counters``."""

    def __init__(self, counters: Counters, *, per_address: int, per_account: int,
                 window: float, pepper: bytes) -> None:
        self.counters = counters
        self.per_address, self.per_account = per_address, per_account
        self.window = window
        self._pepper = pepper

    def _key(self, scope: str, value: str) -> str:
        digest = hmac.new(self._pepper, f"{scope}\x1f{value}".encode(), hashlib.sha256)
        return f"{scope}:{digest.hexdigest()[:40]}"

    def check(self, *, address: str, username: str, now: float | None = None) -> Refusal | None:
        """Count one attempt from ``address`` for ``username``; None when allowed."""
        at = time.time() if now is None else now
        bucket = int(at // self.window)
        elapsed = (at - bucket * self.window) / self.window
        refusals = []
        for scope, value, limit in (("address", address_key(address), self.per_address),
                                    ("account", username.strip().casefold(), self.per_account)):
            current, previous = self.counters.increment(
                self._key(scope, value), bucket=bucket, ttl=2 * self.window
            )
            if previous * (1 - elapsed) + current > limit:
                wait = _retry_after(previous, current, limit, elapsed) * self.window
                refusals.append(Refusal(scope=scope, retry_after=round(wait, 3)))  # type: ignore[arg-type]
        return max(refusals, key=lambda r: r.retry_after) if refusals else None


def _retry_after(previous: int, current: int, limit: int, elapsed: float) -> float:
    """Windows (fractions) until one more attempt fits, if no other attempt comes."""
    room = limit - 1 - current
    if room >= 0 and previous > 0:
        needed = 1 - room / previous  # the previous bucket must weigh at most `room`
        return max(needed - elapsed, 0.0)
    # the current bucket alone is full: wait until it has slid far enough out
    needed_next = max(0.0, 1 - (limit - 1) / current) if current else 0.0
    return (1 - elapsed) + needed_next


def address_key(address: str) -> str:
    """What counts as one client: the address, an IPv6 one by its /64.

    >>> address_key("2001:db8:1:2:aaaa::1"), address_key("203.0.113.9")
    ('2001:db8:1:2::/64', '203.0.113.9')
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def client_address(peer: str, forwarded_for: str | None, *, trusted: Iterable[str]) -> str:
    """The client's address: the connection's peer, unless the peer is a trusted proxy;
    then the ``X-Forwarded-For`` entry nearest to us that is not itself a trusted proxy.

    >>> client_address("198.51.100.7", "1.2.3.4", trusted=())
    '198.51.100.7'
    >>> client_address("10.0.0.5", "1.2.3.4, 203.0.113.9", trusted=["10.0.0.0/8"])
    '203.0.113.9'
    """
    networks = [ipaddress.ip_network(t, strict=False) for t in trusted]

    def is_trusted(text: str) -> bool:
        try:
            ip = ipaddress.ip_address(text)
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if not forwarded_for or not is_trusted(peer):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    nearest = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return nearest  # garbage from beyond the last proxy we trust
        if not is_trusted(hop):
            return hop
        nearest = hop
    return nearest
