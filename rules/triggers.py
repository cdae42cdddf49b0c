"""The optional ``trigger:`` section of a policy: an event pattern that must occur for the
entity before the policy applies (event-triggered policies, matched by the event engine).

A trigger is two events of the same entity, the second within ``within_days`` days of the
first (on or after it), optionally about the same subject (``correlate``: an event
attribute that both events carry, e.g. the person hired)::

    trigger:
      first: {event: graduate_hired, label: 招用毕业年度高校毕业生}
      then: {event: insured_3_months, label: 为其连续缴纳社会保险满3个月}
      within_days: 120
      correlate: person

The nightly batch cannot see events, so it skips policies with a trigger.

>>> t = Trigger(first=EventStep(event="graduate_hired"), then=EventStep(event="insured"),
...             within_days=120, correlate="person")
>>> t.events
('graduate_hired', 'insured')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TRIGGER_KEYS = ("first", "then", "within_days", "correlate")
STEP_KEYS = ("event", "label")


@dataclass(frozen=True, kw_only=True)
class EventStep:
    event: str  # the event type, e.g. "graduate_hired"
    label: str | None = None


@dataclass(frozen=True, kw_only=True)
class Trigger:
    first: EventStep
    then: EventStep
    within_days: int
    correlate: str | None = None

    @property
    def events(self) -> tuple[str, str]:
        return (self.first.event, self.then.event)


def read_trigger(r: Any, data: Any) -> Trigger | None:
    """The ``trigger`` of a policy mapping, problems reported through the loader's Reader
    (``r``: :class:`rules.schema.Reader`)."""
    raw = r.mapping(data, "trigger", TRIGGER_KEYS)
    if raw is None:
        return None
    steps: list[EventStep] = []
    for key in ("first", "then"):
        if key not in raw:
            r.error(r.node_pos(raw), "schema", f"期望 trigger 中有 '{key}' 事件，"
                    "实际没有")
            continue
        step = r.mapping(raw, key, STEP_KEYS)
        event = r.text(step, "event") if step is not None else None
        if event is not None:
            steps.append(EventStep(event=event, label=r.text(step, "label", required=False)))
    days = raw.get("within_days")
    if not isinstance(days, int) or isinstance(days, bool) or days < 0:
        r.error(r.value_pos(raw, "within_days") if "within_days" in raw else r.node_pos(raw),
                "schema", f"期望 'within_days' 为不小于 0 的整天数，实际为 "
                f"{days!r}")
        return None
    correlate = r.text(raw, "correlate", required=False)
    if len(steps) != 2:
        return None
    return Trigger(first=steps[0], then=steps[1], within_days=days, correlate=correlate)
