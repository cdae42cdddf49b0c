"""The in-app inbox. The inbox lives in the store: it is the outbox's ``inbox`` messages that
have been delivered. Sending is therefore local and exactly once: a message appears in the
inbox in the same transaction that marks it sent, and a retry after a crash finds nothing to
undo. :func:`list_inbox` renders a recipient's inbox for the web app."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import ClassVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from notifier.abc import Channel, OutboundMessage, Receipt
from notifier.channels.registry import ChannelSpec
from notifier.rendering import RenderedMessage, render_message
from store.outbox import attach_items
from store.schema import outbox as outbox_table

INBOX = "inbox"


class InboxChannel(Channel):
    name: ClassVar[str] = INBOX
    idempotent: bool = True
    needs_address: ClassVar[bool] = False

    def send(self, message: OutboundMessage) -> Receipt:
        return Receipt(provider_id=f"inbox:{message.idempotency_key}")


SPEC = ChannelSpec(name=INBOX, label="站内信", address_kind=None, per_item=False,
                   build=lambda _sessions: InboxChannel())


@dataclass(frozen=True, kw_only=True)
class InboxEntry:
    message_id: int
    idempotency_key: str
    kind: str
    sent_at: dt.datetime
    rendered: RenderedMessage
    items: tuple[dict[str, object], ...]


def list_inbox(
    session: Session, *, recipient_kind: str, recipient_id: str, limit: int = 50
) -> list[InboxEntry]:
    """A recipient's delivered in-app messages, newest first, rendered."""
    stmt = (
        select(outbox_table.c.id, outbox_table.c.idempotency_key, outbox_table.c.kind,
               outbox_table.c.sent_at, outbox_table.c.payload)
        .where(
            outbox_table.c.channel == INBOX,
            outbox_table.c.status == "sent",
            outbox_table.c.recipient_kind == recipient_kind,
            outbox_table.c.recipient_id == recipient_id,
        )
        .order_by(outbox_table.c.sent_at.desc(), outbox_table.c.id.desc())
        .limit(limit)
    )
    rows = session.execute(stmt).all()
    payloads = [dict(row.payload) for row in rows]
    attach_items(session, payloads)
    entries = []
    for row, payload in zip(rows, payloads, strict=True):
        entries.append(
            InboxEntry(
                message_id=int(row.id),
                idempotency_key=str(row.idempotency_key),
                kind=str(row.kind),
                sent_at=row.sent_at,
                rendered=render_message(str(row.kind), payload),
                items=tuple(dict(i) for i in payload.get("items", [])),
            )
        )
    return entries
