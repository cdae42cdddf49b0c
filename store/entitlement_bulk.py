"""Bulk reads and writes of entitlements for runs.

A run loads the current entitlements of its scope into a polars frame, computes the changes
(``matcher.run_diff``), and writes them here in one transaction: new rows in bulk (``COPY``
on PostgreSQL, one prepared ``executemany`` on SQLite), updates and revocations row by row
with an event each.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from store.schema import entitlement_events, entitlements, standing_confirmations

# Columns of a run's view of an entitlement (the outcome columns of a match and the kind of
# amount its policy grants, plus the key).
VALUE_COLUMNS: tuple[str, ...] = (
    "policy_version",
    "outcome",
    "amount_fen",
    "amount_period",
    "amount_kind",
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
    "amount_fen": pl.Int64(),
    "amount_period": pl.String(),
    "amount_kind": pl.String(),
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
    held: int = 0  # changes withheld because the entity is held on a data defect

    @property
    def total(self) -> int:
        return self.new.height + self.updated.height + self.revoked.height


def load_current(
    session: Session, *, entity_kind: str, scope: Sequence[tuple[str, str]]
) -> pl.DataFrame:
    """Current entitlements of ``entity_kind`` for the (policy id, benefit period) pairs
    (all of :func:`iter_current` in one frame)."""
    parts = list(iter_current(session, entity_kind=entity_kind, scope=scope))
    if not parts:
        return pl.DataFrame(schema=CURRENT_SCHEMA)
    return pl.concat(parts, how="vertical")


def iter_current(
    session: Session,
    *,
    entity_kind: str,
    scope: Sequence[tuple[str, str]],
    chunk_rows: int = 200_000,
) -> Iterator[pl.DataFrame]:
    """Current entitlements of ``entity_kind`` for the (policy id, benefit period) pairs,
    ``chunk_rows`` at a time (:data:`CURRENT_SCHEMA`). Read with ``COPY ... TO STDOUT`` on
    PostgreSQL, a plain cursor on SQLite; the constant policy id and period are added in
    polars rather than fetched a million times."""
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

    def finish(raw: pl.DataFrame, policy_id: str, period: str) -> pl.DataFrame:
        return raw.with_columns(
            pl.col("unknown_fields").str.json_decode(pl.List(pl.String())),
            policy_id=pl.lit(policy_id), benefit_period=pl.lit(period),
        ).select(list(CURRENT_SCHEMA))

    for policy_id, period in sorted(set(scope)):
        params = (entity_kind, policy_id, period)
        if postgres:
            with dbapi.cursor() as cur:
                with cur.copy(f"COPY ({query}) TO STDOUT WITH (FORMAT csv)", params) as copy:
                    buffer: list[bytes] = []
                    size = 0
                    for block in copy:
                        buffer.append(bytes(block))
                        size += len(block)
                        if size >= chunk_rows * 64:
                            data = b"".join(buffer)
                            cut = data.rfind(b"\n") + 1
                            yield finish(pl.read_csv(data[:cut], has_header=False,
                                                     new_columns=fetched, schema=raw_schema),
                                         policy_id, period)
                            buffer, size = [data[cut:]], len(data) - cut
                    data = b"".join(buffer)
            if data:
                yield finish(pl.read_csv(data, has_header=False, new_columns=fetched,
                                         schema=raw_schema), policy_id, period)
        else:
            cur = dbapi.cursor()
            cur.execute(query, params)
            while rows := cur.fetchmany(chunk_rows):
                yield finish(pl.DataFrame(rows, schema=raw_schema, orient="row"),
                             policy_id, period)
            cur.close()


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
    stamp = _stamp(now)
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


_EVENT_COLUMNS: tuple[str, ...] = (
    "entitlement_id",
    "run_id",
    "at",
    "actor",
    "kind",
    "from_status",
    "to_status",
    "detail",
    "reason",
)
_PG_TYPES: dict[str, str] = {
    "policy_version": "text",
    "outcome": "text",
    "amount_fen": "bigint",
    "amount_period": "text",
    "amount_kind": "text",
    "delivery": "text",
    "unknown_fields": "text",
    "reason": "text",
}


def _stamp(now: dt.datetime) -> str:
    """SQLAlchemy's storage format of a naive-UTC datetime; PostgreSQL parses it too."""
    return now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def value_differs(column: str) -> pl.Expr:
    """Whether ``column`` differs from ``old_<column>`` (nulls equal each other)."""
    new, old = pl.col(column), pl.col(f"old_{column}")
    if column == "unknown_fields":
        new, old = new.list.join("\x1f"), old.list.join("\x1f")
    return new.ne_missing(old)


