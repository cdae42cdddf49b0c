"""A comparison of years_since / months_since / year with a number is compiled as a range of
dates (rules.compile_polars._date_step_compare); it gives what the function itself,
compared, gives on every day, at as-of dates that end a month, fall on 29 February or not."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from profiles.catalog import load_catalog
from rules.compile_polars import _date_function
from tests.rules.conftest import condition_truth

ENTERPRISE = load_catalog().entity("enterprise")
DAYS = pl.DataFrame({"founded_on": [
    *pl.date_range(dt.date(1985, 1, 1), dt.date(2027, 12, 31), eager=True), None]})
OPS = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge", "=": "eq", "!=": "ne"}
VALUES = {"years_since": [-1, 0, 1, 2.5, 3, 10, 30, 39.9, 60],
          "months_since": [-2, 0, 1, 43, 67.5, 120, 500],
          "year": [1980, 1990, 2022, 2022.5, 2025, 2030]}


def _truth(text: str, as_of: dt.date) -> pl.Expr:
    return condition_truth(text, ENTERPRISE, as_of)


@pytest.mark.parametrize("as_of", [dt.date(2025, 6, 30), dt.date(2024, 2, 29),
                                   dt.date(2025, 2, 28), dt.date(2025, 1, 31),
                                   dt.date(2025, 12, 31), dt.date(2025, 3, 15)])
@pytest.mark.parametrize("func", sorted(VALUES))
def test_a_date_step_comparison_equals_the_function_compared(func: str,
                                                             as_of: dt.date) -> None:
    value = _date_function(func, pl.col("founded_on"), as_of)
    for v in VALUES[func]:
        for op, method in OPS.items():
            for text in (f"{func}(founded_on) {op} {v}",
                         f"{v} {op} {func}(founded_on)"):
                flipped = text[0] != func[0]
                expect = getattr(pl.lit(v), method)(value) if flipped else \
                    getattr(value, method)(pl.lit(v))
                truth = _truth(text, as_of)
                if v >= 0 and (float(v).is_integer() or op not in ("=", "!=")):  # a range of days
                    assert ".dt." not in str(truth), text
                got = DAYS.select(truth.alias("got"), expect.alias("expect"))
                assert got["got"].to_list() == got["expect"].to_list(), text
