"""Compile checked policies to durable_rules rules: three values without NOT.

Every three-valued *question* (a policy's eligibility, each leaf condition, each selector
of its amount: a ``when`` of cases, the threshold of a tier row) becomes two positive
formulas, TRUE and FALSE, built bottom-up with Kleene logic:
``T(a and b) = T(a) & T(b)``, ``F(a and b) = F(a) | F(b)``,
``not`` swaps T and F. At the atoms, a comparison's FALSE is the flipped comparison; both
fail on a missing field, which is exactly UNKNOWN. Each formula becomes one durable_rules
rule (guarded by ``kind = "profile"``, so no rule is a lone "field absent" test); the answer
is TRUE when the T rule fired, FALSE when the F rule fired, UNKNOWN when neither did.

List-type fields (catalog ``empty: not_listed``) follow :mod:`rules.semantics`: when one is
empty the atom is decided, so a test of its "not on the list" key (``n_<field>``, in the
fact when the field is empty and the entity is not held on it) joins the T or F formula.

Values that durable_rules cannot compute (arithmetic, ``years_since``...) become *terms*:
fact keys filled when the fact is built (:mod:`matcher.events.facts`); prefix matches of
named sets and regions use prefix keys (``f_industry_code__p2``).

>>> import datetime as dt
>>> from profiles.catalog import load_catalog
>>> from rules.loader import bundled_library
>>> lib = bundled_library()
>>> rs = compile_ruleset([lib["vat-small-scale-exemption"]], catalog=load_catalog().entity(
...     "enterprise"), sets=lib.sets, as_of=dt.date(2025, 6, 30))
>>> to_json(rs.question("elig|vat-small-scale-exemption").true)
{'$and': [{'f_vat_taxpayer_type': '小规模纳税人'}, {'$lte': {'f_monthly_sales': 100000.0}}]}
>>> to_json(rs.question("elig|vat-small-scale-exemption").false)
{'$or': [{'$neq': {'f_vat_taxpayer_type': '小规模纳税人'}}, {'$gt': {'f_monthly_sales': 100000.0}}]}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from matcher.events.errors import EventError
from matcher.events.formula import (
    ALWAYS,
    MAX_GATES,
    NEVER,
    Formula,
    Test,
    conj,
    disj,
    split,
    to_json,
)
from matcher.events.values import TARGET, encode, value_of
from profiles.catalog import EntityCatalog, load_catalog
from rules import ast
from rules.compile_related import AggregateColumns, aggregate_key, has_interval
from rules.declared import for_policies
from rules.errors import PolicyError, Problem, UnsupportedNode
from rules.ledger import ledger_column
from rules.model import ENTITY_LABELS, ConditionNode, Policy, condition_expr
from rules.possible import PossibleTest, possible_test
from rules.semantics import decided_value, is_listed_bool, list_fields
from rules.sets import NamedSet, NamedSets
from rules.years import bind_policy

GUARD: dict[str, Any] = {"kind": "profile"}
#: Rules hang from the guard in groups of this many, each group behind a key of its own
#: (``g0``, ``g1``... every fact carries them all): durable_rules evaluates a fact with a
#: stack of at most 64 alpha nodes passing at once (its ERR_MAX_STACK_SIZE, code 303), so 65
#: tests passing side by side under the guard alone would refuse the fact.
GROUP_SIZE = 32
#: Keys one fact may carry: durable_rules refuses a fact of 253 properties or more (its
#: ERR_EVENT_MAX_PROPERTIES, code 302); ``sid`` and ``kind`` are two of them.
FACT_KEYS = 250
_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}

Pair = tuple[Formula, Formula]  # (TRUE formula, FALSE formula)
UNKNOWN_PAIR: Pair = (NEVER, NEVER)
#: one bound of a comparison side: (True, fact key) or (False, constant value; None unknown)
Side = tuple[bool, Any]


_HOLDS: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b, "=": lambda a, b: a == b, "!=": lambda a, b: a != b,
}


def _side_test(op: str, a: Side, b: Side) -> Formula:
    """``a op b`` on two comparison sides (or interval bounds): a test on the fact key of
    the one against the other's constant or key; an absent key, a declared field (no key)
    or an unknown constant fails it (neither rule of a question firing is UNKNOWN)."""
    (a_key, a_val), (b_key, b_val) = a, b
    if not a_key and not b_key:
        if a_val is None or b_val is None:
            return NEVER
        return ALWAYS if _HOLDS[op](a_val, b_val) else NEVER
    if not a_key:
        return _side_test(_FLIP[op], b, a)
    if a_val is None:
        return NEVER
    if not b_key:
        return NEVER if b_val is None else _test(op, a_val, encode(b_val))
    if b_val is None:
        return NEVER
    # a comparison with an absent other key ({"$m": k}) passes in durable_rules, both
    # ways: the other key must be there for either to hold
    return conj([_test(op, a_val, {"$m": b_val}), Test({"$ex": {b_val: 1}})])


def _owner_fields(expr: ast.Expr) -> frozenset[str]:
    """The owner's fields an expression reads: not the members' fields an aggregate reads
    (those are in its interval columns)."""
    if isinstance(expr, ast.Aggregate):
        return frozenset()
    own = ast.fields_read(expr) if isinstance(expr, ast.FieldRef | ast.YearValue) else frozenset()
    return own.union(*(_owner_fields(c) for c in expr.children()))


@dataclass(frozen=True)
class Question:
    """A three-valued question and its TRUE / FALSE formulas."""

    id: str
    true: Formula
    false: Formula


@dataclass
class FactPlan:
    """The keys a fact must carry for the compiled rules: catalog fields, computed terms
    (key -> expression and the parameters it reads) and text keys (key -> base key and
    prefix length, None for the whole text)."""

    fields: set[str] = field(default_factory=set)
    terms: dict[str, tuple[ast.Expr, Mapping[str, Any]]] = field(default_factory=dict)
    texts: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    #: interval bounds of a value that reads an aggregate (``sum(...) / count(...)``):
    #: key -> expression, parameters and which bound ("lo" or "hi")
    bounds: dict[str, tuple[ast.Expr, Mapping[str, Any], str]] = field(default_factory=dict)
    #: each aggregate over related entities (by node and parameters) -> the row columns of
    #: its interval (the batch's :func:`rules.compile_related.attach_related` fills them)
    aggregates: dict[tuple[ast.Expr, int], tuple[str, str]] = field(default_factory=dict)
    groups: int = 0  # rule groups (:data:`GROUP_SIZE`): keys g0... of every fact
    #: list-type fields whose emptiness decides an atom (:func:`unlisted_key`)
    listed: set[str] = field(default_factory=set)
    _term_keys: dict[tuple[ast.Expr, int], str] = field(default_factory=dict)

    @property
    def keys(self) -> int:
        """The most keys a fact of this plan carries (a known value each, and the guard's)."""
        return (2 + self.groups + len(self.fields) + len(self.terms) + len(self.texts)
                + len(self.bounds) + len(self.listed))


class FactTooWideError(EventError):
    """The policies need more keys in one fact than durable_rules accepts."""

    def __init__(self, entity: str, plan: FactPlan, *, policies: int) -> None:
        self.keys = plan.keys
        who = ENTITY_LABELS.get(entity, entity)
        super().__init__(
            f"事件引擎的每个事实至多容纳 {FACT_KEYS} 个键，这 {policies} 项{who}政策需要 "
            f"{plan.keys} 个（字段 {len(plan.fields)}、计算项 {len(plan.terms)}、文本前缀 "
            f"{len(plan.texts)}、规则组 {plan.groups}）；请把政策分到几个事件引擎中运行")


def field_key(name: str) -> str:
    return f"f_{name}"


def unlisted_key(name: str) -> str:
    """The fact key of a list-type field that is empty: "not on the list", which decides
    the atoms that read it (:mod:`rules.semantics`). It is left out when the field is empty
    *because of a data defect* (the entity is held on it, :func:`rules.semantics.held_empty`):
    then the field is UNKNOWN, as in the batch."""
    return f"n_{name}"


def group_key(n: int) -> str:
    return f"g{n}"


@dataclass(frozen=True)
class CompiledRuleset:
    """What :func:`compile_ruleset` returns: the questions, the fact plan, and per policy the
    fields of each leaf condition (for the unknown-field lists)."""

    entity: str
    as_of: dt.date
    policies: dict[str, Policy]
    questions: tuple[Question, ...]
    plan: FactPlan
    leaf_fields: dict[str, tuple[tuple[str, frozenset[str]], ...]]
    catalog: EntityCatalog

    def question(self, qid: str) -> Question:
        return next(q for q in self.questions if q.id == qid)

    def rules(self) -> dict[str, dict[str, Any]]:
        """durable_rules definitions: ``<question>|T`` and ``<question>|F`` per question
        (a NEVER formula has no rule), and ``seen`` (the guard alone)."""
        out: dict[str, dict[str, Any]] = {"seen": {"all": [{"m": dict(GUARD)}]}}
        for name, formula, group in _grouped(self.questions):
            guard = [GUARD, {group_key(group): 1}]
            body = {"$and": guard if formula == ALWAYS else [*guard, to_json(formula)]}
            out[name] = {"all": [{"m": body}]}
        return out

    @cached_property
    def main_groups(self) -> tuple[int, ...]:
        """The rule groups of the eligibility and amount questions (a fact carrying only
        these keys fires no leaf rule)."""
        return tuple(sorted({g for name, _, g in _grouped(self.questions)
                             if not name.startswith("leaf|")}))

    @cached_property
    def leaf_groups(self) -> dict[str, tuple[int, ...]]:
        """Per policy, the rule groups of its leaf questions (only the unknown-field list of
        a policy left UNKNOWN reads them)."""
        out: dict[str, set[int]] = {}
        for name, _, group in _grouped(self.questions):
            if name.startswith("leaf|"):
                out.setdefault(name.split("|")[1], set()).add(group)
        return {pid: tuple(sorted(groups)) for pid, groups in out.items()}


#: marks the further rules of a side too large for one durable_rules pattern
#: (``elig|p|T``, ``elig|p|T#1``...: :func:`matcher.events.formula.split`)
PART_MARK = "#"


def _formulas(questions: Iterable[Question]) -> list[tuple[str, Formula]]:
    """Rule name and formula of every question's TRUE and FALSE side that can fire; a side
    with more ``$and`` / ``$or`` nodes than a pattern holds (beside the guard's) is split
    into several rules, ``<question>|T``, ``<question>|T#1``..., any of which firing
    answers it."""
    out = []
    for q in questions:
        for suffix, formula in (("T", q.true), ("F", q.false)):
            if formula == NEVER:
                continue
            parts = [formula] if formula == ALWAYS else split(formula, MAX_GATES - 1)
            out += [(f"{q.id}|{suffix}" + (f"{PART_MARK}{k}" if k else ""), part)
                    for k, part in enumerate(parts)]
    return out


def _grouped(questions: Iterable[Question]) -> list[tuple[str, Formula, int]]:
    """Every rule (:func:`_formulas`) with its group, at most :data:`GROUP_SIZE` rules a
    group: first the eligibility and amount questions, then the leaf questions, a policy's
    leaves starting a new group unless they fit in the current one. A fact then carries the
    keys of the groups it asks about: the leaves, ~60% of the rules that fire on a profile,
    are asked only of the policies left UNKNOWN."""
    formulas = _formulas(questions)
    main = [(n, f) for n, f in formulas if not n.startswith("leaf|")]
    out = [(name, formula, k // GROUP_SIZE) for k, (name, formula) in enumerate(main)]
    group, used, policy = -(-len(main) // GROUP_SIZE) - 1, GROUP_SIZE, None
    leaves = [(n, f) for n, f in formulas if n.startswith("leaf|")]
    sizes: dict[str, int] = {}
    for name, _ in leaves:
        pid = name.split("|")[1]
        sizes[pid] = sizes.get(pid, 0) + 1
    for name, formula in leaves:
        pid = name.split("|")[1]
        starts = pid != policy
        if used == GROUP_SIZE or (starts and used + sizes[pid] > GROUP_SIZE and used > 0):
            group, used = group + 1, 0
        policy = pid
        out.append((name, formula, group))
        used += 1
    return out


class _Compiler:
    def __init__(self, library: Mapping[str, Policy], catalog: EntityCatalog, sets: NamedSets,
                 as_of: dt.date, related: Mapping[str, AggregateColumns] | None = None
                 ) -> None:
        self.library = library
        self.related = related or {}
        self.catalog = catalog
        self.sets = sets
        self.as_of = as_of
        self.plan = FactPlan()
        self.declared = frozenset(f.name for f in catalog.fields if f.kind == "declared")
        self._trees: dict[str, Pair] = {}
        self._busy: set[str] = set()

    # ---- sides of a comparison --------------------------------------------------------

    def constant(self, expr: ast.Expr, policy: Policy) -> tuple[bool, Any]:
        """(True, value) when ``expr`` reads no field, else (False, None)."""
        for node in expr.walk():
            if isinstance(node, ast.FieldRef | ast.PolicyRef | ast.LedgerRef | ast.Aggregate):
                return False, None
            if isinstance(node, ast.ParamRef):
                value = policy.parameters[node.name].at(self.as_of)
                if value is not None and not self.constant(value, policy)[0]:
                    return False, None
        return True, value_of(expr, {}, params=policy.parameters, declared=self.declared,
                              as_of=self.as_of)

    def aggregate(self, expr: ast.Aggregate, policy: Policy) -> tuple[str, str]:
        """The row columns of an aggregate's interval, as the batch plan names them (its
        ``related`` columns, :attr:`matcher.evaluate.Plan.related`)."""
        ident = (expr, id(policy.parameters))
        if ident not in self.plan.aggregates:
            rel = load_catalog().relation(self.catalog.name, expr.relation)
            cols = None if rel is None else self.related.get(aggregate_key(rel, expr, policy))
            if cols is None:
                raise UnsupportedNode(TARGET, expr)
            self.plan.aggregates[ident] = (cols.lo, cols.hi)
            self.plan.fields.update((cols.lo, cols.hi))
        return self.plan.aggregates[ident]

    def reads(self, expr: ast.Expr, policy: Policy) -> None:
        """Put what a computed value reads in the fact: the owner's fields and the interval
        columns of its aggregates."""
        for node in ast.aggregates(expr):
            self.aggregate(node, policy)
        for name in _owner_fields(expr):
            if name not in self.declared:
                self.plan.fields.add(name)

    def key(self, expr: ast.Expr, policy: Policy) -> str | None:
        """The fact key holding a non-constant value; None for a declared field."""
        if isinstance(expr, ast.LedgerRef):  # the fact carries the ledger lookup's value
            name = ledger_column(expr)
            self.plan.fields.add(name)
            return field_key(name)
        if isinstance(expr, ast.FieldRef):
            if expr.name in self.declared:
                return None
            self.plan.fields.add(expr.name)
            return field_key(expr.name)
        self.reads(expr, policy)
        ident = (expr, id(policy.parameters))
        if ident not in self.plan._term_keys:
            k = f"t_{len(self.plan.terms)}"
            self.plan._term_keys[ident] = k
            self.plan.terms[k] = (expr, policy.parameters)
        return self.plan._term_keys[ident]

    def text_key(self, base: str, length: int | None) -> str:
        k = f"{base}__s" if length is None else f"{base}__p{length}"
        self.plan.texts[k] = (base, length)
        return k

    # ---- atoms ------------------------------------------------------------------------

    def compare_raw(self, op: str, left: ast.Expr, right: ast.Expr, policy: Policy) -> Pair:
        if has_interval(left) or has_interval(right):
            return self.compare_intervals(op, left, right, policy)
        a, b = self.side(left, policy), self.side(right, policy)
        return _side_test(op, a, b), _side_test(_NEGATE[op], a, b)

    def side(self, expr: ast.Expr, policy: Policy) -> Side:
        """A comparison side: its constant value, or the fact key holding it."""
        is_const, value = self.constant(expr, policy)
        return (False, value) if is_const else (True, self.key(expr, policy))

    def sides(self, expr: ast.Expr, policy: Policy) -> tuple[Side, Side]:
        """The (lo, hi) bounds of a comparison side: an aggregate's interval columns, the
        bound terms of a value that reads one, else the value itself twice."""
        if isinstance(expr, ast.Aggregate):
            lo, hi = self.aggregate(expr, policy)
            return (True, field_key(lo)), (True, field_key(hi))
        if has_interval(expr):
            self.reads(expr, policy)
            out = []
            for bound in ("lo", "hi"):
                k = f"b_{len(self.plan.bounds)}"
                self.plan.bounds[k] = (expr, policy.parameters, bound)
                out.append((True, k))
            return out[0], out[1]
        side = self.side(expr, policy)
        return side, side

    def compare_intervals(self, op: str, left: ast.Expr, right: ast.Expr,
                          policy: Policy) -> Pair:
        """A comparison whose side is a range (:func:`rules.intervals.compare`): decided when
        every value of both ranges decides it alike, on the bounds in the fact."""
        (al, ah), (bl, bh) = self.sides(left, policy), self.sides(right, policy)
        if op in ("=", "!="):
            equal = conj([_side_test("=", al, ah), _side_test("=", bl, bh),
                          _side_test("=", al, bl)])
            apart = disj([_side_test("<", ah, bl), _side_test("<", bh, al)])
            return (equal, apart) if op == "=" else (apart, equal)
        if op == "<":
            return _side_test("<", ah, bl), _side_test("<=", bh, al)
        if op == "<=":
            return _side_test("<=", ah, bl), _side_test("<", bh, al)
        if op == ">":
            return _side_test("<", bh, al), _side_test("<=", ah, bl)
        return _side_test("<=", bh, al), _side_test("<", ah, bl)

    def set_member(self, base: str, named: NamedSet) -> Pair:
        """``x in set`` with certain, 待核 and excluded codes: the longest listed code that
        matches decides (rules.sets); TRUE on a certain one, FALSE on an excluded one or on
        none, neither (UNKNOWN) on a 待核 one."""
        codes = named.statuses()
        if not codes:
            return NEVER, Test({"$ex": {base: 1}})

        def hit(code: str, *, equal: bool = True) -> Formula:
            key = self.text_key(base, len(code) if named.by_prefix else None)
            return Test({key: code}) if equal else Test({"$neq": {key: code}})

        def longest(code: str) -> Formula:
            longer = [c for c, _ in codes if len(c) > len(code) and c.startswith(code)]
            if not named.by_prefix or not longer:
                return hit(code)
            return conj([hit(code), *(hit(c, equal=False) for c in longer)])

        true = disj(longest(c) for c, s in codes if s is True)
        listed = [c for c, s in codes if s is not False]
        none = (conj(hit(c, equal=False) for c in listed) if listed
                else Test({"$ex": {base: 1}}))
        false = disj([none, *(longest(c) for c, s in codes if s is False)])
        return true, false

    def present(self, expr: ast.Expr, policy: Policy) -> Pair:
        """(NEVER, known) - the answer of ``x in []``: FALSE when x is known."""
        key = self.key(expr, policy)
        return (NEVER, NEVER) if key is None else (NEVER, Test({"$ex": {key: 1}}))

    def guarded(self, expr: ast.Expr, pair: Pair) -> Pair:
        """An atom with the rule every atom obeys: an absent list-type field decides it
        (:mod:`rules.semantics`), so its "not on the list" key joins its TRUE or FALSE
        formula (:func:`unlisted_key`)."""
        t, f = pair
        listed = list_fields(expr, self.catalog)
        if listed:
            absent = disj(Test({unlisted_key(n): 1}) for n in listed)
            self.plan.fields.update(listed)
            self.plan.listed.update(listed)
            if decided_value(expr):
                t = disj([t, absent])
            else:
                f = disj([f, absent])
        return t, f

    def by_mask(self, test: PossibleTest, t: Formula, f: Formula) -> Pair:
        """The exact test when the tag is in the fact, else its possible-set mask
        (:mod:`rules.possible`): equality tests on the mask, no bitwise operator."""
        self.plan.fields.add(test.column)
        absent = Test({"$nex": {field_key(test.field): 1}})
        key = field_key(test.column)
        within = disj(Test({key: m}) for m in test.within)
        outside = disj(Test({key: m}) for m in test.outside)
        if test.negated:
            within, outside = outside, within
        return disj([t, conj([absent, within])]), disj([f, conj([absent, outside])])

    # ---- conditions and trees ---------------------------------------------------------

    def cond(self, expr: ast.Expr, policy: Policy) -> Pair:
        """Any core node used as a condition: one rule per node type (:data:`RULES`)."""
        rule = RULES.get(type(expr))
        if rule is None:
            raise UnsupportedNode(TARGET, expr)
        pair: Pair = rule(self, expr, policy)
        return pair

    def tree(self, node: ConditionNode, policy: Policy) -> Pair:
        """A condition tree: the core expression it stands for (:func:`condition_expr`)."""
        return self.cond(condition_expr(node), policy)

    def policy_tree(self, policy: Policy) -> Pair:
        if policy.id not in self._trees:
            if policy.id in self._busy:
                raise PolicyError([Problem(file=policy.source or policy.id, line=0, column=0,
                                           code="reference-cycle",
                                           message="expected no reference cycle, got one "
                                           f"through '{policy.id}'")])
            self._busy.add(policy.id)
            self._trees[policy.id] = self.tree(policy.eligibility, policy)
            self._busy.discard(policy.id)
        return self._trees[policy.id]

    def questions(self, policy: Policy) -> list[Question]:
        pid = policy.id
        t, f = self.policy_tree(policy)
        out = [Question(f"elig|{pid}", t, f)]
        for leaf in policy.conditions:
            t, f = self.cond(leaf.expr, policy)
            out.append(Question(f"leaf|{pid}|{leaf.id}", t, f))
        for i, selector in enumerate(amount_selectors(policy)):
            t, f = self.cond(selector, policy)
            out.append(Question(selector_question(pid, i), t, f))
        return out

    def fields_of(self, expr_fields: frozenset[str], refs: Iterable[str]) -> frozenset[str]:
        # As the batch compiler does: a reference brings the referenced policy's fields.
        out = set(expr_fields)
        for pid in refs:
            other = self.library.get(pid)
            if other is not None:
                out |= self.fields_of(other.fields_read, other.references)
        return frozenset(out)



# ---- the rules: one per core node ---------------------------------------------------------

Rule = Callable[[_Compiler, Any, Policy], Any]
#: a container: the (TRUE, FALSE) formulas of ``item in container`` for the item expression
Membership = Callable[[ast.Expr], Pair]


def _atom(raw: Rule) -> Rule:
    def rule(c: _Compiler, expr: ast.Expr, policy: Policy) -> Pair:
        t, f = raw(c, expr, policy)
        test = possible_test(expr, c.catalog, policy.parameters, c.as_of)
        if test is not None:  # a null tag: decided by its still-possible values
            t, f = c.by_mask(test, t, f)
        return c.guarded(expr, (t, f))

    return rule


def _term(c: _Compiler, expr: ast.Expr, policy: Policy) -> Pair:
    """A value node used as a condition (a boolean parameter, literal or computed term):
    TRUE when its value is true, FALSE when false, neither when UNKNOWN."""
    is_const, value = c.constant(expr, policy)
    if is_const:
        return UNKNOWN_PAIR if value is None else (ALWAYS, NEVER) if value else (NEVER, ALWAYS)
    key = c.key(expr, policy)
    if key is None:
        return UNKNOWN_PAIR
    return Test({key: True}), Test({key: False})


def _param(c: _Compiler, expr: ast.ParamRef, policy: Policy) -> Any:
    """The parameter's value in force, compiled by its own rule (a dated list stays a
    container); UNKNOWN before its first date."""
    value = policy.parameters[expr.name].at(c.as_of)
    return UNKNOWN_PAIR if value is None else RULES[type(value)](c, value, policy)


def _field(c: _Compiler, expr: ast.FieldRef, policy: Policy) -> Pair:
    key = c.key(expr, policy)
    if key is None:
        return UNKNOWN_PAIR
    t: Formula = Test({key: True})
    f: Formula = Test({key: False})
    if is_listed_bool(expr, c.catalog):
        c.plan.listed.add(expr.name)
        return t, disj([f, Test({unlisted_key(expr.name): 1})])
    return t, f


def _ledger(c: _Compiler, expr: ast.LedgerRef, policy: Policy) -> Pair:
    name = field_key(ledger_column(expr))
    c.plan.fields.add(ledger_column(expr))
    return Test({name: True}), Test({name: False})


def _policy_ref(c: _Compiler, expr: ast.PolicyRef, policy: Policy) -> Pair:
    other = c.library.get(expr.policy_id)
    if other is None:
        raise PolicyError([Problem(file=policy.source or policy.id,
                                   line=expr.pos.line, column=expr.pos.column,
                                   code="unknown-policy",
                                   message="expected a policy of the library, got "
                                   f"'{expr.policy_id}'")])
    if not other.in_effect(c.as_of):
        return NEVER, ALWAYS
    return c.policy_tree(other)


def _and(c: _Compiler, expr: ast.And, policy: Policy) -> Pair:
    pairs = [c.cond(i, policy) for i in expr.items]
    return conj(p[0] for p in pairs), disj(p[1] for p in pairs)


def _or(c: _Compiler, expr: ast.Or, policy: Policy) -> Pair:
    pairs = [c.cond(i, policy) for i in expr.items]
    return disj(p[0] for p in pairs), conj(p[1] for p in pairs)


def _not(c: _Compiler, expr: ast.Not, policy: Policy) -> Pair:
    t, f = c.cond(expr.item, policy)
    return f, t


def _compare(c: _Compiler, expr: ast.Compare, policy: Policy) -> Pair:
    return c.compare_raw(expr.op, expr.left, expr.right, policy)


def _in(c: _Compiler, expr: ast.In, policy: Policy) -> Pair:
    membership: Membership | Pair = RULES[type(expr.container)](c, expr.container, policy)
    if not callable(membership):  # a dated list parameter with no value yet: UNKNOWN
        return UNKNOWN_PAIR
    t, f = membership(expr.item)
    return (f, t) if expr.negated else (t, f)


def _is_empty(c: _Compiler, expr: ast.IsEmpty, policy: Policy) -> Pair:
    is_const, value = c.constant(expr.item, policy)
    key = None if is_const else c.key(expr.item, policy)
    if key is None:
        empty: Pair = (ALWAYS, NEVER) if (value is None) else (NEVER, ALWAYS)
    else:
        empty = Test({"$nex": {key: 1}}), Test({"$ex": {key: 1}})
    return (empty[1], empty[0]) if expr.negated else empty


def _list(c: _Compiler, expr: ast.ListLit, policy: Policy) -> Membership:
    def member(item: ast.Expr) -> Pair:
        pairs = [c.compare_raw("=", item, v, policy) for v in expr.items]
        if not pairs:
            return c.present(item, policy)
        return disj(p[0] for p in pairs), conj(p[1] for p in pairs)

    return member


def _text_base(c: _Compiler, item: ast.Expr, policy: Policy) -> str | None:
    if c.constant(item, policy)[0]:
        raise UnsupportedNode(TARGET, item)  # a constant item: the checker refuses it
    return c.key(item, policy)


def _set(c: _Compiler, expr: ast.SetRef, policy: Policy) -> Membership:
    def member(item: ast.Expr) -> Pair:
        base = _text_base(c, item, policy)
        named = c.sets[expr.name].at(c.as_of)  # the edition in force (rules.sets)
        return UNKNOWN_PAIR if base is None else c.set_member(base, named)

    return member


def _region(c: _Compiler, expr: ast.RegionRef, policy: Policy) -> Membership:
    def member(item: ast.Expr) -> Pair:
        base = _text_base(c, item, policy)
        if base is None:
            return UNKNOWN_PAIR
        key = c.text_key(base, len(expr.prefix))
        return Test({key: expr.prefix}), Test({"$neq": {key: expr.prefix}})

    return member


def _branches(c: _Compiler, expr: ast.Tiers | ast.Cases, policy: Policy) -> Pair:
    """Refused: a tier table or cases is an amount, never a condition. Its selectors are
    questions of their own (:func:`amount_selectors`) and the engine reads their answers
    into the value rule (:data:`matcher.events.values.RULES`)."""
    raise UnsupportedNode(TARGET, expr)


def amount_selectors(policy: Policy) -> tuple[ast.Expr, ...]:
    """The conditions that pick a branch of the policy's amount, each a question
    (:func:`selector_question`) decided in durable_rules."""
    return () if policy.amount is None else ast.selectors(policy.amount.expr)


def selector_question(pid: str, i: int) -> str:
    """The id of the question of a policy's ``i``-th amount selector."""
    return f"branch|{pid}|{i}"


def _related(c: _Compiler, expr: ast.Aggregate, policy: Policy) -> Pair:
    """An aggregate used as a condition: its value when the interval is one point."""
    key = c.key(expr, policy)
    assert key is not None
    return Test({key: True}), Test({key: False})


#: The durable_rules form of every core node (:data:`rules.ast.CORE`) used as a condition:
#: its (TRUE, FALSE) formulas; :data:`rules.interpret.RULES` is the specification. Value
#: nodes are terms computed when the fact is built (:data:`matcher.events.values.RULES`);
#: a container compiles to the formulas of membership.
RULES: dict[type, Rule] = {
    ast.Number: _term,
    ast.String: _term,
    ast.Bool: _term,
    ast.Date: _term,
    ast.AsOf: _term,
    ast.FieldRef: _field,
    ast.ParamRef: _param,
    ast.SetRef: _set,
    ast.RegionRef: _region,
    ast.ListLit: _list,
    ast.PolicyRef: _policy_ref,
    ast.LedgerRef: _ledger,
    ast.Compare: _atom(_compare),
    ast.In: _atom(_in),
    ast.IsEmpty: _is_empty,
    ast.And: _and,
    ast.Or: _or,
    ast.Not: _not,
    ast.Arith: _term,
    ast.Neg: _term,
    ast.Call: _term,
    ast.Aggregate: _related,
    ast.Tiers: _branches,
    ast.Cases: _branches,
}


def _batch_columns(policies: list[Policy], catalog: EntityCatalog, sets: NamedSets,
                   as_of: dt.date) -> dict[str, AggregateColumns]:
    """The interval columns of the policies' aggregates as the batch plan names them."""
    from rules.compile_polars import compile_policies

    compiled = compile_policies(policies, catalog=catalog, sets=sets, as_of=as_of)
    return {k: v for cp in compiled.values() for k, v in cp.related.items()}


def _test(op: str, key: str, rhs: Any) -> Test:
    return Test({key: rhs}) if op == "=" else Test({_OPS[op]: {key: rhs}})


def compile_ruleset(policies: Iterable[Policy], *, catalog: EntityCatalog, sets: NamedSets,
                    as_of: dt.date, library: Mapping[str, Policy] | None = None,
                    related: Mapping[str, AggregateColumns] | None = None
                    ) -> CompiledRuleset:
    """Compile policies of one entity as of a date. ``library`` resolves ``eligible()``
    references (default: the policies themselves); a referenced policy not in effect on
    ``as_of`` is FALSE, as in the batch compiler. The policies' own effective periods are
    not applied here (see :func:`matcher.evaluate.policies_in_effect`)."""
    chosen = {p.id: bind_policy(p, as_of) for p in policies}  # yearly fields: year columns
    refs: dict[str, Policy] = ({pid: bind_policy(p, as_of) for pid, p in library.items()}
                               if library is not None else {})
    refs.update(chosen)
    catalog = for_policies(catalog, refs.values())  # declared conditions (rules.declared)
    if related is None and any(p.aggregates for p in refs.values()):
        related = _batch_columns([p for p in refs.values() if p.entity == catalog.name],
                                 catalog, sets, as_of)
    compiler = _Compiler(refs, catalog, sets, as_of, related)
    for policy in chosen.values():  # amounts read them too (a value computed per fact)
        for node in policy.aggregates:
            compiler.aggregate(node, policy)
    questions: list[Question] = []
    leaf_fields: dict[str, tuple[tuple[str, frozenset[str]], ...]] = {}
    for pid in sorted(chosen):
        policy = chosen[pid]
        questions += compiler.questions(policy)
        leaf_fields[pid] = tuple(
            (leaf.id, compiler.fields_of(ast.fields_read(leaf.expr),
                                         ast.policies_referenced(leaf.expr)))
            for leaf in policy.conditions)
    compiler.plan.groups = 1 + max((g for _, _, g in _grouped(questions)), default=-1)
    if compiler.plan.keys > FACT_KEYS:
        raise FactTooWideError(catalog.name, compiler.plan, policies=len(chosen))
    return CompiledRuleset(entity=catalog.name, as_of=as_of, policies=chosen,
                           questions=tuple(questions), plan=compiler.plan,
                           leaf_fields=leaf_fields, catalog=catalog)