def _changed_detail() -> pl.Expr:
    """``{"amount_fen": {"from": 150000, "to": 300000}, ...}`` for the changed columns, as
    JSON."""
    parts = [
        pl.when(value_differs(c)).then(
            pl.concat_str(
                pl.lit(f'"{c}":'),
                pl.struct(
                    pl.col(f"old_{c}").alias("from"), pl.col(c).alias("to")
                ).struct.json_encode(),
            )
        )
        for c in VALUE_COLUMNS
    ]
    joined = pl.concat_list(parts).list.drop_nulls().list.join(",")
    return pl.concat_str(pl.lit("{"), joined, pl.lit("}")).alias("detail")


def _copy_csv(dbapi: Any, sql: str, frame: pl.DataFrame) -> None:
    with dbapi.cursor() as cur, cur.copy(sql) as copy:
        for chunk in frame.iter_slices(COPY_CHUNK):
            copy.write(chunk.write_csv(include_header=False, quote_style="non_numeric"))


def _insert_events(session: Session, events: pl.DataFrame) -> None:
    dbapi: Any = session.connection().connection.dbapi_connection
    names = ", ".join(_EVENT_COLUMNS)
    events = events.select(_EVENT_COLUMNS)
    if session.get_bind().dialect.name == "postgresql":
        _copy_csv(
            dbapi, f"COPY {entitlement_events.name} ({names}) FROM STDIN WITH (FORMAT csv)", events
        )
        return
    marks = ", ".join("?" for _ in _EVENT_COLUMNS)
    cur = dbapi.cursor()
    for chunk in events.iter_slices(COPY_CHUNK):
        cur.executemany(
            f"INSERT INTO {entitlement_events.name} ({names}) VALUES ({marks})", chunk.rows()
        )
    cur.close()


def _update_by_id(
    session: Session,
    frame: pl.DataFrame,
    *,
    columns: Sequence[str],
    tail: str,
    tail_params: tuple[Any, ...],
) -> None:
    """``UPDATE entitlements SET <columns from frame>, <tail> WHERE id = frame.id`` for every
    row: a temporary table and one ``UPDATE ... FROM`` on PostgreSQL, ``executemany`` on
    SQLite. ``tail`` is SQL with ``{p}`` for its parameters."""
    dbapi: Any = session.connection().connection.dbapi_connection
    if session.get_bind().dialect.name == "postgresql":
        temp = f"run_update_{uuid.uuid4().hex[:8]}"
        cols = ", ".join(f"{c} {_PG_TYPES[c]}" for c in columns)
        sets = ", ".join(
            f"{c} = CAST(u.{c} AS json)" if c == "unknown_fields" else f"{c} = u.{c}"
            for c in columns
        )
        with dbapi.cursor() as cur:
            cur.execute(f"CREATE TEMPORARY TABLE {temp} (id bigint PRIMARY KEY, {cols})")
            _copy_csv(
                dbapi,
                f"COPY {temp} (id, {', '.join(columns)}) FROM STDIN WITH (FORMAT csv)",
                frame.select("id", *columns),
            )
            cur.execute(f"ANALYZE {temp}")  # else the planner guesses a tiny table
            cur.execute(
                f"UPDATE {entitlements.name} SET {sets}, {tail.format(p='%s')} "
                f"FROM {temp} AS u WHERE {entitlements.name}.id = u.id",
                tail_params,
            )
            cur.execute(f"DROP TABLE {temp}")
        return
    sets = ", ".join(f"{c} = ?" for c in columns)
    sql = f"UPDATE {entitlements.name} SET {sets}, {tail.format(p='?')} WHERE id = ?"
    rows = frame.select(
        *columns, *(pl.lit(v).alias(f"_t{i}") for i, v in enumerate(tail_params)), "id"
    )
    cur = dbapi.cursor()
    for chunk in rows.iter_slices(COPY_CHUNK):
        cur.executemany(sql, chunk.rows())
    cur.close()


