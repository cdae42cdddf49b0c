"""Standing confirmations: what a recipient confirmed for a recurring benefit (taking it, the
account to pay into) holds for the later periods of the same policy until they change it, so
a monthly allowance is not a monthly chore (DESIGN §3)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.orm import Session

from store.schema import standing_confirmations as table


@dataclass(frozen=True, kw_only=True)
class StandingConfirmation:
    entity_kind: str
    entity_id: str
    policy_id: str
    account: str | None
    entitlement_id: int
    actor: str
    confirmed_at: dt.datetime


def record(
    session: Session, *, entity_kind: str, entity_id: str, policy_id: str,
    entitlement_id: int, account: str | None, actor: str, now: dt.datetime,
) -> None:
    """Remember a confirmation (the newest one wins; an account left empty keeps the one
    given before)."""
    found = get(session, entity_kind, entity_id, policy_id)
    if found is None:
        session.execute(table.insert().values(
            entity_kind=entity_kind, entity_id=entity_id, policy_id=policy_id,
            account=account, entitlement_id=entitlement_id, actor=actor, confirmed_at=now))
        return
    session.execute(
        update(table)
        .where(table.c.entity_kind == entity_kind, table.c.entity_id == entity_id,
               table.c.policy_id == policy_id)
        .values(account=account or found.account, entitlement_id=entitlement_id, actor=actor,
                confirmed_at=now)
    )


def withdraw(session: Session, *, entity_kind: str, entity_id: str, policy_id: str) -> None:
    """Stop carrying a confirmation over (the recipient declined or objected)."""
    session.execute(delete(table).where(
        table.c.entity_kind == entity_kind, table.c.entity_id == entity_id,
        table.c.policy_id == policy_id))


def get(session: Session, entity_kind: str, entity_id: str,
        policy_id: str) -> StandingConfirmation | None:
    row = session.execute(select(table).where(
        table.c.entity_kind == entity_kind, table.c.entity_id == entity_id,
        table.c.policy_id == policy_id)).first()
    return None if row is None else StandingConfirmation(**row._asdict())


def of_pairs(
    session: Session, entity_kind: str, pairs: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], StandingConfirmation]:
    """Standing confirmations of (entity id, policy id) pairs."""
    wanted = sorted(set(pairs))
    out: dict[tuple[str, str], StandingConfirmation] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stmt = select(table).where(
            table.c.entity_kind == entity_kind,
            tuple_(table.c.entity_id, table.c.policy_id).in_(chunk),
        )
        for row in session.execute(stmt):
            c = StandingConfirmation(**row._asdict())
            out[(c.entity_id, c.policy_id)] = c
    return out
