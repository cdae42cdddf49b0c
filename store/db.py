"""Engines, migrations and sessions.

``make_engine`` builds an engine for a URL (SQLite file by default, PostgreSQL in production);
``upgrade`` runs the Alembic migrations shipped inside this package, so an installed package
can migrate its database without an ``alembic.ini``.

Transactions are writing (the default) or read-only (``transaction(engine, write=False)``).
On SQLite (WAL mode) a writing transaction starts with ``BEGIN IMMEDIATE`` (writers queue on
the busy timeout instead of failing half-way with "database is locked"), a read-only one with
a plain ``BEGIN`` under ``PRAGMA query_only``: it takes no write lock, never waits for a
writer and cannot write by mistake. On PostgreSQL a read-only transaction is
``READ ONLY``.

JSON columns are written compactly: UTF-8 text as it is (not ``\\uXXXX`` escapes, which take
six bytes for a Chinese character's three) and no spaces after separators.

An engine may carry the audit log's seal (its key and head sink, kept outside the
database): ``make_engine(url, audit_seal=...)``; :mod:`store.audit` reads it from there.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from store.audit import AuditSeal

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 60_000
READ_ONLY_OPTION = "mianshen_read_only"


def compact_json(value: Any) -> str:
    """How JSON columns are written (the engine's ``json_serializer``)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def is_postgres(bind: Engine | Connection | Session) -> bool:
    return (
        bind.get_bind().dialect.name == "postgresql"
        if isinstance(bind, Session)
        else (bind.dialect.name == "postgresql")
    )


def make_engine(url: str, *, audit_seal: AuditSeal | None = None, **kwargs: Any) -> Engine:
    """An engine for ``url``. SQLite files get their parent directory created, WAL mode,
    foreign keys and a busy timeout. ``audit_seal`` travels with the engine to every
    session (see :mod:`store.audit`).

    >>> make_engine("sqlite://").dialect.name
    'sqlite'
    """
    # Up to 40 connections by default (the web service sizes its pool to its admission
    # gate, api.gates).
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 30)
    kwargs.setdefault("json_serializer", compact_json)
    if audit_seal is not None:
        from store.audit import SEAL_OPTION

        kwargs["execution_options"] = {
            **kwargs.get("execution_options", {}), SEAL_OPTION: audit_seal,
        }
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "begin")
        def _on_pg_begin(conn: Connection) -> None:
            if conn.get_execution_options().get(READ_ONLY_OPTION):
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")

        return engine
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    else:  # an in-memory database lives in one connection (SingletonThreadPool)
        kwargs.pop("pool_size", None)
        kwargs.pop("max_overflow", None)
    engine = create_engine(url, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA cache_size = -65536")  # 64 MiB: bulk index inserts
        cursor.execute("PRAGMA temp_store = MEMORY")
        if database and database != ":memory:":
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY_OPTION))
        info = conn.connection.info  # per DBAPI connection: emit the pragma only on a change
        if info.get("query_only") is not read_only:
            conn.exec_driver_sql(f"PRAGMA query_only = {int(read_only)}")
            info["query_only"] = read_only
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def upgrade(target: Engine | str, *, revision: str = "head") -> None:
    """Bring the database at ``target`` to ``revision`` with the packaged migrations.
    Safe to call from several processes at once on PostgreSQL (an advisory lock serialises
    them); idempotent."""
    from alembic import command
    from alembic.config import Config

    engine = make_engine(target) if isinstance(target, str) else target
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(4242001)"))
        config.attributes["connection"] = conn
        command.upgrade(config, revision)
    if isinstance(target, str):
        engine.dispose()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with reading(engine).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to ``engine``; objects are not expired on commit (records are frozen
    dataclasses anyway)."""
    return sessionmaker(bind=engine, expire_on_commit=False, future=True)


def reading(engine: Engine) -> Engine:
    """``engine`` for read-only transactions (same pool, same seal; made once per engine and
    kept on it)."""
    if engine.get_execution_options().get(READ_ONLY_OPTION):
        return engine
    found: Engine | None = getattr(engine, "_mianshen_reading", None)
    if found is None:
        found = engine.execution_options(**{READ_ONLY_OPTION: True})
        engine._mianshen_reading = found  # type: ignore[attr-defined]
    return found


@contextmanager
def transaction(engine: Engine, *, write: bool = True) -> Iterator[Session]:
    """One session, one transaction: committed on success, rolled back on error. With
    ``write=False`` the transaction is read-only (no write lock on SQLite; a write fails).

    >>> eng = make_engine("sqlite://")
    >>> with transaction(eng, write=False) as s:
    ...     s.execute(text("select 1")).scalar()
    1
    """
    with session_factory(engine if write else reading(engine))() as session, session.begin():
        yield session
