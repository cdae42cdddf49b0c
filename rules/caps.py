"""Cap groups: a limit on what one entity receives from several policies together, per year
or over all years (同一企业每年奖励合计不超过500万元).

A policy joins a group with ``cap: {group: 名称, limit: 500万, per: year, priority: 1}``.
Every policy of a group must state the same limit and ``per`` (the loader refuses a library
where they differ: one group, one limit). The matcher applies the group after exclusivity
and budgets (:func:`matcher.allocation.apply_caps`), counting awards already on record in
the award ledger for the same period.

>>> from ruamel.yaml import YAML
>>> from rules.schema import Reader
>>> text = "cap: {group: 广州市企业年度奖励, limit: 500万, per: year}"
>>> read_cap(Reader("p.yaml", text), YAML(typ="rt").load(text))
CapGroup(group='广州市企业年度奖励', limit=5000000.0, per='year', priority=0)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from rules.errors import Problem
from rules.parser import parse_number
from rules.schema import Reader, type_word

CapPer = Literal["year", "all"]
CAP_PERS: tuple[CapPer, ...] = ("year", "all")


@dataclass(frozen=True, kw_only=True)
class CapGroup:
    """``limit`` in yuan per entity, per calendar year of the as-of date (``per: year``) or
    over all years (``all``); within a group, lower ``priority`` numbers are paid first, then
    policy ids in order."""

    group: str
    limit: float
    per: CapPer = "year"
    priority: int = 0


def read_cap(r: Reader, data: Any) -> CapGroup | None:
    body = r.mapping(data, "cap", ("group", "limit", "per", "priority"))
    if body is None:
        return None
    group = r.text(body, "group")
    raw = body.get("limit")
    try:
        limit = float(raw) if isinstance(raw, int | float) and not isinstance(raw, bool) \
            else parse_number(str(raw)).value
    except (ArithmeticError, ValueError):
        r.error(r.value_pos(body, "limit"), "schema",
                f"expected a cap limit like 500万, got {type_word(raw)}")
        return None
    per = str(body.get("per", "year"))
    if per not in CAP_PERS:
        r.error(r.value_pos(body, "per"), "schema",
                f"expected per one of {', '.join(CAP_PERS)}, got '{per}'")
        return None
    prio = body.get("priority", 0)
    if not isinstance(prio, int) or isinstance(prio, bool):
        r.error(r.value_pos(body, "priority"), "schema",
                f"expected an integer priority, got {type_word(prio)}")
        return None
    if group is None:
        return None
    return CapGroup(group=group, limit=limit, per=per, priority=prio)


def cap_problems(policies: Iterable[Any]) -> list[Problem]:
    """Policies of one group that disagree on its limit or period."""
    first: dict[str, Any] = {}
    problems: list[Problem] = []
    for p in sorted(policies, key=lambda p: p.id):
        if p.cap is None:
            continue
        seen = first.setdefault(p.cap.group, p)
        if (seen.cap.limit, seen.cap.per) != (p.cap.limit, p.cap.per):
            problems.append(Problem(
                file=p.source or p.id, line=1, column=1, code="schema",
                message=f"expected cap group '{p.cap.group}' with the limit {seen.cap.limit:g} "
                f"per {seen.cap.per} stated by {seen.id}, got {p.cap.limit:g} per {p.cap.per}"))
    return problems
