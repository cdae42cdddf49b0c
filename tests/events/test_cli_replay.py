"""`mianshen events replay`: events applied in order give the outcomes `mianshen match` gives
on the final profiles; bad lines are refused and the replay goes on; with a database, each
event's entitlement changes and outbox messages are written."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from api.cli import app
from profiles.idcheck import uscc_problem

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
AS_OF = "2025-10-01"


def uscc(stem: str) -> str:
    for org in "0123456789X":
        for last in ALPHABET:
            code = stem + org + last
            if uscc_problem(code) is None:
                return code
    raise AssertionError(stem)


E1, E2 = uscc("9144010100000001"), uscc("9131000000000002")


def write_inputs(tmp_path: Path) -> tuple[Path, Path]:
    profiles = tmp_path / "profiles.csv"
    pl.DataFrame({
        "uscc": [E1, E2], "status": ["存续", "存续"], "industry_code": ["6510", "3911"],
        "employees": ["20", "500"], "annual_taxable_income": ["1000000", "9000000"],
        "restricted_industry": ["false", "false"],
        "total_assets": ["1000000", "90000000"], "district": ["440106", "310115"],
    }).write_csv(profiles)
    events = tmp_path / "events.jsonl"
    lines = [
        {"entity_id": E1, "set": {"graduate_hires": 2}},
        {"entity_id": E2, "set": {"从业人数": 200, "total_assets": 40_000_000}},
        {"entity_id": E1, "set": {"employees": "很多"}},
        {"entity_id": E1, "set": {"age": 3}},
        {"entity_id": E1, "event": "graduate_hired", "on": "2025-03-01", "person": "P1"},
        {"entity_id": E1, "event": "insured_3_months", "on": "2025-06-10", "person": "P1"},
        {"entity_id": E2, "set": {"annual_taxable_income": None}},
    ]
    events.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\nxx\n",
                      encoding="utf-8")
    return profiles, events


def verified_library(tmp_path: Path) -> Path:
    """The bundled library with the trigger policy (a draft marked 待核, never matched as
    published) marked verified, for tests of the event engine's triggers."""
    import shutil

    from rules.loader import library_dir

    folder = tmp_path / "policies"
    shutil.copytree(library_dir(), folder)
    trigger = folder / "graduate-hiring-insured-trigger.yaml"
    trigger.write_text(trigger.read_text(encoding="utf-8").replace(
        "verification: 待核", "verification: 已核"), encoding="utf-8")
    return folder


def test_replay_equals_match_on_the_final_profiles(tmp_path):
    profiles, events = write_inputs(tmp_path)
    policies = verified_library(tmp_path)
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    result = CliRunner().invoke(app, [
        "events", "replay", "--entity", "enterprise", "--profiles", str(profiles),
        "--events", str(events), "--as-of", AS_OF, "--out", str(out),
        "--rejects", str(rejects), "--policies", str(policies)])
    assert result.exit_code == 0, result.output
    assert "事件 5 条已应用，3 条被拒" in result.output
    assert pl.read_csv(rejects)["line"].to_list() == [3, 4, 8]

    final = tmp_path / "final.csv"
    pl.DataFrame({
        "uscc": [E1, E2], "status": ["存续", "存续"], "industry_code": ["6510", "3911"],
        "employees": ["20", "200"], "annual_taxable_income": ["1000000", None],
        "restricted_industry": ["false", "false"],
        "total_assets": ["1000000", "40000000"], "district": ["440106", "310115"],
        "graduate_hires": ["2", None],
    }).write_csv(final)
    batch_out = tmp_path / "batch.csv"
    done = CliRunner().invoke(app, ["match", "--entity", "enterprise", "--profiles",
                                    str(final), "--as-of", AS_OF, "--out", str(batch_out),
                                    "--policies", str(policies)])
    assert done.exit_code == 0, done.output
    got = pl.read_csv(out, infer_schema_length=None)
    trigger = got.filter(pl.col("policy_id") == "graduate-hiring-insured-trigger")
    assert trigger.select("entity_id", "outcome", "amount_fen").rows() == [
        (E1, "eligible", 150000)]
    expected = pl.read_csv(batch_out, infer_schema_length=None).sort("entity_id", "policy_id")
    rest = got.filter(pl.col("policy_id") != "graduate-hiring-insured-trigger")
    assert rest.sort("entity_id", "policy_id").equals(expected)


def test_replay_with_a_database_writes_entitlements_and_outbox(tmp_path, monkeypatch):
    from api.settings import get_settings
    from api.storage import open_engine
    from tests.conftest import publish_bundled_library

    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    profiles, events = write_inputs(tmp_path)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    base = ["events", "replay", "--entity", "enterprise", "--profiles", str(profiles),
            "--events", str(events), "--as-of", AS_OF, "--out", str(tmp_path / "o.parquet"),
            "--database", url]
    unreviewed = CliRunner().invoke(app, base)  # nothing published yet: nothing is written
    assert unreviewed.exit_code == 1 and "尚无已发布" in unreviewed.output
    files = CliRunner().invoke(app, [*base, "--policies", str(tmp_path)])
    assert files.exit_code == 2 and "已发布" in files.output
    engine = open_engine(get_settings(), url=url)
    publish_bundled_library(engine)
    from api.services.library_import import approve_versions, import_library

    trigger = verified_library(tmp_path) / "graduate-hiring-insured-trigger.yaml"
    imported = import_library(engine, author="officer", paths=[trigger])
    approve_versions(engine, imported.created, reviewer="reviewer", reason="测试：已核对原文")
    result = CliRunner().invoke(app, [
        "events", "replay", "--entity", "enterprise", "--profiles", str(profiles),
        "--events", str(events), "--as-of", AS_OF, "--out", str(tmp_path / "o.parquet"),
        "--database", url])
    assert result.exit_code == 0, result.output
    from sqlalchemy import select

    from store.db import make_engine, transaction
    from store.schema import entitlements, outbox

    with transaction(make_engine(url)) as session:
        rows = session.execute(select(entitlements.c.entity_id, entitlements.c.policy_id,
                                      entitlements.c.status, entitlements.c.last_run_id)).all()
        messages = session.execute(select(outbox.c.recipient_id, outbox.c.kind)).all()
    pairs = {(r.entity_id, r.policy_id) for r in rows}
    assert (E1, "graduate-hiring-subsidy") in pairs
    assert (E1, "graduate-hiring-insured-trigger") in pairs
    assert all(r.last_run_id.startswith("event-2025-10-01-enterprise-") for r in rows)
    assert any(m.recipient_id == E1 for m in messages)
    get_settings.cache_clear()
