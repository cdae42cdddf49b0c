"""Compile checked policies to polars expressions (pure: no I/O, no data).

Null is UNKNOWN; ``&``, ``|`` and ``~`` on nullable booleans are Kleene in polars, which is
exactly DESIGN §3. Every referenced column is assumed present in the frame; a declared
condition (only the applicant can attest it, :mod:`rules.declared`) is a column the plan adds
as nulls until the applicant's answer completes the profile.

>>> import datetime as dt
>>> import polars as pl
>>> from profiles.catalog import load_catalog
>>> from rules.loader import bundled_library
>>> lib = bundled_library()
>>> ent = load_catalog().entity("enterprise")
>>> compiled = compile_policies([lib["vat-small-scale-exemption"]], catalog=ent,
...                             sets=lib.sets, as_of=dt.date(2025, 6, 30))
>>> cp = compiled["vat-small-scale-exemption"]
>>> df = pl.DataFrame({"vat_taxpayer_type": ["小规模纳税人", "小规模纳税人", None],
...                    "monthly_sales": [100_000.0, 100_001.0, 5.0]})
>>> df.select(cp.truth.alias("t"), cp.amount.alias("a")).rows()
[(True, 1000.0), (False, 1000.01), (None, 0.05)]
>>> cp.conditions[1].threshold
'≤ 10万'
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import polars as pl

from profiles.catalog import HELD_FIELDS, EntityCatalog
from profiles.derive import full_months, full_years
from rules import ast
from rules.compile_related import AggregateColumns, RelatedCompiler, has_interval
from rules.declared import for_policies
from rules.errors import PolicyError, Problem, UnsupportedNode
from rules.ledger import ledger_column
from rules.model import (
    Condition,
    ConditionNode,
    Policy,
    condition_expr,
)
from rules.possible import PossibleTest, possible_test
from rules.printer import to_source
from rules.semantics import decided_value, is_listed_bool, list_fields
from rules.sets import NamedSets
from rules.years import bind_policy

DTYPES: dict[str, pl.DataType] = {
    "int": pl.Int64(), "float": pl.Float64(), "str": pl.String(), "date": pl.Date(),
    "bool": pl.Boolean(),
}
_SYMBOLS = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "=": "=", "!=": "≠"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_LITERALS = (ast.Number, ast.String, ast.Bool, ast.Date, ast.AsOf, ast.ParamRef, ast.ListLit,
             ast.SetRef, ast.RegionRef)
_NULL_BOOL = pl.lit(None, dtype=pl.Boolean)


@dataclass(frozen=True)
class CompiledCondition:
    condition: Condition
    truth: pl.Expr  # Boolean; null = UNKNOWN
    fields: frozenset[str]
    value: pl.Expr | None  # the entity's value for explanations (the non-literal side)
    threshold: str | None  # readable threshold text, e.g. "≤ 300万", "属于 广州市"
    distance: pl.Expr | None  # numeric comparisons: how far from passing, 0 when met


@dataclass(frozen=True)
class CompiledPolicy:
    policy: Policy
    truth: pl.Expr  # Kleene AND/OR/NOT of the tree; null = undetermined
    conditions: tuple[CompiledCondition, ...]  # leaves, document order
    amount: pl.Expr | None  # Float64, null when any input is unknown; None without amount
    fields: frozenset[str]
    #: award-ledger lookups (own and of referenced policies): columns the frame must carry,
    #: added by rules.ledger.join_ledger
    ledger: frozenset[ast.LedgerRef] = frozenset()
    #: aggregates over related entities the expressions read, by column key: add them to
    #: the frame first (:func:`rules.compile_related.attach_related`)
    related: dict[str, AggregateColumns] = field(default_factory=dict)
    #: the amount in two steps, for evaluating it on many rows (:class:`AmountSteps`)
    amount_steps: AmountSteps | None = None


@dataclass(frozen=True)
class AmountSteps:
    """A policy's amount as a few selects, for evaluating it on many rows: ``stages`` added
    to the frame one after the other, then ``value`` over them (:func:`_agreed_stages`:
    each selector's truth, each branch's value, each branch's candidate, their coalesce;
    no stage for a formula). polars' common-subexpression elimination does not share
    ``when``/``then`` subtrees, so the one expression (:attr:`expr`,
    :attr:`CompiledPolicy.amount`) computes each selector several times over (a case's
    reach repeats every earlier case, the agreement every candidate): about seven times
    slower on tiers and cases."""

    stages: tuple[tuple[pl.Expr, ...], ...]
    value: pl.Expr
    inline: pl.Expr | None = None  # the same amount as one expression (None: ``value``)

    @property
    def expr(self) -> pl.Expr:
        return self.value if self.inline is None else self.inline.cast(pl.Float64)

    @property
    def added(self) -> set[str]:
        """The columns the stages add."""
        return {e.meta.output_name() for stage in self.stages for e in stage}


class _Compiler:
    def __init__(self, policies: dict[str, Policy], catalog: EntityCatalog, sets: NamedSets,
                 as_of: dt.date, *, held: bool = False) -> None:
        self.held = held
        self.policies = policies  # those compiled, and every one they may reference
        self.catalog = catalog
        self.sets = sets
        self.as_of = as_of
        self._truths: dict[str, pl.Expr] = {}
        self._busy: set[str] = set()
        self.related = RelatedCompiler(self)
        self._date_tables: dict[str, tuple[pl.Series, Any]] = {}

    def date_table(self, func: str) -> tuple[pl.Series, Any]:
        """Every day from 250 years before the as-of date to 50 years after it, and
        ``func`` (:data:`_DATE_STEPS`) of each, as polars computes it (:func:`_date_function`):
        where :func:`_first_day` looks a comparison's ends up."""
        if func not in self._date_tables:
            days = pl.date_range(self.as_of.replace(year=self.as_of.year - 250, day=1),
                                 self.as_of.replace(year=self.as_of.year + 50, day=1),
                                 eager=True)
            values = pl.DataFrame({"d": days}).select(
                _date_function(func, pl.col("d"), self.as_of)).to_series().to_numpy()
            self._date_tables[func] = days, values
        return self._date_tables[func]

    # ---- policies and trees -----------------------------------------------------------

    def policy_truth(self, pid: str) -> pl.Expr:
        if pid not in self._truths:
            if pid in self._busy:
                raise PolicyError([Problem(file=self.policies[pid].source or pid, line=0,
                                           column=0, code="reference-cycle",
                                           message=f"期望引用不成环，实际为 "
                                           f"经过 '{pid}' 的环")])
            self._busy.add(pid)
            policy = self.policies[pid]
            self._truths[pid] = self.tree(policy.eligibility, policy)
            self._busy.discard(pid)
        return self._truths[pid]

    def tree(self, node: ConditionNode, policy: Policy) -> pl.Expr:
        """A condition tree: the core expression it stands for (:func:`condition_expr`)."""
        return self.cond(condition_expr(node), policy)

    # ---- expressions ------------------------------------------------------------------

    def cond(self, expr: ast.Expr, policy: Policy) -> pl.Expr:
        """An expression used as a condition: a bare list-type boolean is FALSE when empty."""
        out = self.expr(expr, policy)
        if not is_listed_bool(expr, self.catalog):
            return out
        assert isinstance(expr, ast.FieldRef)
        held = self.held_empty([expr.name])
        filled = out.fill_null(False)
        return filled if held is None else pl.when(held).then(_NULL_BOOL).otherwise(filled)

    def held_empty(self, names: Iterable[str]) -> pl.Expr | None:
        """Rows where one of ``names`` is empty because of a data defect
        (:func:`rules.semantics.held_empty`); None when the frame has no held entities."""
        names = sorted(names)
        if not self.held or not names:
            return None
        held = pl.col(HELD_FIELDS)
        return reduce(lambda a, b: a | b, (
            pl.col(n).is_null() & held.list.contains(pl.lit(n)).fill_null(False)
            for n in names))

    def expr(self, expr: ast.Expr, policy: Policy) -> pl.Expr:
        """Any core node: one rule per node type (:data:`RULES`)."""
        rule = RULES.get(type(expr))
        if rule is None:
            raise UnsupportedNode("polars", expr)
        out: pl.Expr = rule(self, expr, policy)
        return out

    def guarded(self, expr: ast.Expr, raw: pl.Expr) -> pl.Expr:
        """An atom with the rules every atom obeys: an empty list-type field decides it,
        a field empty on a data defect makes it UNKNOWN (:mod:`rules.semantics`)."""
        listed = list_fields(expr, self.catalog)
        if listed:
            empty = reduce(lambda a, b: a | b, (pl.col(n).is_null() for n in listed))
            raw = pl.when(empty).then(pl.lit(decided_value(expr))).otherwise(raw)
        held = self.held_empty(ast.fields_read(expr))
        return raw if held is None else pl.when(held).then(_NULL_BOOL).otherwise(raw)

    # ---- amounts ----------------------------------------------------------------------

    def amount(self, policy: Policy) -> AmountSteps | None:
        if policy.amount is None:
            return None
        expr = policy.amount.expr  # its core expression
        split = _BRANCHES.get(type(expr))
        if split is None:
            return AmountSteps(stages=(), value=self.expr(expr, policy).cast(pl.Float64))
        selectors, values, possible = split(self, expr, policy)
        branches = list(zip(possible(selectors), values, strict=True))
        # named by policy: one query may add the stages of every policy (bench.engines)
        stages, value = _agreed_stages(selectors, values, possible,
                                       prefix=f"__amount:{policy.id}:")
        return AmountSteps(stages=stages, value=value, inline=_agreed(branches))

    # ---- explanations -----------------------------------------------------------------

    def is_numeric(self, expr: ast.Expr, policy: Policy) -> bool:
        if isinstance(expr, ast.Number | ast.Arith | ast.Neg):
            return True
        if isinstance(expr, ast.Call):
            return True
        if isinstance(expr, ast.LedgerRef):
            return expr.kind == "amount"
        if isinstance(expr, ast.FieldRef):
            return self.catalog.field(expr.name).is_numeric
        if isinstance(expr, ast.ParamRef):
            value = policy.parameters[expr.name].at(self.as_of)
            return isinstance(value, ast.Number)
        return False

    def literal_text(self, expr: ast.Expr, policy: Policy) -> str:
        if isinstance(expr, ast.ParamRef):
            value = policy.parameters[expr.name].at(self.as_of)
            return "未定义" if value is None else to_source(value)
        if isinstance(expr, ast.AsOf):
            return self.as_of.isoformat()
        return to_source(expr)

    def explain(self, expr: ast.Expr, policy: Policy, truth: pl.Expr
                ) -> tuple[pl.Expr | None, str | None, pl.Expr | None]:
        """(value, threshold, distance) of a leaf expression."""
        if isinstance(expr, ast.Compare):
            left_lit = isinstance(expr.left, _LITERALS)
            right_lit = isinstance(expr.right, _LITERALS)
            if left_lit and not right_lit:
                subject, op, other = expr.right, _FLIP[expr.op], expr.left
            else:
                subject, op, other = expr.left, expr.op, expr.right
            value = self.expr(subject, policy)
            threshold = f"{_SYMBOLS[op]} {self.literal_text(other, policy)}"
            distance = None
            if self.is_numeric(expr.left, policy) and self.is_numeric(expr.right, policy):
                gap = (self.expr(expr.left, policy) - self.expr(expr.right, policy)).abs()
                distance = pl.when(truth).then(pl.lit(0.0)).otherwise(gap.cast(pl.Float64))
            return value, threshold, distance
        if isinstance(expr, ast.In):
            word = "不属于" if expr.negated else "属于"
            return (self.expr(expr.item, policy),
                    f"{word} {self.literal_text(expr.container, policy)}", None)
        if isinstance(expr, ast.IsEmpty):
            return self.expr(expr.item, policy), "已知" if expr.negated else "为空", None
        if isinstance(expr, ast.FieldRef):
            return self.expr(expr, policy), "是", None
        if isinstance(expr, ast.Not) and isinstance(expr.item, ast.FieldRef):
            return self.expr(expr.item, policy), "否", None
        if isinstance(expr, ast.PolicyRef):
            return None, f"符合 {expr.policy_id}", None
        if isinstance(expr, ast.LedgerRef):
            return self.expr(expr, policy), f"已领取 {expr.policy_id}", None
        if isinstance(expr, ast.Not) and isinstance(expr.item, ast.LedgerRef):
            return self.expr(expr.item, policy), f"未领取 {expr.item.policy_id}", None
        if isinstance(expr, ast.And | ast.Or):
            parts = [self.explain(i, policy, self.cond(i, policy)) for i in expr.items]
            values = [p[0] for p in parts if p[0] is not None]
            texts = [p[1] for p in parts if p[1] is not None]
            joiner = " 且 " if isinstance(expr, ast.And) else " 或 "
            distance = None
            if isinstance(expr, ast.And) and self.same_subject(expr.items):
                # a range on one value (0 < x and x <= 300万): at most one bound fails, so
                # the distance is the failing bound's; different subjects have no common unit
                gaps = [p[2] for p in parts]
                if all(g is not None for g in gaps):
                    distance = pl.sum_horizontal(gaps)
            return (values[0] if values else None,
                    joiner.join(texts) if len(texts) == len(parts) else None, distance)
        return None, None, None

    @staticmethod
    def same_subject(items: tuple[ast.Expr, ...]) -> bool:
        """Whether every item compares the same non-literal expression with a literal."""
        subjects = []
        for item in items:
            if not isinstance(item, ast.Compare):
                return False
            if isinstance(item.left, _LITERALS) == isinstance(item.right, _LITERALS):
                return False
            subjects.append(item.right if isinstance(item.left, _LITERALS) else item.left)
        return len(subjects) > 1 and all(s == subjects[0] for s in subjects)

    def fields_of(self, expr_fields: frozenset[str], refs: Iterable[str]) -> frozenset[str]:
        out = set(expr_fields)
        for pid in refs:
            other = self.policies.get(pid)
            if other is not None:
                out |= self.fields_of(other.fields_read, other.references)
        return frozenset(out)

    def ledger_of(self, policy: Policy) -> frozenset[ast.LedgerRef]:
        out = set(policy.ledger_lookups)
        for pid in policy.references:
            other = self.policies.get(pid)
            if other is not None:
                out |= self.ledger_of(other)
        return frozenset(out)

    def compile(self, policy: Policy) -> CompiledPolicy:
        leaves: list[CompiledCondition] = []
        for leaf in policy.conditions:
            truth = self.cond(leaf.expr, policy)
            value, threshold, distance = self.explain(leaf.expr, policy, truth)
            fields = self.fields_of(ast.fields_read(leaf.expr),
                                    ast.policies_referenced(leaf.expr))
            leaves.append(CompiledCondition(condition=leaf, truth=truth, fields=fields,
                                            value=value, threshold=threshold,
                                            distance=distance))
        truth, steps = self.policy_truth(policy.id), self.amount(policy)
        return CompiledPolicy(policy=policy, truth=truth,
                              conditions=tuple(leaves),
                              amount=None if steps is None else steps.expr,
                              amount_steps=steps,
                              fields=self.fields_of(policy.fields_read, policy.references),
                              related=dict(self.related.columns),
                              ledger=self.ledger_of(policy))



