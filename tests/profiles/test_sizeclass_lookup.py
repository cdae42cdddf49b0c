"""The size classes still possible for a firm of unknown industry are looked up by cell
(:func:`profiles.sizeclass._any_industry_table`): the lookup equals the expression over
every row of the table, on values at, just around and between the table's limits, and
null."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.sizeclass import _any_industry, _any_industry_lookup, _any_industry_table

LIMITS, _, _ = _any_industry_table()


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
