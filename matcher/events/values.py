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
from collections.abc import Mapping
from typing import Any

from rules import ast
from rules.errors import UnsupportedNode
from rules.ledger import ledger_column
from rules.model import Parameter
from rules.semantics import arith, call

TARGET = "durable_rules"


def value_of(expr: ast.Expr, row: Mapping[str, Any], *, params: Mapping[str, Parameter],
             declared: frozenset[str], as_of: dt.date) -> Any:
    """The value of a value expression for ``row`` (None when unknown)."""
    if isinstance(expr, ast.Number | ast.String | ast.Bool | ast.Date):
        return expr.value
    if isinstance(expr, ast.AsOf):
        return as_of
    if isinstance(expr, ast.FieldRef):
        return None if expr.name in declared else row.get(expr.name)
    if isinstance(expr, ast.LedgerRef):  # filled from rules.ledger.join_ledger's columns
        return row.get(ledger_column(expr))
    if isinstance(expr, ast.ParamRef):
        value = params[expr.name].at(as_of)
        return None if value is None else value_of(value, row, params=params,
                                                    declared=declared, as_of=as_of)
    if isinstance(expr, ast.Neg):
        inner = value_of(expr.item, row, params=params, declared=declared, as_of=as_of)
        return None if inner is None else -inner
    if isinstance(expr, ast.Arith):
        left = value_of(expr.left, row, params=params, declared=declared, as_of=as_of)
        right = value_of(expr.right, row, params=params, declared=declared, as_of=as_of)
        return arith(expr.op, left, right)
    if isinstance(expr, ast.Call):
        args = [value_of(a, row, params=params, declared=declared, as_of=as_of)
                for a in expr.args]
        return call(expr.func, args, as_of)
    raise UnsupportedNode(TARGET, expr)


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