# ---- the rules: one per core node ---------------------------------------------------------

Rule = Callable[[_Compiler, Any, Policy], Any]
Membership = Callable[[pl.Expr], pl.Expr]  # a container: is the (known) item in it?


def _atom(raw: Rule) -> Rule:
    def rule(c: _Compiler, expr: ast.Expr, policy: Policy) -> pl.Expr:
        out = raw(c, expr, policy)
        test = possible_test(expr, c.catalog, policy.parameters, c.as_of)
        if test is not None:  # a null tag: decided by its still-possible values
            out = pl.when(pl.col(test.field).is_null()).then(_by_mask(test)).otherwise(out)
        return c.guarded(expr, out)

    return rule


def _by_mask(test: PossibleTest) -> pl.Expr:
    """An atom's truth from a possible-set column (:mod:`rules.possible`)."""
    mask = pl.col(test.column)

    def among(masks: tuple[int, ...]) -> pl.Expr:
        return mask.is_in(list(masks)).fill_null(False) if masks else pl.lit(False)

    return (pl.when(among(test.within)).then(pl.lit(not test.negated))
            .when(among(test.outside)).then(pl.lit(test.negated)).otherwise(_NULL_BOOL))


def _agreed(branches: list[tuple[pl.Expr, pl.Expr]]) -> pl.Expr:
    """The amount every still-possible branch gives, null when they differ or one is
    UNKNOWN (:func:`rules.amount_branches.agreed`); ``branches``: (possible, value)."""
    null = pl.lit(None, dtype=pl.Float64)
    unknown = reduce(lambda a, b: a | b, (p & v.is_null() for p, v in branches))
    candidates = [pl.when(p).then(v).otherwise(null) for p, v in branches]
    first = pl.coalesce(candidates)
    differ = pl.any_horizontal([(c != first).fill_null(False) for c in candidates])
    return pl.when(unknown | differ).then(null).otherwise(first)


