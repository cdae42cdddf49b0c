"""中小企业划型 (工信部联企业〔2011〕300号) as a three-valued polars expression.

X = 从业人员 (employees), Y = 营业收入 (operating_revenue), Z = 资产总额 (total_assets). The
table states Y and Z in 万元; the catalog's money is yuan, so thresholds are multiplied by
10 000 here. Tier rule: 大型 unless the SME condition holds; an SME is 中型 when it meets every
medium lower bound, else 小型 when it meets every small lower bound, else 微型 (the 微型
column of the table is exactly the negation of the 小型 bounds).

Three-valued: each comparison with a null input is null and the connectives follow Kleene
logic, so a class is decided whenever the known inputs decide it (an industrial firm with
revenue under 300万 is 微型 whatever its headcount; a firm of unknown industry with 3
employees and 1 yuan of revenue is 微型 under every row of the table); otherwise it is null,
and ``size_class__possible`` still says which classes remain (:mod:`profiles.possible`: a
工业 firm with 5 000万 of revenue and an unknown headcount is an SME: 中型, 小型 or 微型).

Industry from the GB/T 4754-2017 code (4 digits): 01-05 农林牧渔; 06-46 工业; 47-50 建筑;
51 批发; 52 零售; 54-58 交通运输 (53 铁路运输 is excluded from 交通运输业 by the table, so it
falls to 其他未列明); 59 仓储; 60 邮政; 61 住宿; 62 餐饮; 63-64 信息传输; 65 软件和信息技术服务;
7010 房地产开发经营; 7020 物业管理; 71-72 租赁和商务服务; everything else (70xx other than
7010/7020, 金融 66-69, 科研, 居民服务, ...) 其他未列明行业.

>>> df = pl.DataFrame({"industry_code": ["3911", "3911", "5210", None],
...                    "employees": [None, 500, None, 3],
...                    "operating_revenue": [2_000_000.0, 50_000_000.0, 50_000_000.0, 1.0],
...                    "total_assets": [None, None, None, None]})
>>> from profiles.possible import members
>>> out = with_size_class(df).collect()
>>> out["size_class"].to_list()
['微型', '中型', None, '微型']
>>> [members(SIZE_CLASSES, m) for m in out["size_class__possible"]]
[('微型',), ('中型',), ('中型', '小型', '微型'), ('微型',)]
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import cache
from typing import Literal

import polars as pl

from profiles.possible import MASK_DTYPE, possible_column

Indicator = Literal["X", "Y", "Z"]
Bound = tuple[Indicator, float]
WAN = 10_000.0
SIZE_CLASSES = ("大型", "中型", "小型", "微型")
OTHER = "其他未列明行业"
#: the column of the classes still possible (:mod:`profiles.possible`)
POSSIBLE = possible_column("size_class")


@dataclass(frozen=True)
class IndustryRow:
    """One row of the table: SME if any ``sme`` bound is undercut (X < n or Y < n ...);
    medium / small need every bound met (>=). Y and Z in 万元, as printed."""

    industry: str
    sme: tuple[Bound, ...]
    medium: tuple[Bound, ...]
    small: tuple[Bound, ...]


TABLE: tuple[IndustryRow, ...] = (
    IndustryRow("农、林、牧、渔业", (("Y", 20000),), (("Y", 500),), (("Y", 50),)),
    IndustryRow(
        "工业", (("X", 1000), ("Y", 40000)), (("X", 300), ("Y", 2000)), (("X", 20), ("Y", 300))
    ),
    IndustryRow(
        "建筑业", (("Y", 80000), ("Z", 80000)), (("Y", 6000), ("Z", 5000)), (("Y", 300), ("Z", 300))
    ),
    IndustryRow(
        "批发业", (("X", 200), ("Y", 40000)), (("X", 20), ("Y", 5000)), (("X", 5), ("Y", 1000))
    ),
    IndustryRow(
        "零售业", (("X", 300), ("Y", 20000)), (("X", 50), ("Y", 500)), (("X", 10), ("Y", 100))
    ),
    IndustryRow(
        "交通运输业",
        (("X", 1000), ("Y", 30000)),
        (("X", 300), ("Y", 3000)),
        (("X", 20), ("Y", 200)),
    ),
    IndustryRow(
        "仓储业", (("X", 200), ("Y", 30000)), (("X", 100), ("Y", 1000)), (("X", 20), ("Y", 100))
    ),
    IndustryRow(
        "邮政业", (("X", 1000), ("Y", 30000)), (("X", 300), ("Y", 2000)), (("X", 20), ("Y", 100))
    ),
    IndustryRow(
        "住宿业", (("X", 300), ("Y", 10000)), (("X", 100), ("Y", 2000)), (("X", 10), ("Y", 100))
    ),
    IndustryRow(
        "餐饮业", (("X", 300), ("Y", 10000)), (("X", 100), ("Y", 2000)), (("X", 10), ("Y", 100))
    ),
    IndustryRow(
        "信息传输业",
        (("X", 2000), ("Y", 100000)),
        (("X", 100), ("Y", 1000)),
        (("X", 10), ("Y", 100)),
    ),
    IndustryRow(
        "软件和信息技术服务业",
        (("X", 300), ("Y", 10000)),
        (("X", 100), ("Y", 1000)),
        (("X", 10), ("Y", 50)),
    ),
    IndustryRow(
        "房地产开发经营",
        (("Y", 200000), ("Z", 10000)),
        (("Y", 1000), ("Z", 5000)),
        (("Y", 100), ("Z", 2000)),
    ),
    IndustryRow(
        "物业管理", (("X", 1000), ("Y", 5000)), (("X", 300), ("Y", 1000)), (("X", 100), ("Y", 500))
    ),
    IndustryRow(
        "租赁和商务服务业",
        (("X", 300), ("Z", 120000)),
        (("X", 100), ("Z", 8000)),
        (("X", 10), ("Z", 100)),
    ),
    IndustryRow(OTHER, (("X", 300),), (("X", 100),), (("X", 10),)),
)


def _division_map() -> dict[str, str]:
    spans: list[tuple[int, int, str]] = [
        (1, 5, "农、林、牧、渔业"),
        (6, 46, "工业"),
        (47, 50, "建筑业"),
        (51, 51, "批发业"),
        (52, 52, "零售业"),
        (54, 58, "交通运输业"),
        (59, 59, "仓储业"),
        (60, 60, "邮政业"),
        (61, 61, "住宿业"),
        (62, 62, "餐饮业"),
        (63, 64, "信息传输业"),
        (65, 65, "软件和信息技术服务业"),
        (71, 72, "租赁和商务服务业"),
    ]
    out: dict[str, str] = {}
    for first, last, name in spans:
        for d in range(first, last + 1):
            out[f"{d:02d}"] = name
    return out


DIVISIONS = _division_map()
SPECIAL_CODES = {"7010": "房地产开发经营", "7020": "物业管理"}


def industry_expr(code: pl.Expr) -> pl.Expr:
    """The table row (industry name) of a 4-digit GB/T 4754 code; null for a null/bad code."""
    valid = code.str.contains(r"^\d{4}$")
    by_division = code.str.slice(0, 2).replace_strict(
        DIVISIONS, default=OTHER, return_dtype=pl.String
    )
    special = code.replace_strict(SPECIAL_CODES, default=None, return_dtype=pl.String)
    return pl.when(valid).then(special.fill_null(by_division)).otherwise(None)


#: row of the table by position: lookups below are gathers from small constant tables, not
#: ``replace_strict`` (a hash join per expression, ~1 ms per query whatever the row count:
#: an event deriving one row paid ~30 ms for the table's 13 of them)
_ROWS = {r.industry: i for i, r in enumerate(TABLE)}


@cache
def _division_rows() -> pl.Series:
    """Table row of each 2-digit division 00-99 (:data:`DIVISIONS`, else :data:`OTHER`)."""
    return pl.Series([_ROWS[DIVISIONS.get(f"{d:02d}", OTHER)] for d in range(100)],
                     dtype=pl.UInt8)


def industry_row_expr(code: pl.Expr) -> pl.Expr:
    """The index in :data:`TABLE` of :func:`industry_expr`'s row; null for a null/bad code."""
    valid = code.str.contains(r"^\d{4}$")
    division = pl.lit(_division_rows()).gather(
        pl.when(valid).then(code.str.slice(0, 2).cast(pl.UInt8, strict=False)))
    row = division
    for special, industry in SPECIAL_CODES.items():
        row = pl.when(code == special).then(pl.lit(_ROWS[industry], pl.UInt8)).otherwise(row)
    return pl.when(valid).then(row).otherwise(pl.lit(None, pl.UInt8))


