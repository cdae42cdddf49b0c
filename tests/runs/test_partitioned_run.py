"""A run over a partitioned snapshot gives the entitlements of the one-file run: budgets
allocated globally, exclusivity per entity, entities that left the snapshot revoked, a
killed run leaving the previous state; on SQLite and PostgreSQL."""

from __future__ import annotations

import sys
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).parent))
import partitionkit as kit

from matcher import runs
from profiles.partitions import read_manifest, write_dataset
from rules.loader import load_library
from store import entitlement_bulk


def _run(engine: Engine, snapshot: Path, lib, tmp_path: Path, **kw) -> runs.RunReport:
    return runs.execute_run(engine=engine, snapshot_path=snapshot, as_of=kit.AS_OF,
                            policies=list(lib.policies.values()), sets=lib.sets,
                            outcomes_dir=tmp_path / "outcomes", entity="enterprise", **kw)


def test_partitioned_run_writes_the_entitlements_of_the_one_file_run(
    db_engine: Engine, db_backend: str, tmp_path: Path
) -> None:
    lib = kit.library(tmp_path / "policies")
    file, dataset = kit.snapshots(tmp_path / "snap", 400, partitions=5)
    single = _run(db_engine, file, lib, tmp_path)
    for other in kit.second_engine(db_backend, tmp_path / "second"):
        parted = _run(other, dataset, lib, tmp_path)
        assert kit.dump(other) == kit.dump(db_engine)
        assert parted.counts_per_policy == single.counts_per_policy
        assert (parted.new, parted.updated, parted.revoked) == (single.new, 0, 0)
    got = single.counts_per_policy
    # the budgets bite and the exclusivity group decides: the test would not prove much else
    assert got["ordered"].get("over_budget", 0) > 0 and got["big"]["eligible"] > 0
    assert got["small"].get("superseded", 0) > 0


def test_rerun_changes_nothing_and_a_changed_partition_changes_only_its_rows(
    db_engine: Engine, tmp_path: Path
) -> None:
    lib = kit.library(tmp_path / "policies")
    _, dataset = kit.snapshots(tmp_path / "snap", 200, partitions=3)
    first = _run(db_engine, dataset, lib, tmp_path)
    assert first.new > 0
    assert _run(db_engine, dataset, lib, tmp_path).status == "unchanged"
    before = kit.dump(db_engine)
    # the last entity leaves the population; everything else stays
    frame = kit.profiles(200).sort("uscc")
    gone = frame["uscc"][-1]
    write_dataset([frame.head(199)], dataset, key="uscc", partitions=3)
    second = _run(db_engine, dataset, lib, tmp_path)
    after = kit.dump(db_engine)
    changed = {r[0] for r in set(after) ^ set(before)}
    assert gone in changed
    # a global budget may move the waiting list; every other change is a budgeted policy's
    others = {(r[0], r[1]) for r in set(after) ^ set(before) if r[0] != gone}
    assert {p for _, p in others} <= {"ordered", "prorata"}
    assert second.revoked >= 1


def test_a_run_that_fails_while_writing_a_partition_leaves_the_previous_state(
    db_engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lib = kit.library(tmp_path / "policies")
    _, dataset = kit.snapshots(tmp_path / "snap", 300, partitions=4)
    _run(db_engine, dataset, lib, tmp_path)
    before = kit.dump(db_engine)
    write_dataset([kit.profiles(300, seed=8)], dataset, key="uscc", partitions=4)
    original = entitlement_bulk.write_changes
    calls = {"n": 0}

    def fail_on_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed while writing partition 3")
        return original(*a, **k)

    monkeypatch.setattr(entitlement_bulk, "write_changes", fail_on_third)
    with pytest.raises(RuntimeError, match="partition 3"):
        _run(db_engine, dataset, lib, tmp_path)
    assert kit.dump(db_engine) == before  # nothing of partitions 1 and 2 stayed
    monkeypatch.setattr(entitlement_bulk, "write_changes", original)
    assert _run(db_engine, dataset, lib, tmp_path).status == "succeeded"
    assert kit.dump(db_engine) != before


def test_dataset_hash_is_its_content_not_its_chunks(tmp_path: Path) -> None:
    frame = kit.profiles(120).sort("uscc")
    one = write_dataset([frame], tmp_path / "a", key="uscc", partitions=4)
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=1)
    two = write_dataset([shuffled.head(50), shuffled.tail(70)], tmp_path / "b", key="uscc",
                        partitions=4)
    assert one.snapshot_hash == two.snapshot_hash and one.part_hashes == two.part_hashes
    assert sum(one.rows) == 120 and min(one.rows) > 0
    assert read_manifest(tmp_path / "a") == one
    changed = frame.with_columns(
        pl.when(pl.col("uscc") == "E00003").then(99).otherwise(pl.col("employees"))
        .alias("employees"))
    three = write_dataset([changed], tmp_path / "c", key="uscc", partitions=4)
    differs = [a != b for a, b in zip(one.part_hashes, three.part_hashes, strict=True)]
    assert sum(differs) == 1 and three.snapshot_hash != one.snapshot_hash
    parts = [pl.read_parquet(p) for p in sorted((tmp_path / "a").glob("part=*/data.parquet"))]
    assert all(p["uscc"].is_sorted() for p in parts)
    assert pl.concat(parts).sort("uscc").equals(frame)


