"""Recipients' own settings: delivery preferences (我的订阅) and webhook subscriptions.
Addresses that the government's data holds (an enterprise's contact phone and e-mail, a
citizen's phone) stay in the profiles; what is here is what the recipients gave themselves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from store import audit
from store.errors import NotFoundError
from store.schema import recipient_preferences, webhook_subscriptions
from store.types import utcnow


@dataclass(frozen=True, kw_only=True)
class Preferences:
    """``channels`` None means every channel the recipient has an address for."""

    entity_kind: str
    entity_id: str
    channels: tuple[str, ...] | None = None
    muted_deliveries: tuple[str, ...] = ()
    quiet_start: str | None = None
    quiet_end: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookSubscription:
    id: int
    entity_kind: str
    entity_id: str
    url: str
    secret: str
    label: str | None
    created_by: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


def _prefs(row: object) -> Preferences:
    r = row._mapping  # type: ignore[attr-defined]
    return Preferences(
        entity_kind=r["entity_kind"], entity_id=r["entity_id"],
        channels=None if r["channels"] is None else tuple(r["channels"]),
        muted_deliveries=tuple(r["muted_deliveries"] or ()),
        quiet_start=r["quiet_start"], quiet_end=r["quiet_end"], email=r["email"],
        phone=r["phone"],
    )


def get_preferences(session: Session, entity_kind: str, entity_id: str) -> Preferences:
    row = session.execute(
        select(recipient_preferences).where(
            recipient_preferences.c.entity_kind == entity_kind,
            recipient_preferences.c.entity_id == entity_id,
        )
    ).first()
    return Preferences(entity_kind=entity_kind, entity_id=entity_id) if row is None else _prefs(row)


def preferences_of(
    session: Session, entities: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], Preferences]:
    """Stored preferences of many recipients (those without any are left out)."""
    wanted = sorted(set(entities))
    out: dict[tuple[str, str], Preferences] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stmt = select(recipient_preferences).where(
            tuple_(recipient_preferences.c.entity_kind, recipient_preferences.c.entity_id).in_(
                chunk
            )
        )
        for row in session.execute(stmt):
            p = _prefs(row)
            out[(p.entity_kind, p.entity_id)] = p
    return out


def save_preferences(
    session: Session, prefs: Preferences, *, actor: str, now: dt.datetime | None = None
) -> Preferences:
    now = now or utcnow()
    values = {
        "channels": None if prefs.channels is None else list(prefs.channels),
        "muted_deliveries": list(prefs.muted_deliveries),
        "quiet_start": prefs.quiet_start,
        "quiet_end": prefs.quiet_end,
        "email": prefs.email,
        "phone": prefs.phone,
        "updated_at": now,
    }
    key = (recipient_preferences.c.entity_kind == prefs.entity_kind,
           recipient_preferences.c.entity_id == prefs.entity_id)
    if session.execute(select(recipient_preferences.c.entity_id).where(*key)).first() is None:
        session.execute(recipient_preferences.insert().values(
            entity_kind=prefs.entity_kind, entity_id=prefs.entity_id, **values))
    else:
        session.execute(update(recipient_preferences).where(*key).values(**values))
    audit.append(
        session, actor=actor, action="recipient.preferences",
        subject=f"recipient:{prefs.entity_kind}",
        detail={"channels": values["channels"], "muted": values["muted_deliveries"],
                "quiet": [prefs.quiet_start, prefs.quiet_end]},
        now=now,
    )
    return get_preferences(session, prefs.entity_kind, prefs.entity_id)


def _sub(row: object) -> WebhookSubscription:
    return WebhookSubscription(**row._asdict())  # type: ignore[attr-defined]


def add_webhook(
    session: Session, *, entity_kind: str, entity_id: str, url: str, secret: str,
    label: str | None, actor: str, now: dt.datetime | None = None,
) -> WebhookSubscription:
    now = now or utcnow()
    new_id = session.execute(
        webhook_subscriptions.insert().values(
            entity_kind=entity_kind, entity_id=entity_id, url=url, secret=secret, label=label,
            created_by=actor, created_at=now,
        ).returning(webhook_subscriptions.c.id)
    ).scalar_one()
    audit.append(session, actor=actor, action="webhook.subscribe",
                 subject=f"webhook:{new_id}", detail={"entity_kind": entity_kind}, now=now)
    return get_webhook(session, int(new_id))


def get_webhook(session: Session, subscription_id: int) -> WebhookSubscription:
    row = session.execute(
        select(webhook_subscriptions).where(webhook_subscriptions.c.id == subscription_id)
    ).first()
    if row is None:
        raise NotFoundError("webhook subscription", subscription_id)
    return _sub(row)


def webhooks_of(
    session: Session, entities: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[WebhookSubscription]]:
    """Active subscriptions of many recipients."""
    wanted = sorted(set(entities))
    out: dict[tuple[str, str], list[WebhookSubscription]] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        stmt = (
            select(webhook_subscriptions)
            .where(
                tuple_(webhook_subscriptions.c.entity_kind,
                       webhook_subscriptions.c.entity_id).in_(chunk),
                webhook_subscriptions.c.revoked_at.is_(None),
            )
            .order_by(webhook_subscriptions.c.id)
        )
        for row in session.execute(stmt):
            s = _sub(row)
            out.setdefault((s.entity_kind, s.entity_id), []).append(s)
    return out


def revoke_webhook(
    session: Session, subscription_id: int, *, actor: str, now: dt.datetime | None = None
) -> None:
    now = now or utcnow()
    session.execute(
        update(webhook_subscriptions)
        .where(webhook_subscriptions.c.id == subscription_id)
        .values(revoked_at=now)
    )
    audit.append(session, actor=actor, action="webhook.revoke",
                 subject=f"webhook:{subscription_id}", detail={}, now=now)
