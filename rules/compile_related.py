"""Aggregates over related entities, compiled to polars: a join and a group-by in the plan.

Each :class:`~rules.ast.Aggregate` of a policy becomes an :class:`AggregateColumns`: the
member-level filter and value (compiled by the ordinary polars compiler against the relation's
member scope), the group-by aggregations that give the interval bounds ``lo`` and ``hi`` of
:mod:`rules.intervals`, and the names of the two columns they land in. :func:`attach_related`
adds those columns to the owners' frame with one group-by and one left join per relation;
the compiled truth then reads them like any other column. No Python runs per entity.

Interval expressions (:meth:`RelatedCompiler.interval`) are dispatched through one table,
:data:`INTERVAL_RULES`, one entry per core node; :func:`interval_compare` is the polars
form of :func:`rules.intervals.compare`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Protocol

import polars as pl

from profiles.catalog import OWNER_COLUMN as OWNER
from profiles.catalog import Relation, load_catalog
from rules import ast
from rules.errors import UnsupportedNode
from rules.model import Policy
from rules.printer import to_source

if TYPE_CHECKING:
    from rules.compile_polars import _Compiler

Bounds = tuple[pl.Expr, pl.Expr]  # (lo, hi); null = no known bound


class RelatedFrame(Protocol):
    """The members of one relation (:class:`profiles.relations.RelatedFrame`)."""

    @property
    def members(self) -> pl.LazyFrame: ...

    @property
    def owners(self) -> pl.LazyFrame | None: ...


@dataclass(frozen=True)
class AggregateColumns:
    """One aggregate, computed per owner into the columns ``lo`` and ``hi``."""

    relation: str
    lo: str
    hi: str
    member_columns: tuple[pl.Expr, ...]  # with_columns on the member frame (vectorized)
    aggs: tuple[pl.Expr, ...]  # plain sums/min/max/any per owner (polars' fast group-by path)
    finish: tuple[pl.Expr, ...]  # over the per-owner frame: lo and hi from the partials
    empty_value: float | None  # lo and hi of an owner on record without members


def has_interval(expr: ast.Expr) -> bool:
    """Whether the expression's value is a range (:func:`rules.ast.has_aggregate`)."""
    return ast.has_aggregate(expr)


def _known(*exprs: pl.Expr) -> pl.Expr:
    return reduce(lambda a, b: a & b, (e.is_not_null() for e in exprs))


def _corners(op: str, a: Bounds, b: Bounds) -> Bounds:
    """``*`` and ``/`` over the four corners, null unless every bound is known; a divisor
    interval holding 0 is null (:func:`rules.intervals.arith`)."""
    (al, ah), (bl, bh) = a, b
    if op == "*":
        corners = [al * bl, al * bh, ah * bl, ah * bh]
        ok = _known(al, ah, bl, bh)
    else:
        corners = [al / bl, al / bh, ah / bl, ah / bh]
        ok = _known(al, ah, bl, bh) & ((bl > 0) | (bh < 0))
    return (pl.when(ok).then(pl.min_horizontal(corners)),
            pl.when(ok).then(pl.max_horizontal(corners)))


def interval_compare(op: str, a: Bounds, b: Bounds) -> pl.Expr:
    """The polars form of :func:`rules.intervals.compare` (Boolean, null = UNKNOWN)."""
    (al, ah), (bl, bh) = a, b
    true_when: pl.Expr
    false_when: pl.Expr
    if op in ("=", "!="):
        equal = _known(al, ah, bl, bh) & (al == ah) & (bl == bh) & (al == bl)
        apart = (ah < bl).fill_null(False) | (bh < al).fill_null(False)
        true_when, false_when = (equal, apart) if op == "=" else (apart, equal)
    elif op == "<":
        true_when, false_when = ah < bl, bh <= al
    elif op == "<=":
        true_when, false_when = ah <= bl, bh < al
    elif op == ">":
        true_when, false_when = bh < al, ah <= bl
    else:
        true_when, false_when = bh <= al, ah < bl
    return (pl.when(true_when.fill_null(False)).then(pl.lit(True))
            .when(false_when.fill_null(False)).then(pl.lit(False))
            .otherwise(pl.lit(None, dtype=pl.Boolean)))


def aggregate_key(rel: Relation, expr: ast.Aggregate, policy: Policy) -> str:
    """The key of an aggregate's columns in a plan (:attr:`CompiledPolicy.related`): one
    pair of columns per distinct aggregate, per policy when it reads the policy's
    parameters."""
    params = any(isinstance(n, ast.ParamRef) for e in expr.children() for n in e.walk())
    return f"{rel.name}|{expr.func}|{to_source(expr)}" + (f"|{policy.id}" if params else "")


