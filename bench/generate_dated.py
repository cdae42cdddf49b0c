"""Seeded generators of the dated and uncertain constructs for the bench and the property
tests: dated parameters (scalar thresholds and lists whose value changes by date, with a
first date some as-of dates precede), dated tier tables (:mod:`rules.dated_tables`), named
sets with editions (a gap between two editions, when no list is in force) and sets with
待核 and excluded members (:mod:`rules.sets`), and declared conditions
(:mod:`rules.declared`), which no source holds.

Each ``*_leaf`` draws one condition and returns the parameters and declared conditions it
needs, so the policy generator (:func:`bench.generate.generate_policies`) can attach them.

>>> import numpy as np
>>> rng = np.random.default_rng(3)
>>> leaf = dated_leaf(rng)
>>> sorted(leaf.parameters) and all(p.values for p in leaf.parameters.values())
True
>>> sorted(DATED_SETS) == ["分版负面清单", "待核信用等级", "待核地区", "待核行业目录"]
True
>>> DATED_SETS["分版负面清单"].at(dt.date(2026, 1, 1)).items  # the gap between editions
()
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np

from rules import ast as A
from rules.dated_tables import split_table
from rules.declared import DeclaredCondition
from rules.model import Amount, DatedValue, Parameter, Tier, TierAmount
from rules.sets import Edition, NamedSet

Rng = np.random.Generator

#: Sets with editions and with uncertain members, named as the generated conditions use them
#: (synthetic lists: the codes are chosen so that generated profiles hit every status often).
DATED_SETS: dict[str, NamedSet] = {
    # longest code decides: 13xx 待核, 15xx excluded, other 1xxx listed; 271x excluded from
    # the listed 27; other 2xxx 待核
    "待核行业目录": NamedSet(name="待核行业目录", label="待核行业目录", kind="industry_prefix",
                         items=("1", "27"), pending=("13", "2"), excluded=("15", "271")),
    # a region list under check: Beijing listed, 东城区 carved out, Guangzhou 待核
    "待核地区": NamedSet(name="待核地区", label="待核地区", kind="region_prefix",
                     items=("11",), pending=("4401",), excluded=("110101",)),
    "待核信用等级": NamedSet(name="待核信用等级", label="待核信用等级", kind="values",
                         items=("A",), pending=("B",), excluded=("M",)),
    # three editions; none is in force from 2026-01-01 to 2026-02-28 (the gap)
    "分版负面清单": NamedSet(name="分版负面清单", label="分版负面清单", kind="industry_prefix",
                         items=(), editions=(
                             Edition(since=dt.date(2023, 1, 1), until=dt.date(2023, 12, 31),
                                     items=("1", "6"), pending=("7",)),
                             Edition(since=dt.date(2024, 1, 1), until=dt.date(2025, 12, 31),
                                     items=("16", "6"), pending=("70",), excluded=("61",)),
                             Edition(since=dt.date(2026, 3, 1), until=None, items=("5",)))),
}


@dataclass(frozen=True)
class Leaf:
    """A generated condition with the parameters and declared conditions it reads."""

    expr: A.Expr
    parameters: dict[str, Parameter] = field(default_factory=dict)
    declared: tuple[DeclaredCondition, ...] = ()


def _num(value: float) -> A.Number:
    return A.Number(value=float(value))


def _field(name: str) -> A.FieldRef:
    return A.FieldRef(name=name, written=name)


def _date(rng: Rng, lo: int, hi: int) -> dt.date:
    return dt.date(int(rng.integers(lo, hi + 1)), int(rng.integers(1, 13)), 1)


def _dated(name: str, values: list[tuple[dt.date, A.Expr]]) -> Parameter:
    return Parameter(name=name, values=tuple(DatedValue(since=d, value=v) for d, v in values))


def dated_leaf(rng: Rng) -> Leaf:
    """A condition on a dated parameter: ``year(little_giant_on) in recognised_in`` (a batch
    window), a rating in a dated list of strings, or a headcount under a dated threshold.
    The first date is drawn between 2023 and 2025, so some as-of dates precede it (the
    parameter has no value yet: UNKNOWN)."""
    first, second = sorted((_date(rng, 2023, 2025), _date(rng, 2025, 2026)))
    if second <= first:
        second = first + dt.timedelta(days=200)
    choice = int(rng.integers(0, 3))
    if choice == 0:
        years = [A.ListLit(items=tuple(_num(y) for y in range(start, start + 2)))
                 for start in (first.year - 1, second.year - 1)]
        param = _dated("recognised_in", [(first, years[0]), (second, years[1])])
        item: A.Expr = A.Call(func="year", args=(_field("little_giant_on"),))
    elif choice == 1:
        ratings = ("A", "B", "M", "C", "D")
        lists = [A.ListLit(items=tuple(A.String(value=r) for r in ratings[:k]))
                 for k in (int(rng.integers(1, 4)), int(rng.integers(1, 3)))]
        param = _dated("ratings", [(first, lists[0]), (second, lists[1])])
        item = _field("tax_credit_rating")
    else:
        caps = [_num(int(rng.integers(10, 400))) for _ in range(2)]
        param = _dated("staff_cap", [(first, caps[0]), (second, caps[1])])
        op: A.CompareOp = ("<", "<=", ">=")[int(rng.integers(0, 3))]
        return Leaf(A.Compare(op=op, left=_field("employees"), right=A.ParamRef(
            name="staff_cap")), {"staff_cap": param})
    ref = A.ParamRef(name=param.name)
    return Leaf(A.In(item=item, container=ref, negated=bool(rng.random() < 0.3)),
                {param.name: param})


def uncertain_leaf(rng: Rng) -> Leaf:
    """``in`` a set with 待核 and excluded members, or with editions (one in force, or none
    in the gap between two)."""
    choice = int(rng.integers(0, 3))
    negated = bool(rng.random() < 0.4)
    if choice == 1:
        return Leaf(A.In(item=_field("tax_credit_rating"), container=A.SetRef(
            name="待核信用等级"), negated=negated))
    name = "待核行业目录" if choice == 0 else "分版负面清单"
    return Leaf(A.In(item=_field("industry_code"), container=A.SetRef(name=name),
                     negated=negated))


#: Declared conditions the generated policies use (facts only the applicant can attest).
DECLARED: tuple[DeclaredCondition, ...] = (
    DeclaredCondition(name="no_major_accident", label="近一年无重大安全事故", type="bool",
                      clause="近一年内未发生重大安全事故"),
    DeclaredCondition(name="has_core_ip", label="拥有核心自主知识产权", type="bool"),
    DeclaredCondition(name="declared_rd_staff", label="申报研发人员数", type="int",
                      unit="person"),
)


def declared_leaf(rng: Rng) -> Leaf:
    """A condition on a declared fact: the bare fact, its negation or a threshold on a
    declared number (always UNKNOWN until the applicant declares it)."""
    d = DECLARED[int(rng.integers(0, len(DECLARED)))]
    expr: A.Expr
    if d.type == "int":
        expr = A.Compare(op=">=", left=_field(d.name), right=_num(int(rng.integers(1, 20))))
    elif rng.random() < 0.25:
        expr = A.Not(item=_field(d.name))
    else:
        expr = _field(d.name)
    return Leaf(expr, declared=(d,))


def dated_tier_amount(rng: Rng) -> tuple[Amount, dict[str, Parameter]]:
    """A tier amount by headcount whose table changes by date (``table: allowance``),
    rewritten as the loader rewrites it: one tier per band whose value is a dated
    parameter (``allowance[1]`` ...)."""
    bands = (1, int(rng.integers(10, 50)), int(rng.integers(100, 400)))

    def table(scale: float) -> A.ListLit:
        return A.ListLit(items=tuple(A.ListLit(items=(_num(b), _num(round(a * scale))))
                                     for b, a in zip(bands, (1000, 5000, 8000), strict=True)))

    first, second = _date(rng, 2023, 2025), _date(rng, 2026, 2026)
    allowance = _dated("allowance", [(first, table(1.0)),
                                     (second, table(float(rng.uniform(1.0, 1.3))))])
    starts, cells = split_table(allowance)
    params = {allowance.name: allowance, **{c.name: c for c in cells}}
    tiers = tuple(Tier(from_=s, value=A.ParamRef(name=c.name))
                  for s, c in zip(starts, cells, strict=True))
    amount = Amount(rule=TierAmount(by=_field("employees"), tiers=tiers),
                    period=("month", "year")[int(rng.integers(0, 2))])
    return amount, params


#: Declared conditions of the generated person policies.
PERSON_DECLARED = DeclaredCondition(name="needs_long_term_care", label="需要长期照护",
                                    type="bool")


def person_leaf(rng: Rng) -> Leaf:
    """A person condition on a dated age threshold, on a region list under check (待核 and
    excluded codes) or on a declared fact."""
    choice = int(rng.integers(0, 3))
    if choice == 0:
        first, second = sorted((_date(rng, 2023, 2025), _date(rng, 2025, 2026)))
        ages = _dated("min_age", [(first, _num(int(rng.integers(50, 70)))),
                                  (second + dt.timedelta(days=1), _num(int(rng.integers(50, 80))))])
        return Leaf(A.Compare(op=">=", left=_field("age"), right=A.ParamRef(name="min_age")),
                    {"min_age": ages})
    if choice == 1:
        return Leaf(A.In(item=_field("hukou_district"), container=A.SetRef(name="待核地区"),
                         negated=bool(rng.random() < 0.3)))
    return Leaf(_field(PERSON_DECLARED.name), declared=(PERSON_DECLARED,))
