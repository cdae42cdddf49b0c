"""What an entity already draws from a cap group in the store, read and locked inside the
caller's transaction, so that real-time awards (the event engine) and the nightly batch
together never pay an entity more than its cap group allows (:mod:`rules.caps`).

A cap group's limit is per entity; :func:`matcher.allocation.apply_caps` pays the group's
eligible rows in order up to the limit, less what was already received. A writer decides only
some of the group's policies (the event engine leaves aggregates to the batch; the batch
leaves event-triggered policies to the event engine), so what the entity's *other* policies
of the group draw in their current benefit period is read here: their entitlements whose
outcome is ``eligible`` and whose status still holds money. Earlier awards come from the award
ledger (:mod:`rules.ledger`). A writer first takes the group's lock for the rest of its
transaction: on PostgreSQL a transaction-scoped advisory lock per (entity kind, group); on
SQLite every writing transaction already holds the database's write lock.

>>> cap_lock_key("enterprise", "g") == cap_lock_key("enterprise", "g")
True
>>> from store.budget_draws import budget_lock_key
>>> cap_lock_key("enterprise", "g") == budget_lock_key("enterprise", "g", "")
False
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

import polars as pl
from sqlalchemy import select, text, tuple_
from sqlalchemy.orm import Session

from store.budget_draws import RELEASED
from store.schema import entitlements

#: what :func:`group_draws` returns and ``apply_caps(drawn=...)`` reads
DRAWS_SCHEMA: dict[str, pl.DataType] = {
    "entity_id": pl.String(), "group": pl.String(), "amount_fen": pl.Int64()}

def cap_lock_key(entity_kind: str, group: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory lock of one cap group."""
    digest = hashlib.sha256(f"cap|{entity_kind}|{group}".encode())
    return int.from_bytes(digest.digest()[:8], "big", signed=True)


def lock_caps(session: Session, entity_kind: str, groups: Iterable[str]) -> None:
    """Hold the locks of these cap groups until the transaction ends (in a fixed order)."""
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: the writing transaction holds the database's write lock
    for group in sorted(set(groups)):
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                        {"k": cap_lock_key(entity_kind, group)})


def group_draws(session: Session, *, entity_kind: str,
                others: Mapping[str, tuple[str, str]], entity_id: str | None = None
                ) -> pl.DataFrame:
    """What the entitlements of the groups' other policies (policy id -> (group, current
    benefit period)) draw, per entity and group, in fen: outcome ``eligible``, status
    holding money, amount known; of one entity, or of all (``entity_id`` None). Columns
    :data:`DRAWS_SCHEMA`."""
    if not others:
        return pl.DataFrame(schema=DRAWS_SCHEMA)
    t = entitlements
    pairs = sorted((pid, period) for pid, (_, period) in others.items())
    where = [t.c.entity_kind == entity_kind, t.c.outcome == "eligible",
             t.c.status.not_in(RELEASED), t.c.amount_fen.is_not(None),
             tuple_(t.c.policy_id, t.c.benefit_period).in_(pairs)]
    if entity_id is not None:
        where.append(t.c.entity_id == entity_id)
    rows = session.execute(select(t.c.entity_id, t.c.policy_id, t.c.amount_fen).where(*where))
    found = [(e, others[pid][0], int(fen)) for e, pid, fen in rows]
    frame = pl.DataFrame(found, schema=DRAWS_SCHEMA, orient="row")
    return frame.group_by("entity_id", "group").agg(pl.col("amount_fen").sum()).select(
        list(DRAWS_SCHEMA))
