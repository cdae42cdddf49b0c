"""End to end through the command line: synthetic extracts -> `mianshen run` -> entitlements;
a rerun changes nothing; `mianshen audit verify` passes, then fails on a tampered row."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from store import entitlements, policies
from store.db import make_engine, transaction
from store.schema import audit_log

runner = CliRunner()


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    from profiles.synth import synthesize

    out = tmp_path / "sources"
    synthesize(out, enterprises=150, persons=150, seed=7, bad_rows=2)
    return out


@pytest.fixture(autouse=True)
def _data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()


def test_run_twice_then_verify_and_detect_tampering(
    empty_db_url: str, sources: Path, tmp_path: Path
) -> None:
    args = [
        "run",
        "--sources",
        str(sources),
        "--as-of",
        "2025-11-03",
        "--database-url",
        empty_db_url,
        "--json",
        str(tmp_path / "report.json"),
    ]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "新增" in first.output and "隔离行" in first.output
    engine = make_engine(empty_db_url)
    with transaction(engine) as s:
        created = entitlements.list_entitlements(s)
        lib = policies.published_versions(s, as_of=dt.date(2025, 11, 3))
    assert created and {v.author for v in lib} == {"system"}
    assert (tmp_path / "report.json").exists()

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "无变化" in second.output
    with transaction(engine) as s:
        assert len(entitlements.list_entitlements(s)) == len(created)

    ok = runner.invoke(app, ["audit", "verify", "--database-url", empty_db_url])
    assert ok.exit_code == 0, ok.output
    with transaction(engine) as s:
        s.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone"))
    bad = runner.invoke(app, ["audit", "verify", "--database-url", empty_db_url])
    assert bad.exit_code == 1
    engine.dispose()


def test_db_upgrade_and_library_import_commands(empty_db_url: str) -> None:
    up = runner.invoke(app, ["db", "upgrade", "--database-url", empty_db_url])
    assert up.exit_code == 0 and "0005" in up.output
    imported = runner.invoke(app, ["policies", "import-library", "--database-url", empty_db_url])
    from rules.loader import bundled_library

    assert imported.exit_code == 0 and f"已导入 {len(bundled_library())}" in imported.output
    again = runner.invoke(app, ["policies", "import-library", "--database-url", empty_db_url])
    assert again.exit_code == 0 and "无需导入" in again.output


def test_run_refuses_a_bad_date(empty_db_url: str, tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "run",
            "--sources",
            str(tmp_path),
            "--as-of",
            "2025-13-01",
            "--database-url",
            empty_db_url,
        ],
    )
    assert result.exit_code == 2


def test_run_exits_non_zero_when_it_refuses_or_fails(
    empty_db_url: str, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monitoring reads the exit code: a refused entity (a department's extract missing) is
    exit 3 with the reason, a failed run exit 1; a clean run exits 0."""
    (sources / "person_残联.csv").unlink()
    refused = runner.invoke(app, ["run", "--sources", str(sources), "--as-of", "2025-11-03",
                                  "--database-url", empty_db_url])
    assert refused.exit_code == 3, refused.output
    assert "残联" in refused.output and "未运行" in refused.output

    import api.scheduler

    def broken(*_a: object, **_k: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(api.scheduler, "run_pipeline", broken)
    failed = runner.invoke(app, ["run", "--sources", str(sources), "--as-of", "2025-11-03",
                                 "--database-url", empty_db_url])
    assert failed.exit_code == 1 and "运行失败" in failed.output
