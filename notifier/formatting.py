"""How amounts and profile values read in messages (Simplified Chinese).

>>> format_value(0.055, type_="float", unit="ratio")
'5.50%'
>>> format_value(331918.14800000004, type_="float", unit="yuan")
'331,918.15 元'
>>> format_value(12, type_="int", unit="person", unit_label="人")
'12 人'
>>> format_value(None, type_="date", empty="not_listed")
'未列入名单'
"""

from __future__ import annotations

import datetime as dt

from notifier.masking import mask_email, mask_id, mask_name, mask_phone
from store.money import format_fen, yuan_to_fen


def format_value(
    value: object,
    *,
    type_: str,
    unit: str | None = None,
    empty: str = "unknown",
    unit_label: str | None = None,
) -> str:
    """A profile value as a person reads it; None reads 未知, or 无 for list-type fields.
    Money (unit ``yuan``) reads to the fen by the store's rounding rule; ``unit_label`` (the
    catalog's, e.g. 人) follows other numbers."""
    if value is None:
        return "未列入名单" if empty == "not_listed" else "未知"
    if isinstance(value, bool) or type_ == "bool":
        return "是" if value else "否"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if unit == "yuan":
            return format_fen(yuan_to_fen(value))
        if unit == "ratio":
            return f"{float(value) * 100:.2f}%"
        word = f" {unit_label}" if unit_label else ""
        if isinstance(value, float) and value.is_integer() and type_ == "int":
            return f"{int(value)}{word}"
        return (f"{value:,}" if isinstance(value, int) else f"{value:,.2f}") + word
    return str(value)


def mask_personal(name: str, value: object) -> object:
    """A personal field's value masked by what it is (ID number, phone, name)."""
    if value is None:
        return None
    text = str(value)
    if "phone" in name:
        return mask_phone(text)
    if "email" in name:
        return mask_email(text)
    if name in ("name", "display_name"):
        return mask_name(text)
    return mask_id(text)
