"""Settings of the store and the nightly job."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import DEFAULT_SECRET, Settings, get_settings


def test_default_database_is_a_sqlite_file_under_the_data_dir(tmp_path: Path) -> None:
    s = Settings(environment="development", data_dir=tmp_path)
    assert s.database_url == f"sqlite:///{(tmp_path / 'mianshen.db').as_posix()}"
    assert (s.nightly_cron, s.timezone) == ("0 2 * * *", "Asia/Shanghai")


def test_environment_variables_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("MIANSHEN_NIGHTLY_CRON", "30 3 * * *")
    s = Settings(environment="development")
    assert s.database_url == "postgresql+psycopg://u@h/db" and s.nightly_cron == "30 3 * * *"


def test_default_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValidationError, match="MIANSHEN_SECRET_KEY"):
        Settings(environment="production")
    assert Settings(environment="production", secret_key="s3cret").secret_key == "s3cret"
    assert Settings(environment="development").secret_key == DEFAULT_SECRET


def test_get_settings_is_cached_and_builds_nothing_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    assert get_settings() is get_settings()
    get_settings.cache_clear()
