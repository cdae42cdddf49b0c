"""我的订阅: a recipient chooses its channels, mutes kinds of policy and sets quiet hours; an
integrator registers the firm's webhook with its API key; the next run addresses messages
by these choices."""

from __future__ import annotations

from fastapi.testclient import TestClient

from api.delivery import recipients_for
from store.db import transaction
from tests.api.conftest import Env


def test_preferences_are_checked_saved_and_used_to_address_messages(
    env: Env, client: TestClient
) -> None:
    headers = env.token(client, "enterprise")
    bad = client.put("/api/me/subscriptions", headers=headers,
                     json={"channels": ["inbox", "fax"], "quiet_start": "22:00",
                           "quiet_end": "07:00"})
    assert bad.status_code == 409 and "fax" in bad.json()["detail"]
    half = client.put("/api/me/subscriptions", headers=headers, json={"quiet_start": "22:00"})
    assert half.status_code == 409 and "免打扰" in half.json()["detail"]
    saved = client.put("/api/me/subscriptions", headers=headers, json={
        "channels": ["inbox", "email"], "muted_deliveries": ["notice"], "quiet_start": "21:30",
        "quiet_end": "08:00", "email": "finance@firm.example.cn"})
    assert saved.status_code == 200, saved.text
    assert client.get("/api/me/subscriptions", headers=headers).json()["muted_deliveries"] == [
        "notice"]
    firm = env.accounts["enterprise"].entity_id
    assert firm is not None
    with transaction(env.engine) as s:
        (recipient,) = recipients_for(s, entity_kind="enterprise",
                                      profiles={firm: {"contact_phone": "13900000000"}},
                                      ids=[firm]).values()
    assert recipient.channels == ("inbox", "email")
    assert recipient.addresses == {"phone": "13900000000", "email": "finance@firm.example.cn"}
    assert recipient.muted_deliveries == frozenset({"notice"})
    assert recipient.quiet_hours == ("21:30", "08:00")
    page = client.get("/me/subscriptions", headers={**headers, "Accept": "text/html"})
    assert page.status_code == 200 and "免打扰时段" in page.text and "短信" in page.text


def test_an_integrator_registers_the_firms_webhook_with_its_api_key(
    env: Env, client: TestClient
) -> None:
    created = client.post("/api/auth/api-keys", headers=env.token(client, "enterprise"),
                          json={"label": "ERP"})  # the firm mints its own key
    assert created.status_code == 201, created.text
    headers = {"X-API-Key": created.json()["api_key"]}
    weak = client.post("/api/me/webhooks", headers=headers,
                       json={"url": "https://erp.example.cn/hook", "secret": "short"})
    assert weak.status_code == 422
    plain = client.post("/api/me/webhooks", headers=headers, json={
        "url": "http://erp.example.cn/hook", "secret": "erp-hmac-secret-0123456789"})
    assert plain.status_code == 400 and "https://" in plain.json()["detail"], plain.text
    made = client.post("/api/me/webhooks", headers=headers, json={
        "url": "https://erp.example.cn/hook", "secret": "erp-hmac-secret-0123456789"})
    assert made.status_code == 201 and made.json()["secret_hint"] == "6789"
    assert "erp-hmac-secret" not in made.text  # the secret is never echoed back
    listed = client.get("/api/me/webhooks", headers=headers).json()
    assert made.json()["id"] in [w["id"] for w in listed]
    other = env.token(client, "citizen")
    assert client.delete(f"/api/me/webhooks/{made.json()['id']}",
                         headers=other).status_code == 404
    assert client.delete(f"/api/me/webhooks/{made.json()['id']}",
                         headers=headers).status_code == 204
    left = client.get("/api/me/webhooks", headers=headers).json()
    assert made.json()["id"] not in [w["id"] for w in left]
