"""How many concurrent clients the API still answers, on SQLite and on PostgreSQL.

    python -m bench.api_concurrency [--clients 1 10 25 45 60 100 200] [--seconds 10]
        [--writes 0.2] [--postgres-url URL] [--executable mianshen] [--json out.json]

For each backend a real server is started the way an operator starts it: ``mianshen serve``
in its own process on an ephemeral port of 127.0.0.1, on an empty data directory (so it
loads its demo data: the library imported and approved, a synthetic population, one run per
entity kind). Then, for each number of clients N, N clients (asyncio + httpx, one connection
each) send requests back to back for ``--seconds``: signed-in reads (who am I, the policy
list, an enterprise's own benefits, the run list) and, with probability ``--writes``, a
write (an officer creating an API key for themselves: a row plus an audit entry, so every
write also serialises on the audit chain). A request that takes longer than ``--timeout``
counts as unanswered.

Reported per backend and N: requests, answered (2xx), errors, timeouts, requests per second,
p50 and p99 latency of the answered ones, and whether every request was answered. The
headline per backend is the largest N at which every request was answered. ``--executable``
serves with another installation of the command (e.g. an earlier release, with
``--writes 0``: its API-key route differs) to compare in one run. On a shared machine the
1-minute load average is recorded with each figure; the client runs on the same machine as
the server and takes its share of the CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

READS = ("/api/auth/me", "/api/policies", "/api/me/benefits", "/api/runs")
READ_AS = {"/api/auth/me": "officer", "/api/policies": "officer",
           "/api/me/benefits": "enterprise", "/api/runs": "admin"}
PASSWORDS = {"officer": "officer-demo", "enterprise": "enterprise-demo", "admin": "admin-demo"}


@dataclass(frozen=True)
class Level:
    clients: int
    requests: int
    answered: int
    errors: int
    timeouts: int
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    all_answered: bool
    load_1min: float
    error_kinds: dict[str, int]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)


class Server:
    """``mianshen serve`` in its own process, on an empty data directory."""

    def __init__(self, executable: str, folder: Path, database_url: str, *, demo_size: int):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "MIANSHEN_DATA_DIR": str(folder),
            "MIANSHEN_DATABASE_URL": database_url,
            "MIANSHEN_ENVIRONMENT": "development",
            "MIANSHEN_DEMO_ENTERPRISES": str(demo_size),
            "MIANSHEN_DEMO_PERSONS": str(demo_size),
            # the bench logs in a few times; it measures the API, not the login limits
            "MIANSHEN_LOGIN_LIMIT_PER_ADDRESS": "1000000",
            "MIANSHEN_LOGIN_LIMIT_PER_ACCOUNT": "1000000",
            "MIANSHEN_LOGIN_RATE_LIMIT": "1000000",
        }
        self.log = (folder / "server.log").open("w")
        self.proc = subprocess.Popen(
            [executable, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=folder,
        )

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see "
                                   f"{self.log.name}")
            try:
                if httpx.get(f"{self.base}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"server not ready after {timeout} s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _tokens(base: str) -> dict[str, dict[str, str]]:
    out = {}
    for user, password in PASSWORDS.items():
        r = httpx.post(f"{base}/api/auth/login", json={"username": user, "password": password},
                       timeout=60)
        r.raise_for_status()
        out[user] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return out


async def _level(base: str, tokens: dict[str, dict[str, str]], *, clients: int,
                 seconds: float, writes: float, timeout: float, seed: int) -> Level:
    latencies: list[float] = []
    counts = {"requests": 0, "answered": 0, "errors": 0, "timeouts": 0}
    kinds: dict[str, int] = {}

    def error(kind: str) -> None:
        counts["errors"] += 1
        kinds[kind] = kinds.get(kind, 0) + 1

    stop_at = time.monotonic() + seconds

    async def one_client(index: int, http: httpx.AsyncClient) -> None:
        rng = random.Random(seed * 1000 + index)
        sequence = 0
        while time.monotonic() < stop_at:
            sequence += 1
            if rng.random() < writes:
                method, path, user = "POST", "/api/auth/api-keys", "officer"
                body: dict[str, str] | None = {"label": f"bench {index}-{sequence}"}
            else:
                path = rng.choice(READS)
                method, user, body = "GET", READ_AS[path], None
            started = time.perf_counter()
            counts["requests"] += 1
            try:
                r = await http.request(method, path, headers=tokens[user], json=body)
            except httpx.TimeoutException:
                counts["timeouts"] += 1
                continue
            except httpx.HTTPError as exc:
                error(type(exc).__name__)
                continue
            if 200 <= r.status_code < 300:
                counts["answered"] += 1
                latencies.append(time.perf_counter() - started)
            else:
                error(f"HTTP {r.status_code}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=base, timeout=timeout, limits=limits) as http:
        await asyncio.gather(*(one_client(i, http) for i in range(clients)))
    elapsed = time.monotonic() - started
    return Level(
        clients=clients, requests=counts["requests"], answered=counts["answered"],
        errors=counts["errors"], timeouts=counts["timeouts"],
        requests_per_second=round(counts["answered"] / elapsed, 1),
        p50_ms=_quantile(latencies, 0.5), p99_ms=_quantile(latencies, 0.99),
        all_answered=counts["answered"] == counts["requests"] and counts["requests"] > 0,
        load_1min=round(os.getloadavg()[0], 1), error_kinds=kinds,
    )


def measure(executable: str, database_url: str, folder: Path, *, levels: list[int],
            seconds: float, writes: float, timeout: float, demo_size: int,
            seed: int) -> dict[str, Any]:
    server = Server(executable, folder, database_url, demo_size=demo_size)
    try:
        server.wait_ready(timeout=900)
        tokens = _tokens(server.base)
        results = []
        for clients in levels:
            level = asyncio.run(_level(server.base, tokens, clients=clients, seconds=seconds,
                                       writes=writes, timeout=timeout, seed=seed))
            results.append(asdict(level))
            print(json.dumps(asdict(level)), flush=True)
            if level.timeouts and level.answered == 0:
                break  # stalled: more clients only wait longer
    finally:
        server.stop()
    answering = [r["clients"] for r in results if r["all_answered"]]
    return {"levels": results, "max_clients_all_answered": max(answering, default=0)}


def _postgres_schema_url(base: str) -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), schema


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+",
                        default=[1, 10, 25, 45, 60, 100, 200])
    parser.add_argument("--seconds", type=float, default=10.0, help="per level")
    parser.add_argument("--writes", type=float, default=0.2, help="share of writing requests")
    parser.add_argument("--timeout", type=float, default=30.0, help="per request, seconds")
    parser.add_argument("--demo-size", type=int, default=300,
                        help="enterprises and persons of the served demo data")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres-url", default=os.environ.get("MIANSHEN_TEST_POSTGRES_URL"))
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--executable", default=shutil.which("mianshen")
                        or str(Path(sys.executable).with_name("mianshen")))
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    out: dict[str, Any] = {"benchmark": "api_concurrency", "python": platform.python_version(),
                           "cpus": os.cpu_count(), "seconds_per_level": args.seconds,
                           "writes": args.writes, "timeout_s": args.timeout, "backends": {}}
    from sqlalchemy import text

    from store.db import make_engine

    for backend in args.backends:
        with tempfile.TemporaryDirectory(prefix="api-bench-") as tmp:
            folder = Path(tmp)
            if backend == "sqlite":
                print("sqlite:", flush=True)
                out["backends"]["sqlite"] = measure(
                    args.executable, "", folder, levels=args.clients, seconds=args.seconds,
                    writes=args.writes, timeout=args.timeout, demo_size=args.demo_size,
                    seed=args.seed)
                continue
            if not args.postgres_url:
                out["backends"]["postgresql"] = {"skipped": "no --postgres-url"}
                continue
            url, schema = _postgres_schema_url(args.postgres_url)
            admin = make_engine(args.postgres_url)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                print("postgresql:", flush=True)
                out["backends"]["postgresql"] = measure(
                    args.executable, url, folder, levels=args.clients, seconds=args.seconds,
                    writes=args.writes, timeout=args.timeout, demo_size=args.demo_size,
                    seed=args.seed)
            finally:
                with admin.begin() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
    for backend, result in out["backends"].items():
        if "levels" in result:
            print(f"{backend}: every request answered up to {result['max_clients_all_answered']}"
                  " concurrent clients")
    if args.json:
        args.json.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
    return out


if __name__ == "__main__":
    main()
