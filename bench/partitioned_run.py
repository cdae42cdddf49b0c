"""The nightly run at population scale: `mianshen run` over a partitioned snapshot.

    python -m bench.partitioned_run --entities 1000000 --partitions 16 --json out.json
    python -m bench.partitioned_run --entities 1000000 --workers 2 --json out.json --append

For each size: generated enterprise profiles (:func:`bench.generate.generate_profiles`, made
complete and derived like a built snapshot, unique ids) are written chunk by chunk as a
snapshot dataset (:mod:`profiles.partitions`); a fresh store gets the bundled library
imported and approved; then ``mianshen run --snapshot DIR --entity enterprise`` runs as a
subprocess, in process or with ``--workers N`` (a LocalCluster). Its wall time, its stage
timings (from its ``--json`` report) and its peak memory (``ru_maxrss`` of the command and the
processes it waited for, i.e. the largest one) are recorded with the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import polars as pl

from bench.match import machine

AS_OF = dt.date(2025, 11, 3)
CHUNK = 500_000


POPULATIONS = ("generated", "synth")


def generated_chunk(size: int, *, seed: int) -> pl.DataFrame:
    """``size`` profiles of :func:`bench.generate.generate_profiles`, made complete and
    derived like a built snapshot. They carry the fields of the generated policies only:
    ten CIT and disability-fund policies of the bundled library find theirs unset."""
    from bench.generate import generate_profiles
    from profiles.derive import derive
    from profiles.ingest import complete

    raw = generate_profiles(size, seed=seed, as_of=AS_OF)
    return derive(complete(raw, entity="enterprise"), entity="enterprise",
                  as_of=AS_OF).collect()


def synth_chunk(size: int, *, seed: int) -> pl.DataFrame:
    """``size`` enterprises as the product makes them for its demo: the departments' extracts
    of :func:`profiles.synth.synthesize` (every field the bundled library reads, with the
    sources' own share of missing values), built into a snapshot by
    :func:`profiles.build.build_snapshot` (no chain-tag model: those tags stay unknown)."""
    from profiles.build import build_snapshot
    from profiles.synth import synthesize

    with tempfile.TemporaryDirectory(prefix="mianshen-synth-") as tmp:
        sources, out = Path(tmp) / "sources", Path(tmp) / "snapshot.parquet"
        synthesize(sources, enterprises=size, persons=0, seed=seed, label_share=0.0,
                   reference=AS_OF)
        build_snapshot(sources, entity="enterprise", as_of=AS_OF, out=out)
        return pl.read_parquet(out)


def profile_chunks(n: int, *, seed: int, distinct: int | None = None,
                   population: str = "generated") -> Iterator[pl.DataFrame]:
    """``n`` enterprise profiles in chunks (:data:`POPULATIONS`: :func:`generated_chunk` or
    :func:`synth_chunk`), with unique 18-character ids. ``distinct``: make only that many
    (whole chunks) and repeat them under new ids, so that a 30M population is written in
    minutes; every row is still matched and written."""
    make = {"generated": generated_chunk, "synth": synth_chunk}[population]
    made: list[pl.DataFrame] = []
    for j, start in enumerate(range(0, n, CHUNK)):
        size = min(CHUNK, n - start)
        ids = pl.int_range(start, start + size, eager=True).cast(pl.String).str.zfill(14)
        if distinct is not None and len(made) * CHUNK >= distinct:
            yield made[j % len(made)].head(size).with_columns(("9144" + ids).alias("uscc"))
            continue
        chunk = make(size, seed=seed + j).with_columns(("9144" + ids).alias("uscc"))
        if distinct is not None and size == CHUNK:
            made.append(chunk)
        yield chunk


def prepare_store(url: str) -> None:
    """The bundled library imported by the demo officer and approved by the reviewer."""
    from api.services.demo_data import STAFF, create_accounts, publish_library
    from api.settings import get_settings
    from api.storage import open_engine
    from store.db import upgrade

    get_settings.cache_clear()
    engine = open_engine(get_settings(), url=url)
    upgrade(engine)
    create_accounts(engine, list(STAFF))
    publish_library(engine, say=lambda _m: None)
    engine.dispose()


STORED_TABLES = ("entitlements", "entitlement_events", "outbox", "message_items", "message_keys",
                 "links")


def store_bytes(url: str) -> dict[str, int]:
    """Bytes on disk of the tables a run fills (with their indexes and TOAST) on
    PostgreSQL, or of the whole database file on SQLite."""
    if url.startswith("sqlite"):
        return {"database_file": Path(url.split("///", 1)[1]).stat().st_size}
    from sqlalchemy import text

    from store.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        sizes = {}
        for t in STORED_TABLES:
            size = conn.execute(text("SELECT pg_total_relation_size(to_regclass(:t))"),
                                {"t": t}).scalar_one()
            if size is not None:  # a table an older schema lacks is left out
                sizes[t] = int(size)
    engine.dispose()
    return sizes


def run_cli(args: list[str], log: Path) -> tuple[float, float, int, str]:
    """(seconds, peak MB, exit status, output tail) of ``mianshen <args>``."""
    cmd = [sys.executable, "-c", "from api.cli import main; main()", *args]
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / 1024, proc.returncode, log.read_text()[-3000:]


def run_child(args: list[str], log: Path) -> tuple[float, float, int, str]:
    """The run alone (match, allocate, diff, write; no outbox planning) in a subprocess."""
    code = ("import sys; from bench.partitioned_run import child; child(sys.argv[1:])")
    cmd = [sys.executable, "-c", code, *args]
    start = time.perf_counter()
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    return (time.perf_counter() - start, usage.ru_maxrss / 1024,
            os.waitstatus_to_exitcode(status), log.read_text()[-3000:])


def _count_only(session: object, changes: object, **_kw: object) -> dict[str, int]:
    """Stands in for the store write in a ``--no-write`` measurement: the changes counted."""
    return {"new": changes.new.height, "updated": changes.updated.height,  # type: ignore[attr-defined]
            "revoked": changes.revoked.height, "carried_over": 0}  # type: ignore[attr-defined]


def child(argv: list[str]) -> None:
    """``DATASET URL REPORT WORKERS [nowrite]``: :func:`matcher.runs.execute_run` with the
    published policies, its report as ``{"runs": [...]}`` JSON. ``nowrite``: every stage
    up to the diff runs as in a run; the diff of each partition is counted, not written."""
    from api.settings import get_settings
    from api.storage import open_engine
    from matcher.runs import execute_run, published_policies

    dataset, url, report, workers = argv[:4]
    if argv[4:] == ["nowrite"]:
        from store import entitlement_bulk

        entitlement_bulk.write_changes = _count_only
    engine = open_engine(get_settings(), url=url)
    policies, sets = published_policies(engine, entity="enterprise", as_of=AS_OF)
    t0 = time.perf_counter()
    r = execute_run(engine=engine, snapshot_path=Path(dataset), as_of=AS_OF, policies=policies,
                    sets=sets, outcomes_dir=get_settings().outcomes_dir, entity="enterprise",
                    workers=int(workers) or None,
                    progress=lambda s, m: print(f"{time.perf_counter() - t0:8.1f} {m}",
                                                flush=True))
    Path(report).write_text(json.dumps({"runs": [r.to_dict()]}, ensure_ascii=False))


def measure(n: int, *, partitions: int, workers: int | None, seed: int, work: Path,
            database_url: str | None, outbox: bool = True, write: bool = True,
            distinct: int | None = None, population: str = "generated") -> dict[str, object]:
    from profiles.partitions import write_dataset

    work.mkdir(parents=True, exist_ok=True)
    os.environ["MIANSHEN_DATA_DIR"] = str(work / "data")
    os.environ.setdefault("MIANSHEN_ENVIRONMENT", "development")
    # messages are planned and enqueued, without the explanation of each condition (at
    # population scale a run exceeds the limit anyway; see the bench README)
    os.environ.setdefault("MIANSHEN_EXPLAIN_IN_MESSAGES_LIMIT", "0")
    dataset = work / f"enterprise-{population}-{n}-p{partitions}"
    t = time.perf_counter()
    if not (dataset / "_snapshot.json").exists():
        chunks = profile_chunks(n, seed=seed, distinct=distinct, population=population)
        write_dataset(chunks, dataset, key="uscc",
                      partitions=partitions)
    generate_s = time.perf_counter() - t
    url = database_url or f"sqlite:///{work / f'bench-{n}-{workers or 0}.db'}"
    prepare_store(url)
    report = work / f"report-{n}.json"
    if outbox:
        args = ["run", "--snapshot", str(dataset), "--entity", "enterprise", "--as-of",
                AS_OF.isoformat(), "--database-url", url, "--json", str(report)]
        if workers:
            args += ["--workers", str(workers)]
        seconds, peak_mb, status, tail = run_cli(args, work / f"run-{n}.log")
    else:
        seconds, peak_mb, status, tail = run_child(
            [str(dataset), url, str(report), str(workers or 0), *([] if write else ["nowrite"])],
            work / f"run-{n}.log")
    if status != 0:
        raise SystemExit(f"mianshen run failed with status {status}:\n{tail}")
    runs = json.loads(report.read_text(encoding="utf-8"))["runs"]
    r = runs[0]
    stored = store_bytes(url) if write else {}
    return {
        "engine": ("mianshen run" if outbox else "execute_run (no outbox)" if write
                   else "execute_run (match, allocate, diff; changes counted, not written)"),
        "population": population,
        "distinct_profiles": distinct,
        "entities": n,
        "partitions": partitions,
        "workers": workers or 0,
        "database": url.split(":", 1)[0],
        "generate_seconds": round(generate_s, 1),
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_mb, 1),
        "timings": r["timings"],
        "new": r["new"],
        "policies": len(r["policy_versions"]),
        "store_bytes": stored,
        "store_bytes_per_entity": round(sum(stored.values()) / n, 1) if stored else None,
        "machine": machine(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.partitioned_run", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--entities", type=int, nargs="+", default=[1_000_000])
    p.add_argument("--partitions", type=int, default=0,
                   help="partitions (default: one per 500,000 entities, at least 4)")
    p.add_argument("--workers", type=int, default=0, help="LocalCluster workers (0: in process)")
    p.add_argument("--seed", type=int, default=20251)
    p.add_argument("--work-dir", type=Path, help="keep datasets and stores here (reused)")
    p.add_argument("--database-url", help="an empty PostgreSQL database (default: SQLite)")
    p.add_argument("--no-outbox", action="store_true",
                   help="measure the run alone (execute_run), not `mianshen run` with its "
                   "outbox planning")
    p.add_argument("--no-write", action="store_true",
                   help="with --no-outbox: run every stage up to the diff; count the changes "
                   "instead of writing them (a population whose diff the store cannot hold)")
    p.add_argument("--distinct", type=int,
                   help="generate this many profiles (whole chunks) and repeat them under new ids")
    p.add_argument("--population", choices=POPULATIONS, default="generated",
                   help="generated: bench.generate's profiles (the generated policies' fields); "
                   "synth: the demo's synthesised department extracts built into a snapshot "
                   "(every field of the bundled library)")
    p.add_argument("--json", type=Path)
    p.add_argument("--append", action="store_true")
    args = p.parse_args(argv)
    if args.no_write and not args.no_outbox:
        p.error("--no-write needs --no-outbox")
    records = []
    with tempfile.TemporaryDirectory(prefix="mianshen-run-bench-") as tmp:
        work = args.work_dir or Path(tmp)
        for n in args.entities:
            parts = args.partitions or max(4, -(-n // CHUNK))
            rec = measure(n, partitions=parts, workers=args.workers or None, seed=args.seed,
                          work=work, database_url=args.database_url,
                          outbox=not args.no_outbox, write=not args.no_write,
                          distinct=args.distinct, population=args.population)
            print(json.dumps(rec, ensure_ascii=False), flush=True)
            records.append(rec)
    if args.json:
        previous = (json.loads(args.json.read_text(encoding="utf-8"))
                    if args.append and args.json.exists() else [])
        args.json.write_text(json.dumps(previous + records, ensure_ascii=False, indent=2),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
