"""The audit trail rewritten in the database, on SQLite and PostgreSQL: every way the probe
tried (an UPDATE of a published version, the chain and its head rewritten together in the
same database, truncation, emptying) and a few more are detected by `mianshen audit verify`
(exit 1, Chinese report). The intruder is the database owner: ordinary SQL cannot UPDATE or
DELETE the log at all (tests/store/test_audit.py), so the guards are dropped first."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from api.storage import open_engine
from store import audit, policies
from store.db import transaction
from store.policies import PolicyDocument
from store.schema import audit_head, audit_log
from tests.tampering import drop_guards, raw_sql

runner = CliRunner()


@pytest.fixture
def store(empty_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[tuple[Engine, str]]:
    """A store opened like the service opens it (generated audit key, head file in the data
    directory), with a reviewed policy and a few more entries."""
    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    engine = open_engine(get_settings(), url=empty_db_url)
    from store.db import upgrade

    upgrade(engine)
    doc = PolicyDocument(policy_id="p1", title="稳岗返还", entity="enterprise",
                         text="id: p1\nrate: 0.6\n", version="v1",
                         effective_from=dt.date(2025, 1, 1))
    with transaction(engine) as s:
        v = policies.create_draft(s, doc, author="alice")
        policies.submit(s, v.id, actor="alice")
    with transaction(engine) as s:
        policies.publish(s, v.id, reviewer="bob")
    for i in range(4):
        with transaction(engine) as s:
            audit.append(s, actor="officer", action="note", subject=f"n:{i}", detail={"i": i})
    yield engine, empty_db_url
    engine.dispose()
    get_settings.cache_clear()


def _verify(url: str, *extra: str) -> tuple[int, str]:
    result = runner.invoke(app, ["audit", "verify", "--database-url", url, *extra])
    flat = result.output.replace("\n", "").replace("│", "").replace(" ", "")
    return result.exit_code, flat


def test_an_untouched_store_verifies(store: tuple[Engine, str]) -> None:
    code, out = _verify(store[1])
    assert code == 0 and "审计日志完整" in out


def test_update_of_a_published_version_is_detected(store: tuple[Engine, str]) -> None:
    engine, url = store
    drop_guards(engine)
    text = "id: p1\nrate: 0.9\n"
    raw_sql(engine, "UPDATE policy_versions SET text = :t, content_hash = :h",
            t=text, h=hashlib.sha256(text.encode()).hexdigest())
    code, out = _verify(url)
    assert code == 1 and "与审核人员发布时的文本不同" in out


def _rewrite_chain(engine: Engine, *, key: bytes | None, drop: int = 0,
                   edit: dict[int, str] | None = None) -> None:
    """Recompute the whole chain with ``key`` (None: plain SHA-256, as the old log was)
    after dropping the newest ``drop`` entries and editing actors; move the in-database head
    along, so the database is consistent with itself."""
    with engine.begin() as conn:
        rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
        conn.execute(audit_log.delete())
        prev = audit.GENESIS
        kept = rows[: len(rows) - drop]
        for r in kept:
            actor = (edit or {}).get(r.seq, r.actor)
            digest = audit.entry_hash(prev_hash=prev, seq=r.seq, at=r.at, actor=actor,
                                      action=r.action, subject=r.subject, detail=r.detail,
                                      key=key)
            conn.execute(audit_log.insert().values(
                seq=r.seq, at=r.at, actor=actor, action=r.action, subject=r.subject,
                detail=r.detail, prev_hash=prev, hash=digest,
                scheme=audit.SCHEME_KEYED if key else audit.SCHEME_LEGACY))
            prev = digest
        conn.execute(audit_head.delete())
        if kept:
            conn.execute(audit_head.insert().values(name="main", seq=kept[-1].seq, hash=prev))


@pytest.mark.parametrize("key", [None, b"change-me", b"k" * 32], ids=["sha256", "old-default",
                                                                      "guessed-key"])
def test_chain_and_head_rewritten_in_the_same_database_are_detected(
    store: tuple[Engine, str], key: bytes | None
) -> None:
    engine, url = store
    drop_guards(engine)
    _rewrite_chain(engine, key=key, edit={2: "mallory"})
    code, out = _verify(url)
    assert code == 1
    if key is not None:  # a wrong key fails every HMAC
        assert "被修改" in out
    assert "被改写" in out  # the heads exported outside the database no longer match
    assert "没有审核发布记录" in out  # and the publishing record is no longer authentic


def test_truncation_with_the_head_moved_along_is_detected(store: tuple[Engine, str]) -> None:
    engine, url = store
    drop_guards(engine)
    with engine.begin() as conn:
        last = conn.execute(select(audit_log.c.seq).order_by(audit_log.c.seq.desc())).scalar()
        conn.execute(audit_log.delete().where(audit_log.c.seq > last - 2))
        new_last = conn.execute(select(audit_log.c.seq, audit_log.c.hash)
                                .order_by(audit_log.c.seq.desc())).first()
        assert new_last is not None
        conn.execute(audit_head.update().values(seq=new_last.seq, hash=new_last.hash))
    code, out = _verify(url)
    assert code == 1 and "被截断或清空" in out


def test_emptying_the_log_and_its_head_is_detected(store: tuple[Engine, str]) -> None:
    engine, url = store
    drop_guards(engine)
    raw_sql(engine, "DELETE FROM audit_log")
    raw_sql(engine, "DELETE FROM audit_head")
    code, out = _verify(url)
    assert code == 1 and "被截断或清空" in out
    assert "没有审核发布记录" in out  # and the published version lost its review record
    with transaction(engine, write=False) as s:
        assert {p.kind for p in audit.verify(s)} == {"truncated"}


def test_a_forged_entry_appended_without_the_key_is_detected(store: tuple[Engine, str]) -> None:
    engine, url = store
    with engine.begin() as conn:  # appending is allowed to SQL; forging the HMAC is not
        top = conn.execute(select(audit_log).order_by(audit_log.c.seq.desc())).first()
        assert top is not None
        at = dt.datetime.now(dt.UTC)
        digest = hmac.new(b"a guess at the key, 32 bytes long", b"x", "sha256").hexdigest()
        conn.execute(audit_log.insert().values(
            seq=top.seq + 1, at=at, actor="bob", action="policy.published",
            subject="policy:p9", detail='{"version_id":99}', prev_hash=top.hash, hash=digest,
            scheme=audit.SCHEME_KEYED))
        conn.execute(audit_head.update().values(seq=top.seq + 1, hash=digest))
    code, out = _verify(url)
    assert code == 1 and "被修改" in out


def test_a_deleted_head_file_is_detected(store: tuple[Engine, str], tmp_path: Path) -> None:
    (tmp_path / "data" / "audit-head.log").write_text("")
    code, out = _verify(store[1])
    assert code == 1 and "链头文件异常" in out


def test_a_head_kept_elsewhere_catches_a_rewrite_of_everything(
    store: tuple[Engine, str], tmp_path: Path
) -> None:
    """The operator wrote down the head; the intruder rewrote the log *and* emptied the
    head file. The written-down head still catches it."""
    engine, url = store
    with transaction(engine, write=False) as s:
        kept = audit.head(s)
    assert kept is not None
    drop_guards(engine)
    _rewrite_chain(engine, key=None, drop=1)
    (tmp_path / "data" / "audit-head.log").unlink()
    code, out = _verify(url, "--head", f"{kept[0]}:{kept[1]}")
    assert code == 1 and "被截断或清空" in out
