"""The typed AST of the policy language.

Nodes are small immutable dataclasses. Expression nodes carry the position where they were
written (``pos``) so the checker can report file, line and column. Every compiler (polars,
DuckDB SQL, durable_rules, the per-row reference interpreter) dispatches on these classes and
raises :class:`rules.errors.UnsupportedNode` for a node it cannot handle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, get_args

CompareOp = Literal["<", "<=", ">", ">=", "=", "!="]
ArithOp = Literal["+", "-", "*", "/"]
FuncName = Literal["min", "max", "abs", "year", "years_since", "months_since", "add_years",
                   "add_months"]


@dataclass(frozen=True)
class Pos:
    """Where a node was written: 1-based line and column in the policy file."""

    line: int
    column: int


NOPOS = Pos(0, 0)


@dataclass(frozen=True, kw_only=True)
class Node:
    pos: Pos = field(default=NOPOS, compare=False)

    def children(self) -> tuple[Expr, ...]:
        return ()

    def walk(self) -> Iterator[Expr]:
        """This node and every node below it, depth first."""
        yield self  # type: ignore[misc]
        for child in self.children():
            yield from child.walk()


# ---- leaves -----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Number(Node):
    """A number literal. ``unit`` is 'ratio' for percentages (``5.5%``), None otherwise;
    ``text`` keeps what was written (``300万``)."""

    value: float
    unit: str | None = None
    text: str = ""


@dataclass(frozen=True, kw_only=True)
class String(Node):
    value: str


@dataclass(frozen=True, kw_only=True)
class Bool(Node):
    value: bool


@dataclass(frozen=True, kw_only=True)
class Date(Node):
    value: dt.date


@dataclass(frozen=True, kw_only=True)
class AsOf(Node):
    """The evaluation date (``as_of`` / ``评估日``)."""


@dataclass(frozen=True, kw_only=True)
class FieldRef(Node):
    """A catalog field. ``name`` is the catalog name after resolution; ``written`` is what the
    author wrote (name or Chinese label)."""

    name: str
    written: str = ""


@dataclass(frozen=True, kw_only=True)
class ParamRef(Node):
    """A policy parameter; its value is chosen by the as-of date at compile time."""

    name: str


@dataclass(frozen=True, kw_only=True)
class SetRef(Node):
    """A named set kept as data in the library (e.g. 国家限制和禁止行业)."""

    name: str


@dataclass(frozen=True, kw_only=True)
class RegionRef(Node):
    """A region name resolved to its GB/T 2260 code prefix (e.g. 广州市 -> '4401')."""

    name: str
    prefix: str = ""


@dataclass(frozen=True, kw_only=True)
class PolicyRef(Node):
    """Whether the entity meets another policy's conditions: ``eligible("cit-small-low-profit")``.
    Three-valued: TRUE, FALSE or UNKNOWN like any condition."""

    policy_id: str


# ---- award ledger (rules.ledger) ----------------------------------------------------------

LedgerKind = Literal["received", "amount"]


@dataclass(frozen=True, kw_only=True)
class LedgerRef(Node):
    """What the award ledger knows about the entity and one policy: ``received("p")``
    (kind 'received': TRUE when an award of ``p`` is on record in the window, FALSE when none
    is and the ledger is complete for the window, else UNKNOWN) or
    ``received_amount("p", within = 3 years)`` (kind 'amount': the sum in yuan when the
    ledger is complete for the window, else UNKNOWN). ``within_months`` None is every award up
    to the as-of date. See :mod:`rules.ledger`."""

    kind: LedgerKind
    policy_id: str
    within_months: int | None = None
    #: set by the checker, never written: the lookup is made by the policy it names, so the
    #: system's own grant of the current benefit period is not a previous award (it is this
    #: very benefit; see rules.ledger)
    own: bool = False


# ---- composites -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class ListLit(Node):
    items: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.items


@dataclass(frozen=True, kw_only=True)
class Compare(Node):
    op: CompareOp
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, kw_only=True)
class In(Node):
    """``item in container`` / ``item not in container``; container is a ListLit, SetRef or
    RegionRef. Sets and regions of string codes match by prefix."""

    item: Expr
    container: Expr
    negated: bool = False

    def children(self) -> tuple[Expr, ...]:
        return (self.item, self.container)


@dataclass(frozen=True, kw_only=True)
class IsEmpty(Node):
    """``x is empty`` (negated=False) / ``x is known`` (negated=True). Never UNKNOWN itself."""

    item: Expr
    negated: bool = False

    def children(self) -> tuple[Expr, ...]:
        return (self.item,)


@dataclass(frozen=True, kw_only=True)
class And(Node):
    items: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.items


@dataclass(frozen=True, kw_only=True)
class Or(Node):
    items: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.items


@dataclass(frozen=True, kw_only=True)
class Not(Node):
    item: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.item,)


@dataclass(frozen=True, kw_only=True)
class Arith(Node):
    op: ArithOp
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, kw_only=True)
class Neg(Node):
    item: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.item,)


@dataclass(frozen=True, kw_only=True)
class Call(Node):
    """A built-in function: min, max, abs, year(date), years_since(date) and
    months_since(date) (full years / months from the date to the as-of date)."""

    func: FuncName
    args: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return self.args


# ---- related entities (households, employment links) -------------------------------------

AggFunc = Literal["count", "sum", "min", "max"]


@dataclass(frozen=True, kw_only=True)
class Aggregate(Node):
    """The core node over related entities: ``count``, ``sum``, ``min`` or ``max`` of the
    members of ``relation`` (``household.members``, ``hires``, ``spouse``) for which ``where``
    holds; ``value`` (sum/min/max) is read on each member. Inside ``value`` and ``where``,
    FieldRefs name the member's fields (link fields first, then person fields).

    Its value is an interval [known, possible] (:mod:`rules.intervals`): a member whose
    ``where`` or ``value`` is UNKNOWN widens it. Sugar the parser rewrites into it:
    ``spouse.age`` (navigation: ``max`` over a relation of at most one member),
    ``any(C where p)`` (``count(C where p) >= 1``), ``all(C where p)``
    (``count(C where not p) = 0``). ``written`` keeps what the author wrote, for messages."""

    func: AggFunc
    relation: str
    value: Expr | None = None
    where: Expr | None = None
    written: str = ""

    def children(self) -> tuple[Expr, ...]:
        return tuple(e for e in (self.value, self.where) if e is not None)

    def walk(self) -> Iterator[Expr]:
        """This node only: its children read another entity's fields, not the owner's."""
        yield self


# ---- amounts with branches (rules.amount_branches) ----------------------------------------


@dataclass(frozen=True, kw_only=True)
class Tiers(Node):
    """A tier table: the value of the last row whose threshold ``by >= bound`` is met
    (``bounds`` ascending, one per value). With UNKNOWN thresholds, the amount every row still
    possible gives, else UNKNOWN; below the first row UNKNOWN (:mod:`rules.amount_branches`).
    Written as ``tiers: {by: …, table: [[起点, 值], …]}`` (a dated table is rewritten into one
    row per band holding a dated parameter, :mod:`rules.dated_tables`)."""

    by: Expr
    bounds: tuple[float, ...]
    values: tuple[Expr, ...]

    def children(self) -> tuple[Expr, ...]:
        return (self.by, *self.values)

    def selectors(self) -> tuple[Expr, ...]:
        """The comparison each row's threshold is: ``by >= bound``."""
        return tuple(Compare(op=">=", left=self.by, right=Number(value=b), pos=self.pos)
                     for b in self.bounds)


