"""Quiet hours (default 22:00-08:00 Asia/Shanghai) at their edges, and the local day."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifier.delivery_rules import DeliveryRules, QuietHours
from notifier.errors import ConfigurationError

SH = dt.timezone(dt.timedelta(hours=8))


@pytest.mark.parametrize(
    ("local", "until"),
    [
        (dt.datetime(2025, 6, 1, 21, 59, 59, tzinfo=SH), None),
        (dt.datetime(2025, 6, 1, 22, 0, tzinfo=SH), dt.datetime(2025, 6, 2, 8, 0, tzinfo=SH)),
        (dt.datetime(2025, 6, 2, 3, 0, tzinfo=SH), dt.datetime(2025, 6, 2, 8, 0, tzinfo=SH)),
        (dt.datetime(2025, 6, 2, 7, 59, 59, tzinfo=SH), dt.datetime(2025, 6, 2, 8, 0, tzinfo=SH)),
        (dt.datetime(2025, 6, 2, 8, 0, tzinfo=SH), None),
    ],
)
def test_default_sms_quiet_hours_edges(local: dt.datetime, until: dt.datetime | None) -> None:
    assert DeliveryRules().defer_until("sms", local.astimezone(dt.UTC)) == until


def test_daytime_window_that_does_not_span_midnight() -> None:
    lunch = QuietHours(start=dt.time(12), end=dt.time(13))
    assert lunch.until(dt.datetime(2025, 6, 1, 12, 30, tzinfo=SH)) == dt.datetime(
        2025, 6, 1, 13, tzinfo=SH
    )
    assert lunch.until(dt.datetime(2025, 6, 1, 13, 0, tzinfo=SH)) is None


@given(st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 1, 1),
                    timezones=st.just(dt.UTC)))
def test_a_deferred_time_is_later_and_outside_the_quiet_hours(when: dt.datetime) -> None:
    rules = DeliveryRules()
    until = rules.defer_until("sms", when)
    if until is not None:
        assert when < until <= when + dt.timedelta(hours=10)
        assert rules.defer_until("sms", until) is None


def test_local_day_is_the_shanghai_calendar_day() -> None:
    start, end = DeliveryRules().local_day(dt.datetime(2025, 6, 1, 17, 0, tzinfo=dt.UTC))
    assert start == dt.datetime(2025, 6, 2, 0, 0, tzinfo=SH)
    assert end == dt.datetime(2025, 6, 3, 0, 0, tzinfo=SH)


def test_bad_settings_are_refused_with_what_was_expected() -> None:
    with pytest.raises(ConfigurationError, match="daily_cap"):
        DeliveryRules(daily_cap=0)
    with pytest.raises(ConfigurationError, match="quiet_hours"):
        QuietHours(start=dt.time(8), end=dt.time(8))
