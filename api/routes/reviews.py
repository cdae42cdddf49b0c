"""The reviewer's queues: policy versions under review, and objections to answer."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import ReviewerOrAdmin, SessionDep
from api.models.benefits import BenefitDetailPublic, BenefitPublic, ObjectionAnswer
from api.models.policies import RetirementPublic, VersionPublic
from api.routes.policies import retirement_public, version_public
from api.services.benefits import benefit_detail, benefit_public, titles
from api.services.errors import Conflict, Forbidden
from profiles.masking import mask_id
from store import entitlements as entitlement_store
from store import policies as policy_store
from store import retirements
from store.entitlements import EntitlementStatus

router = APIRouter(prefix="/api/reviews", tags=["reviews"])


@router.get("/policies", response_model=list[VersionPublic])
def review_queue(session: SessionDep, _user: ReviewerOrAdmin) -> list[VersionPublic]:
    """待审核的政策版本。"""
    return [version_public(v) for v in policy_store.list_versions(session)
            if v.status == "in_review"]


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
    if user.role != "reviewer":
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
