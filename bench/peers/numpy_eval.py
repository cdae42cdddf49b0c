"""A hand-written numpy evaluator of the policy AST: the careful, vectorised peer.

Every value is a pair of arrays (value, known); ``known`` False is UNKNOWN. Logic is Kleene
on those pairs (FALSE wins in AND, TRUE wins in OR, NOT keeps UNKNOWN). Columns are
converted once: numbers to float64, dates to day numbers, strings to dictionary codes (so
``=``, ``in`` and prefix matching run on integers: a prefix test is decided once per distinct
string). Shared subexpressions across policies are computed once (memoised by node).

>>> import datetime as dt
>>> import polars as pl
>>> from rules import ast as A
>>> from profiles.catalog import load_catalog
>>> frame = pl.DataFrame({"employees": [10, None, 500]})
>>> ev = Evaluator(frame, catalog=load_catalog().entity("enterprise"), sets={},
...                as_of=dt.date(2025, 6, 30))
>>> t = ev.truth(A.Compare(op="<=", left=A.FieldRef(name="employees"),
...                        right=A.Number(value=300)), {})
>>> t.value.tolist(), t.known.tolist()
([True, False, False], [True, False, True])
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from profiles.catalog import OWNER_COLUMN, EntityCatalog, load_catalog
from profiles.relations import RelatedFrame
from rules import ast as A
from rules.compile_related import has_interval
from rules.declared import for_policies
from rules.errors import UnsupportedNode
from rules.ledger import ledger_column
from rules.model import (
    ConditionNode,
    Parameter,
    Policy,
    condition_expr,
)
from rules.possible import possible_test
from rules.semantics import (
    decided_value,
    is_declared,
    is_listed_bool,
    late_start_day,
    list_fields,
)
from rules.sets import NamedSet
from rules.years import bind_policy

TARGET = "numpy"
_KINDS = {"str": "str", "int": "num", "float": "num", "date": "date", "bool": "bool"}
_EPOCH = dt.date(1970, 1, 1).toordinal()
_CMP: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "=": operator.eq, "!=": operator.ne,
}


@dataclass(frozen=True)
class Val:
    """A column of values with its known-mask. ``value`` is meaningful only where known
    (for booleans it is kept False where unknown). ``kind`` is num, bool, date or str; a
    string column holds dictionary codes and its ``categories``; a string literal holds
    ``literal``."""

    kind: str
    value: np.ndarray
    known: np.ndarray
    categories: np.ndarray | None = None
    literal: str | None = None


class Evaluator:
    """Evaluates ASTs over one frame. Create one per frame; reuse it for all policies."""

    def __init__(self, frame: pl.DataFrame, *, catalog: EntityCatalog,
                 sets: Mapping[str, NamedSet], as_of: dt.date,
                 related: Mapping[str, RelatedFrame] | None = None) -> None:
        self.frame = frame
        self.related = related or {}
        self._members: dict[str, tuple[Evaluator, np.ndarray, np.ndarray]] = {}
        self._intervals: dict[object, Bounds] = {}
        self.n = frame.height
        self.catalog = catalog
        self.sets = sets
        self.as_of = as_of
        self._columns: dict[str, Val] = {}
        self._values: dict[object, Val] = {}
        self._truths: dict[object, Val] = {}
        self._param_names: dict[A.Expr, tuple[str, ...]] = {}
        self._date_parts: dict[A.Expr, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._true = np.ones(self.n, dtype=bool)

    # -- columns -----------------------------------------------------------------------------

    def column(self, name: str) -> Val:
        if name not in self._columns:
            s = self.frame.get_column(name)
            known = s.is_not_null().to_numpy()
            if s.dtype == pl.String:
                cats = s.unique().drop_nulls().sort()
                codes = s.cast(pl.Enum(cats)).to_physical().fill_null(0).to_numpy()
                val = Val("str", codes.astype(np.int32), known,
                          categories=cats.to_numpy().astype(str))
            elif s.dtype == pl.Date:
                val = Val("date", s.cast(pl.Int32).fill_null(0).to_numpy().astype(np.int64),
                          known)
            elif s.dtype == pl.Boolean:
                val = Val("bool", s.fill_null(False).to_numpy(), known)
            else:
                val = Val("num", s.cast(pl.Float64).fill_null(0.0).to_numpy(), known)
            self._columns[name] = val
        return self._columns[name]

    def _parts(self, node: A.Expr, days: Val) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if node not in self._date_parts:
            self._date_parts[node] = civil_from_days(days.value)
        return self._date_parts[node]

    # -- values ------------------------------------------------------------------------------

    def value(self, node: A.Expr, params: Mapping[str, Parameter]) -> Val:
        """The value of a node, computed once per node and parameter values in force."""
        key = self._key(node, params)
        if key not in self._values:
            self._values[key] = self._value(node, params)
        return self._values[key]

    def _key(self, node: A.Expr, params: Mapping[str, Parameter]) -> object:
        """Memo key: the node, and the values in force of the parameters it reads (so equal
        expressions of different policies with equal parameters are computed once)."""
        names = self._param_names.get(node)
        if names is None:
            names = self._param_names[node] = tuple(sorted(
                {n.name for n in node.walk() if isinstance(n, A.ParamRef)}))
        if not names:
            return node
        bound = tuple((n, params[n].at(self.as_of) if n in params else None) for n in names)
        return (node, bound)

    def _value(self, node: A.Expr, params: Mapping[str, Parameter]) -> Val:
        """Any core node: one rule per node type (:data:`RULES`)."""
        rule = RULES.get(type(node))
        if rule is None:
            raise UnsupportedNode(TARGET, node)
        out: Val = rule(self, node, params)
        return out

    def _arith(self, node: A.Arith, params: Mapping[str, Parameter]) -> Val:
        left, right = self.value(node.left, params), self.value(node.right, params)
        known = left.known & right.known
        a = np.asarray(left.value, dtype=np.float64)
        b = np.asarray(right.value, dtype=np.float64)
        if node.op == "/":
            nonzero = b != 0
            out = np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=nonzero)
            return Val("num", out, known & nonzero)
        fn = {"+": np.add, "-": np.subtract, "*": np.multiply}[node.op]
        return Val("num", fn(a, b), known)

    def _call(self, node: A.Call, params: Mapping[str, Parameter]) -> Val:
        args = [self.value(a, params) for a in node.args]
        if node.func in ("min", "max"):
            fn = np.minimum if node.func == "min" else np.maximum
            out, known = np.asarray(args[0].value, dtype=np.float64), args[0].known
            for arg in args[1:]:
                out, known = fn(out, arg.value), known & arg.known
            return Val("num", out, known)
        if node.func == "abs":
            return Val("num", np.abs(args[0].value), args[0].known)
        (d,) = args
        year, month, day = self._parts(node.args[0], d)
        if node.func == "year":
            return Val("num", year.astype(np.float64), d.known)
        late = day > late_start_day(self.as_of)
        later = (month > self.as_of.month) | ((month == self.as_of.month) & late)
        if node.func == "years_since":
            return Val("num", (self.as_of.year - year - later).astype(np.float64), d.known)
        if node.func == "months_since":
            months = (self.as_of.year - year) * 12 + self.as_of.month - month
            return Val("num", (months - late).astype(np.float64), d.known)
        raise UnsupportedNode(TARGET, node)

    # -- truth -------------------------------------------------------------------------------

    def truth(self, node: A.Expr, params: Mapping[str, Parameter]) -> Val:
        """Kleene truth of an expression used as a condition, as (value, known) over every
        row; a bare list-type boolean that is empty is FALSE."""
        key = self._key(node, params)
        if key not in self._truths:
            v = self.value(node, params)
            value = v.value.astype(bool) & v.known
            known = self._true if is_listed_bool(node, self.catalog) else v.known
            self._truths[key] = _bool(value, known, self.n)
        return self._truths[key]

    def _compare(self, node: A.Compare, params: Mapping[str, Parameter]) -> Val:
        left, right = self.value(node.left, params), self.value(node.right, params)
        known = left.known & right.known
        if left.kind == "str" or right.kind == "str":
            out = self._compare_str(node.op, left, right)
        else:
            out = _CMP[node.op](left.value, right.value)
        return _bool(out & known, known, self.n)

    def _compare_str(self, op: str, left: Val, right: Val) -> np.ndarray:
        if op not in ("=", "!="):
            raise UnsupportedNode(TARGET + f" (string comparison {op})", left)
        column, literal = (left, right.literal) if right.literal is not None else (
            right, left.literal)
        if literal is None or column.categories is None:
            raise UnsupportedNode(TARGET + " (string compared with a non-literal)", left)
        eq = self._codes_where(column, column.categories == literal)
        return eq if op == "=" else ~eq

    @staticmethod
    def _codes_where(column: Val, per_category: np.ndarray) -> np.ndarray:
        """A per-row mask from a per-category mask (decided once per distinct string)."""
        if per_category.size == 0:
            return np.zeros(column.value.shape[0], dtype=bool)
        return per_category[column.value]

    def _in(self, node: A.In, params: Mapping[str, Parameter]) -> Val:
        item = self.value(node.item, params)
        membership: Membership | Val = self.value(node.container, params)
        if isinstance(membership, Val):  # a dated list parameter with no value yet: UNKNOWN
            return _bool(np.zeros(1, dtype=bool), np.zeros(1, dtype=bool), self.n)
        inside, decided = membership(item)
        if node.negated:
            inside = ~inside
        known = item.known & decided
        return _bool(inside & known, known, self.n)

    def _set_members(self, name: str, categories: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per distinct string, whether it belongs to the named set and whether that is
        decided (FALSE on a 待核 member), vectorised: the edition in force, and the longest
        listed code decides (rules.sets)."""
        named = self.sets[name].at(self.as_of)
        inside = np.zeros(categories.shape[0], dtype=bool)
        decided = np.ones(categories.shape[0], dtype=bool)
        found = np.zeros(categories.shape[0], dtype=bool)
        for code, status in named.statuses():  # longest first
            hit = ~found & (np.char.startswith(categories, code) if named.by_prefix
                            else categories == code)
            inside |= hit & (status is True)
            decided &= ~(hit & (status is None))
            found |= hit
        return inside, decided

    def _possible(self, node: A.Compare | A.In, params: Mapping[str, Parameter],
                  val: Val) -> Val:
        """Where the tag is null, the truth its possible-set mask decides (rules.possible)."""
        test = possible_test(node, self.catalog, params, self.as_of)
        if test is None:
            return val
        exact = self.column(test.field).known
        mask = self.column(test.column)
        within = mask.known & np.isin(mask.value, test.within)
        outside = mask.known & np.isin(mask.value, test.outside)
        true, false = (outside, within) if test.negated else (within, outside)
        return Val("bool", np.where(exact, val.value, true),
                   np.where(exact, val.known, true | false))

    def _decided(self, node: A.Compare | A.In | A.IsEmpty, val: Val) -> Val:
        """An atom reading an empty list-type field has the value the rule language decides
        (:func:`rules.semantics.decided_value`), whatever its other operands."""
        listed = list_fields(node, self.catalog)
        if not listed:
            return val
        empty = np.zeros(self.n, dtype=bool)
        for name in listed:
            empty |= ~self.column(name).known
        value = (val.value | empty) if decided_value(node) else (val.value & ~empty)
        return Val("bool", value, val.known | empty)

    # -- policies ----------------------------------------------------------------------------

    def tree(self, node: ConditionNode, params: Mapping[str, Parameter]) -> Val:
        """A condition tree: the core expression it stands for (:func:`condition_expr`)."""
        return self.truth(condition_expr(node), params)

    def amount(self, policy: Policy) -> Val | None:
        """The amount: its core expression's value (equal expressions of different policies
        with equal parameters are computed once)."""
        if policy.amount is None:
            return None
        v = self.value(policy.amount.expr, policy.parameters)
        return _num(v.value, v.known, self.n)

    def _tiers(self, node: A.Tiers, params: Mapping[str, Parameter]) -> Val:
        """Every row still possible (rules.amount_branches.tier_branches), agreed."""
        meets = [self.truth(m, params) for m in node.selectors()]
        branches: list[tuple[np.ndarray, Val | None]] = [
            (~(meets[0].known & meets[0].value), None)]
        for i, value in enumerate(node.values):
            possible = ~meets[i].known | meets[i].value
            if i + 1 < len(meets):
                possible = possible & ~(meets[i + 1].known & meets[i + 1].value)
            branches.append((possible, self.value(value, params)))
        return self._agreed(branches)

    def _cases(self, node: A.Cases, params: Mapping[str, Parameter]) -> Val:
        """Every case still possible (rules.amount_branches.case_branches), agreed."""
        branches: list[tuple[np.ndarray, Val | None]] = []
        reach = np.ones(self.n, dtype=bool)  # no earlier case TRUE
        for when, value in zip(node.whens, node.values, strict=True):
            w = self.truth(when, params)
            branches.append((reach & (~w.known | w.value), self.value(value, params)))
            reach = reach & ~(w.known & w.value)
        if node.otherwise is not None:
            branches.append((reach, self.value(node.otherwise, params)))
            reach = np.zeros(self.n, dtype=bool)
        return self._agreed([*branches, (reach, None)])

    def _agreed(self, branches: list[tuple[np.ndarray, Val | None]]) -> Val:
        """Known where every possible branch has the same known amount (None: UNKNOWN)."""
        unknown = np.zeros(self.n, dtype=bool)
        low = np.full(self.n, np.inf)
        high = np.full(self.n, -np.inf)
        for possible, v in branches:
            possible = np.broadcast_to(possible, (self.n,))
            if v is None:
                unknown = unknown | possible
                continue
            value = np.broadcast_to(v.value, (self.n,)).astype(np.float64)
            unknown = unknown | (possible & ~np.broadcast_to(v.known, (self.n,)))
            low = np.where(possible, np.minimum(low, value), low)
            high = np.where(possible, np.maximum(high, value), high)
        known = ~unknown & (low == high)
        return Val("num", np.where(known, low, 0.0), known)