class RelatedCompiler:
    """Compiles the aggregates of the policies of one ``_Compiler`` (owner entity)."""

    def __init__(self, owner: _Compiler) -> None:
        self.owner = owner
        self.columns: dict[str, AggregateColumns] = {}
        self._members: dict[str, _Compiler] = {}

    def relation(self, name: str) -> Relation:
        rel = load_catalog().relation(self.owner.catalog.name, name)
        if rel is None:
            raise UnsupportedNode("polars", ast.FieldRef(name=name))
        return rel

    def member_compiler(self, rel: Relation) -> _Compiler:
        if rel.name not in self._members:
            from rules.compile_polars import _Compiler

            scope = load_catalog().member_scope(rel)
            self._members[rel.name] = _Compiler({}, scope, self.owner.sets, self.owner.as_of)
        return self._members[rel.name]

    # ---- intervals: one rule per core node --------------------------------------------

    def interval(self, expr: ast.Expr, policy: Policy) -> Bounds:
        rule = INTERVAL_RULES.get(type(expr))
        if rule is None:
            value = self.owner.expr(expr, policy)
            return value, value
        return rule(self, expr, policy)

    def exact(self, expr: ast.Expr, policy: Policy) -> pl.Expr:
        """An aggregate used as a plain value (an amount, ``in``): its value when the
        interval is one point, else null."""
        lo, hi = self.interval(expr, policy)
        return pl.when(_known(lo, hi) & (lo == hi)).then(lo)

    def compare(self, expr: ast.Compare, policy: Policy) -> pl.Expr:
        return interval_compare(expr.op, self.interval(expr.left, policy),
                                self.interval(expr.right, policy))

    def _arith(self, expr: ast.Expr, policy: Policy) -> Bounds:
        assert isinstance(expr, ast.Arith)
        a, b = self.interval(expr.left, policy), self.interval(expr.right, policy)
        if expr.op == "+":
            return a[0] + b[0], a[1] + b[1]
        if expr.op == "-":
            return a[0] - b[1], a[1] - b[0]
        return _corners(expr.op, a, b)

    def _neg(self, expr: ast.Expr, policy: Policy) -> Bounds:
        assert isinstance(expr, ast.Neg)
        lo, hi = self.interval(expr.item, policy)
        return -hi, -lo

    def _aggregate(self, expr: ast.Expr, policy: Policy) -> Bounds:
        assert isinstance(expr, ast.Aggregate)
        cols = self.aggregate_columns(expr, policy)
        return pl.col(cols.lo), pl.col(cols.hi)

    # ---- member-level plan ------------------------------------------------------------

    def aggregate_columns(self, expr: ast.Aggregate, policy: Policy) -> AggregateColumns:
        rel = self.relation(expr.relation)
        key = aggregate_key(rel, expr, policy)
        if key in self.columns:
            return self.columns[key]
        n = len(self.columns)
        tag = f"__agg{n}"
        member = self.member_compiler(rel)
        w = (member.cond(expr.where, policy) if expr.where is not None
             else pl.lit(True))
        w = w.cast(pl.Boolean)
        lo, hi = f"{tag}_lo", f"{tag}_hi"

        def part(name: str) -> str:
            return f"{tag}_{name}"

        prepare: list[pl.Expr]
        aggs: list[pl.Expr]
        finish: list[pl.Expr]
        empty_value: float | None = 0
        if expr.func == "count":
            prepare = [w.fill_null(False).cast(pl.Int64).alias(part("t")),
                       w.fill_null(True).cast(pl.Int64).alias(part("p"))]
            aggs = [pl.col(part("t")).sum().alias(lo), pl.col(part("p")).sum().alias(hi)]
            finish = [pl.col(lo), pl.col(hi)]
        else:
            assert expr.value is not None
            v = member.expr(expr.value, policy)
            counted = w.fill_null(True)
            unknown_value = (counted & v.is_null()).alias(part("u"))
            if expr.func == "sum":
                fv = v.cast(pl.Float64)
                low = pl.when(w).then(fv).when(w.is_null()).then(
                    pl.min_horizontal(fv, pl.lit(0.0))).otherwise(0.0)
                high = pl.when(w).then(fv).when(w.is_null()).then(
                    pl.max_horizontal(fv, pl.lit(0.0))).otherwise(0.0)
                prepare = [low.alias(part("l")), high.alias(part("h")), unknown_value]
                aggs = [pl.col(part("l")).sum(), pl.col(part("h")).sum(),
                        pl.col(part("u")).any()]
                finish = [pl.when(~pl.col(part("u"))).then(pl.col(part("l"))).alias(lo),
                          pl.when(~pl.col(part("u"))).then(pl.col(part("h"))).alias(hi)]
            else:
                empty_value = None
                sure = w.fill_null(False) & v.is_not_null()
                maybe = w.is_null() & v.is_not_null()
                prepare = [pl.when(sure).then(v).alias(part("n")),
                           pl.when(sure | maybe).then(v).alias(part("f")),
                           sure.alias(part("s")), unknown_value]
                smallest = expr.func == "min"
                aggs = [(pl.col(part("n")).min() if smallest else pl.col(part("n")).max()),
                        (pl.col(part("f")).min() if smallest else pl.col(part("f")).max()),
                        pl.col(part("s")).any(), pl.col(part("u")).any()]
                any_sure = pl.col(part("s"))
                near = pl.when(any_sure).then(pl.col(part("n")))
                far = pl.when(any_sure & ~pl.col(part("u"))).then(pl.col(part("f")))
                first, second = (far, near) if smallest else (near, far)
                finish = [first.alias(lo), second.alias(hi)]
        cols = AggregateColumns(relation=rel.name, lo=lo, hi=hi, member_columns=tuple(prepare),
                                aggs=tuple(aggs), finish=tuple(finish),
                                empty_value=empty_value)
        self.columns[key] = cols
        return cols


