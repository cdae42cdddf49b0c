"""durable_rules as a peer: the policies as a ruleset, facts asserted one at a time.

durable_rules 2.0.28 is old and has traps: there is no NOT; Python ``in`` / ``and`` / chained
comparisons on ``m.x`` silently build a different rule; a missing field makes every
comparison false (``!=`` included); ``post()`` fires one rule, ``assert_fact()`` all of them;
an OR is expanded into several rules, each of which fires. This peer compiles to what the
tests show works, three-valued (DESIGN §3):

- two rules per policy, a TRUE-rule (the condition tree in negation normal form, NOT pushed
  down to the atoms by flipping comparisons) and a FALSE-rule (the negated tree); neither
  fires where the policy is UNKNOWN;
- a fact carries only its known values: a missing key makes an atom and its flip both
  false, which is Kleene's UNKNOWN for that atom, and the Kleene ``and`` / ``or`` of the
  tree follow;
- atoms ``field op literal`` on an ordinary field run in durable_rules; an aggregate over
  related entities compared with a literal runs there too, on the bounds of its range
  (``count(...) >= 2`` is TRUE when the lower bound is at least 2, FALSE when the upper
  bound is under 2: :mod:`rules.intervals`), the bounds computed per owner by the numpy
  peer; every other atom (arithmetic, date functions, set and region prefixes, list-type
  fields, declared conditions, ``is empty``) is precomputed per entity by the vectorised
  numpy peer as ``"T"`` / ``"F"`` (absent when UNKNOWN), as the profile pipeline
  precomputes derived tags; that precomputation is not timed.

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

from bench.peers.numpy_eval import Evaluator, interval
from profiles.catalog import EntityCatalog
from profiles.relations import RelatedFrame
from rules import ast as A
from rules.declared import DeclaredCondition, declared_of, with_declared
from rules.errors import UnsupportedNode
from rules.model import ConditionNode, Parameter, Policy, condition_expr
from rules.sets import NamedSet

TARGET = "durable_rules (bench)"
_FLIP = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}
_names = itertools.count()


@dataclass
class RulesetPlan:
    """A compiled ruleset and the precomputed atoms and aggregate bounds its facts need.
    ``fired`` holds (policy id, fact number, truth) of the last run."""

    name: str
    synthetic: dict[str, tuple[A.Expr, Mapping[str, Parameter]]] = field(default_factory=dict)
    bounds: dict[str, tuple[A.Aggregate, Mapping[str, Parameter]]] = field(default_factory=dict)
    native_fields: set[str] = field(default_factory=set)
    keys: dict[tuple[A.Expr, int], str] = field(default_factory=dict)
    fired: set[tuple[str, int, bool]] = field(default_factory=set)
    declared: tuple[DeclaredCondition, ...] = ()  # of its policies (rules.declared)


def _literal(node: A.Expr) -> object | None:
    if isinstance(node, A.Number):
        return float(node.value)
    if isinstance(node, (A.String, A.Bool)):
        return node.value
    return None


_MIRROR = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _oriented(node: A.Expr) -> tuple[A.Expr, str, object] | None:
    """(left, op, literal) of a comparison with a literal on one side, the literal right."""
    if not isinstance(node, A.Compare):
        return None
    left, right, op = node.left, node.right, node.op
    if _literal(right) is None:
        left, right = right, left
        op = _MIRROR.get(op, op)  # type: ignore[assignment]
    lit = _literal(right)
    return None if lit is None else (left, op, lit)


def _native(node: A.Expr, catalog: EntityCatalog) -> tuple[str, str, object] | None:
    """(field, op, literal) when the atom can run in durable_rules as written: an ordinary
    field (not list-type, not declared, no still-possible set, not a date)."""
    found = _oriented(node)
    if found is None or not isinstance(found[0], A.FieldRef):
        return None
    left, op, lit = found
    assert isinstance(left, A.FieldRef)
    f = catalog.field(left.name)
    if f.not_listed_when_empty or f.type == "date" or f.kind == "declared" or f.possible:
        return None
    return left.name, op, lit


def _ranged(node: A.Expr) -> tuple[A.Aggregate, str, float] | None:
    """(aggregate, op, number) when the atom compares an aggregate with a number."""
    found = _oriented(node)
    if found is None or not isinstance(found[0], A.Aggregate) or not isinstance(
            found[2], float):
        return None
    agg, op, lit = found
    assert isinstance(agg, A.Aggregate) and isinstance(lit, float)
    return agg, op, lit


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
        ranged = _ranged(node)
        if ranged is not None:
            agg, op, lit = ranged
            key = self._key(node, self.plan.bounds, agg)
            return _in_range(key, op if positive else _FLIP[op], lit)
        key = self._key(node, self.plan.synthetic, node)
        return getattr(lang.m, key) == ("T" if positive else "F")

    def _key(self, node: A.Expr, table: dict[str, Any], what: A.Expr) -> str:
        key = self.plan.keys.get((node, id(self.params)))
        if key is None:
            prefix = "g" if table is self.plan.bounds else "a"
            key = self.plan.keys[(node, id(self.params))] = f"{prefix}{len(table)}"
            table[key] = (what, self.params)
        return key

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

def _in_range(key: str, op: str, lit: float) -> Any:
    """Where ``aggregate op lit`` is TRUE for every value of the range [lo, hi] (the bounds
    in the fact as ``<key>_lo`` / ``<key>_hi``, absent when unknown)."""
    lo, hi = getattr(lang.m, key + "_lo"), getattr(lang.m, key + "_hi")
    if op in ("<", "<="):
        return _compare(hi, op, lit)
    if op in (">", ">="):
        return _compare(lo, op, lit)
    if op == "=":
        return (lo >= lit) & (hi <= lit)
    return (hi < lit) | (lo > lit)


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
    """One durable_rules ruleset with a TRUE-rule and a FALSE-rule per policy (see the
    module docstring)."""
    policies = list(policies)
    declared = declared_of(policies)  # declared conditions: catalog fields, never in data
    catalog = with_declared(catalog, declared)
    plan = RulesetPlan(name=f"bench_{next(_names)}", declared=declared)
    with lang.ruleset(plan.name):
        for policy in policies:
            builder = _Builder(plan, catalog, policy.parameters)
            for truth in (True, False):
                condition = builder.tree(policy.eligibility, positive=truth)
                lang.when_all(condition)(_recorder(plan, policy.id, truth))
    return plan


def _recorder(plan: RulesetPlan, policy_id: str, truth: bool) -> Any:
    # durable_rules calls an action with extra positional arguments: bind the id by closure.
    def action(c: Any, *_: object) -> None:
        plan.fired.add((policy_id, int(c.m.fact_no), truth))
    return action


def prepare_facts(frame: pl.DataFrame, plans: list[RulesetPlan], *,
                  catalog: EntityCatalog, sets: Mapping[str, NamedSet], as_of: dt.date,
                  limit: int | None = None,
                  related: Mapping[str, RelatedFrame] | None = None,
                  ) -> list[list[dict[str, object]]]:
    """Per ruleset, the facts of the first ``limit`` rows (all: None), each with only its
    known values: native fields as they are, the other atoms precomputed as ``"T"`` /
    ``"F"``, aggregates as the bounds of their ranges (``related``: the member frames).
    ``fact_no`` numbers the rows the same way in every ruleset."""
    declared = [d for plan in plans for d in plan.declared]
    ev = Evaluator(frame, catalog=with_declared(catalog, declared), sets=sets, as_of=as_of,
                   related=related)
    rows = np.arange(frame.height)[:limit]
    out: list[list[dict[str, object]]] = []
    for plan in plans:
        cols: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for key, (node, params) in plan.synthetic.items():
            val = ev.truth(node, params)
            cols[key] = (np.where(np.asarray(val.value), "T", "F"),
                         np.broadcast_to(val.known, (frame.height,)))
        for key, (agg, params) in plan.bounds.items():
            lo, hi = interval(ev, agg, params)
            for end, b in (("_lo", lo), ("_hi", hi)):
                cols[key + end] = (np.broadcast_to(b.value, (frame.height,)),
                                   np.broadcast_to(b.known, (frame.height,)))
        natives = frame.select(sorted(plan.native_fields))[rows].to_dicts()
        facts: list[dict[str, object]] = []
        for fact_no, (row, native) in enumerate(zip(rows, natives, strict=True)):
            fact: dict[str, object] = {k: _plain(v) for k, v in native.items() if v is not None}
            fact.update({k: _plain(v[row]) for k, (v, known) in cols.items() if known[row]})
            fact["fact_no"] = fact_no
            fact["row"] = int(row)
            facts.append(fact)
        out.append(facts)
    return out


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
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


def truths(plans: list[RulesetPlan], facts: list[list[dict[str, object]]]
           ) -> dict[str, dict[int, bool]]:
    """Per policy, the frame rows whose TRUE-rule or FALSE-rule fired in the last run, with
    that truth; a row absent is UNKNOWN."""
    by_no = {int(f["fact_no"]): int(f["row"])  # type: ignore[call-overload]
             for f in (facts[0] if facts else [])}
    out: dict[str, dict[int, bool]] = {}
    for plan in plans:
        for pid, no, truth in plan.fired:
            row = out.setdefault(pid, {})
            if row.get(by_no[no], truth) != truth:
                raise AssertionError(f"{pid}: fact {no} fired both TRUE and FALSE")
            row[by_no[no]] = truth
    return out


def eligible_rows(plans: list[RulesetPlan], facts: list[list[dict[str, object]]]
                  ) -> dict[str, set[int]]:
    """Frame row numbers per policy whose TRUE-rule fired in the last run."""
    return {pid: {r for r, t in rows.items() if t}
            for pid, rows in truths(plans, facts).items()}