# ---- the rules: one per core node ---------------------------------------------------------

Rule = Callable[[Evaluator, Any, Mapping[str, Parameter]], Any]
#: a container: per row, is the item in it, and is that decided (not on a 待核 member)?
Membership = Callable[[Val], tuple[np.ndarray, np.ndarray]]
_ONE = np.ones(1, dtype=bool)


def _decided(raw: Rule) -> Rule:
    def rule(ev: Evaluator, node: A.Expr, params: Mapping[str, Parameter]) -> Val:
        return ev._decided(node, raw(ev, node, params))  # type: ignore[arg-type]

    return rule


def _param(ev: Evaluator, node: A.ParamRef, params: Mapping[str, Parameter]) -> Any:
    param = params.get(node.name)
    bound = param.at(ev.as_of) if param is not None else None
    if bound is None:
        return Val("num", np.zeros(1), np.zeros(1, dtype=bool))
    return ev.value(bound, params)


def _date(ev: Evaluator, node: A.Date | A.AsOf, params: Mapping[str, Parameter]) -> Val:
    day = node.value if isinstance(node, A.Date) else ev.as_of
    return Val("date", np.array([day.toordinal() - _EPOCH], dtype=np.int64), _ONE)


def _field(ev: Evaluator, node: A.FieldRef, params: Mapping[str, Parameter]) -> Val:
    if is_declared(node.name, ev.catalog):  # only the applicant can declare it
        return Val(_KINDS[ev.catalog.field(node.name).type], np.zeros(1),
                   np.zeros(1, dtype=bool), categories=np.array([], dtype=str))
    return ev.column(node.name)


