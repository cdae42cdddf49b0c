"""The FastAPI application: JSON API under ``/api``, pages, health and metrics.

Nothing is built at import: :func:`create_app` takes the settings (default
:func:`api.settings.get_settings`) and an engine (default: one for the settings' database),
migrates the database and keeps its parts on ``app.state``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.metrics import Metrics
from api.services.errors import ApiError
from api.settings import Settings, get_settings
from store.errors import (
    FourEyesError,
    ImmutableVersionError,
    NotFoundError,
    StoreError,
    TransitionError,
    UnverifiedPolicyError,
)
from store.policy_integrity import TamperedPolicyError

STATIC_DIR = Path(__file__).parent / "pages" / "static"
log = logging.getLogger("mianshen.api")


# Chinese for the generic errors the framework raises in English.
HTTP_MESSAGES = {
    400: "请求有误", 401: "未登录或登录已过期", 403: "无权访问", 404: "页面或资源不存在",
    405: "不支持该请求方法", 409: "操作与当前状态冲突", 413: "请求内容过大", 422: "请求参数不正确",
    429: "请求过于频繁，请稍后再试", 500: "服务器内部错误", 503: "服务暂不可用",
}


def _error(status: int, code: str, message: str, *, request: Request | None = None,
           headers: dict[str, str] | None = None, **extra: Any) -> Response:
    """JSON for API clients; an HTML page for a browser that asked for a page."""
    from api.routes.pages import render_error, wants_html

    if request is not None and wants_html(request):
        return render_error(request, status=status, message=message, headers=headers)
    return JSONResponse({"detail": message, "code": code, **extra}, status_code=status,
                        headers=headers)


def _store_error(exc: StoreError, request: Request) -> Response:
    if isinstance(exc, NotFoundError):
        return _error(404, "not_found", f"{exc.kind} {exc.key} 不存在", request=request)
    if isinstance(exc, FourEyesError):
        if getattr(exc, "role", "author") == "requester":
            return _error(409, "four_eyes", "您是该废止申请的申请人，按四眼原则不能批准自己的"
                          "申请，请由另一位审核人员批准", request=request)
        who = "修改过该草稿" if getattr(exc, "role", "author") == "editor" else "是该版本的起草人"
        return _error(409, "four_eyes", f"您{who}，按四眼原则不能审核自己的草稿，"
                      "请由另一位审核人员审核", request=request)
    if isinstance(exc, ImmutableVersionError):
        return _error(409, "immutable", "只有草稿可以修改；请新建版本", request=request)
    if isinstance(exc, TamperedPolicyError):
        log.error("policy versions fail verification", extra={"count": len(exc.problems)})
        return _error(503, "tampered_policies",
                      "政策版本的文本与提交审核或审核发布时的记录不符（数据库中的政策可能被"
                      "直接改动），已拒绝使用；请管理员运行 mianshen audit verify 查明",
                      request=request)
    if isinstance(exc, UnverifiedPolicyError):
        return _error(409, "unverified", "该政策标记为“待核”（文号、日期或金额尚未与原文核对），"
                      "核对原文并改为 verification: 已核 后才能提交审核", request=request)
    if isinstance(exc, TransitionError):
        from api.services.labels import VERSION_STATUS_LABELS, zh

        vocabulary = "version_status" if exc.from_status in VERSION_STATUS_LABELS else "entitlement"
        return _error(409, "transition",
                      f"当前状态“{zh(vocabulary, exc.from_status)}”不能变更为"
                      f"“{zh(vocabulary, exc.to_status)}”", request=request)
    return _error(409, "store", "操作未能完成", request=request)


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return _error(exc.status, exc.code, exc.message, request=request, **exc.extra)

    @app.exception_handler(StoreError)
    async def store_error(request: Request, exc: StoreError) -> Response:
        return _store_error(exc, request)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                    for e in exc.errors()]
        return _error(422, "invalid_request", "请求参数不正确", request=request,
                      problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        from api.routes.pages import wants_html

        if exc.status_code == 401 and wants_html(request):
            from fastapi.responses import RedirectResponse

            return RedirectResponse("/login", status_code=303)
        detail = exc.detail
        if not isinstance(detail, str) or detail.isascii():
            detail = HTTP_MESSAGES.get(exc.status_code, f"请求失败（{exc.status_code}）")
        return _error(exc.status_code, "http", detail, request=request,
                      headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        route = getattr(request.scope.get("route"), "path", "unmatched")
        log.error("unhandled error", extra={"route": route,
                                            "error": type(exc).__name__})
        return _error(500, "internal", "服务器内部错误，请稍后重试；问题已记录", request=request)


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The application for ``settings``; the database is migrated on creation. ``engine``
    defaults to :func:`api.storage.open_engine` (one given must carry the audit seal too).
    The login key is read, or generated on this first start, here."""
    from api.gates import AdmissionGate, WriteGate
    from api.keys import ServiceKeys
    from api.login_limits import DatabaseCounters, LoginLimits, RedisCounters
    from api.routes import (
        applications,
        auth,
        benefits,
        docs,
        editor,
        links,
        matches,
        pages,
        policies,
        reviews,
        runs,
        subscriptions,
        system,
        takeup,
    )
    from api.services.population import DataAccess
    from api.storage import open_engine
    from store.db import upgrade

    settings = settings or get_settings()
    engine = engine or open_engine(settings)
    upgrade(engine)
    keys = ServiceKeys.of(settings)

    app = FastAPI(
        title="mianshen 免申即享",
        version="0.1.0",
        description="政策匹配引擎：政策编写与模拟、审核、匹配结果与解释、我的待遇、运行与指标。",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.data = DataAccess(settings, engine)
    app.state.metrics = Metrics()
    app.state.keys = keys
    app.state.write_gate = WriteGate()
    counters = (RedisCounters(settings.redis_url) if settings.redis_url
                else DatabaseCounters(engine))
    app.state.login_limits = LoginLimits(
        counters, per_address=settings.login_limit_per_address,
        per_account=settings.login_limit_per_account,
        window=settings.login_limit_window_seconds, pepper=keys.limits_pepper,
    )
    app.state.run_thread = None
    _install_handlers(app)

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        request.app.state.metrics.count(
            "mianshen_http_requests_total",
            {"method": request.method, "route": path, "status": str(response.status_code)},
        )
        return response

    for module in (system, auth, editor, policies, matches, benefits, subscriptions, reviews,
                   applications, runs, takeup, links, docs, pages):
        app.include_router(module.router)
    docs.mount_assets(app)  # before /static, which would otherwise catch /static/docs
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(AdmissionGate, limit=settings.request_concurrency)
    return app
