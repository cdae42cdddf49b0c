"""Pages by role: each role reaches its own pages, the others are refused, anonymous
visitors are sent to the login page; personal data is masked on reviewer pages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from .conftest import ROLES, Env

PAGES = {
    "/officer/policies": {"officer", "reviewer", "admin"},
    "/officer/policies/new": {"officer", "reviewer", "admin"},
    "/officer/policies/cit-small-low-profit": {"officer", "reviewer", "admin"},
    "/officer/runs": {"officer", "reviewer", "admin"},
    "/officer/library": {"officer", "reviewer", "admin"},
    "/officer/takeup": {"officer", "reviewer", "admin"},
    "/officer/takeup/ui-job-retention-refund": {"officer", "reviewer", "admin"},
    "/officer/takeup/ui-job-retention-refund/notice": {"officer", "reviewer", "admin"},
    "/reviewer": {"reviewer", "admin"},
    "/me": {"enterprise", "citizen"},
}
HTML = {"Accept": "text/html"}


def _login(env: Env, client: TestClient, role: str) -> None:
    a = env.accounts[role]
    r = client.post("/login", data={"username": a.user_id, "password": a.password},
                    follow_redirects=False)
    assert r.status_code == 303


@pytest.mark.parametrize("role", ROLES)
def test_pages_admit_their_roles(role: str, env: Env, client: TestClient) -> None:
    _login(env, client, role)
    for path, allowed in PAGES.items():
        r = client.get(path, headers=HTML)
        assert r.status_code == (200 if role in allowed else 403), (role, path)
    client.cookies.clear()


def test_library_page_shows_the_coverage_table_with_expired_and_unverified(
        env: Env, client: TestClient) -> None:
    from rules.loader import bundled_library

    _login(env, client, "officer")
    page = client.get("/officer/library?as_of=2026-11-30", headers=HTML).text
    client.cookies.clear()
    assert page.count("<tr data-policy=") == len(bundled_library())
    assert "统计日期 2026-11-30" in page and "（已到期）" in page and ">待核<" in page


def test_anonymous_visitor_is_sent_to_login(client: TestClient) -> None:
    r = client.get("/me", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"


def test_enterprise_page_lists_benefits_with_confirm_and_explanation(env: Env,
                                                                      client: TestClient) -> None:
    _login(env, client, "enterprise")
    page = client.get("/me", headers=HTML).text
    assert "我的惠企政策" in page and ("为什么我符合" in page or "差在哪" in page)
    eid = env.entitlement_ids("enterprise")[0]
    detail = client.get(f"/me/benefits/{eid}", headers=HTML)
    assert detail.status_code == 200 and "处理记录" in detail.text
    foreign = next(i for i in range(1, 500) if i not in env.entitlement_ids("enterprise"))
    assert client.get(f"/me/benefits/{foreign}", headers=HTML).status_code == 404
    client.cookies.clear()


def test_login_page_reports_a_wrong_password(client: TestClient) -> None:
    r = client.post("/login", data={"username": "officer", "password": "wrong"})
    assert r.status_code == 401 and "用户名或密码错误" in r.text


def test_application_page_shows_prefilled_and_fields_to_fill(env: Env,
                                                              client: TestClient) -> None:
    _login(env, client, "enterprise")
    headers = {**HTML}
    benefits = client.get("/api/me/benefits", headers={"X-Requested-With": "mianshen"}).json()
    from store import applications
    from store.db import transaction

    with transaction(env.engine) as s:  # an open case, or one another test already submitted
        target = next(b for b in benefits if b["outcome"] == "undetermined"
                      or applications.for_entitlement(s, b["id"]) is not None)
    page = client.get(f"/me/benefits/{target['id']}/application", headers=headers)
    assert page.status_code == 200
    assert "已由政府数据预填" in page.text
    assert "需要您填写" in page.text or "您填写的内容" in page.text
    detail = client.get(f"/me/benefits/{target['id']}", headers=headers)
    now = client.get(f"/api/me/benefits/{target['id']}",
                     headers={"X-Requested-With": "mianshen"}).json()
    heading = "为什么我符合" if now["outcome"] == "eligible" else "差在哪"
    assert 'id="explanation"' in detail.text and heading in detail.text
    client.cookies.clear()
