"""A small service per test: a default install (no secret configured: keys generated in the
data directory) on each backend, with one account per role and no population."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from api.app import create_app
from api.services.accounts import AccountSpec, upsert_account
from api.settings import Settings
from api.storage import open_engine
from store.db import transaction, upgrade

REDIS_URL_ENV = "MIANSHEN_TEST_REDIS_URL"
REQUIRE_REDIS_ENV = "MIANSHEN_REQUIRE_REDIS"
ACCOUNTS = {
    "officer": ("officer", None), "officer2": ("officer", None),
    "reviewer": ("reviewer", None), "reviewer2": ("reviewer", None), "admin": ("admin", None),
    "firm": ("enterprise", "91310115MA1K3YJ12X"), "resident": ("citizen", "310101195001011234"),
}


def password_of(user: str) -> str:
    return f"{user}-correct-horse-battery"


@dataclass
class Service:
    settings: Settings
    engine: Engine
    app: FastAPI

    def login(self, client: TestClient, user: str) -> dict[str, str]:
        r = client.post("/api/auth/login", json={"username": user, "password": password_of(user)})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def with_settings(self, **changes: Any) -> FastAPI:
        """Another app on the same database (as a second worker process would be)."""
        return create_app(self.settings.model_copy(update=changes), engine=self.engine)


def build_service(folder: Path, url: str, **settings: Any) -> Service:
    config = Settings(data_dir=folder / "data", database_url=url, environment="test",
                      **settings)
    engine = open_engine(config)
    upgrade(engine)
    with transaction(engine) as s:
        for user, (role, entity) in ACCOUNTS.items():
            upsert_account(s, AccountSpec(user_id=user, display_name=user, role=role,
                                          password=password_of(user), entity_id=entity))
    return Service(settings=config, engine=engine, app=create_app(config, engine=engine))


@pytest.fixture
def service(db_url: str, tmp_path: Path) -> Iterator[Service]:
    built = build_service(tmp_path, db_url)
    yield built
    built.engine.dispose()


def redis_url() -> str:
    """A Redis URL for the Redis variants (skip, or fail when required, without one)."""
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    required = os.environ.get(REQUIRE_REDIS_ENV, "").strip() not in ("", "0")
    if not url:
        if required:
            pytest.fail(f"{REQUIRE_REDIS_ENV} is set but {REDIS_URL_ENV} is not")
        pytest.skip(f"Redis variant: set {REDIS_URL_ENV} (e.g. redis://127.0.0.1:6379/15)")
    import redis

    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError as exc:
        if required:
            pytest.fail(f"Redis at {REDIS_URL_ENV} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL_ENV} is unreachable: {exc}")
    return url


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of one test (the Redis server is shared); its keys are removed after."""
    import redis

    prefix = f"mianshen-test:{uuid.uuid4().hex[:12]}:"
    yield prefix
    url = os.environ.get(REDIS_URL_ENV, "").strip()
    if url:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(f"{prefix}*"):
            client.delete(key)