@cache
def _thresholds(tier: str, indicator: Indicator) -> pl.Series:
    """Threshold of ``indicator`` in ``tier`` (data units) by row index, null when unused."""
    out: list[float | None] = []
    for row in TABLE:
        bounds = dict(getattr(row, tier))
        out.append(_scale(indicator, bounds[indicator]) if indicator in bounds else None)
    return pl.Series(out, dtype=pl.Float64)


def _scale(indicator: Indicator, threshold: float) -> float:
    return threshold if indicator == "X" else threshold * WAN


def _tier(tier: str, row: pl.Expr, values: dict[Indicator, pl.Expr]) -> pl.Expr:
    """Kleene 'any indicator below' (tier ``sme``) or 'every indicator at least' (others)."""
    out: pl.Expr = pl.lit(tier != "sme")
    for indicator, value in values.items():
        limit = pl.lit(_thresholds(tier, indicator)).gather(row)
        if tier == "sme":
            out = out | pl.when(limit.is_null()).then(False).otherwise(value < limit)
        else:
            out = out & pl.when(limit.is_null()).then(True).otherwise(value >= limit)
    return out


def _possible(sme: pl.Expr, medium: pl.Expr, small: pl.Expr) -> pl.Expr:
    """The mask (:mod:`profiles.possible`, bits in :data:`SIZE_CLASSES` order) of the classes
    the three Kleene tier conditions still allow: 大型 unless SME is TRUE; 中型 unless SME or
    medium is FALSE; 小型 unless SME is FALSE, medium TRUE or small FALSE; 微型 unless SME is
    FALSE or small TRUE."""
    bits = (
        ~sme.fill_null(False),
        sme.fill_null(True) & medium.fill_null(True),
        sme.fill_null(True) & ~medium.fill_null(False) & small.fill_null(True),
        sme.fill_null(True) & ~small.fill_null(False),
    )
    out: pl.Expr = pl.lit(0, dtype=MASK_DTYPE)
    for i, bit in enumerate(bits):
        out = out | (bit.cast(MASK_DTYPE) * pl.lit(1 << i, dtype=MASK_DTYPE))
    return out


