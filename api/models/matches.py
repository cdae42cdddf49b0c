"""Match results of the latest run and explanations."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class MatchPublic(BaseModel):
    entity_id: str
    policy_id: str
    policy_version: str
    outcome: str
    outcome_label: str
    amount: float | None
    amount_period: str | None
    delivery: str
    unknown_fields: list[str]
    district: str | None = None


class MatchPage(BaseModel):
    run_id: str
    as_of: str
    total: int
    offset: int
    limit: int
    items: list[MatchPublic]


class ConditionPublic(BaseModel):
    id: str
    label: str
    clause: str | None
    truth: bool | None
    truth_label: str
    value: Any = None
    value_display: str
    threshold: str | None
    distance: float | None
    fields: list[str]


class ExplanationPublic(BaseModel):
    entity_id: str
    policy_id: str
    policy_version: str
    title: str
    basis: str
    outcome: str
    outcome_label: str
    amount: float | None
    amount_period: str | None
    delivery: str
    conditions: list[ConditionPublic]
    gaps: list[ConditionPublic]
    unknown_fields: list[str]
    unknown_labels: list[str]
    text: str
