"""The local policies (广州 / 黄埔区, 上海, 北京, 陕西, 新疆) at their boundaries, written from the
clause each condition cites, through the polars compiler checked row by row against the
reference interpreter (the ``evaluate`` fixture). The as-of date is 2026-11-30."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Evaluate = Callable[..., list]
AS_OF = dt.date(2026, 11, 30)
YEAR_AGO = dt.date(2025, 11, 30)      # the anniversary itself is a full year: not "new"
DAY_AFTER = dt.date(2025, 12, 1)      # less than a year before the as-of date: "new"


def truths(outcomes: list) -> list[bool | None]:
    return [o.truth for o in outcomes]


def amounts(outcomes: list) -> list[float | None]:
    return [o.amount for o in outcomes]


def test_guangzhou_single_champion_from_the_measures_day(evaluate: Evaluate, library) -> None:
    base = {"district": "440112", "single_champion_on": dt.date(2025, 8, 23)}
    rows = [base, {**base, "single_champion_on": dt.date(2025, 8, 22)},
            {**base, "single_champion_on": None}, {**base, "district": "440306"},
            {**base, "district": None}]
    out = evaluate("gz-single-champion-reward", rows, as_of=AS_OF)
    assert truths(out) == [True, False, False, False, None]
    assert out[0].amount == 1_500_000.0
    policy = library["gz-single-champion-reward"]
    assert [policy.in_effect(d) for d in (dt.date(2025, 8, 22), dt.date(2025, 8, 23),
                                          dt.date(2027, 12, 31), dt.date(2028, 1, 1))] == [
        False, True, True, False]