@cache
def _class_of_mask() -> pl.Series:
    """The size class of each mask 0..15: the class when exactly one is possible, else null."""
    one = {1 << i: c for i, c in enumerate(SIZE_CLASSES)}
    return pl.Series([one.get(m) for m in range(1 << len(SIZE_CLASSES))], dtype=pl.String)


def _row_tier(tier: str, row: IndustryRow, values: dict[Indicator, pl.Expr]) -> pl.Expr:
    """:func:`_tier` for one row of the table, with its thresholds as literals."""
    out: pl.Expr = pl.lit(tier != "sme")
    for indicator, threshold in getattr(row, tier):
        limit = _scale(indicator, threshold)
        value = values[indicator]
        out = (out | (value < limit)) if tier == "sme" else (out & (value >= limit))
    return out


def _any_industry(values: dict[Indicator, pl.Expr]) -> pl.Expr:
    """The classes still possible when the industry is unknown: those possible under some
    row of the table (a firm tiny on every indicator is 微型 whatever its industry)."""
    masks = [_possible(*(_row_tier(t, row, values) for t in ("sme", "medium", "small")))
             for row in TABLE]
    out = masks[0]
    for mask in masks[1:]:
        out = out | mask
    return out


@cache
def _any_industry_table() -> tuple[dict[Indicator, tuple[float, ...]], pl.Series]:
    """:func:`_any_industry` tabulated once: every comparison in it is ``value < limit`` or
    ``value >= limit`` with a limit of the table, so its mask is constant while each value
    stays between the same two limits (or null). The expression is evaluated on one point
    of each such cell (null, below the first limit, each limit); its masks are looked up by
    cell code, which is the cell's position in the grid:
    a few comparisons per row instead of the whole table's expression graph, whose planning
    alone cost ~13 ms per query (a one-row frame of the event engine paid it per event)."""
    indicators: tuple[Indicator, ...] = ("X", "Y", "Z")
    limits = {ind: tuple(sorted({_scale(i, t) for row in TABLE
                                 for tier in ("sme", "medium", "small")
                                 for i, t in getattr(row, tier) if i == ind}))
              for ind in indicators}
    points = {ind: [None, lim[0] - 1.0, *lim] for ind, lim in limits.items()}
    grid = pl.DataFrame(list(itertools.product(points["X"], points["Y"], points["Z"])),
                        schema={"X": pl.Float64, "Y": pl.Float64, "Z": pl.Float64},
                        orient="row")
    masks = grid.select(_any_industry({i: pl.col(i) for i in indicators})).to_series()
    return limits, masks


def _any_industry_lookup(values: dict[Indicator, pl.Expr]) -> pl.Expr:
    """:func:`_any_industry` by its table (:func:`_any_industry_table`)."""
    limits, masks = _any_industry_table()
    code: pl.Expr = pl.lit(0, dtype=pl.UInt32)
    for ind in limits:
        code = code * (len(limits[ind]) + 2) + _cell(values[ind], limits[ind])
    return pl.lit(masks).gather(code)  # codes are the positions 0..n-1


