"""One demo environment for the API tests: a small synthetic population matched into a real
SQLite database file, accounts for every role, and a second enterprise and citizen whose
records the first ones must not reach."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from api.app import create_app
from api.services.accounts import AccountSpec, upsert_account
from api.services.demo_data import DemoAccount, load_demo
from api.settings import Settings
from api.storage import open_engine
from store.db import transaction
from store.schema import entitlements

ROLES = ("officer", "reviewer", "admin", "enterprise", "citizen")


@dataclass
class Env:
    settings: Settings
    engine: Engine
    app: FastAPI
    accounts: dict[str, DemoAccount]
    other_enterprise: str
    other_person: str

    def token(self, client: TestClient, role: str) -> dict[str, str]:
        a = self.accounts[role]
        r = client.post("/api/auth/login", json={"username": a.user_id, "password": a.password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    def entitlement_ids(self, role: str) -> list[int]:
        a = self.accounts[role]
        kind = "enterprise" if role == "enterprise" else "person"
        with transaction(self.engine) as s:
            rows = s.execute(select(entitlements.c.id).where(
                entitlements.c.entity_kind == kind, entitlements.c.entity_id == a.entity_id
            ).order_by(entitlements.c.id)).scalars().all()
        return [int(r) for r in rows]


def _other(engine: Engine, kind: str, not_id: str | None) -> str:
    with transaction(engine) as s:
        ids = s.execute(select(entitlements.c.entity_id).where(
            entitlements.c.entity_kind == kind, entitlements.c.entity_id != not_id
        ).order_by(entitlements.c.entity_id).limit(1)).scalars().all()
    return str(ids[0])


def build_env(folder: Path) -> Env:
    empty_sources = folder / "no-sources"
    empty_sources.mkdir(parents=True)
    # No configured secret: the login, links and audit keys are generated into the data
    # directory on first use, as on a default install.
    settings = Settings(data_dir=folder / "data", environment="test",
                        sources_dir=empty_sources, login_limit_per_address=100_000,
                        login_limit_per_account=100_000)
    engine = open_engine(settings)
    accounts = load_demo(settings, engine, enterprises=150, persons=200, seed=3,
                         say=lambda _m: None)
    by_role = {a.role: a for a in accounts}
    assert set(by_role) == set(ROLES), f"demo population lacks an entity with benefits: {by_role}"
    other_enterprise = _other(engine, "enterprise", by_role["enterprise"].entity_id)
    other_person = _other(engine, "person", by_role["citizen"].entity_id)
    with transaction(engine) as s:
        upsert_account(s, AccountSpec(user_id="officer2", display_name="第二政策员",
                                      role="officer", password="officer2-pw"))
    app = create_app(settings, engine=engine)
    return Env(settings=settings, engine=engine, app=app, accounts=by_role,
               other_enterprise=other_enterprise, other_person=other_person)


@pytest.fixture(scope="session")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    return build_env(tmp_path_factory.mktemp("api-env"))


@pytest.fixture
def client(env: Env) -> Iterator[TestClient]:
    with TestClient(env.app) as c:
        yield c