@dataclass(frozen=True, kw_only=True)
class Cases(Node):
    """Cases: the value of the first ``when`` that is TRUE, else ``otherwise``. With UNKNOWN
    ``when``s, the amount every case still possible gives, else UNKNOWN; no case TRUE and no
    ``otherwise`` is UNKNOWN (:mod:`rules.amount_branches`). Written as
    ``cases: [{when: …, value: …}, …, {else: …}]``."""

    whens: tuple[Expr, ...]
    values: tuple[Expr, ...]  # one per ``when``
    otherwise: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        tail = () if self.otherwise is None else (self.otherwise,)
        return (*self.whens, *self.values, *tail)

    def selectors(self) -> tuple[Expr, ...]:
        """The conditions that pick a case, in order."""
        return self.whens

    @property
    def branches(self) -> tuple[Expr, ...]:
        """The value of each case, ``otherwise`` last."""
        return self.values if self.otherwise is None else (*self.values, self.otherwise)


def selectors(expr: Expr) -> tuple[Expr, ...]:
    """The conditions that pick a branch of the tier tables and cases in an expression, in
    document order: a target deciding conditions apart from values (the event engine)
    decides these, and the value rule of :class:`Tiers` / :class:`Cases` reads their truth."""
    return tuple(s for n in expr.walk() if isinstance(n, Tiers | Cases) for s in n.selectors())


