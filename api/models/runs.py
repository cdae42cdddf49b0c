"""Runs of the matcher."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel


class RunCreate(BaseModel):
    as_of: dt.date | None = None
    entity: Literal["enterprise", "person"] | None = None


class RunPublic(BaseModel):
    id: str
    entity_kind: str
    as_of: dt.date
    status: str
    attempts: int
    snapshot_hash: str
    engine_version: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None


class RunDetailPublic(RunPublic):
    policy_versions: dict[str, str]
    counts: dict[str, Any] | None
    timings: dict[str, float] | None


class RunTriggered(BaseModel):
    accepted: bool
    as_of: dt.date
    entities: list[str]
    message: str