def apply_updates(session: Session, frame: pl.DataFrame, *, run_id: str, now: dt.datetime) -> int:
    """Write changed figures (and reinstate revoked rows as ``new``), one event each with
    the old and new values of what changed."""
    if frame.height == 0:
        return 0
    stamp = _stamp(now)
    reinstated = pl.col("status") == "revoked"
    rows = frame.with_columns(_json_list("unknown_fields"), _changed_detail())
    _update_by_id(
        session,
        rows,
        columns=VALUE_COLUMNS,
        tail="status = CASE WHEN status = 'revoked' THEN 'new' ELSE status END, "
        "reason = CASE WHEN status = 'revoked' THEN NULL ELSE reason END, "
        "last_run_id = {p}, updated_at = {p}",
        tail_params=(run_id, stamp),
    )
    _insert_events(
        session,
        rows.select(
            pl.col("id").alias("entitlement_id"),
            pl.lit(run_id).alias("run_id"),
            pl.lit(stamp).alias("at"),
            pl.lit("run").alias("actor"),
            pl.when(reinstated)
            .then(pl.lit("reinstated"))
            .otherwise(pl.lit("updated"))
            .alias("kind"),
            pl.col("status").alias("from_status"),
            pl.when(reinstated).then(pl.lit("new")).otherwise(pl.col("status")).alias("to_status"),
            "detail",
            pl.lit(None, dtype=pl.String).alias("reason"),
        ),
    )
    return frame.height


def revoke_many(session: Session, frame: pl.DataFrame, *, run_id: str, now: dt.datetime) -> int:
    """Revoke entitlements whose eligibility was lost; ``frame`` has id, status, reason."""
    if frame.height == 0:
        return 0
    stamp = _stamp(now)
    _update_by_id(
        session,
        frame,
        columns=("reason",),
        tail="status = 'revoked', last_run_id = {p}, updated_at = {p}",
        tail_params=(run_id, stamp),
    )
    _insert_events(
        session,
        frame.select(
            pl.col("id").alias("entitlement_id"),
            pl.lit(run_id).alias("run_id"),
            pl.lit(stamp).alias("at"),
            pl.lit("run").alias("actor"),
            pl.lit("status").alias("kind"),
            pl.col("status").alias("from_status"),
            pl.lit("revoked").alias("to_status"),
            pl.lit(None, dtype=pl.String).alias("detail"),
            "reason",
        ),
    )
    return frame.height


def restate_revocations(session: Session, reasons: Mapping[int, str], *, run_id: str) -> None:
    """The revocations this run wrote (:func:`revoke_many`) with a more precise reason, once
    their explanation named the conditions that failed: entitlement id -> reason, set on the
    entitlement and on its 处理记录 line of this run."""
    if not reasons:
        return
    rows = [{"entitlement": i, "said": r, "run": run_id} for i, r in reasons.items()]
    session.execute(
        update(entitlements)
        .where(entitlements.c.id == bindparam("entitlement"),
               entitlements.c.status == "revoked", entitlements.c.last_run_id == bindparam("run"))
        .values(reason=bindparam("said")), rows)
    session.execute(
        update(entitlement_events)
        .where(entitlement_events.c.entitlement_id == bindparam("entitlement"),
               entitlement_events.c.run_id == bindparam("run"),
               entitlement_events.c.to_status == "revoked")
        .values(reason=bindparam("said")), rows)