def _literal(c: _Compiler, expr: ast.Number | ast.String | ast.Bool | ast.Date,
             policy: Policy) -> pl.Expr:
    return pl.lit(expr.value)


def _agreed_stages(selectors: list[pl.Expr], values: list[pl.Expr],
                   possible: Callable[[list[pl.Expr]], list[pl.Expr]], *, prefix: str
                   ) -> tuple[tuple[tuple[pl.Expr, ...], ...], pl.Expr]:
    """:func:`_agreed` of the branches ``possible(selectors)`` / ``values`` as stages of
    columns named ``{prefix}c0``, ``{prefix}v0``... (each ``when``/``then`` computed once)
    and the final value over them."""
    null = pl.lit(None, dtype=pl.Float64)
    first = (*(e.alias(f"{prefix}c{j}") for j, e in enumerate(selectors)),
             *(v.alias(f"{prefix}v{i}") for i, v in enumerate(values)))
    held = possible([pl.col(f"{prefix}c{j}") for j in range(len(selectors))])
    vals = [pl.col(f"{prefix}v{i}") for i in range(len(values))]
    unknown = reduce(lambda a, b: a | b, (p & v.is_null() for p, v in zip(held, vals,
                                                                          strict=True)))
    second = (*(pl.when(p).then(v).otherwise(null).alias(f"{prefix}k{i}")
                for i, (p, v) in enumerate(zip(held, vals, strict=True))),
              unknown.alias(f"{prefix}u"))
    candidates = [pl.col(f"{prefix}k{i}") for i in range(len(values))]
    third = (pl.coalesce(candidates).alias(f"{prefix}f"),)
    first_value = pl.col(f"{prefix}f")
    differ = pl.any_horizontal([(k != first_value).fill_null(False) for k in candidates])
    value = pl.when(pl.col(f"{prefix}u") | differ).then(null).otherwise(first_value)
    return (first, second, third), value


