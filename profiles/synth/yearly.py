"""Synthetic yearly figures: the 税务 panel of annual returns (``yearly_enterprise_税务.csv``).

One row per firm and accounting year from its founding year (at most :data:`YEARS` years)
up to the year before the reference date. The last year agrees with the scalar 税务 extract
(revenue, R&D expense, headcount) where that is known; earlier years walk back with a
growth of about 8 % a year and wide spread, so 连续两年 / 近三年 / 较上年增长 conditions split
the population. R&D firms keep doing R&D at a ratio that drifts year to year; 纳税总额 is 2-8 %
of revenue. About 3 % of cells are empty and one firm-year in 40 is missing (not filed).

>>> import datetime as dt
>>> tax = pl.DataFrame({"uscc": ["A", "B"], "operating_revenue": [1e6, None],
...                     "rd_expense": [5e4, 0.0], "employees": [10, 3]})
>>> founded = pl.Series([dt.date(2000, 1, 1), dt.date(2024, 5, 1)])
>>> panel = yearly_panel(np.random.default_rng(1), tax, founded, reference=dt.date(2026, 1, 1))
>>> panel.filter(pl.col("uscc") == "B")["year"].to_list()
[2024, 2025]
>>> panel.filter((pl.col("uscc") == "A") & (pl.col("year") == 2025))["operating_revenue"][0]
1000000.0
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

#: how many closed accounting years the panel covers at most
YEARS = 6
MISSING_CELL, MISSING_ROW = 0.03, 0.025


def yearly_panel(rng: np.random.Generator, tax: pl.DataFrame, founded_on: pl.Series, *,
                 reference: date) -> pl.DataFrame:
    """The panel (uscc, year, operating_revenue, rd_expense, employees, tax_paid) of the
    firms of the scalar 税务 extract ``tax`` (founding dates in the same order)."""
    n = tax.height
    last = reference.year - 1
    revenue = tax["operating_revenue"].to_numpy().astype(float)
    revenue = np.where(np.isnan(revenue), rng.lognormal(np.log(3e6), 1.2, n), revenue)
    rd_now = tax["rd_expense"].fill_null(0.0).to_numpy().astype(float)
    rd_ratio = np.where(revenue > 0, rd_now / np.maximum(revenue, 1.0), 0.0)
    heads = tax["employees"].fill_null(5).to_numpy().astype(float)
    first_year = founded_on.dt.year().fill_null(last - YEARS + 1).to_numpy()
    frames = []
    for back in range(YEARS):
        year = last - back
        alive = first_year <= year
        frames.append(pl.DataFrame({
            "uscc": tax["uscc"], "year": np.full(n, year),
            "operating_revenue": np.round(revenue, 2),
            "rd_expense": np.round(revenue * rd_ratio, 2),
            "employees": np.maximum(np.round(heads), 0).astype(np.int64),
            "tax_paid": np.round(revenue * rng.uniform(0.02, 0.08, n), 2),
            "alive": alive,
        }))
        growth = rng.lognormal(0.08, 0.22, n)
        revenue = revenue / growth
        rd_ratio = np.clip(rd_ratio * rng.lognormal(0.0, 0.25, n), 0.0, 0.5)
        heads = heads / rng.lognormal(0.04, 0.15, n)
    panel = pl.concat(frames).filter(pl.col("alive")).drop("alive")
    panel = panel.filter(pl.Series(rng.random(panel.height) >= MISSING_ROW))
    holes = {c: rng.random(panel.height) < MISSING_CELL
             for c in ("operating_revenue", "rd_expense", "employees", "tax_paid")}
    panel = panel.with_columns(pl.when(~pl.Series(m)).then(pl.col(c)).alias(c)
                               for c, m in holes.items())
    return panel.sort("uscc", "year")
