"""Money: integer fen everywhere, one rounding rule, one way to read an amount.

An amount formula computes yuan in binary floating point. Its result is rounded **once, at the
end, half away from zero to the fen** ("四舍五入到分"); binary noise below a millionth of a fen
is ignored, so ``331918.14800000004`` yuan is 33 191 815 fen and ``0.145`` yuan is 15 fen.
From there on an amount is an integer number of fen (``None`` = UNKNOWN, never 0): in the
matcher's output (``amount_fen``), the database, messages, pages, CSV and the API. For display
it becomes a :class:`~decimal.Decimal` of yuan, never a float.

This module lives in ``store`` because the store is the one package every layer may import
(DESIGN §8) and it keeps amounts as integer fen.

>>> yuan_to_fen(331918.14800000004), yuan_to_fen(0.145), yuan_to_fen(-2.005), yuan_to_fen(None)
(33191815, 15, -201, None)
>>> fen_to_yuan(33191815)
Decimal('331918.15')
>>> format_fen(33191815), format_fen(150000, period="month"), format_fen(None)
('331,918.15 元', '1,500.00 元/月', '待核定')
>>> wan_text(3_200_000)
'3.2 万元'
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl

UNKNOWN_AMOUNT = "待核定"
NO_AMOUNT = "不涉及金额"  # a benefit without money (a certification, a status)
PERIOD_SUFFIX = {"once": "(一次性)", "month": "/月", "year": "/年"}
PERIOD_LABELS = {"once": "一次性", "month": "每月", "year": "每年"}
_NOISE = 1e-6  # of a fen: binary floating-point error, never a real amount


def yuan_to_fen(yuan: float | int | Decimal | None) -> int | None:
    """The rounding rule: yuan -> integer fen, half away from zero; None/NaN -> None."""
    if yuan is None:
        return None
    if isinstance(yuan, Decimal):
        return int((yuan * 100).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    value = float(yuan)
    if math.isnan(value) or math.isinf(value):
        return None
    scaled = math.floor(abs(value) * 100.0 + 0.5 + _NOISE)
    return -scaled if value < 0 else scaled


def fen_expr(yuan: pl.Expr) -> pl.Expr:
    """The rounding rule as a polars expression (Float64 yuan -> Int64 fen; null stays null,
    NaN and infinities become null). Gives the same fen as :func:`yuan_to_fen`.

    >>> import polars as pl
    >>> df = pl.DataFrame({"y": [331918.14800000004, 0.145, -2.005, None]})
    >>> df.select(fen_expr(pl.col("y")).alias("f"))["f"].to_list()
    [33191815, 15, -201, None]
    """
    import polars as pl

    value = yuan.cast(pl.Float64)
    scaled = (value.abs() * 100.0 + 0.5 + _NOISE).floor()
    # a finite value's sign is exactly -1, 0 or 1 (-0.0 gives 0 fen); not finite -> null
    return pl.when(value.is_finite()).then(scaled * value.sign()).cast(pl.Int64)


def yuan_text_expr(fen: pl.Expr) -> pl.Expr:
    """Integer fen -> exact yuan text with two decimals ("1500.00"), vectorised, for CSV.

    >>> import polars as pl
    >>> df = pl.DataFrame({"f": [150000, 5, -201, None]})
    >>> df.select(yuan_text_expr(pl.col("f")).alias("y"))["y"].to_list()
    ['1500.00', '0.05', '-2.01', None]
    """
    import polars as pl

    whole = (fen.abs() // 100).cast(pl.String)
    cents = (fen.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(sign, whole, pl.lit("."), cents)


def fen_to_yuan(fen: int | None) -> Decimal | None:
    """Integer fen -> exact Decimal yuan (two places)."""
    if fen is None:
        return None
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def yuan_of_fen(fen: int | None) -> float:
    """Yuan as a JSON number from integer fen (None counts as 0): a float that prints exactly
    as the amount to the fen (for reports that chart or sum yuan; sums stay in fen).

    >>> yuan_of_fen(1372651), yuan_of_fen(None)
    (13726.51, 0.0)
    """
    return float(Decimal(int(fen or 0)) / 100)


def format_fen(fen: int | None, *, period: str | None = None) -> str:
    """An amount as a person reads it: ``1,500.00 元/月``; UNKNOWN reads 待核定, never 0."""
    yuan = fen_to_yuan(fen)
    if yuan is None:
        return UNKNOWN_AMOUNT
    return f"{yuan:,.2f} 元" + PERIOD_SUFFIX.get(period or "", "")


#: How each kind of amount reads (rules.model.AmountKind): money paid, tax not paid, an amount
#: deducted from taxable income (not money received), a benefit in kind valued in yuan.
KIND_WORDS = {"cash": "{}", "tax_saving": "预计减免税款 {}", "deduction": "可在个税中扣除 {}",
              "in_kind": "实物或服务，折合 {}"}
#: The same in an SMS, where every character counts.
KIND_SHORT_WORDS = {"cash": "{}", "tax_saving": "减税{}", "deduction": "可扣除{}",
                    "in_kind": "折合{}"}
#: How a benefit of each kind reaches its holder: only cash is "paid" (发放).
KIND_RECEIPT = {"cash": "资金将直接发放至您的收款账户", "tax_saving": "申报纳税时直接减免",
                "deduction": "申报个税时按此扣除", "in_kind": "将按规定提供实物或服务"}


def amount_text(fen: int | None, *, period: str | None, kind: str = "cash") -> str:
    """How a benefit's amount reads: a benefit without an amount period has no money
    (不涉及金额); one with a period and no figure yet is 待核定; a deduction is never worded
    as money received.

    >>> amount_text(None, period=None), amount_text(None, period="year")
    ('不涉及金额', '待核定')
    >>> amount_text(200000, period="month", kind="deduction")
    '可在个税中扣除 2,000.00 元/月'
    """
    if period is None and fen is None:
        return NO_AMOUNT
    return KIND_WORDS.get(kind, "{}").format(format_fen(fen, period=period))


def wan_text(fen: int) -> str:
    """A large amount in 万元 (one or two decimals as needed), small ones in 元: for distances
    in words ("超出 3.2 万元").

    >>> wan_text(1_234_500), wan_text(50_000), wan_text(12_345)
    ('1.23 万元', '500 元', '123.45 元')
    """
    yuan = Decimal(int(fen)) / 100
    if abs(yuan) >= 10_000:
        wan = (yuan / 10_000).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP").normalize()
        return f"{wan:f} 万元"
    text = f"{yuan.quantize(Decimal('0.01')):f}"
    return (text[:-3] if text.endswith(".00") else text) + " 元"