def _is_empty(ev: Evaluator, node: A.IsEmpty, params: Mapping[str, Parameter]) -> Val:
    item = ev.value(node.item, params)
    empty = np.broadcast_to(~item.known, (ev.n,))
    return Val("bool", ~empty if node.negated else empty, ev._true)


def _list(ev: Evaluator, node: A.ListLit, params: Mapping[str, Parameter]) -> Membership:
    def member(item: Val) -> tuple[np.ndarray, np.ndarray]:
        if item.kind == "str":
            wanted = [str(ev.value(i, params).literal) for i in node.items]
            assert item.categories is not None
            return ev._codes_where(item, np.isin(item.categories, wanted)), _ONE
        return np.isin(item.value, [ev.value(i, params).value[0] for i in node.items]), _ONE

    return member


def _strings(item: Val, node: A.Expr) -> np.ndarray:
    if item.categories is None:
        raise UnsupportedNode(TARGET + " (set membership of a non-string)", node)
    return item.categories


def _set(ev: Evaluator, node: A.SetRef, params: Mapping[str, Parameter]) -> Membership:
    def member(item: Val) -> tuple[np.ndarray, np.ndarray]:
        inside, decided = ev._set_members(node.name, _strings(item, node))
        return ev._codes_where(item, inside), ev._codes_where(item, decided) | ~item.known

    return member


