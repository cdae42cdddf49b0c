"""Multi-year data: yearly fields, their windows, and their binding to year columns.

A yearly field (catalog ``yearly:``) holds one value per accounting year; the snapshot keeps
one column per year (``operating_revenue_y2024``, :func:`profiles.catalog.year_column`). The
language reads it with one core node, :class:`rules.ast.YearValue` (``营业收入[year(as_of) -
1]``); everything else is sugar the parser rewrites into that node and the core operators:

======================================  ====================================================
written                                 core
======================================  ====================================================
``sum(f, years = 3)``                   ``f[Y-2] + f[Y-1] + f[Y]``  (Y = year(as_of) - 1)
``avg(f, years = 3)``                   ``(f[Y-2] + f[Y-1] + f[Y]) / 3``
``min(f, years = 2)`` / ``max(...)``    ``min(f[Y-1], f[Y])`` / ``max(...)``
``min(f, years = 2) >= x``              ``f[Y-1] >= x and f[Y] >= x``  (decided by any year)
``growth(f)`` / ``growth(f, Y)``        ``(f[Y] - f[Y-1]) / f[Y-1]``
``..., until = 2024``                   the window ends in 2024 instead of year(as_of) - 1
======================================  ====================================================

Chinese names: 合计, 平均, 最小, 最大, 增长率; keywords 年数 (years), 截至 (until).

Three values: a year not on record is UNKNOWN, never 0, so a sum, an average or a growth
over it is UNKNOWN; a comparison of ``min``/``max`` with a value is decided by the years that
are known whenever they decide it (one known year below the bar makes ``min(...) >= bar``
FALSE). Growth from a base of 0 is UNKNOWN (division by zero, as everywhere in the language).

A year is computed from the as-of date alone (numbers, ``year(as_of)``, ``+``, ``-`` and
parameters), so once the as-of date is known :func:`bind_policy` turns each YearValue into
the FieldRef of its year column: every engine (interpreter, polars, event engine, peers)
then reads a plain column and needs no rule of its own. A column the snapshot lacks (a year
no extract covered) is a column of nulls: UNKNOWN.

>>> import datetime as dt
>>> from rules.parser import parse_expr
>>> e = parse_expr("sum(rd_expense, years = 2) > 100万")
>>> to_source(e)
'rd_expense[year(as_of) - 1 - 1] + rd_expense[year(as_of) - 1] > 100万'
>>> bound = bind_expr(e, as_of=dt.date(2026, 6, 30), parameters={})
>>> to_source(bound), sorted(ast.fields_read(bound))
('rd_expense[2024] + rd_expense[2025] > 100万', ['rd_expense_y2024', 'rd_expense_y2025'])
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from typing import Any

from profiles.catalog import year_column
from rules import ast
from rules.model import (
    AllOf,
    Amount,
    AnyOf,
    Case,
    CaseAmount,
    Condition,
    ConditionNode,
    DatedValue,
    FormulaAmount,
    NotOf,
    Parameter,
    Policy,
    Tier,
    TierAmount,
    amount_exprs,
)
from rules.printer import to_source

#: window functions: written name -> core meaning
WINDOW_FUNCTIONS: dict[str, str] = {
    "sum": "sum", "合计": "sum", "avg": "avg", "平均": "avg", "min": "min", "最小": "min",
    "max": "max", "最大": "max", "growth": "growth", "增长率": "growth",
}
YEARS_WORDS = frozenset({"years", "年数"})
UNTIL_WORDS = frozenset({"until", "截至"})
#: the most years one window may span (a typo like `years = 300` is refused)
MAX_WINDOW = 20


class WindowError(ValueError):
    """A window written wrongly; the parser turns it into a located problem."""


def last_year(pos: ast.Pos = ast.NOPOS) -> ast.Expr:
    """``year(as_of) - 1``: the last closed accounting year, where a window ends by default."""
    return ast.Arith(op="-", left=ast.Call(func="year", args=(ast.AsOf(pos=pos),), pos=pos),
                     right=ast.Number(value=1, text="1", pos=pos), pos=pos)


def _minus(year: ast.Expr, k: int) -> ast.Expr:
    if k == 0:
        return year
    return ast.Arith(op="-", left=year, right=ast.Number(value=k, text=str(k), pos=year.pos),
                     pos=year.pos)


def _keyword(arg: ast.Expr, words: frozenset[str]) -> ast.Expr | None:
    """The value of ``word = value`` when ``arg`` is that, else None."""
    if (isinstance(arg, ast.Compare) and arg.op == "=" and isinstance(arg.left, ast.FieldRef)
            and arg.left.name in words):
        return arg.right
    return None


def is_window_call(fname: str, args: tuple[ast.Expr, ...]) -> bool:
    """Whether a call is a window over a yearly field (``sum(f, years = 3)``,
    ``growth(f)``) rather than a plain function or an aggregate."""
    if fname not in WINDOW_FUNCTIONS or not args or not isinstance(args[0], ast.FieldRef):
        return False
    if WINDOW_FUNCTIONS[fname] == "growth":
        return True
    return any(_keyword(a, YEARS_WORDS) is not None for a in args[1:])


def window(fname: str, args: tuple[ast.Expr, ...], pos: ast.Pos) -> ast.Expr:
    """The core expression of a window call (see the module docstring); raises
    :class:`WindowError` with a Chinese message when it is written wrongly."""
    func = WINDOW_FUNCTIONS[fname]
    field = args[0]
    assert isinstance(field, ast.FieldRef)
    years: ast.Expr | None = None
    until: ast.Expr | None = None
    for arg in args[1:]:
        if (value := _keyword(arg, YEARS_WORDS)) is not None and years is None:
            years = value
        elif (value := _keyword(arg, UNTIL_WORDS)) is not None and until is None:
            until = value
        elif func == "growth" and until is None and _keyword(arg, YEARS_WORDS) is None:
            until = arg  # growth(f, year(as_of) - 1)
        else:
            raise WindowError(f"期望 {fname}(字段, years = 年数, until = 截至年度)，"
                              f"实际有多余或重复的参数 {to_source(arg)}")
    if func == "growth":
        if years is not None:
            raise WindowError(f"期望 {fname}(字段) 或 {fname}(字段, 年度)，"
                              f"增长率比较相邻两年，不接受 years")
        end = until if until is not None else last_year(pos)
        now = ast.YearValue(field=field.name, year=end, written=field.written, pos=field.pos)
        before = ast.YearValue(field=field.name, year=_minus(end, 1), written=field.written,
                               pos=field.pos)
        gain = ast.Arith(op="-", left=now, right=before, pos=pos)
        return ast.Arith(op="/", left=gain, right=before, pos=pos)
    if not (isinstance(years, ast.Number) and years.unit is None
            and float(years.value).is_integer() and 1 <= years.value <= MAX_WINDOW):
        got = "没有" if years is None else to_source(years)
        raise WindowError(f"期望 years = 1 到 {MAX_WINDOW} 之间的整数(年数)，实际为 {got}")
    n = int(years.value)
    end = until if until is not None else last_year(pos)
    values: list[ast.Expr] = [
        ast.YearValue(field=field.name, year=_minus(end, k), written=field.written,
                      pos=field.pos)
        for k in range(n - 1, -1, -1)]
    if func in ("min", "max"):
        return ast.Call(func=func, args=tuple(values), pos=pos)  # type: ignore[arg-type]
    total = values[0]
    for v in values[1:]:
        total = ast.Arith(op="+", left=total, right=v, pos=pos)
    if func == "sum":
        return total
    return ast.Arith(op="/", left=total, right=ast.Number(value=n, text=str(n), pos=pos),
                     pos=pos)


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}


def _is_year_extreme(expr: ast.Expr) -> bool:
    return (isinstance(expr, ast.Call) and expr.func in ("min", "max")
            and all(isinstance(a, ast.YearValue) for a in expr.args))


def decide_extreme(compare: ast.Compare) -> ast.Expr:
    """``min``/``max`` of yearly values compared with a value, as the comparisons of each
    year joined by ``and`` / ``or``: exact under Kleene logic, and decided by the known years
    whenever they decide it. Any other comparison is returned as it is.

    >>> from rules.parser import parse_expr
    >>> to_source(parse_expr("min(营业收入, years = 2, until = 2025) >= 100万"))
    '营业收入[2025 - 1] >= 100万 and 营业收入[2025] >= 100万'
    >>> to_source(parse_expr("5 < max(employees, years = 2, until = 2025)"))
    'employees[2025 - 1] > 5 or employees[2025] > 5'
    """
    op: str = compare.op
    left, right = compare.left, compare.right
    if _is_year_extreme(right) and not _is_year_extreme(left):
        op, left, right = _FLIP[op], right, left
    if not _is_year_extreme(left) or ast.year_values(right):
        return compare
    assert isinstance(left, ast.Call)
    pos = compare.pos

    def each(o: str) -> tuple[ast.Expr, ...]:
        return tuple(ast.Compare(op=o, left=v, right=right, pos=pos)  # type: ignore[arg-type]
                     for v in left.args)

    lower = "min" if left.func == "min" else "max"
    # min(S) >= x: every year; min(S) < x: some year (and the mirror for max)
    every_side = (">", ">=") if lower == "min" else ("<", "<=")
    if op in every_side:
        return ast.And(items=each(op), pos=pos)
    if op in ("<", "<=", ">", ">="):
        return ast.Or(items=each(op), pos=pos)
    bound = ">=" if lower == "min" else "<="
    equal = ast.And(items=(ast.And(items=each(bound), pos=pos),
                           ast.Or(items=each("="), pos=pos)), pos=pos)
    return equal if op == "=" else ast.Not(item=equal, pos=pos)


# ---- the year of a YearValue ----------------------------------------------------------


def year_problem(expr: ast.Expr, parameters: Mapping[str, Parameter]) -> str | None:
    """Why ``expr`` cannot be the year of a yearly field (None when it can): a year is a
    whole number computed from numbers, ``year(as_of)``, ``+``, ``-`` and parameters."""
    if isinstance(expr, ast.Number):
        ok = expr.unit is None and float(expr.value).is_integer()
        return None if ok else f"期望整数年度，实际为 {to_source(expr)}"
    if isinstance(expr, ast.Call) and expr.func == "year":
        arg = expr.args[0] if expr.args else None
        if isinstance(arg, ast.AsOf | ast.Date):
            return None
        return f"期望 year(as_of) 或 year(日期字面量)，实际为 {to_source(expr)}"
    if isinstance(expr, ast.Arith) and expr.op in "+-":
        return year_problem(expr.left, parameters) or year_problem(expr.right, parameters)
    if isinstance(expr, ast.Neg):
        return year_problem(expr.item, parameters)
    if isinstance(expr, ast.FieldRef | ast.ParamRef) and expr.name in parameters:
        for dated in parameters[expr.name].values:
            if (why := year_problem(dated.value, parameters)) is not None:
                return why
        return None
    return (f"期望年度由评估日、整数和参数算出(如 year(as_of) - 1)，"
            f"实际为 {to_source(expr)}")


def year_of(expr: ast.Expr, *, as_of: dt.date, parameters: Mapping[str, Parameter]
            ) -> int | None:
    """The accounting year ``expr`` names on ``as_of`` (None: a parameter has no value yet).

    >>> year_of(last_year(), as_of=dt.date(2026, 3, 1), parameters={})
    2025
    """
    if isinstance(expr, ast.Number):
        return int(expr.value)
    if isinstance(expr, ast.Call):
        arg = expr.args[0]
        day = arg.value if isinstance(arg, ast.Date) else as_of  # year(as_of) or year(date)
        return day.year
    if isinstance(expr, ast.Arith):
        left = year_of(expr.left, as_of=as_of, parameters=parameters)
        right = year_of(expr.right, as_of=as_of, parameters=parameters)
        if left is None or right is None:
            return None
        return left + right if expr.op == "+" else left - right
    if isinstance(expr, ast.Neg):
        inner = year_of(expr.item, as_of=as_of, parameters=parameters)
        return None if inner is None else -inner
    if isinstance(expr, ast.ParamRef | ast.FieldRef):
        value = parameters[expr.name].at(as_of)
        return None if value is None else year_of(value, as_of=as_of, parameters=parameters)
    raise TypeError(f"expected a checked year expression, got {to_source(expr)}")


# ---- binding to year columns ----------------------------------------------------------

#: the year a lookup binds to when its year is not defined on the as-of date (a dated
#: parameter before its first date): no snapshot has that column, so the value is UNKNOWN
UNDEFINED_YEAR = 0


def bind_expr(expr: ast.Expr, *, as_of: dt.date, parameters: Mapping[str, Parameter]
              ) -> ast.Expr:
    """``expr`` with every YearValue replaced by the FieldRef of its year column."""
    if isinstance(expr, ast.YearValue):
        year = year_of(expr.year, as_of=as_of, parameters=parameters)
        year = UNDEFINED_YEAR if year is None else year
        return ast.FieldRef(name=year_column(expr.field, year), written=expr.written,
                            pos=expr.pos)
    if not ast.year_values(expr) or isinstance(expr, ast.Aggregate):
        return expr
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, tuple) and value and all(_is_node(v) for v in value):
            changes[f.name] = tuple(bind_expr(v, as_of=as_of, parameters=parameters)
                                    for v in value)
        elif _is_node(value):
            changes[f.name] = bind_expr(value, as_of=as_of, parameters=parameters)
    return dataclasses.replace(expr, **changes)


def _is_node(value: object) -> bool:
    return isinstance(value, ast.Node)


def _has_years(policy: Policy) -> bool:
    exprs = [leaf.expr for leaf in policy.conditions] + list(amount_exprs(policy.amount))
    exprs += [d.value for p in policy.parameters.values() for d in p.values]
    return any(ast.year_values(e) for e in exprs)


def _tree(node: ConditionNode, bind: Any) -> ConditionNode:
    if isinstance(node, Condition):
        return dataclasses.replace(node, expr=bind(node.expr))
    if isinstance(node, NotOf):
        return dataclasses.replace(node, child=_tree(node.child, bind))
    assert isinstance(node, AllOf | AnyOf)
    return dataclasses.replace(node, children=tuple(_tree(c, bind) for c in node.children))


def _amount(amount: Amount | None, bind: Any) -> Amount | None:
    if amount is None:
        return None
    rule = amount.rule
    if isinstance(rule, FormulaAmount):
        new: Any = FormulaAmount(expr=bind(rule.expr))
    elif isinstance(rule, TierAmount):
        new = TierAmount(by=bind(rule.by), tiers=tuple(
            Tier(from_=t.from_, value=bind(t.value)) for t in rule.tiers))
    else:
        assert isinstance(rule, CaseAmount)
        new = CaseAmount(cases=tuple(
            Case(when=None if c.when is None else bind(c.when), value=bind(c.value))
            for c in rule.cases))
    return dataclasses.replace(amount, rule=new)


_BOUND: dict[tuple[int, dt.date], tuple[Policy, Policy]] = {}
_BOUND_MAX = 4096


def fields_read_at(policy: Policy, as_of: dt.date) -> frozenset[str]:
    """Catalog fields the policy reads as of ``as_of``: a yearly field by the columns of the
    years it reads (``operating_revenue_y2024``, labelled 营业收入(2024年度)), so that a list of
    what is missing names the year."""
    return bind_policy(policy, as_of).fields_read


def bind_policy(policy: Policy, as_of: dt.date) -> Policy:
    """``policy`` with every yearly lookup bound to its year column as of ``as_of`` (the
    policy itself when it reads no yearly field). Every engine calls this where it learns
    the as-of date; results are cached per policy object and date."""
    key = (id(policy), as_of)
    hit = _BOUND.get(key)
    if hit is not None and hit[0] is policy:
        return hit[1]
    bound = policy
    if _has_years(policy):
        params = policy.parameters

        def bind(e: ast.Expr) -> ast.Expr:
            return bind_expr(e, as_of=as_of, parameters=params)

        bound = dataclasses.replace(
            policy, eligibility=_tree(policy.eligibility, bind),
            amount=_amount(policy.amount, bind),
            parameters={n: dataclasses.replace(p, values=tuple(
                DatedValue(since=d.since, value=bind(d.value)) for d in p.values))
                for n, p in params.items()})
    if len(_BOUND) >= _BOUND_MAX:
        _BOUND.clear()
    _BOUND[key] = (policy, bound)
    return bound
