"""The vectorised rounding rule gives the fen the scalar one gives, on every float."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from store.money import fen_expr, yuan_to_fen

_AMOUNTS = st.one_of(
    st.none(),
    st.sampled_from([float("nan"), float("inf"), float("-inf")]),
    st.floats(min_value=-9e16, max_value=9e16),  # fen within Int64 (as before: beyond, an error)
    st.floats(min_value=-1e12, max_value=1e12),
    st.integers(min_value=-10**11, max_value=10**11).map(lambda f: f / 1000),  # near .5 fen
    st.sampled_from([0.0, -0.0, 0.005, -0.005, 0.145, -2.005, 331918.14800000004, 1e15]),
)


def _scalar(value: float | None) -> int | None:
    if value is None or value != value or value in (float("inf"), float("-inf")):
        return None  # the expression leaves these null; the scalar rule refuses them
    return yuan_to_fen(value)


@settings(max_examples=300, deadline=None)
@given(st.lists(_AMOUNTS, max_size=40))
def test_fen_expr_rounds_as_yuan_to_fen(values: list[float | None]) -> None:
    frame = pl.DataFrame({"y": values}, schema={"y": pl.Float64})
    got = frame.select(fen_expr(pl.col("y"))).to_series().to_list()
    assert got == [_scalar(v) for v in values]
