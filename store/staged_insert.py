"""Bulk inserts that skip rows whose key is already there, and bulk key lookups.

On PostgreSQL the rows are COPYed into a temporary staging table with the target's column
types, then moved with one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (and, for
lookups, one join): a run's hundreds of thousands of messages, links and keys cost a few
statements instead of one round of parameter conversion per row. Elsewhere (SQLite, and any
batch too small to be worth a staging table) the same statement runs with ``executemany``.
Both give the same rows and the same result.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

STAGE_FROM = 2_000  # rows; fewer go through executemany
_BATCH = 5_000


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _stage(session: Session, table: Table, columns: Sequence[str]) -> str:
    """An empty temporary table with ``columns`` of ``table`` (same types, no constraints),
    dropped when the transaction ends."""
    name = f"stage_{table.name}_{zlib.crc32(' '.join(columns).encode()):08x}"
    cols = ", ".join(columns)
    session.execute(text(
        f"CREATE TEMP TABLE IF NOT EXISTS {name} ON COMMIT DROP AS "
        f"SELECT {cols} FROM {table.name} WITH NO DATA"))
    session.execute(text(f"TRUNCATE {name}"))
    return name


def _copy(session: Session, stage: str, columns: Sequence[str], table: Table,
          rows: Iterable[Sequence[Any]]) -> None:
    """COPY ``rows`` into ``stage``, each value bound as an INSERT would bind it (the
    column type's own processing: aware datetimes to naive UTC, JSON serialized)."""
    dialect = session.get_bind().dialect
    procs = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    bound = [(i, p) for i, p in enumerate(procs) if p is not None]
    dbapi: Any = session.connection().connection.dbapi_connection
    with dbapi.cursor() as cur, cur.copy(
            f"COPY {stage} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            if bound:
                row = list(row)
                for i, proc in bound:
                    if row[i] is not None:
                        row[i] = proc(row[i])
            copy.write_row(row)


def insert_ignoring_duplicates(
    session: Session, table: Table, rows: Sequence[dict[str, Any]], *,
    key: str | Sequence[str], returning: Sequence[str] = (),
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts with the same keys) into ``table``, skipping any whose ``key``
    (a unique column, or the columns of a unique constraint) is already there; the
    ``returning`` columns of the rows inserted (empty when none are asked for)."""
    if not rows:
        return []
    keys = [key] if isinstance(key, str) else list(key)
    columns = list(rows[0])
    if _postgres(session) and len(rows) >= STAGE_FROM:
        stage = _stage(session, table, columns)
        _copy(session, stage, columns, table, ([r[c] for c in columns] for r in rows))
        cols = ", ".join(columns)
        back = f" RETURNING {', '.join(returning)}" if returning else ""
        result = session.execute(text(
            f"INSERT INTO {table.name} ({cols}) SELECT {cols} FROM {stage} "
            f"ON CONFLICT ({', '.join(keys)}) DO NOTHING{back}"))
        return [tuple(r) for r in result] if returning else []
    dialect: Any = postgresql if _postgres(session) else sqlite
    stmt = dialect.insert(table).on_conflict_do_nothing(index_elements=keys)
    if returning:
        stmt = stmt.returning(*(table.c[c] for c in returning))
    out: list[tuple[Any, ...]] = []
    for start in range(0, len(rows), _BATCH):
        result = session.execute(stmt, list(rows[start : start + _BATCH]))
        if returning:
            out.extend(tuple(r) for r in result)
    return out


def existing(session: Session, table: Table, column: str, values: Iterable[str]) -> set[str]:
    """Those of ``values`` that ``table.column`` holds."""
    wanted = sorted(set(values))
    if not wanted:
        return set()
    if _postgres(session) and len(wanted) >= STAGE_FROM:
        stage = _stage(session, table, [column])
        _copy(session, stage, [column], table, ((v,) for v in wanted))
        found = session.execute(text(
            f"SELECT s.{column} FROM {stage} s JOIN {table.name} t ON t.{column} = s.{column}"))
        return {str(v) for (v,) in found}
    found_: set[str] = set()
    col = table.c[column]
    for start in range(0, len(wanted), 1000):
        found_.update(session.execute(
            select(col).where(col.in_(wanted[start : start + 1000]))).scalars())
    return found_