# ---- multi-year data (rules.years) -----------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class YearValue(Node):
    """A yearly field's value in one accounting year: ``operating_revenue[year(as_of) - 1]``.
    ``field`` is the series' catalog name; ``year`` reads only the as-of date, numbers and
    parameters (the checker sees to it), so once the as-of date is known
    :func:`rules.years.bind_policy` replaces the node by the :class:`FieldRef` of that year's
    snapshot column, and every engine reads a plain column. A year not on record is UNKNOWN.
    Sugar the parser rewrites into it: ``sum(f, years = 3)``, ``avg``, ``min``, ``max`` over
    a window, ``growth(f)`` (see :mod:`rules.years`)."""

    field: str
    year: Expr
    written: str = ""

    def children(self) -> tuple[Expr, ...]:
        return (self.year,)


def year_values(expr: Expr) -> tuple[YearValue, ...]:
    """Yearly-field lookups in an expression, in document order."""
    return tuple(n for n in expr.walk() if isinstance(n, YearValue))


def aggregates(expr: Expr) -> tuple[Aggregate, ...]:
    """Aggregates in an expression, in document order."""
    return tuple(n for n in expr.walk() if isinstance(n, Aggregate))


def has_aggregate(expr: Expr) -> bool:
    """Whether the expression's value is a range (it reads an aggregate, rules.intervals)."""
    return any(isinstance(n, Aggregate) for n in expr.walk())


Expr = (
    Number | String | Bool | Date | AsOf | FieldRef | ParamRef | SetRef | RegionRef | PolicyRef
    | LedgerRef | ListLit | Compare | In | IsEmpty | And | Or | Not | Arith | Neg | Call
    | Aggregate | YearValue | Tiers | Cases
)

#: Nodes resolved once the as-of date is known, before any target compiles: a yearly lookup
#: becomes the FieldRef of its year column (:func:`rules.years.bind_policy`, called by every
#: target's entry point), so no target needs a rule of its own for it.
BOUND_AT_AS_OF: tuple[type[Node], ...] = (YearValue,)

#: The core node types: what the parser produces once sugar (ranges, ``any``/``all``,
#: navigation, Chinese phrasings, windows over years) is rewritten and the as-of date bound,
#: and what every target compiles, each with one dispatch table holding one rule per type
#: (docs/grammar.md, "The core").
CORE: tuple[type[Node], ...] = tuple(t for t in get_args(Expr) if t not in BOUND_AT_AS_OF)


def fields_read(expr: Expr) -> frozenset[str]:
    """Catalog fields an expression reads (a yearly field by its series name until
    :func:`rules.years.bind_policy` makes it a year column).

    >>> fields_read(Compare(op="<", left=FieldRef(name="employees"), right=Number(value=300)))
    frozenset({'employees'})
    """
    return frozenset(n.name if isinstance(n, FieldRef) else n.field for n in expr.walk()
                     if isinstance(n, FieldRef | YearValue))


def policies_referenced(expr: Expr) -> frozenset[str]:
    return frozenset(n.policy_id for n in expr.walk() if isinstance(n, PolicyRef))


def ledger_refs(expr: Expr) -> frozenset[LedgerRef]:
    """Award-ledger lookups an expression makes (positions ignored)."""
    return frozenset(n for n in expr.walk() if isinstance(n, LedgerRef))
