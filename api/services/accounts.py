"""Login accounts: a password hash per user and, for enterprises and citizens, the entity
the account stands for; API keys for systems, stored as sha256 hashes. The tables
(``store.schema.api_accounts`` / ``api_keys``) come with the store's migrations.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from api.auth import (
    ENTITY_OF_ROLE,
    ROLES,
    Principal,
    hash_password,
    spend_password_check,
    verify_password,
)
from store import audit
from store import users as user_store
from store.db import transaction
from store.errors import NotFoundError
from store.schema import api_accounts as accounts
from store.schema import api_keys
from store.types import utcnow

API_KEY_PREFIX = "msk_"


class AccountError(ValueError):
    """An account that cannot be created as asked."""


@dataclass(frozen=True, kw_only=True)
class AccountSpec:
    user_id: str
    display_name: str
    role: str
    password: str
    entity_id: str | None = None
    extra_roles: tuple[str, ...] = ()  # staff roles held besides ``role``


def upsert_account(session: Session, spec: AccountSpec) -> None:
    """Create the user and its account, or reset its password and entity."""
    if spec.role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}; got {spec.role!r}")
    entity_kind = ENTITY_OF_ROLE.get(spec.role)
    if (entity_kind is None) != (spec.entity_id is None):
        raise AccountError(
            f"account {spec.user_id!r}: enterprise and citizen accounts need an entity id, "
            f"other roles none (role {spec.role!r}, entity id given: {spec.entity_id is not None})"
        )
    staff = {"officer", "reviewer", "admin"}
    if spec.extra_roles and not ({spec.role, *spec.extra_roles} <= staff):
        raise AccountError(f"account {spec.user_id!r}: only staff roles can be combined "
                           f"({', '.join(sorted(staff))}); got {spec.role!r} with "
                           f"{', '.join(spec.extra_roles)}")
    user_store.ensure_user(session, spec.user_id, display_name=spec.display_name, role=spec.role)
    for extra in spec.extra_roles:
        user_store.grant_role(session, spec.user_id, extra)
    values = {
        "password_hash": hash_password(spec.password),
        "entity_kind": entity_kind,
        "entity_id": spec.entity_id,
    }
    found = session.execute(
        select(accounts.c.user_id).where(accounts.c.user_id == spec.user_id)
    ).first()
    if found is None:
        session.execute(accounts.insert().values(user_id=spec.user_id, **values))
    else:
        session.execute(update(accounts).where(accounts.c.user_id == spec.user_id).values(**values))


def principal_of(session: Session, user_id: str) -> Principal | None:
    """The principal of an existing account, or None."""
    row = session.execute(select(accounts).where(accounts.c.user_id == user_id)).first()
    if row is None:
        return None
    try:
        user = user_store.get_user(session, user_id)
    except NotFoundError:
        return None
    return Principal(
        user_id=user.id,
        role=user.role,
        display_name=user.display_name,
        entity_kind=row.entity_kind,
        entity_id=row.entity_id,
        extra_roles=user_store.roles_of(session, user_id) - {user.role},
    )


def authenticate(engine: Engine, user_id: str, password: str) -> Principal | None:
    """The principal when the password matches, else None. The password is checked outside
    any transaction, and an unknown user costs the same scrypt work as a known one."""
    with transaction(engine, write=False) as session:
        stored = session.execute(
            select(accounts.c.password_hash).where(accounts.c.user_id == user_id)
        ).scalar()
    if stored is None:
        spend_password_check(password)
        return None
    if not verify_password(password, stored):
        return None
    with transaction(engine, write=False) as session:
        return principal_of(session, user_id)


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_api_key(session: Session, user_id: str, *, label: str, actor: str) -> str:
    """A new API key acting as ``user_id`` (an existing account); only its hash is kept.
    Recorded in the audit log with who created it and the key's id (a prefix of its hash)."""
    if principal_of(session, user_id) is None:
        raise AccountError(f"expected an existing account, got {user_id!r}")
    key = API_KEY_PREFIX + secrets.token_urlsafe(32)
    digest = _key_hash(key)
    session.execute(api_keys.insert().values(key_hash=digest, user_id=user_id,
                                             label=label, created_at=utcnow()))
    audit.append(session, actor=actor, action="auth.api_key.create", subject=f"user:{user_id}",
                 detail={"key_id": digest[:12], "label": label})
    return key


def principal_for_key(session: Session, key: str) -> Principal | None:
    """The principal an API key acts as, or None for an unknown key."""
    if not key.startswith(API_KEY_PREFIX):
        return None
    row = session.execute(
        select(api_keys.c.user_id).where(api_keys.c.key_hash == _key_hash(key))
    ).first()
    return None if row is None else principal_of(session, row.user_id)


def count_accounts(session: Session) -> int:
    return len(session.execute(select(accounts.c.user_id)).all())
