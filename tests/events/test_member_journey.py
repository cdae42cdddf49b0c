"""The journey of a member's update between nights: the nightly run grants a person the
housing-rent deduction (住房租金专项附加扣除: no home of their own *or their spouse's* in the
work city); that evening 住建 reports that the spouse now owns a home there; the event worker
(`mianshen events consume`, on the run's snapshot and the household register) revokes the
person's deduction in the store and tells them why - not the spouse alone, and not only the
next night."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from api.scheduler import run_pipeline
from api.settings import Settings, get_settings
from api.storage import open_engine
from profiles.catalog import OWNER_COLUMN
from profiles.relations import load_relations
from store import entitlements, outbox
from store.db import transaction
from store.schema import outbox as outbox_table
from tests.conftest import publish_bundled_library

AS_OF = dt.date(2025, 11, 3)
RENT = "iit-housing-rent-deduction"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from profiles.synth import synthesize

    out = tmp_path_factory.mktemp("sources")
    synthesize(out, enterprises=20, persons=2500, seed=5)
    return out


def test_a_spouse_buying_a_home_revokes_the_rent_deduction_the_same_evening(
        sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    folder = tmp_path / "sources"  # the next night's extract is edited below
    shutil.copytree(sources, folder)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(data_dir=data_dir, database_url=url, sources_dir=folder)
    engine = open_engine(settings)
    publish_bundled_library(engine)
    run_pipeline(settings, engine=engine, sources_dir=folder, as_of=AS_OF,
                 entities=("person",))
    snapshot = next(settings.snapshots_dir.glob("person-*.parquet"))

    # a person the night granted the deduction, whose spouse owns no home in the city
    with transaction(engine) as s:
        granted = {e.entity_id: e for e in entitlements.list_entitlements(
            s, entity_kind="person", policy_id=RENT) if e.outcome == "eligible"}
    spouses = load_relations(folder, persons=pl.read_parquet(snapshot)).frames["spouse"]
    pairs = spouses.members.select(OWNER_COLUMN, "id_number").collect()
    person, spouse = next((o, m) for o, m in pairs.iter_rows() if o in granted)

    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps({"entity_id": spouse, "set": {"owns_home_in_work_city": True}})
                      + "\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "events", "consume",
         "--entity", "person", "--profiles", str(snapshot), "--links", str(folder),
         "--events", str(events), "--as-of", AS_OF.isoformat(), "--database", url,
         "--checkpoint", str(tmp_path / "checkpoint")],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "MIANSHEN_DATA_DIR": str(data_dir)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "写库 1 条" in done.stdout.replace("\n", "")

    with transaction(engine) as s:
        [after] = [e for e in entitlements.list_entitlements(
            s, entity_kind="person", entity_id=person, policy_id=RENT)
            if e.benefit_period == granted[person].benefit_period]
        assert after.status == "revoked"
        # the 处理记录 names the condition too, with the evening's date and event batch
        assert after.reason is not None and after.reason.startswith(
            f"{AS_OF.isoformat()} 实时事件 event-"), after.reason
        assert after.reason.endswith("：不再满足：配偶在主要工作城市没有自有住房"), after.reason
        assert entitlements.events(s, after.id)[-1].reason == after.reason
        ids = [r for r, in s.execute(select(outbox_table.c.id).where(
            outbox_table.c.recipient_id == person))]
        told = [(m.channel, m.payload) for m in (outbox.get(s, i) for i in ids)]
    revocations = {channel: i for channel, p in told for i in p.get("items", [])
                   if i.get("kind") == "revocation" and i.get("policy_id") == RENT}
    # told on every channel the person has, as a run's revocation is (the phone is in the
    # profile the engine holds), saying which condition no longer holds, explained
    phone = pl.read_parquet(snapshot).filter(pl.col("id_number") == person)["phone"].item()
    assert set(revocations) == ({"inbox", "sms"} if phone else {"inbox"}), told
    for item in revocations.values():
        assert item["reason"] == "不再满足：配偶在主要工作城市没有自有住房", item
        assert "✗ 不满足  配偶在主要工作城市没有自有住房" in item["why"], item["why"]
        # what the spouse's record now says, not "当前：—"
        assert "当前：配偶中（在主要工作城市有自有住房：是）的人数 1" in item["why"], item["why"]

    # the update is on record with the batch, against the snapshot the worker loaded; the
    # person's benefit page explains with it (the night's outcome would say 符合)
    from api.auth import Principal
    from api.routes.matches import explain_entitlement
    from api.services.population import DataAccess
    from matcher.runs import snapshot_hash
    from store import profile_updates

    with transaction(engine) as s:
        recorded = profile_updates.since_snapshot(s, entity_kind="person",
                                                  snapshot_hash=snapshot_hash(snapshot))
        assert recorded == {spouse: {"owns_home_in_work_city": True}}
        data = DataAccess(settings, engine)
        assert data.population(s, "person").updated == {spouse}
        who = Principal(user_id="u", role="citizen", display_name="u", entity_kind="person",
                        entity_id=person)
        page = explain_entitlement(who, data, s, after)
    assert page.outcome == "ineligible", page.text
    assert [c.label for c in page.gaps] == ["配偶在主要工作城市没有自有住房"]

    # the worker restarted from an earlier checkpoint applies the event again: nothing new
    (tmp_path / "checkpoint").write_text("0", encoding="utf-8")
    again = subprocess.run(done.args, capture_output=True, text=True, timeout=600,
                           env={**os.environ, "MIANSHEN_DATA_DIR": str(data_dir)})
    assert again.returncode == 0, again.stderr[-2000:]
    with transaction(engine) as s:
        assert profile_updates.last_id(s, entity_kind="person",
                                       snapshot_hash=snapshot_hash(snapshot)) == 1
        told_before = len(outbox.list_messages(s))

    # the next night: 住建's extract lists the spouse's home; the run decides as the evening
    # did, so the deduction stays revoked and nobody is told anything about it again
    housing = folder / "person_住建.csv"
    rows = pl.read_csv(housing, infer_schema=False)
    owns = "在主要工作城市有自有住房"
    if spouse in rows["公民身份号码"].to_list():
        rows = rows.with_columns(pl.when(pl.col("公民身份号码") == spouse).then(pl.lit("是"))
                                 .otherwise(pl.col(owns)).alias(owns))
    else:
        rows = pl.concat([rows, pl.DataFrame({"公民身份号码": [spouse], owns: ["是"]})],
                         how="diagonal")
    rows.write_csv(housing)
    run_pipeline(settings, engine=engine, sources_dir=folder, as_of=AS_OF,
                 entities=("person",))
    with transaction(engine) as s:
        [night] = [e for e in entitlements.list_entitlements(
            s, entity_kind="person", entity_id=person, policy_id=RENT)
            if e.benefit_period == granted[person].benefit_period]
        assert (night.status, night.id) == ("revoked", after.id)
        again_told = [i for m in outbox.list_messages(s)[told_before:]
                      if m.recipient_id == person for i in m.payload.get("items", [])
                      if i.get("policy_id") == RENT]
        assert again_told == []
        page = explain_entitlement(who, DataAccess(settings, engine), s, night)
    assert page.outcome == "ineligible" and [c.label for c in page.gaps] == [
        "配偶在主要工作城市没有自有住房"]
    engine.dispose()
