"""Runs: a snapshot and the policies published as of a date -> outcomes -> entitlement changes.

A run is identified by every input that can change an outcome (``matcher.run_inputs``:
snapshot content and source files, policy versions, named sets, reference tables, catalog and
tag-model versions, as-of date, engine version), so running the same run again finds it done
and changes nothing, and changing any input is a new run. Its steps:

1. take the database lock ``run`` (never two runs at once, across processes and machines);
   a heartbeat keeps it while the run lasts; a killed run's lock is released at once (its
   process is gone, or on PostgreSQL its advisory lock went with its connection), else it
   expires;
2. record the run as ``running`` (committed on its own);
3. match, and keep the outcomes as ``<outcomes_dir>/<run_id>.parquet`` (a resumed run reuses
   them);
4. in one transaction: diff against the store (``matcher.run_diff``), write only the changes,
   mark the run succeeded, append the audit entry. A crash before the commit leaves the
   previous state as it was; the run can then be resumed (same id) or rerun.

Entities held on a data defect (``profiles.catalog.HELD_FIELDS``) keep their benefits: the
diff withholds their revocations and downgrades (``matcher.run_diff``), and the report says
how many entities were held, why (source and reason), and how many changes were withheld.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from matcher.run_diff import (
    amount_kinds,
    compute_changes,
    outcome_counts,
    revocation_reason,
    scope,
)
from matcher.run_inputs import (
    RunInputs,
    engine_version,
    reference_tables_hash,
    sets_hash,
    snapshot_sources,
    tag_model_version,
)
from profiles.build import write_atomically
from profiles.relations import RelatedFrame, Relations
from rules.model import Policy
from store import entitlement_bulk, locks, policy_integrity
from store import policies as policy_store
from store import runs as run_store
from store.budget_draws import lock_budgets
from store.cap_draws import lock_caps
from store.db import transaction
from store.entitlement_bulk import RunChanges
from store.policies import PolicyDocument
from store.types import utcnow

RUN_LOCK = "run"
log = logging.getLogger("mianshen.runs")
Progress = Callable[[str, str], None]
"""progress(stage, message): called at each step of a run."""
MatchFn = Callable[..., pl.DataFrame]
ChangesHook = Callable[[Session, RunChanges, str], object]
"""hook(session, changes, run_id): called inside the run's transaction after the changes are
written (e.g. to enqueue outbox messages atomically with them)."""


class RunError(Exception):
    """Root error of runs. (Not a subclass of ``matcher.evaluate.MatchError`` so that runs
    can be recorded and inspected without importing the polars compiler.)"""


class RunLockedError(RunError):
    def __init__(self, holder: str | None) -> None:
        self.holder = holder
        super().__init__(
            f"another run holds the run lock (owner {holder!r}); wait for it to finish or "
            "for its lock to expire"
        )


@dataclass(frozen=True, kw_only=True)
class RunReport:
    """What a run did. ``status`` is ``succeeded``, or ``unchanged`` when this run id had
    already succeeded (nothing was written)."""

    run_id: str
    entity: str
    as_of: dt.date
    status: str
    snapshot_hash: str
    policy_versions: dict[str, str]
    outcomes_path: Path
    counts_per_policy: dict[str, dict[str, int]] = field(default_factory=dict)
    new: int = 0
    updated: int = 0
    revoked: int = 0
    carried_over: int = 0  # new periods confirmed by a standing confirmation
    rejects: int = 0
    resumed: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    held_entities: int = 0  # entities held on a data defect (a quarantined row)
    held_changes: int = 0  # revocations / downgrades withheld for them
    held_reasons: dict[str, dict[str, int]] = field(default_factory=dict)  # source -> code -> n
    inputs: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["outcomes_path"] = str(self.outcomes_path)
        return data


def snapshot_hash(path: Path, *, meta: dict[str, Any] | None = None) -> str:
    """The snapshot's content hash: a dataset's from its manifest (the partitions' hashes
    combined), a file's from its metadata when it has one (``meta``: that metadata, already
    read), else the file's sha256."""
    if path.is_dir():
        from profiles.partitions import read_manifest

        return read_manifest(path).snapshot_hash
    if path.suffix.lower() == ".parquet":  # a built snapshot's metadata (not a CSV's)
        try:
            from profiles.build import read_snapshot_metadata

            stored = (meta if meta is not None else read_snapshot_metadata(path)).get(
                "snapshot_hash")
            if isinstance(stored, str) and stored:
                return stored
        except (KeyError, ImportError, OSError, ValueError, pl.exceptions.PolarsError):
            pass
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ---- policies ---------------------------------------------------------------------------


