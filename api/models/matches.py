"""Match results of the latest run and explanations."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class MatchPublic(BaseModel):
    entity_id: str
    policy_id: str
    policy_version: str
    outcome: str
    outcome_label: str
    amount_fen: int | None
    amount_display: str
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
    node: Literal["condition"] = "condition"
    id: str
    label: str
    clause: str | None
    citation: str
    truth: bool | None
    status: str = Field(
        description="met 满足 / unmet 不满足 / unknown 未知 — 需补充 / unused 未使用")
    status_label: str
    truth_label: str
    value: Any = None
    value_display: str
    requirement: str
    threshold: str | None
    distance: float | None
    distance_text: str | None
    fields: list[str]


class GroupPublic(BaseModel):
    node: Literal["group"] = "group"
    kind: str
    label: str | None
    title: str
    truth: bool | None
    status: str
    status_label: str
    children: list[ExplanationNode]


ExplanationNode = Annotated[GroupPublic | ConditionPublic, Field(discriminator="node")]
GroupPublic.model_rebuild()


class DocumentPublic(BaseModel):
    """One document a policy cites: 文号 (none for a text without one), title, clause, the URL
    of the source read and the clause text."""

    document: str | None = None
    title: str | None = None
    clause: str | None = None
    url: str | None = None
    text: str | None = None


class ExplanationPublic(BaseModel):
    entity_id: str
    policy_id: str
    policy_version: str
    title: str
    basis: str
    basis_url: str | None = None
    documents: list[DocumentPublic] = Field(default_factory=list)
    outcome: str
    outcome_label: str
    amount_fen: int | None
    amount_display: str
    amount_period: str | None
    amount_how: str | None
    delivery: str
    delivery_label: str
    tree: ExplanationNode
    conditions: list[ConditionPublic]
    gaps: list[ConditionPublic]
    unknown_fields: list[str]
    unknown_labels: list[str]
    text: str
