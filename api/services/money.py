"""Money on pages, in exports and in reports: amounts are summed in integer fen (each
entitlement's amount rounded half up to the fen first), and shown in yuan from the fen.

>>> import polars as pl
>>> pl.DataFrame({"a": [0.125, 1.005, None]}).select(to_fen(pl.col("a")))["a"].to_list()
[13, 101, None]
>>> yuan_of_fen(1372651), fen_of(331918.14800000004)
(13726.51, Decimal('331918.15'))
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import polars as pl


def to_fen(amount: pl.Expr) -> pl.Expr:
    """Yuan (float) to integer fen, half up (amounts are never negative): first to a tenth of
    a fen, which drops the float noise of a computed amount (1.005 is 1.00499999…), then half
    up to the fen."""
    return ((amount * 1000).round(0).cast(pl.Int64) + 5) // 10


def yuan_of_fen(fen: int | None) -> float:
    """Yuan from integer fen; the float prints exactly as the amount to the fen."""
    return float(Decimal(int(fen or 0)) / 100)


def decimal_of_fen(fen: int | None) -> Decimal:
    """Yuan with two decimals from integer fen.

    >>> decimal_of_fen(1234500)
    Decimal('12345.00')
    """
    return (Decimal(int(fen or 0)) / 100).quantize(Decimal("0.01"))


def fen_of(value: float | None) -> Decimal | None:
    """An amount in yuan as an exact Decimal to the fen (half up); None stays None."""
    if value is None:
        return None
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
