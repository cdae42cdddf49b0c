"""Health and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlalchemy import text

from api.deps import EngineDep
from api.metrics import database_figures

router = APIRouter(tags=["system"])


@router.get("/health")
def health(engine: EngineDep) -> JSONResponse:
    """健康检查：数据库可连接时 200，否则 503。"""
    try:
        with engine.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # any driver error means "not healthy"
        return JSONResponse({"status": "unavailable", "database": type(exc).__name__},
                            status_code=503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", response_class=PlainTextResponse)
def metrics(request: Request, engine: EngineDep) -> PlainTextResponse:
    """Prometheus 指标：运行、匹配、投递、失败。"""
    body = request.app.state.metrics.render_counters() + database_figures(engine)
    return PlainTextResponse(body, media_type="text/plain; version=0.0.4")
