"""Person updates through the event engine with the household register: what deciding the
owners again costs (a person's household and spouse, :meth:`EventEngine.take_redecided`).

    python -m bench.member_events --persons 20000 --events 600 --json out.json

Synthesised sources (``profiles.synth``: persons, their household register), the person
snapshot built from them as the nightly run builds it, the bundled library; each event sets
``owns_home_in_work_city`` and ``employed`` of a random person to random values (about half
change a member column, and then the rest of the household and the spouse are decided
again). Recorded: milliseconds per update (``upsert`` and taking the owners decided again;
no store), median and p99 over the events after the first 50 (warm-up), and how many owners
were decided again. Run it on two commits to compare; the engine's code is what differs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl

from bench.events import machine

AS_OF = dt.date(2025, 11, 3)
WARM_UP = 50


def measure(persons: int, events: int, *, seed: int) -> dict[str, object]:
    from matcher.events.engine import EventEngine
    from profiles.build import build_snapshot
    from profiles.relations import load_relations
    from profiles.synth import synthesize
    from rules.loader import bundled_library

    with tempfile.TemporaryDirectory() as tmp:
        sources, snapshot = Path(tmp) / "sources", Path(tmp) / "person.parquet"
        synthesize(sources, enterprises=20, persons=persons, seed=5)
        build_snapshot(sources, entity="person", as_of=AS_OF, out=snapshot,
                       rejects=Path(tmp) / "rejects.csv")
        frame = pl.read_parquet(snapshot)
        related = load_relations(sources, persons=frame).frames
    ids = frame["id_number"].to_list()
    rng = random.Random(seed)
    times: list[float] = []
    redecided = 0
    with EventEngine(bundled_library(), entity="person", as_of=AS_OF,
                     related=related) as engine:
        engine.load(frame)
        take = getattr(engine, "take_redecided", dict)  # absent before owners were decided
        for _ in range(events):
            entity_id = rng.choice(ids)
            values = {"owns_home_in_work_city": rng.random() < 0.5,
                      "employed": rng.random() < 0.5}
            start = time.perf_counter()
            engine.upsert(entity_id, values)
            redecided += len(take())
            times.append(time.perf_counter() - start)
    timed = times[WARM_UP:]
    return {"persons": frame.height, "events": len(timed), "owners_decided_again": redecided,
            "median_ms": round(statistics.median(timed) * 1000, 2),
            "p99_ms": round(statistics.quantiles(timed, n=100)[98] * 1000, 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--persons", type=int, default=20000)
    p.add_argument("--events", type=int, default=600)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()
    result = {"benchmark": "member_events", **machine(),
              **measure(args.persons, args.events, seed=args.seed)}
    print(json.dumps(result, ensure_ascii=False))
    if args.json is not None:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n",
                             encoding="utf-8")


if __name__ == "__main__":
    main()
