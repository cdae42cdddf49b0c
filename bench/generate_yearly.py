"""Seeded generators of multi-year data for the bench and the property tests: year columns
of the yearly fields (``operating_revenue_y2024``...) with gaps, and conditions over them in
every form the language has (one year, sums, averages, ratios of sums, ``min`` / ``max``
over a window, growth, a window ending in a fixed year).

>>> import datetime as dt
>>> import polars as pl
>>> from bench.generate import generate_profiles
>>> frame = add_yearly(generate_profiles(50, seed=1), seed=2)
>>> frame.schema["operating_revenue_y2024"], frame.schema["employees_y2020"]
(Float64, Int64)
>>> import numpy as np
>>> leaves = [yearly_leaf(np.random.default_rng(s)) for s in range(20)]
>>> all(A.year_values(e) for e in leaves)
True
"""

from __future__ import annotations

import numpy as np
import polars as pl

from profiles.catalog import load_catalog, year_column
from rules import ast as A
from rules.checker import Checker, Scope
from rules.parser import parse_expr
from rules.sets import NamedSets

#: accounting years the generated frames hold (the bench's as-of date is mid-2025, so the
#: last closed year is 2024; 2025 is there too, for windows that end in a fixed year)
YEARS = tuple(range(2019, 2026))
#: share of year cells left empty (a year not on record), and of zero values (a growth base)
MISSING_SHARE, ZERO_SHARE = 0.08, 0.03

Rng = np.random.Generator


def add_yearly(frame: pl.DataFrame, *, seed: int) -> pl.DataFrame:
    """``frame`` with one column per yearly field and year in :data:`YEARS`: a firm's size
    drawn once and grown by a random walk, so windows and growth have realistic spread."""
    rng = np.random.default_rng(seed)
    n = frame.height
    cols: list[pl.Series] = []
    scale = {"operating_revenue": 3e6, "rd_expense": 1.5e5, "employees": 40.0,
             "tax_paid": 2e5}
    for series in load_catalog().entity("enterprise").yearly:
        level = rng.lognormal(np.log(scale[series.name]), 1.2, n)
        for year in YEARS:
            level = level * rng.lognormal(0.03, 0.25, n)
            values = np.round(level) if series.type == "int" else np.round(level, 2)
            values = np.where(rng.random(n) < ZERO_SHARE, 0.0, values)
            dtype = pl.Int64() if series.type == "int" else pl.Float64()
            col = pl.Series(year_column(series.name, year), values).cast(dtype)
            cols.append(col.scatter(np.flatnonzero(rng.random(n) < MISSING_SHARE), None))
    return frame.with_columns(cols)


_TEMPLATES: tuple[str, ...] = (
    "operating_revenue[year(as_of) - 1] >= {money}",
    "营业收入[year(as_of) - {back}] < {money}",
    "employees[year(as_of) - 1] {op} {people}",
    "sum(rd_expense, years = {n}) >= {small}",
    "avg(tax_paid, years = {n}) {op} {small}",
    "sum(rd_expense, years = {n}) / sum(operating_revenue, years = {n}) >= {pct}",
    "min(operating_revenue, years = {n}) {op} {money}",
    "max(employees, years = {n}) {op} {people}",
    "growth(operating_revenue) {op} {growth}",
    "增长率(纳税总额, year(as_of) - 2) >= {growth}",
    "合计(研发费用, 年数 = {n}, 截至 = 2025) > {small}",
    "{money} <= 最小(营业收入, 年数 = {n})",
    "tax_paid[year(as_of) - 1] is empty",
)
_OPS = ("<", "<=", ">", ">=", "=", "!=")


def yearly_leaf(rng: Rng) -> A.Expr:
    """A random condition over yearly fields, parsed as an officer would write it."""
    text = _TEMPLATES[int(rng.integers(0, len(_TEMPLATES)))].format(
        money=f"{int(rng.integers(1, 800))}万", small=f"{int(rng.integers(1, 60))}万",
        people=int(rng.integers(5, 120)), pct=f"{int(rng.integers(1, 9))}%",
        growth=f"{int(rng.integers(-20, 40))}%", n=int(rng.integers(1, 5)),
        back=int(rng.integers(1, 4)), op=_OPS[int(rng.integers(0, len(_OPS)))])
    return _checked(text)


def _checked(text: str, *, amount: bool = False) -> A.Expr:
    """Parsed and resolved (labels to catalog names) like a policy file's expression."""
    checker = Checker(Scope(entity=load_catalog().entity("enterprise"), sets=NamedSets({}),
                            file="<bench>"))
    expr = parse_expr(text)
    out = checker.number(expr) if amount else checker.condition(expr)
    if checker.problems:
        raise ValueError(f"generated expression {text!r} does not check: {checker.problems}")
    return out


def yearly_amount_expr(rng: Rng) -> A.Expr:
    """An amount over yearly fields: a share of the average R&D expense, or of the tax
    paid last year."""
    if rng.random() < 0.5:
        return _checked(f"avg(rd_expense, years = {int(rng.integers(2, 4))}) * 10%", amount=True)
    return _checked("tax_paid[year(as_of) - 1] * 5%", amount=True)
