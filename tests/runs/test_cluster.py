"""The partitions of a run matched on a real Dask LocalCluster of two worker processes give
the outcomes, budgets and entitlement changes of the in-process run."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).parent))
import partitionkit as kit

from matcher import runs

pytest.importorskip("distributed")


@pytest.mark.slow
def test_local_cluster_run_equals_the_in_process_run(
    db_engine: Engine, db_backend: str, tmp_path: Path
) -> None:
    lib = kit.library(tmp_path / "policies")
    _, dataset = kit.snapshots(tmp_path / "snap", 300, partitions=4)
    kwargs = dict(snapshot_path=dataset, as_of=kit.AS_OF, policies=list(lib.policies.values()),
                  sets=lib.sets, entity="enterprise")
    ticks: list[tuple[str, int, int]] = []
    here = runs.execute_run(engine=db_engine, outcomes_dir=tmp_path / "here", **kwargs)
    for other in kit.second_engine(db_backend, tmp_path / "second"):
        there = runs.execute_run(engine=other, outcomes_dir=tmp_path / "there", workers=2,
                                 part_progress=lambda s, d, t: ticks.append((s, d, t)),
                                 **kwargs)
        assert kit.dump(other) == kit.dump(db_engine)
        assert (there.new, there.updated, there.revoked) == (here.new, here.updated,
                                                             here.revoked)
        assert there.counts_per_policy == here.counts_per_policy
    assert ("match", 4, 4) in ticks
    for k in range(4):  # the workers wrote the same lean outcomes
        name = f"part={k:05d}.parquet"
        mine = pl.read_parquet(here.outcomes_path / name)
        theirs = pl.read_parquet(there.outcomes_path / name)
        assert mine.equals(theirs)
    assert here.counts_per_policy["ordered"].get("over_budget", 0) > 0
