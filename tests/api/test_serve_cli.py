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
    with TestClient(served["app"]) as c:
        r = c.post("/api/auth/login", json={"username": "officer", "password": "officer-demo"})
        assert r.status_code == 200
        token = {"Authorization": f"Bearer {r.json()['access_token']}"}
        assert len(c.get("/api/runs", headers=token).json()) == 2
