"""How well :func:`rules.proposals.propose` reads the library's own clause texts: for every
leaf condition, the proposals made from its text are compared with the condition as the
library encodes it (both type-checked, names resolved, written forms ignored).

A condition counts as **proposed exactly** when each of its top-level ``and`` parts equals
one of the proposals made from its text. The text of a condition is the clause text it
carries, else its Chinese label (what the officer wrote next to the rule).

>>> from rules.loader import bundled_library
>>> score = score_library(bundled_library())
>>> score.conditions > 0 and 0 <= score.exact <= score.conditions
True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from profiles.catalog import load_catalog
from rules import ast
from rules.checker import Checker, Scope
from rules.loader import Library
from rules.model import Condition, Policy
from rules.parser import parse_expr
from rules.printer import to_source
from rules.proposals import conjuncts, propose


@dataclass(frozen=True, kw_only=True)
class ConditionScore:
    policy_id: str
    condition_id: str
    text: str
    expected: str
    proposed: tuple[str, ...]
    exact: bool


@dataclass(frozen=True, kw_only=True)
class LibraryScore:
    rows: tuple[ConditionScore, ...] = field(default_factory=tuple)

    @property
    def conditions(self) -> int:
        return len(self.rows)

    @property
    def exact(self) -> int:
        return sum(r.exact for r in self.rows)

    @property
    def share(self) -> float:
        return self.exact / self.conditions if self.conditions else 0.0

    @property
    def proposals(self) -> int:
        return sum(len(r.proposed) for r in self.rows)


def _plain(node: Any) -> Any:
    """The node with positions and written forms dropped (what the rule means)."""
    if isinstance(node, ast.FieldRef):
        return ast.FieldRef(name=node.name)
    if isinstance(node, ast.Number):
        return ast.Number(value=node.value, unit=node.unit)
    if isinstance(node, tuple):
        return tuple(_plain(n) for n in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {f.name: _plain(getattr(node, f.name)) for f in dataclasses.fields(node)
                   if f.name != "pos"}
        return dataclasses.replace(node, **changes)
    return node


def condition_text(condition: Condition) -> str:
    """The clause text a condition was written from, else its label."""
    text = getattr(condition, "clause_text", None) or getattr(condition, "text", None)
    return str(text) if text else condition.label


def score_policy(policy: Policy, library: Library) -> list[ConditionScore]:
    scope = Scope(entity=load_catalog().entity(policy.entity), sets=library.sets,
                  file=policy.source or policy.id, parameters=policy.parameters,
                  policies={p.id: p.entity for p in library.policies.values()})
    checker = Checker(scope)
    titles = {p.id: p.title for p in library.policies.values() if p.id != policy.id}
    out = []
    for cond in policy.conditions:
        text = condition_text(cond)
        proposals = propose(text, entity=policy.entity, sets=library.sets, policies=titles)
        got = {_plain(checker.condition(parse_expr(p.when))) for p in proposals}
        wanted = [_plain(part) for part in conjuncts(cond.expr)]
        out.append(ConditionScore(
            policy_id=policy.id, condition_id=cond.id, text=text,
            expected=to_source(cond.expr), proposed=tuple(p.when for p in proposals),
            exact=all(w in got for w in wanted)))
    return out


def score_library(library: Library) -> LibraryScore:
    """The score of every leaf condition of every policy in ``library``."""
    rows: list[ConditionScore] = []
    for policy in sorted(library.policies.values(), key=lambda p: p.id):
        rows += score_policy(policy, library)
    return LibraryScore(rows=tuple(rows))
