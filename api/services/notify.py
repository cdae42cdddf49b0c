"""Telling a recipient of something decided outside a run (an application approved or
rejected): the same planning, recipients, links and outbox as the nightly run, in the
request's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.services.population import DataAccess
from api.settings import Settings
from store.entitlements import EntitlementRecord


def link_config(settings: Settings) -> Any:
    from api.delivery import LinkConfig
    from notifier.links import LinkSigner

    return LinkConfig(base_url=settings.public_base_url,
                      signer=LinkSigner(secret=settings.link_key(),
                                        ttl_seconds=settings.link_ttl_seconds))


def notify_decision(session: Session, settings: Settings, data: DataAccess,
                    e: EntitlementRecord, *, decision: str, reason: str | None,
                    title: str) -> int:
    """Enqueue the decision on ``e``'s application for its recipient, on their channels."""
    from api.delivery import recipients_for
    from api.services.benefits import profile_row
    from api.services.errors import NoDataYet
    from notifier.links import StoredLinks
    from notifier.model import EntitlementChange
    from notifier.outbox import enqueue_changes
    from store.types import utcnow

    try:
        row = profile_row(data, session, e)
    except NoDataYet:
        row = {}
    change = EntitlementChange(
        entity_kind=e.entity_kind, entity_id=e.entity_id, policy_id=e.policy_id,
        policy_version=e.policy_version, policy_title=title, benefit_period=e.benefit_period,
        change="decided", outcome=e.outcome, amount_fen=e.amount_fen,
        amount_period=e.amount_period,  # type: ignore[arg-type]
        delivery=e.delivery,  # type: ignore[arg-type]
        entitlement_id=e.id, reason=reason,
        decision="approved" if decision == "approved" else "rejected",
        amount_kind=e.amount_kind,
    )
    links = link_config(settings)
    issuer = StoredLinks(session=session, base_url=links.base_url, signer=links.signer,
                         now=utcnow())
    recipients = recipients_for(session, entity_kind=e.entity_kind,
                                profiles={e.entity_id: row}, ids=[e.entity_id])
    as_of = data.population(session, e.entity_kind).run.as_of if row else utcnow().date()
    return enqueue_changes(session, [change], links=issuer, as_of=as_of, recipients=recipients)
