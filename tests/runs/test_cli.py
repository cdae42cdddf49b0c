"""End to end through the command line: `mianshen policies import` (under review) -> a
reviewer approves -> synthetic extracts -> `mianshen run` -> entitlements; a rerun changes
nothing; `mianshen audit verify` passes, then fails on a tampered row."""

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


def _accounts(url: str) -> None:
    from api.services.accounts import AccountSpec, upsert_account
    from api.storage import open_engine
    from store.db import upgrade

    engine = open_engine(get_settings(), url=url)
    upgrade(engine)
    with transaction(engine) as s:
        upsert_account(s, AccountSpec(user_id="zhang", display_name="张政策员", role="officer",
                                      password="zhang-password"))
        upsert_account(s, AccountSpec(user_id="li", display_name="李审核员", role="reviewer",
                                      password="li-password"))
    engine.dispose()


def _import_and_approve(url: str) -> int:
    from api.services.library_import import approve_versions
    from api.storage import open_engine

    _accounts(url)
    imported = runner.invoke(app, ["policies", "import", "--author", "zhang",
                                   "--database-url", url], input="zhang-password\n")
    assert imported.exit_code == 0, imported.output
    engine = open_engine(get_settings(), url=url)
    with transaction(engine) as s:
        pending = [v for v in policies.list_versions(s) if v.status == "in_review"]
    approve_versions(engine, pending, reviewer="li", reason="与原文一致")
    engine.dispose()
    return len(pending)


def test_run_before_any_approval_matches_nothing_and_says_why(
    empty_db_url: str, sources: Path
) -> None:
    _accounts(empty_db_url)
    imported = runner.invoke(app, ["policies", "import", "--author", "zhang",
                                   "--database-url", empty_db_url], input="zhang-password\n")
    assert imported.exit_code == 0 and "审核中" in imported.output
    result = runner.invoke(app, ["run", "--sources", str(sources), "--as-of", "2025-11-03",
                                 "--database-url", empty_db_url])
    assert result.exit_code == 3, result.output  # nothing ran: not a success
    assert "尚无已发布" in result.output
    engine = make_engine(empty_db_url)
    with transaction(engine) as s:
        assert entitlements.list_entitlements(s) == [] and policies.published_versions(s) == []
    engine.dispose()


def test_run_twice_then_verify_and_detect_tampering(
    empty_db_url: str, sources: Path, tmp_path: Path
) -> None:
    from tests.tampering import drop_guards

    _import_and_approve(empty_db_url)
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
    assert created and {v.author for v in lib} == {"zhang"}
    assert {v.reviewer for v in lib} == {"li"}
    assert (tmp_path / "report.json").exists()

    second = runner.invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "无变化" in second.output
    with transaction(engine) as s:
        assert len(entitlements.list_entitlements(s)) == len(created)

    ok = runner.invoke(app, ["audit", "verify", "--database-url", empty_db_url])
    assert ok.exit_code == 0, ok.output
    drop_guards(engine)
    with transaction(engine) as s:
        s.execute(update(audit_log).where(audit_log.c.seq == 2).values(actor="someone"))
    bad = runner.invoke(app, ["audit", "verify", "--database-url", empty_db_url])
    assert bad.exit_code == 1
    engine.dispose()


def test_db_upgrade_and_library_import_commands(empty_db_url: str) -> None:
    from rules.loader import bundled_library

    up = runner.invoke(app, ["db", "upgrade", "--database-url", empty_db_url])
    assert up.exit_code == 0 and "0013" in up.output
    _accounts(empty_db_url)
    wrong = runner.invoke(app, ["policies", "import", "--author", "zhang", "--database-url",
                                empty_db_url], input="guess\n")
    assert wrong.exit_code == 2 and "密码不正确" in wrong.output
    not_officer = runner.invoke(app, ["policies", "import", "--author", "li", "--database-url",
                                      empty_db_url], input="li-password\n")
    assert not_officer.exit_code == 2 and "政策业务人员" in not_officer.output
    imported = runner.invoke(app, ["policies", "import", "--author", "zhang",
                                   "--database-url", empty_db_url], input="zhang-password\n")
    assert imported.exit_code == 0, imported.output
    drafts = sum(1 for p in bundled_library() if not p.verified)
    assert f"已导入 {len(bundled_library()) - drafts} 个" in imported.output
    assert f"另有 {drafts} 个标记为“待核”的政策导入为草稿" in imported.output.replace("\n", "")
    again = runner.invoke(app, ["policies", "import", "--author", "zhang",
                                "--database-url", empty_db_url], input="zhang-password\n")
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