def carry_over(session: Session, *, entity_kind: str, run_id: str, now: dt.datetime,
               after_id: int | None = None) -> int:
    """New entitlements of this run whose policy the recipient confirmed for an earlier
    period (``standing_confirmations``: a one-click confirmation, or an approved application)
    start ``confirmed``, with an event saying so: a recurring benefit is confirmed or applied
    for once, not every period. Only eligible benefits are carried over. ``after_id``: only
    rows with a greater id (those inserted since :func:`max_id` was read: a partitioned run
    carries each partition's new rows over as it writes them)."""
    stamp = _stamp(now)
    postgres = session.get_bind().dialect.name == "postgresql"
    mark = "%s" if postgres else "?"
    # SQLite (no statistics) chose the key index on entity_kind over the id range: a scan
    # of every entitlement of the kind per call (an event batch, a partition); the unary
    # plus keeps that index out, so only the rows after ``after_id`` are read
    kind = "entity_kind" if postgres or after_id is None else "+entity_kind"
    sql = (
        f"UPDATE {entitlements.name} SET status = 'confirmed', updated_at = {mark} "
        f"WHERE {kind} = {mark} AND first_run_id = {mark} AND status = 'new' "
        "AND outcome = 'eligible' AND EXISTS (SELECT 1 FROM "
        f"{standing_confirmations.name} s WHERE s.entity_kind = {entitlements.name}.entity_kind "
        f"AND s.entity_id = {entitlements.name}.entity_id "
        f"AND s.policy_id = {entitlements.name}.policy_id)"
        + ("" if after_id is None else f" AND id > {int(after_id)}")
        + " RETURNING id"
    )
    dbapi: Any = session.connection().connection.dbapi_connection
    cur = dbapi.cursor()
    cur.execute(sql, (stamp, entity_kind, run_id))
    ids = [int(r[0]) for r in cur.fetchall()]
    cur.close()
    if ids:
        _insert_events(
            session,
            pl.DataFrame({"entitlement_id": sorted(ids)}, schema={"entitlement_id": pl.Int64})
            .with_columns(
                pl.lit(run_id).alias("run_id"),
                pl.lit(stamp).alias("at"),
                pl.lit("carry-over").alias("actor"),
                pl.lit("status").alias("kind"),
                pl.lit("new").alias("from_status"),
                pl.lit("confirmed").alias("to_status"),
                pl.lit(None, dtype=pl.String).alias("detail"),
                pl.lit("沿用您此前对本政策的确认(收款账户不变)").alias("reason"),
            ),
        )
    return len(ids)


def max_id(session: Session) -> int:
    """The greatest entitlement id so far (0 when none): rows inserted after it is read have
    greater ids (ids only grow, on both backends)."""
    from sqlalchemy import func, select

    return int(session.execute(select(func.coalesce(func.max(entitlements.c.id), 0)))
               .scalar_one())


def write_changes(
    session: Session,
    changes: RunChanges,
    *,
    entity_kind: str,
    run_id: str,
    now: dt.datetime,
    carry: bool = True,
) -> dict[str, int]:
    """All of a run's changes, in the caller's transaction, with the carry-over of standing
    confirmations (:func:`carry_over`) of the rows inserted here (``carry=False``: none)."""
    floor = max_id(session) if carry and changes.new.height else None
    new = insert_new(session, changes.new, entity_kind=entity_kind, run_id=run_id, now=now)
    return {
        "new": new,
        "updated": apply_updates(session, changes.updated, run_id=run_id, now=now),
        "revoked": revoke_many(session, changes.revoked, run_id=run_id, now=now),
        "carried_over": carry_over(session, entity_kind=entity_kind, run_id=run_id, now=now,
                                   after_id=floor)
        if new and carry
        else 0,
    }
