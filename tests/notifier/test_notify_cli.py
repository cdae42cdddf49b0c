"""`mianshen notify` runs one delivery pass; operators see and requeue dead letters."""

from __future__ import annotations

import datetime as dt

import pytest
from typer.testing import CliRunner

from api.cli import app
from notifier.links import Links
from notifier.outbox import enqueue_changes
from store import outbox
from store.db import make_engine, session_factory, upgrade

from .conftest import change


@pytest.fixture
def db(tmp_path, monkeypatch: pytest.MonkeyPatch) -> str:  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    for name in ("MIANSHEN_WEBHOOK_SECRET", "MIANSHEN_SMTP_HOST", "MIANSHEN_SMS_GATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MIANSHEN_DATABASE_URL", url)
    return url


def test_notify_delivers_queued_inbox_messages_once(db: str) -> None:
    engine = make_engine(db)
    with session_factory(engine)() as s, s.begin():
        enqueue_changes(s, [change()], links=Links(base_url="https://x.cn", secret=b"k"),
                        as_of=dt.date(2025, 6, 1))
    runner = CliRunner()
    first = runner.invoke(app, ["notify"])
    assert first.exit_code == 0, first.output
    assert "已发送 1" in first.output
    second = runner.invoke(app, ["notify"])
    assert "认领 0 条" in second.output
    with session_factory(engine)() as s:
        assert outbox.counts(s) == {"sent": 1}
    engine.dispose()


def test_dead_letters_are_listed_and_can_be_requeued(db: str) -> None:
    engine = make_engine(db)
    with session_factory(engine)() as s, s.begin():
        outbox.enqueue(s, [outbox.OutboxMessage(idempotency_key="k1", recipient_kind="person",
                                                recipient_id="x", channel="inbox",
                                                kind="digest", payload={})])
    runner = CliRunner()
    assert runner.invoke(app, ["notify"]).exit_code == 0  # empty payload cannot render: dead
    listing = runner.invoke(app, ["notify", "dead-letters"])
    assert "共 1 条死信" in listing.output
    with session_factory(engine)() as s:
        (dead,) = outbox.dead_letters(s)
    assert runner.invoke(app, ["notify", "requeue", str(dead.id)]).exit_code == 0
    with session_factory(engine)() as s:
        assert outbox.dead_letters(s) == []
    missing = runner.invoke(app, ["notify", "requeue", "9999"])
    assert missing.exit_code == 1
    engine.dispose()


def test_notify_on_a_database_without_the_outbox_says_so(
    tmp_path, monkeypatch: pytest.MonkeyPatch  # type: ignore[no-untyped-def]
) -> None:
    monkeypatch.setenv("MIANSHEN_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(app, ["notify"])
    assert result.exit_code == 1
    assert "尚未迁移" in result.output


def test_settings_configure_only_the_channels_they_have(monkeypatch: pytest.MonkeyPatch) -> None:
    from notifier.errors import ConfigurationError
    from notifier.settings import NotifierSettings

    for name in ("MIANSHEN_WEBHOOK_SECRET", "MIANSHEN_SMTP_HOST", "MIANSHEN_SMS_GATEWAY_URL"):
        monkeypatch.delenv(name, raising=False)
    assert set(NotifierSettings().channels()) == {"inbox"}
    monkeypatch.setenv("MIANSHEN_WEBHOOK_SECRET", "a-long-enough-webhook-secret")
    monkeypatch.setenv("MIANSHEN_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("MIANSHEN_SMTP_SENDER", "noreply@mianshen.example.cn")
    monkeypatch.setenv("MIANSHEN_SMS_GATEWAY_URL", "https://sms.example.cn/send")
    channels = NotifierSettings().channels()
    assert set(channels) == {"inbox", "webhook", "email", "sms"}
    for channel in channels.values():
        channel.close()
    monkeypatch.setenv("MIANSHEN_WEBHOOK_SECRET", "short")
    with pytest.raises(ConfigurationError, match="secret"):
        NotifierSettings().channels()
