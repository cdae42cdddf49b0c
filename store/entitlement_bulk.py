"""Bulk reads and writes of entitlements for runs.

A run loads the current entitlements of its scope into a polars frame, computes the changes
(``matcher.run_diff``), and writes them here in one transaction: new rows in bulk (``COPY``
on PostgreSQL, one prepared ``executemany`` on SQLite), updates and revocations row by row
with an event each.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from store.schema import entitlement_events, entitlements

# Columns of a run's view of an entitlement (the outcome columns of a match, plus the key).
VALUE_COLUMNS: tuple[str, ...] = (
    "policy_version",
    "outcome",
    "amount",
    "amount_period",
    "delivery",
    "unknown_fields",
)
CURRENT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "entity_id": pl.String(),
    "policy_id": pl.String(),
    "benefit_period": pl.String(),
    "policy_version": pl.String(),
    "outcome": pl.String(),
    "amount": pl.Float64(),
    "amount_period": pl.String(),
    "delivery": pl.String(),
    "unknown_fields": pl.List(pl.String()),
    "status": pl.String(),
}
_INSERT_COLUMNS: tuple[str, ...] = (
    "entity_kind",
    "entity_id",
    "policy_id",
    "benefit_period",
    *VALUE_COLUMNS,
    "status",
    "first_run_id",
    "last_run_id",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True, kw_only=True)
class RunChanges:
    """What a run changes. ``new``: key + value columns. ``updated``: ``id``, ``status`` (the
    current one; ``revoked`` rows are reinstated as ``new``), value columns and ``old_*`` value
    columns. ``revoked``: ``id``, ``status``, ``reason``."""

    new: pl.DataFrame
    updated: pl.DataFrame
    revoked: pl.DataFrame

    @property
    def total(self) -> int:
        return self.new.height + self.updated.height + self.revoked.height


def load_current(
    session: Session, *, entity_kind: str, scope: Sequence[tuple[str, str]]
) -> pl.DataFrame:
    """Current entitlements of ``entity_kind`` for the (policy id, benefit period) pairs."""
    columns = [entitlements.c[name] for name in CURRENT_SCHEMA]
    parts: list[pl.DataFrame] = []
    for policy_id, period in sorted(set(scope)):
        result = session.execute(
            select(*columns).where(
                entitlements.c.entity_kind == entity_kind,
                entitlements.c.policy_id == policy_id,
                entitlements.c.benefit_period == period,
            )
        )
        rows = result.all()
        if rows:
            data = {name: [r[i] for r in rows] for i, name in enumerate(CURRENT_SCHEMA)}
            parts.append(pl.DataFrame(data, schema=CURRENT_SCHEMA))
    if not parts:
        return pl.DataFrame(schema=CURRENT_SCHEMA)
    return pl.concat(parts, how="vertical")


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(list(value), ensure_ascii=False)


def _insert_rows(
    frame: pl.DataFrame, *, entity_kind: str, run_id: str, stamp: Any
) -> Iterator[tuple[Any, ...]]:
    cols = frame.select("entity_id", "policy_id", "benefit_period", *VALUE_COLUMNS)
    for row in cols.iter_rows():
        yield (entity_kind, *row[:8], _json(row[8]), "new", run_id, run_id, stamp, stamp)


def insert_new(
    session: Session, frame: pl.DataFrame, *, entity_kind: str, run_id: str, now: dt.datetime
) -> int:
    """Insert new entitlements (status ``new``) in bulk, in the session's transaction."""
    if frame.height == 0:
        return 0
    naive = now.astimezone(dt.UTC).replace(tzinfo=None)
    dbapi: Any = session.connection().connection.dbapi_connection
    names = ", ".join(_INSERT_COLUMNS)
    if session.get_bind().dialect.name == "postgresql":
        with (
            dbapi.cursor() as pg_cursor,
            pg_cursor.copy(f"COPY {entitlements.name} ({names}) FROM STDIN") as copy,
        ):
            for row in _insert_rows(frame, entity_kind=entity_kind, run_id=run_id, stamp=naive):
                copy.write_row(row)
    else:
        stamp = naive.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite format
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
        cur = dbapi.cursor()
        cur.executemany(
            f"INSERT INTO {entitlements.name} ({names}) VALUES ({marks})",
            _insert_rows(frame, entity_kind=entity_kind, run_id=run_id, stamp=stamp),
        )
        cur.close()
    return frame.height


def apply_updates(session: Session, frame: pl.DataFrame, *, run_id: str, now: dt.datetime) -> int:
    """Write changed figures (and reinstate revoked rows as ``new``), one event each."""
    if frame.height == 0:
        return 0
    params: list[dict[str, Any]] = []
    history: list[dict[str, Any]] = []
    for r in frame.iter_rows(named=True):
        reinstated = r["status"] == "revoked"
        params.append(
            {
                "b_id": r["id"],
                **{f"b_{c}": r[c] for c in VALUE_COLUMNS},
                "b_status": "new" if reinstated else r["status"],
                "b_reason": None if reinstated else r.get("reason"),
            }
        )
        changed = {
            c: {"from": r[f"old_{c}"], "to": r[c]} for c in VALUE_COLUMNS if r[f"old_{c}"] != r[c]
        }
        history.append(
            {
                "entitlement_id": r["id"],
                "run_id": run_id,
                "at": now,
                "actor": "run",
                "kind": "reinstated" if reinstated else "updated",
                "from_status": r["status"],
                "to_status": "new" if reinstated else r["status"],
                "detail": changed,
                "reason": None,
            }
        )
    stmt = (
        update(entitlements)
        .where(entitlements.c.id == bindparam("b_id"))
        .values(
            **{c: bindparam(f"b_{c}") for c in VALUE_COLUMNS},
            status=bindparam("b_status"),
            reason=bindparam("b_reason"),
            last_run_id=run_id,
            updated_at=now,
        )
    )
    session.execute(stmt.execution_options(synchronize_session=False), params)
    session.execute(entitlement_events.insert(), history)
    return frame.height


def revoke_many(session: Session, frame: pl.DataFrame, *, run_id: str, now: dt.datetime) -> int:
    """Revoke entitlements whose eligibility was lost; ``frame`` has id, status, reason."""
    if frame.height == 0:
        return 0
    rows = list(frame.select("id", "status", "reason").iter_rows(named=True))
    stmt = (
        update(entitlements)
        .where(entitlements.c.id == bindparam("b_id"))
        .values(status="revoked", reason=bindparam("b_reason"), last_run_id=run_id, updated_at=now)
    )
    session.execute(
        stmt.execution_options(synchronize_session=False),
        [{"b_id": r["id"], "b_reason": r["reason"]} for r in rows],
    )
    session.execute(
        entitlement_events.insert(),
        [
            {
                "entitlement_id": r["id"],
                "run_id": run_id,
                "at": now,
                "actor": "run",
                "kind": "status",
                "from_status": r["status"],
                "to_status": "revoked",
                "detail": None,
                "reason": r["reason"],
            }
            for r in rows
        ],
    )
    return len(rows)


def write_changes(
    session: Session, changes: RunChanges, *, entity_kind: str, run_id: str, now: dt.datetime
) -> dict[str, int]:
    """All of a run's changes, in the caller's transaction."""
    return {
        "new": insert_new(session, changes.new, entity_kind=entity_kind, run_id=run_id, now=now),
        "updated": apply_updates(session, changes.updated, run_id=run_id, now=now),
        "revoked": revoke_many(session, changes.revoked, run_id=run_id, now=now),
    }
