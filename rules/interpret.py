"""The reference interpreter: an obviously-correct, row-at-a-time evaluator of the same AST.
It is the oracle the compilers are tested against; ``None`` is UNKNOWN.

>>> import datetime as dt
>>> from profiles.catalog import load_catalog
>>> from rules.loader import bundled_library
>>> lib = bundled_library()
>>> row = {"status": "存续", "restricted_industry": False, "annual_taxable_income": 3_000_000,
...        "employees": 20, "total_assets": 1_000_000}
>>> ent = load_catalog().entity("enterprise")
>>> r = evaluate_policy(lib["cit-small-low-profit"], row, catalog=ent, sets=lib.sets,
...                     as_of=dt.date(2025, 6, 30), library=lib)
>>> r.truth, r.amount
(True, 600000.0)
>>> evaluate_policy(lib["cit-small-low-profit"], {**row, "employees": None}, catalog=ent,
...                 sets=lib.sets, as_of=dt.date(2025, 6, 30), library=lib).truth is None
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from profiles.catalog import EntityCatalog, load_catalog
from rules import ast, intervals
from rules.amount_branches import NO_BRANCH, agreed, case_branches, tier_branches
from rules.errors import UnsupportedNode
from rules.ledger import AwardLedger, ledger_value
from rules.model import (
    AllOf,
    AnyOf,
    Condition,
    ConditionNode,
    NotOf,
    Policy,
)
from rules.possible import possible_test, possible_truth
from rules.semantics import (
    arith,
    call,
    decided_value,
    held_empty,
    is_listed_bool,
    list_fields,
)
from rules.sets import NamedSets
from rules.years import bind_policy

Truth = bool | None


@dataclass(frozen=True)
class RowResult:
    truth: Truth
    conditions: dict[str, Truth]
    amount: float | None


def kleene_and(values: Iterable[Truth]) -> Truth:
    """FALSE wins, then UNKNOWN.

    >>> kleene_and([True, None]), kleene_and([False, None])
    (None, False)
    """
    vals = list(values)
    if False in vals:
        return False
    return None if None in vals else True


def kleene_or(values: Iterable[Truth]) -> Truth:
    """TRUE wins, then UNKNOWN.

    >>> kleene_or([False, None]), kleene_or([True, None])
    (None, True)
    """
    vals = list(values)
    if True in vals:
        return True
    return None if None in vals else False


@dataclass(frozen=True)
class _Ctx:
    policy: Policy
    row: Mapping[str, Any]
    catalog: EntityCatalog
    sets: NamedSets
    as_of: dt.date
    library: Mapping[str, Policy] | Any
    ledger: AwardLedger | None = None


def _cond(expr: ast.Expr, ctx: _Ctx) -> Truth:
    """An expression used as a condition (bare list-type booleans: empty is FALSE)."""
    value = _eval(expr, ctx)
    if value is None and is_listed_bool(expr, ctx.catalog):
        assert isinstance(expr, ast.FieldRef)
        return None if held_empty([expr.name], ctx.row) else False
    return value


def _eval(expr: ast.Expr, ctx: _Ctx) -> Any:
    """The value of any core node: one rule per node type (:data:`RULES`)."""
    rule = RULES.get(type(expr))
    if rule is None:
        raise UnsupportedNode("interpreter", expr)
    return rule(expr, ctx)


def compare_values(op: str, left: Any, right: Any) -> Truth:
    """A comparison of two values; UNKNOWN when either is."""
    if left is None or right is None:
        return None
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "<":
        return bool(left < right)
    if op == "<=":
        return bool(left <= right)
    if op == ">":
        return bool(left > right)
    return bool(left >= right)


def _members(rel_name: str, ctx: _Ctx) -> tuple[list[_Ctx] | None, EntityCatalog]:
    """The member contexts of a relation, None when the owner is not on record."""
    catalog = load_catalog()
    rel = catalog.relation(ctx.catalog.name, rel_name)
    if rel is None:
        raise UnsupportedNode("interpreter", ast.FieldRef(name=rel_name))
    scope = catalog.member_scope(rel)
    rows = ctx.row.get(rel.name)
    if rows is None:
        return None, scope
    return [_Ctx(ctx.policy, m, scope, ctx.sets, ctx.as_of, ctx.library) for m in rows], scope


def _aggregate(expr: ast.Aggregate, ctx: _Ctx) -> intervals.Interval:
    """The interval of an aggregate (:mod:`rules.intervals` is its specification)."""
    members, _ = _members(expr.relation, ctx)
    if members is None:
        return intervals.UNBOUNDED
    truths = [True if expr.where is None else _cond(expr.where, m) for m in members]
    if expr.func == "count":
        return intervals.count(truths)
    assert expr.value is not None
    pairs = [(t, _eval(expr.value, m)) for t, m in zip(truths, members, strict=True)]
    if expr.func == "sum":
        return intervals.total(pairs)
    return intervals.least(pairs) if expr.func == "min" else intervals.greatest(pairs)


#: Interval evaluation, one rule per core node that can carry an interval.
_INTERVAL_RULES: dict[type, Any] = {
    ast.Aggregate: _aggregate,
    ast.Arith: lambda e, ctx: intervals.arith(e.op, _interval(e.left, ctx),
                                              _interval(e.right, ctx)),
    ast.Neg: lambda e, ctx: intervals.negate(_interval(e.item, ctx)),
}


def _interval(expr: ast.Expr, ctx: _Ctx) -> intervals.Interval:
    rule = _INTERVAL_RULES.get(type(expr))
    return intervals.point(_eval(expr, ctx)) if rule is None else rule(expr, ctx)


# ---- the rules: one per core node ---------------------------------------------------------

Rule = Callable[[Any, _Ctx], Any]
Membership = Callable[[Any], Truth]  # the value of a container: is a (known) item in it?


def _atom(raw: Rule) -> Rule:
    """An atom (comparison, ``in``, ``is empty``) with the rules every atom obeys: a field
    empty on a data defect makes it UNKNOWN; a null tag with a possible set is decided by
    that set (:mod:`rules.possible`); an empty list-type field decides it
    (:mod:`rules.semantics`)."""

    def rule(expr: ast.Expr, ctx: _Ctx) -> Truth:
        if held_empty(ast.fields_read(expr), ctx.row):
            return None
        test = possible_test(expr, ctx.catalog, ctx.policy.parameters, ctx.as_of)
        if test is not None and ctx.row.get(test.field) is None:  # decided by what is possible
            return possible_truth(test, ctx.row.get(test.column))
        if any(ctx.row.get(name) is None for name in list_fields(expr, ctx.catalog)):
            return decided_value(expr)
        return raw(expr, ctx)

    return rule


def _compare(expr: ast.Compare, ctx: _Ctx) -> Truth:
    if ast.has_aggregate(expr.left) or ast.has_aggregate(expr.right):
        return intervals.compare(expr.op, _interval(expr.left, ctx),
                                 _interval(expr.right, ctx))
    return compare_values(expr.op, _eval(expr.left, ctx), _eval(expr.right, ctx))


def _in(expr: ast.In, ctx: _Ctx) -> Truth:
    item = _eval(expr.item, ctx)
    if item is None:
        return None
    membership = _eval(expr.container, ctx)
    if membership is None:  # a dated list parameter with no value yet (Parameter.at)
        return None
    found = membership(item)
    return None if found is None else found != expr.negated


def _is_empty(expr: ast.IsEmpty, ctx: _Ctx) -> Truth:
    return (_eval(expr.item, ctx) is None) != expr.negated


def _list(expr: ast.ListLit, ctx: _Ctx) -> Membership:
    values = [_eval(v, ctx) for v in expr.items]
    return lambda item: kleene_or(compare_values("=", item, v) for v in values)


def _set(expr: ast.SetRef, ctx: _Ctx) -> Membership:
    named = ctx.sets[expr.name].at(ctx.as_of)  # the edition in force (rules.sets)
    return lambda item: named.contains(str(item))


def _region(expr: ast.RegionRef, ctx: _Ctx) -> Membership:
    return lambda item: str(item).startswith(expr.prefix)


def _field(expr: ast.FieldRef, ctx: _Ctx) -> Any:
    # a declared condition is in the row only once the applicant declared it (rules.declared)
    return ctx.row.get(expr.name)


def _param(expr: ast.ParamRef, ctx: _Ctx) -> Any:
    value = ctx.policy.parameters[expr.name].at(ctx.as_of)
    return None if value is None else _eval(value, ctx)


def _policy_ref(expr: ast.PolicyRef, ctx: _Ctx) -> Truth:
    other = bind_policy(ctx.library[expr.policy_id], ctx.as_of)
    if not other.in_effect(ctx.as_of):
        return False
    sub = _Ctx(other, ctx.row, ctx.catalog, ctx.sets, ctx.as_of, ctx.library, ctx.ledger)
    return _tree(other.eligibility, sub, {})


def _ledger(expr: ast.LedgerRef, ctx: _Ctx) -> Any:
    return ledger_value(ctx.ledger or AwardLedger.empty(), expr,
                        ctx.row.get(ctx.catalog.key), ctx.as_of)


def _not(expr: ast.Not, ctx: _Ctx) -> Truth:
    truth = _cond(expr.item, ctx)
    return None if truth is None else not truth


def _arith(expr: ast.Arith, ctx: _Ctx) -> Any:
    if ast.has_aggregate(expr):
        return _interval(expr, ctx).exact
    return arith(expr.op, _eval(expr.left, ctx), _eval(expr.right, ctx))


def _neg(expr: ast.Neg, ctx: _Ctx) -> Any:
    if ast.has_aggregate(expr):
        return _interval(expr, ctx).exact
    value = _eval(expr.item, ctx)
    return None if value is None else -value


def _call(expr: ast.Call, ctx: _Ctx) -> Any:
    return call(expr.func, [_eval(a, ctx) for a in expr.args], ctx.as_of)


def _literal(expr: ast.Number | ast.String | ast.Bool | ast.Date, ctx: _Ctx) -> Any:
    return expr.value


def _tiers(expr: ast.Tiers, ctx: _Ctx) -> Any:
    """The amount of every row still possible when they agree (rules.amount_branches)."""
    meets = [_cond(m, ctx) for m in expr.selectors()]
    return agreed(None if i == NO_BRANCH else _eval(expr.values[i], ctx)
                  for i in tier_branches(meets))


def _cases(expr: ast.Cases, ctx: _Ctx) -> Any:
    """The amount of every case still possible when they agree (rules.amount_branches)."""
    whens = [_cond(w, ctx) for w in expr.whens]
    whens += [] if expr.otherwise is None else [True]
    return agreed(None if i == NO_BRANCH else _eval(expr.branches[i], ctx)
                  for i in case_branches(whens))


#: The specification of every core node (:data:`rules.ast.CORE`): its value for one row;
#: ``None`` is UNKNOWN. A container (list, named set, region) is a membership test.
RULES: dict[type, Rule] = {
    ast.Number: _literal,
    ast.String: _literal,
    ast.Bool: _literal,
    ast.Date: _literal,
    ast.AsOf: lambda e, ctx: ctx.as_of,
    ast.FieldRef: _field,
    ast.ParamRef: _param,
    ast.SetRef: _set,
    ast.RegionRef: _region,
    ast.ListLit: _list,
    ast.PolicyRef: _policy_ref,
    ast.LedgerRef: _ledger,
    ast.Compare: _atom(_compare),
    ast.In: _atom(_in),
    ast.IsEmpty: _atom(_is_empty),
    ast.And: lambda e, ctx: kleene_and(_cond(i, ctx) for i in e.items),
    ast.Or: lambda e, ctx: kleene_or(_cond(i, ctx) for i in e.items),
    ast.Not: _not,
    ast.Arith: _arith,
    ast.Neg: _neg,
    ast.Call: _call,
    ast.Aggregate: lambda e, ctx: _aggregate(e, ctx).exact,
    ast.Tiers: _tiers,
    ast.Cases: _cases,
}


def _tree(node: ConditionNode, ctx: _Ctx, out: dict[str, Truth]) -> Truth:
    """A condition tree, each leaf's truth recorded in ``out``: the tree is the core
    expression it stands for (:func:`rules.model.condition_expr`: all = and, any = or,
    not = not), evaluated leaf by leaf so that each leaf is evaluated once."""
    return _TREE_RULES[type(node)](node, ctx, out)


def _leaf(node: Condition, ctx: _Ctx, out: dict[str, Truth]) -> Truth:
    out[node.id] = _cond(node.expr, ctx)
    return out[node.id]


_TREE_RULES: dict[type, Callable[[Any, _Ctx, dict[str, Truth]], Truth]] = {
    Condition: _leaf,
    AllOf: lambda n, ctx, out: kleene_and([_tree(c, ctx, out) for c in n.children]),
    AnyOf: lambda n, ctx, out: kleene_or([_tree(c, ctx, out) for c in n.children]),
    NotOf: lambda n, ctx, out: (lambda t: None if t is None else not t)(
        _tree(n.child, ctx, out)),
}


def _amount(ctx: _Ctx) -> float | None:
    """The value of the amount's core expression (:attr:`rules.model.Amount.expr`)."""
    amount = ctx.policy.amount
    if amount is None:
        return None
    value = _eval(amount.expr, ctx)
    return None if value is None else float(value)


def evaluate_policy(policy: Policy, row: Mapping[str, Any], *, catalog: EntityCatalog,
                    sets: NamedSets, as_of: dt.date, library: Mapping[str, Policy] | Any,
                    ledger: AwardLedger | None = None) -> RowResult:
    """Truth of every leaf condition and of the policy, and the amount, for one row.
    ``library`` maps policy ids to policies (for ``eligible()``); the policy's own effective
    period is not applied (callers check :meth:`Policy.in_effect`). ``ledger`` answers
    ``received()`` lookups (none: every lookup UNKNOWN). A yearly field's value in a year is
    the row's year column (``operating_revenue_y2024``; absent: UNKNOWN, :mod:`rules.years`)."""
    policy = bind_policy(policy, as_of)
    ctx = _Ctx(policy, row, catalog, sets, as_of, library, ledger)
    conditions: dict[str, Truth] = {}
    truth = _tree(policy.eligibility, ctx, conditions)
    return RowResult(truth=truth, conditions=conditions, amount=_amount(ctx))
