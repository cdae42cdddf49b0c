"""`mianshen serve` on an empty database: demo data is loaded, one account per role is
printed, and the app it would serve answers with those accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app as cli
from api.settings import get_settings


def test_serve_loads_demo_data_and_prints_accounts(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    served: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.update(app=app, **kw))
    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MIANSHEN_DATABASE_URL", "")
    monkeypatch.setenv("MIANSHEN_DEMO_ENTERPRISES", "80")
    monkeypatch.setenv("MIANSHEN_DEMO_PERSONS", "60")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["serve", "--port", "8765"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    for user in ("officer", "reviewer", "admin", "enterprise"):
        assert user in result.output
    assert served["port"] == 8765 and served["host"] == "127.0.0.1"
    # the library is published by two people, and the output says so
    assert "演示政策员 officer 导入" in result.output and "演示审核员" in result.output
    assert "审计日志" in result.output and "演示模式" in result.output
    # uvicorn must not believe X-Forwarded-For from anyone (the app decides, from settings)
    assert served["proxy_headers"] is False
    with TestClient(served["app"]) as c:
        r = c.post("/api/auth/login", json={"username": "officer", "password": "officer-demo"})
        assert r.status_code == 200
        token = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert len(c.get("/api/runs", headers=token).json()) == 2
        versions = c.get("/api/policies", headers=token).json()
        from rules.loader import bundled_library

        published = {v["id"] for v in versions if v["published_version_id"]}
        # every verified policy is live; a 待核 draft never is
        assert published == {p.id for p in bundled_library() if p.verified}
        assert c.get("/metrics").status_code == 200  # open in the demo, and it said so
    keys = tmp_path / "data" / "keys"
    assert sorted(p.name for p in keys.iterdir()) == ["audit.key", "links.key", "login.key"]


def test_demo_publishes_the_library_through_review_and_matches_it(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", "--enterprises", "400", "--persons", "300",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "演示政策员 officer 导入" in result.output and "逐项审核发布" in result.output
    import shutil

    from store import audit, policies
    from store.db import transaction
    from tests.conftest import sealed_engine

    shutil.copy(out / "keys" / "audit.key", out / "audit.key")  # the seal kept in the folder
    engine = sealed_engine(f"sqlite:///{out / 'mianshen.db'}", out)
    with transaction(engine, write=False) as s:
        published = policies.published_versions(s)
        assert published and {(v.author, v.reviewer) for v in published} == {
            ("officer", "reviewer")}
        assert audit.verify(s) == []
        actions = {e.action for e in audit.entries(s)}
    assert {"policy.import", "policy.published"} <= actions
    assert (out / "outcomes-enterprise-2025-10-01.parquet").exists()
    engine.dispose()
