"""Login (rate-limited) and the current user."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import Engine

from api.auth import ROLE_LABELS, Principal, issue_token
from api.deps import Admin, CurrentUser, EngineDep, SessionDep, SettingsDep
from api.models.auth import ApiKeyCreate, ApiKeyPublic, LoginCreate, TokenPublic, UserPublic
from api.services.accounts import AccountError, authenticate, create_api_key
from api.services.errors import NotFound
from api.settings import Settings
from store.db import transaction

router = APIRouter(prefix="/api/auth", tags=["auth"])


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def login_principal(request: Request, settings: Settings, engine: Engine, username: str,
                    password: str) -> tuple[Principal, str]:
    """Check the rate limit and the password; the principal and a fresh token."""
    wait = request.app.state.login_limiter.hit(username, client_ip(request))
    metrics = request.app.state.metrics
    if wait > 0:
        metrics.count("mianshen_login_rate_limited_total")
        raise HTTPException(status_code=429,
                            detail=f"登录尝试过于频繁，请 {int(wait) + 1} 秒后再试",
                            headers={"Retry-After": str(int(wait) + 1)})
    with transaction(engine) as session:
        principal = authenticate(session, username, password)
    if principal is None:
        metrics.count("mianshen_login_failures_total")
        raise HTTPException(status_code=401, detail="用户名或密码错误")
    token = issue_token(principal.user_id, role=principal.role, secret=settings.secret_key,
                        ttl_seconds=settings.token_ttl_seconds)
    return principal, token


@router.post("/login", response_model=TokenPublic)
def login(body: LoginCreate, request: Request, settings: SettingsDep,
          engine: EngineDep) -> TokenPublic:
    """用户名和密码登录，返回有时效的令牌（同一用户名和来源地址每分钟限次）。"""
    principal, token = login_principal(request, settings, engine, body.username, body.password)
    return TokenPublic(access_token=token, expires_in=settings.token_ttl_seconds,
                       role=principal.role)


def user_public(p: Principal) -> UserPublic:
    return UserPublic(user_id=p.user_id, display_name=p.display_name, role=p.role,
                      role_label=ROLE_LABELS.get(p.role, p.role), entity_kind=p.entity_kind,
                      entity_id=p.entity_id)


@router.post("/api-keys", response_model=ApiKeyPublic, status_code=201)
def create_key(body: ApiKeyCreate, session: SessionDep, _admin: Admin) -> ApiKeyPublic:
    """为外部系统创建 API 密钥（以某个账号的身份和角色访问；密钥只显示这一次）。"""
    try:
        key = create_api_key(session, body.user_id, label=body.label)
    except AccountError:
        raise NotFound(f"账号 {body.user_id!r} 不存在") from None
    return ApiKeyPublic(user_id=body.user_id, label=body.label, api_key=key)


@router.get("/me", response_model=UserPublic)
def me(principal: CurrentUser) -> UserPublic:
    """当前登录用户。"""
    return user_public(principal)
