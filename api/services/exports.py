"""CSV and Excel files of the take-up dashboard and of a public notice list, with Chinese
headers and money to the fen (as text in CSV, as numbers with two decimals in Excel).

CSV files start with a UTF-8 byte-order mark so that Excel opens the Chinese correctly."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from api.services.labels import zh
from api.services.takeup import CHANNELS

Column = tuple[str, Callable[[dict[str, Any]], Any]]
Sheet = tuple[str, Sequence[Column], Sequence[dict[str, Any]]]


def _channel(channel: str, what: str) -> Callable[[dict[str, Any]], Any]:
    return lambda r: r["channels"][channel][what]


def _counts() -> list[Column]:
    cols: list[Column] = [
        ("匹配", lambda r: r["matched"]), ("符合", lambda r: r["eligible"]),
        ("待确认", lambda r: r["undetermined"]), ("已通知", lambda r: r["notified"]),
    ]
    for c in CHANNELS:
        cols.append((f"{zh('channel', c)}送达", _channel(c, "delivered")))
        cols.append((f"{zh('channel', c)}失败", _channel(c, "failed")))
    cols += [
        ("已确认", lambda r: r["confirmed"]), ("已申请", lambda r: r["applied"]),
        ("申请已批准", lambda r: r["approved"]), ("已兑现", lambda r: r["paid"]),
        ("已放弃", lambda r: r["declined"]), ("异议", lambda r: r["objections"]),
        ("已撤销", lambda r: r["revoked"]), ("预算不足候补", lambda r: r["over_budget"]),
        ("应兑现金额(元)", lambda r: Decimal(r["cost"])),
        ("已兑现金额(元)", lambda r: Decimal(r["paid_amount"])),
        ("金额待核定", lambda r: r["unknown_amounts"]),
    ]
    return cols


def takeup_sheets(report: dict[str, Any]) -> list[Sheet]:
    policy_cols: list[Column] = [
        ("政策编号", lambda r: r["policy_id"]), ("政策名称", lambda r: r["title"]),
        ("对象", lambda r: zh("entity", r["entity"])),
        ("兑现方式", lambda r: zh("delivery", r["delivery"])),
        ("周期", lambda r: zh("period", r["period"])), *_counts(),
        ("预算(元)", lambda r: Decimal(r["budget"]) if r.get("budget") else None),
        ("预算使用率", lambda r: f"{r['budget_used']:.1%}" if r.get("budget_used") is not None
         else None),
    ]
    sheets: list[Sheet] = [("政策兑现汇总", policy_cols, report["policies"]),
                           ("按区划", [("区划", lambda r: r["group"]),
                                    ("区划代码", lambda r: r["code"]), *_counts()],
                            report["by_district"])]
    if report["by_industry"]:
        sheets.append(("按行业", [("行业(GB/T 4754 大类)", lambda r: r["group"]),
                                ("大类代码", lambda r: r["code"]), *_counts()],
                       report["by_industry"]))
    return sheets


def notice_sheets(notice: dict[str, Any]) -> list[Sheet]:
    cols: list[Column] = [
        ("序号", lambda r: r["no"]), ("名称", lambda r: r["name"]),
        ("证件号码", lambda r: r["id"]), ("区划", lambda r: r["district"]),
        ("期间", lambda r: r["period"]),
        ("金额(元)", lambda r: Decimal(r["amount"]) if r["amount"] else None),
        ("状态", lambda r: r["status"]),
    ]
    return [("公示名单", cols, notice["rows"])]


def to_csv(sheets: Sequence[Sheet]) -> bytes:
    """All sheets in one CSV, each after a line with its title."""
    out = io.StringIO()
    writer = csv.writer(out)
    for i, (title, cols, rows) in enumerate(sheets):
        if i:
            writer.writerow([])
        writer.writerow([title])
        writer.writerow([h for h, _ in cols])
        for r in rows:
            writer.writerow(["" if (v := get(r)) is None else (f"{v:.2f}" if isinstance(
                v, Decimal) else v) for _, get in cols])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheets: Sequence[Sheet]) -> bytes:
    """One worksheet per sheet; money as numbers shown with two decimals."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#F0F4F8"})
    money = book.add_format({"num_format": "#,##0.00"})
    for title, cols, rows in sheets:
        ws = book.add_worksheet(title[:31])
        for c, (header, _) in enumerate(cols):
            ws.write(0, c, header, bold)
            ws.set_column(c, c, max(10, len(header) * 2 + 2))
        for r_i, row in enumerate(rows, start=1):
            for c, (_, get) in enumerate(cols):
                value = get(row)
                if isinstance(value, Decimal):
                    ws.write_number(r_i, c, float(value), money)
                elif value is not None:
                    ws.write(r_i, c, value)
        ws.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue()
