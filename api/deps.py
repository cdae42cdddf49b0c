"""Dependencies of the routes, as ``Annotated`` aliases. Everything comes from
``request.app.state`` (built by :func:`api.app.create_app`), nothing from module globals.

Credentials: ``X-API-Key`` (systems), ``Authorization: Bearer <token>`` or the page cookie.
A request authenticated by the cookie that changes something must carry
``X-Requested-With: mianshen`` (the pages' script sends it; another site's form cannot), on
top of the cookie's ``SameSite=Strict``.

Transactions. Who the caller is gets looked up in a short read-only transaction of its own.
The route's session (``SessionDep``) is read-only for GET and HEAD, and writing for the other
methods; ``ReadSessionDep`` / ``WriteSessionDep`` say it explicitly where the method does not
(a POST that only computes, a GET that creates on first view). A read-only session takes no
write lock (SQLite WAL), so reads never wait for writers. The session commits before the
response is sent (a client never sees success for a write that then fails). Writing requests
of one process take turns at an async gate before they get a worker thread (:mod:`api.gates`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import Depends, HTTPException, Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from api.auth import Principal, TokenClaims, TokenError, read_token
from api.gates import WriteGate
from api.services.accounts import principal_for_key, principal_of
from api.services.population import DataAccess
from api.settings import Settings
from store import tokens
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


async def url_encoded_form(request: Request) -> dict[str, str]:
    """The request's ``application/x-www-form-urlencoded`` body, first value per name.

    Read here, in an async dependency, so that the routes themselves stay plain ``def``
    routes: FastAPI runs those in a worker thread, and their blocking database and scrypt
    calls never stall the event loop.
    """
    body = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in body.items()}


FormDep = Annotated[dict[str, str], Depends(url_encoded_form)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
EngineDep = Annotated[Engine, Depends(get_engine)]
DataDep = Annotated[DataAccess, Depends(get_data)]


async def write_turn(request: Request) -> AsyncIterator[None]:
    """Wait (without a thread) for this process's turn to write."""
    gate: WriteGate = request.app.state.write_gate
    async with gate.lock():
        yield


def _read_session(engine: EngineDep) -> Iterator[Session]:
    with transaction(engine, write=False) as session:
        yield session


def _write_session(engine: EngineDep,
                   _turn: Annotated[None, Depends(write_turn, scope="function")]
                   ) -> Iterator[Session]:
    with transaction(engine) as session:
        yield session


async def _method_turn(request: Request) -> AsyncIterator[bool]:
    if request.method in UNSAFE_METHODS:
        gate: WriteGate = request.app.state.write_gate
        async with gate.lock():
            yield True
    else:
        yield False


def _session_by_method(engine: EngineDep,
                       writes: Annotated[bool, Depends(_method_turn, scope="function")]
                       ) -> Iterator[Session]:
    with transaction(engine, write=writes) as session:
        yield session


SessionDep = Annotated[Session, Depends(_session_by_method, scope="function")]
ReadSessionDep = Annotated[Session, Depends(_read_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(_write_session, scope="function")]


def _token_of(request: Request) -> tuple[str | None, bool]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    cookie = request.cookies.get(COOKIE_NAME)
    return (cookie, True) if cookie else (None, False)


def token_claims(request: Request) -> TokenClaims | None:
    """The claims of the request's valid login token (signature and expiry checked, not
    revocation), or None."""
    token, _ = _token_of(request)
    if not token:
        return None
    try:
        return read_token(token, key=request.app.state.keys.login)
    except TokenError:
        return None


def optional_principal(request: Request, engine: EngineDep) -> Principal | None:
    api_key = request.headers.get("x-api-key")
    if api_key:
        with transaction(engine, write=False) as session:
            return principal_for_key(session, api_key)
    _, from_cookie = _token_of(request)
    claims = token_claims(request)
    if claims is None:
        return None
    if from_cookie and request.method in UNSAFE_METHODS and (
        request.headers.get(CSRF_HEADER) != CSRF_VALUE
    ):
        return None
    with transaction(engine, write=False) as session:
        if tokens.is_revoked(session, claims.token_id):
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
OfficerOrReviewer = Annotated[Principal, Depends(require_roles("officer", "reviewer"))]