def _region(ev: Evaluator, node: A.RegionRef, params: Mapping[str, Parameter]) -> Membership:
    return lambda item: (ev._codes_where(
        item, np.char.startswith(_strings(item, node), node.prefix)), _ONE)


def _unsupported(ev: Evaluator, node: A.Expr, params: Mapping[str, Parameter]) -> Val:
    """Not in this peer: the bench policies do not refer to other policies."""
    raise UnsupportedNode(TARGET, node)


#: The numpy form of every core node (:data:`rules.ast.CORE`); :data:`rules.interpret.RULES`
#: is the specification. A container compiles to a membership test.
RULES: dict[type, Rule] = {
    A.Number: lambda ev, n, p: Val("num", np.array([n.value], dtype=np.float64), _ONE),
    A.String: lambda ev, n, p: Val("str", np.zeros(1, dtype=np.int32), _ONE, literal=n.value),
    A.Bool: lambda ev, n, p: Val("bool", np.array([n.value]), _ONE),
    A.Date: _date,
    A.AsOf: _date,
    A.FieldRef: _field,
    A.ParamRef: _param,
    A.SetRef: _set,
    A.RegionRef: _region,
    A.ListLit: _list,
    A.PolicyRef: _unsupported,
    A.LedgerRef: lambda ev, n, p: ev.column(ledger_column(n)),  # join_ledger's column
    A.Compare: _decided(lambda ev, n, p: _interval_compare(
        n.op, interval(ev, n.left, p), interval(ev, n.right, p), ev.n)
        if has_interval(n) else ev._possible(n, p, ev._compare(n, p))),
    A.In: _decided(lambda ev, n, p: ev._possible(n, p, ev._in(n, p))),
    A.IsEmpty: _decided(_is_empty),
    A.And: lambda ev, n, p: kleene_and([ev.truth(i, p) for i in n.items]),
    A.Or: lambda ev, n, p: kleene_or([ev.truth(i, p) for i in n.items]),
    A.Not: lambda ev, n, p: kleene_not(ev.truth(n.item, p)),
    A.Arith: lambda ev, n, p: _exact(interval(ev, n, p)) if has_interval(n) else ev._arith(n, p),
    A.Neg: lambda ev, n, p: _exact(interval(ev, n, p)) if has_interval(n) else (
        lambda item: Val("num", -item.value, item.known))(ev.value(n.item, p)),
    A.Call: lambda ev, n, p: ev._call(n, p),
    A.Aggregate: lambda ev, n, p: _exact(interval(ev, n, p)),
    A.Tiers: lambda ev, n, p: ev._tiers(n, p),
    A.Cases: lambda ev, n, p: ev._cases(n, p),
}


