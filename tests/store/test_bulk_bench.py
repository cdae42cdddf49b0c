"""The bulk benchmark runs and reports seconds and rows/s per backend (tiny size)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import store_bulk


def test_bench_reports_both_backends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "bulk.json"
    monkeypatch.delenv("MIANSHEN_TEST_POSTGRES_URL", raising=False)
    store_bulk.main(["--rows", "300", "--json", str(out)])
    data = json.loads(out.read_text())
    first = data["backends"]["sqlite"]["first_run"]
    again = data["backends"]["sqlite"]["rerun_no_changes"]
    assert first["new"] == 300 and first["rows_per_second"] > 0 and first["seconds"] > 0
    assert (again["new"], again["updated"], again["revoked"]) == (0, 0, 0)
    assert data["backends"]["postgresql"] == {"skipped": "no --postgres-url"}
