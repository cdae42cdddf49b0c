"""The data the API answers from: the latest successful run of each entity kind, its outcomes
(Parquet), the snapshot it ran on, and the published policies. Loaded on demand and cached
per run id / policy versions, so a new run is picked up by the next request."""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.services.errors import NoDataYet
from api.settings import Settings
from profiles.ingest import DTYPES
from rules.loader import Library
from rules.model import ENTITY_LABELS, Policy
from store import policies as policy_store
from store import policy_integrity
from store import runs as run_store
from store.runs import RunRecord

ENTITY_KEYS = {"enterprise": "uscc", "person": "id_number"}
RELATIONS_KEPT = 4  # relations of this many person frames are kept (DataAccess.relations)
DISTRICT_COLUMNS = {"enterprise": "district", "person": "hukou_district"}


@dataclass(frozen=True)
class Population:
    """One entity kind as the latest successful run saw it, with the profile updates the
    event worker applied since (:mod:`store.profile_updates`): ``updated`` are the entities
    whose rows they changed, whose run outcomes are therefore older than their data."""

    entity: str
    run: RunRecord
    outcomes: pl.DataFrame
    frame: pl.DataFrame  # the snapshot (derived tags as of the run's date), updates applied
    snapshot_path: Path
    updated: frozenset[str] = frozenset()

    @property
    def key(self) -> str:
        return ENTITY_KEYS[self.entity]


def find_snapshot(folder: Path, *, entity: str, run: RunRecord) -> Path | None:
    """The snapshot file a run used: ``<entity>-<as_of>.parquet`` when its hash matches, else
    any snapshot of the folder with that hash."""
    from matcher.runs import snapshot_hash

    preferred = folder / f"{entity}-{run.as_of.isoformat()}.parquet"
    candidates = [preferred] if preferred.exists() else []
    candidates += sorted(p for p in folder.glob(f"{entity}-*.parquet") if p != preferred)
    for path in candidates:
        try:
            if snapshot_hash(path) == run.snapshot_hash:
                return path
        except OSError:
            continue
    return None


class DataAccess:
    """Cached access to the latest run's data and to the published policies; reads go
    through the caller's session (one transaction per request)."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self._lock = threading.Lock()
        self._runs: dict[str, Population] = {}  # as the run saw it
        self._populations: dict[str, tuple[int, Population]] = {}  # and the updates since
        self._libraries: dict[tuple[tuple[int, str], ...], tuple[list[Policy], Any]] = {}
        self._relations: dict[tuple[str, int], tuple[pl.DataFrame, dict[str, Any]]] = {}

    def population(self, session: Session, entity: str) -> Population:
        """The latest run's population with the event worker's updates since its snapshot
        (cached per run and newest update)."""
        from store import profile_updates

        base = self._run_population(session, entity)
        last = profile_updates.last_id(session, entity_kind=entity,
                                       snapshot_hash=base.run.snapshot_hash)
        if not last:
            return base
        with self._lock:
            cached = self._populations.get(entity)
            if cached is not None and cached[0] == last and cached[1].run.id == base.run.id:
                return cached[1]
        updates = profile_updates.since_snapshot(session, entity_kind=entity,
                                                 snapshot_hash=base.run.snapshot_hash)
        frame, updated = apply_updates(base.frame, updates, entity=entity,
                                       as_of=base.run.as_of)
        population = dataclasses.replace(base, frame=frame, updated=updated)
        with self._lock:
            self._populations[entity] = (last, population)
        return population

    def _run_population(self, session: Session, entity: str) -> Population:
        run = run_store.last_successful(session, entity_kind=entity)
        if run is None:
            raise NoDataYet(f"{ENTITY_LABELS.get(entity, entity)}尚无成功的匹配运行")
        with self._lock:
            cached = self._runs.get(entity)
            if cached is not None and cached.run.id == run.id:
                return cached
        outcomes_path = self.settings.outcomes_dir / f"{run.id}.parquet"
        snapshot = find_snapshot(self.settings.snapshots_dir, entity=entity, run=run)
        if not outcomes_path.exists() or snapshot is None:
            raise NoDataYet(f"运行 {run.id} 的匹配结果或画像快照文件不存在")
        population = Population(
            entity=entity,
            run=run,
            outcomes=pl.read_parquet(outcomes_path),
            frame=pl.read_parquet(snapshot),
            snapshot_path=snapshot,
        )
        with self._lock:
            self._runs[entity] = population
        return population

    def relations(self, folder: Path, persons: pl.DataFrame) -> dict[str, Any]:
        """The relations of the link tables in ``folder`` over a population's person frame
        (:func:`profiles.relations.load_relations`), read once per frame: a population's
        frame is the same object until its next run or profile update, so the pages of a
        household policy do not read the register again on every view."""
        from profiles.relations import load_relations

        key = (str(folder), id(persons))
        with self._lock:
            hit = self._relations.get(key)
            if hit is not None and hit[0] is persons:
                return hit[1]
        frames = load_relations(folder, persons=persons).frames
        with self._lock:
            while len(self._relations) >= RELATIONS_KEPT:
                self._relations.pop(next(iter(self._relations)))  # the oldest
            self._relations[key] = (persons, frames)  # the frame kept: its id is not reused
        return frames

    def published(self, session: Session) -> tuple[list[Policy], Any]:
        """Every published policy (all entities, any effective period) and the named sets."""
        from matcher.runs import parse_stored_policies

        versions = policy_store.published_versions(session)
        key = tuple(sorted((v.id, v.content_hash) for v in versions))
        with self._lock:
            if key in self._libraries:
                return self._libraries[key]
        policy_integrity.verify(session)  # TamperedPolicyError: nothing uses them
        loaded: tuple[list[Policy], Any] = ([], None)
        if versions:
            loaded = parse_stored_policies({v.policy_id: v.text for v in versions})
        with self._lock:
            self._libraries = {key: loaded}
        return loaded

    def published_library(self, session: Session) -> Library:
        from rules.sets import bundled_sets

        policies, sets = self.published(session)
        return Library(policies={p.id: p for p in policies}, sets=sets or bundled_sets())

    def policies_for(self, session: Session, entity: str) -> tuple[list[Policy], Any]:
        policies, sets = self.published(session)
        return [p for p in policies if p.entity == entity], sets


def _fillable(name: str, value: Any, catalog: Any) -> bool:
    """A catalog field, or a condition a policy declares (rules.declared): named like one
    and answered with a plain value."""
    if name in catalog:
        return True
    return name.isidentifier() and name.islower() and isinstance(value, bool | int | float | str)


def _declared_dtype(values: Any) -> pl.DataType:
    """The column type of a declared condition's answers (bool, int, float or str)."""
    given = [v for v in values if v is not None]
    if given and all(isinstance(v, bool) for v in given):
        return pl.Boolean()
    if given and all(isinstance(v, int) and not isinstance(v, bool) for v in given):
        return pl.Int64()
    if given and all(isinstance(v, int | float) and not isinstance(v, bool) for v in given):
        return pl.Float64()
    return pl.String()


