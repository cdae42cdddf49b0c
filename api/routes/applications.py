"""The reviewers' queue of submitted applications: approve (the benefit proceeds by its
delivery mode) or reject with a reason; either decision reaches the applicant by their
channels and shows in the benefit's 处理记录."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DataDep, ReviewerOrAdmin, SessionDep, SettingsDep
from api.models.benefits import ApplicationDecision, ApplicationPublic, ApplicationReview
from api.services.benefits import (
    application_public,
    benefit_public,
    decide_application,
    instant_decision,
    titles,
)
from api.services.errors import Conflict, Forbidden
from api.services.notify import notify_decision
from profiles.masking import mask_id
from store import applications as application_store
from store import entitlements as entitlement_store

router = APIRouter(prefix="/api/reviews/applications", tags=["reviews"])


def review_queue(session: object) -> list[ApplicationReview]:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    names = titles(session)
    out = []
    for app in application_store.submitted_queue(session):
        b = benefit_public(entitlement_store.get(session, app.entitlement_id), names)
        if b.entity_kind == "person":
            b = b.model_copy(update={"entity_id": mask_id(b.entity_id) or ""})
        out.append(ApplicationReview(application=application_public(app), benefit=b))
    return out


@router.get("", response_model=list[ApplicationReview])
def queue(session: SessionDep, _user: ReviewerOrAdmin) -> list[ApplicationReview]:
    """待审核的申请（最早提交的在前）。"""
    return review_queue(session)


@router.post("/{application_id}/decision", response_model=ApplicationPublic)
def decide(application_id: int, body: ApplicationDecision, session: SessionDep,
           data: DataDep, settings: SettingsDep, user: ReviewerOrAdmin) -> ApplicationPublic:
    """通过或不予通过（须说明理由）；结果通知申请人，并写入处理记录。"""
    if user.role != "reviewer":
        raise Forbidden("只有审核人员可以审批申请")
    app = application_store.get(session, application_id)
    e = entitlement_store.get(session, app.entitlement_id)
    approve = body.decision == "approve"
    if not approve and not (body.reason or "").strip():
        raise Conflict("不予通过须说明理由")
    outcome, amount_fen = None, None
    if approve:
        outcome, amount_fen, _failed = instant_decision(session, data, e, app.answers or {})
        if outcome != "eligible":
            outcome, amount_fen = "eligible", amount_fen
    app, e = decide_application(session, app, e, approve=approve, actor=user.user_id,
                                reason=(body.reason or "").strip() or None, outcome=outcome,
                                amount_fen=amount_fen)
    notify_decision(session, settings, data, e, decision="approved" if approve else "rejected",
                    reason=app.reason, title=titles(session).get(e.policy_id, e.policy_id))
    return application_public(app)
