"""Masking of personal data: the one rule for messages, rejects tables and pages.

How much of each kind stays visible is defined once here (:data:`KEEP`); the scalar masks and
the polars expression apply the same rule, so a rejects table, a page and a message show an
ID number the same way.

>>> mask_id("310101199001011234")
'3101**********1234'
>>> mask_phone("+86 138-0000-0000")
'138****0000'
>>> mask_name("张三丰")
'张**'
>>> mask_name("李")
'李*'
>>> mask_email("zhang.san@example.cn")
'z***@example.cn'
>>> mask_id(None) is None
True
"""

from __future__ import annotations

import re
from typing import Literal, overload

import polars as pl

Kind = Literal["id_number", "phone", "name"]

# Characters kept visible at the head and the tail of each kind of personal data.
KEEP: dict[Kind, tuple[int, int]] = {"id_number": (4, 4), "phone": (3, 4), "name": (1, 0)}


def _mask(s: str, kind: Kind) -> str:
    head, tail = KEEP[kind]
    if kind == "name" and len(s) == 1:
        return s + "*"  # a one-character name shows its family name only, like longer ones
    if len(s) <= head + tail:
        return "*" * len(s)
    return s[:head] + "*" * (len(s) - head - tail) + s[len(s) - tail:]


@overload
def mask_id(s: str) -> str: ...
@overload
def mask_id(s: None) -> None: ...
def mask_id(s: str | None) -> str | None:
    """An ID number with all but the first 4 and last 4 characters hidden."""
    return None if s is None else _mask(s.strip(), "id_number")


@overload
def mask_phone(s: str) -> str: ...
@overload
def mask_phone(s: None) -> None: ...
def mask_phone(s: str | None) -> str | None:
    """A phone number (written with or without +86, spaces, dashes) with all but the first 3
    and last 4 digits hidden."""
    if s is None:
        return None
    digits = re.sub(r"\D", "", s)
    if digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return _mask(digits, "phone")


@overload
def mask_name(s: str) -> str: ...
@overload
def mask_name(s: None) -> None: ...
def mask_name(s: str | None) -> str | None:
    """A person's name with all but the first character (the family name) hidden."""
    if s is None:
        return None
    text = s.strip()
    return _mask(text, "name") if text else text


def mask_email(s: str) -> str:
    """Keep the first character of the mailbox and the domain."""
    local, _, domain = s.strip().partition("@")
    return (local[:1] + "***@" + domain) if domain else mask_id(s)


def mask_expr(expr: pl.Expr, kind: Kind) -> pl.Expr:
    """The polars counterpart of the scalar masks of ``kind``.

    >>> df = pl.DataFrame({"p": ["13800000000", "12", None]})
    >>> df.select(mask_expr(pl.col("p"), "phone")).to_series().to_list()
    ['138****0000', '**', None]
    """
    head, tail = KEEP[kind]
    n = expr.str.len_chars()
    middle = pl.concat_str(
        [
            expr.str.slice(0, head),
            pl.lit("*").repeat_by(n - head - tail).list.join(""),
            expr.str.slice(-tail, tail) if tail else pl.lit(""),
        ]
    )
    short = pl.lit("*").repeat_by(n).list.join("")
    if kind == "name":
        short = pl.when(n == 1).then(pl.concat_str([expr, pl.lit("*")])).otherwise(short)
    return pl.when(expr.is_null()).then(None).when(n <= head + tail).then(short).otherwise(middle)
