"""An entity's new outcomes -> entitlement changes (+ outbox messages) in one transaction.

The same path as a nightly run (:mod:`matcher.runs`): the outcomes are diffed against the
store with :func:`matcher.run_diff.compute_changes`, written with
:func:`store.entitlement_bulk.write_changes`, and an ``on_changes(session, changes, run_id)``
hook runs inside the same transaction (the application wires the notifier's outbox there, as
for runs); either everything commits or nothing does. Only the entity's own entitlements
are read: those of the policies the engine decides, for the benefit periods of ``as_of``.

Each event gets a traceable id ``event-<as_of>-<entity kind>-<hash>`` recorded as the
entitlements' run id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import polars as pl
from sqlalchemy import Engine, select, tuple_
from sqlalchemy.orm import Session

from matcher.outcomes import OUTCOME_SCHEMA
from matcher.run_diff import compute_changes, scope
from rules.model import Policy
from store import entitlement_bulk
from store.db import transaction
from store.entitlement_bulk import CURRENT_SCHEMA, RunChanges
from store.schema import entitlements
from store.types import utcnow

ChangesHook = Callable[[Session, RunChanges, str], object]


def event_run_id(*, entity_kind: str, entity_id: str, as_of: dt.date, sequence: int,
                 payload: Mapping[str, Any]) -> str:
    """A deterministic id for one applied event (no personal data: a hash of the inputs).

    >>> event_run_id(entity_kind="person", entity_id="X", as_of=dt.date(2025, 10, 1),
    ...              sequence=1, payload={"alive": False})[:29]
    'event-2025-10-01-person-c2819'
    """
    text = json.dumps([entity_id, sequence, payload], sort_keys=True, default=str,
                      ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"event-{as_of.isoformat()}-{entity_kind}-{digest}"


def load_entity_current(session: Session, *, entity_kind: str, entity_id: str,
                        pairs: Iterable[tuple[str, str]]) -> pl.DataFrame:
    """The entity's entitlements for the (policy id, benefit period) pairs."""
    wanted = sorted(set(pairs))
    if not wanted:
        return pl.DataFrame(schema=CURRENT_SCHEMA)
    cols = [entitlements.c[name] for name in CURRENT_SCHEMA]
    stmt = select(*cols).where(
        entitlements.c.entity_kind == entity_kind,
        entitlements.c.entity_id == entity_id,
        tuple_(entitlements.c.policy_id, entitlements.c.benefit_period).in_(wanted),
    )
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    for row in rows:
        if isinstance(row["unknown_fields"], str):
            row["unknown_fields"] = json.loads(row["unknown_fields"])
        row["unknown_fields"] = list(row["unknown_fields"] or [])
    return pl.DataFrame(rows, schema=CURRENT_SCHEMA)


def record_outcomes(
    db: Engine,
    *,
    entity_kind: str,
    entity_id: str,
    outcomes: Iterable[Mapping[str, Any]],
    policies: Mapping[str, Policy],
    as_of: dt.date,
    run_id: str,
    on_changes: ChangesHook | None = None,
    now: dt.datetime | None = None,
) -> RunChanges:
    """Write the changes that take the store to ``outcomes`` (the entity's rows of every
    policy in ``policies``; a policy without a row is ineligible) and run ``on_changes``,
    all in one transaction. Returns the changes."""
    frame = pl.DataFrame(list(outcomes), schema=OUTCOME_SCHEMA)
    periods = {pid: (p.amount.period if p.amount else None) for pid, p in policies.items()}
    reason = f"{as_of.isoformat()} 实时事件 {run_id}：不再符合政策条件"
    now = now or utcnow()
    with transaction(db) as session:
        current = load_entity_current(session, entity_kind=entity_kind, entity_id=entity_id,
                                      pairs=scope(periods, as_of))
        changes = compute_changes(frame, current, as_of=as_of, reason=reason)
        if changes.total:
            entitlement_bulk.write_changes(session, changes, entity_kind=entity_kind,
                                           run_id=run_id, now=now)
            if on_changes is not None:
                on_changes(session, changes, run_id)
    return changes
