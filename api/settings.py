"""Settings: one pydantic-settings class, read from ``MIANSHEN_*`` environment variables
(and an optional ``.env``). Nothing is built at import: call :func:`get_settings`.

>>> s = Settings(data_dir="/srv/mianshen", environment="development")
>>> s.database_url
'sqlite:////srv/mianshen/mianshen.db'
>>> s.outcomes_dir.as_posix()
'/srv/mianshen/outcomes'
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MIANSHEN_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./mianshen-data")
    database_url: str = Field(
        default="", description="SQLAlchemy URL; default sqlite:///<data_dir>/mianshen.db"
    )
    sources_dir: Path | None = None
    secret_key: str = DEFAULT_SECRET

    # the nightly job
    nightly_cron: str = "0 2 * * *"
    timezone: str = "Asia/Shanghai"
    nightly_entities: tuple[Literal["enterprise", "person"], ...] = ("enterprise", "person")
    misfire_grace_seconds: int = Field(default=3600, ge=1)
    allow_missing_sources: bool = Field(
        default=False, description="run even when a department's extract is missing"
    )
    run_lock_ttl_seconds: float = Field(default=300.0, gt=0)

    # delivery: links in messages point here; the scheduler runs the outbox worker this often
    public_base_url: str = "http://127.0.0.1:8000"
    delivery_interval_seconds: int = Field(default=60, ge=1)
    # one-click links: signed with a key of their own (never the login key); without
    # MIANSHEN_LINK_SECRET_KEY one is generated on first start and kept in the data dir
    link_secret_key: str = ""
    link_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    # messages carry the explanation's text for batches up to this many changes (beyond,
    # the link leads to the same explanation on the page)
    explain_in_messages_limit: int = Field(default=20_000, ge=0)

    # the HTTP API (api.app)
    token_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    login_rate_limit: int = Field(default=10, ge=1, description="login attempts per window")
    login_rate_window_seconds: float = Field(default=60.0, gt=0)
    demo_enterprises: int = Field(default=2000, ge=0)
    demo_persons: int = Field(default=2000, ge=0)
    demo_seed: int = 7

    @model_validator(mode="after")
    def _fill_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'mianshen.db').as_posix()}"
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment != "development" and self.secret_key == DEFAULT_SECRET:
            raise ValueError(
                "MIANSHEN_SECRET_KEY must be set to a secret value outside development "
                f"(environment is {self.environment!r}; got the default key)"
            )
        return self

    def link_key(self) -> bytes:
        """The key one-click link tokens are signed with: the configured one, or one
        generated on first use and stored (owner-only) as ``<data_dir>/link-secret.key``."""
        if self.link_secret_key:
            if self.link_secret_key == self.secret_key:
                raise ValueError("MIANSHEN_LINK_SECRET_KEY must differ from the login key")
            return self.link_secret_key.encode()
        import os
        import secrets
        import time

        path = self.data_dir / "link-secret.key"
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process is creating it
                pass
            else:
                with os.fdopen(fd, "w", encoding="ascii") as fh:
                    fh.write(secrets.token_urlsafe(48))
        for _ in range(50):
            key = path.read_text(encoding="ascii").strip()
            if key:
                return key.encode()
            time.sleep(0.02)
        raise RuntimeError(f"the link key file {path} is empty")

    @property
    def outcomes_dir(self) -> Path:
        return self.data_dir / "outcomes"

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


@cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
