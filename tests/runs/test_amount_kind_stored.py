"""The run stores on each entitlement the kind of amount its policy grants (cash, tax saving,
deduction, in kind), and pages and messages word the amount by the stored kind: a 个税专项附加
扣除 reads 可在个税中扣除 … 元/月, never as money received; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update

sys.path.insert(0, str(Path(__file__).parent))
import runkit

from api.delivery import entitlement_changes
from api.services.benefits import benefit_public
from matcher import runs
from notifier.rendering import render_message
from store import entitlements
from store.db import transaction
from store.money import amount_text
from store.schema import entitlements as entitlements_table

AS_OF = dt.date(2025, 11, 3)


def _kind(pid: str, kind: str) -> Any:
    base = runkit.policy(pid, period="month", entity="person")
    assert base.amount is not None
    return dataclasses.replace(base, amount=dataclasses.replace(base.amount, kind=kind))


DEDUCTION = _kind("deduction", "deduction")
CASH = _kind("cash", "cash")
ROWS = [("P1", "deduction", "eligible", 200000, "month"),
        ("P1", "cash", "eligible", 200000, "month")]


def _run(engine: Engine, tmp_path: Path, policies: list[Any], **kwargs: Any) -> runs.RunReport:
    snap = runkit.write_snapshot(runkit.outcomes(ROWS), tmp_path / "snap.parquet")
    return runs.execute_run(engine=engine, snapshot_path=snap, as_of=AS_OF, policies=policies,
                            outcomes_dir=tmp_path / "outcomes", entity="person",
                            match=runkit.passthrough_match, **kwargs)


def test_the_run_stores_the_kind_and_pages_word_a_deduction_as_one(
        db_engine: Engine, tmp_path: Path) -> None:
    report = _run(db_engine, tmp_path, [DEDUCTION, CASH])
    assert report.status == "succeeded" and report.new == 2
    with transaction(db_engine) as s:
        got = {e.policy_id: e for e in entitlements.list_entitlements(s)}
    assert (got["deduction"].amount_kind, got["cash"].amount_kind) == ("deduction", "cash")
    shown = benefit_public(got["deduction"], {})
    assert shown.amount_display == "可在个税中扣除 2,000.00 元/月"
    assert shown.amount_kind == "deduction"
    assert benefit_public(got["cash"], {}).amount_display == "2,000.00 元/月"


def test_the_page_reads_the_stored_kind_not_the_policy(db_engine: Engine,
                                                        tmp_path: Path) -> None:
    # what was stored decides the wording (a row written under another kind reads as that)
    _run(db_engine, tmp_path, [DEDUCTION, CASH])
    with transaction(db_engine) as s:
        s.execute(update(entitlements_table).where(entitlements_table.c.policy_id == "cash")
                  .values(amount_kind="tax_saving"))
    with transaction(db_engine) as s:
        (row,) = entitlements.list_entitlements(s, policy_id="cash")
    assert benefit_public(row, {}).amount_display == "预计减免税款 2,000.00 元/月"


def test_a_later_version_with_another_kind_updates_the_stored_kind(
        db_engine: Engine, tmp_path: Path) -> None:
    _run(db_engine, tmp_path, [DEDUCTION, CASH])
    corrected = dataclasses.replace(_kind("cash", "deduction"), version="v2")
    report = _run(db_engine, tmp_path / "again", [DEDUCTION, corrected])
    assert report.updated == 1
    with transaction(db_engine) as s:
        kinds = dict(s.execute(select(entitlements_table.c.policy_id,
                                      entitlements_table.c.amount_kind)).all())
    assert kinds == {"deduction": "deduction", "cash": "deduction"}


def test_messages_word_the_stored_kind(db_engine: Engine, tmp_path: Path) -> None:
    seen: list[Any] = []
    _run(db_engine, tmp_path, [DEDUCTION, CASH],
         on_changes=lambda session, changes, run_id: seen.append(changes))
    (changes,) = seen
    assert sorted(changes.new["amount_kind"].to_list()) == ["cash", "deduction"]
    policies = {p.id: p for p in (DEDUCTION, CASH)}
    by_policy = {c.policy_id: c for c in entitlement_changes(changes, entity_kind="person",
                                                             policies=policies)}
    change = by_policy["deduction"]
    assert change.amount_kind == "deduction"
    item = {"kind": "benefit_notice", "policy_title": change.policy_title,
            "benefit_period": change.benefit_period, "period_label": "2025年11月",
            "amount_fen": change.amount_fen, "amount_period": change.amount_period,
            "amount_kind": change.amount_kind, "link": "https://x.cn/l/abcdefghijk",
            "amount_display": amount_text(change.amount_fen, period=change.amount_period,
                                          kind=change.amount_kind)}
    text = render_message("benefit_notice", {"recipient": {"entity_kind": "person",
                                                           "display_name": "张*"},
                                             "items": [item]}).text
    assert "可在个税中扣除 2,000.00 元/月" in text
    assert "享受 2,000.00" not in text
