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
