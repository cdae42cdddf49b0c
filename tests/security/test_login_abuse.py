"""Login limits that cannot be sidestepped: rotating X-Forwarded-For, spraying one password
over many account names, trying one account from many addresses, spreading attempts over
several worker processes. On SQLite, PostgreSQL and Redis counters."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.login_limits import (
    Counters,
    DatabaseCounters,
    LoginLimits,
    MemoryCounters,
    RedisCounters,
)
from api.services import accounts

from .conftest import Service, build_service, password_of, redis_url

PEER = ("203.0.113.50", 51000)


def _attempt(client: TestClient, user: str, password: str = "wrong",
             forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    return client.post("/api/auth/login", json={"username": user, "password": password},
                       headers=headers).status_code


def test_rotating_x_forwarded_for_does_not_reset_the_address_limit(service: Service) -> None:
    app = service.with_settings(login_limit_per_address=10, login_limit_per_account=1000)
    with TestClient(app, client=PEER) as c:
        codes = [_attempt(c, f"user{i}", forwarded=f"198.51.100.{i}") for i in range(30)]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429] * 20  # the header from an untrusted peer is ignored


def test_spraying_one_password_over_many_names_is_limited(service: Service) -> None:
    app = service.with_settings(login_limit_per_address=10, login_limit_per_account=1000)
    names = ["officer", "reviewer", "admin", "firm", "resident"] + [f"guess{i}" for i in
                                                                    range(25)]
    with TestClient(app, client=PEER) as c:
        codes = [_attempt(c, name, password="Spring2025!") for name in names]
    assert codes.count(429) == 20 and set(codes[:10]) == {401}


def test_one_account_from_many_addresses_is_limited(service: Service) -> None:
    app = service.with_settings(login_limit_per_address=1000, login_limit_per_account=5)
    codes = []
    for i in range(12):
        with TestClient(app, client=(f"192.0.2.{i + 1}", 40000)) as c:
            codes.append(_attempt(c, "reviewer"))
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 7
    with TestClient(app, client=("192.0.2.200", 40000)) as c:  # even the right password
        assert _attempt(c, "reviewer", password=password_of("reviewer")) == 429


def test_forwarded_for_is_believed_from_a_configured_proxy_only(service: Service) -> None:
    app = service.with_settings(trusted_proxies=("10.0.0.0/8",), login_limit_per_address=3,
                                login_limit_per_account=1000)
    with TestClient(app, client=("10.1.2.3", 443)) as proxy:
        # behind the proxy, distinct clients are distinct addresses ...
        assert [_attempt(proxy, f"a{i}", forwarded=f"198.51.100.{i}") for i in range(6)] == [
            401] * 6
        # ... and one client is one address, whatever it puts in front of the header
        spoofed = [_attempt(proxy, f"b{i}", forwarded=f"6.6.6.{i}, 198.51.100.77")
                   for i in range(5)]
    assert spoofed == [401, 401, 401, 429, 429]


def test_limits_are_shared_by_every_worker_process(service: Service) -> None:
    """Two app instances on one database: the counts add up (the database is the shared
    storage), so running more workers does not multiply the limit."""
    first = service.with_settings(login_limit_per_account=4, login_limit_per_address=1000)
    second = service.with_settings(login_limit_per_account=4, login_limit_per_address=1000)
    with TestClient(first, client=PEER) as a, TestClient(second, client=PEER) as b:
        codes = [_attempt(client, "officer2") for client in (a, b, a, b, a, b)]
    assert codes == [401, 401, 401, 401, 429, 429]


def test_redis_counters_are_shared_by_every_worker_process(db_url: str, tmp_path: Path) -> None:
    url = redis_url()
    svc = build_service(tmp_path, db_url, redis_url=url, login_limit_per_account=3,
                        login_limit_per_address=1000)
    other = svc.with_settings()
    with TestClient(svc.app, client=PEER) as a, TestClient(other, client=PEER) as b:
        codes = [_attempt(client, "officer") for client in (a, b, a, b)]
    assert codes == [401, 401, 401, 429]
    svc.engine.dispose()


def test_unknown_users_cost_the_same_password_work_as_known_ones(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No timing here (that is bench/login_timing.py): the unknown-user path must run the
    same scrypt check, on a dummy hash with the same parameters."""
    import hashlib

    from api.auth import spend_password_check

    spend_password_check("warm-up")  # the dummy hash is made once per process
    calls: list[int] = []
    real = hashlib.scrypt

    def counting(*args: object, **kwargs: object) -> bytes:
        calls.append(int(kwargs["n"]))  # type: ignore[call-overload]
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(hashlib, "scrypt", counting)
    assert accounts.authenticate(service.engine, "officer", "wrong") is None
    known = list(calls)
    calls.clear()
    assert accounts.authenticate(service.engine, "nobody-at-all", "wrong") is None
    assert calls == known and known == [2**14]
    with TestClient(service.app, client=PEER) as c:
        unknown = c.post("/api/auth/login", json={"username": "nobody", "password": "x"})
        wrong = c.post("/api/auth/login", json={"username": "officer", "password": "x"})
    assert (unknown.status_code, unknown.json()) == (wrong.status_code, wrong.json())


# ---- the counters behind the limits: one contract, every storage -----------------------


def _counters(kind: str, service: Service, prefix: str) -> Counters:
    if kind == "memory":
        return MemoryCounters()
    if kind == "database":
        return DatabaseCounters(service.engine)
    return RedisCounters(redis_url(), prefix=prefix)


@pytest.mark.parametrize("kind", ["memory", "database", "redis"])
def test_counters_contract(kind: str, service: Service, redis_prefix: str) -> None:
    counters = _counters(kind, service, redis_prefix)
    assert counters.increment("k", bucket=10, ttl=120) == (1, 0)
    assert counters.increment("k", bucket=10, ttl=120) == (2, 0)
    assert counters.increment("other", bucket=10, ttl=120) == (1, 0)
    assert counters.increment("k", bucket=11, ttl=120) == (1, 2)
    limits = LoginLimits(counters, per_address=2, per_account=100, window=60.0,
                         pepper=secrets.token_bytes(32))
    at = 60.0 * 1000
    assert [limits.check(address="192.0.2.9", username=f"u{i}", now=at) for i in range(2)] == [
        None, None]
    refusal = limits.check(address="192.0.2.9", username="u3", now=at + 1)
    assert refusal is not None and refusal.scope == "address" and refusal.retry_after > 0
    # IPv6: one /64 is one client
    assert limits.check(address="2001:db8:5:6::1", username="v", now=at) is None
    assert limits.check(address="2001:db8:5:6::2", username="v", now=at) is None
    assert limits.check(address="2001:db8:5:6:ffff::3", username="v", now=at) is not None