# ---- aggregates over related entities: vectorised per owner ------------------------------

Bounds = tuple[Val, Val]  # (lo, hi) over every row: every value the aggregate may take


def interval(ev: Evaluator, node: A.Expr, params: Mapping[str, Parameter]) -> Bounds:
    """The interval of a node (rules.intervals); a plain value is one point."""
    rule = INTERVAL_RULES.get(type(node))
    if rule is None:
        v = ev.value(node, params)
        return v, v
    key = ev._key(node, params)
    if key not in ev._intervals:
        ev._intervals[key] = rule(ev, node, params)
    return ev._intervals[key]


def _members(ev: Evaluator, relation: str) -> tuple[Evaluator, np.ndarray, np.ndarray] | None:
    """The members' evaluator, each member's owner row, and which owners are on record;
    None when the relation has no data (its aggregates are UNKNOWN)."""
    catalog = load_catalog()
    rel = catalog.relation(ev.catalog.name, relation)
    if rel is None or rel.name not in ev.related:
        return None
    if rel.name not in ev._members:
        rf = ev.related[rel.name]
        keys = ev.frame.get_column(ev.catalog.key).cast(pl.String)
        rows = pl.Series(range(ev.n), dtype=pl.Int64)
        members = rf.members.collect().with_columns(
            pl.col(OWNER_COLUMN).cast(pl.String).replace_strict(
                keys, rows, default=None, return_dtype=pl.Int64).alias("__owner_row")
        ).filter(pl.col("__owner_row").is_not_null())
        owner_row = members.get_column("__owner_row").to_numpy()
        on_record = np.ones(ev.n, dtype=bool)
        if rf.owners is not None:
            listed = rf.owners.collect().get_column(OWNER_COLUMN).cast(pl.String)
            on_record = keys.is_in(listed.implode()).to_numpy() | (
                np.bincount(owner_row, minlength=ev.n) > 0)
        sub = Evaluator(members, catalog=catalog.member_scope(rel), sets=ev.sets,
                        as_of=ev.as_of)
        ev._members[rel.name] = (sub, owner_row, on_record)
    return ev._members[rel.name]


