"""Database fixtures shared by every test package.

``db_url`` / ``db_engine`` are parametrized over the two backends: a fresh SQLite file and a
fresh PostgreSQL schema (dropped afterwards), each migrated to head. PostgreSQL comes from
``MIANSHEN_TEST_POSTGRES_URL``; without it the PostgreSQL variants skip with a reason, and
with ``MIANSHEN_REQUIRE_POSTGRES=1`` an unset URL or an unreachable server fails them.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from store.audit import AuditSeal
from store.audit_heads import HeadFile
from store.db import make_engine, upgrade

POSTGRES_URL_ENV = "MIANSHEN_TEST_POSTGRES_URL"
REQUIRE_POSTGRES_ENV = "MIANSHEN_REQUIRE_POSTGRES"
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgres))


def _postgres_base_url() -> str:
    url = os.environ.get(POSTGRES_URL_ENV, "").strip()
    required = os.environ.get(REQUIRE_POSTGRES_ENV, "").strip() not in ("", "0")
    if not url:
        if required:
            pytest.fail(f"{REQUIRE_POSTGRES_ENV} is set but {POSTGRES_URL_ENV} is not")
        pytest.skip(f"PostgreSQL variant: set {POSTGRES_URL_ENV} to run it")
    problem = _probe(url)
    if problem is not None:
        if required:
            pytest.fail(f"PostgreSQL at {POSTGRES_URL_ENV} is unreachable: {problem}")
        pytest.skip(f"PostgreSQL at {POSTGRES_URL_ENV} is unreachable: {problem}")
    return url


@functools.cache
def _probe(url: str) -> str | None:
    """None when the server answers, else the error (asked once per test session)."""
    try:
        probe = make_engine(url, connect_args={"connect_timeout": 5})
        with probe.connect() as conn:
            conn.execute(text("select 1"))
        probe.dispose()
    except Exception as exc:  # any driver error means "not reachable"
        return str(exc)
    return None


def _with_search_path(url: str, schema: str) -> str:
    parsed = make_url(url).update_query_dict({"options": f"-csearch_path={schema}"})
    return parsed.render_as_string(hide_password=False)


def fresh_database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty (unmigrated) database of ``backend``; cleaned up after."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    base = _postgres_base_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = make_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(base, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty_db_url(db_backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database of each backend, not migrated."""
    yield from fresh_database_url(db_backend, tmp_path)


@pytest.fixture
def db_url(empty_db_url: str) -> str:
    """A database of each backend, migrated to head."""
    upgrade(empty_db_url)
    return empty_db_url


def seal_in(folder: Path) -> AuditSeal:
    """An audit seal kept in ``folder``: a random key (never a fixed one) and a head file.
    Engines of one test that share a folder share the seal."""
    import secrets

    folder.mkdir(parents=True, exist_ok=True)
    key_path = folder / "audit.key"
    if not key_path.exists():
        key_path.write_text(secrets.token_urlsafe(32), encoding="ascii")
    return AuditSeal(key=key_path.read_text(encoding="ascii").strip().encode("ascii"),
                     heads=HeadFile(folder / "audit-head.log"))


def sealed_engine(url: str, folder: Path) -> Engine:
    """An engine for ``url`` carrying the seal kept in ``folder``."""
    return make_engine(url, audit_seal=seal_in(folder))


@pytest.fixture
def db_engine(db_url: str, tmp_path: Path) -> Iterator[Engine]:
    engine = sealed_engine(db_url, tmp_path / "seal")
    yield engine
    engine.dispose()


def publish_bundled_library(engine: Engine) -> int:
    """The bundled library published the only way there is: the demo officer imports it
    (versions under review), the demo reviewer approves each one. ``engine`` carries a seal."""
    from api.services.demo_data import STAFF, create_accounts, publish_library

    upgrade(engine)
    create_accounts(engine, list(STAFF))
    return publish_library(engine, say=lambda _message: None)
