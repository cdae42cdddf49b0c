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
