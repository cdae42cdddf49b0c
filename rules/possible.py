"""Conditions decided by a derived tag's still-possible values (:mod:`profiles.possible`).

``size_class in ["中型", "小型", "微型"]`` when ``size_class`` is null but its possible set
is {中型, 小型, 微型} is TRUE; ``size_class = "大型"`` is FALSE when 大型 is not possible. The
rule, for an atom comparing a tag with a possible-set column to string literals
(``=``, ``!=``, ``in``, ``not in``, a literal list or a parameter holding one):

- the tag's exact value, when known, decides as usual;
- else its mask: TRUE when every possible value is listed (:func:`PossibleTest.within`),
  FALSE when none is (:func:`PossibleTest.outside`), UNKNOWN otherwise or when the mask is
  null; negated for ``!=`` and ``not in``.

Every engine applies this one rule (:func:`possible_test` names the atoms and the masks;
:func:`possible_truth` is the row-at-a-time form).

>>> import datetime as dt
>>> from profiles.catalog import load_catalog
>>> from rules.parser import parse_expr
>>> ent = load_catalog().entity("enterprise")
>>> t = possible_test(parse_expr('size_class in ["中型", "小型", "微型"]'), ent, {},
...                   dt.date(2025, 1, 1))
>>> t.column, t.negated, 14 in t.within, 1 in t.outside
('size_class__possible', False, True, True)
>>> possible_truth(t, 14), possible_truth(t, 3), possible_truth(t, None)
(True, None, None)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from profiles.catalog import EntityCatalog
from profiles.possible import masks_outside, masks_within, possible_column
from rules import ast
from rules.model import Parameter

Truth = bool | None


@dataclass(frozen=True)
class PossibleTest:
    """An atom decided by a possible-set column when its tag is null: the tag, the mask
    column, the masks that make the (un-negated) atom TRUE and those that make it FALSE."""

    field: str
    column: str
    within: tuple[int, ...]
    outside: tuple[int, ...]
    negated: bool


def _strings(expr: ast.Expr, params: Mapping[str, Parameter], as_of: dt.date
             ) -> list[str] | None:
    """The string literals ``expr`` stands for (a string, a list of strings, a parameter
    holding one), or None."""
    if isinstance(expr, ast.ParamRef) and expr.name in params:
        value = params[expr.name].at(as_of)
        return None if value is None else _strings(value, params, as_of)
    if isinstance(expr, ast.String):
        return [expr.value]
    if isinstance(expr, ast.ListLit) and all(isinstance(i, ast.String) for i in expr.items):
        return [i.value for i in expr.items if isinstance(i, ast.String)]
    return None


def possible_test(expr: ast.Expr, catalog: EntityCatalog, params: Mapping[str, Parameter],
                  as_of: dt.date) -> PossibleTest | None:
    """The test of ``expr`` when it compares a tag that has a possible-set column with
    string literals, else None."""
    pairs: tuple[tuple[ast.Expr, ast.Expr], ...]
    if isinstance(expr, ast.Compare) and expr.op in ("=", "!="):
        pairs = ((expr.left, expr.right), (expr.right, expr.left))
        negated = expr.op == "!="
    elif isinstance(expr, ast.In):
        pairs = ((expr.item, expr.container),)
        negated = expr.negated
    else:
        return None
    for subject, other in pairs:
        if not isinstance(subject, ast.FieldRef) or subject.name not in catalog:
            continue
        field = catalog.field(subject.name)
        if not field.possible or not field.values:
            continue
        listed = _strings(other, params, as_of)
        if listed is None:
            continue
        return PossibleTest(field=field.name, column=possible_column(field.name),
                            within=masks_within(field.values, listed),
                            outside=masks_outside(field.values, listed), negated=negated)
    return None


def possible_truth(test: PossibleTest, mask: int | None) -> Truth:
    """The atom's truth from the mask alone (when its tag is null)."""
    if mask is None:
        return None
    if mask in test.within:
        return not test.negated
    if mask in test.outside:
        return test.negated
    return None
