"""A member's profile update re-decides whoever aggregates over it, as the batch would on the
updated snapshot: a person's change reaches every policy of the people of its household (and
its spouse) that counts or reads household members, not only its own.

Generated households and person policies over them (``bench.generate``); a stream of
updates to random persons; the engine's outcomes of **every** person after the stream equal
``match_frame`` on the snapshot with those updates applied (members re-joined to the
updated persons, as ``profiles.relations.related_frames`` joins them)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import bench_sets, generate_households, generate_person_policies
from matcher.evaluate import match_frame
from matcher.events.engine import EventEngine
from profiles.catalog import OWNER_COLUMN
from profiles.derive import derive
from profiles.relations import RelatedFrame
from tests.events.test_differential import assert_same_outcomes

AS_OF = dt.date(2025, 6, 30)
BASE = ["id_number", "birth_date", "employed", "disability_grade", "subsistence_status",
        "hukou_district"]

update_values = st.fixed_dictionaries({}, optional={
    "employed": st.sampled_from([True, False, None]),
    "disability_grade": st.sampled_from([1, 2, 3, 4, None]),
    "subsistence_status": st.sampled_from(["低保", "特困", "低收入", "无", None]),
    "birth_date": st.sampled_from([dt.date(1940, 3, 1), dt.date(1975, 7, 9),
                                   dt.date(2023, 1, 5), None]),
}).filter(bool)


def _batch(base: pl.DataFrame, related: dict[str, RelatedFrame], policies: list[Any],
           ) -> pl.DataFrame:
    """The nightly run's answer on ``base``: derived, members re-joined to it."""
    persons = derive(base, entity="person", as_of=AS_OF).collect()
    rejoined = {}
    for name, rf in related.items():
        links = rf.members.select(OWNER_COLUMN, "id_number", "relation")
        rejoined[name] = RelatedFrame(
            members=links.join(persons.lazy(), on="id_number", how="left"), owners=rf.owners)
    return match_frame(persons, entity="person", policies=policies, as_of=AS_OF,
                       sets=bench_sets(), related=rejoined)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_seed=st.integers(0, 2**31), people_seed=st.integers(0, 2**31),
       picks=st.lists(st.tuples(st.integers(0, 10_000), update_values), min_size=1,
                      max_size=12),
       evaluated_first=st.booleans())
def test_an_update_re_decides_the_household_as_the_batch_would(
        policy_seed: int, people_seed: int, picks: list[tuple[int, dict[str, Any]]],
        evaluated_first: bool) -> None:
    persons, related = generate_households(10, seed=people_seed, as_of=AS_OF)
    policies = generate_person_policies(6, seed=policy_seed, extra=False)
    base = persons.select(BASE)
    ids = base["id_number"].to_list()
    updates = [(ids[i % len(ids)], values) for i, values in picks]
    with EventEngine(policies, entity="person", as_of=AS_OF, sets=bench_sets(),
                     related=related) as engine:
        engine.load(base)
        if evaluated_first:  # every person decided before the stream (cached outcomes)
            engine.outcomes()
            for entity_id in ids:
                engine.outcomes_of(entity_id)
        for entity_id, values in updates:
            engine.upsert(entity_id, values)
        got = engine.outcomes()
    rows = {e: dict(zip(BASE, r, strict=True)) for e, r in zip(ids, base.rows(), strict=True)}
    for entity_id, values in updates:
        rows[entity_id].update(values)
    updated = pl.DataFrame([rows[e] for e in ids], schema=base.schema, orient="row")
    assert_same_outcomes(got, _batch(updated, related, policies))


def test_a_spouse_update_re_decides_the_other_spouse_and_is_reported() -> None:
    """The owner re-decided by a member's update is handed to the caller (the worker
    writes its changes): ``take_redecided`` gives each such owner's outcomes once."""
    persons, related = generate_households(30, seed=7, as_of=AS_OF)
    spouses = related["spouse"].members.select(OWNER_COLUMN, "id_number").collect()
    owner, member = spouses.row(0)
    policies = generate_person_policies(6, seed=11)
    with EventEngine(policies, entity="person", as_of=AS_OF, sets=bench_sets(),
                     related=related) as engine:
        engine.load(persons.select(BASE))
        was = persons.filter(pl.col("id_number") == member)["employed"].item()
        engine.upsert(member, {"employed": not was})  # a member column that changes
        redecided = engine.take_redecided()
        assert owner in redecided and member not in redecided
        assert redecided[owner] == engine.outcomes_of(owner)
        assert engine.take_redecided() == {}
        engine.upsert(member, {"employed": not was})  # the same value again: nobody else
        assert engine.take_redecided() == {}


def test_current_gives_the_profiles_and_members_the_engine_decided_with() -> None:
    """What an event's messages are explained, pre-filled and addressed with: the updated
    profile with its tags derived again, and the members as they are now."""
    persons, related = generate_households(30, seed=7, as_of=AS_OF)
    spouses = related["spouse"].members.select(OWNER_COLUMN, "id_number").collect()
    owner, member = spouses.row(0)
    with EventEngine(generate_person_policies(6, seed=11), entity="person", as_of=AS_OF,
                     sets=bench_sets(), related=related) as engine:
        engine.load(persons.select(BASE))
        engine.upsert(member, {"birth_date": dt.date(1940, 3, 1)})
        # one the engine never decided: derived now, as the snapshot has it
        untouched = next(e for e in reversed(persons["id_number"].to_list())
                         if e not in engine._rows)
        frame, members = engine.current([member, owner, untouched, "nobody"])
    row = {r["id_number"]: r for r in frame.iter_rows(named=True)}
    assert set(row) == {member, owner, untouched}  # an id without a profile is left out
    snapshot_row = persons.filter(pl.col("id_number") == untouched).row(0, named=True)
    assert {n: row[untouched][n] for n in persons.columns} == snapshot_row
    assert row[member]["birth_date"] == dt.date(1940, 3, 1) and row[member]["age"] == 85
    spouse_rows = members["related"]["spouse"].members.collect()
    [seen] = spouse_rows.filter(pl.col(OWNER_COLUMN) == owner).iter_rows(named=True)
    assert seen["id_number"] == member and seen["age"] == 85
