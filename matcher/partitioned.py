"""A run over a partitioned snapshot (:mod:`profiles.partitions`): map, reduce, write.

1. **match** (map): each partition is matched alone by :func:`match_partition` — read its
   Parquet file, compile the plan, :func:`matcher.evaluate.match_lean` with exclusivity
   (per entity, so partition-local) but without budgets — and its lean outcomes are written
   to ``<outcomes_dir>/<run_id>/part=NNNNN.parquet``. What comes back is small: counts, and
   for the policies that have a budget only, their competing rows. In process by default;
   on a Dask cluster (:mod:`matcher.cluster`) the same function runs on the workers.
2. **allocate** (reduce): budgets over the competing rows of every partition, once
   (:func:`matcher.allocation.allocate_budgets`).
3. **current**: the store's entitlements in the run's scope are read in chunks and spilled
   to one Parquet file per partition (by the same hash of the entity id).
4. **write**: partition by partition, the lean outcomes get the budget decision, are decoded
   (entity ids from the snapshot's key column, unknown-field masks to names) and diffed
   against that partition's entitlements; the changes are written (``COPY`` on PostgreSQL).
   All partitions are written in one transaction with the run's success, so a run killed
   at any point leaves the previous state as it was and can be rerun.

Peak memory is that of one partition (plus the budgeted rows), not of the population.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from matcher.allocation import (
    BudgetDecision,
    allocate_budgets,
    apply_budget_decision,
    apply_caps,
    budget_candidates,
    budgeted,
)
from matcher.lean import LeanOutcomes, PolicyFacts, counts, decode, facts_of, lean_schema
from profiles.build import write_atomically
from profiles.partitions import Manifest, bucket_of, partition_path
from rules.model import Policy

PartProgress = Callable[[str, int, int], None]
"""progress(stage, done, total): called as partitions finish."""


@dataclass(frozen=True, kw_only=True)
class PartitionTask:
    """Everything a worker needs to match one partition (picklable: paths are strings, so
    a worker may read them from a shared file system or an fsspec URL)."""

    snapshot: str
    partition: int
    entity: str
    as_of: dt.date
    policies: tuple[Policy, ...]
    sets: Any
    outcomes: str
    ledger: Any = None  # rules.ledger.AwardLedger for received() lookups and cap groups
    related: Any = None  # relation name -> profiles.relations.RelatedFrame (aggregates)


@dataclass(frozen=True, kw_only=True)
class PartitionResult:
    partition: int
    rows: int
    listed: int
    candidates: dict[str, pl.DataFrame] = field(default_factory=dict)
    seconds: float = 0.0


def snapshot_part(snapshot: str, k: int) -> str:
    return str(partition_path(Path(snapshot), k)) if "://" not in snapshot else (
        f"{snapshot.rstrip('/')}/part={k:05d}/data.parquet")


def outcomes_part(outcomes: str, k: int) -> str:
    return f"{outcomes.rstrip('/')}/part={k:05d}.parquet"


def _plan(task: PartitionTask, *, held: bool) -> Any:
    from matcher.evaluate import make_plan

    return make_plan(task.policies, entity=task.entity, as_of=task.as_of, sets=task.sets,
                     held=held, ledger=task.ledger)


def match_partition(task: PartitionTask) -> PartitionResult:
    """Match one partition and write its lean outcomes (the map step)."""
    from matcher.evaluate import match_lean, profile_base
    from profiles.catalog import HELD_FIELDS

    start = time.perf_counter()
    frame = pl.read_parquet(snapshot_part(task.snapshot, task.partition))
    plan = _plan(task, held=HELD_FIELDS in frame.columns)
    base = profile_base(frame, plan, related=task.related)
    lean = match_lean(base, plan, budgets=False)
    policies = {pid: cp.policy for pid, cp in plan.compiled.items()}
    candidates = budget_candidates(lean.frame, policies, entity_ids=lean.ids, profiles=base,
                                   policy="policy")
    _write_atomically(lean.frame, outcomes_part(task.outcomes, task.partition))
    return PartitionResult(partition=task.partition, rows=base.height, listed=lean.height,
                           candidates=candidates, seconds=time.perf_counter() - start)


def _write_atomically(frame: pl.DataFrame, target: str) -> None:
    if "://" in target:  # object stores replace whole objects: a reader sees old or new
        frame.write_parquet(target)
        return
    write_atomically(Path(target), frame.write_parquet)


def run_in_process(tasks: Sequence[PartitionTask], progress: PartProgress
                   ) -> list[PartitionResult]:
    out = []
    for n, task in enumerate(tasks):
        out.append(match_partition(task))
        progress("match", n + 1, len(tasks))
    return out


# ---- the reduce and the write ---------------------------------------------------------


def reduce_budgets(results: Sequence[PartitionResult], policies: dict[str, Policy]
                   ) -> BudgetDecision:
    gathered: dict[str, list[pl.DataFrame]] = {}
    for r in results:
        for pid, rows in r.candidates.items():
            gathered.setdefault(pid, []).append(rows)
    return allocate_budgets(gathered, policies)


@dataclass
class CurrentSpill:
    """The run's current entitlements, one Parquet file set per partition, on local disk."""

    directory: Path
    partitions: int

    def part(self, k: int, schema: dict[str, pl.DataType]) -> pl.DataFrame:
        files = sorted((self.directory / f"part={k:05d}").glob("*.parquet"))
        return pl.read_parquet(files) if files else pl.DataFrame(schema=schema)


