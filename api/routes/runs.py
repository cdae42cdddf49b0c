"""Runs: list, detail, and a manual trigger (admin) that runs the pipeline in the background."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request

from api.deps import Admin, EngineDep, SessionDep, SettingsDep, Staff
from api.models.runs import RunCreate, RunDetailPublic, RunPublic, RunTriggered
from api.services.errors import Conflict
from store import runs as run_store
from store.runs import RunRecord

router = APIRouter(prefix="/api/runs", tags=["runs"])
log = logging.getLogger("mianshen.api.runs")


def run_public(r: RunRecord) -> RunPublic:
    return RunPublic(id=r.id, entity_kind=r.entity_kind, as_of=r.as_of, status=r.status,
                     attempts=r.attempts, snapshot_hash=r.snapshot_hash,
                     engine_version=r.engine_version, started_at=r.started_at,
                     finished_at=r.finished_at, error=r.error)


@router.get("", response_model=list[RunPublic])
def list_runs(session: SessionDep, _user: Staff,
              limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[RunPublic]:
    """最近的运行。"""
    return [run_public(r) for r in run_store.list_runs(session, limit=limit)]


@router.get("/{run_id}", response_model=RunDetailPublic)
def get_run(run_id: str, session: SessionDep, _user: Staff) -> RunDetailPublic:
    """一次运行的详情：政策版本、各政策结果数、耗时。"""
    r = run_store.get_run(session, run_id)
    return RunDetailPublic(**run_public(r).model_dump(), policy_versions=r.policy_versions,
                           counts=r.counts, timings=r.timings)


@router.post("", response_model=RunTriggered, status_code=202)
def trigger_run(body: RunCreate, request: Request, settings: SettingsDep, engine: EngineDep,
                user: Admin) -> RunTriggered:
    """手动触发一次运行（后台执行；同一时间只运行一个）。"""
    from api.scheduler import run_pipeline

    sources = settings.run_sources_dir
    if not sources.is_dir():
        raise Conflict("未配置源数据目录 (MIANSHEN_SOURCES_DIR)")
    running: threading.Thread | None = getattr(request.app.state, "run_thread", None)
    if running is not None and running.is_alive():
        raise Conflict("已有运行正在进行，请稍后再试")
    as_of = body.as_of or dt.datetime.now(ZoneInfo(settings.timezone)).date()
    entities: list[str] = [body.entity] if body.entity else list(settings.nightly_entities)
    metrics = request.app.state.metrics

    def work() -> None:
        try:
            run_pipeline(settings, engine=engine, sources_dir=sources, as_of=as_of,
                         entities=entities, actor=user.user_id)
        except Exception:
            metrics.count("mianshen_run_trigger_failures_total")
            log.exception("triggered run failed", extra={"as_of": as_of.isoformat()})

    thread = threading.Thread(target=work, name="triggered-run", daemon=True)
    request.app.state.run_thread = thread
    thread.start()
    return RunTriggered(accepted=True, as_of=as_of, entities=entities,
                        message=f"已开始运行：{'、'.join(entities)}，评估日 {as_of}")
