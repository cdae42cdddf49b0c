"""Server-rendered pages (Simplified Chinese). Data shown at load comes from the store and the
latest run; actions go through the JSON API from ``static/app.js`` with the login cookie.

officer: policy list, editor with live validation and the simulate panel, run dashboard;
reviewer: review queue and objections; enterprise / citizen: 我的惠企政策 / 我的待遇, with
one-click confirm, 为什么我符合 / 差在哪, objection and application forms."""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.auth import ROLE_LABELS, Principal
from api.deps import (
    COOKIE_NAME,
    DataDep,
    EngineDep,
    FormDep,
    MaybeUser,
    SessionDep,
    SettingsDep,
    WriteSessionDep,
)
from api.routes.policies import history, list_policies
from api.services.benefits import STATUS_LABELS as BENEFIT_STATUS_LABELS
from api.services.benefits import benefit_detail, benefit_public, own_entitlement, titles
from api.services.errors import ApiError
from api.services.labels import RUN_LABELS, VERSION_STATUS_LABELS, zh
from profiles.masking import mask_id
from store import entitlements as entitlement_store
from store import policies as policy_store
from store import runs as run_store

router = APIRouter(include_in_schema=False)
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "pages" / "templates"
HOME = {"officer": "/officer/policies", "reviewer": "/reviewer", "admin": "/officer/runs",
        "enterprise": "/me", "citizen": "/me"}
STAFF_ROLES = ("officer", "reviewer", "admin")
NEW_POLICY = """\
id: my-new-policy
title: 新政策
entity: enterprise
basis:
  document: 文号
  clause: 第一条
effective: {from: 2025-01-01, to: 2025-12-31}
delivery: direct
eligibility:
  all:
    - {when: status = "存续", label: 登记状态为存续}
"""


@cache
def templates() -> Jinja2Templates:
    t = Jinja2Templates(directory=str(TEMPLATES_DIR))
    t.env.filters["zh"] = lambda value, vocabulary: zh(vocabulary, value)
    t.env.filters["yuan"] = money_text
    return t


def money_text(value: object) -> str:
    """An amount in yuan for a page: to the fen, thousands separated; 待核定 when unknown."""
    if value is None:
        return "待核定"
    from decimal import ROUND_HALF_UP, Decimal

    fen = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{fen:,.2f} 元"


def wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api") and "text/html" in request.headers.get(
        "accept", "")


def page_user(*roles: str) -> Any:
    def check(principal: MaybeUser) -> Principal:
        if principal is None:
            raise HTTPException(status_code=401, detail="未登录或登录已过期")
        if not principal.has_role(*roles):
            raise HTTPException(status_code=403, detail="当前角色无权访问此页面")
        return principal

    return Depends(check)


def shown_user(user: Principal) -> dict[str, Any]:
    roles = [user.role, *sorted(user.extra_roles)]
    return {"name": user.display_name, "role": "、".join(ROLE_LABELS.get(r, r) for r in roles),
            "role_code": user.role, "roles": roles}


