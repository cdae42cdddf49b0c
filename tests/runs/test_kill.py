"""A run process killed (SIGKILL) after writing its changes but before committing leaves
the previous state intact; the run can then be resumed."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine

sys.path.insert(0, str(Path(__file__).parent))
import runkit

from matcher import runs
from store import locks
from store import runs as run_store
from store.db import transaction

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2025, 11, 3)
POLICIES = [runkit.policy("p1"), runkit.policy("p2", period="month")]


def _run_here(engine: Engine, snap: Path, outdir: Path) -> runs.RunReport:
    return runs.execute_run(
        engine=engine,
        snapshot_path=snap,
        as_of=AS_OF,
        policies=POLICIES,
        outcomes_dir=outdir,
        entity="enterprise",
        match=runkit.passthrough_match,
        lock_ttl=1.0,
    )


def test_killed_run_leaves_previous_state_and_can_be_resumed(
    db_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    outdir = tmp_path / "outcomes"
    first = runkit.write_snapshot(
        runkit.outcomes(
            [("E1", "p1", "eligible", 10000, "once"), ("E2", "p2", "eligible", 7500, "month")]
        ),
        tmp_path / "first.parquet",
    )
    _run_here(db_engine, first, outdir)
    before = runkit.dump(db_engine)

    rows = [("E1", "p1", "eligible", 20000, "once")] + [
        (f"N{i:04d}", "p1", "eligible", i * 100, "once") for i in range(500)
    ]
    second = runkit.write_snapshot(runkit.outcomes(rows), tmp_path / "second.parquet")
    marker = tmp_path / "written"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(Path(__file__).parent / "runkit.py"),
            db_url,
            str(second),
            str(outdir),
            str(marker),
            str(tmp_path / "seal"),  # the db_engine fixture's seal
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the run process ended before writing"
            assert time.monotonic() < deadline, "the run process never wrote its changes"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()

    assert runkit.dump(db_engine) == before
    with transaction(db_engine) as s:
        running = [r for r in run_store.list_runs(s) if r.status == "running"]
    assert len(running) == 1

    # the dead process's lock expires (ttl 1 s), then the same run resumes
    deadline = time.monotonic() + 10
    while not locks.acquire(db_engine, runs.RUN_LOCK, owner="probe", ttl_seconds=0.0):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    report = _run_here(db_engine, second, outdir)
    assert report.run_id == running[0].id and report.resumed
    assert (report.new, report.updated, report.revoked) == (500, 1, 1)
    with transaction(db_engine) as s:
        done = run_store.get_run(s, report.run_id)
    assert done.status == "succeeded" and done.attempts == 2
