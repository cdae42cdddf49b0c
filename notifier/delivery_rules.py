"""Rules of delivery: quiet hours per channel (deferred, never dropped), a per-recipient daily
cap, and per-channel opt-out (applied when planning: see ``planning.recipient_channels``).

>>> import datetime as dt
>>> rules = DeliveryRules()
>>> late = dt.datetime(2025, 6, 1, 15, 30, tzinfo=dt.UTC)  # 23:30 in Shanghai
>>> rules.defer_until("sms", late)
datetime.datetime(2025, 6, 2, 0, 0, tzinfo=datetime.timezone.utc)
>>> rules.defer_until("email", late) is None
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from notifier.errors import ConfigurationError

DEFAULT_TZ = "Asia/Shanghai"


@dataclass(frozen=True, kw_only=True)
class QuietHours:
    """A daily window, in local time, when a channel must not disturb anyone. ``start`` after
    ``end`` means the window spans midnight (22:00-08:00)."""

    start: dt.time = dt.time(22, 0)
    end: dt.time = dt.time(8, 0)
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        if self.start == self.end:
            raise ConfigurationError(
                parameter="quiet_hours", expected="a start different from the end",
                got=f"{self.start}-{self.end}",
            )

    def until(self, when: dt.datetime) -> dt.datetime | None:
        """The end of the quiet window ``when`` falls in (aware UTC), or None outside it."""
        local = when.astimezone(ZoneInfo(self.tz))
        t = local.time().replace(tzinfo=None)
        day = local.date()
        if self.start < self.end:
            inside = self.start <= t < self.end
            end_day = day
        else:
            inside = t >= self.start or t < self.end
            end_day = day + dt.timedelta(days=1) if t >= self.start else day
        if not inside:
            return None
        end = dt.datetime.combine(end_day, self.end, tzinfo=ZoneInfo(self.tz))
        return end.astimezone(dt.UTC)


@dataclass(frozen=True, kw_only=True)
class DeliveryRules:
    """Quiet hours per channel, and at most ``daily_cap`` messages per recipient per local
    day on the channels that are not ``cap_exempt`` (the in-app inbox disturbs no one)."""

    quiet_hours: Mapping[str, QuietHours] = field(default_factory=lambda: {"sms": QuietHours()})
    daily_cap: int | None = 10
    cap_exempt: frozenset[str] = frozenset({"inbox"})
    tz: str = DEFAULT_TZ

    def __post_init__(self) -> None:
        if self.daily_cap is not None and self.daily_cap < 1:
            raise ConfigurationError(
                parameter="daily_cap", expected="a positive integer or None", got=self.daily_cap
            )

    def defer_until(self, channel: str, when: dt.datetime) -> dt.datetime | None:
        """When a message on ``channel`` may go if ``when`` is in its quiet hours, else None."""
        quiet = self.quiet_hours.get(channel)
        return quiet.until(when) if quiet else None

    def capped(self, channel: str) -> bool:
        return self.daily_cap is not None and channel not in self.cap_exempt

    def local_day(self, when: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
        """The local day ``when`` falls in, as [start, end) in aware UTC."""
        zone = ZoneInfo(self.tz)
        day = when.astimezone(zone).date()
        start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
        return start.astimezone(dt.UTC), end.astimezone(dt.UTC)

    def next_slot(self, channel: str, when: dt.datetime) -> dt.datetime:
        """``when``, or the end of the quiet hours it falls in."""
        return self.defer_until(channel, when) or when
