"""Run records: one row per run id (deterministic from the run's inputs).

A run is ``running`` from :func:`start_run` (committed on its own, before any work), then
``succeeded`` in the same transaction as its entitlement changes, or ``failed``. Starting a
run id again (a rerun, or a resume after a crash) counts another attempt.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from store import audit
from store.errors import NotFoundError, TransitionError
from store.schema import runs
from store.types import utcnow

RunStatus = Literal["running", "succeeded", "failed"]


@dataclass(frozen=True, kw_only=True)
class RunRecord:
    id: str
    entity_kind: str
    as_of: dt.date
    snapshot_hash: str
    policy_versions: dict[str, str]
    engine_version: str
    status: RunStatus
    attempts: int
    counts: dict[str, Any] | None
    timings: dict[str, float] | None
    error: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None


def _record(row: Any) -> RunRecord:
    return RunRecord(**row._asdict())


def get_run(session: Session, run_id: str) -> RunRecord:
    found = find_run(session, run_id)
    if found is None:
        raise NotFoundError("run", run_id)
    return found


def find_run(session: Session, run_id: str) -> RunRecord | None:
    row = session.execute(select(runs).where(runs.c.id == run_id)).first()
    return None if row is None else _record(row)


def start_run(
    session: Session,
    *,
    run_id: str,
    entity_kind: str,
    as_of: dt.date,
    snapshot_hash: str,
    policy_versions: Mapping[str, str],
    engine_version: str,
    actor: str,
    now: dt.datetime | None = None,
) -> RunRecord:
    """Record that a run starts (or starts again). A run that already succeeded cannot be
    started again: callers check :func:`find_run` first."""
    now = now or utcnow()
    existing = find_run(session, run_id)
    if existing is None:
        session.execute(
            runs.insert().values(
                id=run_id,
                entity_kind=entity_kind,
                as_of=as_of,
                snapshot_hash=snapshot_hash,
                policy_versions=dict(policy_versions),
                engine_version=engine_version,
                status="running",
                attempts=1,
                started_at=now,
            )
        )
    elif existing.status == "succeeded":
        raise TransitionError("run", run_id, existing.status, "running")
    else:
        session.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                status="running",
                attempts=runs.c.attempts + 1,
                started_at=now,
                error=None,
                finished_at=None,
            )
        )
    audit.append(
        session,
        actor=actor,
        action="run.start",
        subject=f"run:{run_id}",
        detail={
            "entity": entity_kind,
            "as_of": as_of.isoformat(),
            "attempt": 1 if existing is None else existing.attempts + 1,
        },
        now=now,
    )
    return get_run(session, run_id)


def finish_run(
    session: Session,
    run_id: str,
    *,
    counts: Mapping[str, Any],
    timings: Mapping[str, float],
    actor: str,
    now: dt.datetime | None = None,
) -> RunRecord:
    """Mark a running run succeeded (in the transaction that wrote its changes)."""
    now = now or utcnow()
    result = session.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == "running")
        .values(status="succeeded", counts=dict(counts), timings=dict(timings), finished_at=now)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise TransitionError("run", run_id, get_run(session, run_id).status, "succeeded")
    audit.append(
        session,
        actor=actor,
        action="run.succeeded",
        subject=f"run:{run_id}",
        detail={"counts": dict(counts)},
        now=now,
    )
    return get_run(session, run_id)


def fail_run(
    session: Session, run_id: str, *, error: str, actor: str, now: dt.datetime | None = None
) -> None:
    now = now or utcnow()
    session.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == "running")
        .values(status="failed", error=error[:4000], finished_at=now)
    )
    audit.append(
        session,
        actor=actor,
        action="run.failed",
        subject=f"run:{run_id}",
        detail={"error": error[:500]},
        now=now,
    )


def last_successful(
    session: Session, *, entity_kind: str, as_of: dt.date | None = None
) -> RunRecord | None:
    """The run of ``entity_kind`` (of ``as_of`` when given) that succeeded last."""
    where = [runs.c.entity_kind == entity_kind, runs.c.status == "succeeded"]
    if as_of is not None:
        where.append(runs.c.as_of == as_of)
    row = session.execute(
        select(runs)
        .where(*where)
        .order_by(runs.c.finished_at.desc())
        .limit(1)
    ).first()
    return None if row is None else _record(row)


def list_runs(session: Session, *, limit: int = 50) -> list[RunRecord]:
    stmt = select(runs).order_by(runs.c.started_at.desc()).limit(limit)
    return [_record(r) for r in session.execute(stmt)]
