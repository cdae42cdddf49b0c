"""Login, tokens and the login rate limit."""

from __future__ import annotations

from fastapi.testclient import TestClient

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
    forged = issue_token("admin", role="admin", secret="another-secret", ttl_seconds=60)
    expired = issue_token("admin", role="admin", secret=env.settings.secret_key,
                          ttl_seconds=-1)
    for token in (forged, expired, "garbage"):
        r = client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401


def test_token_with_another_role_than_the_account_is_refused(env: Env,
                                                              client: TestClient) -> None:
    lifted = issue_token("enterprise", role="admin", secret=env.settings.secret_key,
                         ttl_seconds=60)
    assert client.get("/api/runs", headers={"Authorization": f"Bearer {lifted}"}).status_code == 401


def test_login_is_rate_limited_per_username_and_address(env: Env) -> None:
    settings = env.settings.model_copy(update={"login_rate_limit": 3})
    app = create_app(settings, engine=env.engine)
    with TestClient(app) as c:
        codes = [c.post("/api/auth/login", json={"username": "officer", "password": "x"})
                 .status_code for _ in range(4)]
        assert codes == [401, 401, 401, 429]
        limited = c.post("/api/auth/login", json={"username": "officer",
                                                  "password": env.accounts["officer"].password})
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        other = c.post("/api/auth/login", json={"username": "reviewer",
                                                "password": env.accounts["reviewer"].password})
        assert other.status_code == 200


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


def test_api_key_acts_as_its_account(env: Env, client: TestClient) -> None:
    admin = env.token(client, "admin")
    r = client.post("/api/auth/api-keys", headers=admin,
                    json={"user_id": "officer2", "label": "税务系统对接"})
    assert r.status_code == 201
    key = r.json()["api_key"]
    me = client.get("/api/auth/me", headers={"X-API-Key": key}).json()
    assert me["user_id"] == "officer2" and me["role"] == "officer"
    assert client.get("/api/policies", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/api/runs", headers={"X-API-Key": key + "x"}).status_code == 401
    missing = client.post("/api/auth/api-keys", headers=admin,
                          json={"user_id": "nobody", "label": "x"})
    assert missing.status_code == 404
