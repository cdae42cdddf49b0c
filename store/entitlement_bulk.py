"""Bulk reads and writes of entitlements for runs.

A run loads the current entitlements of its scope into a polars frame, computes the changes
(``matcher.run_diff``), and writes them here in one transaction: new rows in bulk (``COPY``
on PostgreSQL, one prepared ``executemany`` on SQLite), updates and revocations row by row
with an event each.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import bindparam, update
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
COPY_CHUNK = 100_000
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
    """Current entitlements of ``entity_kind`` for the (policy id, benefit period) pairs.
    Read with ``COPY ... TO STDOUT`` on PostgreSQL, a plain cursor on SQLite; the constant
    policy id and period are added in polars rather than fetched a million times."""
    fetched = [n for n in CURRENT_SCHEMA if n not in ("policy_id", "benefit_period")]
    raw_schema = {n: CURRENT_SCHEMA[n] for n in fetched} | {"unknown_fields": pl.String()}
    postgres = session.get_bind().dialect.name == "postgresql"
    names = ", ".join(f"CAST({n} AS TEXT)" if n == "unknown_fields" else n for n in fetched)
    mark = "%s" if postgres else "?"
    query = (
        f"SELECT {names} FROM {entitlements.name} WHERE entity_kind = {mark} "
        f"AND policy_id = {mark} AND benefit_period = {mark}"
    )
    dbapi: Any = session.connection().connection.dbapi_connection
    parts: list[pl.DataFrame] = []
    for policy_id, period in sorted(set(scope)):
        params = (entity_kind, policy_id, period)
        chunks: list[pl.DataFrame] = []
        if postgres:
            with dbapi.cursor() as cur:
                with cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                    data = b"".join(bytes(block) for block in copy)
            if data:
                chunks.append(
                    pl.read_csv(data, has_header=False, new_columns=fetched, schema=raw_schema)
                )
        else:
            cur = dbapi.cursor()
            cur.execute(query, params)
            while rows := cur.fetchmany(200_000):
                chunks.append(pl.DataFrame(rows, schema=raw_schema, orient="row"))
            cur.close()
        parts.extend(
            c.with_columns(policy_id=pl.lit(policy_id), benefit_period=pl.lit(period))
            for c in chunks
        )
    if not parts:
        return pl.DataFrame(schema=CURRENT_SCHEMA)
    return (
        pl.concat(parts, how="vertical")
        .with_columns(pl.col("unknown_fields").str.json_decode(pl.List(pl.String())))
        .select(list(CURRENT_SCHEMA))
    )


def _json_list(column: str) -> pl.Expr:
    """A list column as JSON text (null stays null), vectorised."""
    encoded = pl.struct(pl.col(column).alias("v")).struct.json_encode()
    text = encoded.str.strip_prefix('{"v":').str.strip_suffix("}")
    return pl.when(pl.col(column).is_null()).then(None).otherwise(text).alias(column)


def _insert_frame(
    frame: pl.DataFrame, *, entity_kind: str, run_id: str, stamp: str
) -> pl.DataFrame:
    return frame.select(
        pl.lit(entity_kind).alias("entity_kind"),
        "entity_id",
        "policy_id",
        "benefit_period",
        *(c for c in VALUE_COLUMNS if c != "unknown_fields"),
        _json_list("unknown_fields"),
        pl.lit("new").alias("status"),
        pl.lit(run_id).alias("first_run_id"),
        pl.lit(run_id).alias("last_run_id"),
        pl.lit(stamp).alias("created_at"),
        pl.lit(stamp).alias("updated_at"),
    ).select(_INSERT_COLUMNS)


def insert_new(
    session: Session, frame: pl.DataFrame, *, entity_kind: str, run_id: str, now: dt.datetime
) -> int:
    """Insert new entitlements (status ``new``) in bulk, in the session's transaction:
    CSV through ``COPY`` on PostgreSQL, chunked ``executemany`` on SQLite."""
    if frame.height == 0:
        return 0
    # SQLAlchemy's storage format for naive-UTC datetimes on SQLite; PostgreSQL parses it too
    stamp = now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    rows = _insert_frame(frame, entity_kind=entity_kind, run_id=run_id, stamp=stamp)
    dbapi: Any = session.connection().connection.dbapi_connection
    names = ", ".join(_INSERT_COLUMNS)
    if session.get_bind().dialect.name == "postgresql":
        sql = f"COPY {entitlements.name} ({names}) FROM STDIN WITH (FORMAT csv)"
        with dbapi.cursor() as cur, cur.copy(sql) as copy:
            for chunk in rows.iter_slices(COPY_CHUNK):
                copy.write(chunk.write_csv(include_header=False, quote_style="non_numeric"))
    else:
        marks = ", ".join("?" for _ in _INSERT_COLUMNS)
        cur = dbapi.cursor()
        for chunk in rows.iter_slices(COPY_CHUNK):
            cur.executemany(
                f"INSERT INTO {entitlements.name} ({names}) VALUES ({marks})", chunk.rows()
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
