"""Users: a minimal table with a role, for attribution now and authorisation later."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.errors import NotFoundError
from store.schema import user_roles, users
from store.types import utcnow

SYSTEM_USER = "system"


@dataclass(frozen=True, kw_only=True)
class UserRecord:
    id: str
    display_name: str
    role: str
    created_at: dt.datetime


def ensure_user(
    session: Session, user_id: str, *, display_name: str, role: str, now: dt.datetime | None = None
) -> None:
    """Create the user unless it exists (existing users are left as they are)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(users)
        .values(id=user_id, display_name=display_name, role=role, created_at=now or utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
    )


def ensure_system_user(session: Session) -> None:
    ensure_user(session, SYSTEM_USER, display_name="系统", role="system")


def get_user(session: Session, user_id: str) -> UserRecord:
    row = session.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFoundError("user", user_id)
    return UserRecord(**row._asdict())


def list_users(session: Session) -> list[UserRecord]:
    return [UserRecord(**r._asdict()) for r in session.execute(select(users).order_by(users.c.id))]


def grant_role(session: Session, user_id: str, role: str) -> None:
    """Give an existing user ``role`` besides its own (kept once)."""
    get_user(session, user_id)
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.execute(
        dialect.insert(user_roles).values(user_id=user_id, role=role)
        .on_conflict_do_nothing(index_elements=["user_id", "role"])
    )


def roles_of(session: Session, user_id: str) -> frozenset[str]:
    """Every role a user holds: its own and those granted with :func:`grant_role`."""
    user = get_user(session, user_id)
    extra = session.execute(select(user_roles.c.role).where(user_roles.c.user_id == user_id))
    return frozenset({user.role, *extra.scalars()})
