"""Derived tags, as of an evaluation date, three-valued (null inputs give null unless the
known inputs decide the value).

Every derived tag was reviewed for an entity that does not exist yet on the as-of date: its
date is known, so what depends on it is decided. ``years_since_founding`` and ``age`` are then
negative (FALSE for ``>= 1``, ``>= 65``), and a person born after the as-of date is not
``alive`` for that date. The other tags do not depend on the as-of date.

Enterprise: ``years_since_founding`` (full years; negative when founded after the as-of date),
``layoff_rate`` (layoffs_last_year / insured_employees; 0 when nobody was laid off, whatever
the headcount; null when the headcount is 0 or unknown and someone was laid off),
``rd_ratio`` (rd_expense / operating_revenue, with the same rule for a zero numerator),
``region`` (full Chinese name of a known 6-digit district code, else null),
``individual_business`` (个体工商户: the 统一社会信用代码 starts with ``92``), ``size_class``
(see ``profiles.sizeclass``). The industry-chain tags (``chain_ic`` …, ``chain_ic_p`` …) are
inferred from the business scope by a tag model (``profiles.tags``), not as of a date: they
are kept when present and added as null (UNKNOWN) when absent.

Person: ``age`` (full years; the birthday itself counts; negative before birth), ``alive``
made FALSE before birth, ``hukou_region`` and ``sex`` (from the 17th character of the
公民身份号码: odd 男, even 女).

29 February: in a year without 29 February the anniversary falls on 28 February (民法典
第二百零二条: a period counted in years whose end month has no corresponding day ends on the
last day of that month), so a person born on 29 February 2000 is 1 on 2001-02-28.

>>> from datetime import date
>>> df = pl.DataFrame({"birth_date": [date(2000, 2, 29), date(1949, 12, 31), None],
...                    "hukou_district": ["310115", "999999", None]})
>>> out = derive(df, entity="person", as_of=date(2025, 2, 28)).collect()
>>> out["age"].to_list()
[25, 75, None]
>>> out["hukou_region"].to_list()
['上海市浦东新区', None, None]
"""

from __future__ import annotations

from datetime import date
from functools import cache, lru_cache

import polars as pl

from profiles.errors import UnknownEntityError
from profiles.regions import load_regions
from profiles.sizeclass import with_size_class
from profiles.tags.vocabulary import chain_columns
from rules.semantics import late_start_day


def full_years(start: pl.Expr, as_of: date) -> pl.Expr:
    """Completed years from ``start`` to ``as_of`` (the anniversary counts); null only when
    ``start`` is null. A ``start`` after ``as_of`` gives a negative number (-1 or less): the
    entity did not exist yet, which decides ``age >= 65`` (FALSE) instead of leaving it
    UNKNOWN.

    >>> df = pl.DataFrame({"d": [date(2000, 3, 1), date(2000, 3, 2), date(2025, 3, 2)]})
    >>> df.select(full_years(pl.col("d"), date(2025, 3, 1))).to_series().to_list()
    [25, 24, -1]
    """
    month = start.dt.month().cast(pl.Int32)
    years = pl.lit(as_of.year, pl.Int32) - start.dt.year().cast(pl.Int32)
    later = (month > as_of.month) | ((month == as_of.month) & _late(start, as_of))
    return (years - later.cast(pl.Int32)).cast(pl.Int64)


def full_months(start: pl.Expr, as_of: date) -> pl.Expr:
    """Completed months from ``start`` to ``as_of``: a day the as-of month lacks counts as its
    last day (31 January + 1 month = 28 February); negative when ``start`` is later.

    >>> df = pl.DataFrame({"d": [date(2025, 1, 31), date(2025, 1, 28), date(2025, 3, 1)]})
    >>> df.select(full_months(pl.col("d"), date(2025, 2, 28))).to_series().to_list()
    [1, 1, -1]
    """
    months = ((as_of.year * 12 + as_of.month) - (start.dt.year().cast(pl.Int64) * 12
                                                   + start.dt.month().cast(pl.Int64)))
    return months - _late(start, as_of).cast(pl.Int64)


def _late(start: pl.Expr, as_of: date) -> pl.Expr:
    """Whether ``start``'s day of the month is after its anniversary day in ``as_of``'s
    month (:func:`rules.semantics.late_start_day`)."""
    return start.dt.day().cast(pl.Int32) > late_start_day(as_of)


def ratio(numerator: pl.Expr, denominator: pl.Expr) -> pl.Expr:
    """numerator / denominator; 0 when the numerator is 0 (decided whatever the denominator);
    null when the denominator is 0 or null otherwise."""
    num = numerator.cast(pl.Float64)
    den = denominator.cast(pl.Float64)
    return (
        pl.when(num == 0)
        .then(0.0)
        .when(den.is_not_null() & (den != 0))
        .then(num / den)
        .otherwise(None)
    )


