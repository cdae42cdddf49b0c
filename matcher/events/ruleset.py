"""The only module that touches durable_rules (2.0.28, unmaintained since 2020).

Everything the rest of :mod:`matcher.events` needs from it is here: a ruleset built from
JSON rule definitions, facts asserted and retracted, events posted, and the names of the
rules that fired. The traps this module works around are listed in ``README.md`` next to
it, each with the test that holds the workaround in place. In short:

- rules are written as the engine's JSON definitions, never with ``durable.lang``
  operators (Python ``in``, ``and`` and chained comparisons silently build another rule);
- a ruleset is driven directly (``engine.Ruleset``), not through the global host: no
  background dispatch threads, no process-wide registry, a unique name per compilation and
  ``delete_ruleset`` on close;
- facts are asserted with ``assert_fact`` (every matching rule fires; ``post`` fires one);
- a fact that matches no rule raises ``MessageNotHandledException``: every profile fact
  matches the always-true guard rule that the compiler adds, and events that match nothing
  are reported as not handled instead of raised;
- durable's JSON parser rejects numbers in exponent notation (``1e-05``, error 204) in
  facts and in rules: every message is serialised here, floats in positional notation
  (``0.00001``), which durable parses to the same double;
- exceptions raised inside an action are swallowed by durable_rules (written into the
  state as ``exception``): actions here only append to a list, inside ``try``; any error is
  kept and re-raised by the caller's thread after the actions ran.
"""

from __future__ import annotations

import itertools
import json
import math
import threading
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import durable_rules_engine
from durable import engine

from matcher.events.errors import EngineFailure

_names = itertools.count()
_lock = threading.Lock()

Fired = tuple[str, Mapping[str, Any]]


