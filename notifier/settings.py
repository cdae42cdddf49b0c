"""Delivery settings, read from the environment (``MIANSHEN_*``) when asked, never at import;
each channel reads its own settings (see :mod:`notifier.channels.registry`). A channel
without its settings is simply not configured: its messages wait in the outbox (and are
retried) until it is."""

from __future__ import annotations

import datetime as dt
import os
import socket

from pydantic_settings import BaseSettings, SettingsConfigDict

from notifier.abc import Channel
from notifier.channels.registry import build_channels
from notifier.delivery_rules import DeliveryRules, QuietHours
from notifier.errors import ConfigurationError
from notifier.worker import DeliveryReport, RetryPolicy, SessionFactory, run_delivery_once


class NotifierSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MIANSHEN_", extra="ignore")

    database_url: str = "sqlite:///mianshen.db"
    worker_id: str | None = None
    batch_size: int = 100
    lease_seconds: float = 300.0
    max_attempts: int = 8
    backoff_base_s: float = 60.0
    daily_cap: int | None = 10
    # quiet hours of the SMS channel, local time, "HH:MM-HH:MM"; empty: none
    sms_quiet_hours: str = "22:00-08:00"

    def worker_name(self) -> str:
        return self.worker_id or f"{socket.gethostname()}-{os.getpid()}"

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(max_attempts=self.max_attempts, base_s=self.backoff_base_s)

    def delivery_rules(self) -> DeliveryRules:
        quiet: dict[str, QuietHours] = {}
        if self.sms_quiet_hours.strip():
            try:
                start, end = (dt.time.fromisoformat(t.strip())
                              for t in self.sms_quiet_hours.split("-"))
            except ValueError:
                raise ConfigurationError(parameter="MIANSHEN_SMS_QUIET_HOURS",
                                         expected="HH:MM-HH:MM or empty",
                                         got=self.sms_quiet_hours) from None
            quiet["sms"] = QuietHours(start=start, end=end)
        return DeliveryRules(daily_cap=self.daily_cap, quiet_hours=quiet)

    def channels(self, sessions: SessionFactory | None = None) -> dict[str, Channel]:
        """The configured channels by outbox channel name (the registry's, each from its
        own ``MIANSHEN_*`` settings); the inbox is always there."""
        return build_channels(sessions)


def run_configured_delivery_once(
    *,
    settings: NotifierSettings | None = None,
    sessions: SessionFactory | None = None,
    now: dt.datetime | None = None,
    limit: int | None = None,
) -> DeliveryReport:
    """One delivery pass with the channels and rules of ``settings`` (default: from the
    environment). The scheduler passes its own ``sessions``; without them an engine for
    ``settings.database_url`` is opened for the pass and disposed after."""
    settings = settings or NotifierSettings()
    engine = None
    if sessions is None:
        from store.db import make_engine, session_factory

        engine = make_engine(settings.database_url)
        sessions = session_factory(engine)
    channels = settings.channels(sessions)
    try:
        return run_delivery_once(
            sessions,
            channels,
            worker=settings.worker_name(),
            now=now,
            limit=limit or settings.batch_size,
            lease_seconds=settings.lease_seconds,
            retry=settings.retry_policy(),
            rules=settings.delivery_rules(),
        )
    finally:
        for channel in channels.values():
            channel.close()
        if engine is not None:
            engine.dispose()