def _tiers(c: _Compiler, expr: ast.Tiers, policy: Policy) -> pl.Expr:
    """Every row still possible (rules.amount_branches.tier_branches), agreed."""
    meets, values, possible = _tier_branches(c, expr, policy)
    return _agreed(list(zip(possible(meets), values, strict=True)))


def _cases(c: _Compiler, expr: ast.Cases, policy: Policy) -> pl.Expr:
    """Every case still possible (rules.amount_branches.case_branches), agreed."""
    whens, values, possible = _case_branches(c, expr, policy)
    return _agreed(list(zip(possible(whens), values, strict=True)))


#: a branched amount: its selectors' truths, each branch's value, and the function from
#: the selectors' truths (expressions or columns) to each branch's possibility
Branches = tuple[list[pl.Expr], list[pl.Expr], Callable[[list[pl.Expr]], list[pl.Expr]]]


def _tier_possible(meets: list[pl.Expr]) -> list[pl.Expr]:
    """Whether "below the first row", then each row of the table, is still possible, from
    the truth of ``by >= from`` of each row."""
    out = [~meets[0].fill_null(False)]
    for i in range(len(meets)):
        possible = meets[i].fill_null(True)
        if i + 1 < len(meets):
            possible = possible & ~meets[i + 1].fill_null(False)
        out.append(possible)
    return out