def render(request: Request, name: str, user: Principal | None, *, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    shown = shown_user(user) if user is not None else None
    tz = ZoneInfo(request.app.state.settings.timezone)  # times shown in the local zone
    return templates().TemplateResponse(request, name, {"user": shown, "tz": tz, **context},
                                        status_code=status_code)


def render_error(request: Request, *, status: int, message: str,
                 headers: dict[str, str] | None = None) -> HTMLResponse:
    """The error page a browser gets (an API client gets JSON)."""
    response = templates().TemplateResponse(
        request, "error.html", {"user": None, "status": status, "message": message},
        status_code=status)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


@router.get("/", response_class=HTMLResponse)
def home(user: MaybeUser) -> Response:
    return RedirectResponse(HOME[user.role] if user else "/login", status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    return render(request, "login.html", None, error=None)


@router.post("/login", response_class=HTMLResponse)
def login_form(request: Request, settings: SettingsDep, engine: EngineDep,
               form: FormDep) -> Response:
    from api.routes.auth import login_principal

    username = form.get("username", "")
    password = form.get("password", "")
    try:
        principal, token = login_principal(request, settings, engine, username, password)
    except HTTPException as exc:
        return templates().TemplateResponse(request, "login.html",
                                            {"user": None, "error": exc.detail},
                                            status_code=exc.status_code)
    response = RedirectResponse(HOME[principal.role], status_code=303)
    response.set_cookie(COOKIE_NAME, token, max_age=settings.token_ttl_seconds, httponly=True,
                        samesite="strict", secure=settings.environment == "production")
    return response


@router.post("/logout")
def logout(request: Request, engine: EngineDep) -> Response:
    from api.routes.auth import revoke_request_token

    revoke_request_token(request, engine)  # the cookie's token is void from now on
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE_NAME)
    return response


Officer = Annotated[Principal, page_user(*STAFF_ROLES)]
Reviewer = Annotated[Principal, page_user("reviewer", "admin")]
Entity = Annotated[Principal, page_user("enterprise", "citizen")]


@router.get("/officer/policies", response_class=HTMLResponse)
def policies_page(request: Request, session: SessionDep, user: Officer) -> HTMLResponse:
    return render(request, "officer_policies.html", user, policies=list_policies(session, user))


@router.get("/officer/library", response_class=HTMLResponse)
def library_page(request: Request, user: Officer,
                 as_of: dt.date | None = None) -> HTMLResponse:
    """政策库覆盖表: the bundled library as docs/library.md shows it (as of a date)."""
    from rules.coverage import coverage_rows
    from rules.loader import bundled_library

    when = as_of or dt.date.today()
    rows = coverage_rows(bundled_library(), as_of=when)
    return render(request, "officer_library.html", user, rows=rows, as_of=when)


@router.get("/officer/policies/new", response_class=HTMLResponse)
def new_policy_page(request: Request, user: Officer) -> HTMLResponse:
    return render(request, "officer_editor.html", user, policy_id=None, text=NEW_POLICY,
                  version=None, versions=[], can_edit=user.has_role("officer"))


@router.get("/officer/policies/{policy_id}", response_class=HTMLResponse)
def editor_page(policy_id: str, request: Request, session: SessionDep,
                user: Officer) -> HTMLResponse:
    versions = history(session, policy_id)
    if not versions:
        raise HTTPException(status_code=404, detail="政策不存在")
    latest = versions[-1]
    return render(request, "officer_editor.html", user, policy_id=policy_id, text=latest.text,
                  version=latest, versions=versions, can_edit=user.has_role("officer"))


@router.get("/officer/runs", response_class=HTMLResponse)
def runs_page(request: Request, session: SessionDep, user: Officer) -> HTMLResponse:
    runs = run_store.list_runs(session, limit=30)
    counts = {kind: entitlement_store.count_by_status(session, entity_kind=kind)
              for kind in ("enterprise", "person")}
    return render(request, "officer_runs.html", user, runs=runs, counts=counts,
                  is_admin=user.has_role("admin"), status_labels=BENEFIT_STATUS_LABELS,
                  run_labels=RUN_LABELS)


@router.get("/reviewer/versions/{version_id}", response_class=HTMLResponse)
def review_page(version_id: int, request: Request, session: SessionDep,
                user: Reviewer) -> HTMLResponse:
    """One version under review: the diff, the impact (loaded by the page) and the decision."""
    from api.routes.reviews import decision_block

    try:
        v = policy_store.get_version(session, version_id)
    except LookupError:
        raise HTTPException(status_code=404, detail="该政策版本不存在") from None
    block = decision_block(session, user, version_id)
    return render(request, "review.html", user, version=v, title=titles(session).get(
        v.policy_id, v.policy_id), status_label=VERSION_STATUS_LABELS[v.status], block=block,
        versions=history(session, v.policy_id))


@router.get("/reviewer", response_class=HTMLResponse)
def reviewer_page(request: Request, session: SessionDep, user: Reviewer) -> HTMLResponse:
    versions = [v for v in policy_store.list_versions(session)
                if v.status in ("in_review", "scheduled")]
    reviews = policy_store.last_reviews(session, [v.id for v in versions])
    queue = [v for v in versions if v.status == "in_review"]
    scheduled = [(v, reviews.get(v.id)) for v in versions if v.status == "scheduled"]
    names = titles(session)
    objections = []
    for e in entitlement_store.list_entitlements(session, status="objected"):
        b = benefit_public(e, names)
        if b.entity_kind == "person":
            b = b.model_copy(update={"entity_id": mask_id(b.entity_id) or ""})
        objections.append(b)
    return render(request, "reviewer.html", user, queue=queue, scheduled=scheduled,
                  objections=objections, names=names)


@router.get("/me", response_class=HTMLResponse)
def my_page(request: Request, session: SessionDep, user: Entity) -> HTMLResponse:
    from api.services.benefits import policy_cards

    assert user.entity_kind and user.entity_id
    cards = policy_cards(session, entity_kind=user.entity_kind, entity_id=user.entity_id)
    title = "我的惠企政策" if user.role == "enterprise" else "我的惠民待遇"
    return render(request, "me.html", user, title=title, cards=cards)


@router.get("/me/benefits/{entitlement_id}", response_class=HTMLResponse)
def benefit_page(entitlement_id: int, request: Request, session: SessionDep, data: DataDep,
                 user: Entity) -> HTMLResponse:
    from api.routes.matches import explain_entitlement
    from api.services.benefits import policy_cards

    try:
        e = own_entitlement(session, user, entitlement_id)
    except ApiError as exc:
        raise HTTPException(status_code=404, detail=exc.message) from None
    try:
        explanation = explain_entitlement(user, data, session, e).model_dump()
    except ApiError:
        explanation = None
    cards = policy_cards(session, entity_kind=e.entity_kind, entity_id=e.entity_id)
    card = next(c for c in cards if c.current.policy_id == e.policy_id)
    return render(request, "benefit.html", user, benefit=benefit_detail(session, e),
                  explanation=explanation, card=card)


@router.get("/me/benefits/{entitlement_id}/application", response_class=HTMLResponse)
def application_page(entitlement_id: int, request: Request, session: WriteSessionDep,
                     data: DataDep, user: Entity) -> HTMLResponse:
    from api.services.benefits import application_public, open_application

    try:
        e = own_entitlement(session, user, entitlement_id)
        app = open_application(session, data, e, actor=user.user_id)
    except ApiError as exc:
        raise HTTPException(status_code=exc.status, detail=exc.message) from None
    benefit = benefit_public(e, titles(session))
    return render(request, "application.html", user, benefit=benefit,
                  application=application_public(app))


@router.get("/me/subscriptions", response_class=HTMLResponse)
def subscriptions_page(request: Request, session: SessionDep, user: Entity) -> HTMLResponse:
    from notifier.channels.registry import specs
    from store import recipients

    assert user.entity_kind and user.entity_id
    prefs = recipients.get_preferences(session, user.entity_kind, user.entity_id)
    hooks = recipients.webhooks_of(session, [(user.entity_kind, user.entity_id)]).get(
        (user.entity_kind, user.entity_id), [])
    return render(request, "subscriptions.html", user, prefs=prefs, webhooks=hooks,
                  channels=[(s.name, s.label) for s in specs()],
                  deliveries=[("direct", "免申即享（直接发放的资金）"),
                              ("notice", "申报即享（已自动享受的税费优惠等）"),
                              ("apply", "依申请（需提交申请的政策）")])


@router.get("/reviewer/applications", response_class=HTMLResponse)
def review_applications_page(request: Request, session: SessionDep,
                             user: Reviewer) -> HTMLResponse:
    from api.routes.applications import review_queue

    return render(request, "reviewer_applications.html", user, queue=review_queue(session))