def _aggregate(ev: Evaluator, node: A.Aggregate, params: Mapping[str, Parameter]) -> Bounds:
    found = _members(ev, node.relation)
    unknown = Val("num", np.zeros(ev.n), np.zeros(ev.n, dtype=bool))
    if found is None:
        return unknown, unknown
    sub, owner, on_record = found
    m = sub.n
    if node.where is None:
        sure, maybe = np.ones(m, dtype=bool), np.zeros(m, dtype=bool)
    else:
        w = sub.truth(node.where, params)
        sure, maybe = np.asarray(w.value & w.known), np.asarray(~w.known)

    def per_owner(weights: np.ndarray) -> np.ndarray:
        return np.bincount(owner, weights=weights.astype(np.float64), minlength=ev.n)

    if node.func == "count":
        return (Val("num", per_owner(sure), on_record),
                Val("num", per_owner(sure | maybe), on_record))
    assert node.value is not None
    v = sub.value(node.value, params)
    vv = np.broadcast_to(np.asarray(v.value, dtype=np.float64), (m,))
    vk = np.broadcast_to(v.known, (m,))
    blind = per_owner((sure | maybe) & ~vk) > 0  # a member that may count, value UNKNOWN
    if node.func == "sum":
        low = np.where(sure, vv, np.where(maybe, np.minimum(vv, 0.0), 0.0))
        high = np.where(sure, vv, np.where(maybe, np.maximum(vv, 0.0), 0.0))
        known = on_record & ~blind
        return (Val("num", per_owner(np.where(vk, low, 0.0)), known),
                Val("num", per_owner(np.where(vk, high, 0.0)), known))
    smallest = node.func == "min"
    at = np.minimum.at if smallest else np.maximum.at
    start = np.inf if smallest else -np.inf
    sure_v, any_v = sure & vk, (sure | maybe) & vk
    near, far = np.full(ev.n, start), np.full(ev.n, start)
    at(near, owner[sure_v], vv[sure_v])
    at(far, owner[any_v], vv[any_v])
    any_sure = (per_owner(sure_v) > 0) & on_record
    near_b, far_b = Val("num", near, any_sure), Val("num", far, any_sure & ~blind)
    return (far_b, near_b) if smallest else (near_b, far_b)


def _both(*vals: Val) -> np.ndarray:
    out = np.asarray(vals[0].known)
    for v in vals[1:]:
        out = out & v.known
    return out


def _interval_arith(ev: Evaluator, node: A.Arith, params: Mapping[str, Parameter]) -> Bounds:
    (al, ah), (bl, bh) = interval(ev, node.left, params), interval(ev, node.right, params)
    if node.op == "+":
        return (Val("num", al.value + bl.value, _both(al, bl)),
                Val("num", ah.value + bh.value, _both(ah, bh)))
    if node.op == "-":
        return (Val("num", al.value - bh.value, _both(al, bh)),
                Val("num", ah.value - bl.value, _both(ah, bl)))
    ok = _both(al, ah, bl, bh)
    xs, ys = (al.value, ah.value), (bl.value, bh.value)
    if node.op == "*":
        corners = [np.multiply(x, y) for x in xs for y in ys]
    else:
        ok = ok & ((bl.value > 0) | (bh.value < 0))
        corners = [np.divide(x, y, out=np.zeros(np.broadcast(x, y).shape), where=ok)
                   for x in xs for y in ys]
    return (Val("num", np.minimum.reduce(corners), ok),
            Val("num", np.maximum.reduce(corners), ok))


def _interval_neg(ev: Evaluator, node: A.Neg, params: Mapping[str, Parameter]) -> Bounds:
    lo, hi = interval(ev, node.item, params)
    return Val("num", -hi.value, hi.known), Val("num", -lo.value, lo.known)


