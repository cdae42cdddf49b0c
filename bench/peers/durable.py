"""durable_rules as a peer: the policies as a ruleset, facts asserted one at a time.

durable_rules 2.0.28 is old and has traps: there is no NOT; Python ``in`` / ``and`` / chained
comparisons on ``m.x`` silently build a different rule; a missing field makes every
comparison false; ``post()`` fires one rule, ``assert_fact()`` all of them; an OR is
expanded into several rules, each of which fires. So this peer is a *simplified* compile,
enough for a benchmark and no more (the full three-valued event compiler is a later issue):

- one TRUE-rule per policy: the condition tree in negation normal form (NOT pushed down to
  the atoms by flipping comparisons), valid because only **fully-known facts** are asserted
  (every atom of every policy known for that entity, so the logic is two-valued);
- atoms of the form ``field op literal`` on an ordinary field run in durable_rules; every
  other atom (arithmetic, date functions, set and region prefixes, list-type fields,
  ``is empty``) is precomputed per entity by the vectorised numpy peer, as the profile
  pipeline precomputes derived tags, and enters the fact as a boolean key; that
  precomputation is not timed.

The timing is of ``assert_fact`` + ``retract_fact`` per fact over a sample, extrapolated.
"""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from durable import lang

from bench.peers.numpy_eval import Evaluator
from profiles.catalog import EntityCatalog
from rules import ast as A
from rules.errors import UnsupportedNode
from rules.model import ConditionNode, Parameter, Policy, condition_expr
from rules.sets import NamedSet

TARGET = "durable_rules (bench)"
_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}
_names = itertools.count()


@dataclass
class RulesetPlan:
    """A compiled ruleset and the precomputed atoms its facts need."""

    name: str
    synthetic: dict[str, tuple[A.Expr, Mapping[str, Parameter]]] = field(default_factory=dict)
    native_fields: set[str] = field(default_factory=set)
    keys: dict[tuple[A.Expr, int], str] = field(default_factory=dict)
    fired: set[tuple[str, int]] = field(default_factory=set)


def _literal(node: A.Expr) -> object | None:
    if isinstance(node, A.Number):
        return float(node.value)
    if isinstance(node, (A.String, A.Bool)):
        return node.value
    return None


def _native(node: A.Expr, catalog: EntityCatalog) -> tuple[str, str, object] | None:
    """(field, op, literal) when the atom can run in durable_rules as written."""
    if not isinstance(node, A.Compare):
        return None
    left, right, op = node.left, node.right, node.op
    if not isinstance(left, A.FieldRef):
        left, right = right, left
        op = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}.get(op, op)  # type: ignore[assignment]
    lit = _literal(right)
    if not isinstance(left, A.FieldRef) or lit is None:
        return None
    f = catalog.field(left.name)
    if f.not_listed_when_empty or f.type in ("date",):
        return None
    return left.name, op, lit


def _compare(ref: Any, op: str, lit: object) -> Any:
    # Operators on durable's value objects build rule nodes; only single comparisons are
    # used (no chaining, no `in`, no `and`).
    if op == "<":
        return ref < lit
    if op == "<=":
        return ref <= lit
    if op == ">":
        return ref > lit
    if op == ">=":
        return ref >= lit
    if op == "=":
        return ref == lit
    return ref != lit


class _Builder:
    def __init__(self, plan: RulesetPlan, catalog: EntityCatalog,
                 params: Mapping[str, Parameter]) -> None:
        self.plan, self.catalog, self.params = plan, catalog, params

    def atom(self, node: A.Expr, *, positive: bool) -> Any:
        native = _native(node, self.catalog)
        if native is not None:
            name, op, lit = native
            self.plan.native_fields.add(name)
            return _compare(getattr(lang.m, name), op if positive else _FLIP[op], lit)
        key = self.plan.keys.get((node, id(self.params)))
        if key is None:
            key = self.plan.keys[(node, id(self.params))] = f"a{len(self.plan.synthetic)}"
            self.plan.synthetic[key] = (node, self.params)
        return getattr(lang.m, key) == positive

    def expr(self, node: A.Expr, *, positive: bool) -> Any:
        """Any core node as a condition (``positive`` False: its negation), one rule per node
        type (:data:`RULES`)."""
        rule = RULES.get(type(node))
        if rule is None:
            raise UnsupportedNode(TARGET, node)
        return rule(self, node, positive)

    def tree(self, node: ConditionNode, *, positive: bool = True) -> Any:
        """A condition tree: the core expression it stands for (:func:`condition_expr`)."""
        return self.expr(condition_expr(node), positive=positive)



def _logic(b: _Builder, node: A.And | A.Or, positive: bool, *, conj: bool) -> Any:
    parts = [b.expr(i, positive=positive) for i in node.items]
    return _fold(parts, conj=conj == positive)  # De Morgan under negation


Rule = Callable[[_Builder, Any, bool], Any]

