"""Settings: one pydantic-settings class, read from ``MIANSHEN_*`` environment variables
(and an optional ``.env``). Nothing is built at import: call :func:`get_settings`.

Secrets never default: a key that is not configured is generated on first use and kept in
the keys directory (see :mod:`api.keys`); a configured key that is a known default or too
short is refused in every environment, development included.

>>> s = Settings(data_dir="/srv/mianshen", environment="development")
>>> s.database_url
'sqlite:////srv/mianshen/mianshen.db'
>>> s.outcomes_dir.as_posix(), s.keys_path.as_posix(), s.audit_head_path.as_posix()
('/srv/mianshen/outcomes', '/srv/mianshen/keys', '/srv/mianshen/audit-head.log')
>>> Settings(secret_key="change-me")
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings
...
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values that appear in documentation, templates and earlier releases: never accepted as a key.
KNOWN_DEFAULT_SECRETS = frozenset({
    "change-me", "changeme", "change_me", "secret", "secret-key", "secret_key", "password",
    "mianshen", "default", "development", "dev", "test", "test-secret", "example", "xxx",
})
MIN_SECRET_LENGTH = 32


def check_secret(value: str, *, setting: str) -> str:
    """``value`` when it is usable as a signing key; ValueError (Chinese, names the setting)
    when it is a known default or shorter than 32 characters.

    >>> check_secret("k" * 40, setting="MIANSHEN_SECRET_KEY") == "k" * 40
    True
    >>> check_secret("change-me", setting="MIANSHEN_SECRET_KEY")
    Traceback (most recent call last):
    ...
    ValueError: MIANSHEN_SECRET_KEY 使用了公开的默认值，任何人都能用它伪造令牌；...
    """
    if value.strip().lower() in KNOWN_DEFAULT_SECRETS:
        raise ValueError(
            f"{setting} 使用了公开的默认值，任何人都能用它伪造令牌；请删除该设置（首次启动时会"
            "自动生成随机密钥）或设置至少 32 个字符的随机值"
        )
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"{setting} 太短：应至少 {MIN_SECRET_LENGTH} 个字符，实际 {len(value)} 个；"
            "可用 python3 -c 'import secrets; print(secrets.token_urlsafe(32))' 生成"
        )
    return value


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

    # keys: each one, when not set, is generated on first use into <keys_dir>/<name>.key
    # (0600). Several hosts sharing one database must share these (set them, or share the
    # keys directory).
    keys_dir: Path | None = Field(default=None, description="default <data_dir>/keys")
    secret_key: SecretStr | None = Field(default=None, description="login token key")
    audit_key: SecretStr | None = Field(
        default=None, description="HMAC key of the audit chain; never stored in the database"
    )
    # Every committed head of the audit chain is appended here (outside the database).
    audit_head_file: Path | None = Field(default=None, description="default <data_dir>/"
                                         "audit-head.log")

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
    # MIANSHEN_LINK_SECRET_KEY one is generated on first use and kept in the keys directory
    link_secret_key: SecretStr | None = None
    link_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)
    # messages carry the explanation's text for batches up to this many changes (beyond,
    # the link leads to the same explanation on the page)
    explain_in_messages_limit: int = Field(default=20_000, ge=0)

    # the HTTP API (api.app)
    token_ttl_seconds: int = Field(default=8 * 3600, ge=60)
    # Login limits: attempts per client address and per account name within the window,
    # counted in shared storage (the database, or Redis when redis_url is set).
    login_limit_per_address: int = Field(default=30, ge=1)
    login_limit_per_account: int = Field(default=10, ge=1)
    login_limit_window_seconds: float = Field(default=900.0, gt=0)
    redis_url: str | None = Field(default=None, description="e.g. redis://127.0.0.1:6379/0")
    # Addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed;
    # from anyone else the header is ignored.
    trusted_proxies: tuple[str, ...] = ()
    # Requests inside the app at once (the others wait in line, holding nothing); the
    # database pool of the service holds twice as many connections (api.gates).
    request_concurrency: int = Field(default=20, ge=1)
    # /metrics: open to anyone when true; else to a bearer of metrics_token or an admin.
    metrics_public: bool = False
    metrics_token: SecretStr | None = None
    demo_enterprises: int = Field(default=2000, ge=0)
    demo_persons: int = Field(default=2000, ge=0)
    demo_seed: int = 7

    @model_validator(mode="after")
    def _fill_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{(self.data_dir / 'mianshen.db').as_posix()}"
        return self

    @field_validator("secret_key", "audit_key", "link_secret_key", "metrics_token")
    @classmethod
    def _refuse_weak_secret(cls, value: SecretStr | None, info: object) -> SecretStr | None:
        if value is not None:
            name = getattr(info, "field_name", "secret")
            check_secret(value.get_secret_value(), setting=f"MIANSHEN_{name.upper()}")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _valid_networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        import ipaddress

        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"MIANSHEN_TRUSTED_PROXIES 应为 IP 地址或网段（如 10.0.0.5 或 10.0.0.0/24），"
                    f"实际为 {item!r}"
                ) from None
        return value

    @model_validator(mode="after")
    def _one_key_per_purpose(self) -> Settings:
        configured = [v.get_secret_value() for v in (self.secret_key, self.link_secret_key,
                                                      self.audit_key) if v is not None]
        if len(configured) != len(set(configured)):
            raise ValueError("MIANSHEN_SECRET_KEY、MIANSHEN_LINK_SECRET_KEY 与 "
                             "MIANSHEN_AUDIT_KEY 必须各不相同：每种用途一个密钥")
        return self

    def link_key(self) -> bytes:
        """The key one-click link tokens are signed with (:func:`api.keys.named_key`
        ``links``): ``MIANSHEN_LINK_SECRET_KEY``, or one generated on first use."""
        from api.keys import named_key

        return named_key(self, "links")

    @property
    def demo_sources_dir(self) -> Path:
        """Where the demo population's source extracts are written."""
        return self.data_dir / "demo-sources"

    @property
    def run_sources_dir(self) -> Path:
        """The source extracts (and link tables) a run started from the pages, or a
        simulation, reads: the configured folder, else the demo population's."""
        return self.sources_dir or self.demo_sources_dir

    @property
    def outcomes_dir(self) -> Path:
        return self.data_dir / "outcomes"

    @property
    def snapshots_dir(self) -> Path:
        return self.data_dir / "snapshots"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def keys_path(self) -> Path:
        return self.keys_dir or self.data_dir / "keys"

    @property
    def audit_head_path(self) -> Path:
        return self.audit_head_file or self.data_dir / "audit-head.log"


@cache
def get_settings() -> Settings:
    """The settings of this process, read once."""
    return Settings()
