"""Login (limited per client address and per account), logout, the current user, API keys."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import Engine

from api.auth import ROLE_LABELS, Principal, issue_token
from api.deps import CurrentUser, EngineDep, SettingsDep, WriteSessionDep, token_claims
from api.login_limits import client_address
from api.models.auth import ApiKeyCreate, ApiKeyPublic, LoginCreate, TokenPublic, UserPublic
from api.services.accounts import AccountError, authenticate, create_api_key
from api.services.errors import Forbidden, NotFound
from api.settings import Settings
from store import tokens
from store.db import transaction

router = APIRouter(prefix="/api/auth", tags=["auth"])


def client_ip(request: Request) -> str:
    """The client's address: the peer, or what a configured proxy forwarded."""
    peer = request.client.host if request.client else "unknown"
    settings: Settings = request.app.state.settings
    return client_address(peer, request.headers.get("x-forwarded-for"),
                          trusted=settings.trusted_proxies)


def login_principal(request: Request, settings: Settings, engine: Engine, username: str,
                    password: str) -> tuple[Principal, str]:
    """Count the attempt against the limits, check the password; the principal and a fresh
    token. Unknown users and wrong passwords get the same answer after the same work."""
    refusal = request.app.state.login_limits.check(address=client_ip(request),
                                                   username=username)
    metrics = request.app.state.metrics
    if refusal is not None:
        metrics.count("mianshen_login_rate_limited_total", {"scope": refusal.scope})
        wait = int(refusal.retry_after) + 1
        raise HTTPException(status_code=429, detail=f"登录尝试过于频繁，请 {wait} 秒后再试",
                            headers={"Retry-After": str(wait)})
    principal = authenticate(engine, username, password)
    if principal is None:
        metrics.count("mianshen_login_failures_total")
        raise HTTPException(status_code=401, detail="用户名或密码错误")
    token = issue_token(principal.user_id, role=principal.role, key=request.app.state.keys.login,
                        ttl_seconds=settings.token_ttl_seconds)
    return principal, token


@router.post("/login", response_model=TokenPublic)
def login(body: LoginCreate, request: Request, settings: SettingsDep,
          engine: EngineDep) -> TokenPublic:
    """用户名和密码登录，返回有时效的令牌（按来源地址和账号分别限次）。"""
    principal, token = login_principal(request, settings, engine, body.username, body.password)
    return TokenPublic(access_token=token, expires_in=settings.token_ttl_seconds,
                       role=principal.role)


def revoke_request_token(request: Request, engine: Engine) -> bool:
    """Revoke the request's login token (header or cookie); whether there was a valid one."""
    claims = token_claims(request)
    if claims is None:
        return False
    with transaction(engine) as session:
        tokens.revoke(session, claims.token_id,
                      expires_at=dt.datetime.fromtimestamp(claims.expires_at, dt.UTC))
    return True


@router.post("/logout", status_code=204)
def logout(request: Request, engine: EngineDep, _user: CurrentUser) -> Response:
    """退出登录：当前令牌立即作废。"""
    revoke_request_token(request, engine)
    return Response(status_code=204)


def user_public(p: Principal) -> UserPublic:
    return UserPublic(user_id=p.user_id, display_name=p.display_name, role=p.role,
                      role_label=ROLE_LABELS.get(p.role, p.role), entity_kind=p.entity_kind,
                      entity_id=p.entity_id)


@router.post("/api-keys", response_model=ApiKeyPublic, status_code=201)
def create_key(body: ApiKeyCreate, session: WriteSessionDep,
               user: CurrentUser) -> ApiKeyPublic:
    """为本人账号创建 API 密钥（供本人使用的系统以本人身份访问；密钥只显示这一次）。
    不得为其他账号创建：以他人身份操作即冒用，一律拒绝。"""
    target = body.user_id or user.user_id
    if target != user.user_id:
        raise Forbidden("不得为其他账号创建密钥：以他人身份操作属于冒用，已拒绝；"
                        "请由该账号本人登录后创建")
    try:
        key = create_api_key(session, target, label=body.label, actor=user.user_id)
    except AccountError:
        raise NotFound(f"账号 {target!r} 不存在") from None
    return ApiKeyPublic(user_id=target, label=body.label, api_key=key)


@router.get("/me", response_model=UserPublic)
def me(principal: CurrentUser) -> UserPublic:
    """当前登录用户。"""
    return user_public(principal)