def _tier_branches(c: _Compiler, expr: ast.Tiers, policy: Policy) -> Branches:
    """The selectors, values and possibilities of "below the first row" and each row."""
    meets = [c.cond(m, policy) for m in expr.selectors()]
    values = [pl.lit(None, dtype=pl.Float64),
              *(c.expr(v, policy).cast(pl.Float64) for v in expr.values)]
    return meets, values, _tier_possible


def _case_possible(truths: list[pl.Expr], *, otherwise: bool) -> list[pl.Expr]:
    """Whether each case (the ``else`` case last when ``otherwise``), then "no case holds",
    is still possible, from the truth of each case's ``when``."""
    out: list[pl.Expr] = []
    reach: pl.Expr = pl.lit(True)  # no earlier case TRUE
    for truth in truths:
        out.append(reach & truth.fill_null(True))
        reach = reach & ~truth.fill_null(False)
    if otherwise:
        out.append(reach)
        reach = pl.lit(False)
    return [*out, reach]


def _case_branches(c: _Compiler, expr: ast.Cases, policy: Policy) -> Branches:
    """The selectors, values and possibilities of each case and of "no case holds"."""
    whens = [c.cond(w, policy) for w in expr.whens]
    values = [c.expr(v, policy).cast(pl.Float64) for v in expr.values]
    if expr.otherwise is not None:
        values.append(c.expr(expr.otherwise, policy).cast(pl.Float64))
    values.append(pl.lit(None, dtype=pl.Float64))
    otherwise = expr.otherwise is not None
    return whens, values, lambda truths: _case_possible(truths, otherwise=otherwise)


