"""Positive formulas over durable_rules tests, and their JSON form.

durable_rules has no NOT, so the compiler never needs one: each three-valued question is
compiled to two positive formulas, TRUE and FALSE (NOT swaps them, De Morgan does the rest).
A formula is a constant (:data:`ALWAYS`, :data:`NEVER`), a :class:`Test` (one comparison in
durable's JSON, e.g. ``{"$lt": {"f_employees": 300}}``), or a :class:`Conj` / :class:`Disj`.

>>> f = conj([Test({"f_status": "存续"}), disj([NEVER, Test({"$lt": {"f_x": 3}})])])
>>> to_json(f)
{'$and': [{'f_status': '存续'}, {'$lt': {'f_x': 3}}]}
>>> conj([ALWAYS, NEVER]) is NEVER, disj([]) is NEVER, conj([]) is ALWAYS
(True, True, True)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Const:
    value: bool


ALWAYS = Const(True)
NEVER = Const(False)


@dataclass(frozen=True)
class Test:
    """One durable_rules comparison on the fact (``m``), in its JSON form."""

    json: dict[str, Any]

    def __hash__(self) -> int:
        return hash(json.dumps(self.json, sort_keys=True, ensure_ascii=False))


@dataclass(frozen=True)
class Conj:
    items: tuple[Formula, ...]


@dataclass(frozen=True)
class Disj:
    items: tuple[Formula, ...]


Formula = Const | Test | Conj | Disj


def conj(items: Iterable[Formula]) -> Formula:
    """AND, simplified: NEVER wins, ALWAYS drops out, nested ANDs are flattened."""
    out: list[Formula] = []
    for item in items:
        if item is NEVER or item == NEVER:
            return NEVER
        if item == ALWAYS:
            continue
        out.extend(item.items if isinstance(item, Conj) else (item,))
    if not out:
        return ALWAYS
    return out[0] if len(out) == 1 else Conj(tuple(out))


def disj(items: Iterable[Formula]) -> Formula:
    """OR, simplified: ALWAYS wins, NEVER drops out, nested ORs are flattened."""
    out: list[Formula] = []
    for item in items:
        if item == ALWAYS:
            return ALWAYS
        if item == NEVER:
            continue
        out.extend(item.items if isinstance(item, Disj) else (item,))
    if not out:
        return NEVER
    return out[0] if len(out) == 1 else Disj(tuple(out))


def to_json(formula: Formula) -> dict[str, Any]:
    """durable's JSON for a formula that is not a constant."""
    if isinstance(formula, Test):
        return formula.json
    if isinstance(formula, Conj):
        return {"$and": [to_json(i) for i in formula.items]}
    if isinstance(formula, Disj):
        return {"$or": [to_json(i) for i in formula.items]}
    raise ValueError(f"expected a test, AND or OR formula, got the constant {formula.value}")


def dnf_size(formula: Formula) -> int:
    """How many conjunctions durable_rules expands the formula into (each fires apart)."""
    if isinstance(formula, Conj):
        size = 1
        for item in formula.items:
            size *= dnf_size(item)
        return size
    if isinstance(formula, Disj):
        return sum(dnf_size(i) for i in formula.items)
    return 1


#: durable_rules keeps a pattern's ``$and`` / ``$or`` structure in at most 31 entries, two
#: per node (its MAX_SEQUENCE_EXPRESSIONS, 32; past it the ruleset is refused with
#: ERR_EXPRESSION_LIMIT_EXCEEDED, code 113): a pattern holds at most 15 such nodes.
MAX_GATES = 15


def gates(formula: Formula) -> int:
    """The ``$and`` / ``$or`` nodes of the formula's JSON (:func:`to_json`)."""
    if isinstance(formula, Conj | Disj):
        return 1 + sum(gates(i) for i in formula.items)
    return 0


def split(formula: Formula, limit: int) -> list[Formula]:
    """Formulas of at most ``limit`` gates (:func:`gates`) whose OR is ``formula``: an OR
    split into its items, an AND distributed over its largest OR, as far as needed (each
    part is a rule of its own: one fires when the formula holds).

    >>> f = conj([Test({"a": 1}), disj([conj([Test({"b": 1}), Test({"c": 1})]), Test({"d": 1})])])
    >>> [to_json(p) for p in split(f, 2)]
    [{'$and': [{'a': 1}, {'b': 1}, {'c': 1}]}, {'$and': [{'a': 1}, {'d': 1}]}]
    """
    if gates(formula) <= limit:
        return [formula]
    if isinstance(formula, Disj):
        return [part for item in formula.items for part in split(item, limit)]
    assert isinstance(formula, Conj)  # a test or a constant has no gate
    ors = [i for i in formula.items if isinstance(i, Disj)]
    if not ors:  # an AND of tests (ANDs within are flattened) has one gate
        raise ValueError(f"expected a formula of at most {limit} gates, got an AND of "
                         f"{len(formula.items)} tests")
    widest = max(ors, key=gates)
    rest = [i for i in formula.items if i is not widest]
    return [part for item in widest.items for part in split(conj([*rest, item]), limit)]
