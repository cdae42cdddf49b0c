"""My benefits (entitlements), objections, applications and subscriptions. Amounts are
integer fen (``amount_fen``, null = not yet known) with their display text."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field


class ReasonCreate(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class ConfirmCreate(BaseModel):
    account: str | None = Field(default=None, max_length=40,
                                description="收款银行卡号；留空则沿用上次确认的账户")


class ObjectionAnswer(BaseModel):
    decision: str = Field(pattern="^(keep|revoke)$", description="keep: 维持; revoke: 撤销")
    answer: str = Field(min_length=1, max_length=2000)


class ApplicationDecision(BaseModel):
    decision: str = Field(pattern="^(approve|reject)$",
                          description="approve: 通过; reject: 不予通过")
    reason: str | None = Field(default=None, max_length=2000, description="不予通过时必填")


class AnswersUpdate(BaseModel):
    answers: dict[str, str | int | float | bool | None]


class EventPublic(BaseModel):
    at: dt.datetime
    actor: str
    kind: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    text: str = ""


class BenefitPublic(BaseModel):
    id: int
    entity_kind: str
    entity_id: str
    policy_id: str
    policy_title: str
    benefit_period: str
    period_label: str = ""
    policy_version: str
    outcome: str
    outcome_label: str
    amount_fen: int | None = Field(description="金额（分）；null 表示待核定，绝不是 0")
    amount_display: str
    amount_kind: str = Field(default="cash", description=(
        "金额种类：cash 现金、tax_saving 减免税款、deduction 可扣除额(非到手金额)、"
        "in_kind 实物或服务"))
    amount_period: str | None
    delivery: str
    delivery_label: str
    unknown_fields: list[str]
    status: str
    status_label: str
    reason: str | None
    last_run_id: str
    updated_at: dt.datetime
    can_confirm: bool = False
    needs_application: bool = False


class BenefitDetailPublic(BenefitPublic):
    events: list[EventPublic]
    standing_confirmed: bool = False
    standing_account: str | None = None


class PolicyCard(BaseModel):
    """One policy: its current benefit period and the history of the earlier ones."""

    current: BenefitPublic
    history: list[BenefitPublic]


class ApplicationPublic(BaseModel):
    id: int
    entitlement_id: int
    status: str
    status_label: str = ""
    prefilled: dict[str, Any]
    missing_fields: list[str]
    answers: dict[str, Any] | None
    reason: str | None
    submitted_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None
    decided_by: str | None = None


class ApplicationReview(BaseModel):
    """An application in the reviewers' queue."""

    application: ApplicationPublic
    benefit: BenefitPublic


class PreferencesPublic(BaseModel):
    channels: list[str] | None = Field(default=None, description="接收渠道；null 表示全部")
    muted_deliveries: list[str] = Field(default_factory=list,
                                        description="不接收通知的政策类别（direct/notice/apply）")
    quiet_start: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    quiet_end: str | None = Field(default=None, pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    email: str | None = Field(default=None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^1[3-9]\d{9}$")


class WebhookCreate(BaseModel):
    url: str = Field(min_length=8, max_length=500,
                     pattern=r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[\x21-\x7e]*)?$",
                     description="接收地址（https；主机名、端口、路径）")
    secret: str = Field(min_length=16, max_length=200, description="HMAC-SHA256 密钥，至少 16 字符")
    label: str | None = Field(default=None, max_length=200)


class WebhookPublic(BaseModel):
    id: int
    url: str
    label: str | None
    secret_hint: str = Field(description="密钥末 4 位")
    created_at: dt.datetime