#: amounts whose branches a run evaluates as columns first (:class:`AmountSteps`)
_BRANCHES: dict[type, Callable[[_Compiler, Any, Policy], Branches]] = {
    ast.Tiers: _tier_branches,
    ast.Cases: _case_branches,
}


def _field(c: _Compiler, expr: ast.FieldRef, policy: Policy) -> pl.Expr:
    # a declared condition is read like any other field: the plan adds it as a null column
    # (UNKNOWN) unless the profile was completed by the applicant's answer (rules.declared,
    # matcher.evaluate.prepare_frame, api.services.population.fill_declared)
    return pl.col(expr.name)


def _param(c: _Compiler, expr: ast.ParamRef, policy: Policy) -> Any:
    value = policy.parameters[expr.name].at(c.as_of)
    return pl.lit(None) if value is None else c.expr(value, policy)


def _policy_ref(c: _Compiler, expr: ast.PolicyRef, policy: Policy) -> pl.Expr:
    if expr.policy_id not in c.policies:
        raise PolicyError([Problem(file=policy.source or policy.id, line=expr.pos.line,
                                   column=expr.pos.column, code="unknown-policy",
                                   message="期望被引用的政策在编译的"
                                   f"政策之中，实际为 '{expr.policy_id}'")])
    if not c.policies[expr.policy_id].in_effect(c.as_of):
        return pl.lit(False)
    return c.policy_truth(expr.policy_id)


def _ledger(c: _Compiler, expr: ast.LedgerRef, policy: Policy) -> pl.Expr:
    return pl.col(ledger_column(expr))  # joined into the frame (rules.ledger.join_ledger)


def _compare(c: _Compiler, expr: ast.Compare, policy: Policy) -> pl.Expr:
    if has_interval(expr.left) or has_interval(expr.right):
        return c.related.compare(expr, policy)
    by_date = _date_step_compare(c, expr, policy)
    if by_date is not None:
        return by_date
    left, right = _whole(c, expr.left, expr.right, policy), \
        _whole(c, expr.right, expr.left, policy)
    ops = {"<": left.lt, "<=": left.le, ">": left.gt, ">=": left.ge, "=": left.eq,
           "!=": left.ne}
    return ops[expr.op](right)


def _whole(c: _Compiler, expr: ast.Expr, other: ast.Expr, policy: Policy) -> pl.Expr:
    """``expr``, a side of a comparison; a whole number compared with an integer field is an
    integer literal: the comparison then needs no float copy of the column, and gives the
    same answer on every Int64 value (the number is below 2^53, so exact as a float, and
    rounding an integer to a float keeps its order to such a number)."""
    if (isinstance(expr, ast.Number) and isinstance(other, ast.FieldRef)
            and other.name in c.catalog and c.catalog.field(other.name).type == "int"
            and float(expr.value).is_integer() and abs(expr.value) < 2 ** 53):
        return pl.lit(int(expr.value), dtype=pl.Int64)
    return c.expr(expr, policy)


#: functions of a date that move by whole steps as the date moves on, and which way:
#: years_since and months_since never rise, year never falls
_DATE_STEPS = {"years_since": -1, "months_since": -1, "year": 1}