def dumps(value: Any) -> str:
    """JSON as durable_rules can read it: floats never in exponent notation.

    >>> dumps({"x": 1e-05, "y": [2e20, "存续", True, None]})
    '{"x": 0.00001, "y": [200000000000000000000, "存续", true, null]}'
    """
    if isinstance(value, dict) and all(isinstance(k, str) and _plain(v)
                                       for k, v in value.items()):
        return json.dumps(value, ensure_ascii=False)  # a flat fact: the C encoder
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k), ensure_ascii=False)}: {dumps(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(dumps(v) for v in value) + "]"
    if isinstance(value, float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite number for durable_rules, got {value}")
        text = repr(value)
        return format(Decimal(text), "f") if "e" in text or "E" in text else text
    return json.dumps(value, ensure_ascii=False)


def _plain(value: Any) -> bool:
    """Whether ``json.dumps`` writes ``value`` as durable_rules reads it: a scalar, and a
    float only when finite and not in exponent notation."""
    if isinstance(value, float):
        return math.isfinite(value) and "e" not in repr(value)
    return value is None or isinstance(value, str | int | bool)


class _Ruleset(engine.Ruleset):
    """durable's Ruleset, created from our JSON (see :func:`dumps`)."""

    def __init__(self, name: str, definition: dict[str, dict[str, Any]]) -> None:
        self._actions = {}
        self._name = name
        self._host = None
        for rule_name, rule in definition.items():
            self._actions[rule_name] = engine.Promise(rule.pop("run"))
        self._handle = durable_rules_engine.create_ruleset(name, dumps(definition))
        self._definition = definition

    def assert_fact(self, fact: dict[str, Any]) -> Any:
        return self._handle_result(durable_rules_engine.assert_fact(self._handle, dumps(fact)),
                                   fact)

    def retract_fact(self, fact: dict[str, Any]) -> Any:
        return self._handle_result(
            durable_rules_engine.retract_fact(self._handle, dumps(fact)), fact)

    def assert_event(self, message: dict[str, Any]) -> Any:
        return self._handle_result(
            durable_rules_engine.assert_event(self._handle, dumps(message)), message)


_decoder = json.JSONDecoder()


def _first_key(message: str) -> str:
    """The first key of a JSON object (a queued action's rule name) without parsing the
    rest.

    >>> _first_key('{"elig|a|T": {"m": {"sid": "x", "kind": "profile"}}}')
    'elig|a|T'
    """
    start = message.index('"')
    end = message.index('"', start + 1)
    if "\\" not in message[start:end]:  # no escape: the key is the text between quotes
        return message[start + 1:end]
    key, _ = _decoder.raw_decode(message, start)
    return str(key)


def unique_name(prefix: str) -> str:
    """A ruleset name never used before in this process (durable keeps names global)."""
    with _lock:
        return f"{prefix}_{next(_names)}"


class DurableRuleset:
    """A compiled durable_rules ruleset and the rules that fired since the last call.

    ``rules`` maps a rule name to its condition in durable's JSON form, e.g.
    ``{"all": [{"m": {"$lt": {"x": 10}}}]}``.

    >>> rs = DurableRuleset({"small": {"all": [{"m": {"$lt": {"x": 10}}}]}}, name="doc")
    >>> sorted(name for name, _ in rs.assert_fact({"sid": "e1", "x": 3}))
    ['small']
    >>> rs.assert_fact({"sid": "e1", "x": 30})
    []
    >>> rs.close()
    """

    def __init__(self, rules: Mapping[str, Mapping[str, Any]], *, name: str) -> None:
        self.name = unique_name(name)
        self._fired: list[Fired] = []
        self._errors: list[BaseException] = []
        definition: dict[str, dict[str, Any]] = {}
        for rule_name, condition in rules.items():
            body = json.loads(json.dumps(condition))  # deep copy: durable mutates definitions
            body["run"] = self._action(rule_name)
            definition[rule_name] = body
        self._ruleset = _Ruleset(self.name, definition)
        self._closed = False

    def _action(self, rule_name: str) -> Callable[[Any], None]:
        def action(c: Any) -> None:
            try:
                self._record(rule_name, c)
            except BaseException as exc:  # durable would swallow it: keep it
                self._errors.append(exc)

        return action

    def _record(self, rule_name: str, c: Any) -> None:
        # A multi-pattern rule's content is under its aliases, not ``c.m`` (``c.m`` is None
        # there, and reading ``c.m.x`` raises inside the action, where it is swallowed).
        self._fired.append((rule_name, dict(c._m) if c._m is not None else {}))

    def _drain(self, handle: Any) -> list[Fired]:
        failures: list[BaseException] = []

        def complete(error: Any, _state: Any) -> None:
            if error:
                failures.append(error if isinstance(error, BaseException)
                                else EngineFailure(str(error)))

        self._ruleset.do_actions(handle, complete)
        out, self._fired[:] = list(self._fired), []
        errors, self._errors[:] = list(self._errors), []
        if failures or errors:
            raise EngineFailure(f"durable_rules action failed in {self.name}: "
                                f"{(failures + errors)[0]!r}")
        return out

    def assert_fact(self, fact: Mapping[str, Any]) -> list[Fired]:
        """Assert a fact; the (rule, matched content) pairs that fired, in firing order."""
        try:
            handle = self._ruleset.assert_fact(dict(fact))
        except engine.MessageNotHandledException:
            return []
        return self._drain(handle)

    def fired_names(self, fact: Mapping[str, Any]) -> list[str]:
        """Assert a fact, retract it, and return the names of the rules that fired (each
        once per firing): :meth:`assert_fact` without the rules' actions. The queued
        actions are read straight from the C engine, one after another, taking only the
        rule name from each message: no Python action, no state written back, no parse of
        the fact each message repeats (a profile fact fires ~200 rules; through the
        actions that cost ~10 ms a fact, this ~1 ms). Only for rulesets whose actions
        merely record (every one here)."""
        handle = self._ruleset._handle
        text = dumps(dict(fact))  # once, for the assert and the retract
        names: list[str] = []
        try:
            state = self._ruleset._handle_result(
                durable_rules_engine.assert_fact(handle, text), fact)
        except engine.MessageNotHandledException:
            return names
        try:
            if state:
                result = durable_rules_engine.start_action_for_state(handle, state)
                message = result[1] if result else None
                while message:
                    names.append(_first_key(message))
                    message = durable_rules_engine.complete_and_start_action(handle, state)
        finally:
            try:
                self._ruleset._handle_result(durable_rules_engine.retract_fact(handle, text),
                                             fact)
            except engine.MessageNotHandledException:
                pass
        return names

    def retract_fact(self, fact: Mapping[str, Any]) -> None:
        try:
            self._ruleset.retract_fact(dict(fact))
        except engine.MessageNotHandledException:
            pass

    def post(self, event: Mapping[str, Any]) -> list[Fired]:
        """Post an event (consumed by the first rule it completes)."""
        try:
            handle = self._ruleset.assert_event(dict(event))
        except engine.MessageNotHandledException:
            return []
        return self._drain(handle)

    def close(self) -> None:
        if not self._closed:
            durable_rules_engine.delete_ruleset(self._ruleset._handle)
            self._closed = True

    def __enter__(self) -> DurableRuleset:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
