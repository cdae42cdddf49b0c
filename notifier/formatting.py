"""How amounts and profile values read in messages (Simplified Chinese).

>>> format_amount(1500.0, "once")
'1,500.00 元(一次性)'
>>> format_amount(75, "month")
'75.00 元/月'
>>> format_amount(None, "year")
'待核定'
>>> format_value(0.055, type_="float", unit="ratio")
'5.50%'
>>> format_value(None, type_="date", empty="not_listed")
'无(未列入名单)'
"""

from __future__ import annotations

import datetime as dt
import math

from notifier.masking import mask_id, mask_name, mask_phone

UNKNOWN_AMOUNT = "待核定"
_PERIOD_SUFFIX = {"once": "(一次性)", "month": "/月", "year": "/年"}


def format_amount(amount: float | None, period: str | None) -> str:
    """An amount in yuan with its period; UNKNOWN (None or NaN) reads 待核定, never 0."""
    if amount is None or (isinstance(amount, float) and math.isnan(amount)):
        return UNKNOWN_AMOUNT
    return f"{amount:,.2f} 元" + _PERIOD_SUFFIX.get(period or "", "")


def format_value(
    value: object,
    *,
    type_: str,
    unit: str | None = None,
    empty: str = "unknown",
) -> str:
    """A profile value as a person reads it; None reads 未知, or 无 for list-type fields."""
    if value is None:
        return "无(未列入名单)" if empty == "not_listed" else "未知"
    if isinstance(value, bool) or type_ == "bool":
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if unit == "yuan":
            return f"{float(value):,.2f} 元"
        if unit == "ratio":
            return f"{float(value) * 100:.2f}%"
        if isinstance(value, float) and value.is_integer() and type_ == "int":
            return str(int(value))
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
    return str(value)


def mask_personal(name: str, value: object) -> object:
    """A personal field's value masked by what it is (ID number, phone, name)."""
    if value is None:
        return None
    text = str(value)
    if "phone" in name:
        return mask_phone(text)
    if name in ("name", "display_name"):
        return mask_name(text)
    return mask_id(text)