def _date_step_compare(c: _Compiler, expr: ast.Compare, policy: Policy) -> pl.Expr | None:
    """``years_since(d) >= 10``, ``months_since(d) <= 43``, ``year(d) = 2022``... as
    comparisons of ``d`` with dates (None for any other comparison). Such a function is
    monotone in ``d``, so the dates where its comparison with a number holds are one range
    of days; each end is the first day on which the function reaches a value, found by
    evaluating the function itself (:func:`_date_function`, what :func:`_call` compiles) on
    the days around it. A date comparison is one pass over the column; the function takes
    every row's date apart into year, month and day. Null exactly where ``d`` is null, as
    before."""
    call, number, op = expr.left, expr.right, str(expr.op)
    if isinstance(call, ast.Number):
        call, number, op = number, call, _FLIP[op]
    if not (isinstance(call, ast.Call) and call.func in _DATE_STEPS
            and len(call.args) == 1 and isinstance(number, ast.Number)):
        return None
    v = float(number.value)
    if op == "!=":
        equal = _date_step_compare(c, ast.Compare(op="=", left=call, right=number), policy)
        return None if equal is None else ~equal
    if op == "=" and not v.is_integer():
        return None
    # the whole values that pass: lo <= value <= hi (None: no bound)
    lo = {">=": math.ceil(v), ">": math.floor(v) + 1, "=": int(v)}.get(op)
    hi = {"<=": math.floor(v), "<": math.ceil(v) - 1, "=": int(v)}.get(op)
    rising = _DATE_STEPS[call.func] > 0
    # from the first day of the range (>=) to the first day after it (<)
    since, until = (lo, None if hi is None else hi + 1) if rising else \
        (hi, None if lo is None else lo - 1)
    days: list[dt.date | None] = []
    for k in (since, until):
        day = None if k is None else _first_day(c, call.func, k)
        if k is not None and day is None:
            return None
        days.append(day)
    d = c.expr(call.args[0], policy)
    parts = ([d >= pl.lit(days[0])] if days[0] is not None else []) + \
        ([d < pl.lit(days[1])] if days[1] is not None else [])
    return reduce(lambda a, b: a & b, parts)


def _first_day(c: _Compiler, func: str, k: int) -> dt.date | None:
    """The first day on which ``func`` (:data:`_DATE_STEPS`) reaches ``k``: at least ``k``
    for a rising function, at most ``k`` for a falling one, looked up in
    :meth:`_Compiler.date_table`; None when it is not reached within it, or on its first
    day (the comparison is then compiled as written)."""
    days, values = c.date_table(func)
    reached = values >= k if _DATE_STEPS[func] > 0 else values <= k
    if reached[0] or not reached[-1]:
        return None
    first: dt.date = days[int(reached.argmax())]
    return first


def _date_function(func: str, d: pl.Expr, as_of: dt.date) -> pl.Expr:
    """year, years_since or months_since of the dates ``d``, as of ``as_of``."""
    if func == "year":
        return d.dt.year().cast(pl.Int64)
    if func == "years_since":
        return full_years(d, as_of)
    return full_months(d, as_of)


def _in(c: _Compiler, expr: ast.In, policy: Policy) -> pl.Expr:
    item = c.expr(expr.item, policy)
    membership: Membership | pl.Expr = c.expr(expr.container, policy)
    if isinstance(membership, pl.Expr):  # a dated list parameter with no value yet
        return _NULL_BOOL
    found = pl.when(item.is_null()).then(_NULL_BOOL).otherwise(membership(item))
    return ~found if expr.negated else found


def _is_empty(c: _Compiler, expr: ast.IsEmpty, policy: Policy) -> pl.Expr:
    empty = c.expr(expr.item, policy).is_null()
    return ~empty if expr.negated else empty


def _any_of(tests: list[pl.Expr]) -> pl.Expr:
    return reduce(lambda a, b: a | b, tests) if tests else pl.lit(False)


def _list(c: _Compiler, expr: ast.ListLit, policy: Policy) -> Membership:
    values = [c.expr(v, policy) for v in expr.items]
    return lambda item: _any_of([item.eq(v) for v in values])


def _set(c: _Compiler, expr: ast.SetRef, policy: Policy) -> Membership:
    named = c.sets[expr.name].at(c.as_of)  # the edition in force (rules.sets)

    # the longest listed code decides (rules.sets); of codes of one length at most one is a
    # prefix of a value, so each (length, answer) is one is_in of the value's prefix of that
    # length (in characters: a code that is a byte prefix of a value is a character prefix)
    groups: dict[tuple[int, bool | None], list[str]] = {}
    decided: set[str] = set()
    for code, status in named.statuses():
        if code not in decided:  # a code listed twice: its first answer, as contains() does
            decided.add(code)
            groups.setdefault((len(code) if named.by_prefix else 0, status), []).append(code)

    def member(item: pl.Expr) -> pl.Expr:
        text = item.cast(pl.String)
        chain: pl.Expr = pl.lit(False)
        for (length, status), codes in reversed(groups.items()):
            head = text.str.slice(0, length) if named.by_prefix else text
            chain = pl.when(head.is_in(codes)).then(pl.lit(status, dtype=pl.Boolean)) \
                .otherwise(chain)
        return chain

    return member


