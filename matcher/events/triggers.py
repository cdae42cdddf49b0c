"""Event-triggered policies: the ``trigger`` patterns of :mod:`rules.triggers` as
durable_rules multi-event rules.

For each trigger policy, one rule joins two events: the *first* step and the *then* step,
the second no later than the first's window end (``day <= first.until``). The matching -
event types, the join and the window - runs in durable_rules. Python does the routing that
durable_rules cannot be trusted with:

- correlation: events are posted to the session ``<entity>#<subject>#<epoch>``, so both
  events of one occurrence concern the same entity and the same subject (``correlate``).
  A rule comparing two fields of another event in one pattern (subject *and* window)
  crashes durable_rules 2.0.28 with a segmentation fault; one cross-event reference is safe.
- order: every *first* event opens a new epoch for its subject; a *then* event goes to the
  latest epoch, so it can only pair with a first event that came before it; events of one
  entity must come in date order (:class:`~matcher.events.errors.BadEventError` otherwise),
  which makes the window's lower bound hold;
- the window end (``until = day + within_days``) is written into the first event, since
  right-hand arithmetic on another event's field also crashes durable_rules.

Each completed pattern is one *occurrence*; the policy's amount is per occurrence.

>>> import datetime as dt
>>> from rules.loader import bundled_library
>>> policy = bundled_library()["graduate-hiring-insured-trigger"]
>>> with TriggerMatcher([policy]) as tm:
...     tm.post("E1", "graduate_hired", dt.date(2025, 3, 1), {"person": "p1"})
...     tm.post("E1", "insured_3_months", dt.date(2025, 6, 5), {"person": "p1"})
[]
[('E1', 'graduate-hiring-insured-trigger')]
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

from matcher.events.errors import BadEventError
from matcher.events.ruleset import DurableRuleset
from rules.model import Policy


class TriggerMatcher:
    """The trigger patterns of some policies, one durable_rules ruleset."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies = {p.id: p for p in policies if p.trigger is not None}
        rules: dict[str, dict[str, Any]] = {}
        for pid in sorted(self.policies):
            rules[f"trig|{pid}"] = {"all": [
                {"a": {"$and": [{"policy": pid}, {"step": "first"}]}},
                {"b": {"$and": [{"policy": pid}, {"step": "then"},
                                {"$lte": {"day": {"a": "until"}}}]}},
            ]}
        self.ruleset = DurableRuleset(rules, name="mianshen_trigger")
        self._epochs: dict[tuple[str, str, str], int] = {}
        self._last_day: dict[str, dt.date] = {}
        self._ids = itertools.count(1)

    def post(self, entity_id: str, event: str, on: dt.date,
             attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Post one life event; the (entity, policy) occurrences it completes."""
        last = self._last_day.get(entity_id)
        if last is not None and on < last:
            raise BadEventError(f"事件日期应不早于该主体上一事件 {last}，实际为 {on}",
                                field="on")
        self._last_day[entity_id] = on
        found: list[tuple[str, str]] = []
        for pid, policy in self.policies.items():
            trigger = policy.trigger
            assert trigger is not None
            for step, spec in (("first", trigger.first), ("then", trigger.then)):
                if spec.event != event:
                    continue
                subject = ""
                if trigger.correlate:
                    value = attributes.get(trigger.correlate)
                    if value is None:
                        raise BadEventError(f"事件 {event} 应带有 {trigger.correlate} 字段，"
                                            "实际没有", field=trigger.correlate)
                    subject = str(value)
                epoch_key = (entity_id, pid, subject)
                if step == "first":
                    self._epochs[epoch_key] = self._epochs.get(epoch_key, 0) + 1
                epoch = self._epochs.get(epoch_key, 0)
                message: dict[str, Any] = {
                    "id": next(self._ids), "sid": f"{entity_id}#{subject}#{epoch}",
                    "policy": pid, "step": step, "day": on.toordinal(),
                }
                if step == "first":
                    message["until"] = on.toordinal() + trigger.within_days
                if self.ruleset.post(message):
                    found.append((entity_id, pid))
        return found

    def close(self) -> None:
        self.ruleset.close()

    def __enter__(self) -> TriggerMatcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