def spill_current(chunks: Iterator[pl.DataFrame], *, partitions: int, directory: Path
                  ) -> CurrentSpill:
    for j, chunk in enumerate(chunks):
        tagged = chunk.with_columns(bucket_of(chunk["entity_id"], partitions).alias("__p"))
        for (k,), part in tagged.partition_by("__p", as_dict=True).items():
            folder = directory / f"part={int(k):05d}"
            folder.mkdir(parents=True, exist_ok=True)
            part.drop("__p").write_parquet(folder / f"c{j:06d}.parquet")
    return CurrentSpill(directory=directory, partitions=partitions)


def read_lean(outcomes: str, k: int, facts: PolicyFacts) -> pl.DataFrame:
    schema = lean_schema(facts.ids, words=facts.words)
    frame = pl.read_parquet(outcomes_part(outcomes, k))
    return frame.with_columns(
        pl.col("policy").cast(pl.String).cast(schema["policy"]),
        pl.col("outcome").cast(pl.String).cast(schema["outcome"]),
    ).select(list(schema))


def partition_ids(snapshot: str, k: int, key: str) -> pl.Series:
    return pl.read_parquet(snapshot_part(snapshot, k), columns=[key])[key].cast(pl.String)


def decoded_partitions(
    *, manifest: Manifest, snapshot: str, outcomes: str, facts: PolicyFacts,
    policies: dict[str, Policy], decision: BudgetDecision, as_of: dt.date | None = None,
    ledger: Any = None,
) -> Iterator[tuple[int, pl.DataFrame, dict[str, dict[str, int]]]]:
    """Per partition: its decoded outcomes after the budget decision and the cap groups
    (per entity, after budgets, as in :func:`matcher.evaluate.match_lean`), and its
    counts."""
    for k in range(manifest.partitions):
        ids = partition_ids(snapshot, k, manifest.key)
        lean = read_lean(outcomes, k, facts)
        if budgeted(policies):
            lean = apply_budget_decision(lean, decision, entity_ids=ids, policy="policy")
        if any(p.cap is not None for p in policies.values()):
            if as_of is None:
                raise ValueError("cap groups need the run's as_of date")
            lean = apply_caps(lean, policies, as_of=as_of, ledger=ledger, entity_ids=ids,
                              entity="row", policy="policy")
        yield k, decode(LeanOutcomes(frame=lean, ids=ids, facts=facts)), counts(lean)


def plan_facts(policies: Sequence[Policy], *, entity: str, as_of: dt.date, sets: Any
               ) -> PolicyFacts:
    from matcher.evaluate import make_plan

    return facts_of(make_plan(policies, entity=entity, as_of=as_of, sets=sets))


def scratch_dir(outcomes_dir: Path) -> Path:
    outcomes_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".current-", dir=outcomes_dir))


