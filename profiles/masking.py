"""Masking of personal data for messages, rejects tables and pages.

Scalars and polars expressions give the same result.

>>> mask_id("310101199001011234")
'3101**********1234'
>>> mask_phone("13800000000")
'138****0000'
>>> mask_name("张三丰")
'张**'
>>> mask_id(None) is None
True
"""

from __future__ import annotations

import polars as pl


def _mask(s: str | None, *, head: int, tail: int) -> str | None:
    if s is None:
        return None
    if len(s) <= head + tail:
        return "*" * len(s)
    return s[:head] + "*" * (len(s) - head - tail) + s[len(s) - tail :]


def mask_id(s: str | None) -> str | None:
    """An ID number with all but the first 4 and last 4 characters hidden."""
    return _mask(s, head=4, tail=4)


def mask_phone(s: str | None) -> str | None:
    """A phone number with all but the first 3 and last 4 digits hidden."""
    return _mask(s, head=3, tail=4)


def mask_name(s: str | None) -> str | None:
    """A person's name with all but the first character hidden."""
    return _mask(s, head=1, tail=0)


def mask_expr(expr: pl.Expr, *, head: int, tail: int) -> pl.Expr:
    """The polars counterpart of the scalar masks (``head``/``tail`` characters kept).

    >>> df = pl.DataFrame({"p": ["13800000000", "12", None]})
    >>> df.select(mask_expr(pl.col("p"), head=3, tail=4)).to_series().to_list()
    ['138****0000', '**', None]
    """
    n = expr.str.len_chars()
    middle = pl.concat_str(
        [
            expr.str.slice(0, head),
            pl.lit("*").repeat_by(n - head - tail).list.join(""),
            expr.str.slice(-tail, tail) if tail else pl.lit(""),
        ]
    )
    short = pl.lit("*").repeat_by(n).list.join("")
    return pl.when(expr.is_null()).then(None).when(n <= head + tail).then(short).otherwise(middle)
