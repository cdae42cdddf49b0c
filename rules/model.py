"""The policy model: a parsed, checked policy document (one YAML file per policy).

A policy's eligibility is a tree of conditions. Leaves are :class:`Condition` (one expression
with its Chinese label and clause); inner nodes are :class:`AllOf`, :class:`AnyOf` and
:class:`NotOf`, combined with Kleene logic (DESIGN §3).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from rules.ast import (
    NOPOS,
    Aggregate,
    And,
    Cases,
    Expr,
    LedgerRef,
    Not,
    Or,
    Pos,
    Tiers,
    aggregates,
    fields_read,
    ledger_refs,
    policies_referenced,
)
from rules.triggers import Trigger

if TYPE_CHECKING:
    from rules.caps import CapGroup
    from rules.declared import DeclaredCondition

Entity = Literal["enterprise", "person"]
#: what each entity kind is called on pages, in messages and in the CLI
ENTITY_LABELS: dict[str, str] = {"enterprise": "企业", "person": "个人"}
Delivery = Literal["direct", "notice", "apply"]
Period = Literal["once", "month", "year"]
#: what an amount is: money paid (cash), tax not paid (tax_saving), an amount deducted from
#: taxable income (deduction, e.g. 个税专项附加扣除: not money received), or in kind
AmountKind = Literal["cash", "tax_saving", "deduction", "in_kind"]
AMOUNT_KINDS: tuple[AmountKind, ...] = ("cash", "tax_saving", "deduction", "in_kind")

DELIVERIES: tuple[Delivery, ...] = ("direct", "notice", "apply")
PERIODS: tuple[Period, ...] = ("once", "month", "year")


VERIFIED = "已核"
UNVERIFIED = "待核"
VERIFICATIONS = (VERIFIED, UNVERIFIED)


@dataclass(frozen=True, kw_only=True)
class Basis:
    """One document a policy encodes: its 文号 (None when the text has none), title, the
    clause, the URL of the source read and the clause text as read.

    >>> Basis(title="工伤保险条例", clause="第三十七条").cite
    '工伤保险条例 第三十七条'
    """

    document: str | None = None
    title: str | None = None
    clause: str | None = None
    url: str | None = None
    text: str | None = None

    @property
    def name(self) -> str:
        """The 文号, or the title of a document without one."""
        return self.document or self.title or ""

    @property
    def cite(self) -> str:
        """文号 (or title) and clause, as cited in explanations."""
        return " ".join(x for x in (self.name, self.clause) if x)


@dataclass(frozen=True, kw_only=True)
class Condition:
    """A leaf condition. ``id`` is stable within the policy (c1, c2, ... in document order
    unless the author named it) and is used in explanations and unknown-field lists."""

    id: str
    expr: Expr
    label: str
    clause: str | None = None  # the clause text this condition encodes, as read
    document: str | None = None  # which basis document (文号 or title); None: the first
    pos: Pos = field(default=NOPOS, compare=False)


@dataclass(frozen=True, kw_only=True)
class AllOf:
    children: tuple[ConditionNode, ...]
    label: str | None = None
    pos: Pos = field(default=NOPOS, compare=False)


@dataclass(frozen=True, kw_only=True)
class AnyOf:
    children: tuple[ConditionNode, ...]
    label: str | None = None
    pos: Pos = field(default=NOPOS, compare=False)


@dataclass(frozen=True, kw_only=True)
class NotOf:
    child: ConditionNode
    label: str | None = None
    pos: Pos = field(default=NOPOS, compare=False)


ConditionNode = Condition | AllOf | AnyOf | NotOf


def condition_expr(node: ConditionNode) -> Expr:
    """The core expression a condition tree stands for: ``all`` is ``and``, ``any`` is
    ``or``, ``not`` is ``not``, a leaf its condition. The tree is sugar: every target
    compiles this expression with its core dispatch table.

    >>> from rules.parser import parse_expr
    >>> tree = AllOf(children=(Condition(id="c1", expr=parse_expr("a > 1"), label="a"),
    ...                        NotOf(child=Condition(id="c2", expr=parse_expr("b"), label="b"))))
    >>> condition_expr(tree) == parse_expr("a > 1 and not b")
    True
    """
    return _TREE_EXPR[type(node)](node)


_TREE_EXPR: dict[type, Callable[[Any], Expr]] = {
    Condition: lambda n: n.expr,
    AllOf: lambda n: And(items=tuple(condition_expr(c) for c in n.children), pos=n.pos),
    AnyOf: lambda n: Or(items=tuple(condition_expr(c) for c in n.children), pos=n.pos),
    NotOf: lambda n: Not(item=condition_expr(n.child), pos=n.pos),
}


def leaves(node: ConditionNode) -> Iterator[Condition]:
    """Every leaf condition of a tree, in document order."""
    if isinstance(node, Condition):
        yield node
    elif isinstance(node, NotOf):
        yield from leaves(node.child)
    else:
        for child in node.children:
            yield from leaves(child)


@dataclass(frozen=True, kw_only=True)
class DatedValue:
    """A parameter value in force from ``since`` (inclusive) until the next one."""

    since: dt.date
    value: Expr


@dataclass(frozen=True, kw_only=True)
class Parameter:
    name: str
    values: tuple[DatedValue, ...]  # sorted by ``since``
    label: str | None = None

    def at(self, when: dt.date) -> Expr | None:
        """The value in force on ``when``, or None before the first date."""
        current: Expr | None = None
        for dated in self.values:
            if dated.since <= when:
                current = dated.value
        return current


@dataclass(frozen=True, kw_only=True)
class FormulaAmount:
    expr: Expr


@dataclass(frozen=True, kw_only=True)
class Tier:
    """Rows of a tier table: applies when the ``by`` value is >= ``from_`` (and below the next
    row's ``from_``)."""

    from_: float
    value: Expr


@dataclass(frozen=True, kw_only=True)
class TierAmount:
    by: Expr
    tiers: tuple[Tier, ...]  # ascending ``from_``


@dataclass(frozen=True, kw_only=True)
class Case:
    """One branch of a case amount; ``when`` None is the ``else`` branch."""

    when: Expr | None
    value: Expr


@dataclass(frozen=True, kw_only=True)
class CaseAmount:
    """First branch whose ``when`` is TRUE; with UNKNOWN ``when``s, the amount every branch
    still possible gives, else unknown (:mod:`rules.amount_branches`); no branch TRUE and
    no else gives an unknown amount."""

    cases: tuple[Case, ...]


AmountRule = FormulaAmount | TierAmount | CaseAmount


def amount_expr(rule: AmountRule) -> Expr:
    """The core expression an amount rule stands for: a formula is its expression, a tier
    table a :class:`rules.ast.Tiers`, cases a :class:`rules.ast.Cases`. The written shapes are
    sugar: every target compiles this expression with its core dispatch table.

    >>> from rules.parser import parse_expr
    >>> from rules.printer import to_source
    >>> e = amount_expr(TierAmount(by=parse_expr("employees"), tiers=(
    ...     Tier(from_=0, value=parse_expr("1")), Tier(from_=10, value=parse_expr("2")))))
    >>> type(e).__name__, [to_source(s) for s in e.selectors()]
    ('Tiers', ['employees >= 0', 'employees >= 10'])
    """
    return _AMOUNT_EXPR[type(rule)](rule)


_AMOUNT_EXPR: dict[type, Callable[[Any], Expr]] = {
    FormulaAmount: lambda r: r.expr,
    TierAmount: lambda r: Tiers(by=r.by, bounds=tuple(t.from_ for t in r.tiers),
                                values=tuple(t.value for t in r.tiers)),
    CaseAmount: lambda r: Cases(
        whens=tuple(c.when for c in r.cases if c.when is not None),
        values=tuple(c.value for c in r.cases if c.when is not None),
        otherwise=next((c.value for c in r.cases if c.when is None), None)),
}


@dataclass(frozen=True, kw_only=True)
class Amount:
    rule: AmountRule
    period: Period
    label: str | None = None
    kind: AmountKind = "cash"

    @property
    def expr(self) -> Expr:
        """The core expression of the amount (:func:`amount_expr`)."""
        return amount_expr(self.rule)


@dataclass(frozen=True, kw_only=True)
class Exclusivity:
    """同一事项不得重复享受: per entity, only the largest amount in a group stays eligible
    (ties: lower ``priority`` number first, then policy id)."""

    group: str
    priority: int = 0


@dataclass(frozen=True, kw_only=True)
class BudgetOrder:
    field: str
    descending: bool = False


@dataclass(frozen=True, kw_only=True)
class Budget:
    """A cap on the policy's total amount. ``allocation`` is 'ordered' (by ``order``, then
    entity id) or 'pro_rata'."""

    total: float
    allocation: Literal["ordered", "pro_rata"] = "ordered"
    order: tuple[BudgetOrder, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Policy:
    id: str
    title: str
    entity: Entity
    basis: Basis
    effective_from: dt.date
    effective_to: dt.date | None
    delivery: Delivery
    eligibility: ConditionNode
    parameters: dict[str, Parameter] = field(default_factory=dict)
    amount: Amount | None = None
    exclusivity: Exclusivity | None = None
    budget: Budget | None = None
    description: str | None = None
    version: str = ""  # sha256 of the canonical document text, first 16 hex digits
    source: str | None = None  # file path it was loaded from
    trigger: Trigger | None = None  # event-triggered policies only (rules.triggers)
    cap: CapGroup | None = None  # a limit shared with other policies (rules.caps)
    further_basis: tuple[Basis, ...] = ()  # documents cited after the first
    verified: bool = True  # False: a draft marked 待核, never published or matched
    #: facts only the applicant can attest (rules.declared): UNKNOWN until declared
    declared: tuple[DeclaredCondition, ...] = ()

    @property
    def amount_kind(self) -> AmountKind:
        """What the amount is (``cash`` for a policy without an amount): the run stores it on
        each entitlement, and every page and message words the amount by it."""
        return "cash" if self.amount is None else self.amount.kind

    @property
    def bases(self) -> tuple[Basis, ...]:
        """Every document the policy cites, the first one first."""
        return (self.basis, *self.further_basis)

    @property
    def verification(self) -> str:
        return VERIFIED if self.verified else UNVERIFIED

    def basis_of(self, condition: Condition) -> Basis:
        """The document ``condition`` cites: the one it names, else the first."""
        for basis in self.bases:
            if condition.document is not None and condition.document in (
                    basis.document, basis.title):
                return basis
        return self.basis

    def in_effect(self, when: dt.date) -> bool:
        return self.effective_from <= when and (
            self.effective_to is None or when <= self.effective_to
        )

    @property
    def conditions(self) -> tuple[Condition, ...]:
        return tuple(leaves(self.eligibility))

    @property
    def fields_read(self) -> frozenset[str]:
        """Catalog fields read by the eligibility and the amount."""
        out: set[str] = set()
        for leaf in self.conditions:
            out |= fields_read(leaf.expr)
        for expr in amount_exprs(self.amount):
            out |= fields_read(expr)
        return frozenset(out)

    @property
    def ledger_lookups(self) -> frozenset[LedgerRef]:
        """Award-ledger lookups of the eligibility and the amount (not of referenced
        policies)."""
        out: set[LedgerRef] = set()
        for leaf in self.conditions:
            out |= ledger_refs(leaf.expr)
        for expr in amount_exprs(self.amount):
            out |= ledger_refs(expr)
        return frozenset(out)

    @property
    def aggregates(self) -> tuple[Aggregate, ...]:
        """Aggregates over related entities in the eligibility and the amount."""
        exprs = [leaf.expr for leaf in self.conditions] + list(amount_exprs(self.amount))
        return tuple(a for e in exprs for a in aggregates(e))

    @property
    def references(self) -> frozenset[str]:
        out: set[str] = set()
        for leaf in self.conditions:
            out |= policies_referenced(leaf.expr)
        return frozenset(out)


def with_references(policies: Iterable[Policy], ids: Iterable[str]) -> list[Policy]:
    """The policies named by ``ids`` and those their ``eligible()`` conditions read,
    transitively (in the order of ``policies``): what deciding or explaining them needs."""
    by_id = {p.id: p for p in policies}
    wanted: set[str] = set()
    todo = list(ids)
    while todo:
        pid = todo.pop()
        if pid in by_id and pid not in wanted:
            wanted.add(pid)
            todo.extend(by_id[pid].references)
    return [p for p in by_id.values() if p.id in wanted]


def amount_exprs(amount: Amount | None) -> tuple[Expr, ...]:
    """The amount's core expression (none without an amount): walking it reaches every
    expression inside the amount rule."""
    return () if amount is None else (amount.expr,)
