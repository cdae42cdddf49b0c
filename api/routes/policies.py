"""Policies: list, versions and diffs, drafts from YAML, validation, simulation, review."""

from __future__ import annotations

from typing import Annotated

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
    Simulator,
    Staff,
)
from api.models.policies import (
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
from api.services.simulate import simulate
from store import policies as policy_store
from store import retirements
from store.policies import PolicyVersionRecord
from store.retirements import RetirementRecord
from store.schema import policies as policies_table

router = APIRouter(prefix="/api/policies", tags=["policies"])

STATUS_LABELS = {"draft": "草稿", "in_review": "审核中", "published": "已发布", "retired": "已废止"}


def version_public(v: PolicyVersionRecord) -> VersionPublic:
    return VersionPublic(
        id=v.id, policy_id=v.policy_id, version=v.version, status=v.status,
        status_label=STATUS_LABELS[v.status], author=v.author, reviewer=v.reviewer,
        effective_from=v.effective_from, effective_to=v.effective_to, created_at=v.created_at,
        submitted_at=v.submitted_at, published_at=v.published_at, retired_at=v.retired_at,
    )


def version_detail(v: PolicyVersionRecord) -> VersionDetailPublic:
    return VersionDetailPublic(**version_public(v).model_dump(), text=v.text)


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
    versions = policy_store.list_versions(session, policy_id=policy_id)
    return PolicyDetailPublic(id=head.id, title=head.title, entity=head.entity,
                              versions=[version_detail(v) for v in versions])


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
    diff = text_diff(old.text, new.text, old_name=f"v{old.id} {old.version}",
                     new_name=f"v{new.id} {new.version}")
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
        raise Conflict(f"政策 {policy.id} 的这一版本已存在（版本号 {existing.id}，"
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
                              "message": f"expected id {current.policy_id!r}, got {policy.id!r}"}])
    clash = policy_store.find_version(session, policy.id, policy.version)
    if clash is not None and clash.id != version_id:
        raise Conflict(f"相同内容的版本已存在（版本号 {clash.id}）")
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
def submit_version(policy_id: str, version_id: int, session: SessionDep,
                   user: Officer) -> VersionPublic:
    """提交审核。"""
    _version_of(session, policy_id, version_id)
    return version_public(policy_store.submit(session, version_id, actor=user.user_id))


@router.post("/{policy_id}/versions/{version_id}/approve", response_model=VersionPublic)
def approve_version(policy_id: str, version_id: int, session: SessionDep,
                    user: ReviewerOrAdmin) -> VersionPublic:
    """审核通过并发布（审核人不得为起草人）。"""
    if user.role != "reviewer":
        raise Forbidden("只有审核人员可以发布政策")
    _version_of(session, policy_id, version_id)
    return version_public(policy_store.publish(session, version_id, reviewer=user.user_id))


@router.post("/{policy_id}/versions/{version_id}/reject", response_model=VersionPublic)
def reject_version(policy_id: str, version_id: int, body: ReviewDecision, session: SessionDep,
                   user: ReviewerOrAdmin) -> VersionPublic:
    """退回修改（回到草稿），附理由。"""
    if user.role != "reviewer":
        raise Forbidden("只有审核人员可以退回政策")
    _version_of(session, policy_id, version_id)
    return version_public(policy_store.reject(session, version_id, reviewer=user.user_id,
                                              reason=body.reason))


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
