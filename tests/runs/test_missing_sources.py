"""A night whose extract of one department is missing does not run for that entity: its
list-type fields would read as "not on the list" and revoke entitlements still due."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from api.scheduler import run_pipeline
from api.settings import Settings, get_settings
from api.storage import open_engine
from store import entitlements
from store.db import transaction
from tests.conftest import publish_bundled_library

AS_OF = dt.date(2025, 11, 3)


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    from profiles.synth import synthesize

    out = tmp_path / "sources"
    synthesize(out, enterprises=80, persons=80, seed=5)
    return out


def test_missing_department_extract_skips_the_entity_and_revokes_nothing(
    empty_db_url: str, sources: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIANSHEN_ENVIRONMENT", "development")
    get_settings.cache_clear()
    settings = Settings(data_dir=tmp_path / "data", database_url=empty_db_url)
    engine = open_engine(settings)
    publish_bundled_library(engine)
    first = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF)
    assert not first.skipped
    with transaction(engine) as s:
        before = {(e.entity_id, e.policy_id): e.status for e in entitlements.list_entitlements(s)}

    (sources / "person_残联.csv").unlink()
    second = run_pipeline(settings, engine=engine, sources_dir=sources, as_of=AS_OF)
    assert "残联" in second.skipped["person"]
    assert [r.entity for r in second.runs] == ["enterprise"]
    with transaction(engine) as s:
        after = {(e.entity_id, e.policy_id): e.status for e in entitlements.list_entitlements(s)}
    assert after == before and "revoked" not in set(after.values())

    allowed = settings.model_copy(update={"allow_missing_sources": True})
    third = run_pipeline(allowed, engine=engine, sources_dir=sources, as_of=AS_OF)
    assert "person" not in third.skipped
