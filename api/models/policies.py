"""Policies, their versions, review and simulation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class PolicyTextCreate(BaseModel):
    """A policy document as YAML text (create or update a draft, or validate)."""

    yaml: str = Field(max_length=200_000)


class PolicyTextUpdate(PolicyTextCreate):
    pass


class ReviewDecision(BaseModel):
    """A reviewer's decision; the reason is required (it is kept in the version history)."""

    reason: str = Field(min_length=1, max_length=2000, pattern=r"\S")


class ApprovalDecision(ReviewDecision):
    """Approve with a reason; ``publish_on`` a later day schedules the publication."""

    publish_on: dt.date | None = None


class SimulateRequest(BaseModel):
    as_of: dt.date | None = None
    samples: int = Field(default=3, ge=0, le=10)


class ProblemPublic(BaseModel):
    line: int
    column: int
    code: str
    message: str
    suggestion: str | None = None


class ValidationPublic(BaseModel):
    valid: bool
    problems: list[ProblemPublic]
    policy: dict[str, Any] | None = None


class VersionPublic(BaseModel):
    id: int
    policy_id: str
    number: int  # 1, 2, 3 … per policy
    version: str
    status: str
    status_label: str
    author: str
    reviewer: str | None
    effective_from: dt.date
    effective_to: dt.date | None
    created_at: dt.datetime
    submitted_at: dt.datetime | None
    published_at: dt.datetime | None
    retired_at: dt.datetime | None
    review_decision: str | None = None  # approved | rejected (the last review)
    review_reason: str | None = None
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    publish_on: dt.date | None = None  # scheduled publication day


class VersionDetailPublic(VersionPublic):
    text: str


class PolicyPublic(BaseModel):
    id: str
    title: str
    entity: str
    status: str
    latest_version_id: int
    published_version_id: int | None
    versions: int


class PolicyDetailPublic(BaseModel):
    id: str
    title: str
    entity: str
    versions: list[VersionDetailPublic]


class DiffPublic(BaseModel):
    policy_id: str
    from_version_id: int
    to_version_id: int
    diff: str


class SimulationPublic(BaseModel):
    policy_id: str
    version: str
    entity: str
    as_of: str
    note: str | None
    population: int
    run_id: str
    amount_period: str | None
    totals: dict[str, Any]
    by_district: list[dict[str, Any]]
    by_industry: list[dict[str, Any]]
    samples: list[dict[str, Any]]
    published: dict[str, Any] | None


class DiffLinePublic(BaseModel):
    kind: str  # add | del | same | hunk
    old: int | None = None  # line number in the published text
    new: int | None = None  # line number in the version under review
    text: str


class ReviewEvidencePublic(BaseModel):
    """What a reviewer sees before deciding: the text against the published version, the
    simulated impact, and whether this reviewer may decide (四眼原则)."""

    version: VersionDetailPublic
    title: str
    published: VersionPublic | None
    diff: str
    diff_lines: list[DiffLinePublic]
    impact: dict[str, Any] | None
    impact_error: str | None = None
    writers: list[str]
    can_decide: bool
    cannot_decide_reason: str | None = None


class RetirementPublic(BaseModel):
    """A request to retire a published version, and its decision (四眼原则)."""

    id: int
    version_id: int
    policy_id: str
    status: str
    status_label: str
    reason: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    decision_reason: str | None