def test_import_of_policy_files_puts_them_under_review_and_refuses_a_bad_file(
    empty_db_url: str, tmp_path: Path
) -> None:
    from rules.loader import library_dir

    _accounts(empty_db_url)
    folder = tmp_path / "new-policies"
    folder.mkdir()
    text = (library_dir() / "graduate-hiring-subsidy.yaml").read_text(encoding="utf-8")
    (folder / "p.yaml").write_text(text.replace("id: graduate-hiring-subsidy",
                                                "id: graduate-hiring-subsidy-2026"),
                                   encoding="utf-8")
    imported = runner.invoke(app, ["policies", "import", "--author", "zhang", str(folder),
                                   "--database-url", empty_db_url], input="zhang-password\n")
    assert imported.exit_code == 0 and "已导入 1 个" in imported.output, imported.output
    (folder / "bad.yaml").write_text(text.replace("graduate_hires", "graduate_hirez"),
                                     encoding="utf-8")
    refused = runner.invoke(app, ["policies", "import", "--author", "zhang", str(folder),
                                  "--database-url", empty_db_url], input="zhang-password\n")
    assert refused.exit_code == 1 and "未导入任何版本" in refused.output
    engine = make_engine(empty_db_url)
    with transaction(engine) as s:
        versions = policies.list_versions(s)
    assert [(v.policy_id, v.status, v.author) for v in versions] == [
        ("graduate-hiring-subsidy-2026", "in_review", "zhang")]
    engine.dispose()


def test_a_policy_marked_unverified_is_imported_as_a_draft_that_cannot_be_submitted(
    empty_db_url: str, tmp_path: Path
) -> None:
    from rules.loader import library_dir
    from store.errors import UnverifiedPolicyError

    _accounts(empty_db_url)
    folder = tmp_path / "drafts"
    folder.mkdir()
    text = (library_dir() / "graduate-hiring-subsidy.yaml").read_text(encoding="utf-8")
    (folder / "p.yaml").write_text(text.replace("id: graduate-hiring-subsidy",
                                                "id: graduate-hiring-draft\nverification: 待核"),
                                   encoding="utf-8")
    imported = runner.invoke(app, ["policies", "import", "--author", "zhang", str(folder),
                                   "--database-url", empty_db_url], input="zhang-password\n")
    assert imported.exit_code == 0, imported.output
    shown = imported.output.replace("\n", "")
    assert "已导入 0 个" in shown and "graduate-hiring-draft" in shown
    engine = make_engine(empty_db_url)
    with transaction(engine) as s:
        [version] = policies.list_versions(s)
    assert (version.policy_id, version.status) == ("graduate-hiring-draft", "draft")
    with transaction(engine) as s, pytest.raises(UnverifiedPolicyError):
        policies.submit(s, version.id, actor="zhang", verified=False)
    with transaction(engine, write=False) as s:
        assert policies.published_versions(s) == []
    engine.dispose()


def test_a_version_published_before_the_upgrade_is_refused_until_a_reviewer_attests_it(
    empty_db_url: str,
) -> None:
    """An install from before migration 0004: its library was imported as published by the
    system user, with unkeyed audit entries. After the upgrade a run refuses those versions
    until a reviewer (password checked) attests them; a tampered one is never attested."""
    import hashlib

    from sqlalchemy import text

    from store.db import upgrade

    upgrade(empty_db_url, revision="0009")
    legacy = make_engine(empty_db_url)
    body = "id: p-old\ntitle: 旧政策\n"
    with legacy.begin() as conn:
        conn.execute(text("INSERT INTO users VALUES ('system', '系统', 'system', "
                          "'2025-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO policies VALUES ('p-old', '旧政策', 'enterprise', "
                          "'2025-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO policy_versions (policy_id, version, content_hash, text, "
            "effective_from, status, author, created_at, submitted_at, published_at) VALUES "
            "('p-old', 'v1', :h, :t, '2025-01-01', 'published', 'system', "
            "'2025-01-01 00:00:00', '2025-01-01 00:00:00', '2025-01-01 00:00:00')"),
            {"h": hashlib.sha256(body.encode()).hexdigest(), "t": body})
    legacy.dispose()
    _accounts(empty_db_url)  # upgrades to head on the way
    before = runner.invoke(app, ["audit", "verify", "--database-url", empty_db_url])
    assert before.exit_code == 1 and "p-old" in before.output
    wrong = runner.invoke(app, ["policies", "attest", "--reviewer", "li", "--database-url",
                                empty_db_url], input="not-it\n")
    assert wrong.exit_code == 2
    attested = runner.invoke(app, ["policies", "attest", "--reviewer", "li",
                                   "--database-url", empty_db_url], input="li-password\n")
    assert attested.exit_code == 0 and "已补签 1 个" in attested.output, attested.output
    after = runner.invoke(app, ["audit", "verify", "--database-url", empty_db_url])
    assert after.exit_code == 0, after.output


def test_run_exits_non_zero_when_it_refuses_or_fails(
    empty_db_url: str, sources: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Monitoring reads the exit code: a refused entity (a department's extract missing) is
    exit 3 with the reason, a failed run exit 1; a clean run exits 0."""
    _import_and_approve(empty_db_url)
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
