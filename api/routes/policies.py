"""Policies: list, versions and diffs, drafts from YAML, validation, simulation, review."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from sqlalchemy import select

from api.deps import (
    DataDep,
    Officer,
    OfficerOrReviewer,
    ReadSessionDep,
    Reviewer,
    ReviewerOrAdmin,
    SessionDep,
    SettingsDep,
    Simulator,
    Staff,
)
from api.models.policies import (
    ApprovalDecision,
    DiffPublic,
    PolicyDetailPublic,
    PolicyPublic,
    PolicyTextCreate,
    PolicyTextUpdate,
    RetirementPublic,
    ReviewDecision,
    SimulateRequest,
    SimulationPublic,
    ValidationPublic,
    VersionDetailPublic,
    VersionPublic,
)
from api.services.drafts import document_of, parse_policy_text, policy_summary, text_diff
from api.services.errors import Conflict, Forbidden, InvalidPolicy, NotFound
from api.services.labels import VERSION_STATUS_LABELS as STATUS_LABELS
from api.services.simulate import simulate
from store import policies as policy_store
from store import retirements
from store.policies import PolicyVersionRecord, ReviewRecord
from store.retirements import RetirementRecord
from store.schema import policies as policies_table

router = APIRouter(prefix="/api/policies", tags=["policies"])


def version_public(v: PolicyVersionRecord, review: ReviewRecord | None = None) -> VersionPublic:
    return VersionPublic(
        id=v.id, policy_id=v.policy_id, number=v.number, version=v.version, status=v.status,
        status_label=STATUS_LABELS[v.status], author=v.author, reviewer=v.reviewer,
        effective_from=v.effective_from, effective_to=v.effective_to, created_at=v.created_at,
        submitted_at=v.submitted_at, published_at=v.published_at, retired_at=v.retired_at,
        review_decision=review.decision if review else None,
        review_reason=review.reason if review else None,
        reviewed_by=review.reviewer if review else None,
        reviewed_at=review.at if review else None,
        publish_on=review.publish_on if review and v.status == "scheduled" else None,
    )


def version_detail(v: PolicyVersionRecord, review: ReviewRecord | None = None
                   ) -> VersionDetailPublic:
    return VersionDetailPublic(**version_public(v, review).model_dump(), text=v.text)


def history(session: SessionDep, policy_id: str) -> list[VersionDetailPublic]:
    """Every version of a policy with its last review decision, oldest first."""
    versions = policy_store.list_versions(session, policy_id=policy_id)
    reviews = policy_store.last_reviews(session, [v.id for v in versions])
    return [version_detail(v, reviews.get(v.id)) for v in versions]


@router.get("", response_model=list[PolicyPublic])
def list_policies(session: SessionDep, _user: Staff) -> list[PolicyPublic]:
    """全部政策，及其最新版本状态。"""
    heads = {r.id: r for r in session.execute(select(policies_table))}
    by_policy: dict[str, list[PolicyVersionRecord]] = {}
    for v in policy_store.list_versions(session):
        by_policy.setdefault(v.policy_id, []).append(v)
    out = []
    for pid, versions in sorted(by_policy.items()):
        head = heads[pid]
        latest = versions[-1]
        published = next((v for v in reversed(versions) if v.status == "published"), None)
        out.append(PolicyPublic(
            id=pid, title=head.title, entity=head.entity, status=latest.status,
            latest_version_id=latest.id, versions=len(versions),
            published_version_id=published.id if published else None,
        ))
    return out


@router.get("/{policy_id}", response_model=PolicyDetailPublic)
def get_policy(policy_id: str, session: SessionDep, _user: Staff) -> PolicyDetailPublic:
    """一项政策的全部版本（含文本）。"""
    head = session.execute(select(policies_table).where(policies_table.c.id == policy_id)).first()
    if head is None:
        raise NotFound(f"政策 {policy_id!r} 不存在")
    return PolicyDetailPublic(id=head.id, title=head.title, entity=head.entity,
                              versions=history(session, policy_id))


@router.get("/{policy_id}/history", response_model=list[VersionPublic])
def version_history(policy_id: str, session: SessionDep, _user: Staff) -> list[VersionPublic]:
    """版本历史：编号、状态、起草人、审核人、审核理由与各时间。"""
    return [VersionPublic(**v.model_dump(exclude={"text"})) for v in history(session, policy_id)]


def _version_of(session: SessionDep, policy_id: str, version_id: int) -> PolicyVersionRecord:
    v = policy_store.get_version(session, version_id)
    if v.policy_id != policy_id:
        raise NotFound(f"政策 {policy_id!r} 没有版本 {version_id}")
    return v


@router.get("/{policy_id}/diff", response_model=DiffPublic)
def diff_versions(
    policy_id: str, session: SessionDep, _user: Staff,
    from_version: Annotated[int, Query(alias="from")],
    to_version: Annotated[int, Query(alias="to")],
) -> DiffPublic:
    """两个版本之间的文本差异 (unified diff)。"""
    old = _version_of(session, policy_id, from_version)
    new = _version_of(session, policy_id, to_version)
    diff = text_diff(old.text, new.text, old_name=f"第{old.number}版 {old.version}",
                     new_name=f"第{new.number}版 {new.version}")
    return DiffPublic(policy_id=policy_id, from_version_id=old.id, to_version_id=new.id,
                      diff=diff)


@router.post("/validate", response_model=ValidationPublic)
def validate_policy(body: PolicyTextCreate, session: ReadSessionDep, data: DataDep,
                    _user: Simulator) -> ValidationPublic:
    """检查政策文本；问题带行号和列号。"""
    try:
        policy = parse_policy_text(body.yaml, base=data.published_library(session))
    except InvalidPolicy as err:
        return ValidationPublic.model_validate({"valid": False, "problems": err.problems})
    return ValidationPublic(valid=True, problems=[], policy=policy_summary(policy))


@router.post("/drafts", response_model=VersionDetailPublic, status_code=201)
def create_draft(body: PolicyTextCreate, session: SessionDep, data: DataDep,
                 user: Officer) -> VersionDetailPublic:
    """由 YAML 新建草稿（新政策或已有政策的新版本）。"""
    policy = parse_policy_text(body.yaml, base=data.published_library(session))
    existing = policy_store.find_version(session, policy.id, policy.version)
    if existing is not None:
        raise Conflict(f"政策 {policy.id} 的这一版本已存在（第 {existing.number} 版，"
                       f"状态 {STATUS_LABELS[existing.status]}）")
    draft = policy_store.create_draft(session, document_of(policy, body.yaml), author=user.user_id)
    return version_detail(draft)


@router.put("/{policy_id}/versions/{version_id}", response_model=VersionDetailPublic)
def update_draft(policy_id: str, version_id: int, body: PolicyTextUpdate, session: SessionDep,
                 data: DataDep, user: Officer) -> VersionDetailPublic:
    """修改草稿文本（仅草稿可改）。"""
    current = _version_of(session, policy_id, version_id)
    policy = parse_policy_text(body.yaml, base=data.published_library(session))
    if policy.id != current.policy_id:
        raise InvalidPolicy([{"line": 1, "column": 1, "code": "schema", "suggestion": None,
                              "message": f"政策编号应为 {current.policy_id}，实际为 {policy.id}"
                              "（新政策请另建草稿）"}])
    clash = policy_store.find_version(session, policy.id, policy.version)
    if clash is not None and clash.id != version_id:
        raise Conflict(f"相同内容的版本已存在（第 {clash.number} 版）")
    updated = policy_store.update_draft(session, version_id, document_of(policy, body.yaml),
                                        actor=user.user_id)
    return version_detail(updated)


@router.post("/{policy_id}/versions/{version_id}/simulate", response_model=SimulationPublic)
def simulate_version(policy_id: str, version_id: int, body: SimulateRequest,
                     session: ReadSessionDep, data: DataDep,
                     _user: Simulator) -> SimulationPublic:
    """在当前画像快照上模拟该版本：按区划、行业统计，总金额，样例与解释，与已发布版本的差异。"""
    v = _version_of(session, policy_id, version_id)
    policy = parse_policy_text(v.text, base=data.published_library(session))
    report = simulate(data, session, policy, as_of=body.as_of, samples=body.samples)
    return SimulationPublic.model_validate(report)


@router.post("/{policy_id}/versions/{version_id}/submit", response_model=VersionPublic)
def submit_version(policy_id: str, version_id: int, session: SessionDep, data: DataDep,
                   user: Officer) -> VersionPublic:
    """提交审核。标记为“待核”的草稿不能提交（409），须先核对原文并改为 verification: 已核。"""
    v = _version_of(session, policy_id, version_id)
    policy = parse_policy_text(v.text, base=data.published_library(session))
    return version_public(policy_store.submit(session, version_id, actor=user.user_id,
                                              verified=policy.verified))


@router.post("/{policy_id}/versions/{version_id}/approve", response_model=VersionPublic)
def approve_version(policy_id: str, version_id: int, body: ApprovalDecision,
                    session: SessionDep, settings: SettingsDep,
                    user: ReviewerOrAdmin) -> VersionPublic:
    """审核通过（须填写理由）：立即发布，或定于 publish_on 当日发布。起草人和修改过草稿的人
    不得审核（四眼原则，按人而不只按角色）。"""
    if not user.has_role("reviewer"):
        raise Forbidden("只有审核人员可以发布政策")
    _version_of(session, policy_id, version_id)
    today = dt.datetime.now(ZoneInfo(settings.timezone)).date()
    if body.publish_on is not None and body.publish_on < today:
        raise Conflict(f"定时发布日期 {body.publish_on} 已过，请选择今天或以后的日期")
    v = policy_store.publish(session, version_id, reviewer=user.user_id, reason=body.reason,
                             publish_on=body.publish_on, today=today)
    return version_public(v, policy_store.last_reviews(session, [v.id]).get(v.id))


@router.post("/{policy_id}/versions/{version_id}/reject", response_model=VersionPublic)
def reject_version(policy_id: str, version_id: int, body: ReviewDecision, session: SessionDep,
                   user: ReviewerOrAdmin) -> VersionPublic:
    """退回修改（回到草稿），须填写理由。"""
    if not user.has_role("reviewer"):
        raise Forbidden("只有审核人员可以退回政策")
    _version_of(session, policy_id, version_id)
    v = policy_store.reject(session, version_id, reviewer=user.user_id, reason=body.reason)
    return version_public(v, policy_store.last_reviews(session, [v.id]).get(v.id))


RETIREMENT_LABELS = {"pending": "待审核", "approved": "已批准", "rejected": "已驳回"}


def retirement_public(session: SessionDep, r: RetirementRecord) -> RetirementPublic:
    v = policy_store.get_version(session, r.version_id)
    return RetirementPublic(
        id=r.id, version_id=r.version_id, policy_id=v.policy_id, status=r.status,
        status_label=RETIREMENT_LABELS[r.status], reason=r.reason,
        requested_by=r.requested_by, requested_at=r.requested_at, decided_by=r.decided_by,
        decided_at=r.decided_at, decision_reason=r.decision_reason,
    )


def _pending_retirement(session: SessionDep, policy_id: str, version_id: int) -> RetirementRecord:
    _version_of(session, policy_id, version_id)
    found = retirements.pending(session, version_id=version_id)
    if not found:
        raise NotFound(f"版本 {version_id} 没有待审核的废止申请")
    return found[0]


@router.post("/{policy_id}/versions/{version_id}/retire", response_model=RetirementPublic,
             status_code=202)
def retire_version(policy_id: str, version_id: int, body: ReviewDecision, session: SessionDep,
                   user: OfficerOrReviewer) -> RetirementPublic:
    """申请废止已发布版本（附理由）；须由另一位审核人员批准后才废止（四眼原则）。"""
    _version_of(session, policy_id, version_id)
    requested = retirements.request(session, version_id, actor=user.user_id, reason=body.reason)
    return retirement_public(session, requested)


@router.post("/{policy_id}/versions/{version_id}/retire/approve", response_model=VersionPublic)
def approve_retirement(policy_id: str, version_id: int, session: SessionDep,
                       user: Reviewer) -> VersionPublic:
    """批准废止申请（批准人不得为申请人），版本即废止。"""
    pending = _pending_retirement(session, policy_id, version_id)
    return version_public(retirements.approve(session, pending.id, reviewer=user.user_id))


@router.post("/{policy_id}/versions/{version_id}/retire/reject", response_model=RetirementPublic)
def reject_retirement(policy_id: str, version_id: int, body: ReviewDecision,
                      session: SessionDep, user: Reviewer) -> RetirementPublic:
    """驳回废止申请（附理由），版本保持已发布。"""
    pending = _pending_retirement(session, policy_id, version_id)
    rejected = retirements.reject(session, pending.id, reviewer=user.user_id,
                                  reason=body.reason)
    return retirement_public(session, rejected)
