"""Every value parses exactly as written or is rejected with its reason."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.ingest import validate_frame
from profiles.parse import (
    parse_date,
    parse_float,
    parse_industry_code,
    parse_int,
    with_stages,
)

USCC = "91350100M000100Y43"


def _run(parser, values: list[str | None]) -> list[tuple[object, str | None]]:
    p = parser(pl.col("x"))
    frame = pl.DataFrame({"x": values}, schema={"x": pl.String})
    out = with_stages(frame, [p]).select(p.value.alias("v"),
                                         p.reason.str.extract(r"\[(\w+)\]").alias("r"))
    return out.rows()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("2024-01-019", "not_date"),
        ("2024-01-01x", "not_date"),
        ("2024-02-30", "not_date"),
        ("2024-01/05", "not_date"),
        ("2024-01-01 24:00", "bad_time"),
        ("2024-01-01 23:60", "bad_time"),
        ("20240101 12:00:61", "bad_time"),
        ("1799-12-31", "implausible_date"),
    ],
)
def test_a_date_with_anything_wrong_after_or_inside_it_is_rejected(text: str, code: str) -> None:
    assert _run(parse_date, [text]) == [(None, code)]


def test_valid_dates_and_times_parse_to_the_written_day() -> None:
    rows = _run(parse_date, ["2024-01-01", "2024/1/5", "20240229", "2024-03-01 23:59:59",
                             "2024-03-01T00:00:00.000000", None])
    assert [v for v, _ in rows] == [dt.date(2024, 1, 1), dt.date(2024, 1, 5),
                                     dt.date(2024, 2, 29), dt.date(2024, 3, 1),
                                     dt.date(2024, 3, 1), None]
    assert all(r is None for _, r in rows)


@settings(max_examples=200, deadline=None)
@given(st.dates(min_value=dt.date(1800, 1, 1), max_value=dt.date(2199, 12, 31)),
       st.text(alphabet="0123456789x-:", min_size=1, max_size=3))
def test_a_date_round_trips_and_a_suffix_never_truncates(day: dt.date, suffix: str) -> None:
    assert _run(parse_date, [day.isoformat()]) == [(day, None)]
    value, why = _run(parse_date, [day.isoformat() + suffix])[0]
    assert value is None and why is not None


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_every_64_bit_integer_keeps_every_digit(n: int) -> None:
    assert _run(parse_int, [str(n)]) == [(n, None)]


def test_integers_beyond_64_bits_or_with_fractions_are_rejected() -> None:
    assert _run(parse_int, [str(2**64), "12.5", "1e3", "12.0"]) == [
        (None, "integer_overflow"), (None, "not_integer"), (None, "not_integer"), (12, None)]


@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_written_in_its_shortest_form_is_kept_exactly(x: float) -> None:
    assert _run(parse_float, [repr(x)]) == [(x, None)]


def test_a_decimal_a_float_cannot_hold_is_rejected_not_rounded() -> None:
    rows = _run(parse_float, ["123456789012345678.9", "9007199254740993", "0.1", "nan"])
    assert rows == [(None, "inexact_number"), (None, "inexact_number"), (0.1, None),
                    (None, "not_number")]


def test_an_industry_letter_that_contradicts_the_code_is_rejected() -> None:
    assert _run(parse_industry_code, ["C3911", "A3911", "3911", "9911"]) == [
        ("3911", None), (None, "section_mismatch"), ("3911", None), (None, "bad_format")]


def test_a_bad_value_quarantines_its_row_with_the_reason() -> None:
    df = pl.DataFrame({"uscc": [USCC], "成立日期": ["2024-01-019"]})
    clean, rejects = validate_frame(df, entity="enterprise")
    assert clean.height == 0
    assert rejects.select("field", "value").rows() == [("founded_on", "2024-01-019")]