def _region(c: _Compiler, expr: ast.RegionRef, policy: Policy) -> Membership:
    return lambda item: item.cast(pl.String).str.starts_with(expr.prefix)


def _arith(c: _Compiler, expr: ast.Arith, policy: Policy) -> pl.Expr:
    if has_interval(expr):
        return c.related.exact(expr, policy)
    left, right = c.expr(expr.left, policy), c.expr(expr.right, policy)
    if expr.op == "+":
        return left + right
    if expr.op == "-":
        return left - right
    if expr.op == "*":
        return left * right
    return pl.when(right == 0).then(pl.lit(None, dtype=pl.Float64)).otherwise(left / right)


def _neg(c: _Compiler, expr: ast.Neg, policy: Policy) -> pl.Expr:
    if has_interval(expr):
        return c.related.exact(expr, policy)
    return -c.expr(expr.item, policy)


def _call(c: _Compiler, expr: ast.Call, policy: Policy) -> pl.Expr:
    args = [c.expr(a, policy) for a in expr.args]
    if expr.func in ("min", "max"):
        any_null = reduce(lambda a, b: a | b, (a.is_null() for a in args))
        both = pl.min_horizontal(args) if expr.func == "min" else pl.max_horizontal(args)
        return pl.when(any_null).then(None).otherwise(both)
    d = args[0]
    if expr.func == "abs":
        return d.abs()
    if expr.func in ("add_years", "add_months"):
        count = expr.args[1]
        assert isinstance(count, ast.Number)  # the checker requires a whole number
        unit = "y" if expr.func == "add_years" else "mo"
        return d.dt.offset_by(f"{int(count.value)}{unit}")
    return _date_function(expr.func, d, c.as_of)


#: The polars form of every core node (:data:`rules.ast.CORE`); :data:`rules.interpret.RULES`
#: is the specification each rule follows. Null is UNKNOWN; a container compiles to a
#: membership test.
RULES: dict[type, Rule] = {
    ast.Number: _literal,
    ast.String: _literal,
    ast.Bool: _literal,
    ast.Date: _literal,
    ast.AsOf: lambda c, e, policy: pl.lit(c.as_of),
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
    ast.And: lambda c, e, policy: reduce(lambda a, b: a & b,
                                         (c.cond(i, policy) for i in e.items)),
    ast.Or: lambda c, e, policy: reduce(lambda a, b: a | b,
                                        (c.cond(i, policy) for i in e.items)),
    ast.Not: lambda c, e, policy: ~c.cond(e.item, policy),
    ast.Arith: _arith,
    ast.Neg: _neg,
    ast.Call: _call,
    ast.Aggregate: lambda c, e, policy: c.related.exact(e, policy),
    ast.Tiers: _tiers,
    ast.Cases: _cases,
}


def compile_policies(policies: Iterable[Policy], *, catalog: EntityCatalog, sets: NamedSets,
                     as_of: dt.date, held: bool = False, library: Iterable[Policy] | None = None
                     ) -> dict[str, CompiledPolicy]:
    """Compile policies of one entity (that of ``catalog``) as of a date. Policies named by
    ``eligible()`` must be among ``policies`` or ``library`` (e.g. every policy, in effect or
    not); their truth is inlined, FALSE when not in effect on ``as_of`` (DESIGN §3: out of
    effect means not eligible). A policy's own effective period is not applied: check
    :meth:`Policy.in_effect`. With ``held``, the frame has the column
    :data:`profiles.catalog.HELD_FIELDS` and a field empty on a data defect is UNKNOWN."""
    by_id = {p.id: bind_policy(p, as_of) for p in policies}  # yearly fields: year columns
    refs = {p.id: bind_policy(p, as_of) for p in (library or ()) if p.entity == catalog.name}
    refs.update(by_id)
    catalog = for_policies(catalog, refs.values())  # declared conditions (rules.declared)
    wrong = [p for p in by_id.values() if p.entity != catalog.name]
    if wrong:
        raise PolicyError([Problem(file=p.source or p.id, line=1, column=1,
                                   code="entity-mismatch", message=f"期望与目录 "
                                   f"{catalog.name} 一同编译的政策适用于它，实际为 '{p.id}' "
                                   f"适用于 {p.entity}") for p in wrong])
    compiler = _Compiler(refs, catalog, sets, as_of, held=held)
    return {pid: compiler.compile(p) for pid, p in by_id.items()}
