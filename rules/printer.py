"""Render an expression back to source text; ``parse_expr(to_source(e)) == e``.

>>> from rules.parser import parse_expr
>>> to_source(parse_expr("(a or b) and not c <= 300万"))
'(a or b) and not c <= 300万'
>>> to_source(parse_expr("x - (y - 1)"))
'x - (y - 1)'
"""

from __future__ import annotations

import re

from profiles.catalog import split_year_column
from rules import ast
from rules.errors import UnsupportedNode

KEYWORDS = frozenset({
    "and", "or", "not", "in", "is", "empty", "known", "true", "false", "as_of", "eligible",
    "received", "received_amount", "first_time", "已领取", "已领取金额", "首次",
    "且", "或", "非", "为空", "已知", "是", "否", "评估日", "符合", "where", "其中",
})
_NAME = re.compile(r"[^\W\d]\w*")

_OR, _AND, _NOT, _PRED, _SUM, _PRODUCT, _UNARY, _ATOM = range(1, 9)


def _prec(expr: ast.Expr) -> int:
    if isinstance(expr, ast.Or):
        return _OR
    if isinstance(expr, ast.And):
        return _AND
    if isinstance(expr, ast.Not):
        return _NOT
    if isinstance(expr, ast.Compare | ast.In | ast.IsEmpty):
        return _PRED
    if isinstance(expr, ast.Arith):
        return _SUM if expr.op in "+-" else _PRODUCT
    if isinstance(expr, ast.Neg):
        return _UNARY
    return _ATOM


def _wrap(expr: ast.Expr, at_least: int) -> str:
    text = to_source(expr)
    return text if _prec(expr) >= at_least else f"({text})"


def name_source(name: str) -> str:
    """A name as it must be written: bare when it lexes as one name, else in backticks.

    >>> name_source("从业人数"), name_source("3岁以下子女数"), name_source("in")
    ('从业人数', '`3岁以下子女数`', '`in`')
    """
    if _NAME.fullmatch(name) and name not in KEYWORDS:
        return name
    return f"`{name}`"


def number_source(value: float) -> str:
    """Plain decimal text of a number literal without unit.

    >>> number_source(3000000.0), number_source(0.5)
    ('3000000', '0.5')
    """
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def months_source(months: int) -> str:
    """A window in the words it is written with.

    >>> months_source(36), months_source(18)
    ('3 years', '18 months')
    """
    return f"{months // 12} years" if months % 12 == 0 else f"{months} months"


def to_source(expr: ast.Expr) -> str:
    """Source text of an expression (inverse of :func:`rules.parser.parse_expr`)."""
    if isinstance(expr, ast.Number):
        if expr.text:
            return expr.text
        if expr.unit == "ratio":
            return number_source(round(expr.value * 100, 10)) + "%"
        return number_source(expr.value)
    if isinstance(expr, ast.String):
        quote = "'" if '"' in expr.value else '"'
        return f"{quote}{expr.value}{quote}"
    if isinstance(expr, ast.Bool):
        return "true" if expr.value else "false"
    if isinstance(expr, ast.Date):
        return expr.value.isoformat()
    if isinstance(expr, ast.AsOf):
        return "as_of"
    if isinstance(expr, ast.FieldRef):
        column = split_year_column(expr.name)
        if column is not None:  # a yearly lookup bound to its year (rules.years)
            return f"{name_source(expr.written or column[0])}[{column[1]}]"
        return name_source(expr.written or expr.name)
    if isinstance(expr, ast.ParamRef | ast.SetRef | ast.RegionRef):
        return name_source(expr.name)
    if isinstance(expr, ast.PolicyRef):
        return f'eligible("{expr.policy_id}")'
    if isinstance(expr, ast.LedgerRef):
        fname = "received" if expr.kind == "received" else "received_amount"
        window = "" if expr.within_months is None else ", within = " + months_source(
            expr.within_months)
        return f'{fname}("{expr.policy_id}"{window})'
    if isinstance(expr, ast.Aggregate):
        if expr.written:
            return expr.written
        over = expr.relation
        if expr.value is not None:
            over += "." + to_source(expr.value)
        where = "" if expr.where is None else f" where {to_source(expr.where)}"
        return f"{expr.func}({over}{where})"
    if isinstance(expr, ast.YearValue):
        return f"{name_source(expr.written or expr.field)}[{to_source(expr.year)}]"
    if isinstance(expr, ast.ListLit):
        return "[" + ", ".join(to_source(i) for i in expr.items) + "]"
    if isinstance(expr, ast.Compare):
        return f"{_wrap(expr.left, _SUM)} {expr.op} {_wrap(expr.right, _SUM)}"
    if isinstance(expr, ast.In):
        neg = "not in" if expr.negated else "in"
        return f"{_wrap(expr.item, _SUM)} {neg} {_wrap(expr.container, _ATOM)}"
    if isinstance(expr, ast.IsEmpty):
        return f"{_wrap(expr.item, _SUM)} is {'known' if expr.negated else 'empty'}"
    if isinstance(expr, ast.And):
        return " and ".join(_wrap(i, _AND + 1) for i in expr.items)
    if isinstance(expr, ast.Or):
        return " or ".join(_wrap(i, _OR + 1) for i in expr.items)
    if isinstance(expr, ast.Not):
        return f"not {_wrap(expr.item, _NOT)}"
    if isinstance(expr, ast.Arith):
        level = _SUM if expr.op in "+-" else _PRODUCT
        return f"{_wrap(expr.left, level)} {expr.op} {_wrap(expr.right, level + 1)}"
    if isinstance(expr, ast.Neg):
        inner = _wrap(expr.item, _UNARY)
        return f"- {inner}" if inner.startswith("-") else f"-{inner}"
    if isinstance(expr, ast.Call):
        return f"{expr.func}(" + ", ".join(to_source(a) for a in expr.args) + ")"
    raise UnsupportedNode("printer", expr)
