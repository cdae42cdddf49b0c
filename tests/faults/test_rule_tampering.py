"""Rules rewritten in the database, on SQLite and PostgreSQL.

An ordinary SQL user cannot change a published version at all (the triggers of migration
0004 refuse). A database owner who drops the triggers and rewrites a version (the probe's
case: a living subsidy raised to 80,000 元 a month) gets nothing from it: the next run
refuses with a Chinese message and a non-zero exit before matching anything, no entitlement
changes, and `mianshen audit verify` names the version. The same holds for a version
published without review, retired behind the reviewers' backs, or brought back to life.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError
from typer.testing import CliRunner

from api.cli import app
from api.settings import get_settings
from api.storage import open_engine
from store import entitlements, policies, policy_integrity
from store.db import transaction
from store.policies import PolicyDocument
from store.schema import policy_versions, runs
from tests.conftest import publish_bundled_library
from tests.tampering import drop_guards, raw_sql

runner = CliRunner()
VICTIM = "sh-elderly-allowance"  # 75 元 a month from 65; rewritten to 80,000


def _doc(version: str, text: str) -> PolicyDocument:
    return PolicyDocument(policy_id="p1", title="测试补贴", entity="person", text=text,
                          version=version, effective_from=dt.date(2025, 1, 1))


@pytest.fixture
def reviewed(db_engine: Engine) -> dict[str, int]:
    """p1: v1 retired (superseded by v2), v2 published, v3 under review, v4 a draft."""
    ids = {}
    with transaction(db_engine) as s:
        for version in ("v1", "v2", "v3", "v4"):
            v = policies.create_draft(s, _doc(version, f"id: p1\nversion: {version}\n"),
                                      author="alice")
            ids[version] = v.id
            if version != "v4":
                policies.submit(s, v.id, actor="alice")
            if version in ("v1", "v2"):
                policies.publish(s, v.id, reviewer="bob")
    return ids


ORDINARY_SQL = {
    "rewrite the text": "UPDATE policy_versions SET text = 'id: p1\nvalue: 80000\n' "
                        "WHERE id = :v2",
    "rewrite text and hash": "UPDATE policy_versions SET text = 'x', content_hash = "
                             "'2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'"
                             " WHERE id = :v2",
    "move the effective period": "UPDATE policy_versions SET effective_from = '2000-01-01' "
                                 "WHERE id = :v2",
    "change the author": "UPDATE policy_versions SET author = 'bob' WHERE id = :v3",
    "edit a version under review": "UPDATE policy_versions SET text = 'y' WHERE id = :v3",
    "publish without review": "UPDATE policy_versions SET status = 'published', "
                              "reviewer = 'mallory' WHERE id = :v4",
    "approve one's own version": "UPDATE policy_versions SET status = 'published', "
                                 "reviewer = 'alice' WHERE id = :v3",
    "bring a retired version back": "UPDATE policy_versions SET status = 'published' "
                                    "WHERE id = :v1",
    "send a published version back to draft": "UPDATE policy_versions SET status = 'draft' "
                                              "WHERE id = :v2",
    "delete a published version": "DELETE FROM policy_versions WHERE id = :v2",
    "delete a retired version": "DELETE FROM policy_versions WHERE id = :v1",
    "insert a published version": "INSERT INTO policy_versions (policy_id, version, "
                                  "content_hash, text, effective_from, status, author, "
                                  "reviewer, created_at) VALUES ('p1', 'v9', 'h', 't', "
                                  "'2025-01-01', 'published', 'm', 'n', '2025-01-01')",
}


@pytest.mark.parametrize("what", sorted(ORDINARY_SQL))
def test_ordinary_sql_cannot_change_a_reviewed_version(
    what: str, db_engine: Engine, reviewed: dict[str, int]
) -> None:
    params = {k: v for k, v in reviewed.items() if f":{k}" in ORDINARY_SQL[what]}
    with pytest.raises(DBAPIError, match=r"policy version|append-only|drafts only"):
        raw_sql(db_engine, ORDINARY_SQL[what], **params)
    with transaction(db_engine) as s:
        assert policy_integrity.check(s) == []
        assert [v.status for v in policies.list_versions(s)] == [
            "retired", "published", "in_review", "draft"]


def test_truncating_the_versions_is_refused_on_postgresql(db_engine: Engine,
                                                          reviewed: dict[str, int]) -> None:
    if db_engine.dialect.name != "postgresql":
        pytest.skip("TRUNCATE is PostgreSQL's (SQLite has DELETE, refused above)")
    with pytest.raises(DBAPIError, match="append-only"):
        raw_sql(db_engine, "TRUNCATE policy_versions CASCADE")


def test_drafts_stay_editable_and_deletable(db_engine: Engine, reviewed: dict[str, int]) -> None:
    raw_sql(db_engine, "UPDATE policy_versions SET text = 'id: p1\n' WHERE id = :v4",
            v4=reviewed["v4"])
    raw_sql(db_engine, "DELETE FROM policy_versions WHERE id = :v4", v4=reviewed["v4"])


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


OWNER_TAMPERING = {
    # (statement, expected problem kind)
    "rewrite text and hash": (
        "UPDATE policy_versions SET text = :t, content_hash = :h WHERE id = :v2",
        "changed_since_review"),
    "rewrite the text only": (
        "UPDATE policy_versions SET text = :t WHERE id = :v2", "hash_mismatch"),
    "publish without review": (
        "UPDATE policy_versions SET status = 'published', reviewer = 'mallory', "
        "published_at = created_at WHERE id = :v4", "unattested"),
    "bring a retired version back": (
        "UPDATE policy_versions SET status = 'published', retired_at = NULL WHERE id = :v1",
        "status_changed"),
    "retire behind the reviewers' backs": (
        "UPDATE policy_versions SET status = 'retired', retired_at = published_at "
        "WHERE id = :v2", "status_changed"),
    "delete the published version": (
        "DELETE FROM policy_versions WHERE id = :v2", "status_changed"),
}


@pytest.mark.parametrize("what", sorted(OWNER_TAMPERING))
def test_a_database_owner_rewriting_rules_is_caught_before_use(
    what: str, db_engine: Engine, reviewed: dict[str, int]
) -> None:
    statement, kind = OWNER_TAMPERING[what]
    drop_guards(db_engine)
    text = "id: p1\nvalue: 80000\n"
    params = {k: v for k, v in {**reviewed, "t": text, "h": _sha(text)}.items()
              if f":{k}" in statement}
    raw_sql(db_engine, statement, **params)
    with transaction(db_engine, write=False) as s:
        problems = policy_integrity.check(s)
        assert kind in {p.kind for p in problems}, problems
        with pytest.raises(policy_integrity.TamperedPolicyError):
            policy_integrity.verify(s)


# ---- end to end: the probe's case through the command line -----------------------------


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _entitlements(engine: Engine) -> list[tuple[object, ...]]:
    with transaction(engine, write=False) as s:
        return sorted((e.entity_id, e.policy_id, e.status, e.amount_fen)
                      for e in entitlements.list_entitlements(s))


def test_run_refuses_a_rewritten_published_version_and_changes_nothing(
    empty_db_url: str, cli_env: Path
) -> None:
    from profiles.synth import synthesize

    sources = cli_env / "sources"
    synthesize(sources, enterprises=60, persons=150, seed=13)
    engine = open_engine(get_settings(), url=empty_db_url)
    publish_bundled_library(engine)

    def run(day: str) -> object:
        return runner.invoke(app, ["run", "--sources", str(sources), "--as-of", day,
                                   "--entity", "person", "--database-url", empty_db_url])

    first = run("2025-11-03")
    assert first.exit_code == 0, first.output
    before = _entitlements(engine)
    with transaction(engine, write=False) as s:
        (victim,) = policies.published_versions(s, policy_id=VICTIM)
        runs_before = s.execute(select(runs.c.id)).scalars().all()
    assert any(p == VICTIM for _, p, _, _ in before)

    rewritten = victim.text.replace("[[65, 75],", "[[65, 80000],")
    assert rewritten != victim.text
    with pytest.raises(DBAPIError):  # as an ordinary user: refused outright
        raw_sql(engine, "UPDATE policy_versions SET text = :t WHERE id = :id",
                t=rewritten, id=victim.id)
    drop_guards(engine)  # as the database owner
    raw_sql(engine, "UPDATE policy_versions SET text = :t, content_hash = :h WHERE id = :id",
            t=rewritten, h=_sha(rewritten), id=victim.id)

    refused = run("2025-11-04")
    assert refused.exit_code == 1, refused.output
    assert "拒绝运行" in refused.output and VICTIM in refused.output
    assert "与审核人员发布时的文本不同" in refused.output
    assert _entitlements(engine) == before  # nothing paid, nothing revoked
    with transaction(engine, write=False) as s:
        assert s.execute(select(runs.c.id)).scalars().all() == runs_before
        stored = s.execute(select(policy_versions.c.text).where(
            policy_versions.c.id == victim.id)).scalar_one()
    assert "80000" in stored  # the tampering is there, and was refused

    verify = runner.invoke(app, ["audit", "verify", "--database-url", empty_db_url])
    assert verify.exit_code == 1 and VICTIM in verify.output
    flat = verify.output.replace("\n", "").replace("│", "").replace(" ", "")
    assert "与审核人员发布时的文本不同" in flat
    engine.dispose()


@pytest.mark.parametrize("when", ["under review", "scheduled"])
def test_a_text_rewritten_after_submission_is_never_published(db_engine: Engine,
                                                              when: str) -> None:
    """The owner rewrites a version after the author submitted it (under review, or approved
    for a later day): it does not go live, not even through the nightly scheduled publish."""
    with transaction(db_engine) as s:
        v = policies.create_draft(s, _doc("v1", "id: p1\nvalue: 100\n"), author="alice")
        policies.submit(s, v.id, actor="alice")
        if when == "scheduled":
            policies.publish(s, v.id, reviewer="bob", reason="下月施行",
                             publish_on=dt.date(2025, 7, 1), today=dt.date(2025, 6, 1))
    drop_guards(db_engine)
    text = "id: p1\nvalue: 80000\n"
    raw_sql(db_engine, "UPDATE policy_versions SET text = :t, content_hash = :h WHERE id = :id",
            t=text, h=_sha(text), id=v.id)
    with pytest.raises(policy_integrity.TamperedPolicyError) as err, \
            transaction(db_engine) as s:
        if when == "scheduled":
            policies.publish_due(s, today=dt.date(2025, 7, 1))
        else:
            policies.publish(s, v.id, reviewer="bob", reason="同意")
    assert err.value.problems[0].kind == "changed_since_review"
    with transaction(db_engine, write=False) as s:
        assert policies.get_version(s, v.id).status == (
            "scheduled" if when == "scheduled" else "in_review")
        assert policies.published_versions(s) == []
