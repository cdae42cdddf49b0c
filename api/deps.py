"""Dependencies of the routes, as ``Annotated`` aliases. Everything comes from
``request.app.state`` (built by :func:`api.app.create_app`), nothing from module globals.

Credentials: ``X-API-Key`` (systems), ``Authorization: Bearer <token>`` or the page cookie.
A request authenticated by the cookie that changes something must carry
``X-Requested-With: mianshen`` (the pages' script sends it; another site's form cannot), on
top of the cookie's ``SameSite=Strict``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.auth import Principal, TokenError, read_token
from api.services.accounts import principal_for_key, principal_of
from api.services.population import DataAccess
from api.settings import Settings
from store.db import transaction

COOKIE_NAME = "mianshen_token"
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "mianshen"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_data(request: Request) -> DataAccess:
    data: DataAccess = request.app.state.data
    return data


def get_session(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with transaction(engine) as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
DataDep = Annotated[DataAccess, Depends(get_data)]
SessionDep = Annotated[Session, Depends(get_session)]


def _token_of(request: Request) -> tuple[str | None, bool]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(COOKIE_NAME)
    return (cookie, True) if cookie else (None, False)


def optional_principal(request: Request, settings: SettingsDep, session: SessionDep
                       ) -> Principal | None:
    api_key = request.headers.get("x-api-key")
    if api_key:
        return principal_for_key(session, api_key)
    token, from_cookie = _token_of(request)
    if not token:
        return None
    try:
        claims = read_token(token, secret=settings.secret_key)
    except TokenError:
        return None
    if from_cookie and request.method in UNSAFE_METHODS and (
        request.headers.get(CSRF_HEADER) != CSRF_VALUE
    ):
        return None
    principal = principal_of(session, claims.subject)
    if principal is None or principal.role != claims.role:
        return None
    return principal


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise HTTPException(
            status_code=401, detail="未登录或登录已过期", headers={"WWW-Authenticate": "Bearer"}
        )
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]
MaybeUser = Annotated[Principal | None, Depends(optional_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    """A dependency that admits only ``roles`` (403 for the others)."""

    def check(principal: CurrentUser) -> Principal:
        if not principal.has_role(*roles):
            raise HTTPException(status_code=403, detail="当前角色无权执行此操作")
        return principal

    return check


Staff = Annotated[Principal, Depends(require_roles("officer", "reviewer", "admin"))]
Officer = Annotated[Principal, Depends(require_roles("officer"))]
Reviewer = Annotated[Principal, Depends(require_roles("reviewer"))]
ReviewerOrAdmin = Annotated[Principal, Depends(require_roles("reviewer", "admin"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
EntityUser = Annotated[Principal, Depends(require_roles("enterprise", "citizen"))]
Simulator = Annotated[Principal, Depends(require_roles("officer", "reviewer"))]
