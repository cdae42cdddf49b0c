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

from api.auth import LoginRateLimiter
from api.metrics import Metrics
from api.services.errors import ApiError
from api.settings import Settings, get_settings
from store.errors import (
    FourEyesError,
    ImmutableVersionError,
    NotFoundError,
    StoreError,
    TransitionError,
)

STATIC_DIR = Path(__file__).parent / "pages" / "static"
log = logging.getLogger("mianshen.api")


def _error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": message, "code": code, **extra}, status_code=status)


def _store_error(exc: StoreError) -> JSONResponse:
    if isinstance(exc, NotFoundError):
        return _error(404, "not_found", f"{exc.kind} {exc.key} 不存在")
    if isinstance(exc, FourEyesError):
        return _error(409, "four_eyes", "审核人不得为起草人（四眼原则），请由另一位审核人员发布")
    if isinstance(exc, ImmutableVersionError):
        return _error(409, "immutable", "只有草稿可以修改；请新建版本")
    if isinstance(exc, TransitionError):
        return _error(409, "transition",
                      f"当前状态 {exc.from_status} 不能变更为 {exc.to_status}")
    return _error(409, "store", "操作未能完成")


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, **exc.extra)

    @app.exception_handler(StoreError)
    async def store_error(_request: Request, exc: StoreError) -> JSONResponse:
        return _store_error(exc)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
                    for e in exc.errors()]
        return _error(422, "invalid_request", "请求参数不正确", problems=problems)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        from api.routes.pages import wants_html

        if exc.status_code == 401 and wants_html(request):
            from fastapi.responses import RedirectResponse

            return RedirectResponse("/login", status_code=303)
        return JSONResponse({"detail": exc.detail, "code": "http"}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))


def create_app(settings: Settings | None = None, *, engine: Engine | None = None) -> FastAPI:
    """The application for ``settings``; the database is migrated on creation."""
    from api.routes import (
        applications,
        auth,
        benefits,
        links,
        matches,
        pages,
        policies,
        reviews,
        runs,
        subscriptions,
        system,
    )
    from api.services.population import DataAccess
    from store.db import make_engine, upgrade

    settings = settings or get_settings()
    engine = engine or make_engine(settings.database_url)
    upgrade(engine)

    app = FastAPI(
        title="mianshen 免申即享",
        version="0.1.0",
        description="政策匹配引擎：政策编写与模拟、审核、匹配结果与解释、我的待遇、运行与指标。",
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.data = DataAccess(settings, engine)
    app.state.metrics = Metrics()
    app.state.login_limiter = LoginRateLimiter(
        limit=settings.login_rate_limit, window=settings.login_rate_window_seconds
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

    for module in (system, auth, policies, matches, benefits, subscriptions, reviews,
                   applications, runs, links, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