def with_size_class(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    industry_code: str = "industry_code",
    employees: str = "employees",
    operating_revenue: str = "operating_revenue",
    total_assets: str = "total_assets",
) -> pl.LazyFrame:
    """``frame`` with ``size_class``: 大型 / 中型 / 小型 / 微型, or null when the known inputs
    do not decide it; and ``size_class__possible``, the mask of the classes they still allow
    (:mod:`profiles.possible`; the class is set exactly when one class is possible).

    The mask is looked up (:func:`_size_class_table`): by the firm's row of the table (or
    unknown industry) and, per indicator, the cell of the table's limits its value falls in.
    """
    lf = frame.lazy()
    for step in _size_class_steps(industry_code, employees, operating_revenue, total_assets):
        lf = lf.with_columns(step)
    return lf


@cache
def _size_class_steps(industry_code: str, employees: str, operating_revenue: str,
                      total_assets: str) -> tuple[tuple[pl.Expr, ...], ...]:
    """The expressions of :func:`with_size_class`'s passes, built once per column names
    (building them cost a few ms per call: an event derives a few rows at a time)."""
    values: dict[Indicator, pl.Expr] = {
        "X": pl.col(employees).cast(pl.Float64),
        "Y": pl.col(operating_revenue).cast(pl.Float64),
        "Z": pl.col(total_assets).cast(pl.Float64),
    }
    industry = industry_row_expr(pl.col(industry_code).cast(pl.String))
    limits, masks = _size_class_table()
    code: pl.Expr = pl.when(industry.is_null()).then(pl.lit(0, dtype=pl.UInt32)).otherwise(
        industry.cast(pl.UInt32) + 1)
    for ind in limits:
        code = code * (len(limits[ind]) + 2) + _cell(values[ind], limits[ind])
    mask = pl.col(POSSIBLE)
    return (
        (pl.lit(masks).gather(code).alias(POSSIBLE),),  # codes are the positions 0..n-1
        (pl.lit(_class_of_mask()).gather(mask).alias("size_class"),),
    )


def _cell(value: pl.Expr, limits: tuple[float, ...]) -> pl.Expr:
    """The cell of ``limits`` (sorted) that ``value`` falls in: 0 when null, 1 below the
    first limit, 1 + how many limits it reaches (``value >= limit``) otherwise; found by one
    search of the limits instead of a comparison each (NaN sorts last: it reaches every
    limit, as ``NaN >= limit`` is true in polars)."""
    reached = pl.lit(pl.Series(limits, dtype=pl.Float64)).search_sorted(value, side="right")
    return pl.when(value.is_null()).then(pl.lit(0, dtype=pl.UInt32)).otherwise(
        reached.cast(pl.UInt32) + 1)


@cache
def _size_class_table() -> tuple[dict[Indicator, tuple[float, ...]], pl.Series]:
    """The mask of :func:`_by_row` tabulated once, by (row of the table or unknown industry,
    cell of each indicator's limits): every comparison of a row's tiers is ``value < limit``
    or ``value >= limit`` with a limit of the table (:func:`_any_industry_table`'s limits),
    so the mask is constant while the row stays and each value stays in its cell. Evaluated
    on one point of each cell (null, below the first limit, each limit); :func:`with_size_class`
    then gathers by cell code, a few expressions instead of the three passes of
    :func:`_by_row` (~2.4 ms per query whatever the row count: an event derives a few rows)."""
    indicators: tuple[Indicator, ...] = ("X", "Y", "Z")
    limits, _ = _any_industry_table()
    points = {ind: [None, lim[0] - 1.0, *lim] for ind, lim in limits.items()}
    grid = pl.DataFrame(
        list(itertools.product([None, *range(len(TABLE))], points["X"], points["Y"],
                               points["Z"])),
        schema={"__sc_row": pl.UInt8, "X": pl.Float64, "Y": pl.Float64, "Z": pl.Float64},
        orient="row")
    masks = _by_row(grid.lazy(), {i: pl.col(i) for i in indicators}).collect()
    return limits, masks.get_column(POSSIBLE)


def _by_row(frame: pl.LazyFrame, values: dict[Indicator, pl.Expr]) -> pl.LazyFrame:
    """The mask of the classes still possible, by the table (what :func:`_size_class_table`
    tabulates): ``frame``'s ``__sc_row`` (null: unknown industry) and the indicators'
    ``values``, in two passes: the three tier conditions with the row's thresholds, then the
    classes they allow (for a firm of unknown industry: under any row)."""
    row = pl.col("__sc_row")
    sme, medium, small = pl.col("__sc_sme"), pl.col("__sc_medium"), pl.col("__sc_small")
    possible = (pl.when(row.is_null()).then(_any_industry_lookup(values))
                .otherwise(_possible(sme, medium, small)))
    return frame.with_columns(
        _tier("sme", row, values).alias("__sc_sme"),
        _tier("medium", row, values).alias("__sc_medium"),
        _tier("small", row, values).alias("__sc_small"),
    ).with_columns(possible.alias(POSSIBLE))