#: Interval forms of the core nodes that can carry an interval (rules.intervals).
INTERVAL_RULES: dict[type, Callable[[Evaluator, Any, Mapping[str, Parameter]], Bounds]] = {
    A.Aggregate: _aggregate,
    A.Arith: _interval_arith,
    A.Neg: _interval_neg,
}


def _exact(b: Bounds) -> Val:
    lo, hi = b
    return Val("num", lo.value, _both(lo, hi) & (lo.value == hi.value))


def _interval_compare(op: str, a: Bounds, b: Bounds, n: int) -> Val:
    """:func:`rules.intervals.compare`, vectorised: decided when every value decides alike."""
    (al, ah), (bl, bh) = a, b

    def lt(x: Val, y: Val) -> np.ndarray:
        return _both(x, y) & (x.value < y.value)

    def le(x: Val, y: Val) -> np.ndarray:
        return _both(x, y) & (x.value <= y.value)

    if op in ("=", "!="):
        equal = _both(al, ah, bl, bh) & (al.value == ah.value) & (bl.value == bh.value) & (
            al.value == bl.value)
        apart = lt(ah, bl) | lt(bh, al)
        true, false = (equal, apart) if op == "=" else (apart, equal)
    else:
        true, false = {"<": (lt(ah, bl), le(bh, al)), "<=": (le(ah, bl), lt(bh, al)),
                       ">": (lt(bh, al), le(ah, bl)), ">=": (le(bh, al), lt(ah, bl))}[op]
    return _bool(true, true | false, n)


def civil_from_days(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of day numbers since 1970-01-01, in integer arithmetic
    (H. Hinnant's civil-from-days algorithm, vectorised).

    >>> [a.tolist() for a in civil_from_days(np.array([0, 11016, -1]))]
    [[1970, 2000, 1969], [1, 2, 12], [1, 29, 31]]
    """
    z = days.astype(np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = np.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2)
    return year, month, day


def _bool(value: np.ndarray, known: np.ndarray, n: int) -> Val:
    return Val("bool", np.broadcast_to(value, (n,)), np.broadcast_to(known, (n,)))


def _num(value: np.ndarray, known: np.ndarray, n: int) -> Val:
    return Val("num", np.broadcast_to(value, (n,)), np.broadcast_to(known, (n,)))


def kleene_and(items: list[Val]) -> Val:
    true, false = items[0].value, items[0].known & ~items[0].value
    for item in items[1:]:
        true = true & item.value
        false = false | (item.known & ~item.value)
    return Val("bool", true, true | false)


def kleene_or(items: list[Val]) -> Val:
    true, false = items[0].value, items[0].known & ~items[0].value
    for item in items[1:]:
        true = true | item.value
        false = false & (item.known & ~item.value)
    return Val("bool", true, true | false)


def kleene_not(item: Val) -> Val:
    return Val("bool", item.known & ~item.value, item.known)


def evaluate(frame: pl.DataFrame, policies: Iterable[Policy], *, catalog: EntityCatalog,
             sets: Mapping[str, NamedSet], as_of: dt.date,
             related: Mapping[str, RelatedFrame] | None = None) -> pl.DataFrame:
    """Every policy over ``frame``: a wide frame of ``<id>`` truth (null = UNKNOWN) and
    ``<id>.amount`` columns, like the other engines. ``related``: the member frames of the
    relations the policies aggregate over; award-ledger lookups read the frame's columns of
    :func:`rules.ledger.join_ledger`."""
    policies = list(policies)
    catalog = for_policies(catalog, policies)  # declared conditions: UNKNOWN (rules.declared)
    ev = Evaluator(frame, catalog=catalog, sets=sets, as_of=as_of, related=related)
    columns: list[pl.Series] = []
    for policy in (bind_policy(p, as_of) for p in policies):  # yearly fields: year columns
        t = ev.tree(policy.eligibility, policy.parameters)
        columns.append(_series(policy.id, t))
        a = ev.amount(policy)
        if a is not None:
            columns.append(_series(policy.id + ".amount", a))
    return pl.DataFrame(columns)


def _series(name: str, val: Val) -> pl.Series:
    """A nullable polars column from a (value, known) pair, without a Python loop."""
    known = np.broadcast_to(val.known, val.value.shape)
    if known.all():
        return pl.Series(name, np.ascontiguousarray(val.value))
    array = pa.array(np.ascontiguousarray(val.value), mask=~known)
    return pl.Series(name, array)
