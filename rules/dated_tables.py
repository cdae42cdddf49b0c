"""Dated tier tables: a tier table whose amounts change by date (上海市老年综合津贴 by year)
is a parameter holding one table per date, named by the tier amount::

    parameters:
      allowance: {2016-05-01: [[65, 75], [70, 150]], 2026-01-01: [[65, 80], [70, 160]]}
    amount: {tiers: {by: age, table: allowance}, period: month}

Every dated table has the same starting points (the bands); the amounts may differ. The
parser rewrites it into the core: one tier row per band whose value is a dated scalar
parameter (``allowance[1]``: 75 from 2016-05-01, 80 from 2026-01-01), so no engine knows
dated tables exist: each one already chooses a parameter's value by its evaluation date.

>>> from rules.model import DatedValue, Parameter
>>> import datetime as dt
>>> def table(*rows):
...     return ast.ListLit(items=tuple(ast.ListLit(items=(ast.Number(value=a),
...                                                        ast.Number(value=b))) for a, b in rows))
>>> p = Parameter(name="t", values=(DatedValue(since=dt.date(2016, 5, 1), value=table((65, 75))),
...                                  DatedValue(since=dt.date(2026, 1, 1), value=table((65, 80)))))
>>> bands, cells = split_table(p)
>>> bands, [c.at(dt.date(2026, 1, 1)).value for c in cells]
([65.0], [80])
"""

from __future__ import annotations

from rules import ast
from rules.model import DatedValue, Parameter


class TableShapeError(ValueError):
    """The dated tables of a parameter do not share their bands (or are no tables)."""


def is_table(value: ast.Expr) -> bool:
    """A tier table literal: rows ``[start, amount]`` of numbers."""
    return isinstance(value, ast.ListLit) and bool(value.items) and all(
        isinstance(row, ast.ListLit) and len(row.items) == 2
        and all(isinstance(c, ast.Number) for c in row.items) for row in value.items)


def _rows(value: ast.Expr) -> list[tuple[float, ast.Number]]:
    assert isinstance(value, ast.ListLit)
    out = []
    for row in value.items:
        assert isinstance(row, ast.ListLit)
        start, amount = row.items
        assert isinstance(start, ast.Number) and isinstance(amount, ast.Number)
        out.append((float(start.value), amount))
    return out


def cell_name(table: str, index: int) -> str:
    """The parameter holding one band's amount: ``allowance[1]`` (1-based)."""
    return f"{table}[{index + 1}]"


def split_table(param: Parameter) -> tuple[list[float], list[Parameter]]:
    """The bands of a dated tier table and one dated parameter per band."""
    if not param.values or not all(is_table(d.value) for d in param.values):
        raise TableShapeError(f"期望参数 '{param.name}' 在各日期的值都是分档表 "
                              "[[起点, 金额], ...]，实际不是")
    first = [start for start, _ in _rows(param.values[0].value)]
    if first != sorted(set(first)):
        raise TableShapeError(f"期望参数 '{param.name}' 的分档起点升序且不重复，实际为 "
                              f"{', '.join(f'{b:g}' for b in first)}")
    for dated in param.values[1:]:
        starts = [start for start, _ in _rows(dated.value)]
        if starts != first:
            want, got = (", ".join(f"{b:g}" for b in bands) for bands in (first, starts))
            raise TableShapeError(f"期望参数 '{param.name}' 各日期的分档起点相同({want})，"
                                  f"实际 {dated.since} 起为 {got}")
    cells = [Parameter(name=cell_name(param.name, i), label=param.label, values=tuple(
        DatedValue(since=d.since, value=_rows(d.value)[i][1]) for d in param.values))
        for i in range(len(first))]
    return first, cells
