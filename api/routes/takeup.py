"""The take-up dashboard (政策兑现) and public notice lists (公示名单): JSON, CSV and Excel for
the staff, and their pages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import DataDep, SessionDep, Staff
from api.routes.pages import STAFF_ROLES, page_user, render
from api.services.exports import notice_sheets, takeup_sheets, to_csv, to_xlsx
from api.services.takeup import CHANNELS, notice_list, takeup_report

router = APIRouter(tags=["takeup"])
PolicyQuery = Annotated[str | None, Query(alias="policy", max_length=100)]
MEDIA = {"csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _file(content: bytes, fmt: str, name: str) -> Response:
    from urllib.parse import quote

    filename = f"{name}.{fmt}"
    return Response(content, media_type=MEDIA[fmt], headers={
        "Content-Disposition": f"attachment; filename=takeup.{fmt}; "
                               f"filename*=UTF-8''{quote(filename)}"})


@router.get("/api/takeup")
def takeup(session: SessionDep, data: DataDep, _user: Staff,
           policy: PolicyQuery = None) -> dict[str, Any]:
    """政策兑现：匹配、按渠道通知(送达/失败)、确认、申请、批准、兑现、放弃、异议、预算不足，
    应兑现金额与预算；总体、分政策，并按区划和行业(GB/T 2260 / GB/T 4754 名称)统计。"""
    return takeup_report(data, session, policy_id=policy)


@router.get("/api/takeup/export.{fmt}")
def takeup_export(fmt: Literal["csv", "xlsx"], session: SessionDep, data: DataDep,
                  _user: Staff, policy: PolicyQuery = None) -> Response:
    """导出政策兑现统计（CSV 或 Excel）。"""
    sheets = takeup_sheets(takeup_report(data, session, policy_id=policy))
    content = to_csv(sheets) if fmt == "csv" else to_xlsx(sheets)
    return _file(content, fmt, f"政策兑现-{policy or '全部'}")


@router.get("/api/takeup/{policy_id}/notice")
def notice(policy_id: str, session: SessionDep, data: DataDep, _user: Staff) -> dict[str, Any]:
    """公示名单（个人姓名和证件号码已脱敏）；无需公示的政策返回 needed=false。"""
    return notice_list(data, session, policy_id)


@router.get("/api/takeup/{policy_id}/notice.{fmt}")
def notice_export(policy_id: str, fmt: Literal["csv", "xlsx"], session: SessionDep,
                  data: DataDep, _user: Staff) -> Response:
    """导出公示名单（CSV 或 Excel）。"""
    sheets = notice_sheets(notice_list(data, session, policy_id))
    content = to_csv(sheets) if fmt == "csv" else to_xlsx(sheets)
    return _file(content, fmt, f"公示名单-{policy_id}")


# ---- pages ----------------------------------------------------------------------------------


StaffPage = Annotated[Any, page_user(*STAFF_ROLES)]


def _page(request: Request, session: SessionDep, data: DataDep, user: Any,
          policy_id: str | None) -> HTMLResponse:
    report = takeup_report(data, session, policy_id=policy_id)
    return render(request, "takeup.html", user, report=report, channels=CHANNELS,
                  policy_id=policy_id)


@router.get("/officer/takeup", response_class=HTMLResponse, include_in_schema=False)
def takeup_page(request: Request, session: SessionDep, data: DataDep,
                user: StaffPage) -> HTMLResponse:
    return _page(request, session, data, user, None)


@router.get("/officer/takeup/{policy_id}", response_class=HTMLResponse, include_in_schema=False)
def takeup_policy_page(policy_id: str, request: Request, session: SessionDep, data: DataDep,
                       user: StaffPage) -> HTMLResponse:
    return _page(request, session, data, user, policy_id)


@router.get("/officer/takeup/{policy_id}/notice", response_class=HTMLResponse,
            include_in_schema=False)
def notice_page(policy_id: str, request: Request, session: SessionDep, data: DataDep,
                user: StaffPage) -> HTMLResponse:
    return render(request, "notice.html", user, notice=notice_list(data, session, policy_id))
