"""Does the login answer tell which accounts exist? Time of a failed login for an unknown
user against a known user with a wrong password, through the HTTP app.

    python -m bench.login_timing [--attempts 60] [--json out.json]

A fresh store with one account; the app with limits high enough not to interfere. The two
kinds of attempt are interleaved in a shuffled order (so load drifts hit both alike); each
is timed end to end (client, app, database, scrypt). Reported: the median and p90 of each,
and the ratio of the medians unknown / known (1.0 means indistinguishable). The same is
measured with the dummy scrypt check switched off, which is how the login behaved before
(the probe saw unknown users rejected 25 times faster): the peer in this comparison.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def _without_dummy_check(enabled: bool) -> Iterator[None]:
    import api.services.accounts as accounts

    original = accounts.spend_password_check
    if not enabled:
        accounts.spend_password_check = lambda _password: None  # type: ignore[assignment]
    try:
        yield
    finally:
        accounts.spend_password_check = original


def measure(attempts: int, *, seed: int, dummy_check: bool, folder: Path) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.services.accounts import AccountSpec, upsert_account
    from api.settings import Settings
    from api.storage import open_engine
    from store.db import transaction, upgrade

    settings = Settings(data_dir=folder, environment="test", login_limit_per_address=10**9,
                        login_limit_per_account=10**9)
    engine = open_engine(settings)
    upgrade(engine)
    with transaction(engine) as s:
        upsert_account(s, AccountSpec(user_id="known-officer", display_name="x", role="officer",
                                      password="the-right-password"))
    app = create_app(settings, engine=engine)
    order = ["known"] * attempts + ["unknown"] * attempts
    random.Random(seed).shuffle(order)
    times: dict[str, list[float]] = {"known": [], "unknown": []}
    with _without_dummy_check(dummy_check), TestClient(app) as client:
        for i in range(5):  # warm-up: first requests build caches
            client.post("/api/auth/login", json={"username": f"warm{i}", "password": "x"})
        for i, kind in enumerate(order):
            user = "known-officer" if kind == "known" else f"nobody-{i}"
            started = time.perf_counter()
            r = client.post("/api/auth/login", json={"username": user, "password": "wrong"})
            times[kind].append(time.perf_counter() - started)
            assert r.status_code == 401, r.text
    engine.dispose()
    known, unknown = statistics.median(times["known"]), statistics.median(times["unknown"])
    return {
        "dummy_check": dummy_check,
        "attempts_each": attempts,
        "known_median_ms": round(known * 1000, 2),
        "known_p90_ms": round(_quantile(times["known"], 0.9) * 1000, 2),
        "unknown_median_ms": round(unknown * 1000, 2),
        "unknown_p90_ms": round(_quantile(times["unknown"], 0.9) * 1000, 2),
        "ratio_unknown_to_known": round(unknown / known, 3),
        "load_1min": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--attempts", type=int, default=60, help="attempts of each kind")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"benchmark": "login_timing", "python": platform.python_version(),
                           "cpus": os.cpu_count(), "variants": []}
    for dummy_check in (True, False):
        with tempfile.TemporaryDirectory(prefix="login-timing-") as tmp:
            result = measure(args.attempts, seed=args.seed, dummy_check=dummy_check,
                             folder=Path(tmp))
        out["variants"].append(result)
        label = "with dummy scrypt (this code)" if dummy_check else "without (before)"
        print(f"{label:32} known {result['known_median_ms']:8.2f} ms  unknown "
              f"{result['unknown_median_ms']:8.2f} ms  ratio unknown/known "
              f"{result['ratio_unknown_to_known']:.3f}  (load {result['load_1min']:.1f})")
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
