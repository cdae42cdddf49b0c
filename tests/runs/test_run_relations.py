"""The nightly run reads the household register and the employment links of its sources
folder (as the demo and `mianshen match --links` do), partitioned or not, and the link files
are part of the run's identity: 特扶 is decided through the spouse, not left undetermined."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from api.scheduler import run_pipeline
from api.settings import Settings, get_settings
from api.storage import open_engine
from matcher.evaluate import match_frame
from profiles.relations import load_relations
from rules.loader import bundled_library
from store import entitlements
from store.db import transaction
from tests.conftest import fresh_database_url, publish_bundled_library

AS_OF = dt.date(2025, 11, 3)
FP = "family-planning-special-support"


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from profiles.synth import synthesize

    out = tmp_path_factory.mktemp("sources")
    synthesize(out, enterprises=60, persons=2500, seed=5)
    return out


def _store(url: str, folder: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Settings, Engine]:
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    settings = Settings(data_dir=folder, database_url=url)
    engine = open_engine(settings)
    publish_bundled_library(engine)
    return settings, engine


def _fp(engine: Engine) -> dict[str, str]:
    with transaction(engine) as s:
        return {e.entity_id: e.outcome for e in
                entitlements.list_entitlements(s, entity_kind="person", policy_id=FP)}


def _expected(sources: Path, snapshot: Path, *, with_links: bool) -> dict[str, str]:
    lib = bundled_library()
    frame = pl.read_parquet(snapshot)
    related = load_relations(sources, persons=frame).frames if with_links else None
    out = match_frame(frame, entity="person", policies=list(lib), as_of=AS_OF, sets=lib.sets,
                      related=related).filter(pl.col("policy_id") == FP)
    return dict(zip(out["entity_id"].to_list(), out["outcome"].to_list(), strict=True))


def test_the_run_decides_through_the_household_register_partitioned_or_not(
        sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = next(fresh_database_url("sqlite", tmp_path))
    settings, engine = _store(url, tmp_path / "one", monkeypatch)
    report = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF,
                          entities=("enterprise", "person"))
    assert [r.entity for r in report.runs] == ["enterprise", "person"]  # the order asked for
    person_run = next(r for r in report.runs if r.entity == "person")
    assert any(k.startswith("link:households") for k in person_run.inputs["sources"])
    snapshot = next(settings.snapshots_dir.glob("person-*.parquet"))
    expected = _expected(sources, snapshot, with_links=True)
    without = _expected(sources, snapshot, with_links=False)
    assert "eligible" in expected.values()
    assert expected != without  # the register decides what it decides
    assert _fp(engine) == expected

    split_dir = tmp_path / "split"
    split_dir.mkdir()
    url2 = next(fresh_database_url("sqlite", split_dir))
    settings2, engine2 = _store(url2, tmp_path / "two", monkeypatch)
    run_pipeline(settings2, engine=engine2, sources_dir=sources, as_of=AS_OF,
                 entities=("person",), partitions=3)
    assert _fp(engine2) == expected


def test_changed_link_files_are_a_new_run(sources: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    folder = tmp_path / "src"
    shutil.copytree(sources, folder)
    url = next(fresh_database_url("sqlite", tmp_path))
    settings, engine = _store(url, tmp_path / "data", monkeypatch)
    first = run_pipeline(settings, engine=engine, sources_dir=folder, as_of=AS_OF,
                         entities=("person",)).runs[0]
    same = run_pipeline(settings, engine=engine, sources_dir=folder, as_of=AS_OF,
                        entities=("person",)).runs[0]
    assert (same.run_id, same.status) == (first.run_id, "unchanged")
    register = folder / "households_公安.csv"
    lines = register.read_text(encoding="utf-8").splitlines()
    register.write_text("\n".join(lines[:-50]) + "\n", encoding="utf-8")  # 50 rows fewer
    changed = run_pipeline(settings, engine=engine, sources_dir=folder, as_of=AS_OF,
                           entities=("person",)).runs[0]
    assert changed.run_id != first.run_id and changed.status == "succeeded"


def test_a_snapshot_run_reads_the_link_tables_it_is_given(
        sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from api.scheduler import run_snapshot
    from profiles.build import build_snapshot

    snapshot = tmp_path / "person.parquet"
    build_snapshot(sources, entity="person", as_of=AS_OF, out=snapshot,
                   rejects=tmp_path / "rejects.csv")
    expected = _expected(sources, snapshot, with_links=True)
    url = next(fresh_database_url("sqlite", tmp_path))
    settings, engine = _store(url, tmp_path / "data", monkeypatch)
    run_snapshot(settings, engine=engine, snapshot=snapshot, entity="person", as_of=AS_OF,
                 links=sources)
    assert _fp(engine) == expected


def _items(payload: object) -> list[dict[str, object]]:
    """Every benefit item of a message payload, wherever it is nested."""
    if isinstance(payload, dict):
        found = [payload] if "policy_id" in payload and "why" in payload else []
        return found + [i for v in payload.values() for i in _items(v)]
    if isinstance(payload, list):
        return [i for v in payload for i in _items(v)]
    return []


def test_the_message_says_why_through_the_register_as_the_run_decided(
        sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The explanation in the 特扶 message was built without the register: an eligible
    husband read that his wife's age was 未知 — 需补充. It is built from what the run matched
    with, so every condition of an eligible benefit reads as met."""
    from store import outbox

    url = next(fresh_database_url("sqlite", tmp_path))
    settings, engine = _store(url, tmp_path / "data", monkeypatch)
    run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF,
                 entities=("person",))
    with transaction(engine) as s:
        items = [i for m in outbox.list_messages(s) for i in _items(m.payload)
                 if i["policy_id"] == FP and i["outcome"] == "eligible"]
    assert items, "the run announced 特扶 to someone"
    for item in items:
        why = str(item["why"])
        assert "配偶（如有）满足：出生日期不低于 1933-01-01  当前：满足" in why, why
        assert "未知" not in why, why
        assert item["open_conditions"] == []
