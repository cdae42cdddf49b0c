"""Per-tag thresholds and the three values they give: p >= high -> TRUE, p <= low -> FALSE,
otherwise (and with no scope) UNKNOWN."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from profiles.tags.thresholds import (
    NEVER_FALSE,
    NEVER_TRUE,
    Thresholds,
    choose_thresholds,
    measure,
    three_valued,
)

probability = st.floats(0.0, 1.0, allow_nan=False)


@given(st.lists(st.one_of(probability, st.just(math.nan)), max_size=50), probability, probability)
def test_probability_maps_to_three_values_by_the_thresholds(
    ps: list[float], a: float, b: float
) -> None:
    low, high = min(a, b), max(a, b)
    if low == high:
        low = math.nextafter(high, -1.0)
    t = Thresholds(low=low, high=high)
    for p, v in zip(ps, three_valued(np.array(ps, dtype=float), t), strict=True):
        if math.isnan(p):
            assert v is None
        elif p >= high:
            assert v is True
        elif p <= low:
            assert v is False
        else:
            assert v is None


def test_exact_threshold_values_are_decided() -> None:
    t = Thresholds(low=0.2, high=0.8)
    assert three_valued(np.array([0.2, 0.8, 0.2000001, 0.7999999]), t) == [
        False, True, None, None]


@given(
    st.lists(st.tuples(probability, st.booleans()), min_size=1, max_size=80),
    st.floats(0.5, 1.0),
    st.floats(0.0, 0.5),
)
def test_chosen_thresholds_meet_their_targets_on_the_data_they_were_chosen_on(
    rows: list[tuple[float, bool]], target_precision: float, max_missed: float
) -> None:
    p = np.array([r[0] for r in rows])
    y = np.array([int(r[1]) for r in rows])
    t = choose_thresholds(p, y, target_precision=target_precision, max_missed=max_missed)
    assert t.low < t.high
    m = measure(p, y, t)
    if t.high != NEVER_TRUE:
        assert m.precision is not None and m.precision >= target_precision
        # the smallest such threshold: one step lower is below target (or adds nothing)
        lower = p[p < t.high]
        if lower.size:
            below = Thresholds(low=NEVER_FALSE, high=float(lower.max()))
            assert (measure(p, y, below).precision or 0.0) < target_precision
    if t.low != NEVER_FALSE and y.sum():
        assert m.missed is not None and m.missed <= max_missed + 1e-12


def test_no_positives_means_nothing_is_ever_decided_false() -> None:
    t = choose_thresholds(np.array([0.1, 0.2]), np.array([0, 0]), target_precision=0.95,
                          max_missed=0.1)
    assert t.low == NEVER_FALSE and t.high == NEVER_TRUE
    assert three_valued(np.array([0.0, 1.0]), t) == [None, None]


def test_useless_probabilities_leave_everything_unknown() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.05).astype(int)
    t = choose_thresholds(np.full(2000, 0.05), y, target_precision=0.95, max_missed=0.1)
    m = measure(np.full(2000, 0.05), y, t)
    assert m.precision is None and m.unknown_share == 1.0


def test_metrics_count_the_true_false_and_unknown_sets() -> None:
    p = np.array([0.05, 0.1, 0.5, 0.9, 0.95, math.nan])
    y = np.array([0, 1, 1, 0, 1, 1])
    m = measure(p, y, Thresholds(low=0.1, high=0.9))
    assert (m.precision, m.recall, m.missed, m.npv) == (0.5, 1 / 3, 1 / 3, 0.5)
    assert m.unknown_share == 0.2 and m.rows == 5 and m.positives == 3