def library_documents(policies: Iterable[Policy]) -> list[PolicyDocument]:
    """Store documents of loaded policies (their text read from their source files)."""
    docs = []
    for p in policies:
        if p.source is None:
            raise RunError(f"policy {p.id!r} has no source file; expected a loaded policy file")
        docs.append(
            PolicyDocument(
                policy_id=p.id,
                title=p.title,
                entity=p.entity,
                text=Path(p.source).read_text(encoding="utf-8"),
                version=p.version,
                effective_from=p.effective_from,
                effective_to=p.effective_to,
                verified=p.verified,
            )
        )
    return docs


def parse_stored_policies(texts: Mapping[str, str]) -> tuple[list[Policy], Any]:
    """Check and load stored policy texts (``{policy_id: yaml}``) with the rule loader;
    returns the policies and the named sets. The loader reads files, so the texts are
    written to a temporary directory first."""
    from rules.loader import load_library

    with tempfile.TemporaryDirectory(prefix="policies-") as tmp:
        for pid, text in texts.items():
            Path(tmp, f"{pid}.yaml").write_text(text, encoding="utf-8")
        library = load_library([tmp])
    return list(library.policies.values()), library.sets


def published_library(engine: Engine) -> tuple[list[Policy], Any]:
    """Every policy published in the store, loaded, with the named sets; each version first
    checked against its reviewed content hash
    (:class:`store.policy_integrity.TamperedPolicyError` when one differs: nothing runs)."""
    with transaction(engine, write=False) as session:
        policy_integrity.verify(session)
        versions = policy_store.published_versions(session)
    texts = {v.policy_id: v.text for v in versions}
    if not texts:
        return [], None
    return parse_stored_policies(texts)


def published_policies(engine: Engine, *, entity: str, as_of: dt.date) -> tuple[list[Policy], Any]:
    """The policies of ``entity`` published in the store and in effect on ``as_of``, with
    the named sets (verified, see :func:`published_library`); policies they reference are
    loaded too but not returned."""
    loaded, sets = published_library(engine)
    return [p for p in loaded if p.entity == entity and p.in_effect(as_of)], sets


# ---- the lock ---------------------------------------------------------------------------


class _LockKeeper:
    """Holds the run lock, renewing it every third of its ttl from a daemon thread."""

    def __init__(self, engine: Engine, *, ttl: float) -> None:
        self.engine, self.ttl = engine, ttl
        self.owner = locks.process_owner()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True, name="run-lock")
        self._session = locks.session_lock(engine, RUN_LOCK)

    def __enter__(self) -> _LockKeeper:
        # PostgreSQL: the advisory lock, freed by the server when a holder dies; then the row
        # (taken over when we have the advisory lock: its holder cannot be alive)
        got_session = self._session.__enter__()
        if not got_session or not locks.acquire(
            self.engine, RUN_LOCK, owner=self.owner, ttl_seconds=self.ttl,
            take_over=self.engine.dialect.name == "postgresql",
        ):
            self._session.__exit__(None, None, None)
            held = locks.holder(self.engine, RUN_LOCK)
            raise RunLockedError(held.owner if held else None)
        self._thread.start()
        return self

    def _beat(self) -> None:
        while not self._stop.wait(self.ttl / 3):
            try:
                locks.renew(self.engine, RUN_LOCK, owner=self.owner, ttl_seconds=self.ttl)
            except Exception as exc:  # a busy database: try again at the next beat
                if isinstance(exc, OperationalError) and self.engine.dialect.name == "sqlite":
                    # SQLite has one writer: while the run's own write transaction holds
                    # the database, no other run can write (nor take the lock row) either
                    log.info("run lock renewal deferred while the database is busy: %s",
                             str(exc.orig).splitlines()[0])
                else:
                    log.warning("run lock renewal failed; retrying", exc_info=True)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            locks.release(self.engine, RUN_LOCK, owner=self.owner)
        finally:
            self._session.__exit__(None, None, None)