def _by_entity(ids: pl.Series, given: dict[str, Any], dtype: Any) -> pl.Series:
    """Per row of ``ids``, the value ``given`` for its entity (null for others); a date may
    come as a date or as its ISO text."""
    if dtype == pl.Date:
        raw = ids.replace_strict(list(given), [None if v is None else str(v)
                                               for v in given.values()],
                                 default=None, return_dtype=pl.String)
        return raw.str.to_date()
    return ids.replace_strict(list(given), list(given.values()), default=None,
                              return_dtype=dtype)


def apply_updates(frame: pl.DataFrame, updates: dict[str, dict[str, Any]], *, entity: str,
                  as_of: Any) -> tuple[pl.DataFrame, frozenset[str]]:
    """The snapshot with the event worker's profile updates applied, as the worker applied
    them: each updated base field set (null is UNKNOWN), the derived tags of those rows
    computed again, and a tag :func:`derive` does not compute (a model's) UNKNOWN once one
    of its inputs changed. Returns the frame (row order kept) and the entities updated."""
    from profiles.catalog import load_catalog
    from profiles.derive import derive

    catalog = load_catalog().entity(entity)
    key = catalog.key
    ids = frame[key].cast(pl.String)
    updates = {e: u for e, u in updates.items() if u}
    present = set(ids.filter(ids.is_in(list(updates))).to_list())
    if not present:
        return frame, frozenset()
    hit = ids.is_in(list(present))
    rows, rest = frame.filter(hit), frame.filter(~hit)
    row_ids = rows[key].cast(pl.String)
    names = sorted({n for e in present for n in updates[e]
                    if n in catalog and catalog.field(n).kind == "base" and n in rows.columns})
    columns = []
    for name in names:
        given = {e: updates[e][name] for e in present if name in updates[e]}
        dtype = DTYPES[catalog.field(name).type]
        value = _by_entity(row_ids, given, dtype)
        columns.append(pl.when(row_ids.is_in(list(given))).then(value)
                       .otherwise(rows[name].cast(dtype)).alias(name))
    changed = {e: set(updates[e]) for e in present}
    for f in catalog.fields:  # a tag whose input changed is not carried over
        if f.kind == "derived" and f.name in rows.columns and f.inputs:
            stale = [e for e in present if changed[e] & set(f.inputs)]
            if stale:
                columns.append(pl.when(row_ids.is_in(stale)).then(None)
                               .otherwise(pl.col(f.name)).alias(f.name))
    redone = derive(rows.with_columns(columns), entity=entity, as_of=as_of).collect()
    redone = redone.select(frame.columns).cast(frame.schema)
    order = pl.concat([pl.Series(range(frame.height)).filter(~hit),
                       pl.Series(range(frame.height)).filter(hit)])
    merged = pl.concat([rest, redone])
    return merged.gather(order.arg_sort()), frozenset(present)


def fill_declared(frame: pl.DataFrame, answers: dict[str, dict[str, Any]], *, entity: str,
                  as_of: Any) -> pl.DataFrame:
    """Profiles completed by what their entities declared (approved applications): a declared
    value fills a field the data leaves empty, never one it knows; derived tags are computed
    again. The nightly run, the explanations and the instant decision all use this."""
    from profiles.catalog import load_catalog
    from profiles.derive import derive

    if not answers or frame.height == 0:
        return frame
    catalog = load_catalog().entity(entity)
    ids = frame[catalog.key].cast(pl.String)
    names = sorted({n for a in answers.values() for n in a if _fillable(n, a[n], catalog)})
    updates = []
    for name in names:
        dtype = (DTYPES[catalog.field(name).type] if name in catalog
                 else _declared_dtype(a[name] for a in answers.values() if name in a))
        given = {eid: a[name] for eid, a in answers.items() if name in a}
        value = _by_entity(ids, given, dtype)
        column = frame[name] if name in frame.columns else pl.Series(
            name, [None] * frame.height, dtype=dtype)
        updates.append(column.cast(dtype).fill_null(value).alias(name))
    if not updates:
        return frame
    out = derive(frame.with_columns(updates), entity=entity, as_of=as_of).collect()
    return out.select(frame.columns + [c for c in out.columns if c not in frame.columns])
