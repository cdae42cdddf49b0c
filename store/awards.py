"""The award ledger: every award the system granted plus awards imported from earlier systems,
and from which date the ledger is complete for each policy (DESIGN §7).

- The system's own grants are its entitlements that reached ``confirmed`` or ``paid``
  (granted on the day of the first such status); they are read, not copied, so a grant can
  never be on record twice or disagree with its entitlement.
- Imported awards (``awards``): one per (entity kind, policy, benefit period, entity), amount
  in integer fen, with the file and line it came from. Validation and quarantine of import
  files live in :mod:`matcher.award_import` (it knows the catalogs and the library).
- ``award_coverage``: per policy, the date from which every award is on record. Before it,
  "no award on record" is UNKNOWN, not "never awarded" (rules.ledger).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from store import audit
from store.schema import award_coverage, awards, entitlement_events, entitlements
from store.types import utcnow

GRANTED_STATUSES = ("confirmed", "paid")
BEIJING = ZoneInfo("Asia/Shanghai")  # a grant's date is the day in Beijing


@dataclass(frozen=True, kw_only=True)
class Award:
    entity_kind: str
    entity_id: str
    policy_id: str
    benefit_period: str
    amount_fen: int
    granted_on: dt.date
    source: str  # "entitlement:<id>" for the system's grants, "<file>:<line>" for imports


def existing_imports(session: Session, *, entity_kind: str,
                     keys: Iterable[tuple[str, str, str]]) -> dict[tuple[str, str, str], Award]:
    """Imported awards already on record for (policy, benefit period, entity) keys."""
    wanted = set(keys)
    if not wanted:
        return {}
    policies = sorted({k[0] for k in wanted})
    rows = session.execute(
        select(awards).where(awards.c.entity_kind == entity_kind,
                             awards.c.policy_id.in_(policies))
    ).mappings()
    out: dict[tuple[str, str, str], Award] = {}
    for r in rows:
        key = (r["policy_id"], r["benefit_period"], r["entity_id"])
        if key in wanted:
            out[key] = _award(r)
    return out


def _award(r: object) -> Award:
    row = dict(r)  # type: ignore[call-overload]
    return Award(entity_kind=row["entity_kind"], entity_id=row["entity_id"],
                 policy_id=row["policy_id"], benefit_period=row["benefit_period"],
                 amount_fen=int(row["amount_fen"]), granted_on=row["granted_on"],
                 source=row["source"])


def add_imported(session: Session, items: list[Award], *, actor: str) -> int:
    """Insert imported awards (already validated, keys not yet on record); audited."""
    if not items:
        return 0
    now = utcnow()
    session.execute(insert(awards), [
        {"entity_kind": a.entity_kind, "entity_id": a.entity_id, "policy_id": a.policy_id,
         "benefit_period": a.benefit_period, "amount_fen": a.amount_fen,
         "granted_on": a.granted_on, "source": a.source[:200], "imported_by": actor,
         "imported_at": now} for a in items])
    audit.append(session, actor=actor, action="awards.import",
                 subject=f"awards:{items[0].entity_kind}",
                 detail={"count": len(items),
                         "policies": sorted({a.policy_id for a in items})}, now=now)
    return len(items)


def declare_complete(session: Session, *, entity_kind: str, policy_id: str,
                     complete_from: dt.date, actor: str) -> None:
    """Record that the ledger holds every award of ``policy_id`` granted on or after
    ``complete_from``; audited."""
    now = utcnow()
    values = {"complete_from": complete_from, "declared_by": actor, "declared_at": now}
    found = session.execute(  # type: ignore[attr-defined]
        update(award_coverage)
        .where(award_coverage.c.entity_kind == entity_kind,
               award_coverage.c.policy_id == policy_id)
        .values(**values)
    ).rowcount
    if not found:
        session.execute(insert(award_coverage).values(entity_kind=entity_kind,
                                                      policy_id=policy_id, **values))
    audit.append(session, actor=actor, action="awards.complete_from",
                 subject=f"award_coverage:{entity_kind}:{policy_id}",
                 detail={"complete_from": complete_from.isoformat()}, now=now)


def coverage(session: Session, *, entity_kind: str) -> dict[str, dt.date]:
    """policy id -> the date from which the ledger is complete."""
    rows = session.execute(
        select(award_coverage.c.policy_id, award_coverage.c.complete_from)
        .where(award_coverage.c.entity_kind == entity_kind)
    )
    return {pid: since for pid, since in rows}


def ledger_awards(session: Session, *, entity_kind: str,
                  entity_id: str | None = None) -> list[Award]:
    """Every award on record for ``entity_kind`` (of one entity, or of all when
    ``entity_id`` is None): imported ones and the system's grants (entitlements confirmed or
    paid, with an amount), by policy, entity and date."""
    mine = [] if entity_id is None else [awards.c.entity_id == entity_id]
    out = [_award(r) for r in session.execute(
        select(awards).where(awards.c.entity_kind == entity_kind, *mine)).mappings()]
    first_granted = (
        select(entitlement_events.c.entitlement_id,
               func.min(entitlement_events.c.at).label("granted_at"))
        .where(entitlement_events.c.to_status.in_(GRANTED_STATUSES))
        .group_by(entitlement_events.c.entitlement_id)
        .subquery()
    )
    granted = session.execute(
        select(entitlements.c.id, entitlements.c.entity_id, entitlements.c.policy_id,
               entitlements.c.benefit_period, entitlements.c.amount_fen,
               entitlements.c.updated_at, first_granted.c.granted_at)
        .outerjoin(first_granted, first_granted.c.entitlement_id == entitlements.c.id)
        .where(entitlements.c.entity_kind == entity_kind,
               *([] if entity_id is None else [entitlements.c.entity_id == entity_id]),
               entitlements.c.status.in_(GRANTED_STATUSES),
               entitlements.c.amount_fen.is_not(None))
    )
    for eid, entity_id, pid, period, fen, updated, at in granted:
        when = at or updated
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        out.append(Award(entity_kind=entity_kind, entity_id=entity_id, policy_id=pid,
                         benefit_period=period, amount_fen=int(fen),
                         granted_on=when.astimezone(BEIJING).date(),
                         source=f"entitlement:{eid}"))
    out.sort(key=lambda a: (a.policy_id, a.entity_id, a.granted_on, a.benefit_period))
    return out