INTERVAL_RULES: dict[type, Callable[[RelatedCompiler, ast.Expr, Policy], Bounds]] = {
    ast.Aggregate: RelatedCompiler._aggregate,
    ast.Arith: RelatedCompiler._arith,
    ast.Neg: RelatedCompiler._neg,
}


def attach_related(lf: pl.LazyFrame, *, key: str, columns: Mapping[str, AggregateColumns],
                   related: Mapping[str, RelatedFrame] | None) -> pl.LazyFrame:
    """``lf`` with the ``lo``/``hi`` columns of every aggregate. Per relation, one plan joins
    the members to their fields, computes the member-level partials and groups them by owner
    (plain sums, minima, maxima: polars' fast path); the result (one row per owner with
    members) is found by a hash lookup of the owner's key (``replace_strict`` to a row
    position, then ``gather``), which keeps ``lf``'s row order by construction (a join does
    not promise it, and polars 2.1 was seen to drop the sort restoring it). A relation
    without data makes its aggregates UNKNOWN (null)."""
    if not columns:
        return lf
    owner_key = pl.col(key).cast(pl.String)
    by_relation: dict[str, list[AggregateColumns]] = {}
    for cols in columns.values():
        by_relation.setdefault(cols.relation, []).append(cols)
    added: list[pl.Expr] = []
    drop: list[str] = []
    for name, group in sorted(by_relation.items()):
        frame = (related or {}).get(name)
        if frame is None:
            added += [pl.lit(None, dtype=pl.Float64).alias(c)
                      for cols in group for c in (cols.lo, cols.hi)]
            continue
        members = frame.members.with_columns(
            [e for cols in group for e in cols.member_columns])
        per_owner = (members.group_by(OWNER).agg([a for cols in group for a in cols.aggs])
                     .select(pl.col(OWNER).cast(pl.String),
                             *[f for cols in group for f in cols.finish])
                     .collect())
        index = f"__index_{name}"
        position = owner_key.replace_strict(
            per_owner[OWNER], pl.Series(range(per_owner.height), dtype=pl.UInt32),
            default=None, return_dtype=pl.UInt32)
        lf = lf.with_columns(position.alias(index))
        has_rows = pl.col(index).is_not_null()
        on_record: pl.Expr = pl.lit(True)
        if frame.owners is not None:
            listed = frame.owners.select(pl.col(OWNER).cast(pl.String)).collect().to_series()
            on_record = owner_key.is_in(listed.implode()) | has_rows
        for cols in group:
            for c in (cols.lo, cols.hi):
                found = (pl.lit(per_owner[c]).gather(pl.col(index).fill_null(0))
                         if per_owner.height else pl.lit(None, dtype=per_owner.schema[c]))
                value = pl.when(has_rows).then(found).otherwise(pl.lit(cols.empty_value))
                added.append(pl.when(on_record).then(value).alias(c))
        drop.append(index)
    return lf.with_columns(added).drop(drop)
