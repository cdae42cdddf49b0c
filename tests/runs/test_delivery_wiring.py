"""A nightly run enqueues the messages of its changes in the same transaction; a rerun
enqueues nothing more; one delivery pass sends them once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.scheduler import delivery_job, run_pipeline
from api.settings import Settings, get_settings
from api.storage import open_engine
from store import entitlements
from store import outbox as outbox_store
from store.db import transaction
from store.schema import outbox
from tests.conftest import publish_bundled_library

AS_OF = dt.date(2025, 11, 3)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    from profiles.synth import synthesize

    out = tmp_path / "sources"
    synthesize(out, enterprises=120, persons=120, seed=11)
    return out


def _count(engine, *conditions) -> int:
    with transaction(engine) as s:
        return int(s.execute(select(func.count()).select_from(outbox).where(*conditions))
                   .scalar_one())


def test_run_enqueues_messages_with_its_changes_and_rerun_adds_none(
    empty_db_url: str, sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    settings = Settings(data_dir=tmp_path / "data", database_url=empty_db_url)
    engine = open_engine(settings)
    publish_bundled_library(engine)
    report = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF)
    assert sum(r.new for r in report.runs) > 0
    with transaction(engine) as s:
        new_entitlements = entitlements.list_entitlements(s)
    queued = _count(engine)
    # every new entitlement reaches its recipient; digests may merge several into one message
    recipients = {(e.entity_kind, e.entity_id) for e in new_entitlements}
    assert 0 < queued and len(recipients) <= queued

    again = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF)
    assert sum(r.new + r.updated + r.revoked for r in again.runs) == 0
    assert _count(engine) == queued

    delivery_job(settings)()
    assert _count(engine, outbox.c.status == "sent") > 0
    assert _count(engine, outbox.c.status == "queued") < queued


def test_partitioned_run_messages_point_at_the_entitlements_it_wrote(
    empty_db_url: str, sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each partition's messages are planned from that partition's own rows: every item of
    every message names the entitlement the run wrote for its entity, policy and period,
    and its link is recorded for that entitlement."""
    from store.schema import entitlements as ent_table
    from store.schema import links as link_table

    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    settings = Settings(data_dir=tmp_path / "data", database_url=empty_db_url)
    engine = open_engine(settings)
    publish_bundled_library(engine)
    report = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF,
                          partitions=4)
    assert sum(r.new for r in report.runs) > 0
    # the messages' own stage, apart from writing the entitlements
    assert all(r.timings["notify"] > 0 and "write" in r.timings for r in report.runs)
    with transaction(engine) as s:
        ids = {(r.entity_kind, r.entity_id, r.policy_id, r.benefit_period): int(r.id)
               for r in s.execute(select(ent_table))}
        link_of = {r.id: int(r.entitlement_id) for r in s.execute(select(link_table))}
        payloads = [(r.recipient_kind, r.recipient_id, r.payload)
                    for r in outbox_store.list_messages(s)]  # items put back in
    items = [(kind, rid, item) for kind, rid, p in payloads for item in p["items"]]
    assert len({(k, r) for k, r, _ in items}) > 4 * 4  # recipients in every partition
    for kind, rid, item in items:
        expected = ids[(kind, rid, item["policy_id"], item["benefit_period"])]
        assert item["entitlement_id"] == expected
        assert link_of[item["link"].rsplit("/", 1)[1]] == expected


def test_messages_planned_in_chunks_are_the_messages_planned_at_once(
    sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's messages are planned a chunk of recipients at a time (bounded memory); the
    chunks change nothing: the same messages, keys and items as one plan of the whole."""
    import api.delivery
    from store.db import upgrade

    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    got = []
    for chunk in (10**9, 1):
        monkeypatch.setattr(api.delivery, "_PLAN_CHUNK", chunk)
        get_settings.cache_clear()
        url = f"sqlite:///{tmp_path / f'c{chunk}.db'}"
        upgrade(url)
        settings = Settings(data_dir=tmp_path / f"data{chunk}", database_url=url)
        engine = open_engine(settings)
        publish_bundled_library(engine)
        run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF)
        with transaction(engine) as s:
            got.append(sorted(
                (r.idempotency_key, r.channel, [(i["policy_id"], i["benefit_period"], i["kind"])
                                               for i in r.payload["items"]])
                for r in outbox_store.list_messages(s)))
        engine.dispose()
    assert got[0] and got[0] == got[1]


def test_a_revocation_names_the_conditions_that_failed_in_its_message_and_its_record(
    empty_db_url: str, sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The next night a person's 户籍 is elsewhere: each benefit that asked for it is
    revoked, and the message, the entitlement's reason and its 处理记录 line all say which
    condition no longer holds (before: the record said only 不再符合政策条件)."""
    import polars as pl

    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    settings = Settings(data_dir=tmp_path / "data", database_url=empty_db_url)
    engine = open_engine(settings)
    publish_bundled_library(engine)
    run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF)
    with transaction(engine) as s:
        granted = [e for e in entitlements.list_entitlements(s, entity_kind="person")
                   if e.outcome == "eligible"]
    # a benefit of one city's (sh-…, bj-…: they ask for its 户籍); the person moves to another
    local = next(e for e in granted if e.policy_id.split("-")[0] in {"sh", "bj", "gz", "xj"})
    person, elsewhere = local.entity_id, "110105" if local.policy_id.startswith("sh") else "310101"
    police = sources / "person_公安.csv"
    rows = pl.read_csv(police, infer_schema=False)
    rows.with_columns(pl.when(pl.col("id_number") == person).then(pl.lit(elsewhere))
                      .otherwise(pl.col("hukou_district")).alias("hukou_district")
                      ).write_csv(police)

    run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF)
    with transaction(engine) as s:
        revoked = [e for e in entitlements.list_entitlements(s, entity_kind="person",
                                                             entity_id=person)
                   if e.status == "revoked"]
        history = {e.id: entitlements.events(s, e.id)[-1] for e in revoked}
        items = [i for m in outbox_store.list_messages(s) if m.recipient_id == person
                 for i in m.payload["items"] if i.get("kind") == "revocation"]
    assert revoked and items
    told = {i["entitlement_id"]: i["reason"] for i in items}
    for e in revoked:
        said = told[e.id]
        assert said.startswith("不再满足：") and "户籍" in said, said
        # the record keeps the run's date and id, and names the same conditions
        assert e.reason is not None and e.reason.startswith(f"{AS_OF.isoformat()} 运行 ")
        assert e.reason.endswith("：" + said), e.reason
        assert history[e.id].to_status == "revoked" and history[e.id].reason == e.reason
