"""The nightly scheduler: two processes started together run the job once; the settings'
cron is honoured."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from api.scheduler import claim_slot, cron_trigger
from api.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_two_schedulers_started_together_run_one_job(db_url: str, tmp_path: Path) -> None:
    outfile = tmp_path / "fired.txt"
    run_at = (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=4)).replace(microsecond=0)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(Path(__file__).parent / "schedkit.py"),
                db_url,
                run_at.isoformat(),
                str(outfile),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(2)
    ]
    codes = [p.wait(timeout=60) for p in procs]
    assert codes == [0, 0]
    fired = outfile.read_text().split()
    assert len(fired) == 1
    assert fired[0] in {str(p.pid) for p in procs}


def test_a_slot_is_claimed_once(db_engine: Engine) -> None:
    slot = dt.datetime(2026, 1, 2, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert claim_slot(db_engine, slot, owner="host-a:1")
    assert not claim_slot(db_engine, slot, owner="host-b:2")
    assert claim_slot(db_engine, slot + dt.timedelta(days=1), owner="host-b:2")


def test_default_cron_fires_at_two_in_shanghai() -> None:
    trigger = cron_trigger(Settings(environment="development"))
    now = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
    fire = trigger.get_next_fire_time(None, now)
    assert fire == dt.datetime(2026, 1, 2, 2, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