def remove_scratch(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# ---- the run's steps over a dataset (called by matcher.runs.execute_run) ----------------


def work_partitioned(
    *,
    engine: Any,
    report: Any,
    snapshot: Path,
    chosen: list[Policy],
    references: list[Policy],
    sets: Any,
    timings: dict[str, float],
    started: float,
    say: Callable[[str, str], None],
    actor: str,
    on_changes: Any,
    held_ids: pl.Series | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    part_progress: PartProgress | None = None,
    related: Any = None,
) -> Any:
    """Steps 1-4 of the module docstring for the run ``report`` describes; its report.
    ``related``: the member frames of the relations (each partition joins the aggregates of
    its own entities)."""
    from dataclasses import replace

    from matcher.cluster import run_partitions
    from matcher.run_diff import amount_kinds, compute_changes, revocation_reason, scope
    from profiles.partitions import read_manifest
    from store import entitlement_bulk
    from store import runs as run_store
    from store.db import transaction
    from store.types import utcnow

    tick = part_progress or (lambda _s, _d, _t: None)
    manifest = read_manifest(snapshot)
    outcomes = str(report.outcomes_path)
    policies = {p.id: p for p in chosen}
    ledger = None
    if any(p.ledger_lookups or p.cap for p in [*chosen, *references]):  # award history
        from matcher.award_import import load_ledger

        with transaction(engine, write=False) as session:
            ledger = load_ledger(session, entity_kind=report.entity,
                                 library=[*chosen, *references], as_of=report.as_of)
    tasks = [
        PartitionTask(snapshot=str(snapshot), partition=k, entity=report.entity,
                      as_of=report.as_of, policies=(*chosen, *references), sets=sets,
                      outcomes=outcomes, ledger=ledger, related=related)
        for k in range(manifest.partitions)
    ]
    t = time.perf_counter()
    where = scheduler or (f"{workers} 个本地工作进程" if workers else "本进程")
    say("match", f"匹配 {len(chosen)} 项政策，{manifest.partitions} 个分区，"
        f"{sum(manifest.rows)} 个主体（{where}）…")
    results = run_partitions(tasks, scheduler=scheduler, workers=workers, progress=tick)
    timings["match"] = round(time.perf_counter() - t, 3)

    t = time.perf_counter()
    say("allocate", "汇总预算 …")
    decision = reduce_budgets(results, policies)
    timings["allocate"] = round(time.perf_counter() - t, 3)

    facts = plan_facts([*chosen, *references], entity=report.entity, as_of=report.as_of,
                       sets=sets)
    periods = {p.id: (p.amount.period if p.amount else None) for p in chosen}
    reason = revocation_reason(report.as_of, report.run_id, by="运行")
    now = utcnow()
    totals = {"new": 0, "updated": 0, "revoked": 0, "carried_over": 0}
    held_changes = 0
    per_policy: list[dict[str, dict[str, int]]] = []
    listed = 0
    scratch = scratch_dir(Path(report.outcomes_path).parent)
    try:
        with transaction(engine) as session:
            t = time.perf_counter()
            say("current", "读取库中现有资格并按分区暂存 …")
            spill = spill_current(
                entitlement_bulk.iter_current(session, entity_kind=report.entity,
                                              scope=scope(periods, report.as_of)),
                partitions=manifest.partitions, directory=scratch)
            timings["current"] = round(time.perf_counter() - t, 3)
            t = time.perf_counter()
            say("write", "逐分区比对并写入资格变化 …")
            diff_s = outbox_s = 0.0
            for k, decoded, part_counts in decoded_partitions(
                    manifest=manifest, snapshot=str(snapshot), outcomes=outcomes, facts=facts,
                    policies=policies, decision=decision, as_of=report.as_of,
                    ledger=ledger):
                d = time.perf_counter()
                current = spill.part(k, entitlement_bulk.CURRENT_SCHEMA)
                changes = compute_changes(decoded, current, as_of=report.as_of, reason=reason,
                                          kinds=amount_kinds([*chosen, *references]),
                                          held=held_ids)
                held_changes += changes.held
                diff_s += time.perf_counter() - d
                # new rows carried over as they are written, so the messages of this
                # partition already tell a renewed confirmation from a new benefit
                written = entitlement_bulk.write_changes(
                    session, changes, entity_kind=report.entity, run_id=report.run_id, now=now)
                if on_changes is not None:
                    o = time.perf_counter()
                    on_changes(session, changes, report.run_id)
                    outbox_s += time.perf_counter() - o
                for name in totals:
                    totals[name] += int(written.get(name, 0))
                per_policy.append(part_counts)
                listed += decoded.height
                tick("write", k + 1, manifest.partitions)
            timings["diff"] = round(diff_s, 3)
            timings["write"] = round(time.perf_counter() - t - diff_s - outbox_s, 3)
            if on_changes is not None:  # planning and enqueueing the messages
                timings["notify"] = round(outbox_s, 3)
            timings["total"] = round(time.perf_counter() - started, 3)
            from matcher.lean import merge_counts

            merged = merge_counts(per_policy)
            run_store.finish_run(
                session, report.run_id, actor=actor, timings=timings,
                counts={**totals, "outcomes": listed, "rejects": report.rejects,
                        "per_policy": merged, "partitions": manifest.partitions,
                        "held": held_changes, "held_entities": report.held_entities,
                        "held_reasons": report.held_reasons, "inputs": report.inputs},
            )
    finally:
        remove_scratch(scratch)
    say("done", f"新增 {totals['new']}，更新 {totals['updated']}，撤销 {totals['revoked']}")
    if report.held_entities:
        say("held", f"因数据缺陷暂缓 {report.held_entities} 个主体，保留其现有待遇、"
                    f"暂不变更 {held_changes} 项（未撤销）")
    return replace(report, counts_per_policy=merged, timings=dict(timings),
                   held_changes=held_changes, **totals)