# ---- the run ----------------------------------------------------------------------------


def _default_match(frame: pl.DataFrame, **kwargs: Any) -> pl.DataFrame:
    from matcher.evaluate import match_frame

    return match_frame(frame, **kwargs)


def execute_run(
    *,
    engine: Engine,
    snapshot_path: Path,
    as_of: dt.date,
    policies: Sequence[Policy],
    outcomes_dir: Path,
    entity: str,
    sets: Any = None,
    actor: str = "system",
    rejects: int = 0,
    match: MatchFn | None = None,
    lock_ttl: float = 120.0,
    progress: Progress | None = None,
    on_changes: ChangesHook | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    part_progress: Callable[[str, int, int], None] | None = None,
    related: Relations | None = None,
) -> RunReport:
    """Run ``policies`` (those of ``entity`` in effect on ``as_of`` are used) on the
    snapshot and write the entitlement changes; see the module docstring. A snapshot that
    is a partitioned dataset (:mod:`profiles.partitions`) is run partition by partition
    (:mod:`matcher.partitioned`), in process, on a local cluster of ``workers`` processes
    or on the Dask cluster at ``scheduler``. ``related``: the household register and
    employment links the policies aggregate over (:func:`profiles.relations.load_relations`;
    without them every aggregate over a relation is UNKNOWN); their files are part of the
    run's identity."""
    from profiles.pin import pinned

    # one file throughout: a rebuild renaming a new snapshot over the path meanwhile
    # changes neither what the run hashed nor what it matches and holds
    with pinned(snapshot_path) as snapshot_path:
        say = progress or (lambda _stage, _msg: None)
        timings: dict[str, float] = {}
        started = time.perf_counter()
        # Event-triggered policies are decided by the event engine only: a run neither
        # matches nor revokes them.
        chosen = sorted(
            (p for p in policies
             if p.entity == entity and p.in_effect(as_of) and p.trigger is None),
            key=lambda p: p.id,
        )
        versions = {p.id: p.version for p in chosen}
        meta = _snapshot_meta(snapshot_path)
        snap_hash = snapshot_hash(snapshot_path, meta=meta)
        inputs = RunInputs(
            entity=entity,
            as_of=as_of,
            snapshot=snap_hash,
            sources={**snapshot_sources(meta), **(related.sources if related else {})},
            policies=versions,
            sets=sets_hash(sets),
            reference_tables=reference_tables_hash(),
            catalog_version=_int_or_none(meta.get("catalog_version")),
            tag_model=tag_model_version(meta),
            engine=engine_version(),
        )
        run_id = inputs.run_id()
        held_ids, held_reasons = held_entities(snapshot_path, meta, entity=entity)
        partitioned = snapshot_path.is_dir()

        def outcomes_at(rid: str) -> Path:  # a dataset's outcomes are a folder of partitions
            return outcomes_dir / (rid if partitioned else f"{rid}.parquet")

        outcomes_path = outcomes_at(run_id)
        base = RunReport(
            run_id=run_id,
            entity=entity,
            as_of=as_of,
            status="succeeded",
            snapshot_hash=snap_hash,
            policy_versions=versions,
            outcomes_path=outcomes_path,
            rejects=rejects,
            held_entities=len(held_ids),
            held_reasons=held_reasons,
            inputs=inputs.to_dict(),
        )
        with _LockKeeper(engine, ttl=lock_ttl):
            with transaction(engine) as session:
                found = run_store.find_run(session, run_id)
                latest = run_store.last_successful(session, entity_kind=entity, as_of=as_of)
                if latest is not None and latest.id != run_id and (
                    (latest.counts or {}).get("inputs") == inputs.to_dict()
                ):
                    found = latest  # the last run of the date had these very inputs
                elif found is not None and found.status == "succeeded" and latest is not None \
                        and latest.id != run_id:
                    # these inputs ran before, but another run of the date changed the store
                    # since (X, then Y, then X again): X must apply again, as a run of its own
                    run_id = inputs.run_id(after=latest.id)
                    base = _replace(base, run_id=run_id, outcomes_path=outcomes_at(run_id))
                    found = run_store.find_run(session, run_id)
                if found is not None and found.status == "succeeded":
                    say("done", f"运行 {found.id} 已完成，未作任何更改")
                    return _replace(base, run_id=found.id, status="unchanged",
                                    counts_per_policy=_counts_of(found),
                                    held_changes=int((found.counts or {}).get("held", 0)))
                run_store.start_run(
                    session,
                    run_id=run_id,
                    entity_kind=entity,
                    as_of=as_of,
                    snapshot_hash=snap_hash,
                    policy_versions=versions,
                    engine_version=inputs.engine,
                    actor=actor,
                )
            try:
                if partitioned:
                    from matcher.partitioned import work_partitioned

                    report: RunReport = work_partitioned(
                        engine=engine, report=base, snapshot=snapshot_path, chosen=chosen,
                        references=[p for p in policies
                                    if p.entity == entity and not p.in_effect(as_of)],
                        sets=sets, timings=timings, started=started, say=say, actor=actor,
                        on_changes=on_changes, held_ids=held_ids, scheduler=scheduler,
                        workers=workers, part_progress=part_progress,
                        related=related.frames if related else None)
                    return report
                return _work(
                    engine,
                    base,
                    snapshot_path,
                    chosen,
                    # out of effect on as_of, but eligible() may name them (FALSE, not missing)
                    [p for p in policies if p.entity == entity and not p.in_effect(as_of)],
                    sets,
                    match,
                    timings,
                    started,
                    say,
                    actor,
                    on_changes,
                    held_ids,
                    related.frames if related else None,
                    # members of cap groups decided by the event engine: what they draw counts
                    undecided=[p for p in policies if p.entity == entity and p.in_effect(as_of)
                               and p.trigger is not None and p.cap is not None],
                )
            except BaseException as exc:
                with transaction(engine) as session:
                    run_store.fail_run(
                        session, run_id, error=f"{type(exc).__name__}: {exc}", actor=actor
                    )
                raise


