"""Health and Prometheus metrics.

``/metrics`` is closed unless configured: open to anyone only with ``MIANSHEN_METRICS_PUBLIC``
(``mianshen serve`` sets it for its demo data); otherwise to a scraper sending
``Authorization: Bearer <MIANSHEN_METRICS_TOKEN>`` or to a signed-in admin.
"""

from __future__ import annotations

import hmac

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from api.deps import EngineDep, MaybeUser, SettingsDep
from api.metrics import database_figures
from store.db import reading

router = APIRouter(tags=["system"])


@router.get("/health")
def health(engine: EngineDep) -> JSONResponse:
    """健康检查：数据库可连接时 200，否则 503。"""
    try:
        with reading(engine).connect() as conn:  # never waits for a writer
            conn.execute(text("select 1"))
    except Exception as exc:  # any driver error means "not healthy"
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__},
                            status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


def _scraper_token_matches(request: Request, settings: SettingsDep) -> bool:
    if settings.metrics_token is None:
        return False
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    expected = settings.metrics_token.get_secret_value()
    return hmac.compare_digest(given.encode(), expected.encode())


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, engine: EngineDep, settings: SettingsDep,
            user: MaybeUser) -> PlainTextResponse:
    """Prometheus 指标：运行、匹配、投递、失败（默认需指标令牌或管理员身份）。"""
    allowed = (settings.metrics_public or _scraper_token_matches(request, settings)
               or (user is not None and user.has_role("admin")))
    if not allowed and user is not None:
        raise HTTPException(status_code=403, detail="只有系统管理员可以查看指标")
    if not allowed:
        raise HTTPException(status_code=401,
                            detail="指标需要授权：请携带指标令牌或以管理员身份访问",
                            headers={"WWW-Authenticate": "Bearer"})
    body = request.app.state.metrics.render_counters() + database_figures(engine)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")
