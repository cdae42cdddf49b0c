"""Revoked login tokens: a token id (``jti``) and when the token would have expired.

Logging out revokes the token at once; its row is kept until the token expires anyway,
then purged.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.schema import revoked_tokens
from store.types import utcnow


def revoke(
    session: Session, token_id: str, *, expires_at: dt.datetime, now: dt.datetime | None = None
) -> None:
    """Revoke ``token_id`` (idempotent); expired revocations are purged on the way."""
    now = now or utcnow()
    session.execute(delete(revoked_tokens).where(revoked_tokens.c.expires_at < now))
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(revoked_tokens)
        .values(token_id=token_id, expires_at=expires_at, revoked_at=now)
        .on_conflict_do_nothing(index_elements=["token_id"])
    )


def is_revoked(session: Session, token_id: str) -> bool:
    return session.execute(
        select(revoked_tokens.c.token_id).where(revoked_tokens.c.token_id == token_id)
    ).first() is not None