def _counts_of(record: run_store.RunRecord) -> dict[str, dict[str, int]]:
    per_policy = (record.counts or {}).get("per_policy", {})
    return {str(k): dict(v) for k, v in per_policy.items()}


def _replace(report: RunReport, **changes: Any) -> RunReport:
    from dataclasses import replace

    return replace(report, **changes)


def _work(
    engine: Engine,
    base: RunReport,
    snapshot_path: Path,
    chosen: list[Policy],
    references: list[Policy],
    sets: Any,
    match: MatchFn | None,
    timings: dict[str, float],
    started: float,
    say: Progress,
    actor: str,
    on_changes: ChangesHook | None,
    held_ids: pl.Series,
    related: Mapping[str, RelatedFrame] | None = None,
    undecided: list[Policy] | None = None,
) -> RunReport:
    resumed = base.outcomes_path.exists()
    t = time.perf_counter()
    if resumed:
        say("match", f"续跑：沿用已保存的匹配结果 {base.outcomes_path.name}")
        outcomes = pl.read_parquet(base.outcomes_path)
    else:
        say("match", f"匹配 {len(chosen)} 项政策 …")
        frame = pl.read_parquet(snapshot_path)
        extra: dict[str, Any] = {}
        if any(p.ledger_lookups or p.cap for p in [*chosen, *references]):  # award history
            from matcher.award_import import load_ledger

            with transaction(engine, write=False) as session:
                extra["ledger"] = load_ledger(session, entity_kind=base.entity,
                                              library=[*chosen, *references],
                                              as_of=base.as_of, undecided=undecided or ())
        if related:  # households, employment links: aggregates over related entities
            extra["related"] = related
        outcomes = (match or _default_match)(
            frame, entity=base.entity, policies=[*chosen, *references], as_of=base.as_of,
            sets=sets, **extra
        )
        write_atomically(base.outcomes_path, outcomes.write_parquet)
    timings["match"] = round(time.perf_counter() - t, 3)
    say("diff", f"匹配结果 {outcomes.height} 行，与库中资格比对 …")
    t = time.perf_counter()
    periods = {p.id: (p.amount.period if p.amount else None) for p in chosen}
    reason = revocation_reason(base.as_of, base.run_id, by="运行")
    now = utcnow()
    with transaction(engine) as session:
        # real-time awards draw on the same budgets: hold them while this run writes
        lock_budgets(session, base.entity, [
            (pid, period) for pid, period in scope(periods, base.as_of)
            if any(p.id == pid and p.budget is not None for p in chosen)])
        # and on the same cap groups (store.cap_draws)
        lock_caps(session, base.entity, [p.cap.group for p in chosen if p.cap is not None])
        current = entitlement_bulk.load_current(
            session, entity_kind=base.entity, scope=scope(periods, base.as_of)
        )
        changes = compute_changes(
            outcomes, current, as_of=base.as_of, reason=reason,
            kinds=amount_kinds([*chosen, *references]), held=held_ids
        )
        timings["diff"] = round(time.perf_counter() - t, 3)
        t = time.perf_counter()
        written = entitlement_bulk.write_changes(
            session, changes, entity_kind=base.entity, run_id=base.run_id, now=now
        )
        if on_changes is not None:
            on_changes(session, changes, base.run_id)
        timings["write"] = round(time.perf_counter() - t, 3)
        timings["total"] = round(time.perf_counter() - started, 3)
        per_policy = outcome_counts(outcomes)
        run_store.finish_run(
            session,
            base.run_id,
            actor=actor,
            timings=timings,
            counts={
                **written,
                "outcomes": outcomes.height,
                "rejects": base.rejects,
                "per_policy": per_policy,
                "held": changes.held,
                "held_entities": base.held_entities,
                "held_reasons": base.held_reasons,
                "inputs": base.inputs,
            },
        )
    say("done", f"新增 {written['new']}，更新 {written['updated']}，撤销 {written['revoked']}")
    if base.held_entities:
        say("held", f"因数据缺陷暂缓 {base.held_entities} 个主体，保留其现有待遇、"
                    f"暂不变更 {changes.held} 项（未撤销）")
    return _replace(
        base, counts_per_policy=per_policy, resumed=resumed, timings=dict(timings),
        held_changes=changes.held, **written
    )