def test_cap_groups_apply_in_the_partitioned_run_as_in_the_one_file_run(
    db_engine: Engine, db_backend: str, tmp_path: Path
) -> None:
    folder = tmp_path / "capped"
    folder.mkdir()
    cap = "cap: {{group: 年度合计, limit: 2000, per: year, priority: {p}}}"
    for pid, amount, prio in (("cap-a", "employees * 100", 1), ("cap-b", "1500", 2)):
        (folder / f"{pid}.yaml").write_text(
            kit._policy(pid, amount=amount, when="employees >= 1", extra=cap.format(p=prio)),
            encoding="utf-8")
    lib = load_library([folder])
    file, dataset = kit.snapshots(tmp_path / "snap", 200, partitions=3)
    single = _run(db_engine, file, lib, tmp_path)
    for other in kit.second_engine(db_backend, tmp_path / "second"):
        parted = _run(other, dataset, lib, tmp_path)
        assert kit.dump(other) == kit.dump(db_engine)
        assert parted.counts_per_policy == single.counts_per_policy
    # 20 employees or more: cap-a alone reaches the limit, cap-b waits; with no award history
    # on record the amounts still paid are unknown (待核定), never a guess
    got = single.counts_per_policy
    assert got["cap-b"].get("over_budget", 0) > 0 and got["cap-b"].get("eligible", 0) > 0
    rows = {(r[0], r[1]): r for r in kit.dump(db_engine)}
    assert all(r[5] is None for r in rows.values() if r[4] == "eligible")


def test_rows_of_some_keys_are_read_from_their_partitions_only(tmp_path: Path) -> None:
    """Planning a partition's messages reads that partition's file, not the population's: the
    other partitions' files are not opened (here they are unreadable)."""
    import polars as pl

    from profiles.partitions import bucket_of, partition_path, scan_keys, write_dataset

    frame = pl.DataFrame({"uscc": [f"91440000{i:010d}" for i in range(400)],
                          "employees": list(range(400))})
    dataset = tmp_path / "ds"
    write_dataset([frame], dataset, key="uscc", partitions=8)
    assert scan_keys(dataset, key="uscc", keys=[]).collect().height == 0
    wanted = ["914400000000000003", "914400000000000117"]
    mine = set(bucket_of(pl.Series(wanted), 8).to_list())
    for k in set(range(8)) - mine:
        partition_path(dataset, k).write_bytes(b"not parquet")
    got = scan_keys(dataset, key="uscc", keys=wanted).collect().sort("uscc")
    assert got.rows() == [("914400000000000003", 3), ("914400000000000117", 117)]


def test_a_partitions_messages_see_its_carried_over_confirmations(
    db_engine: Engine, tmp_path: Path
) -> None:
    """A benefit confirmed last year starts this year's period confirmed, and the outbox hook
    of its partition already sees it so (the message says renewed, not new), as in a
    one-file run; the report counts it once."""
    import datetime as dt

    from sqlalchemy import select

    from store import confirmations, entitlements
    from store.db import transaction
    from store.schema import entitlements as table
    from store.types import utcnow

    lib = kit.library(tmp_path / "lib")
    _, dataset = kit.snapshots(tmp_path / "snap", 200, partitions=4)
    _run(db_engine, dataset, lib, tmp_path)
    with transaction(db_engine) as s:
        mine = [e for e in entitlements.list_entitlements(s, policy_id="small")
                if e.outcome == "eligible"][:3]
        for e in mine:
            entitlements.transition(s, e.id, "confirmed", actor=e.entity_id)
            confirmations.record(s, entity_kind="enterprise", entity_id=e.entity_id,
                                 policy_id="small", entitlement_id=e.id, account="6222000011112222",
                                 actor=e.entity_id, now=utcnow())
    confirmed = {e.entity_id for e in mine}
    seen: dict[str, str] = {}

    def hook(session, changes, run_id) -> None:
        ids = set(changes.new["entity_id"].to_list()) & confirmed
        rows = session.execute(select(table.c.entity_id, table.c.status).where(
            table.c.entity_id.in_(sorted(ids)), table.c.policy_id == "small",
            table.c.benefit_period == "2026", table.c.last_run_id == run_id))
        seen.update({r.entity_id: r.status for r in rows})

    report = runs.execute_run(engine=db_engine, snapshot_path=dataset,
                              as_of=dt.date(2026, 1, 5), policies=list(lib.policies.values()),
                              sets=lib.sets, outcomes_dir=tmp_path / "outcomes",
                              entity="enterprise", on_changes=hook)
    assert seen == {e: "confirmed" for e in confirmed}
    assert report.carried_over == len(confirmed)


def test_a_dataset_rebuilt_in_place_during_the_run_is_not_what_it_matches(
    db_engine: Engine, tmp_path: Path
) -> None:
    """A rebuild replaces the dataset's folder after the run hashed it: the run matches the
    partitions it hashed (the entity the rebuild drops included), the next run the new ones."""
    lib = kit.library(tmp_path / "policies")
    _, dataset = kit.snapshots(tmp_path / "snap", 200, partitions=3)
    frame = kit.profiles(200).sort("uscc")
    gone = frame["uscc"][-1]

    def rebuild_meanwhile(stage: str, _message: str) -> None:
        if stage == "match":
            write_dataset([frame.head(199)], dataset, key="uscc", partitions=3)

    def statuses_of_gone() -> set[str]:
        return {r[-1] for r in kit.dump(db_engine) if r[0] == gone}

    hashed = read_manifest(dataset).snapshot_hash
    first = _run(db_engine, dataset, lib, tmp_path, progress=rebuild_meanwhile)
    assert first.snapshot_hash == hashed
    assert statuses_of_gone() and "revoked" not in statuses_of_gone()  # matched as hashed
    second = _run(db_engine, dataset, lib, tmp_path)
    assert second.snapshot_hash != hashed and second.revoked >= 1
    assert statuses_of_gone() == {"revoked"}
    assert not [p for p in dataset.parent.iterdir() if p.name.startswith(".pin-")]
