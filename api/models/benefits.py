"""My benefits (entitlements), objections and applications."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class ReasonCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ObjectionAnswer(BaseModel):
    decision: str = Field(pattern="^(keep|revoke)$", description="keep: 维持; revoke: 撤销")
    answer: str = Field(min_length=1, max_length=2000)


class AnswersUpdate(BaseModel):
    answers: dict[str, str | int | float | bool | None]


class EventPublic(BaseModel):
    at: dt.datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    reason: str | None


class BenefitPublic(BaseModel):
    id: int
    entity_kind: str
    entity_id: str
    policy_id: str
    policy_title: str
    benefit_period: str
    policy_version: str
    outcome: str
    outcome_label: str
    amount: float | None
    amount_period: str | None
    delivery: str
    delivery_label: str
    unknown_fields: list[str]
    status: str
    status_label: str
    reason: str | None
    last_run_id: str
    updated_at: dt.datetime


class BenefitDetailPublic(BenefitPublic):
    events: list[EventPublic]


class ApplicationPublic(BaseModel):
    id: int
    entitlement_id: int
    status: str
    prefilled: dict[str, Any]
    missing_fields: list[str]
    answers: dict[str, Any] | None
    reason: str | None
