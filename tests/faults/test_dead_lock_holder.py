"""A run killed with SIGKILL while holding the run lock (ttl 300 s) does not make the next
run wait: on SQLite the holder's process is known to be gone, on PostgreSQL its advisory
lock went with its connection. A live holder still keeps the lock."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from matcher import runs
from store import locks
from tests.runs import runkit

ROOT = Path(__file__).resolve().parents[2]
AS_OF = dt.date(2025, 11, 3)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_lock_of_a_dead_process_is_taken_over_at_once(db_engine: Engine) -> None:
    import socket

    dead = f"{socket.gethostname()}:{_dead_pid()}:-:deadbeef"
    assert locks.holder_alive(dead) is False
    assert locks.acquire(db_engine, "job", owner=dead, ttl_seconds=300)
    me = locks.process_owner()
    assert locks.holder_alive(me) is True
    assert locks.acquire(db_engine, "job", owner=me, ttl_seconds=300)
    held = locks.holder(db_engine, "job")
    assert held is not None and held.owner == me


def test_a_live_or_unknown_holder_keeps_its_lock(db_engine: Engine) -> None:
    live = locks.process_owner()
    assert locks.acquire(db_engine, "job", owner=live, ttl_seconds=300)
    assert not locks.acquire(db_engine, "job", owner="other", ttl_seconds=300)
    assert locks.holder_alive("elsewhere:1:2:3") is None


def test_a_reused_pid_does_not_keep_a_dead_holders_lock() -> None:
    import socket

    reused = f"{socket.gethostname()}:{os.getpid()}:1:cafe"  # our pid, another start time
    assert locks.holder_alive(reused) is False


def test_the_next_run_does_not_wait_for_a_killed_runs_lock(
    db_url: str, db_engine: Engine, tmp_path: Path
) -> None:
    snap = runkit.write_snapshot(
        runkit.outcomes([("E1", "p1", "eligible", 10000, "once")]), tmp_path / "s.parquet")
    outdir = tmp_path / "outcomes"
    marker = tmp_path / "written"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "runs" / "runkit.py"), db_url, str(snap),
         str(outdir), str(marker), str(tmp_path / "seal"), "300"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the run process ended before writing"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # alive: the lock holds (on SQLite its open write transaction already refuses)
        with pytest.raises((runs.RunLockedError, OperationalError)):
            runkit_run(db_engine, snap, outdir)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    report = runkit_run(db_engine, snap, outdir)  # at once, not after 300 s
    assert report.status == "succeeded" and report.resumed


def runkit_run(engine: Engine, snap: Path, outdir: Path) -> runs.RunReport:
    return runs.execute_run(
        engine=engine, snapshot_path=snap, as_of=AS_OF,
        policies=[runkit.policy("p1"), runkit.policy("p2", period="month")],
        outcomes_dir=outdir, entity="enterprise", match=runkit.passthrough_match,
        lock_ttl=300.0,
    )