def sex_of(id_number: pl.Expr) -> pl.Expr:
    """男 / 女 from the 17th character of a 公民身份号码 (odd: 男, even: 女; GB 11643-1999);
    null when the number is missing or not 18 characters."""
    digit = id_number.str.slice(16, 1).cast(pl.Int32, strict=False)
    valid = id_number.str.len_chars() == 18
    return (pl.when(valid & digit.is_not_null())
            .then(pl.when(digit % 2 == 1).then(pl.lit("男")).otherwise(pl.lit("女")))
            .otherwise(pl.lit(None, pl.String)))


def region_name(code: pl.Expr) -> pl.Expr:
    """Full name (省市区) of a 6-digit district code of ``profiles/data/regions.csv``.

    Found by a search of the sorted codes, not ``replace_strict`` (which builds a hash
    table of the ~3 000 codes per query: ~0.8 ms, a fifth of an event's derive)."""
    codes, names = _region_names()
    code = code.cast(pl.String)
    at = pl.lit(codes).search_sorted(code).cast(pl.Int64).clip(0, len(codes) - 1)
    return (pl.when(pl.lit(codes).gather(at) == code).then(pl.lit(names).gather(at))
            .otherwise(pl.lit(None, pl.String)))


@cache
def _region_names() -> tuple[pl.Series, pl.Series]:
    """Every district code (sorted) and its full name, built once (an event derives one
    row)."""
    regions = load_regions()
    codes = sorted(regions.districts)
    return (pl.Series(codes, dtype=pl.String),
            pl.Series([regions.name_of(c) for c in codes], dtype=pl.String))


def derive(df: pl.DataFrame | pl.LazyFrame, *, entity: str, as_of: date) -> pl.LazyFrame:
    """``df`` with the entity's derived tags added (replacing any columns of those names).

    Inputs that are absent from ``df`` count as unknown (null).
    """
    lf = df.lazy()
    names = frozenset(lf.collect_schema().names())
    if entity == "enterprise":
        missing, derived, chains, absent = _enterprise_steps(names, as_of)
        out = with_size_class(lf.with_columns(missing).with_columns(derived))
        return out.drop(absent).with_columns(chains)
    if entity == "person":
        return lf.with_columns(_person_columns(names, as_of))
    raise UnknownEntityError(entity)


def _input(names: frozenset[str], name: str, dtype: pl.DataType) -> pl.Expr:
    """A column of the frame, or unknown (null) when the frame lacks it."""
    return pl.col(name) if name in names else pl.lit(None, dtype)


@lru_cache(maxsize=64)
def _enterprise_steps(names: frozenset[str], as_of: date) -> tuple[
        tuple[pl.Expr, ...], tuple[pl.Expr, ...], tuple[pl.Expr, ...], tuple[str, ...]]:
    """:func:`derive`'s expressions for an enterprise frame of these columns, built once per
    column set and date (building them cost a few ms per call: an event derives a few rows
    at a time): the missing size-class inputs, the derived tags, the chain tags, and the
    inputs to drop again."""
    inputs = {
        "industry_code": pl.String(),
        "employees": pl.Int64(),
        "operating_revenue": pl.Float64(),
        "total_assets": pl.Float64(),
    }
    missing = tuple(pl.lit(None, t).alias(n) for n, t in inputs.items() if n not in names)
    derived = (
        full_years(_input(names, "founded_on", pl.Date()), as_of).alias("years_since_founding"),
        ratio(_input(names, "layoffs_last_year", pl.Int64()),
              _input(names, "insured_employees", pl.Int64())).alias("layoff_rate"),
        ratio(_input(names, "rd_expense", pl.Float64()),
              _input(names, "operating_revenue", pl.Float64())).alias("rd_ratio"),
        region_name(_input(names, "district", pl.String())).alias("region"),
        # 个体工商户: 统一社会信用代码 whose 登记管理部门 is 9 (工商) and 机构类别 2
        _input(names, "uscc", pl.String()).str.slice(0, 2).eq("92").alias(
            "individual_business"),
    )
    chains = tuple(pl.lit(None, t).alias(n) for n, t in chain_columns().items()
                   if n not in names)
    return missing, derived, chains, tuple(n for n in inputs if n not in names)


@lru_cache(maxsize=64)
def _person_columns(names: frozenset[str], as_of: date) -> tuple[pl.Expr, ...]:
    """:func:`derive`'s expressions for a person frame of these columns (built once)."""
    born = _input(names, "birth_date", pl.Date())
    # not yet born on the as-of date: not alive for that date (DESIGN §5), decided
    alive = pl.when(born > pl.lit(as_of)).then(False).otherwise(
        _input(names, "alive", pl.Boolean()))
    return (
        full_years(born, as_of).alias("age"),
        alive.alias("alive"),
        region_name(_input(names, "hukou_district", pl.String())).alias("hukou_region"),
        sex_of(_input(names, "id_number", pl.String())).alias("sex"),
    )