def _snapshot_meta(path: Path) -> dict[str, Any]:
    if path.is_dir():  # a dataset keeps its source snapshot's metadata in its manifest
        from profiles.partitions import read_manifest

        return dict(read_manifest(path).metadata)
    try:
        from profiles.build import read_snapshot_metadata

        return dict(read_snapshot_metadata(path))
    except (KeyError, ImportError, OSError, ValueError):
        return {}


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).isdigit() else None


def held_entities(
    path: Path, meta: Mapping[str, Any], *, entity: str
) -> tuple[pl.Series, dict[str, dict[str, int]]]:
    """Ids of the snapshot's entities held on a data defect, and why (source -> reason code
    -> entities, from the snapshot's metadata)."""
    from profiles.catalog import HELD_FIELDS, load_catalog
    from profiles.partitions import scan_snapshot

    key = load_catalog().entity(entity).key
    empty = pl.Series("entity_id", [], pl.String)
    lf = scan_snapshot(path)
    if HELD_FIELDS not in lf.collect_schema().names():
        return empty, {}
    frame = lf.select(key, HELD_FIELDS).filter(pl.col(HELD_FIELDS).is_not_null()).collect()
    ids = frame[key].cast(pl.String)
    held = meta.get("held") if isinstance(meta.get("held"), Mapping) else {}
    by_source = held.get("by_source", {}) if isinstance(held, Mapping) else {}
    reasons = {str(src): {str(c): int(n) for c, n in codes.items()}
               for src, codes in by_source.items() if isinstance(codes, Mapping)}
    return ids.rename("entity_id"), reasons
