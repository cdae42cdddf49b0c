"""Playing an intruder who reaches the database with SQL: as an ordinary user (the guards of
migration 0004 refuse) or as the database owner, who can drop them first."""

from __future__ import annotations

import importlib
from typing import Any

from sqlalchemy import Engine, text

GUARDS = importlib.import_module("store.migrations.versions.0004_immutable_rules_keyed_audit")


def drop_guards(engine: Engine) -> None:
    """What a database owner can do: remove the immutability triggers."""
    with engine.begin() as conn:
        GUARDS.drop_guards(conn)


def raw_sql(engine: Engine, sql: str, **params: Any) -> None:
    """One statement in its own transaction, outside the application."""
    with engine.begin() as conn:
        conn.execute(text(sql), params)
