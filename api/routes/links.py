"""One-click links (一键享): ``/l/<id>`` from a message opens that one benefit without a
password — what, how much, why, and the one action the link was made for (confirm, or the
pre-filled application). Nothing else is reachable through it. An unknown, tampered, expired
or used link gets a page that says so in Chinese and offers login."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from api.deps import DataDep, FormDep, SessionDep, SettingsDep, WriteSessionDep
from api.routes.pages import render
from api.services.answers import parse_answers
from api.services.benefits import (
    application_public,
    benefit_detail,
    confirm,
    open_application,
    submit_application,
    titles,
    to_fill_fields,
)
from api.services.errors import ApiError
from api.services.notify import link_config, notify_decision
from api.services.population import DataAccess
from api.settings import Settings
from notifier.links import LinkInvalid, ResolvedLink, resolve
from store import entitlements as entitlement_store
from store import links as link_store
from store.types import utcnow

router = APIRouter(include_in_schema=False)
ACTOR = "link"
INVALID: dict[str, tuple[int, str, str]] = {
    "unknown": (404, "链接无效", "没有找到这个链接，请核对短信或邮件中的地址。"),
    "tampered": (400, "链接已被改动", "这个链接的签名校验未通过，可能被改动过，无法使用。"),
    "expired": (410, "链接已过期",
                "为保护您的信息安全，一键链接在发出后一段时间内有效，这个链接已过期。"),
    "used": (410, "链接已使用", "这个一键链接已经办理过（每个链接只能办理一次）。"),
}


def _invalid(request: Request, why: str) -> HTMLResponse:
    status, title, message = INVALID.get(why, INVALID["unknown"])
    response = render(request, "link_invalid.html", None, why=why, title=title, message=message)
    response.status_code = status
    return response


def _resolve(session: Session, settings: Settings, lid: str) -> ResolvedLink:
    return resolve(session, link_config(settings).signer, lid, now=utcnow())


def _page(request: Request, session: Session, data: DataAccess, link: ResolvedLink, *,
          done: str | None = None, errors: dict[str, str] | None = None,
          values: dict[str, Any] | None = None, error: str | None = None,
          status: int = 200) -> HTMLResponse:
    from api.auth import Principal
    from api.routes.matches import explain_entitlement

    e = entitlement_store.get(session, link.record.entitlement_id)
    reader = Principal(user_id=ACTOR, role="citizen" if e.entity_kind == "person" else
                       "enterprise", display_name="", entity_kind=e.entity_kind,
                       entity_id=e.entity_id)
    try:
        explanation = explain_entitlement(reader, data, session, e).model_dump()
    except ApiError:
        explanation = None
    application = None
    if link.claims.purpose == "apply":
        try:
            application = application_public(open_application(session, data, e, actor=ACTOR))
        except ApiError:
            application = None
    response = render(request, "link.html", None, benefit=benefit_detail(session, e),
                      explanation=explanation, application=application,
                      purpose=link.claims.purpose, link_id=link.record.id, done=done,
                      errors=errors, values=values, error=error)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.get("/l/{lid}", response_class=HTMLResponse)
def open_link(lid: str, request: Request, session: WriteSessionDep, data: DataDep,
              settings: SettingsDep) -> HTMLResponse:
    try:
        link = _resolve(session, settings, lid)
    except LinkInvalid as exc:
        return _invalid(request, exc.why)
    return _page(request, session, data, link)


@router.post("/l/{lid}/confirm", response_class=HTMLResponse)
def confirm_by_link(lid: str, request: Request, session: SessionDep, data: DataDep,
                    settings: SettingsDep, form: FormDep) -> HTMLResponse:
    try:
        link = _resolve(session, settings, lid)
    except LinkInvalid as exc:
        return _invalid(request, exc.why)
    if link.claims.purpose != "confirm":
        return _invalid(request, "tampered")
    e = entitlement_store.get(session, link.record.entitlement_id)
    try:
        confirm(session, e, actor=ACTOR, account=form.get("account") or None)
    except ApiError as exc:
        return _page(request, session, data, link, error=exc.message, status=409)
    if not link_store.mark_used(session, lid, now=utcnow()):
        session.rollback()
        return _invalid(request, "used")
    return _page(request, session, data, link,
                 done="已确认。资金将按规定发放，以后各期自动沿用本次确认。")


@router.post("/l/{lid}/application", response_class=HTMLResponse)
def apply_by_link(lid: str, request: Request, session: SessionDep, data: DataDep,
                  settings: SettingsDep, form: FormDep) -> HTMLResponse:
    try:
        link = _resolve(session, settings, lid)
    except LinkInvalid as exc:
        return _invalid(request, exc.why)
    if link.claims.purpose != "apply":
        return _invalid(request, "tampered")
    e = entitlement_store.get(session, link.record.entitlement_id)
    app = open_application(session, data, e, actor=ACTOR)
    values, problems = parse_answers(to_fill_fields(app), form)
    if problems:
        return _page(request, session, data, link, errors=problems, values=form, status=422)
    try:
        app, e, decided = submit_application(session, data, e, app, values, actor=ACTOR)
    except ApiError as exc:
        return _page(request, session, data, link, error=exc.message, status=409)
    if not link_store.mark_used(session, lid, now=utcnow()):
        session.rollback()
        return _invalid(request, "used")
    if decided is not None:
        notify_decision(session, settings, data, e, decision=decided, reason=app.reason,
                        title=titles(session).get(e.policy_id, e.policy_id))
    done = {"approved": "申请已提交，系统已即时审批通过（秒批）。",
            "rejected": f"申请已提交。根据您填写的信息，系统判定暂不符合：{app.reason}"}.get(
        decided or "", "申请已提交，已进入审核队列；审核结果会通过您的接收渠道通知您。")
    return _page(request, session, data, link, done=done)
