"""The API under many clients: reads take no write lock, writes queue without starving the
worker threads, so the service keeps answering where it used to stall (45+ clients on
SQLite). How fast is bench/api_concurrency.py's business; here only that it answers."""

from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from store.db import transaction
from tests.security.conftest import Service, build_service


def test_a_read_transaction_takes_no_write_lock_on_sqlite(tmp_path: Path) -> None:
    from tests.conftest import sealed_engine

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    from store.db import upgrade

    upgrade(url)
    engine = sealed_engine(url, tmp_path)
    with transaction(engine, write=False) as s:
        s.execute(text("SELECT count(*) FROM policy_versions")).scalar()
        other = sqlite3.connect(tmp_path / "db.sqlite", timeout=0, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # would fail at once if the read held the lock
        other.execute("INSERT INTO locks VALUES ('x', 'o', '2030-01-01', '2030-01-01')")
        other.execute("COMMIT")
        other.close()
    with transaction(engine) as s:  # and a writing one does hold it
        s.execute(text("DELETE FROM locks"))
        other = sqlite3.connect(tmp_path / "db.sqlite", timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
        other.close()
    engine.dispose()


def test_a_read_only_transaction_cannot_write(db_engine: Engine) -> None:
    with pytest.raises(DBAPIError, match=r"(?i)read.?only|readonly|query_only"), \
            transaction(db_engine, write=False) as s:
        s.execute(text("DELETE FROM locks"))


def test_get_requests_answer_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    svc = build_service(tmp_path, f"sqlite:///{tmp_path / 'api.db'}")
    with TestClient(svc.app) as c:
        headers = svc.login(c, "officer")
        holder = sqlite3.connect(tmp_path / "api.db", timeout=0, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # a long nightly run writing its changes
        try:
            for path in ("/api/auth/me", "/api/policies", "/api/runs", "/health"):
                assert c.get(path, headers=headers).status_code == 200, path
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    svc.engine.dispose()


# ---- many clients at once through a real server ----------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(db_url: str, tmp_path: Path) -> Iterator[tuple[str, Service]]:
    import uvicorn

    svc = build_service(tmp_path, db_url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(svc.app, host="127.0.0.1", port=port,
                                           log_level="warning", proxy_headers=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}", svc
    server.should_exit = True
    thread.join(timeout=10)
    svc.engine.dispose()


def test_sixty_concurrent_clients_reading_and_writing_all_get_answers(
    served: tuple[str, Service],
) -> None:
    base, svc = served
    with TestClient(svc.app) as c:
        tokens = {u: svc.login(c, u) for u in ("officer", "reviewer", "firm")}

    async def client(i: int, http: httpx.AsyncClient) -> list[int]:
        user = ("officer", "reviewer", "firm")[i % 3]
        headers = tokens[user]
        codes = [(await http.get("/api/auth/me", headers=headers)).status_code]
        if user == "firm":
            codes.append((await http.get("/api/me/benefits", headers=headers)).status_code)
        else:
            codes.append((await http.get("/api/policies", headers=headers)).status_code)
        created = await http.post("/api/auth/api-keys", headers=headers,
                                  json={"label": f"并发客户端{i}"})
        codes.append(created.status_code)
        return codes

    async def all_clients() -> list[list[int]]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=base, timeout=180.0, limits=limits) as http:
            return await asyncio.gather(*(client(i, http) for i in range(60)))

    results = asyncio.run(all_clients())
    assert all(codes[0] == 200 and codes[-1] == 201 for codes in results), results
    assert all(codes[1] == 200 for codes in results), results
    from store import audit

    with transaction(svc.engine, write=False) as s:
        assert len(audit.entries(s, action="auth.api_key.create")) == 60
        assert audit.verify(s) == []
