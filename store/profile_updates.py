"""Profile updates the event worker applied since a snapshot: recorded in the transaction of
the batch whose changes they caused, read back by the pages, which explain a benefit changed
between nights with the data that changed it (the worker decided with it).

Values are stored as JSON (a date as its ISO text; null is UNKNOWN) and typed again by the
catalog when read (:func:`api.services.population.apply_updates`). An event applied again (a
worker restarted after its commit) is recorded once: (entity kind, snapshot, line) is unique.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.schema import profile_updates
from store.staged_insert import insert_ignoring_duplicates
from store.types import utcnow


def json_value(value: Any) -> Any:
    """A typed profile value as JSON: a date as ISO text, anything else as it is."""
    return value.isoformat() if isinstance(value, dt.date) else value


def record(session: Session, *, entity_kind: str, snapshot_hash: str, run_id: str,
           updates: Sequence[tuple[int, str, Mapping[str, Any]]],
           now: dt.datetime | None = None) -> None:
    """Record (line, entity id, typed base values) of applied updates, in the caller's
    transaction; one already recorded is skipped."""
    if not updates:
        return
    now = now or utcnow()
    rows = [{"entity_kind": entity_kind, "entity_id": entity_id, "snapshot_hash": snapshot_hash,
             "line": line, "run_id": run_id, "created_at": now,
             "fields": {k: json_value(v) for k, v in values.items()}}
            for line, entity_id, values in updates]
    insert_ignoring_duplicates(session, profile_updates, rows,
                               key=("entity_kind", "snapshot_hash", "line"))


def since_snapshot(session: Session, *, entity_kind: str, snapshot_hash: str
                   ) -> dict[str, dict[str, Any]]:
    """Each entity's updates since the snapshot, merged in stream order: entity id -> field
    -> its latest JSON value."""
    c = profile_updates.c
    out: dict[str, dict[str, Any]] = {}
    for entity_id, fields in session.execute(
            select(c.entity_id, c.fields)
            .where(c.entity_kind == entity_kind, c.snapshot_hash == snapshot_hash)
            .order_by(c.line)):
        out.setdefault(str(entity_id), {}).update(fields or {})
    return out


def last_id(session: Session, *, entity_kind: str, snapshot_hash: str) -> int:
    """The newest update's id since the snapshot (0 when none): a reader's cache key."""
    c = profile_updates.c
    found = session.execute(select(func.max(c.id)).where(
        c.entity_kind == entity_kind, c.snapshot_hash == snapshot_hash)).scalar()
    return int(found or 0)
