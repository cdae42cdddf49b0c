"""The main flows on PostgreSQL (the SQLite file database is the default of the other API
tests): login, my benefits with confirm and objection, the policy review, matches, metrics.
Runs when ``MIANSHEN_TEST_POSTGRES_URL`` is set; mandatory with ``MIANSHEN_REQUIRE_POSTGRES``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.services.demo_data import load_demo
from api.settings import Settings
from api.storage import open_engine
from store.db import make_engine

pytestmark = pytest.mark.postgres


def _base_url() -> str:
    url = os.environ.get("MIANSHEN_TEST_POSTGRES_URL", "").strip()
    required = os.environ.get("MIANSHEN_REQUIRE_POSTGRES", "").strip() not in ("", "0")
    if not url:
        if required:
            pytest.fail("MIANSHEN_REQUIRE_POSTGRES is set but MIANSHEN_TEST_POSTGRES_URL is not")
        pytest.skip("PostgreSQL variant: set MIANSHEN_TEST_POSTGRES_URL to run it")
    return url


@pytest.fixture(scope="module")
def pg_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, dict]]:
    base = _base_url()
    schema = f"t_api_{uuid.uuid4().hex[:12]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    folder: Path = tmp_path_factory.mktemp("pg-api")
    settings = Settings(data_dir=folder, environment="test",
                        database_url=url.render_as_string(hide_password=False),
                        sources_dir=folder)
    engine = open_engine(settings)
    try:
        accounts = load_demo(settings, engine, enterprises=100, persons=120, seed=11,
                             say=lambda _m: None)
        with TestClient(create_app(settings, engine=engine)) as client:
            yield client, {a.role: a.password for a in accounts}
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _token(client: TestClient, user: str, password: str) -> dict[str, str]:
    r = client.post("/api/auth/login", json={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_benefit_confirm_and_objection_on_postgres(pg_client: tuple[TestClient, dict]) -> None:
    client, pw = pg_client
    ent = _token(client, "enterprise", pw["enterprise"])
    mine = client.get("/api/me/benefits", headers=ent).json()
    eligible = next(b for b in mine if b["outcome"] == "eligible" and b["delivery"] != "apply")
    assert client.post(f"/api/me/benefits/{eligible['id']}/confirm",
                       headers=ent).json()["status"] == "confirmed"
    other = next(b for b in mine if b["id"] != eligible["id"])
    client.post(f"/api/me/benefits/{other['id']}/objection", headers=ent,
                json={"reason": "数据有误"})
    rev = _token(client, "reviewer", pw["reviewer"])
    answered = client.post(f"/api/reviews/objections/{other['id']}/answer", headers=rev,
                           json={"decision": "revoke", "answer": "核实后撤销"})
    assert answered.json()["status"] == "revoked"


def test_policy_review_and_matches_on_postgres(pg_client: tuple[TestClient, dict]) -> None:
    client, pw = pg_client
    off = _token(client, "officer", pw["officer"])
    rev = _token(client, "reviewer", pw["reviewer"])
    detail = client.get("/api/policies/graduate-hiring-subsidy", headers=off).json()
    body = {"yaml": detail["versions"][-1]["text"].replace("1500 *", "1900 *")}
    draft = client.post("/api/policies/drafts", json=body, headers=off).json()
    base = f"/api/policies/graduate-hiring-subsidy/versions/{draft['id']}"
    assert client.post(f"{base}/simulate", json={"samples": 1}, headers=off).status_code == 200
    client.post(f"{base}/submit", headers=off)
    approved = client.post(f"{base}/approve", json={"reason": "金额依据已核实"}, headers=rev)
    assert approved.json()["status"] == "published"
    page = client.get("/api/matches/policies/six-taxes-two-fees-half?limit=5", headers=rev)
    assert page.status_code == 200 and page.json()["total"] > 0
    admin = _token(client, "admin", pw["admin"])
    metrics = client.get("/metrics", headers=admin).text
    assert 'mianshen_runs{entity="person",status="succeeded"} 1' in metrics
