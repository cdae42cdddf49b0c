"""The pages' population with the event worker's updates applied
(:func:`api.services.population.apply_updates`) equals the snapshot built from the updated
data: each updated base field set (null is UNKNOWN, never a default), derived tags computed
again (an age from a new birth date), the other rows and the row order untouched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.services.population import apply_updates
from bench.generate import generate_households
from profiles.derive import derive
from store.profile_updates import json_value
from tests.events.test_member_updates import BASE

AS_OF = dt.date(2025, 6, 30)

values = st.fixed_dictionaries({}, optional={
    "employed": st.sampled_from([True, False, None]),
    "disability_grade": st.sampled_from([1, 2, 3, 4, None]),
    "subsistence_status": st.sampled_from(["低保", "特困", "无", None]),
    "birth_date": st.sampled_from([dt.date(1940, 3, 1), dt.date(2023, 1, 5), None]),
    "hukou_district": st.sampled_from(["110105", "440106", None]),
}).filter(bool)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31), picks=st.lists(st.tuples(st.integers(0, 999), values),
                                                   max_size=8))
def test_updates_applied_equal_the_snapshot_of_the_updated_data(
        seed: int, picks: list[tuple[int, dict[str, Any]]]) -> None:
    persons, _ = generate_households(8, seed=seed, as_of=AS_OF)
    ids = persons["id_number"].to_list()
    stored: dict[str, dict[str, Any]] = {}  # as the store gives them back: JSON values
    for i, update in picks:
        stored.setdefault(ids[i % len(ids)], {}).update(
            {k: json_value(v) for k, v in update.items()})
    got, updated = apply_updates(persons, {**stored, "not-in-the-snapshot": {"employed": True}},
                                 entity="person", as_of=AS_OF)
    assert updated == set(stored)
    rows = {r["id_number"]: r for r in persons.select(BASE).iter_rows(named=True)}
    for entity_id, fields in stored.items():
        rows[entity_id].update({k: dt.date.fromisoformat(v) if k == "birth_date" and v else v
                                for k, v in fields.items()})
    base = pl.DataFrame([rows[e] for e in ids], schema=persons.select(BASE).schema,
                        orient="row")
    expected = derive(base, entity="person", as_of=AS_OF).collect().select(persons.columns)
    assert got.schema == persons.schema
    assert got.to_dicts() == expected.to_dicts()


def test_no_update_leaves_the_frame_as_it_is() -> None:
    persons, _ = generate_households(3, seed=1, as_of=AS_OF)
    got, updated = apply_updates(persons, {}, entity="person", as_of=AS_OF)
    assert got is persons and updated == frozenset()


def test_the_register_is_read_once_per_population_frame(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A household policy's page reads the register through ``DataAccess.relations``: once
    per population frame (a run's, or the one with the evening's updates applied), not on
    every view; a new frame reads it again."""
    import profiles.relations
    from api.services.population import DataAccess
    from api.settings import Settings
    from profiles.synth import synthesize

    synthesize(tmp_path / "src", enterprises=5, persons=60, seed=3)
    persons = pl.read_csv(tmp_path / "src" / "person_公安.csv", infer_schema=False)
    reads = []
    real = profiles.relations.load_relations
    monkeypatch.setattr(profiles.relations, "load_relations",
                        lambda *a, **k: reads.append(1) or real(*a, **k))
    data = DataAccess(Settings(data_dir=tmp_path / "data"), engine=None)  # type: ignore[arg-type]
    first = data.relations(tmp_path / "src", persons)
    assert data.relations(tmp_path / "src", persons) is first and len(reads) == 1
    assert "household.members" in first
    updated = persons.clone()  # another frame: the population after an update
    assert data.relations(tmp_path / "src", updated) is not first and len(reads) == 2
