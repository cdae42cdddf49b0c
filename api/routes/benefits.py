"""我的待遇: an enterprise's or citizen's own entitlements. Confirm with one click, decline,
object with a reason (a reviewer answers), explain, and the pre-filled application."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DataDep, EntityUser, SessionDep, WriteSessionDep
from api.models.benefits import (
    AnswersUpdate,
    ApplicationPublic,
    BenefitDetailPublic,
    BenefitPublic,
    ReasonCreate,
)
from api.models.matches import ExplanationPublic
from api.routes.matches import explain_one
from api.services.benefits import (
    application_public,
    benefit_detail,
    benefit_public,
    open_application,
    own_entitlement,
    titles,
)
from api.services.errors import Conflict
from store import applications as application_store
from store import entitlements as entitlement_store

router = APIRouter(prefix="/api/me/benefits", tags=["my benefits"])


@router.get("", response_model=list[BenefitPublic])
def my_benefits(session: SessionDep, user: EntityUser) -> list[BenefitPublic]:
    """本单位/本人的全部待遇。"""
    names = titles(session)
    return [
        benefit_public(e, names)
        for e in entitlement_store.list_entitlements(
            session, entity_kind=user.entity_kind, entity_id=user.entity_id
        )
    ]


@router.get("/{entitlement_id}", response_model=BenefitDetailPublic)
def my_benefit(entitlement_id: int, session: SessionDep, user: EntityUser) -> BenefitDetailPublic:
    """一项待遇及其处理记录（含审核人员对异议的答复）。"""
    return benefit_detail(session, own_entitlement(session, user, entitlement_id))


@router.post("/{entitlement_id}/confirm", response_model=BenefitDetailPublic)
def confirm(entitlement_id: int, session: SessionDep, user: EntityUser) -> BenefitDetailPublic:
    """一键确认（免申即享：确认收款账户；申报即享：确认知悉）。依申请的待遇须提交申请表。"""
    e = own_entitlement(session, user, entitlement_id)
    if e.outcome != "eligible":
        raise Conflict("这项待遇尚待确认资格，请先填写申请表")
    if e.delivery == "apply":
        raise Conflict("这项待遇依法须提交申请，请填写预填申请表")
    updated = entitlement_store.transition(session, e.id, "confirmed", actor=user.user_id)
    return benefit_detail(session, updated)


@router.post("/{entitlement_id}/decline", response_model=BenefitDetailPublic)
def decline(entitlement_id: int, body: ReasonCreate, session: SessionDep,
            user: EntityUser) -> BenefitDetailPublic:
    """放弃这项待遇（需说明理由）。"""
    e = own_entitlement(session, user, entitlement_id)
    updated = entitlement_store.transition(session, e.id, "declined", actor=user.user_id,
                                           reason=body.reason)
    return benefit_detail(session, updated)


@router.post("/{entitlement_id}/objection", response_model=BenefitDetailPublic)
def object_to(entitlement_id: int, body: ReasonCreate, session: SessionDep,
              user: EntityUser) -> BenefitDetailPublic:
    """提出异议；进入审核人员的异议队列，答复会显示在处理记录中。"""
    e = own_entitlement(session, user, entitlement_id)
    updated = entitlement_store.transition(session, e.id, "objected", actor=user.user_id,
                                           reason=body.reason)
    return benefit_detail(session, updated)


@router.get("/{entitlement_id}/explain", response_model=ExplanationPublic)
def explain_mine(entitlement_id: int, session: SessionDep, data: DataDep,
                 user: EntityUser) -> ExplanationPublic:
    """为什么我符合 / 差在哪。"""
    e = own_entitlement(session, user, entitlement_id)
    return explain_one(user, data, session, e.entity_kind, e.entity_id, e.policy_id)


@router.get("/{entitlement_id}/application", response_model=ApplicationPublic)
def get_application(entitlement_id: int, session: WriteSessionDep, data: DataDep,
                    user: EntityUser) -> ApplicationPublic:
    """预填申请表（首次打开时生成）：只需补充数据无法证明的事项。"""
    e = own_entitlement(session, user, entitlement_id)
    return application_public(open_application(session, data, e, actor=user.user_id))


@router.put("/{entitlement_id}/application", response_model=ApplicationPublic)
def save_application(entitlement_id: int, body: AnswersUpdate, session: SessionDep,
                     data: DataDep, user: EntityUser) -> ApplicationPublic:
    """保存申请表中需补充的事项。"""
    e = own_entitlement(session, user, entitlement_id)
    app = open_application(session, data, e, actor=user.user_id)
    unknown = sorted(set(body.answers) - set(app.missing_fields))
    if unknown:
        raise Conflict(f"申请表没有这些待填事项：{'、'.join(unknown)}")
    saved = application_store.save_answers(session, app.id, body.answers, actor=user.user_id)
    return application_public(saved)


@router.post("/{entitlement_id}/application/submit", response_model=ApplicationPublic)
def submit_application(entitlement_id: int, session: SessionDep, data: DataDep,
                       user: EntityUser) -> ApplicationPublic:
    """提交申请表（所有待填事项都已填写）。"""
    e = own_entitlement(session, user, entitlement_id)
    app = open_application(session, data, e, actor=user.user_id)
    answers = app.answers or {}
    missing = [f for f in app.missing_fields if answers.get(f) in (None, "")]
    if missing:
        raise Conflict(f"还有待填事项：{'、'.join(missing)}")
    submitted = application_store.transition(session, app.id, "submitted", actor=user.user_id)
    return application_public(submitted)
