"""Browsers get HTML error pages in Chinese, API clients JSON; the API documentation and the
favicon come from packaged files (nothing from the internet); pages show enum words in
Chinese."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from .conftest import Env

HTML = {"Accept": "text/html,application/xhtml+xml"}


def test_a_browser_gets_an_html_error_page_and_an_api_client_json(client: TestClient) -> None:
    page = client.get("/no/such/page", headers=HTML)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "页面不存在" in page.text and "<html" in page.text
    api = client.get("/no/such/page")
    assert api.status_code == 404 and api.json() == {"detail": "页面或资源不存在", "code": "http"}
    assert client.get("/api/policies", headers=HTML).json()["code"] == "http"  # /api: JSON


def test_a_page_error_explains_itself(env: Env, client: TestClient) -> None:
    a = env.accounts["officer"]
    client.post("/login", data={"username": a.user_id, "password": a.password})
    r = client.get("/officer/policies/no-such-policy", headers=HTML)
    assert r.status_code == 404 and "政策不存在" in r.text
    r = client.get("/reviewer", headers=HTML)
    assert r.status_code == 403 and "无权访问" in r.text
    client.cookies.clear()


def test_docs_use_packaged_assets_only(client: TestClient) -> None:
    for path, asset in (("/docs", "/static/docs/swagger-ui-bundle.js"),
                        ("/redoc", "/docs/redoc.standalone.js")):
        html = client.get(path).text
        urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
        assert urls and all(u.startswith("/") for u in urls), urls
        assert asset in urls
        js = client.get(asset)
        assert js.status_code == 200 and len(js.content) > 500_000
        assert b"cdn.redoc.ly" not in js.content
    assert "fonts.googleapis" not in client.get("/redoc").text
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.headers["content-type"] == "image/x-icon"
    assert client.get("/openapi.json").json()["info"]["title"].startswith("mianshen")


def test_pages_show_enum_words_in_chinese(env: Env, client: TestClient) -> None:
    a = env.accounts["officer"]
    client.post("/login", data={"username": a.user_id, "password": a.password})
    listing = client.get("/officer/policies", headers=HTML).text
    assert "已发布" in listing and ">published<" not in listing
    takeup = client.get("/officer/takeup", headers=HTML).text
    for word in ("免申即享", "每月", "一次性", "站内信"):
        assert word in takeup, word
    for raw in (">direct<", ">month<", ">once<", ">inbox<"):
        assert raw not in takeup, raw
    client.cookies.clear()
