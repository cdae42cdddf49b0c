"""The reviewer's queues: policy versions under review, and objections to answer."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import Principal
from api.deps import DataDep, ReviewerOrAdmin, SessionDep
from api.models.benefits import BenefitDetailPublic, BenefitPublic, ObjectionAnswer
from api.models.policies import (
    DiffLinePublic,
    RetirementPublic,
    ReviewEvidencePublic,
    VersionPublic,
)
from api.routes.policies import retirement_public, version_detail, version_public
from api.services.benefits import benefit_detail, benefit_public, titles
from api.services.drafts import diff_lines, parse_policy_text, text_diff
from api.services.errors import ApiError, Conflict, Forbidden
from profiles.masking import mask_id
from store import entitlements as entitlement_store
from store import policies as policy_store
from store import retirements
from store.entitlements import EntitlementStatus

router = APIRouter(prefix="/api/reviews", tags=["reviews"])


@router.get("/policies", response_model=list[VersionPublic])
def review_queue(session: SessionDep, _user: ReviewerOrAdmin) -> list[VersionPublic]:
    """待审核的政策版本，以及已批准、定时发布的版本。"""
    versions = [v for v in policy_store.list_versions(session)
                if v.status in ("in_review", "scheduled")]
    reviews = policy_store.last_reviews(session, [v.id for v in versions])
    return [version_public(v, reviews.get(v.id)) for v in versions]


def decision_block(session: SessionDep, user: Principal, version_id: int) -> str | None:
    """Why ``user`` may not decide on the version, or None when they may."""
    if not user.has_role("reviewer"):
        return "只有审核人员可以审核政策"
    v = policy_store.get_version(session, version_id)
    if v.status != "in_review":
        return "该版本不在审核中"
    if user.user_id in policy_store.writers(session, version_id):
        return "您是该版本的起草人或修改人，按四眼原则须由另一位审核人员审核"
    return None


@router.get("/versions/{version_id}", response_model=ReviewEvidencePublic)
def review_evidence(version_id: int, session: SessionDep, data: DataDep,
                    user: ReviewerOrAdmin) -> ReviewEvidencePublic:
    """审核依据：与已发布版本的文本差异、模拟影响（新增符合、不再符合、金额变化，按区划和
    行业，含样例及解释），以及当前用户能否审核（四眼原则）。"""
    from api.services.impact import impact

    v = policy_store.get_version(session, version_id)
    published = policy_store.published_versions(session, policy_id=v.policy_id)
    old = published[-1] if published else None
    diff = text_diff(old.text if old else "", v.text,
                     old_name=f"第{old.number}版（已发布）" if old else "（尚无已发布版本）",
                     new_name=f"第{v.number}版（待审核）")
    reviews = policy_store.last_reviews(session, [v.id])
    report, error = None, None
    try:
        policy = parse_policy_text(v.text, base=data.published_library(session))
        report = impact(data, session, policy)
    except ApiError as exc:
        error = exc.message
    block = decision_block(session, user, version_id)
    return ReviewEvidencePublic(
        version=version_detail(v, reviews.get(v.id)), title=titles(session).get(v.policy_id, ""),
        published=version_public(old) if old else None, diff=diff,
        diff_lines=[DiffLinePublic(**d) for d in diff_lines(old.text if old else "", v.text)],
        impact=report, impact_error=error,
        writers=sorted(policy_store.writers(session, version_id)),
        can_decide=block is None, cannot_decide_reason=block)


@router.get("/retirements", response_model=list[RetirementPublic])
def retirement_queue(session: SessionDep, _user: ReviewerOrAdmin) -> list[RetirementPublic]:
    """待审核的废止申请（批准人不得为申请人）。"""
    return [retirement_public(session, r) for r in retirements.pending(session)]


def _masked(b: BenefitPublic) -> BenefitPublic:
    if b.entity_kind == "person":
        return b.model_copy(update={"entity_id": mask_id(b.entity_id) or ""})
    return b


@router.get("/objections", response_model=list[BenefitPublic])
def objections(session: SessionDep, _user: ReviewerOrAdmin) -> list[BenefitPublic]:
    """待答复的异议。"""
    names = titles(session)
    return [_masked(benefit_public(e, names))
            for e in entitlement_store.list_entitlements(session, status="objected")]


@router.post("/objections/{entitlement_id}/answer", response_model=BenefitDetailPublic)
def answer_objection(entitlement_id: int, body: ObjectionAnswer, session: SessionDep,
                     user: ReviewerOrAdmin) -> BenefitDetailPublic:
    """答复异议：维持（keep，回到已通知）或撤销（revoke）；答复写入处理记录，申请人可见。"""
    if not user.has_role("reviewer"):
        raise Forbidden("只有审核人员可以答复异议")
    e = entitlement_store.get(session, entitlement_id)
    if e.status != "objected":
        raise Conflict("这项待遇没有待答复的异议")
    to: EntitlementStatus = "notified" if body.decision == "keep" else "revoked"
    updated = entitlement_store.transition(session, e.id, to, actor=user.user_id,
                                           reason=body.answer)
    detail = benefit_detail(session, updated)
    if detail.entity_kind == "person":
        detail = detail.model_copy(update={"entity_id": mask_id(detail.entity_id) or ""})
    return detail
