"""What has been drawn from a policy's budget, read and locked inside the caller's transaction,
so that real-time awards (the event engine) and the nightly batch together never exceed the
cap (DESIGN §3, budgets).

The budget of a (policy, benefit period) is drawn by its entitlements whose outcome is
``eligible`` and whose status still holds money (not revoked, declined or rejected). A writer
that decides an award against the budget first takes the budget's lock for the rest of its
transaction: on PostgreSQL a transaction-scoped advisory lock per (entity kind, policy,
period); on SQLite every writing transaction already holds the database's write lock
(``BEGIN IMMEDIATE``, :mod:`store.db`), so the read and the write cannot interleave with
another writer's.

>>> budget_lock_key("enterprise", "p", "2025") == budget_lock_key("enterprise", "p", "2025")
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from store.schema import entitlements

RELEASED = ("revoked", "declined", "rejected")  # statuses that hold no money


def budget_lock_key(entity_kind: str, policy_id: str, benefit_period: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory lock of one budget."""
    digest = hashlib.sha256(f"budget|{entity_kind}|{policy_id}|{benefit_period}".encode())
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


def lock_budgets(session: Session, entity_kind: str,
                 keys: Iterable[tuple[str, str]]) -> None:
    """Hold the locks of these (policy id, benefit period) budgets until the transaction ends
    (taken in a fixed order, so two writers cannot deadlock on them)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: the writing transaction holds the database's write lock
    for policy_id, period in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": budget_lock_key(entity_kind, policy_id, period)})


def drawn(session: Session, *, entity_kind: str, policy_id: str, benefit_period: str,
          except_entity: str | None = None) -> tuple[int, bool]:
    """(fen drawn from the budget, whether anyone waits for it: an ``over_budget``
    entitlement), not counting ``except_entity``'s own entitlement."""
    t = entitlements
    where = [t.c.entity_kind == entity_kind, t.c.policy_id == policy_id,
             t.c.benefit_period == benefit_period, t.c.status.not_in(RELEASED)]
    if except_entity is not None:
        where.append(t.c.entity_id != except_entity)
    total = session.execute(
        select(func.coalesce(func.sum(t.c.amount_fen), 0))
        .where(*where, t.c.outcome == "eligible")).scalar_one()
    waiting = session.execute(
        select(t.c.id).where(*where, t.c.outcome == "over_budget").limit(1)).first()
    return int(total), waiting is not None
