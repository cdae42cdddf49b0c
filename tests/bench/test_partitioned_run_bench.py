"""The partitioned-run bench's population: repeated chunks keep unique ids and the same
profiles; the no-write child counts a partition's diff instead of writing it."""

from __future__ import annotations

import polars as pl
import pytest

from bench import partitioned_run


def test_repeated_chunks_carry_new_ids_and_the_same_profiles(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    monkeypatch.setattr(partitioned_run, "CHUNK", 400)
    chunks = list(partitioned_run.profile_chunks(1_000, seed=3, distinct=400))
    assert [c.height for c in chunks] == [400, 400, 200]
    ids = pl.concat([c["uscc"] for c in chunks])
    assert ids.n_unique() == 1_000
    assert chunks[1].drop("uscc").equals(chunks[0].drop("uscc"))
    assert chunks[2].drop("uscc").equals(chunks[0].drop("uscc").head(200))


def test_the_count_only_write_counts_every_change() -> None:
    from store.entitlement_bulk import RunChanges

    frame = pl.DataFrame({"entity_id": ["a", "b"]})
    changes = RunChanges(new=frame, updated=frame.head(1), revoked=frame.head(0))
    assert partitioned_run._count_only(None, changes, run_id="r") == {
        "new": 2, "updated": 1, "revoked": 0, "carried_over": 0}


def test_the_synth_population_has_every_field_the_bundled_enterprise_policies_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's synthesised extracts, built into a snapshot: every data field the bundled
    library's enterprise policies read (not what only the applicant declares) is a column,
    known for some (the generated population leaves some unset, which makes their outcomes
    all undetermined)."""
    from rules.declared import declared_of
    from rules.loader import bundled_library

    monkeypatch.setattr(partitioned_run, "CHUNK", 3_000)
    chunks = list(partitioned_run.profile_chunks(5_000, seed=5, population="synth"))
    assert [c.height for c in chunks] == [3_000, 2_000]
    frame = pl.concat(chunks)
    assert frame["uscc"].n_unique() == 5_000
    policies = [p for p in bundled_library().policies.values() if p.entity == "enterprise"]
    read = set().union(*(p.fields_read for p in policies)) - {
        d.name for d in declared_of(policies)}
    missing = sorted(read - set(frame.columns))
    assert missing == [], f"fields read by the library but not in the snapshot: {missing}"
    # the chain tags are inferred by a tag model, which the bench's build does not use
    unset = sorted(f for f in read if frame[f].null_count() == frame.height
                   and not f.startswith("chain_"))
    assert unset == [], f"fields never known in the synthesised population: {unset}"
