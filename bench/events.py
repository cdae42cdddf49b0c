"""The event benchmark: one entity's profile change at a time, through the event engine
(durable_rules) and through the batch plan (polars) on a one-row frame, side by side; the
event engine's latency at a steady arrival rate; its memory per entity.

    python -m bench.events --entities 2000 --events 300 --json out.json
    python -m bench.events --entities 2000 --events 600 --rate 100 --memory 10000,100000,1000000
    python -m bench.events --entities 2000 --events 300 --rate 100 --max-batch 1 64 1 64

Both engines get the same bundled enterprise policies, the same generated profiles and the
same partial updates (a random base field of a random entity set to a value of another
entity), and both derive tags with :func:`profiles.derive.derive` on the one-row frame.

- throughput: events per second of ``update -> outcomes`` (no store);
- latency: seconds from the event to its outbox rows committed (SQLite file), through the
  same store path for both (:func:`matcher.events.delivery.record_outcomes` with the
  notifier's outbox hook); p50 and p99 over the events.

The polars side compiles its plan once (as a long-running consumer would) and runs
``match_plan`` on the one-row frame per event.

- paced (``--rate``): events arrive on a fixed schedule (``rate`` per second); the consumer
  takes every event that has arrived (at most ``--max-batch``, a batch cut before an
  entity's second update: a micro-batch whose wait is bounded by the previous batch's
  work), derives their tags in one frame (:meth:`EventEngine.upsert_many`), and writes the
  batch's entitlement changes and outbox rows in one transaction
  (:func:`matcher.events.delivery.record_batch`; ``--max-batch 1``: a transaction per
  event, as before); latency is from the event's scheduled arrival to its commit, so a
  consumer that falls behind shows it. The store first holds the snapshot's entitlements
  as the nightly run leaves them (:func:`seed_store`, untimed), so an event writes its
  entity's changes and their messages only (``--empty-store``: from an empty store, where
  an entity's first event writes all its entitlements and a message each). Recorded too:
  the consumer's capacity (events per second of its busy time) and its time per event in
  the engine and in the store. The store path is warmed up (its modules imported) and the
  heap settled (:func:`matcher.events.worker.settle_heap`) before the clock starts, as a
  long-running consumer's are;
- memory (``--memory``): for each population size, in a fresh process, the resident memory
  of the engine after loading the snapshot and applying 1 000 updates, minus before the
  engine, per entity (the snapshot frame it keeps included); and of open trigger patterns.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.generate import generate_profiles
from matcher.evaluate import make_plan, match_plan
from matcher.events.delivery import EntityOutcomes, record_batch, record_outcomes
from matcher.events.engine import EventEngine
from matcher.events.worker import settle_heap
from profiles.catalog import load_catalog
from profiles.derive import derive
from profiles.ingest import complete
from rules.loader import bundled_library

AS_OF = dt.date(2025, 10, 1)
UPDATABLE = ("employees", "operating_revenue", "total_assets", "annual_taxable_income",
             "status", "graduate_hires", "monthly_sales", "vat_taxpayer_type", "rd_expense",
             "layoffs_last_year", "insured_employees", "ui_paid_months")

Update = tuple[str, dict[str, Any]]


def make_inputs(entities: int, events: int, *, seed: int) -> tuple[pl.DataFrame, list[Update]]:
    """Base profiles (catalog base fields) and partial updates."""
    cat = load_catalog().entity("enterprise")
    base_names = [f.name for f in cat.base_fields]
    frame = generate_profiles(entities, seed=seed, as_of=AS_OF)
    base = frame.select([n for n in base_names if n in frame.columns])
    rng = np.random.default_rng(seed + 1)
    ids = base["uscc"].to_list()
    updates: list[Update] = []
    for _ in range(events):
        name = UPDATABLE[int(rng.integers(0, len(UPDATABLE)))]
        donor = int(rng.integers(0, entities))
        updates.append((ids[int(rng.integers(0, entities))], {name: base[name][donor]}))
    return base, updates


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class PolarsOneRow:
    """The batch plan re-run on a one-row frame per update."""

    def __init__(self, base: pl.DataFrame) -> None:
        lib = bundled_library()
        self.plan = make_plan(lib.policies.values(), entity="enterprise", as_of=AS_OF,
                              sets=lib.sets)
        self.policies = dict(self.plan.compiled)
        self.schema = base.schema
        self.rows = {r["uscc"]: r for r in base.iter_rows(named=True)}

    def update(self, entity_id: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        row = self.rows[entity_id]
        row.update(values)
        one = complete(pl.DataFrame([row], schema=self.schema, orient="row"),
                       entity="enterprise")  # catalog fields the generator leaves out: null
        derived = derive(one, entity="enterprise", as_of=AS_OF).collect()
        return match_plan(derived, self.plan).to_dicts()


def _time(run: Callable[[str, dict[str, Any]], Any], updates: Sequence[Update]) -> list[float]:
    out = []
    for entity_id, values in updates:
        t = time.perf_counter()
        run(entity_id, values)
        out.append(time.perf_counter() - t)
    return out


def _latency(run: Callable[[str, dict[str, Any]], list[dict[str, Any]]],
             policies: Mapping[str, Any], updates: Sequence[Update], folder: Path,
             name: str) -> list[float]:
    import secrets

    from api.delivery import LinkConfig, outbox_hook
    from notifier.links import LinkSigner
    from store.audit import AuditSeal
    from store.audit_heads import HeadFile
    from store.db import make_engine, upgrade

    seal = AuditSeal(key=secrets.token_bytes(32), heads=HeadFile(folder / f"{name}-heads.log"))
    db = make_engine(f"sqlite:///{folder / f'{name}.sqlite'}", audit_seal=seal)
    upgrade(db)
    links = LinkConfig(base_url="http://localhost",
                       signer=LinkSigner(secret=secrets.token_bytes(32), ttl_seconds=3600))
    hook = outbox_hook(entity_kind="enterprise", policies=policies, as_of=AS_OF, links=links)
    out = []
    for i, (entity_id, values) in enumerate(updates):
        t = time.perf_counter()
        rows = run(entity_id, values)
        record_outcomes(db, entity_kind="enterprise", entity_id=entity_id, outcomes=rows,
                        policies=policies, as_of=AS_OF, run_id=f"bench-{name}-{i}",
                        on_changes=hook)
        out.append(time.perf_counter() - t)
    db.dispose()
    return out


def _store(folder: Path, name: str, policies: Mapping[str, Any],
           engine: EventEngine | None = None) -> tuple[Any, Any]:
    """A fresh store and the outbox hook the worker uses (with ``engine``: its messages
    explained, pre-filled and addressed with the engine's current profiles, as
    ``mianshen events consume`` plans them)."""
    import secrets

    from api.delivery import LinkConfig, outbox_hook
    from notifier.links import LinkSigner
    from store.audit import AuditSeal
    from store.audit_heads import HeadFile
    from store.db import make_engine, upgrade

    seal = AuditSeal(key=secrets.token_bytes(32), heads=HeadFile(folder / f"{name}-heads.log"))
    db = make_engine(f"sqlite:///{folder / f'{name}.sqlite'}", audit_seal=seal)
    upgrade(db)
    links = LinkConfig(base_url="http://localhost",
                       signer=LinkSigner(secret=secrets.token_bytes(32), ttl_seconds=3600))
    from notifier.planning import default_channels

    default_channels()  # a consumer imports its channels once, at start
    return db, outbox_hook(entity_kind="enterprise", policies=policies, as_of=AS_OF,
                           links=links, current=None if engine is None else engine.current)


def seed_store(db: Any, engine: EventEngine, policies: Mapping[str, Any], *,
               chunk: int = 50_000) -> int:
    """Write the current entitlements of every loaded entity as the nightly run leaves them
    (the batch plan, :func:`matcher.evaluate.match_plan`, over the engine's snapshot,
    ``chunk`` entities at a time), without messages; the entitlement rows written. The
    engine itself evaluates nothing here: as a consumer started after the nightly run, it
    evaluates an entity when an event touches it (a city's outcomes are never all held)."""
    snapshot = engine._frame
    if snapshot is None:
        return 0
    plan = make_plan(policies.values(), entity="enterprise", as_of=AS_OF,
                     sets=bundled_library().sets)
    written = 0
    for start in range(0, snapshot.height, chunk):
        part = complete(snapshot.slice(start, chunk), entity="enterprise")
        frame = match_plan(derive(part, entity="enterprise", as_of=AS_OF).collect(), plan)
        rows: dict[str, list[dict[str, Any]]] = {}
        for row in frame.sort("entity_id").iter_rows(named=True):
            if row["entity_id"] not in rows and len(rows) == 500:  # a transaction's worth
                written += _seed_batch(db, rows, policies, f"bench-nightly-{start}-{written}")
                rows = {}
            rows.setdefault(row["entity_id"], []).append(row)
        if rows:
            written += _seed_batch(db, rows, policies, f"bench-nightly-{start}-{written}")
    return written


def _seed_batch(db: Any, rows: Mapping[str, list[dict[str, Any]]],
                policies: Mapping[str, Any], run_id: str) -> int:
    record_batch(db, [EntityOutcomes(e, r) for e, r in rows.items()], entity_kind="enterprise",
                 policies=policies, as_of=AS_OF, run_id=run_id)
    return sum(len(r) for r in rows.values())


def paced(engine: EventEngine, updates: Sequence[Update], *, rate: float,
          folder: Path, max_batch: int = 64, seeded: bool = True) -> dict[str, object]:
    """Latency from scheduled arrival to committed outbox rows at ``rate`` events/s.
    ``seeded``: the store first holds the snapshot's entitlements (:func:`seed_store`), so
    an event writes its entity's changes only; else it starts empty, and an entity's first
    event writes all its entitlements and their messages."""
    policies = dict(engine.compiled.policies)
    db, hook = _store(folder, "paced", policies, engine)
    seeded_rows = seed_store(db, engine, policies) if seeded else 0
    settle_heap()  # as the worker does before its stream (matcher.events.worker.consume)
    start = time.perf_counter() + 0.05
    arrival = [start + i / rate for i in range(len(updates))]
    latencies: list[float] = []
    batches: list[int] = []
    evaluate_s = store_s = evaluate_cpu = store_cpu = 0.0
    i = 0
    while i < len(updates):
        now = time.perf_counter()
        if arrival[i] > now:
            time.sleep(arrival[i] - now)
            now = time.perf_counter()
        batch: list[int] = []
        seen: set[str] = set()
        j = i
        while (j < len(updates) and arrival[j] <= now and updates[j][0] not in seen
               and len(batch) < max_batch):
            seen.add(updates[j][0])
            batch.append(j)
            j += 1
        took, cpu = time.perf_counter(), time.process_time()
        results = engine.upsert_many([updates[k] for k in batch])
        evaluated, cpu_evaluated = time.perf_counter(), time.process_time()
        evaluate_s += evaluated - took
        evaluate_cpu += cpu_evaluated - cpu
        record_batch(db, [EntityOutcomes(updates[k][0], rows)
                          for k, rows in zip(batch, results, strict=True)],
                     entity_kind="enterprise", policies=policies, as_of=AS_OF,
                     run_id=f"bench-paced-{batch[0]}-{batch[-1]}", on_changes=hook)
        done = time.perf_counter()
        store_s += done - evaluated
        store_cpu += time.process_time() - cpu_evaluated
        latencies.extend(done - arrival[k] for k in batch)
        batches.append(len(batch))
        i = j
    db.dispose()
    return {
        "engine": "durable_rules event engine, paced", "rate_per_second": rate,
        "max_batch": max_batch, "store": "seeded" if seeded else "empty",
        "seeded_entitlements": seeded_rows, "events": len(updates), "batches": len(batches),
        "batch_size_max": max(batches), "batch_size_p50": statistics.median(batches),
        # capacity: events per second of the consumer's busy time (evaluate + store)
        "events_per_second_busy": round(len(updates) / (evaluate_s + store_s), 1),
        "busy_fraction": round((evaluate_s + store_s) / (done - start), 3),
        "evaluate_ms_per_event": round(1000 * evaluate_s / len(updates), 3),
        "store_ms_per_event": round(1000 * store_s / len(updates), 3),
        # CPU time of this process (polars' threads included): what a dedicated core pays
        "evaluate_cpu_ms_per_event": round(1000 * evaluate_cpu / len(updates), 3),
        "store_cpu_ms_per_event": round(1000 * store_cpu / len(updates), 3),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "outbox_latency_ms_p95": round(1000 * _percentile(latencies, 0.95), 3),
        "outbox_latency_ms_p50": round(1000 * _percentile(latencies, 0.5), 3),
        "outbox_latency_ms_p99": round(1000 * _percentile(latencies, 0.99), 3),
        "outbox_latency_ms_max": round(1000 * max(latencies), 3),
    }


def with_valid_ids(base: pl.DataFrame, updates: Sequence[Update]
                   ) -> tuple[pl.DataFrame, list[Update]]:
    """The inputs under valid, distinct USCCs (a stream's lines are checked as a real
    consumer checks them; the generated ids are not valid codes)."""
    from profiles.synth.enterprises import unique_usccs

    n = base.height
    codes = unique_usccs(np.random.default_rng(7), np.full(n, 440106), np.ones(n, dtype=int))
    rename = dict(zip(base["uscc"].to_list(), codes.to_list(), strict=True))
    return (base.with_columns(codes.alias("uscc")),
            [(rename[e], values) for e, values in updates])


def worker_throughput(engine: EventEngine, updates: Sequence[Update], *, folder: Path,
                      max_batch: int) -> dict[str, object]:
    """The supervised worker's own loop (:func:`matcher.events.worker.consume`) over the
    updates as a JSON-lines stream, on a seeded store with the outbox hook: events per
    second from the first line to the last checkpoint, ``max_batch`` events a transaction."""
    from matcher.events.delivery import batch_writer
    from matcher.events.worker import consume

    policies = dict(engine.compiled.policies)
    db, hook = _store(folder, f"worker-{max_batch}", policies, engine)
    seed_store(db, engine, policies)
    lines = [json.dumps({"entity_id": e, "set": dict(values)}, default=str, ensure_ascii=False)
             for e, values in updates]
    write = batch_writer(db, engine, as_of=AS_OF, on_changes=hook)
    t = time.perf_counter()
    report = consume(engine, lines, checkpoint=folder / f"worker-{max_batch}.cp", write=write,
                     max_batch=max_batch)
    seconds = time.perf_counter() - t
    db.dispose()
    return {"engine": "supervised worker loop (events consume)", "max_batch": max_batch,
            "events": len(lines), "applied": report.applied, "rejected": report.rejected,
            "seconds": round(seconds, 3), "events_per_second": round(len(lines) / seconds, 1),
            "load_average_1m_after": round(os.getloadavg()[0], 2)}


def followed(engine: EventEngine, updates: Sequence[Update], *, rate: float, folder: Path,
             max_batch: int = 64) -> dict[str, object]:
    """The worker's own loop on a live stream: :func:`matcher.events.worker.consume`
    following a JSON-lines file (:class:`matcher.events.follow.LineFollower`, as ``mianshen
    events consume --follow``) that a thread appends to at ``rate`` lines per second, on a
    seeded store with the outbox hook. Latency: from a line's scheduled arrival to the
    checkpoint that covers it (its batch committed)."""
    import threading

    from matcher.events.delivery import batch_writer
    from matcher.events.follow import LineFollower
    from matcher.events.worker import consume

    policies = dict(engine.compiled.policies)
    db, hook = _store(folder, f"follow-{max_batch}", policies, engine)
    seed_store(db, engine, policies)
    lines = [json.dumps({"entity_id": e, "set": dict(values)}, default=str, ensure_ascii=False)
             for e, values in updates]
    stream = folder / f"follow-{max_batch}.jsonl"
    stream.write_bytes(b"")
    follower = LineFollower(stream, poll_s=0.001)
    start = time.perf_counter() + 0.5  # after consume has settled its heap
    due = [start + i / rate for i in range(len(lines))]
    committed: list[tuple[int, float]] = []

    def append() -> None:
        with stream.open("a", encoding="utf-8") as f:
            for when, line in zip(due, lines, strict=True):
                wait = when - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                f.write(line + "\n")
                f.flush()

    def progress(covered: int) -> None:
        committed.append((covered, time.perf_counter()))
        if covered >= len(lines):
            follower.stop()

    writer = threading.Thread(target=append)
    writer.start()
    report = consume(engine, follower.lines, checkpoint=folder / f"follow-{max_batch}.cp",
                     write=batch_writer(db, engine, as_of=AS_OF, on_changes=hook),
                     max_batch=max_batch, on_progress=progress, wait_for_more=follower.wait)
    writer.join()
    db.dispose()
    latencies, k = [], 0
    for line, when in enumerate(due, start=1):
        while committed[k][0] < line:
            k += 1
        latencies.append(committed[k][1] - when)
    return {
        "engine": "supervised worker loop, following a live file (events consume --follow)",
        "rate_per_second": rate, "max_batch": max_batch, "events": len(lines),
        "applied": report.applied, "rejected": report.rejected, "batches": len(committed),
        "load_average_1m_after": round(os.getloadavg()[0], 2),
        "outbox_latency_ms_p50": round(1000 * _percentile(latencies, 0.5), 3),
        "outbox_latency_ms_p95": round(1000 * _percentile(latencies, 0.95), 3),
        "outbox_latency_ms_p99": round(1000 * _percentile(latencies, 0.99), 3),
        "outbox_latency_ms_max": round(1000 * max(latencies), 3),
    }


def _rss() -> int:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def memory_one(entities: int, *, seed: int) -> dict[str, object]:
    """Resident bytes per entity of an engine holding ``entities`` (this process only), and
    per open trigger pattern."""
    from matcher.events.triggers import TriggerMatcher

    base, updates = make_inputs(entities, 200, seed=seed)
    lib = bundled_library()
    before = _rss()
    with EventEngine(lib, entity="enterprise", as_of=AS_OF) as engine:
        t = time.perf_counter()
        engine.load(base)
        load_s = time.perf_counter() - t
        del base
        for entity_id, values in updates:
            engine.upsert(entity_id, values)
        after = _rss()
        frame = engine._frame.estimated_size() if engine._frame is not None else 0
    # open trigger patterns: a graduate hired at each of 2 000 firms, none insured yet
    with TriggerMatcher(lib.for_entity("enterprise")) as tm:
        trig_before = _rss()
        for k in range(2000):
            tm.post(f"T{k}", "graduate_hired", dt.date(2025, 3, 1), {"person": "P"})
        trig = _rss() - trig_before
    # the engine's frame shares its buffers with the input frame, made before ``before``
    return {"entities": entities,
            "bytes_per_entity": round((after - before + frame) / entities),
            "rss_bytes_per_entity_besides_the_snapshot": round((after - before) / entities),
            "snapshot_frame_bytes_per_entity": round(frame / entities),
            "load_seconds": round(load_s, 3), "updates_applied": len(updates),
            "open_trigger_patterns": 2000,
            "rss_bytes_per_open_trigger_pattern": round(trig / 2000)}


def memory(scales: Sequence[int], *, seed: int) -> list[dict[str, object]]:
    out = []
    for n in scales:
        done = subprocess.run([sys.executable, "-m", "bench.events", "--memory-one", str(n),
                               "--seed", str(seed)], capture_output=True, text=True,
                              check=True)
        out.append({"engine": "durable_rules event engine, memory",
                    **json.loads(done.stdout.strip().splitlines()[-1])})
    return out


#: the steps of a batch timed by ``--spans`` (module, attribute), in the order they run
SPANS: tuple[tuple[str, str], ...] = (
    ("matcher.events.engine:EventEngine", "derive_rows"),
    ("matcher.events.engine:EventEngine", "_joined"),
    ("matcher.events.engine", "build_fact"),
    ("matcher.events.ruleset:DurableRuleset", "fired_names"),
    ("matcher.events.engine:EventEngine", "_outcome_rows"),
    ("matcher.events.delivery", "entities_current"),
    ("matcher.events.delivery", "diff_rows"),
    ("matcher.events.delivery:entitlement_bulk", "write_changes"),
)


def spans(engine: EventEngine, updates: Sequence[Update], *, batch: int, folder: Path,
          batches: int = 50) -> dict[str, object]:
    """Where a batch's time goes: ``batches`` batches of ``batch`` distinct entities taken
    back to back (no pacing) through :meth:`EventEngine.upsert_many` and
    :func:`record_batch` on a seeded store, with each step of :data:`SPANS` and the outbox
    hook timed (wall milliseconds per batch and per event)."""
    import functools
    import importlib

    policies = dict(engine.compiled.policies)
    db, hook = _store(folder, f"spans-{batch}", policies, engine)
    seed_store(db, engine, policies)
    settle_heap()
    spent: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - t
        return wrapper

    groups: list[list[Update]] = [[]]
    for u in updates:
        if len(groups[-1]) == batch or u[0] in {e for e, _ in groups[-1]}:
            groups.append([])
        groups[-1].append(u)
    groups = groups[:batches]
    evaluate_s = store_s = 0.0
    with contextlib.ExitStack() as stack:
        for where, name in SPANS:
            module, _, attr = where.partition(":")
            owner = importlib.import_module(module)
            if attr:
                owner = getattr(owner, attr)
            stack.enter_context(_patched(owner, name, timed(name, getattr(owner, name))))
        timed_hook = timed("outbox hook", hook)
        for k, group in enumerate(groups):
            t = time.perf_counter()
            results = engine.upsert_many(group)
            evaluated = time.perf_counter()
            record_batch(db, [EntityOutcomes(e, rows)
                              for (e, _), rows in zip(group, results, strict=True)],
                         entity_kind="enterprise", policies=policies, as_of=AS_OF,
                         run_id=f"bench-spans-{batch}-{k}", on_changes=timed_hook)
            evaluate_s += evaluated - t
            store_s += time.perf_counter() - evaluated
    db.dispose()
    n = sum(len(g) for g in groups)
    return {
        "engine": "durable_rules event engine, spans", "batch": batch, "batches": len(groups),
        "events": n, "evaluate_ms_per_batch": round(1000 * evaluate_s / len(groups), 2),
        "store_ms_per_batch": round(1000 * store_s / len(groups), 2),
        "evaluate_ms_per_event": round(1000 * evaluate_s / n, 2),
        "store_ms_per_event": round(1000 * store_s / n, 2),
        "steps_ms_per_batch": {k: round(1000 * v / len(groups), 2)
                               for k, v in sorted(spent.items(), key=lambda kv: -kv[1])},
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


@contextlib.contextmanager
def _patched(owner: Any, name: str, value: Any) -> Iterator[None]:
    before = owner.__dict__[name] if isinstance(owner, type) else getattr(owner, name)
    setattr(owner, name, value)
    try:
        yield
    finally:
        setattr(owner, name, before)


def machine() -> dict[str, object]:
    return {"machine": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(),
            "platform": platform.platform()}


def run(*, entities: int, events: int, seed: int) -> list[dict[str, object]]:
    base, updates = make_inputs(entities, events, seed=seed)
    half = len(updates) // 2
    records: list[dict[str, object]] = []
    with EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF) as engine, \
            tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        engine.load(base)
        load_s = time.perf_counter() - t
        polars = PolarsOneRow(base)
        for name, fn, policies in (
            ("durable_rules event engine", engine.upsert, engine.compiled.policies),
            ("polars plan, one-row frame", polars.update, polars.policies),
        ):
            through = _time(fn, updates[:half])
            lat = _latency(fn, {pid: getattr(p, "policy", p) for pid, p in policies.items()},
                           updates[half:], Path(tmp), name.split()[0])
            records.append({
                "engine": name, "entities": entities, "events": len(updates),
                "events_per_second": round(len(through) / sum(through), 1),
                "update_ms_p50": round(1000 * statistics.median(through), 3),
                "outbox_latency_ms_p50": round(1000 * _percentile(lat, 0.5), 3),
                "outbox_latency_ms_p99": round(1000 * _percentile(lat, 0.99), 3),
            })
        records[0]["initial_load_seconds"] = round(load_s, 3)
    return records


@contextlib.contextmanager
def _loaded(base: pl.DataFrame) -> Iterator[tuple[EventEngine, Path]]:
    """A fresh engine over the bundled library with ``base`` loaded, and a scratch folder
    for its store (one per measured run)."""
    with EventEngine(bundled_library(), entity="enterprise", as_of=AS_OF) as engine, \
            tempfile.TemporaryDirectory() as tmp:
        engine.load(base)
        yield engine, Path(tmp)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entities", type=int, default=2000)
    p.add_argument("--events", type=int, default=400)
    p.add_argument("--seed", type=int, default=20251001)
    p.add_argument("--rate", type=float, default=None,
                   help="also run the event engine paced at this many events per second")
    p.add_argument("--max-batch", type=int, nargs="+", default=[64],
                   help="paced: at most this many events per store transaction (several: "
                   "one paced run each, in this order, in this invocation)")
    p.add_argument("--follow", action="store_true",
                   help="with --rate: also the worker's own loop (events consume --follow) "
                   "following a file appended at that rate, once per --max-batch")
    p.add_argument("--empty-store", action="store_true",
                   help="paced: start from an empty store (each entity's first event writes "
                   "all its entitlements) instead of the snapshot's entitlements")
    p.add_argument("--no-unpaced", action="store_true",
                   help="skip the unpaced comparison with the polars one-row plan")
    p.add_argument("--spans", type=int, nargs="+", default=None,
                   help="also time each step of back-to-back batches of these sizes "
                   "(seeded store)")
    p.add_argument("--worker-batch", type=int, nargs="+", default=None,
                   help="also time the supervised worker's loop over the events as a stream, "
                   "with these batch limits")
    p.add_argument("--memory", type=str, default=None,
                   help="also measure memory per entity at these sizes (comma-separated)")
    p.add_argument("--memory-one", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path, default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.memory_one is not None:
        print(json.dumps(memory_one(args.memory_one, seed=args.seed)))
        return 0
    records = (run(entities=args.entities, events=args.events, seed=args.seed)
               if args.events and not args.no_unpaced else [])
    if args.rate is not None and args.events:
        base, updates = make_inputs(args.entities, args.events, seed=args.seed + 7)
        for max_batch in args.max_batch:
            with _loaded(base) as (engine, folder):
                records.append(paced(engine, updates, rate=args.rate, folder=folder,
                                     max_batch=max_batch, seeded=not args.empty_store))
    if args.follow and args.rate is not None and args.events:
        base, updates = with_valid_ids(*make_inputs(args.entities, args.events,
                                                    seed=args.seed + 7))
        for max_batch in args.max_batch:
            with _loaded(base) as (engine, folder):
                records.append(followed(engine, updates, rate=args.rate, folder=folder,
                                        max_batch=max_batch))
    if args.spans and args.events:
        base, updates = make_inputs(args.entities, args.events, seed=args.seed + 7)
        for size in args.spans:
            with _loaded(base) as (engine, folder):
                records.append(spans(engine, updates, batch=size, folder=folder))
    if args.worker_batch and args.events:
        base, updates = with_valid_ids(*make_inputs(args.entities, args.events,
                                                    seed=args.seed + 7))
        for size in args.worker_batch:
            with _loaded(base) as (engine, folder):
                records.append(worker_throughput(engine, updates, folder=folder,
                                                 max_batch=size))
    if args.memory:
        records.extend(memory([int(x) for x in args.memory.split(",")], seed=args.seed))
    for r in records:
        r.update(machine())
    for r in records:
        print(" | ".join(f"{k}={v}" for k, v in r.items()))
    if args.json is not None:
        args.json.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
