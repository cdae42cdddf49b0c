"""Login, tokens and the login rate limit."""

from __future__ import annotations

import secrets

from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.auth import issue_token

from .conftest import Env


def test_login_with_wrong_password_is_refused(env: Env, client: TestClient) -> None:
    r = client.post("/api/auth/login", json={"username": "officer", "password": "nope"})
    assert r.status_code == 401
    assert r.json()["detail"] == "用户名或密码错误"


def test_token_names_the_user_and_its_entity(env: Env, client: TestClient) -> None:
    me = client.get("/api/auth/me", headers=env.token(client, "enterprise")).json()
    assert me["role"] == "enterprise"
    assert me["entity_id"] == env.accounts["enterprise"].entity_id


def test_forged_and_expired_tokens_are_refused(env: Env, client: TestClient) -> None:
    forged = issue_token("admin", role="admin", key=b"another key of thirty-two bytes!",
                         ttl_seconds=60)
    expired = issue_token("admin", role="admin", key=env.app.state.keys.login, ttl_seconds=-1)
    for token in (forged, expired, "garbage"):
        r = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401


def test_token_with_another_role_than_the_account_is_refused(env: Env,
                                                              client: TestClient) -> None:
    lifted = issue_token("enterprise", role="admin", key=env.app.state.keys.login,
                         ttl_seconds=60)
    assert client.get("/api/runs", headers={"Authorization": f"Bearer {lifted}"}).status_code == 401


def test_login_key_is_generated_private_and_separate_from_the_link_key(env: Env) -> None:
    keys = env.settings.keys_path
    assert {p.name for p in keys.iterdir()} >= {"login.key", "links.key", "audit.key"}
    for path in keys.iterdir():
        assert path.stat().st_mode & 0o777 == 0o600
    assert env.app.state.keys.login != env.app.state.keys.links
    assert env.app.state.keys.login == (keys / "login.key").read_text().strip().encode()


def test_logout_revokes_the_token_at_once(env: Env, client: TestClient) -> None:
    headers = env.token(client, "officer")
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    assert client.post("/api/auth/logout", headers=headers).status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    assert client.get("/api/auth/me", headers=env.token(client, "officer")).status_code == 200


def test_page_logout_revokes_the_cookie_token(env: Env, client: TestClient) -> None:
    a = env.accounts["citizen"]
    client.post("/login", data={"username": a.user_id, "password": a.password},
                follow_redirects=False)
    token = client.cookies.get("mianshen_token")
    assert token and client.get("/api/auth/me").status_code == 200
    assert client.post("/logout", follow_redirects=False).status_code == 303
    client.cookies.clear()
    replayed = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert replayed.status_code == 401


def test_login_is_limited_per_account_and_per_address(env: Env) -> None:
    """The counts are shared (the database), so this test uses its own address and
    accounts."""
    from api.services.accounts import AccountSpec, upsert_account
    from store.db import transaction

    with transaction(env.engine) as s:
        for name in ("limited-a", "limited-b"):
            upsert_account(s, AccountSpec(user_id=name, display_name=name, role="officer",
                                          password=f"{name}-pw"))
    settings = env.settings.model_copy(update={"login_limit_per_account": 3,
                                               "login_limit_per_address": 5})
    app = create_app(settings, engine=env.engine)
    with TestClient(app, client=("198.51.100.23", 40000)) as c:
        codes = [c.post("/api/auth/login", json={"username": "limited-a", "password": "x"})
                 .status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        limited = c.post("/api/auth/login", json={"username": "limited-a",
                                                  "password": "limited-a-pw"})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        # the address has spent its 5 attempts too: another account from it is refused
        other = c.post("/api/auth/login", json={"username": "limited-b",
                                                "password": "limited-b-pw"})
        assert other.status_code == 429
    with TestClient(app, client=("198.51.100.24", 40000)) as elsewhere:
        ok = elsewhere.post("/api/auth/login", json={"username": "limited-b",
                                                     "password": "limited-b-pw"})
        assert ok.status_code == 200


def test_cookie_authenticated_changes_need_the_page_header(env: Env, client: TestClient) -> None:
    a = env.accounts["officer"]
    r = client.post("/login", data={"username": a.user_id, "password": a.password},
                    follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/officer/policies"
    body = {"yaml": "id: x"}
    assert client.post("/api/policies/validate", json=body).status_code == 401
    ok = client.post("/api/policies/validate", json=body,
                     headers={"X-Requested-With": "mianshen"})
    assert ok.status_code == 200 and ok.json()["valid"] is False
    client.cookies.clear()


def test_api_key_acts_as_the_account_that_created_it(env: Env, client: TestClient) -> None:
    officer2 = client.post("/api/auth/login", json={"username": "officer2",
                                                    "password": "officer2-pw"}).json()
    headers = {"Authorization": f"Bearer {officer2['access_token']}"}
    r = client.post("/api/auth/api-keys", headers=headers, json={"label": "税务系统对接"})
    assert r.status_code == 201
    key = r.json()["api_key"]
    me = client.get("/api/auth/me", headers={"X-API-Key": key}).json()
    assert me["user_id"] == "officer2" and me["role"] == "officer"
    assert client.get("/api/policies", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/api/runs", headers={"X-API-Key": key + "x"}).status_code == 401
    from store import audit
    from store.db import transaction

    with transaction(env.engine, write=False) as s:
        (created,) = audit.entries(s, subject="user:officer2", action="auth.api_key.create")
    assert created.actor == "officer2" and created.detail["label"] == "税务系统对接"


def test_metrics_are_closed_unless_configured(env: Env, client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    for role in ("officer", "reviewer", "enterprise", "citizen"):
        assert client.get("/metrics", headers=env.token(client, role)).status_code == 403
    assert client.get("/metrics", headers=env.token(client, "admin")).status_code == 200
    token = secrets.token_urlsafe(32)
    scraped = create_app(env.settings.model_copy(update={"metrics_token": SecretStr(token)}),
                         engine=env.engine)
    with TestClient(scraped) as c:
        assert c.get("/metrics", headers={"Authorization": f"Bearer {token}x"}).status_code == 401
        ok = c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "mianshen_runs" in ok.text
    public = create_app(env.settings.model_copy(update={"metrics_public": True}),
                        engine=env.engine)
    with TestClient(public) as c:
        assert c.get("/metrics").status_code == 200
