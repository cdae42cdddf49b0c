"""Bulk speed of the store: a run that writes N new entitlements, on SQLite and PostgreSQL.

    python -m bench.store_bulk --rows 1000000 --json out.json [--postgres-url URL]

For each backend (a fresh SQLite file; a fresh PostgreSQL schema, dropped afterwards) it
times a whole run (``matcher.runs.execute_run``: snapshot hash, outcomes Parquet, diff,
write, commit) whose N outcome rows are all new, then a second run with the same outcomes
from another snapshot (loads N entitlements, diffs, writes nothing), then a run where every
known amount changed (N updates, each with an event). The matching step is
a pass-through: this measures the store, not the matcher. Wall time and this process's CPU
time are reported; on a shared machine the wall time includes waiting for a CPU, so the
1-minute load average is recorded with each figure. PostgreSQL comes from
``--postgres-url`` or ``MIANSHEN_TEST_POSTGRES_URL``; without one only SQLite is measured.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Literal

import polars as pl

AS_OF = dt.date(2025, 11, 3)


PERIODS: dict[str, Literal["once", "month", "year"]] = {
    "bench-once": "once",
    "bench-year": "year",
    "bench-month": "month",
}


def _outcomes(rows: int) -> pl.DataFrame:
    """``rows`` outcome rows over three policies; every tenth undetermined with an unknown
    amount."""
    from matcher.outcomes import OUTCOME_SCHEMA

    policies = list(PERIODS)
    per_policy = rows // len(policies) + 1
    i = pl.col("i")
    undetermined = i % 10 == 0
    frame = pl.DataFrame({"i": range(rows)}).select(
        entity_id=pl.format("91440100MA{}", (i % per_policy).cast(pl.String).str.zfill(8)),
        policy_id=(i // per_policy).replace_strict(
            dict(enumerate(policies)), return_dtype=pl.String
        ),
        policy_version=pl.lit("v1"),
        outcome=pl.when(undetermined).then(pl.lit("undetermined")).otherwise(pl.lit("eligible")),
        amount_fen=pl.when(undetermined).then(None).otherwise((i % 997).cast(pl.Int64) * 1000),
        amount_period=(i // per_policy).replace_strict(
            dict(enumerate(PERIODS.values())), return_dtype=pl.String
        ),
        delivery=pl.lit("direct"),
        unknown_fields=pl.when(undetermined)
        .then(pl.lit(["从业人数"]))
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
    )
    return frame.cast(pl.Schema(OUTCOME_SCHEMA))


def _policies() -> list[Any]:
    from rules import ast
    from rules.model import Amount, Basis, Condition, FormulaAmount, Policy

    return [
        Policy(
            id=pid,
            title=pid,
            entity="enterprise",
            basis=Basis(document="bench"),
            effective_from=dt.date(2020, 1, 1),
            effective_to=None,
            delivery="direct",
            eligibility=Condition(id="c1", expr=ast.Bool(value=True), label="bench"),
            amount=Amount(rule=FormulaAmount(expr=ast.Number(value=1.0)), period=period),
            version="v1",
        )
        for pid, period in PERIODS.items()
    ]


def _passthrough(frame: pl.DataFrame, **_: Any) -> pl.DataFrame:
    return frame


def measure(url: str, *, rows: int, workdir: Path, updates: bool = True) -> dict[str, Any]:
    import secrets

    from matcher.runs import execute_run
    from store.audit import AuditSeal
    from store.audit_heads import HeadFile
    from store.db import make_engine, upgrade

    upgrade(url)
    seal = AuditSeal(key=secrets.token_bytes(32), heads=HeadFile(workdir / "audit-head.log"))
    engine = make_engine(url, audit_seal=seal)
    frame = _outcomes(rows)
    results: dict[str, Any] = {"rows": rows}
    variants = {
        "first_run": frame,
        "rerun_no_changes": frame.reverse(),
        "every_amount_changed": frame.with_columns(pl.col("amount_fen") + 100),
    }
    if not updates:
        del variants["every_amount_changed"]
    for label, data in variants.items():
        snap = workdir / f"snapshot-{label}.parquet"
        data.write_parquet(snap)
        t, cpu = time.perf_counter(), time.process_time()
        report = execute_run(
            engine=engine,
            snapshot_path=snap,
            as_of=AS_OF,
            policies=_policies(),
            outcomes_dir=workdir / "outcomes",
            entity="enterprise",
            match=_passthrough,
        )
        seconds = time.perf_counter() - t
        cpu_seconds = time.process_time() - cpu
        results[label] = {
            "seconds": round(seconds, 3),
            "rows_per_second": round(rows / seconds) if seconds else None,
            "client_cpu_seconds": round(cpu_seconds, 3),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "new": report.new,
            "updated": report.updated,
            "revoked": report.revoked,
            "timings": report.timings,
        }
    engine.dispose()
    return results


def _postgres_schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--postgres-url", default=os.environ.get("MIANSHEN_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--no-updates", action="store_true", help="skip the every-amount-changed run"
    )
    args = parser.parse_args(argv)

    from sqlalchemy import text

    from store.db import make_engine

    out: dict[str, Any] = {
        "benchmark": "store_bulk",
        "rows": args.rows,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "backends": {},
    }
    with tempfile.TemporaryDirectory(prefix="store-bulk-") as tmp:
        work = Path(tmp)
        (work / "sqlite").mkdir()
        out["backends"]["sqlite"] = measure(
            f"sqlite:///{work / 'sqlite' / 'bench.db'}",
            rows=args.rows,
            workdir=work / "sqlite",
            updates=not args.no_updates,
        )
        print(json.dumps({"sqlite": out["backends"]["sqlite"]["first_run"]}, ensure_ascii=False))
        if args.postgres_url:
            url, schema = _postgres_schema_url(args.postgres_url)
            admin = make_engine(args.postgres_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                (work / "pg").mkdir()
                out["backends"]["postgresql"] = measure(
                    url, rows=args.rows, workdir=work / "pg", updates=not args.no_updates
                )
                print(json.dumps({"postgresql": out["backends"]["postgresql"]["first_run"]}))
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
        else:
            out["backends"]["postgresql"] = {"skipped": "no --postgres-url"}
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
