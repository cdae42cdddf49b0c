"""Settings of the store and the nightly job."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.settings import Settings, get_settings


def test_default_database_is_a_sqlite_file_under_the_data_dir(tmp_path: Path) -> None:
    s = Settings(environment="development", data_dir=tmp_path)
    assert s.database_url == f"sqlite:///{(tmp_path / 'mianshen.db').as_posix()}"
    assert (s.nightly_cron, s.timezone) == ("0 2 * * *", "Asia/Shanghai")


def test_environment_variables_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIANSHEN_DATABASE_URL", "postgresql+psycopg://u@h/db")
    monkeypatch.setenv("MIANSHEN_NIGHTLY_CRON", "30 3 * * *")
    s = Settings(environment="development")
    assert s.database_url == "postgresql+psycopg://u@h/db" and s.nightly_cron == "30 3 * * *"


@pytest.mark.parametrize("environment", ["development", "test", "production"])
@pytest.mark.parametrize("known", ["change-me", "CHANGE-ME", "secret", " changeme "])
def test_a_known_default_secret_is_refused_in_every_environment(environment: str,
                                                                 known: str) -> None:
    for setting in ("secret_key", "audit_key", "link_secret_key", "metrics_token"):
        with pytest.raises(ValidationError, match=f"MIANSHEN_{setting.upper()}"):
            Settings(environment=environment, **{setting: known})  # type: ignore[arg-type]


def test_a_short_secret_is_refused_and_a_long_random_one_accepted() -> None:
    with pytest.raises(ValidationError, match="至少 32 个字符"):
        Settings(environment="production", secret_key="s3cret")
    strong = secrets.token_urlsafe(32)
    configured = Settings(environment="production", secret_key=strong).secret_key
    assert configured is not None and configured.get_secret_value() == strong
    assert strong not in repr(Settings(secret_key=strong))  # never printed


def test_no_secret_is_configured_by_default(tmp_path: Path) -> None:
    s = Settings(environment="development", data_dir=tmp_path)
    assert s.secret_key is None and s.audit_key is None  # generated on first use


def test_get_settings_is_cached_and_builds_nothing_at_import(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    assert get_settings() is get_settings()
    get_settings.cache_clear()
