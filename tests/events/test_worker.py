"""The event engine in a supervised worker process: a worker killed with SIGKILL in the
middle of the stream is restarted, and the store ends exactly as after a run without a crash
(no event lost, none applied twice: the same entitlements, the same outbox messages)."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select

from matcher.events.worker import Supervisor, read_checkpoint, write_checkpoint
from tests.events.test_cli_replay import uscc

AS_OF = "2025-10-01"
ENTITIES = [uscc(f"91440101{k:08d}") for k in range(6)]


def write_inputs(folder: Path) -> tuple[Path, Path, int]:
    profiles = folder / "profiles.csv"
    pl.DataFrame({
        "uscc": ENTITIES, "status": ["存续"] * 6, "industry_code": ["6510"] * 6,
        "employees": ["20"] * 6, "annual_taxable_income": ["1000000"] * 6,
        "restricted_industry": ["false"] * 6,
        "total_assets": ["1000000"] * 6, "district": ["440106"] * 6,
    }).write_csv(profiles)
    lines = []
    for k in range(40):
        e = ENTITIES[k % 6]
        if k % 5 == 3:
            lines.append({"entity_id": e, "event": "graduate_hired",
                          "on": f"2025-0{1 + k // 10}-0{1 + k % 9}", "person": f"P{k % 4}"})
        elif k % 5 == 4:
            lines.append({"entity_id": e, "event": "insured_3_months",
                          "on": f"2025-0{5 + k // 10}-1{k % 9}", "person": f"P{(k - 1) % 4}"})
        else:
            lines.append({"entity_id": e, "set": {"graduate_hires": k % 4,
                                                  "employees": 10 + k}})
    events = folder / "events.jsonl"
    events.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n",
                      encoding="utf-8")
    return profiles, events, len(lines)


def command(profiles: Path, events: Path, url: str, checkpoint: Path,
            pause_ms: int) -> list[str]:
    return [sys.executable, "-c", "from api.cli import main; main()", "events", "consume",
            "--entity", "enterprise", "--profiles", str(profiles), "--events", str(events),
            "--as-of", AS_OF, "--database", url, "--checkpoint", str(checkpoint),
            "--pause-ms", str(pause_ms), "--max-batch", "3"]


def store_state(url: str) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    from store.db import make_engine, transaction
    from store.schema import entitlements, outbox

    engine = make_engine(url)
    with transaction(engine) as session:
        ents = sorted(tuple(r) for r in session.execute(select(
            entitlements.c.entity_id, entitlements.c.policy_id, entitlements.c.benefit_period,
            entitlements.c.status, entitlements.c.outcome, entitlements.c.amount_fen,
            entitlements.c.last_run_id)))
        msgs = sorted(tuple(r) for r in session.execute(select(
            outbox.c.idempotency_key, outbox.c.recipient_id, outbox.c.kind)))
    engine.dispose()
    return ents, msgs


def published_db(folder: Path, data: Path) -> str:
    from api.settings import get_settings
    from api.storage import open_engine
    from tests.conftest import publish_bundled_library

    url = f"sqlite:///{folder / 'db.sqlite'}"
    os.environ["MIANSHEN_DATA_DIR"] = str(data)
    get_settings.cache_clear()
    engine = open_engine(get_settings(), url=url)
    publish_bundled_library(engine)
    engine.dispose()
    return url


def published_dbs(tmp_path: Path, data: Path, *names: str) -> list[str]:
    """One store per name, each in its own folder, with the bundled library published."""
    urls = []
    for name in names:
        (tmp_path / name).mkdir()
        urls.append(published_db(tmp_path / name, data))
    return urls


def worker_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    """One data folder (the same link and audit keys for every worker and store of a test),
    set here and in the environment the workers get: (the folder, that environment)."""
    data = tmp_path / "data"
    monkeypatch.setenv("MIANSHEN_DATA_DIR", str(data))
    return data, {**os.environ, "MIANSHEN_DATA_DIR": str(data)}


def test_checkpoint_is_replaced_whole(tmp_path):
    path = tmp_path / "cp"
    assert read_checkpoint(path) == 0
    write_checkpoint(path, 12)
    write_checkpoint(path, 13)
    assert read_checkpoint(path) == 13 and not (tmp_path / "cp.tmp").exists()
    path.write_text("x", encoding="utf-8")
    with pytest.raises(ValueError, match="line number"):
        read_checkpoint(path)


@pytest.mark.slow
def test_a_worker_killed_mid_stream_is_restarted_and_the_store_ends_as_without_a_crash(
        tmp_path, monkeypatch):
    from api.settings import get_settings

    data, env = worker_env(tmp_path, monkeypatch)
    profiles, events, total = write_inputs(tmp_path)

    calm, crash = tmp_path / "calm", tmp_path / "crash"
    calm_url, crash_url = published_dbs(tmp_path, data, "calm", "crash")

    Supervisor(command(profiles, events, calm_url, calm / "cp", 0), checkpoint=calm / "cp",
               env=env).run()
    assert read_checkpoint(calm / "cp") == total

    sup = Supervisor(command(profiles, events, crash_url, crash / "cp", 150),
                     checkpoint=crash / "cp", env=env)
    runner = threading.Thread(target=sup.run)
    runner.start()
    killed = 0
    deadline = time.monotonic() + 300
    while killed < 2 and time.monotonic() < deadline:
        done = read_checkpoint(crash / "cp")
        if done >= 10 * (killed + 1) and sup.process is not None and sup.process.poll() is None:
            os.kill(sup.process.pid, signal.SIGKILL)  # mid-stream, without warning
            killed += 1
        time.sleep(0.02)
    runner.join(timeout=300)
    assert killed == 2 and sup.restarts >= 2
    assert read_checkpoint(crash / "cp") == total
    calm_state, crash_state = store_state(calm_url), store_state(crash_url)
    assert calm_state[0] and calm_state[1]  # the stream changed entitlements and sent messages
    assert crash_state == calm_state
    get_settings.cache_clear()
