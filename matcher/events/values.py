"""Values of non-boolean expressions (arithmetic, date functions, parameters) for one row, and
their encoding in a durable_rules fact.

durable_rules cannot compute these itself (left-hand arithmetic and ``field + field`` on the
right fail), so they are computed here when a fact is built, like derived tags, and the
*comparisons* on them run in durable_rules. Semantics are the reference interpreter's:
``None`` is unknown, any unknown input gives unknown, division by zero gives unknown.

>>> import datetime as dt
>>> from rules import ast as A
>>> e = A.Arith(op="/", left=A.FieldRef(name="tech_staff"), right=A.FieldRef(name="employees"))
>>> value_of(e, {"tech_staff": 3, "employees": 12}, params={}, declared=frozenset(),
...          as_of=dt.date(2025, 6, 30))
0.25
>>> value_of(e, {"tech_staff": 3, "employees": 0}, params={}, declared=frozenset(),
...          as_of=dt.date(2025, 6, 30)) is None
True
>>> encode(dt.date(2025, 1, 1)), encode(True), encode(3)
(739252, True, 3)
"""

from __future__ import annotations

import datetime as dt
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rules import ast, intervals
from rules.amount_branches import NO_BRANCH, agreed, case_branches, tier_branches
from rules.errors import UnsupportedNode
from rules.ledger import ledger_column
from rules.model import Parameter
from rules.semantics import arith, call

TARGET = "durable_rules"
Truth = bool | None


#: an aggregate (node, id of its policy's parameters) -> the row columns of its interval
Aggregates = Mapping[tuple[ast.Expr, int], tuple[str, str]]


def value_of(expr: ast.Expr, row: Mapping[str, Any], *, params: Mapping[str, Parameter],
             declared: frozenset[str], as_of: dt.date, aggregates: Aggregates | None = None,
             selected: Mapping[ast.Expr, Truth] | None = None) -> Any:
    """The value of a value expression for ``row`` (None when unknown). A value that reads
    an aggregate is known when its interval is one point (``aggregates`` names the row
    columns of each aggregate's interval). ``selected`` holds the truth durable_rules gave
    each selector of a tier table or cases (:func:`rules.ast.selectors`; absent: UNKNOWN)."""
    return _Row(row, params, declared, as_of, aggregates or {}, selected).value(expr)


def interval_of(expr: ast.Expr, row: Mapping[str, Any], *, params: Mapping[str, Parameter],
                declared: frozenset[str], as_of: dt.date, aggregates: Aggregates
                ) -> intervals.Interval:
    """The interval of a value that reads an aggregate (:mod:`rules.intervals`)."""
    return _Row(row, params, declared, as_of, aggregates).interval(expr)


@dataclass(frozen=True)
class _Row:
    row: Mapping[str, Any]
    params: Mapping[str, Parameter]
    declared: frozenset[str]
    as_of: dt.date
    aggregates: Aggregates
    selected: Mapping[ast.Expr, Truth] | None = None

    def value(self, expr: ast.Expr) -> Any:
        if type(expr) in INTERVAL_RULES and _has_aggregate(expr):
            return self.interval(expr).exact
        return self._plain(expr)

    def _plain(self, expr: ast.Expr) -> Any:
        rule = RULES.get(type(expr))
        if rule is None:
            raise UnsupportedNode(TARGET, expr)
        return rule(expr, self)

    def interval(self, expr: ast.Expr) -> intervals.Interval:
        rule = INTERVAL_RULES.get(type(expr))
        return intervals.point(self._plain(expr)) if rule is None else rule(expr, self)

    def truth(self, selector: ast.Expr) -> Truth:
        """A selector's truth, decided in durable_rules (a fact being built has none)."""
        if self.selected is None:
            raise UnsupportedNode(TARGET, selector)
        return self.selected.get(selector)


