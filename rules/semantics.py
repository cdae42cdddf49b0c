"""Semantic facts shared by every evaluator of the rule language (polars compiler, reference
interpreter, and the other engines): which atoms are decided on list-type fields, date
arithmetic, and how a row value becomes a three-valued truth.

>>> import datetime as dt
>>> as_of = dt.date(2025, 5, 1)
>>> years_between(dt.date(1960, 5, 1), as_of), years_between(dt.date(1960, 5, 2), as_of)
(65, 64)
>>> months_between(dt.date(2025, 1, 31), dt.date(2025, 3, 30))
1
>>> months_between(dt.date(2025, 1, 31), dt.date(2025, 2, 28))  # the month has no 31st
1
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from profiles.catalog import HELD_FIELDS, EntityCatalog
from rules import ast

ATOMS = (ast.Compare, ast.In, ast.IsEmpty)


def add_months(start: dt.date, months: int) -> dt.date:
    """``start`` moved by whole months; a day the target month lacks becomes its last day
    (民法典 第二百零二条: a period whose end month has no corresponding day ends on the last
    day of that month).

    >>> add_months(dt.date(2025, 1, 31), 1), add_months(dt.date(2024, 2, 29), 12)
    (datetime.date(2025, 2, 28), datetime.date(2025, 2, 28))
    """
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (dt.date(year + (month == 12), month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(start.day, last))


def add_years(start: dt.date, years: int) -> dt.date:
    """The ``years``-th anniversary of ``start`` (29 February falls on 28 February).

    >>> add_years(dt.date(2022, 3, 1), 3), add_years(dt.date(2000, 2, 29), 1)
    (datetime.date(2025, 3, 1), datetime.date(2001, 2, 28))
    """
    return add_months(start, 12 * years)


def months_between(start: dt.date, as_of: dt.date) -> int:
    """Full months from ``start`` to ``as_of``: the largest n with ``add_months(start, n) <=
    as_of`` (negative when ``start`` is later)."""
    n = (as_of.year - start.year) * 12 + as_of.month - start.month
    return n - int(add_months(start, n) > as_of)


def late_start_day(as_of: dt.date) -> int:
    """The day of the month after which a start date's anniversary in ``as_of``'s month falls
    after ``as_of``: a start on a later day of the month has not yet completed the month (or,
    in ``as_of``'s month, the year) that its month and year alone would count. That is
    ``as_of.day``, except on the last day of a month, when every start day counts (a day the
    month lacks moves to its last day, :func:`add_months`): 31.

    The one rule every vectorised evaluator of full months and years applies (the polars
    compiler through :mod:`profiles.derive`, the bench peers): ``full = month difference −
    (start.day > late_start_day(as_of))``, and for years the same test within ``as_of``'s
    month.

    >>> late_start_day(dt.date(2025, 6, 29)), late_start_day(dt.date(2025, 6, 30))
    (29, 31)
    >>> late_start_day(dt.date(2025, 2, 28)), late_start_day(dt.date(2024, 2, 28))
    (31, 28)
    >>> all(months_between(s, dt.date(2025, 6, 30)) == 1 for s in
    ...     (dt.date(2025, 5, 30), dt.date(2025, 5, 31)))
    True
    """
    return 31 if (as_of + dt.timedelta(days=1)).month != as_of.month else as_of.day


def years_between(start: dt.date, as_of: dt.date) -> int:
    """Full years from ``start`` to ``as_of``; the anniversary on ``as_of`` counts."""
    return months_between(start, as_of) // 12


def list_fields(atom: ast.Expr, catalog: EntityCatalog) -> tuple[str, ...]:
    """List-type fields (catalog ``empty: not_listed``) read by a comparison or ``in``: when
    one of them is empty the atom is decided (see :func:`decided_value`). ``is empty`` /
    ``is known`` need no such rule: they are never UNKNOWN."""
    if isinstance(atom, ast.IsEmpty):
        return ()
    names = sorted(ast.fields_read(atom))
    return tuple(n for n in names if n in catalog and catalog.field(n).not_listed_when_empty)


def decided_value(atom: ast.Expr) -> bool:
    """What an atom is when a list-type operand is empty: FALSE, except ``!=`` and
    ``not in``, which are TRUE ("not on the list" differs from anything listed).

    >>> from rules.parser import parse_expr
    >>> decided_value(parse_expr("disability_grade = 1")), decided_value(parse_expr("g != 1"))
    (False, True)
    """
    if isinstance(atom, ast.Compare):
        return atom.op == "!="
    if isinstance(atom, ast.In):
        return atom.negated
    return False


def is_listed_bool(expr: ast.Expr, catalog: EntityCatalog) -> bool:
    """A bare boolean list-type field used as a condition (``serious_dishonesty``): empty is
    FALSE."""
    if not isinstance(expr, ast.FieldRef) or expr.name not in catalog:
        return False
    f = catalog.field(expr.name)
    return f.type == "bool" and f.not_listed_when_empty


def held_empty(names: Iterable[str], row: Mapping[str, Any]) -> bool:
    """Whether one of ``names`` is empty *because of a data defect*: the entity is held
    (its row in the field's source was quarantined, ``profiles.catalog.HELD_FIELDS``). Such a
    field is UNKNOWN whatever its kind: an atom reading it is UNKNOWN (never "not listed"),
    ``is empty`` on it too.

    >>> held_empty(["disability_grade"], {"disability_grade": None,
    ...                                   HELD_FIELDS: ["disability_grade"]})
    True
    >>> held_empty(["disability_grade"], {"disability_grade": None})
    False
    """
    held = row.get(HELD_FIELDS) or ()
    return any(n in held and row.get(n) is None for n in names)


def is_declared(name: str, catalog: EntityCatalog) -> bool:
    """A field only the applicant can declare: never in data, so always UNKNOWN here."""
    return name in catalog and catalog.field(name).kind == "declared"


def arith(op: str, left: Any, right: Any) -> Any:
    """Arithmetic on known-or-unknown values: UNKNOWN (None) in, UNKNOWN out; division by
    zero is UNKNOWN.

    >>> arith("/", 1, 0), arith("+", None, 2), arith("*", 3, 2)
    (None, None, 6)
    """
    if left is None or right is None:
        return None
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return None if right == 0 else left / right


def call(func: str, args: list[Any], as_of: dt.date) -> Any:
    """A built-in function on values; any UNKNOWN argument makes the result UNKNOWN.

    >>> call("years_since", [dt.date(1960, 5, 1)], dt.date(2025, 5, 1))
    65
    >>> call("max", [1, None], dt.date(2025, 5, 1)) is None
    True
    """
    if any(a is None for a in args):
        return None
    if func == "min":
        return min(args)
    if func == "max":
        return max(args)
    if func == "abs":
        return abs(args[0])
    if func == "year":
        return args[0].year
    if func == "years_since":
        return years_between(args[0], as_of)
    if func == "months_since":
        return months_between(args[0], as_of)
    if func == "add_years":
        return add_years(args[0], int(args[1]))
    return add_months(args[0], int(args[1]))
