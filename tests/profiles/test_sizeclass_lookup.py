"""The size classes still possible for a firm of unknown industry are looked up by cell
(:func:`profiles.sizeclass._any_industry_table`): the lookup equals the expression over
every row of the table, on values at, just around and between the table's limits, and
null."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.sizeclass import (
    TABLE,
    _any_industry,
    _any_industry_lookup,
    _any_industry_table,
    _by_row,
    industry_expr,
    industry_row_expr,
    with_size_class,
)

LIMITS, _ = _any_industry_table()


def _values(ind: str) -> st.SearchStrategy[float | None]:
    near = st.builds(lambda lim, d: lim + d, st.sampled_from(LIMITS[ind]),  # type: ignore[index]
                     st.sampled_from([-1.0, -1e-6, 0.0, 1e-6, 1.0]))
    return st.one_of(st.none(), near, st.floats(-10, 5e10, allow_nan=False))


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.tuples(_values("X"), _values("Y"), _values("Z")), min_size=1,
                     max_size=200))
def test_lookup_equals_the_expression_over_every_row(
        rows: list[tuple[float | None, float | None, float | None]]) -> None:
    df = pl.DataFrame(rows, schema={"X": pl.Float64, "Y": pl.Float64, "Z": pl.Float64},
                      orient="row")
    values = {i: pl.col(i) for i in ("X", "Y", "Z")}
    want = df.select(_any_industry(values).alias("m"))["m"]  # type: ignore[arg-type]
    got = df.select(_any_industry_lookup(values).alias("m"))["m"]  # type: ignore[arg-type]
    assert got.to_list() == want.to_list()


def test_industry_row_is_the_row_of_the_industry_name() -> None:
    """The row looked up by division (:func:`industry_row_expr`) is the row of the industry
    named by :func:`industry_expr`, on every 4-digit code and bad ones."""
    codes = [f"{n:04d}" for n in range(10_000)] + [None, "", "39", "391a", "39111", "a911"]
    df = pl.DataFrame({"c": codes}, schema={"c": pl.String})
    rows = {r.industry: i for i, r in enumerate(TABLE)}
    names = df.select(industry_expr(pl.col("c"))).to_series().to_list()
    got = df.select(industry_row_expr(pl.col("c"))).to_series().to_list()
    assert got == [None if n is None else rows[n] for n in names]


@settings(max_examples=30, deadline=None)
@given(rows=st.lists(st.tuples(st.sampled_from(["0141", "3911", "4790", "5210", "7010", "7020",
                                                "8000", "53xx", None]),
                               _values("X"), _values("Y"), _values("Z")), min_size=1,
                     max_size=200))
def test_size_class_lookup_equals_the_table_by_row(
        rows: list[tuple[str | None, float | None, float | None, float | None]]) -> None:
    """The mask :func:`with_size_class` looks up by (row, cells) is the one the table's
    tiers give for the firm's row (:func:`_by_row`, unknown industry included)."""
    df = pl.DataFrame(rows, schema={"industry_code": pl.String, "employees": pl.Float64,
                                    "operating_revenue": pl.Float64,
                                    "total_assets": pl.Float64}, orient="row")
    got = with_size_class(df).collect()["size_class__possible"]
    by_row = _by_row(df.lazy().with_columns(
        industry_row_expr(pl.col("industry_code")).alias("__sc_row")),
        {"X": pl.col("employees"), "Y": pl.col("operating_revenue"),
         "Z": pl.col("total_assets")}).collect()["size_class__possible"]
    assert got.to_list() == by_row.to_list()