#: The durable_rules (bench) form of every core node (:data:`rules.ast.CORE`) as a condition
#: of a fully-known fact: logic runs in durable_rules (NOT pushed to the atoms); every other
#: node is an atom, native (``field op literal``) or precomputed by the numpy peer.
RULES: dict[type, Rule] = {
    **{t: lambda b, node, positive: b.atom(node, positive=positive) for t in A.CORE},
    A.And: lambda b, node, positive: _logic(b, node, positive, conj=True),
    A.Or: lambda b, node, positive: _logic(b, node, positive, conj=False),
    A.Not: lambda b, node, positive: b.expr(node.item, positive=not positive),
}

def _fold(parts: list[Any], *, conj: bool) -> Any:
    out = parts[0]
    for part in parts[1:]:
        out = (out & part) if conj else (out | part)
    return out


def _atoms(node: A.Expr) -> int:
    if isinstance(node, (A.And, A.Or)):
        return sum(_atoms(i) for i in node.items)
    if isinstance(node, A.Not):
        return _atoms(node.item)
    return 1


def compile_rulesets(policies: Iterable[Policy], *, catalog: EntityCatalog,
                     max_keys: int = 200) -> list[RulesetPlan]:
    """The policies in as many rulesets as needed to keep each fact under ``max_keys``
    properties (durable_rules refuses a fact with too many: error 302 at about 255)."""
    chunks: list[list[Policy]] = [[]]
    used = 0
    for policy in policies:
        atoms = sum(_atoms(c.expr) for c in policy.conditions)
        if chunks[-1] and used + atoms > max_keys:
            chunks.append([])
            used = 0
        chunks[-1].append(policy)
        used += atoms
    return [compile_ruleset(chunk, catalog=catalog) for chunk in chunks if chunk]


def compile_ruleset(policies: Iterable[Policy], *, catalog: EntityCatalog) -> RulesetPlan:
    """One durable_rules ruleset with a TRUE-rule per policy (see the module docstring)."""
    plan = RulesetPlan(name=f"bench_{next(_names)}")
    with lang.ruleset(plan.name):
        for policy in policies:
            condition = _Builder(plan, catalog, policy.parameters).tree(policy.eligibility)
            lang.when_all(condition)(_recorder(plan, policy.id))
    return plan


def _recorder(plan: RulesetPlan, policy_id: str) -> Any:
    # durable_rules calls an action with extra positional arguments: bind the id by closure.
    def action(c: Any, *_: object) -> None:
        plan.fired.add((policy_id, int(c.m.fact_no)))
    return action


def prepare_facts(frame: pl.DataFrame, plans: list[RulesetPlan], *,
                  catalog: EntityCatalog, sets: Mapping[str, NamedSet], as_of: dt.date,
                  limit: int | None = None) -> list[list[dict[str, object]]]:
    """Per ruleset, the facts of the rows where every atom of every policy is known (at
    most ``limit`` rows): native fields as they are, the other atoms precomputed as
    booleans. ``fact_no`` numbers the rows the same way in every ruleset."""
    ev = Evaluator(frame, catalog=catalog, sets=sets, as_of=as_of)
    known = np.ones(frame.height, dtype=bool)
    columns: list[dict[str, np.ndarray]] = []
    for plan in plans:
        cols: dict[str, np.ndarray] = {}
        for key, (node, params) in plan.synthetic.items():
            val = ev.truth(node, params)
            known &= val.known
            cols[key] = np.asarray(val.value)
        for name in plan.native_fields:
            known &= frame.get_column(name).is_not_null().to_numpy()
        columns.append(cols)
    rows = np.flatnonzero(known)[:limit]
    out: list[list[dict[str, object]]] = []
    for plan, cols in zip(plans, columns, strict=True):
        natives = frame.select(sorted(plan.native_fields))[rows].to_dicts()
        facts: list[dict[str, object]] = []
        for fact_no, (row, native) in enumerate(zip(rows, natives, strict=True)):
            fact: dict[str, object] = {k: _plain(v) for k, v in native.items()}
            fact.update({k: bool(v[row]) for k, v in cols.items()})
            fact["fact_no"] = fact_no
            fact["row"] = int(row)
            facts.append(fact)
        out.append(facts)
    return out


def _plain(value: object) -> object:
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def run_facts(plans: list[RulesetPlan], facts: list[list[dict[str, object]]]) -> float:
    """Assert and retract each fact in its ruleset; the seconds it took. Fired rules land
    in each plan's ``fired``."""
    for plan in plans:
        plan.fired.clear()
    start = time.perf_counter()
    for plan, plan_facts in zip(plans, facts, strict=True):
        for fact in plan_facts:
            try:
                lang.assert_fact(plan.name, fact)
            except lang.engine.MessageNotHandledException:  # no rule matched the fact
                continue
            lang.retract_fact(plan.name, fact)
    return time.perf_counter() - start


def eligible_rows(plans: list[RulesetPlan], facts: list[list[dict[str, object]]]
                  ) -> dict[str, set[int]]:
    """Frame row numbers per policy whose TRUE-rule fired in the last run."""
    by_no = {int(f["fact_no"]): int(f["row"])  # type: ignore[call-overload]
             for f in (facts[0] if facts else [])}
    out: dict[str, set[int]] = {}
    for plan in plans:
        for pid, no in plan.fired:
            out.setdefault(pid, set()).add(by_no[no])
    return out
