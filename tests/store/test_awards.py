"""The award ledger in the store: imports validated and quarantined line by line, idempotent
re-import, declared complete periods, and the system's own grants read from entitlements."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import Engine

from matcher.award_import import import_awards, load_ledger
from rules import ast
from rules.ledger import ledger_value
from rules.loader import bundled_library
from store import entitlements
from store.awards import coverage, ledger_awards
from store.db import transaction
from store.entitlement_bulk import insert_new

GZ = "gz-little-giant-reward"
FIRM = "91350100M000100Y43"
TODAY = dt.date(2026, 3, 1)
HEADER = "policy_id,entity_id,benefit_period,amount,granted_on\n"


def _import(engine: Engine, text: str, *, complete_from: dt.date | None = None):
    with transaction(engine) as s:
        return import_awards(s, text, entity_kind="enterprise", library=bundled_library(),
                             source="old-system.csv", actor="officer", today=TODAY,
                             complete_from=complete_from)


def test_bad_lines_are_quarantined_with_line_and_reason_the_rest_imported(
        db_engine: Engine) -> None:
    text = HEADER + "\n".join([
        f"{GZ},{FIRM},once,1000000.00,2026-02-12",
        f"{GZ},91350100M000100Y44,once,1000000,2026-02-12",
        f"no-such-policy,{FIRM},once,1000000,2026-02-12",
        f"{GZ},{FIRM},2025,1000000.005,2026-02-12",
        f"{GZ},{FIRM},2025,-5,2026-02-12",
        f"{GZ},{FIRM},2025-13,5,2026-02-12",
        f"{GZ},{FIRM},2025,5,2026-02-30",
        f"{GZ},{FIRM},2025,5,2027-01-01",
        f"{GZ},{FIRM},once,1000000.00,2026-02-12",
        f"sh-elderly-allowance,{FIRM},once,5,2026-02-12",
    ]) + "\n"
    report = _import(db_engine, text)
    assert report.imported == 1
    reasons = {r.line: r.reason for r in report.rejects}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert "校验码错误" in reasons[3]
    assert "政策编号应为政策库中的一项" in reasons[4]
    assert "精确到分" in reasons[5] and "1000000.005" in reasons[5]
    assert "正数" in reasons[6]
    assert "享受期间" in reasons[7]
    assert "YYYY-MM-DD" in reasons[8]
    assert "不应晚于今天" in reasons[9]
    assert "与第 2 行" in reasons[10]
    assert "不是本次导入的 enterprise" in reasons[11]
    with transaction(db_engine) as s:
        [award] = ledger_awards(s, entity_kind="enterprise")
    assert (award.amount_fen, award.granted_on, award.source) == (
        100_000_000, dt.date(2026, 2, 12), "old-system.csv:2")


def test_reimport_changes_nothing_and_a_disagreeing_line_is_refused(db_engine: Engine) -> None:
    line = f"{GZ},{FIRM},once,1000000,2026-02-12\n"
    assert _import(db_engine, HEADER + line).imported == 1
    again = _import(db_engine, HEADER + line)
    assert (again.imported, again.skipped, again.rejects) == (0, 1, ())
    other = _import(db_engine, HEADER + line.replace("1000000", "900000"))
    assert other.imported == 0 and "不会被覆盖" in other.rejects[0].reason


def test_missing_header_column_is_one_clear_reject(db_engine: Engine) -> None:
    report = _import(db_engine, "policy_id,entity_id,amount\nx,y,1\n")
    assert report.imported == 0
    assert report.rejects[0].line == 1 and "benefit_period" in report.rejects[0].reason


def test_ledger_for_a_run_reads_imports_grants_and_coverage(db_engine: Engine) -> None:
    _import(db_engine, HEADER + f"{GZ},{FIRM},once,1000000,2026-02-12\n",
            complete_from=dt.date(2025, 8, 23))
    frame = pl.DataFrame({
        "entity_id": ["91440101MA59TEST01"], "policy_id": [GZ], "benefit_period": ["once"],
        "policy_version": ["v1"], "outcome": ["eligible"], "amount_fen": [100_000_000],
        "amount_period": ["once"], "amount_kind": ["cash"], "delivery": ["direct"],
        "unknown_fields": [[]]})
    now = dt.datetime(2025, 9, 2, 2, 0, tzinfo=dt.UTC)
    with transaction(db_engine) as s:
        insert_new(s, frame, entity_kind="enterprise", run_id="r1", now=now)
        [ent] = entitlements.list_entitlements(s)
        entitlements.transition(s, ent.id, "confirmed", actor="firm", now=now)
    with transaction(db_engine) as s:
        assert coverage(s, entity_kind="enterprise") == {GZ: dt.date(2025, 8, 23)}
        ledger = load_ledger(s, entity_kind="enterprise", library=bundled_library(),
                             as_of=TODAY)
    assert ledger.awards.height == 2
    got = ast.LedgerRef(kind="received", policy_id=GZ)
    own = ast.LedgerRef(kind="received", policy_id=GZ, own=True)
    assert ledger_value(ledger, got, FIRM, TODAY) is True
    # the confirmed grant is on record for other policies; for its own policy it is this
    # very benefit, not an earlier one
    assert ledger_value(ledger, got, "91440101MA59TEST01", TODAY) is True
    assert ledger_value(ledger, own, "91440101MA59TEST01", TODAY) is False
    assert ledger_value(ledger, own, "91440101MA59OTHER1", TODAY) is False


def test_cli_import_reports_rejects_in_chinese_with_line_numbers(tmp_path, monkeypatch) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    src = tmp_path / "old.csv"
    src.write_text(HEADER + f"{GZ},{FIRM},once,1000000,2026-02-12\n"
                   f"{GZ},91350100M000100Y44,once,1000000,2026-02-12\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    result = runner.invoke(app, ["awards", "import", str(src), "--entity", "enterprise",
                                 "--actor", "officer", "--complete-from", "2025-08-23",
                                 "--rejects", str(tmp_path / "r.csv"), "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "导入 1 条" in result.output and "拒收 1 条" in result.output
    assert "第 3 行：统一社会信用代码校验码错误 [key_check_char]" in result.output
    assert "key_check_char" in (tmp_path / "r.csv").read_text(encoding="utf-8")
