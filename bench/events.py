"""The event benchmark: one entity's profile change at a time, through the event engine
(durable_rules) and through the batch plan (polars) on a one-row frame, side by side.

    python -m bench.events --entities 2000 --events 500 --json out.json

Both engines get the same bundled enterprise policies, the same generated profiles and the
same partial updates (a random base field of a random entity set to a value of another
entity), and both derive tags with :func:`profiles.derive.derive` on the one-row frame.

- throughput: events per second of ``update -> outcomes`` (no store);
- latency: seconds from the event to its outbox rows committed (SQLite file), through the
  same store path for both (:func:`matcher.events.delivery.record_outcomes` with the
  notifier's outbox hook); p50 and p99 over the events.

The polars side compiles its plan once (as a long-running consumer would) and runs
``match_plan`` on the one-row frame per event.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from bench.generate import generate_profiles
from matcher.evaluate import make_plan, match_plan
from matcher.events.delivery import record_outcomes
from matcher.events.engine import EventEngine
from profiles.catalog import load_catalog
from profiles.derive import derive
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
        one = pl.DataFrame([row], schema=self.schema, orient="row")
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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.events", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entities", type=int, default=2000)
    p.add_argument("--events", type=int, default=400)
    p.add_argument("--seed", type=int, default=20251001)
    p.add_argument("--json", type=Path, default=None)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    records = run(entities=args.entities, events=args.events, seed=args.seed)
    for r in records:
        print(" | ".join(f"{k}={v}" for k, v in r.items()))
    if args.json is not None:
        args.json.write_text(json.dumps(records, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