#: :func:`rules.ast.has_aggregate` by node identity (a policy's nodes live as long as it):
#: a fact and an amount ask it of the same nodes for every event
_HAS_AGGREGATE: dict[int, tuple[ast.Expr, bool]] = {}


def _has_aggregate(expr: ast.Expr) -> bool:
    hit = _HAS_AGGREGATE.get(id(expr))
    if hit is not None and hit[0] is expr:
        return hit[1]
    if len(_HAS_AGGREGATE) > 100_000:
        _HAS_AGGREGATE.clear()
    found = ast.has_aggregate(expr)
    _HAS_AGGREGATE[id(expr)] = (expr, found)
    return found


def _aggregate(expr: ast.Aggregate, r: _Row) -> intervals.Interval:
    columns = r.aggregates.get((expr, id(r.params)))
    if columns is None:
        raise UnsupportedNode(TARGET, expr)
    lo, hi = (r.row.get(c) for c in columns)
    return intervals.Interval(lo, hi)


#: Interval evaluation of a value that reads an aggregate, one rule per node that can
#: carry an interval (:data:`rules.interpret._INTERVAL_RULES` is the specification).
INTERVAL_RULES: dict[type, Callable[[Any, _Row], intervals.Interval]] = {
    ast.Aggregate: _aggregate,
    ast.Arith: lambda e, r: intervals.arith(e.op, r.interval(e.left), r.interval(e.right)),
    ast.Neg: lambda e, r: intervals.negate(r.interval(e.item)),
}


def _param(expr: ast.ParamRef, r: _Row) -> Any:
    value = r.params[expr.name].at(r.as_of)
    return None if value is None else r.value(value)


def _neg(expr: ast.Neg, r: _Row) -> Any:
    inner = r.value(expr.item)
    return None if inner is None else -inner


def _tiers(expr: ast.Tiers, r: _Row) -> Any:
    meets = [r.truth(m) for m in expr.selectors()]
    return agreed(None if i == NO_BRANCH else r.value(expr.values[i])
                  for i in tier_branches(meets))


def _cases(expr: ast.Cases, r: _Row) -> Any:
    whens = [r.truth(w) for w in expr.whens] + ([] if expr.otherwise is None else [True])
    return agreed(None if i == NO_BRANCH else r.value(expr.branches[i])
                  for i in case_branches(whens))


#: Terms: the value nodes a fact carries computed (the comparisons on them run in
#: durable_rules, :data:`matcher.events.compiler.RULES`); the interpreter's rules
#: (:data:`rules.interpret.RULES`) are their specification.
RULES: dict[type, Callable[[Any, _Row], Any]] = {
    ast.Number: lambda e, r: e.value,
    ast.String: lambda e, r: e.value,
    ast.Bool: lambda e, r: e.value,
    ast.Date: lambda e, r: e.value,
    ast.AsOf: lambda e, r: r.as_of,
    ast.FieldRef: lambda e, r: None if e.name in r.declared else r.row.get(e.name),
    # filled from rules.ledger.join_ledger's columns
    ast.LedgerRef: lambda e, r: r.row.get(ledger_column(e)),
    ast.ParamRef: _param,
    ast.Neg: _neg,
    ast.Arith: lambda e, r: arith(e.op, r.value(e.left), r.value(e.right)),
    ast.Call: lambda e, r: call(e.func, [r.value(a) for a in e.args], r.as_of),
    ast.Tiers: _tiers,
    ast.Cases: _cases,
}


def encode(value: Any) -> Any:
    """A value as a durable_rules fact carries it: dates as day ordinals (durable compares
    strings as text and has no dates), infinities as the largest double, NaN as unknown,
    everything else as the JSON scalar it is."""
    if isinstance(value, dt.datetime):
        return value.date().toordinal()
    if isinstance(value, dt.date):
        return value.toordinal()
    if isinstance(value, float):
        if value != value:  # NaN: not a value
            return None
        if math.isinf(value):  # durable has no infinity: the largest double stands for it
            return math.copysign(sys.float_info.max, value)
    return value
