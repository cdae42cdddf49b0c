"""One-click links: a short id (what a message carries) -> the signed token it stands for,
the entitlement and the purpose, when it expires and whether it was used. Signing and
checking the token is :mod:`notifier.links`; this module only keeps the rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store.schema import links
from store.staged_insert import insert_ignoring_duplicates


@dataclass(frozen=True, kw_only=True)
class LinkRecord:
    id: str
    token: str
    entitlement_id: int
    purpose: str
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None


def add_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """Record links (a run's, in bulk); a link id already recorded keeps its first token
    (reruns plan the same ids)."""
    insert_ignoring_duplicates(session, links, rows, key="id")


def get(session: Session, link_id: str) -> LinkRecord | None:
    row = session.execute(select(links).where(links.c.id == link_id)).first()
    return None if row is None else LinkRecord(**row._asdict())


def mark_used(session: Session, link_id: str, *, now: dt.datetime) -> bool:
    """Use a link once: False when it was already used (by a concurrent click too)."""
    result = session.execute(
        update(links).where(links.c.id == link_id, links.c.used_at.is_(None)).values(used_at=now)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def for_entitlement(session: Session, entitlement_id: int) -> list[LinkRecord]:
    stmt = select(links).where(links.c.entitlement_id == entitlement_id).order_by(
        links.c.created_at
    )
    return [LinkRecord(**r._asdict()) for r in session.execute(stmt)]
