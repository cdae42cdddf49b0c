"""我的待遇: an enterprise's or citizen's own entitlements. Confirm with one click (carried
over to later periods), decline, object with a reason (a reviewer answers), explain, and the
pre-filled application (checked answers, read-only once submitted, 秒批 where the rules
decide it)."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import DataDep, EntityUser, SessionDep, SettingsDep, WriteSessionDep
from api.models.benefits import (
    AnswersUpdate,
    ApplicationPublic,
    BenefitDetailPublic,
    BenefitPublic,
    ConfirmCreate,
    PolicyCard,
    ReasonCreate,
)
from api.models.matches import ExplanationPublic
from api.routes.matches import explain_entitlement
from api.services.answers import parse_answers
from api.services.benefits import (
    application_public,
    benefit_detail,
    benefit_public,
    confirm,
    open_application,
    own_entitlement,
    policy_cards,
    stop_carry_over,
    submit_application,
    titles,
    to_fill_fields,
)
from api.services.errors import ApiError, Conflict
from api.services.notify import notify_decision
from store import applications as application_store
from store import entitlements as entitlement_store

router = APIRouter(prefix="/api/me", tags=["my benefits"])


class InvalidAnswers(ApiError):
    status = 422
    code = "invalid_answers"


@router.get("/benefits", response_model=list[BenefitPublic])
def my_benefits(session: SessionDep, user: EntityUser) -> list[BenefitPublic]:
    """本单位/本人的全部待遇（每项政策每个待遇期一条）。"""
    names = titles(session)
    return [
        benefit_public(e, names)
        for e in entitlement_store.list_entitlements(
            session, entity_kind=user.entity_kind, entity_id=user.entity_id
        )
    ]


@router.get("/policies", response_model=list[PolicyCard])
def my_policies(session: SessionDep, user: EntityUser) -> list[PolicyCard]:
    """每项政策一张卡片：当前待遇期及以往各期。"""
    assert user.entity_kind and user.entity_id
    return policy_cards(session, entity_kind=user.entity_kind, entity_id=user.entity_id)


@router.get("/benefits/{entitlement_id}", response_model=BenefitDetailPublic)
def my_benefit(entitlement_id: int, session: SessionDep, user: EntityUser) -> BenefitDetailPublic:
    """一项待遇及其处理记录（含审核人员对异议和申请的答复）。"""
    return benefit_detail(session, own_entitlement(session, user, entitlement_id))


@router.post("/benefits/{entitlement_id}/confirm", response_model=BenefitDetailPublic)
def confirm_mine(entitlement_id: int, session: SessionDep, user: EntityUser,
                 body: ConfirmCreate | None = None) -> BenefitDetailPublic:
    """一键确认（免申即享：确认收款账户；申报即享：确认知悉）；以后各期沿用此确认。"""
    e = own_entitlement(session, user, entitlement_id)
    updated = confirm(session, e, actor=user.user_id, account=body.account if body else None)
    return benefit_detail(session, updated)


@router.post("/benefits/{entitlement_id}/decline", response_model=BenefitDetailPublic)
def decline(entitlement_id: int, body: ReasonCreate, session: SessionDep,
            user: EntityUser) -> BenefitDetailPublic:
    """放弃这项待遇（需说明理由）；以后各期不再自动沿用确认。"""
    e = own_entitlement(session, user, entitlement_id)
    updated = entitlement_store.transition(session, e.id, "declined", actor=user.user_id,
                                           reason=body.reason)
    stop_carry_over(session, e)
    return benefit_detail(session, updated)


@router.post("/benefits/{entitlement_id}/objection", response_model=BenefitDetailPublic)
def object_to(entitlement_id: int, body: ReasonCreate, session: SessionDep,
              user: EntityUser) -> BenefitDetailPublic:
    """提出异议；进入审核人员的异议队列，答复会显示在处理记录中。"""
    e = own_entitlement(session, user, entitlement_id)
    updated = entitlement_store.transition(session, e.id, "objected", actor=user.user_id,
                                           reason=body.reason)
    return benefit_detail(session, updated)


@router.get("/benefits/{entitlement_id}/explain", response_model=ExplanationPublic)
def explain_mine(entitlement_id: int, session: SessionDep, data: DataDep,
                 user: EntityUser) -> ExplanationPublic:
    """为什么我符合 / 差在哪。"""
    e = own_entitlement(session, user, entitlement_id)
    return explain_entitlement(user, data, session, e)


@router.get("/benefits/{entitlement_id}/application", response_model=ApplicationPublic)
def get_application(entitlement_id: int, session: WriteSessionDep, data: DataDep,
                    user: EntityUser) -> ApplicationPublic:
    """预填申请表（首次打开时生成）：只需补充数据无法证明的事项。"""
    e = own_entitlement(session, user, entitlement_id)
    return application_public(open_application(session, data, e, actor=user.user_id))


@router.put("/benefits/{entitlement_id}/application", response_model=ApplicationPublic)
def save_application(entitlement_id: int, body: AnswersUpdate, session: SessionDep,
                     data: DataDep, user: EntityUser) -> ApplicationPublic:
    """保存申请表中需补充的事项（逐项按类型和范围检查）。"""
    e = own_entitlement(session, user, entitlement_id)
    app = open_application(session, data, e, actor=user.user_id)
    if app.status != "draft":
        raise Conflict("申请已提交，不能再修改")
    unknown = sorted(set(body.answers) - set(app.missing_fields))
    if unknown:
        raise Conflict(f"申请表没有这些待填事项：{'、'.join(unknown)}")
    fields = {k: v for k, v in to_fill_fields(app).items() if k in body.answers}
    values, problems = parse_answers(fields, body.answers)
    if problems:
        raise InvalidAnswers("；".join(problems.values()), extra={"problems": problems})
    saved = application_store.save_answers(session, app.id, values, actor=user.user_id)
    return application_public(saved)


@router.post("/benefits/{entitlement_id}/application/submit", response_model=ApplicationPublic)
def submit(entitlement_id: int, session: SessionDep, data: DataDep, settings: SettingsDep,
           user: EntityUser) -> ApplicationPublic:
    """提交申请表（所有待填事项都已填写且有效）；申请只读，进入审核队列或即时审批（秒批）。"""
    e = own_entitlement(session, user, entitlement_id)
    app = open_application(session, data, e, actor=user.user_id)
    fields = to_fill_fields(app)
    answers = app.answers or {}
    missing = [f.label for n, f in fields.items() if answers.get(n) in (None, "")]
    if missing:
        raise Conflict(f"还有待填事项：{'、'.join(missing)}")
    values, problems = parse_answers(fields, answers)
    if problems:
        raise InvalidAnswers("；".join(problems.values()), extra={"problems": problems})
    app, e, decided = submit_application(session, data, e, app, values, actor=user.user_id)
    if decided is not None:
        notify_decision(session, settings, data, e, decision=decided, reason=app.reason,
                        title=titles(session).get(e.policy_id, e.policy_id))
    return application_public(app)
