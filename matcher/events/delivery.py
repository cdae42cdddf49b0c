"""An entity's new outcomes -> entitlement changes (+ outbox messages) in one transaction.

The same path as a nightly run (:mod:`matcher.runs`): the outcomes are diffed against the
store with :func:`matcher.run_diff.compute_changes`, written with
:func:`store.entitlement_bulk.write_changes`, and an ``on_changes(session, changes, run_id)``
hook runs inside the same transaction (the application wires the notifier's outbox there, as
for runs); either everything commits or nothing does. Only the entity's own entitlements
are read: those of the policies the engine decides, for the benefit periods of ``as_of``.

Budgets: a real-time award draws on the same budget as the nightly batch, in the store and
in the same transaction (:mod:`store.budget_draws`): the budget's lock is taken, what the
other entities' entitlements already draw is read, and an eligible amount that does not fit
what is left - or that would pass someone already waiting (``over_budget``) - becomes
``over_budget`` itself, like the batch's waiting list. The batch takes the same locks while it
writes, so the two paths together never exceed a cap.

Cap groups (:mod:`rules.caps`): after the budgets, the entity's rows of a capped policy are
allocated by the batch's own :func:`matcher.allocation.apply_caps`, under the group's lock,
counting the entity's earlier awards (award ledger) and what the group's policies that the
event engine does not decide (left to the batch) already draw in the store
(:mod:`store.cap_draws`); the nightly run takes the same locks while it writes.

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

from matcher.allocation import apply_caps
from matcher.award_import import load_ledger
from matcher.outcomes import OUTCOME_SCHEMA
from matcher.run_diff import compute_changes, scope
from rules.model import Policy
from store import entitlement_bulk
from store.budget_draws import drawn, lock_budgets
from store.cap_draws import lock_caps
from store.db import transaction
from store.entitlement_bulk import CURRENT_SCHEMA, RunChanges
from store.entitlements import benefit_period
from store.money import yuan_to_fen
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
    held: bool = False,
    library: Mapping[str, Policy] | None = None,
) -> RunChanges:
    """Write the changes that take the store to ``outcomes`` (the entity's rows of every
    policy in ``policies``; a policy without a row is ineligible) and run ``on_changes``,
    all in one transaction. Returns the changes. ``held``: the entity is held on a data
    defect — its benefits are held, not revoked, exactly as in the nightly run.
    ``library``: every policy (default ``policies``), for the members of a cap group that
    this call does not decide."""
    rows = [dict(r) for r in outcomes]
    periods = {pid: (p.amount.period if p.amount else None) for pid, p in policies.items()}
    reason = f"{as_of.isoformat()} 实时事件 {run_id}：不再符合政策条件"
    now = now or utcnow()
    with transaction(db) as session:
        rows = draw_budgets(session, rows, entity_kind=entity_kind, entity_id=entity_id,
                            policies=policies, periods=periods, as_of=as_of)
        rows = draw_caps(session, rows, entity_kind=entity_kind, entity_id=entity_id,
                         policies=policies, library=library or policies, as_of=as_of)
        frame = pl.DataFrame(rows, schema=OUTCOME_SCHEMA)
        current = load_entity_current(session, entity_kind=entity_kind, entity_id=entity_id,
                                      pairs=scope(periods, as_of))
        changes = compute_changes(frame, current, as_of=as_of, reason=reason,
                                  held=pl.Series([entity_id]) if held else None)
        if changes.total:
            entitlement_bulk.write_changes(session, changes, entity_kind=entity_kind,
                                           run_id=run_id, now=now)
            if on_changes is not None:
                on_changes(session, changes, run_id)
    return changes


def draw_budgets(session: Session, rows: list[dict[str, Any]], *, entity_kind: str,
                 entity_id: str, policies: Mapping[str, Policy],
                 periods: Mapping[str, str | None], as_of: dt.date) -> list[dict[str, Any]]:
    """The entity's rows with each eligible amount of a budgeted policy checked against what
    is left of the budget in the store (locked until the caller's transaction ends)."""
    budgeted = [r for r in rows if r["outcome"] == "eligible" and r["amount_fen"] is not None
                and policies[r["policy_id"]].budget is not None]
    if not budgeted:
        return rows
    keys = {r["policy_id"]: benefit_period(periods[r["policy_id"]], as_of) for r in budgeted}
    lock_budgets(session, entity_kind, keys.items())
    for row in budgeted:
        budget = policies[row["policy_id"]].budget
        assert budget is not None
        used, waiting = drawn(session, entity_kind=entity_kind, policy_id=row["policy_id"],
                              benefit_period=keys[row["policy_id"]], except_entity=entity_id)
        if waiting or used + row["amount_fen"] > yuan_to_fen(budget.total):
            row["outcome"] = "over_budget"
    return rows


def draw_caps(session: Session, rows: list[dict[str, Any]], *, entity_kind: str,
              entity_id: str, policies: Mapping[str, Policy], library: Mapping[str, Policy],
              as_of: dt.date) -> list[dict[str, Any]]:
    """The entity's rows with its cap groups applied as the batch applies them
    (:func:`matcher.allocation.apply_caps`), counting in the store, under the groups' locks
    until the caller's transaction ends: the award ledger's earlier awards of the entity, and
    what the group's policies this call does not decide draw in their current period
    (``undecided`` of :func:`matcher.award_import.load_ledger`)."""
    groups = {policies[r["policy_id"]].cap.group for r in rows  # type: ignore[union-attr]
              if r["outcome"] == "eligible" and r["amount_fen"] is not None
              and policies[r["policy_id"]].cap is not None}
    if not groups:
        return rows
    lock_caps(session, entity_kind, groups)
    members = {pid: p for pid, p in {**library, **policies}.items()
               if p.entity == entity_kind and p.cap is not None and p.cap.group in groups}
    ledger = load_ledger(session, entity_kind=entity_kind, library=members.values(),
                         as_of=as_of, entity_id=entity_id,
                         undecided=[p for pid, p in members.items() if pid not in policies])
    frame = pl.DataFrame(rows, schema=OUTCOME_SCHEMA)
    return apply_caps(frame, members, as_of=as_of, ledger=ledger).to_dicts()
