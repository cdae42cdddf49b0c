"""Dated data: what a container of ``in`` holds on the as-of date.

A policy parameter may hold a dated list (``recognised_in: {2025-08-23: [2025],
2026-09-01: [2025, 2026]}``) and a named set may have editions (负面清单 2024年本 /
2025年版, :mod:`rules.sets`). Every evaluator of ``in`` asks :func:`container_at` for the
container in force on its as-of date, so the rule of which value or edition applies is
written once:

- a parameter: the value whose date is the latest on or before the as-of date; before the
  first date there is none and ``in`` is UNKNOWN (None here);
- a named set: the edition in force on the as-of date (:meth:`rules.sets.NamedSet.at`);
- a list literal or a region: itself.

>>> import datetime as dt
>>> from rules.model import DatedValue, Parameter
>>> p = Parameter(name="years", values=(
...     DatedValue(since=dt.date(2025, 8, 23), value=ast.ListLit(items=(ast.Number(value=2025),))),
...     DatedValue(since=dt.date(2026, 9, 1), value=ast.ListLit(items=(
...         ast.Number(value=2025), ast.Number(value=2026))))))
>>> ref = ast.ParamRef(name="years")
>>> [len(container_at(ref, {"years": p}, None, dt.date(y, 10, 1)).items) for y in (2025, 2026)]
[1, 2]
>>> container_at(ref, {"years": p}, None, dt.date(2025, 1, 1)) is None
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from rules import ast
from rules.model import Parameter
from rules.sets import NamedSet, NamedSets

Container = ast.Expr | NamedSet


def container_at(container: ast.Expr, parameters: Mapping[str, Parameter],
                 sets: NamedSets | Mapping[str, NamedSet] | None,
                 as_of: dt.date) -> Container | None:
    """The container of ``in`` as it stands on ``as_of``: a :class:`ast.ListLit`, an
    :class:`ast.RegionRef` or the :class:`NamedSet` edition in force; None when a dated
    parameter has no value yet (``in`` is then UNKNOWN)."""
    if isinstance(container, ast.ParamRef):
        value = parameters[container.name].at(as_of)
        return None if value is None else container_at(value, parameters, sets, as_of)
    if isinstance(container, ast.SetRef):
        assert sets is not None, "a set reference needs the named sets"
        return sets[container.name].at(as_of)
    return container
