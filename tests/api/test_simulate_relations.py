"""A simulation decides as the nightly run does: with the household register of the sources
folder (特扶 through the spouse) and with the award ledger (小巨人 once per firm)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from api.scheduler import run_pipeline
from api.services.population import DataAccess
from api.services.simulate import simulate
from api.settings import Settings, get_settings
from api.storage import open_engine
from rules.loader import bundled_library
from store.db import transaction
from tests.conftest import fresh_database_url, publish_bundled_library

AS_OF = dt.date(2025, 11, 3)


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from profiles.synth import synthesize

    out = tmp_path_factory.mktemp("sources")
    synthesize(out, enterprises=3000, persons=2500, seed=5)
    return out


def _after_the_run(sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                   ) -> tuple[Settings, Any]:
    """A store after the nightly run of ``sources``: the bundled library published, the
    synthetic award history imported."""
    from api.services.demo_data import import_demo_awards

    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    url = next(fresh_database_url("sqlite", tmp_path))
    settings = Settings(data_dir=tmp_path / "data", database_url=url, sources_dir=sources)
    engine = open_engine(settings)
    publish_bundled_library(engine)
    import_demo_awards(engine, sources, say=lambda _m: None)
    run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF)
    return settings, engine


def test_simulation_reads_the_register_and_the_ledger(
        sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings, engine = _after_the_run(sources, tmp_path, monkeypatch)
    library = bundled_library()

    def report(data: DataAccess, pid: str) -> dict[str, int]:
        with transaction(engine) as session:
            return simulate(data, session, library[pid], as_of=AS_OF)["totals"]

    # the officer's sample explanations say why as the simulation decided: an eligible
    # sample's conditions are all met, none read 未知 for want of the register
    with transaction(engine) as session:
        samples = simulate(DataAccess(settings, engine), session,
                           library["family-planning-special-support"], as_of=AS_OF)["samples"]
    eligible = [s for s in samples if s["outcome"] == "eligible"]
    assert eligible
    for sample in eligible:
        assert sample["gaps"] == [] and sample["unknown_fields"] == [], sample["text"]
        assert "配偶（如有）满足" in sample["text"]

    with_links = report(DataAccess(settings, engine), "family-planning-special-support")
    blind = report(DataAccess(settings.model_copy(update={"sources_dir": None}), engine),
                   "family-planning-special-support")
    assert with_links["eligible"] >= 1
    assert with_links["eligible"] > blind["eligible"]  # without the register: undetermined
    assert with_links["undetermined"] < blind["undetermined"]

    giants = report(DataAccess(settings, engine), "gz-little-giant-reward")
    assert giants["eligible"] >= 1, "the ledger is complete from the policy's start"


def test_the_benefit_page_explains_through_the_register_and_the_ledger(
        sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a citizen or a firm reads on its benefit page (and ``GET /explain``) is decided
    as the run decided: the page's explanation had neither the household register nor the
    award ledger, so an eligible husband's 特扶 page said 结果：符合 above a spouse condition
    marked 未知 — 需补充, and a 小巨人 firm's page could not see its award history."""
    from api.auth import Principal
    from api.routes.matches import explain_one
    from store import entitlements

    settings, engine = _after_the_run(sources, tmp_path, monkeypatch)
    data = DataAccess(settings, engine)
    checked = 0
    for kind, pid in (("person", "family-planning-special-support"),
                      ("person", "iit-housing-rent-deduction"),
                      ("enterprise", "gz-little-giant-reward")):
        with transaction(engine) as session:
            granted = [e for e in entitlements.list_entitlements(
                session, entity_kind=kind, policy_id=pid) if e.outcome == "eligible"][:5]
            assert granted, pid
            for e in granted:
                who = Principal(user_id="u", role="citizen" if kind == "person" else kind,
                                display_name="u", entity_kind=kind, entity_id=e.entity_id)
                page = explain_one(who, data, session, kind, e.entity_id, pid)
                assert page.outcome == "eligible", (pid, page.text)
                assert page.gaps == [] and page.unknown_fields == [], (pid, page.text)
                assert {c.status for c in page.conditions} <= {"met", "unused"}, (
                    pid, [(c.label, c.status) for c in page.conditions])
                checked += 1
    assert checked >= 3
