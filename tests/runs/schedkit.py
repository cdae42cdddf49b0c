"""``python schedkit.py URL RUN_AT OUTFILE``: a scheduler process whose job fires once at
RUN_AT (ISO time) and appends this process's pid to OUTFILE; used to show that of two
schedulers started together only one runs the job."""

from __future__ import annotations

import datetime as dt
import os
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> None:
    from apscheduler.triggers.date import DateTrigger

    from api.scheduler import build_scheduler
    from api.settings import Settings
    from store.db import make_engine

    url, run_at_text, outfile = argv
    run_at = dt.datetime.fromisoformat(run_at_text)
    settings = Settings(environment="development", database_url=url, misfire_grace_seconds=30)

    def job() -> None:
        with open(outfile, "a", encoding="utf-8") as fh:
            fh.write(f"{os.getpid()}\n")
        time.sleep(0.5)

    scheduler = build_scheduler(
        settings,
        engine=make_engine(url),
        job=job,
        trigger=DateTrigger(run_date=run_at),
        blocking=False,
    )
    scheduler.start()
    while dt.datetime.now(dt.UTC) < run_at + dt.timedelta(seconds=3):
        time.sleep(0.1)
    scheduler.shutdown(wait=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    main(sys.argv[1:])
