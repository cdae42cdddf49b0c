"""Event-triggered policies: the ``trigger`` patterns of :mod:`rules.triggers` as
durable_rules multi-event rules.

For each trigger policy, one rule joins two events of one session: the *first* step and
the *then* step. durable_rules holds only the patterns still open: a *first* event opens a
session that waits for the *then* event; the session is emptied and reused when the
pattern completes, when its window has passed, or when a new *first* event for the same
subject starts a new occurrence (an abandoned pattern is emptied by completing it and
discarding the match: durable_rules 2.0.28 cannot delete a session safely). Python does
the routing that durable_rules cannot be trusted with:

- correlation: each open pattern of (entity, policy, subject) has its own session, so both
  events of one occurrence concern the same entity and the same subject (``correlate``);
- order: a *then* event goes to the latest open pattern, so it can only pair with a first
  event that came before it; events of one entity must come in date order
  (:class:`~matcher.events.errors.BadEventError` otherwise), which makes the window's lower
  bound hold;
- the window (``day <= first day + within_days``) is checked before the *then* event is
  posted: a test on another event's field that is FALSE inside ``$and`` makes durable_rules
  2.0.28 read past the end of the rule's expression list, a segmentation fault whenever the
  memory after it holds no end marker (``README.md``, "durable_rules traps").

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

from matcher.events.errors import BadEventError, EngineFailure
from matcher.events.ruleset import DurableRuleset
from rules.model import Policy

SESSIONS_PER_RULESET = 1000
"""durable_rules keeps at most 1024 sessions (states) in one ruleset and cannot delete one
safely (``README.md``): sessions are reused, and more open patterns use more rulesets."""


class TriggerMatcher:
    """The trigger patterns of some policies in durable_rules, which holds only the patterns
    still open (a *first* event waiting for its *then*), one reusable session each."""

    def __init__(self, policies: Iterable[Policy]) -> None:
        self.policies = {p.id: p for p in policies if p.trigger is not None}
        self._rules: dict[str, dict[str, Any]] = {}
        for pid in sorted(self.policies):
            # Tests on the events' own fields only: a test on another event's field that is
            # FALSE inside ``$and`` makes durable_rules read past the end of the rule's
            # expression list (see ``README.md``); the window is checked before posting.
            self._rules[f"trig|{pid}"] = {"all": [
                {"a": {"$and": [{"policy": pid}, {"step": "first"}]}},
                {"b": {"$and": [{"policy": pid}, {"step": "then"}]}},
            ]}
        self.rulesets: list[DurableRuleset] = []
        # (entity, policy, subject) -> (session number, last day of the window)
        self._open: dict[tuple[str, str, str], tuple[int, int]] = {}
        self._free: list[int] = []
        self._sessions = 0
        self._last_day: dict[str, dt.date] = {}
        self._ids = itertools.count(1)

    @property
    def open_patterns(self) -> int:
        """How many patterns wait for their *then* event."""
        return len(self._open)

    def post(self, entity_id: str, event: str, on: dt.date,
             attributes: Mapping[str, Any]) -> list[tuple[str, str]]:
        """Post one life event; the (entity, policy) occurrences it completes."""
        last = self._last_day.get(entity_id)
        if last is not None and on < last:
            raise BadEventError(f"事件日期应不早于该主体上一事件 {last}，实际为 {on}",
                                field="on")
        self._last_day[entity_id] = on
        found: list[tuple[str, str]] = []
        day = on.toordinal()
        for pid, policy in self.policies.items():
            trigger = policy.trigger
            assert trigger is not None
            # *then* before *first*: an event that is both completes the open pattern first
            for step, spec in (("then", trigger.then), ("first", trigger.first)):
                if spec.event != event:
                    continue
                subject = ""
                if trigger.correlate:
                    value = attributes.get(trigger.correlate)
                    if value is None:
                        raise BadEventError(f"事件 {event} 应带有 {trigger.correlate} 字段，"
                                            "实际没有", field=trigger.correlate)
                    subject = str(value)
                key = (entity_id, pid, subject)
                if step == "first":
                    self._abandon(key)  # a new first event starts a new occurrence
                    session = self._free.pop() if self._free else self._new_session()
                    self._open[key] = (session, day + trigger.within_days)
                    if self._post(session, pid, "first", day):
                        raise EngineFailure(f"触发规则 {pid} 在首个事件时即已完成")
                    continue
                pending = self._open.get(key)
                if pending is None:
                    continue  # nothing waits for this event
                if day > pending[1]:
                    self._abandon(key)  # the window has passed: it can never complete
                    continue
                self._complete(key)
                found.append((entity_id, pid))
        return found

    def _new_session(self) -> int:
        session = self._sessions
        self._sessions += 1
        if session // SESSIONS_PER_RULESET == len(self.rulesets):
            self.rulesets.append(DurableRuleset(self._rules, name="mianshen_trigger"))
        return session

    def _post(self, session: int, pid: str, step: str, day: int) -> bool:
        shard, sid = divmod(session, SESSIONS_PER_RULESET)
        fired = self.rulesets[shard].post({"id": next(self._ids), "sid": str(sid),
                                           "policy": pid, "step": step, "day": day})
        return bool(fired)

    def _complete(self, key: tuple[str, str, str]) -> None:
        """Post the *then* event to the open pattern of ``key``: it completes, consuming
        both events, which leaves the session empty for reuse."""
        session, _ = self._open.pop(key)
        if not self._post(session, key[1], "then", 0):
            raise EngineFailure(f"触发规则 {key[1]} 的未完成模式未能完成")
        self._free.append(session)

    def _abandon(self, key: tuple[str, str, str]) -> None:
        if key in self._open:
            self._complete(key)  # completing empties the session; the match is discarded

    def close(self) -> None:
        for ruleset in self.rulesets:
            ruleset.close()

    def __enter__(self) -> TriggerMatcher:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
