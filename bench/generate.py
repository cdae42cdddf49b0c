"""Seeded generators of benchmark inputs: random enterprise policies and profile frames.

Policies are :class:`rules.model.Policy` objects built directly from AST nodes (no parser),
over the enterprise catalog fields with their real types and units. Profiles are polars
frames with the catalog dtypes, 3-5% missing values in every ordinary column, list-type
fields (``empty: not_listed``) mostly empty as in real source lists, and the derived columns
the policies read (computed as of the evaluation date).

>>> import datetime as dt
>>> ps = generate_policies(3, seed=1)
>>> [p.id for p in ps]
['bench-0000', 'bench-0001', 'bench-0002']
>>> 3 <= len(ps[0].conditions) <= 8
True
>>> frame = generate_profiles(100, seed=1, as_of=dt.date(2025, 6, 30))
>>> frame.height, frame.schema["employees"], frame.schema["founded_on"]
(100, Int64, Date)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import polars as pl

from bench.generate_dated import (
    DATED_SETS,
    Leaf,
    dated_leaf,
    dated_tier_amount,
    declared_leaf,
    person_leaf,
    uncertain_leaf,
)
from bench.generate_yearly import yearly_amount_expr, yearly_leaf
from profiles.catalog import OWNER_COLUMN, EntityCatalog, load_catalog
from profiles.possible import MASK_DTYPE, possible_column
from profiles.regions import load_regions
from profiles.relations import RelatedFrame
from profiles.sizeclass import SIZE_CLASSES
from profiles.synth.common import SYNTH_DISTRICTS
from rules import ast as A
from rules.caps import CapGroup
from rules.declared import DeclaredCondition
from rules.ledger import AwardLedger
from rules.model import (
    DELIVERIES,
    PERIODS,
    Amount,
    AmountRule,
    Basis,
    Case,
    CaseAmount,
    Condition,
    ConditionNode,
    DatedValue,
    FormulaAmount,
    NotOf,
    Parameter,
    Policy,
    Tier,
    TierAmount,
)
from rules.model import AllOf as AllOfNode
from rules.model import AnyOf as AnyOfNode
from rules.sets import NamedSet, NamedSets

AS_OF = dt.date(2025, 6, 30)

#: Named industry sets the generated policies use, GB/T 4754-2017 division prefixes (the
#: same names and items as the bundled library's sets, kept here so the bench needs no
#: library on disk).
INDUSTRY_SETS: dict[str, tuple[str, ...]] = {
    "国家限制和禁止行业": ("06", "07", "08", "09", "10", "16", "25", "26"),
    "加计扣除负面清单行业": ("16", "61", "62", "51", "52", "70", "71", "72", "90"),
}

DTYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "date": pl.Date(),
    "bool": pl.Boolean(),
}

Rng = np.random.Generator


@dataclass(frozen=True)
class NumericSpec:
    """How values of a numeric field are drawn: ``draw(rng, n)`` gives n values."""

    draw: Callable[[Rng, int], np.ndarray]
    unit: str | None


def _lognormal(mean: float, sigma: float, *, zero_share: float = 0.0, integer: bool = False
               ) -> Callable[[Rng, int], np.ndarray]:
    def draw(rng: Rng, n: int) -> np.ndarray:
        out = rng.lognormal(mean, sigma, n)
        if zero_share:
            out[rng.random(n) < zero_share] = 0.0
        return np.floor(out).astype(np.int64) if integer else np.round(out, 2)
    return draw


def _uniform_int(lo: int, hi: int) -> Callable[[Rng, int], np.ndarray]:
    return lambda rng, n: rng.integers(lo, hi + 1, n, dtype=np.int64)


def _taxable(rng: Rng, n: int) -> np.ndarray:
    out = rng.lognormal(13.0, 1.8, n)
    out[rng.random(n) < 0.15] *= -0.3
    return np.round(out, 2)


NUMERIC: dict[str, NumericSpec] = {
    "employees": NumericSpec(_lognormal(3.0, 1.3, integer=True), "person"),
    "operating_revenue": NumericSpec(_lognormal(15.5, 1.8), "yuan"),
    "total_assets": NumericSpec(_lognormal(16.0, 1.8), "yuan"),
    "annual_taxable_income": NumericSpec(_taxable, "yuan"),
    "monthly_sales": NumericSpec(_lognormal(11.5, 1.5), "yuan"),
    "rd_expense": NumericSpec(_lognormal(12.5, 2.0, zero_share=0.4), "yuan"),
    "tech_staff": NumericSpec(_lognormal(1.5, 1.2, integer=True, zero_share=0.3), "person"),
    "high_tech_revenue": NumericSpec(_lognormal(14.0, 2.2, zero_share=0.5), "yuan"),
    "insured_employees": NumericSpec(_lognormal(2.8, 1.3, integer=True, zero_share=0.05),
                                     "person"),
    "ui_paid_months": NumericSpec(_uniform_int(0, 60), "month"),
    "ui_paid_last_year": NumericSpec(_lognormal(9.5, 1.5), "yuan"),
    "layoffs_last_year": NumericSpec(_lognormal(0.5, 1.2, integer=True, zero_share=0.6),
                                     "person"),
    "graduate_hires": NumericSpec(_lognormal(0.3, 1.0, integer=True, zero_share=0.7),
                                  "person"),
}

STRING_VALUES: dict[str, tuple[tuple[str, ...], tuple[float, ...]]] = {
    "status": (("存续", "吊销", "注销"), (0.9, 0.05, 0.05)),
    "vat_taxpayer_type": (("一般纳税人", "小规模纳税人"), (0.35, 0.65)),
    "tax_credit_rating": (("A", "B", "M", "C", "D"), (0.3, 0.35, 0.2, 0.1, 0.05)),
    "size_class": (("大型", "中型", "小型", "微型"), (0.02, 0.08, 0.3, 0.6)),
}

#: Share of entities on each source list (the rest are empty = not listed).
LISTED_SHARE = {"high_tech_cert_on": 0.12, "little_giant_on": 0.03, "serious_dishonesty": 0.02}


def _with_nulls(values: np.ndarray, rng: Rng, dtype: pl.DataType, name: str) -> pl.Series:
    rate = rng.uniform(0.03, 0.05)
    mask = rng.random(values.shape[0]) < rate
    return pl.Series(name, values).cast(dtype).scatter(np.flatnonzero(mask), None)


def _days(lo: dt.date, hi: dt.date, rng: Rng, n: int) -> np.ndarray:
    start, end = lo.toordinal(), hi.toordinal()
    return (rng.integers(start, end + 1, n) - dt.date(1970, 1, 1).toordinal()).astype("int32")


def generate_profiles(n: int, *, seed: int, as_of: dt.date = AS_OF) -> pl.DataFrame:
    """``n`` enterprise profiles with the catalog dtypes, 3-5% missing values per ordinary
    column, list-type fields mostly empty, and the derived tags as of ``as_of``."""
    rng = np.random.default_rng(seed)
    regions = load_regions()
    districts = np.array(sorted(SYNTH_DISTRICTS))
    cols: dict[str, pl.Series] = {
        "uscc": pl.Series("uscc", np.arange(n)).cast(pl.String).str.zfill(18),
    }
    cols["district"] = _with_nulls(districts[rng.integers(0, len(districts), n)], rng,
                                   pl.String(), "district")
    divisions = rng.integers(1, 97, n)
    codes = np.char.add(np.char.zfill(divisions.astype(str), 2),
                        np.char.zfill(rng.integers(0, 100, n).astype(str), 2))
    cols["industry_code"] = _with_nulls(codes, rng, pl.String(), "industry_code")
    cols["founded_on"] = _with_nulls(_days(dt.date(1985, 1, 1), as_of, rng, n), rng,
                                     pl.Date(), "founded_on")
    for name, (values, weights) in STRING_VALUES.items():
        if name != "size_class":
            picked = np.array(values)[rng.choice(len(values), n, p=weights)]
            cols[name] = _with_nulls(picked, rng, pl.String(), name)
    for name, spec in NUMERIC.items():
        dtype = DTYPES["int" if name in _INT_FIELDS else "float"]
        cols[name] = _with_nulls(spec.draw(rng, n), rng, dtype, name)
    for name, lo in (("high_tech_cert_on", dt.date(2014, 1, 1)),
                     ("little_giant_on", dt.date(2019, 1, 1))):
        listed = rng.random(n) < LISTED_SHARE[name]
        days = pl.Series(name, _days(lo, as_of, rng, n)).cast(pl.Date)
        cols[name] = days.scatter(np.flatnonzero(~listed), None)
    dishonest = rng.random(n) < LISTED_SHARE["serious_dishonesty"]
    cols["serious_dishonesty"] = pl.Series("serious_dishonesty", dishonest).scatter(
        np.flatnonzero(~dishonest), None)
    frame = pl.DataFrame(list(cols.values()))
    return _derive(frame, rng=rng, as_of=as_of, regions_by_code={
        code: regions.name_of(code) or "" for code in districts})


_INT_FIELDS = frozenset(
    f.name for f in load_catalog().entity("enterprise").fields if f.type == "int")


def _derive(frame: pl.DataFrame, *, rng: Rng, as_of: dt.date,
            regions_by_code: dict[str, str]) -> pl.DataFrame:
    """Derived tags as of ``as_of``: null when an input is missing (a simplified size class:
    by headcount only, which is enough for a benchmark)."""
    founded = pl.col("founded_on")
    before_birthday = (founded.dt.month() > as_of.month) | (
        (founded.dt.month() == as_of.month) & (founded.dt.day() > as_of.day))
    emp = pl.col("employees")
    # the classes still possible (profiles.possible): the class's own bit when it is known,
    # else a random non-empty set (as revenue or assets may leave several open)
    open_sets = pl.Series(possible_column("size_class"), rng.integers(1, 16, frame.height),
                          dtype=MASK_DTYPE)
    classes = {c: 1 << i for i, c in enumerate(SIZE_CLASSES)}
    out = frame.with_columns(
        years_since_founding=(as_of.year - founded.dt.year() - before_birthday.cast(pl.Int32)
                              ).cast(pl.Int64),
        size_class=pl.when(emp >= 1000).then(pl.lit("大型")).when(emp >= 300).then(
            pl.lit("中型")).when(emp >= 20).then(pl.lit("小型")).when(emp.is_not_null()).then(
            pl.lit("微型")),
        layoff_rate=pl.when(pl.col("insured_employees") != 0).then(
            pl.col("layoffs_last_year") / pl.col("insured_employees")),
        rd_ratio=pl.when(pl.col("operating_revenue") != 0).then(
            pl.col("rd_expense") / pl.col("operating_revenue")),
        region=pl.col("district").replace_strict(regions_by_code, default=None,
                                                 return_dtype=pl.String),
    )
    known = pl.col("size_class").replace_strict(classes, default=None, return_dtype=MASK_DTYPE)
    return out.with_columns(known.fill_null(pl.lit(open_sets)).alias(possible_column("size_class")))


def catalog() -> EntityCatalog:
    """The enterprise catalog the generated policies and profiles follow."""
    return load_catalog().entity("enterprise")


def bench_sets() -> NamedSets:
    """The named sets the generated policies use, as the rule language's set type: the
    industry sets, and the sets with editions and uncertain members
    (:data:`bench.generate_dated.DATED_SETS`)."""
    plain = {name: NamedSet(name=name, label=name, kind="industry_prefix", items=items)
             for name, items in INDUSTRY_SETS.items()}
    return NamedSets({**plain, **DATED_SETS})


# ---- policies -----------------------------------------------------------------------------


def generate_policies(count: int, *, seed: int, related: bool = False, ledger: bool = False,
                      caps: bool = False, yearly: bool = False, dated: bool = False,
                      uncertain: bool = False, declared: bool = False) -> list[Policy]:
    """``count`` random enterprise policies with 3-8 leaf conditions in nested all/any/not
    trees, over numeric thresholds, ratios, sets, regions, value lists, dates and list-type
    fields; most carry an amount (formula with a dated parameter, tiers or cases). With
    ``related``, about one leaf in four is an aggregate over the firm's employment links
    (``hires``: count/sum/min/max/any/all with filters, see :func:`generate_links`), and
    some amounts count hires. With ``ledger``, about one leaf in five reads the award ledger
    (``received``, first time, ``received_amount`` over a window, of the policy itself or of
    another generated one, see :func:`generate_ledger`) and some amounts are top-ups
    (``150万 - received_amount(own, within = 3 years)``). With ``caps``, about half the
    policies join one of two cap groups. With ``yearly``, about one leaf in four reads yearly
    fields (one year, windows, growth: :mod:`bench.generate_yearly`; add the year columns to
    the profiles with :func:`bench.generate_yearly.add_yearly`), and some amounts too.
    With ``dated``, about one leaf in five reads a dated parameter (a batch window, a dated
    list, a dated threshold) and some amounts are dated tier tables; with ``uncertain``,
    about one leaf in five is ``in`` a set with 待核 or excluded members or with editions;
    with ``declared``, about one leaf in six is a declared condition (always UNKNOWN): see
    :mod:`bench.generate_dated`. Without these options the draws are the same as
    before they existed (a seed gives the same policies)."""
    rng = np.random.default_rng(seed)
    ids = tuple(f"bench-{i:04d}" for i in range(count))
    groups = (CapGroup(group="上限甲", limit=float(rng.integers(1, 20)) * 100_000, per="year"),
              CapGroup(group="上限乙", limit=float(rng.integers(1, 20)) * 100_000, per="all")
              ) if caps else ()
    extra = _Extra(dated=dated, uncertain=uncertain, declared=declared)
    return [_policy(i, rng, related=related, ledger=ids if ledger else (), caps=groups,
                    yearly=yearly, extra=extra) for i in range(count)]


def generate_all(count: int, *, seed: int, related: bool = True) -> list[Policy]:
    """``count`` policies drawing on every construct of the language at once: aggregates
    over employment links (unless ``related`` is False: the event engine leaves those to
    the batch), the award ledger, yearly fields, dated parameters and tier tables, sets with
    editions and uncertain members, and declared conditions (inputs:
    :func:`generate_world`)."""
    return generate_policies(count, seed=seed, related=related, ledger=True, yearly=True,
                             dated=True, uncertain=True, declared=True)


@dataclass(frozen=True)
class World:
    """Inputs for policies of :func:`generate_all`: profiles with year columns, the
    ``hires`` relation and the award ledger."""

    frame: pl.DataFrame
    related: dict[str, RelatedFrame]
    ledger: AwardLedger


def generate_world(n: int, policies: Sequence[Policy], *, seed: int,
                   as_of: dt.date = AS_OF) -> World:
    """``n`` enterprises as of ``as_of`` with every input the generated constructs read."""
    from bench.generate_yearly import add_yearly

    frame = add_yearly(generate_profiles(n, seed=seed, as_of=as_of), seed=seed + 1)
    links = generate_links(frame, seed=seed + 2, mean_links=2.5, as_of=as_of)
    ledger = generate_ledger(frame, policies, seed=seed + 3, as_of=as_of)
    return World(frame=frame, related=links, ledger=ledger)


@dataclass(frozen=True)
class _Extra:
    """Which dated, uncertain and declared constructs to draw, and what the policy being
    drawn collected (its parameters and declared conditions)."""

    dated: bool = False
    uncertain: bool = False
    declared: bool = False
    parameters: dict[str, Parameter] = field(default_factory=dict)
    conditions: dict[str, DeclaredCondition] = field(default_factory=dict)

    @property
    def any(self) -> bool:
        return self.dated or self.uncertain or self.declared

    def fresh(self) -> _Extra:
        return _Extra(dated=self.dated, uncertain=self.uncertain, declared=self.declared)

    def take(self, leaf: Leaf) -> A.Expr:
        self.parameters.update(leaf.parameters)
        for d in leaf.declared:
            self.conditions.setdefault(d.name, d)
        return leaf.expr

    def leaf(self, rng: Rng) -> A.Expr | None:
        """A dated, uncertain or declared leaf, or None (then an ordinary one)."""
        if self.dated and rng.random() < 0.2:
            return self.take(dated_leaf(rng))
        if self.uncertain and rng.random() < 0.2:
            return self.take(uncertain_leaf(rng))
        if self.declared and rng.random() < 0.17:
            return self.take(declared_leaf(rng))
        return None


def _policy(i: int, rng: Rng, *, related: bool = False, ledger: tuple[str, ...] = (),
            caps: tuple[CapGroup, ...] = (), yearly: bool = False,
            extra: _Extra | None = None) -> Policy:
    extra = (extra or _Extra()).fresh()
    leaves = int(rng.integers(3, 9))
    counter = iter(range(1, 100))
    own = f"bench-{i:04d}"
    tree = _tree(leaves, rng, counter, depth=0, related=related, ledger=ledger, own=own,
                 yearly=yearly, extra=extra)
    if not isinstance(tree, AllOfNode):
        tree = AllOfNode(children=(tree,))
    delivery = DELIVERIES[int(rng.integers(0, 3))]
    amount = (_related_amount(rng) if related and rng.random() < 0.3
              else _yearly_amount(rng) if yearly and rng.random() < 0.3 else _amount(rng))
    if ledger and rng.random() < 0.3:
        amount = _top_up_amount(rng, own)
    if extra.dated and rng.random() < 0.3:
        amount, tables = dated_tier_amount(rng)
        extra.parameters.update(tables)
    cap = None
    if caps and rng.random() < 0.5:
        cap = replace(caps[int(rng.integers(0, len(caps)))], priority=int(rng.integers(0, 3)))
    return Policy(
        id=f"bench-{i:04d}",
        title=f"基准政策{i}",
        entity="enterprise",
        basis=Basis(document="基准测试"),
        effective_from=dt.date(2020, 1, 1),
        effective_to=None,
        delivery=delivery,
        eligibility=tree,
        parameters={"rate": Parameter(name="rate", values=(
            DatedValue(since=dt.date(2023, 1, 1), value=_pct(0.2)),
            DatedValue(since=dt.date(2025, 1, 1), value=_pct(0.15)),
        )), **extra.parameters},
        amount=amount,
        cap=cap,
        declared=tuple(extra.conditions.values()),
    )


def _yearly_amount(rng: Rng) -> Amount:
    return Amount(rule=FormulaAmount(expr=yearly_amount_expr(rng)), period="year")


def _tree(n: int, rng: Rng, counter: object, *, depth: int, related: bool = False,
          ledger: tuple[str, ...] = (), own: str = "", yearly: bool = False,
          extra: _Extra | None = None) -> ConditionNode:
    node: ConditionNode
    if n == 1:
        cid = f"c{next(counter)}"  # type: ignore[call-overload]
        drawn = extra.leaf(rng) if extra is not None and extra.any else None
        if drawn is not None:
            expr = drawn
        elif related and rng.random() < 0.25:
            expr = related_leaf(rng)
        elif ledger and rng.random() < 0.2:
            expr = ledger_leaf(rng, ledger, own)
        elif yearly and rng.random() < 0.25:
            expr = yearly_leaf(rng)
        else:
            expr = _leaf(rng)
        node = Condition(id=cid, expr=expr, label=f"条件{cid}")
    else:
        parts = int(rng.integers(2, min(n, 4) + 1))
        cuts = np.sort(rng.choice(np.arange(1, n), parts - 1, replace=False))
        sizes = np.diff(np.concatenate(([0], cuts, [n])))
        children = tuple(_tree(int(s), rng, counter, depth=depth + 1, related=related,
                               ledger=ledger, own=own, yearly=yearly, extra=extra)
                         for s in sizes)
        node = (AllOfNode if depth == 0 or rng.random() < 0.55 else AnyOfNode)(children=children)
    if depth > 0 and rng.random() < 0.12:
        node = NotOf(child=node)
    return node


def _pct(value: float) -> A.Number:
    return A.Number(value=value, unit="ratio", text=f"{value * 100:g}%")


def _num(value: float) -> A.Number:
    return A.Number(value=float(value))


def _field(name: str) -> A.FieldRef:
    return A.FieldRef(name=name, written=name)


def _threshold(name: str, rng: Rng) -> A.Number:
    return _num(float(NUMERIC[name].draw(rng, 1)[0]))


_OPS: tuple[A.CompareOp, ...] = ("<", "<=", ">", ">=", "=", "!=")
_RATIOS = (("tech_staff", "employees"), ("high_tech_revenue", "operating_revenue"),
           ("rd_expense", "operating_revenue"), ("layoffs_last_year", "insured_employees"))


def _leaf(rng: Rng) -> A.Expr:
    kind = int(rng.integers(0, 12))
    names = sorted(NUMERIC)
    pick = names[int(rng.integers(0, len(names)))]
    op = _OPS[int(rng.integers(0, 4))]
    if kind <= 2:
        return A.Compare(op=op, left=_field(pick), right=_threshold(pick, rng))
    if kind == 3:
        lo, hi = sorted((_threshold(pick, rng).value, _threshold(pick, rng).value))
        return A.And(items=(A.Compare(op="<", left=_num(lo), right=_field(pick)),
                            A.Compare(op="<=", left=_field(pick), right=_num(hi))))
    if kind == 4:
        top, bottom = _RATIOS[int(rng.integers(0, len(_RATIOS)))]
        ratio: A.Expr = A.Arith(op="/", left=_field(top), right=_field(bottom))
        if rng.random() < 0.4:
            ratio = _field(("rd_ratio", "layoff_rate")[int(rng.integers(0, 2))])
        return A.Compare(op=op, left=ratio, right=_pct(round(float(rng.uniform(0.01, 0.6)), 3)))
    if kind == 5:
        name = sorted(STRING_VALUES)[int(rng.integers(0, len(STRING_VALUES)))]
        values = STRING_VALUES[name][0]
        if rng.random() < 0.5:
            return A.Compare(op=("=", "!=")[int(rng.integers(0, 2))], left=_field(name),
                             right=A.String(value=values[int(rng.integers(0, len(values)))]))
        chosen = rng.choice(values, int(rng.integers(1, len(values))), replace=False)
        return A.In(item=_field(name), container=A.ListLit(
            items=tuple(A.String(value=str(v)) for v in chosen)), negated=bool(rng.random() < 0.3))
    if kind == 6:
        set_name = sorted(INDUSTRY_SETS)[int(rng.integers(0, len(INDUSTRY_SETS)))]
        return A.In(item=_field("industry_code"), container=A.SetRef(name=set_name),
                    negated=bool(rng.random() < 0.7))
    if kind == 7:
        regions = load_regions()
        region = ("广州市", "深圳市", "上海市", "北京市", "天河区")[int(rng.integers(0, 5))]
        return A.In(item=_field("district"),
                    container=A.RegionRef(name=region, prefix=regions.prefix(region)),
                    negated=bool(rng.random() < 0.2))
    if kind == 8:
        return _date_leaf(rng)
    if kind == 9:
        bare = _field("serious_dishonesty")
        choice = int(rng.integers(0, 3))
        if choice == 0:
            return A.Not(item=bare)
        if choice == 1:
            return A.Compare(op="=", left=bare, right=A.Bool(value=False))
        return bare
    if kind == 10:
        return _arith_leaf(pick, op, rng)
    other = names[int(rng.integers(0, len(names)))]
    return A.Or(items=(A.Compare(op=op, left=_field(pick), right=_threshold(pick, rng)),
                       A.Compare(op=">=", left=_field(other), right=_threshold(other, rng))))


def _date_leaf(rng: Rng) -> A.Expr:
    choice = int(rng.integers(0, 7))
    listed = ("high_tech_cert_on", "little_giant_on")[int(rng.integers(0, 2))]
    if choice == 0:
        year = int(rng.integers(1995, 2025))
        return A.Compare(op=("<", ">=")[int(rng.integers(0, 2))], left=_field("founded_on"),
                         right=A.Date(value=dt.date(year, int(rng.integers(1, 13)), 1)))
    if choice == 1:
        return A.Compare(op=">=", left=A.Call(func="years_since", args=(_field("founded_on"),)),
                         right=_num(int(rng.integers(1, 15))))
    if choice == 2:
        return A.Compare(op="=", left=A.Call(func="year", args=(_field(listed),)),
                         right=_num(int(rng.integers(2019, 2026))))
    if choice == 3:
        return A.Or(items=(
            A.IsEmpty(item=_field(listed)),
            A.Compare(op=">", left=A.Call(func="years_since", args=(_field(listed),)),
                      right=_num(3))))
    if choice == 4:
        return A.Compare(op="<=", left=A.Call(func="months_since", args=(_field(listed),)),
                         right=_num(int(rng.integers(6, 72))))
    if choice == 5:
        return A.IsEmpty(item=_field(listed), negated=bool(rng.random() < 0.5))
    return A.Compare(op="<", left=_field(listed), right=A.AsOf())


def _arith_leaf(pick: str, op: A.CompareOp, rng: Rng) -> A.Expr:
    choice = int(rng.integers(0, 4))
    left: A.Expr
    if choice == 0:
        left = A.Arith(op="-", left=_field("employees"), right=_field("layoffs_last_year"))
        return A.Compare(op=op, left=left, right=_threshold("employees", rng))
    if choice == 1:
        left = A.Call(func="min", args=(_field("employees"), _field("insured_employees")))
        return A.Compare(op=op, left=left, right=_threshold("employees", rng))
    if choice == 2:
        left = A.Call(func="abs", args=(_field("annual_taxable_income"),))
        return A.Compare(op=op, left=left, right=_threshold("annual_taxable_income", rng))
    left = A.Arith(op="+", left=A.Neg(item=_field(pick)),
                   right=A.Arith(op="*", left=_field(pick), right=_num(2)))
    return A.Compare(op=op, left=left, right=_threshold(pick, rng))


def _amount(rng: Rng) -> Amount | None:
    choice = int(rng.integers(0, 5))
    rule: AmountRule
    if choice == 0:
        return None
    if choice == 1:
        money = ("annual_taxable_income", "rd_expense", "monthly_sales")[int(rng.integers(0, 3))]
        rule = FormulaAmount(expr=A.Arith(op="*", left=_field(money), right=A.ParamRef(
            name="rate")))
    elif choice == 2:
        rule = FormulaAmount(expr=A.Call(func="min", args=(
            A.Arith(op="*", left=_field("ui_paid_last_year"), right=_pct(0.6)), _num(500_000))))
    elif choice == 3:
        rule = TierAmount(by=_field("employees"), tiers=(
            Tier(from_=1, value=_num(1000)), Tier(from_=20, value=_num(5000)),
            Tier(from_=300, value=A.Arith(op="*", left=_num(1500),
                                          right=_field("graduate_hires")))))
    else:
        rule = CaseAmount(cases=(
            Case(when=A.Compare(op="=", left=_field("size_class"), right=A.String(value="大型")),
                 value=A.Arith(op="*", left=_field("ui_paid_last_year"), right=_pct(0.3))),
            # the same amount as the else branch: decided when only these two remain
            Case(when=A.In(item=_field("size_class"), container=A.ListLit(
                items=(A.String(value="中型"), A.String(value="小型")))),
                 value=A.Arith(op="*", left=_field("ui_paid_last_year"), right=_pct(0.6))),
            Case(when=A.IsEmpty(item=_field("little_giant_on"), negated=True),
                 value=_num(1_000_000)),
            Case(when=None, value=A.Arith(op="*", left=_field("ui_paid_last_year"),
                                           right=_pct(0.6))),
        ))
    period = PERIODS[int(rng.integers(0, 3))]
    return Amount(rule=rule, period=period)


# ---- related entities: employment links ---------------------------------------------------

#: Person fields the generated link members carry (beside the link's own fields).
MEMBER_COLUMNS = ("id_number", "birth_date", "age", "sex", "employed", "disability_grade")


def generate_links(profiles: pl.DataFrame, *, seed: int, as_of: dt.date = AS_OF,
                   mean_links: float = 3.0) -> dict[str, RelatedFrame]:
    """Employment links for the firms of ``profiles`` (Poisson, ``mean_links`` per firm),
    as the ``hires`` relation's member frame: link fields (``hired_on``, ``left_on`` mostly
    empty = still employed, ``insured_months``, ``wage_base`` in whole yuan) and the member's
    person fields, each with 3-5% missing values; ``disability_grade`` is list-type (mostly
    empty)."""
    rng = np.random.default_rng(seed)
    per_firm = rng.poisson(mean_links, profiles.height)
    owners = np.repeat(profiles["uscc"].to_numpy(), per_firm)
    n = owners.shape[0]
    hired = pl.Series("hired_on", _days(dt.date(2015, 1, 1), as_of, rng, n)).cast(pl.Date)
    left = pl.Series("left_on", _days(dt.date(2016, 1, 1), as_of, rng, n)).cast(pl.Date)
    left = left.scatter(np.flatnonzero(rng.random(n) < 0.8), None)
    birth = pl.Series("birth_date", _days(dt.date(1960, 1, 1), dt.date(2006, 12, 31), rng, n)
                      ).cast(pl.Date)
    months = rng.integers(0, 37, n)
    grade = pl.Series("disability_grade", rng.integers(1, 5, n)).cast(pl.Int64)
    frame = pl.DataFrame([
        pl.Series(OWNER_COLUMN, owners).cast(pl.String),
        pl.Series("id_number", np.arange(n)).cast(pl.String).str.zfill(18),
        hired.scatter(np.flatnonzero(rng.random(n) < 0.01), None),
        left,
        _with_nulls(months, rng, pl.Int64(), "insured_months"),
        _with_nulls(np.floor(rng.lognormal(8.5, 0.5, n)), rng, pl.Float64(), "wage_base"),
        _with_nulls(birth.to_numpy(), rng, pl.Date(), "birth_date"),
        _with_nulls(np.array(["男", "女"])[rng.integers(0, 2, n)], rng, pl.String(), "sex"),
        _with_nulls(rng.random(n) < 0.9, rng, pl.Boolean(), "employed"),
        grade.scatter(np.flatnonzero(rng.random(n) >= 0.05), None),
    ])
    born = pl.col("birth_date")
    before = (born.dt.month() > as_of.month) | (
        (born.dt.month() == as_of.month) & (born.dt.day() > as_of.day))
    frame = frame.with_columns(
        age=(as_of.year - born.dt.year() - before.cast(pl.Int32)).cast(pl.Int64))
    return {"hires": RelatedFrame(members=frame.lazy())}


def _hires_filter(rng: Rng) -> A.Expr:
    """A filter on one link and its person, as an officer writes them."""
    parts: list[A.Expr] = []
    choice = int(rng.integers(0, 6))
    if choice in (0, 1):
        parts.append(A.Compare(op=">=", left=_field("insured_months"),
                               right=_num(int(rng.integers(1, 13)))))
    if choice in (1, 2):
        parts.append(A.Compare(op="<", left=_field("age"), right=_num(int(rng.integers(25, 46)))))
    if choice == 3:
        parts.append(A.Compare(op=">=", left=_field("hired_on"),
                               right=A.Date(value=dt.date(int(rng.integers(2018, 2026)), 1, 1))))
    if choice == 4:
        parts.append(A.IsEmpty(item=_field("left_on")))
    if choice == 5:
        parts.append(A.Compare(op=">=", left=_field("disability_grade"), right=_num(1)))
    if rng.random() < 0.3:
        parts.append(A.Compare(op="=", left=_field("sex"),
                               right=A.String(value=("男", "女")[int(rng.integers(0, 2))])))
    return parts[0] if len(parts) == 1 else A.And(items=tuple(parts))


def related_leaf(rng: Rng) -> A.Expr:
    """A condition over the firm's hires: count/any/all with a filter, or sum/min/max of a
    link or person field, compared with a threshold."""
    where = _hires_filter(rng)
    op = _OPS[int(rng.integers(0, 6))]
    choice = int(rng.integers(0, 7))
    if choice <= 1:
        count = A.Aggregate(func="count", relation="hires", where=where)
        return A.Compare(op=op, left=count, right=_num(int(rng.integers(0, 6))))
    if choice == 2:  # any(hires where ...)
        return A.Compare(op=">=", left=A.Aggregate(func="count", relation="hires",
                                                   where=where), right=_num(1))
    if choice == 3:  # all(hires where ...)
        return A.Compare(op="=", left=A.Aggregate(func="count", relation="hires",
                                                  where=A.Not(item=where)), right=_num(0))
    if choice == 4:
        total = A.Aggregate(func="sum", relation="hires", value=_field("wage_base"),
                            where=where if rng.random() < 0.6 else None)
        right: A.Expr = _num(float(np.floor(rng.lognormal(9.5, 1.0))))
        if rng.random() < 0.3:  # average wage base: interval arithmetic
            count = A.Aggregate(func="count", relation="hires", where=None)
            return A.Compare(op=op, left=A.Arith(op="/", left=total, right=count),
                             right=_num(6000))
        return A.Compare(op=op, left=total, right=right)
    func: A.AggFunc = ("min", "max")[int(rng.integers(0, 2))]
    name = ("age", "insured_months")[int(rng.integers(0, 2))]
    agg = A.Aggregate(func=func, relation="hires", value=_field(name),
                      where=where if rng.random() < 0.5 else None)
    return A.Compare(op=op, left=agg, right=_num(int(rng.integers(1, 40))))


def _related_amount(rng: Rng) -> Amount:
    """1500 per qualifying hire (一次性扩岗补助-like)."""
    count = A.Aggregate(func="count", relation="hires", where=_hires_filter(rng))
    return Amount(rule=FormulaAmount(expr=A.Arith(op="*", left=_num(1500), right=count)),
                  period="once")


# ---- the award ledger: received(), first time, received_amount() -------------------------

_WINDOWS = (None, 12, 36)  # months; None: every award up to the as-of date


def ledger_leaf(rng: Rng, ids: tuple[str, ...], own: str) -> A.Expr:
    """A condition on the award ledger, of the policy itself (half the time) or of another
    generated one: ``received``, first time (``not received``), or ``received_amount``
    over a window compared with a threshold."""
    pid = own if rng.random() < 0.5 else ids[int(rng.integers(0, len(ids)))]
    within = _WINDOWS[int(rng.integers(0, len(_WINDOWS)))]
    choice = int(rng.integers(0, 3))
    if choice == 2:
        ref = A.LedgerRef(kind="amount", policy_id=pid, within_months=within or 36,
                          own=pid == own)
        return A.Compare(op=_OPS[int(rng.integers(0, 4))], left=ref,
                         right=_num(float(rng.integers(1, 20)) * 50_000))
    ref = A.LedgerRef(kind="received", policy_id=pid, within_months=within, own=pid == own)
    return A.Not(item=ref) if choice == 1 else ref


def _top_up_amount(rng: Rng, own: str) -> Amount:
    """差额补足: the tier less what the policy already paid within three years."""
    paid = A.LedgerRef(kind="amount", policy_id=own, within_months=36, own=True)
    top = _num(float(rng.integers(2, 30)) * 50_000)
    return Amount(rule=FormulaAmount(expr=A.Arith(op="-", left=top, right=paid)),
                  period="once")


def generate_ledger(profiles: pl.DataFrame, policies: Sequence[Policy], *, seed: int,
                    as_of: dt.date = AS_OF, awards: int | None = None) -> AwardLedger:
    """An award history for ``profiles`` and ``policies``: awards (some after the as-of date,
    some the system's own current grants) in multiples of 50 000 yuan, and per policy a
    complete-from date that is the start of time, a date in the middle of the history, or
    absent (the earlier system's records were never imported)."""
    rng = np.random.default_rng(seed)
    keys = profiles["uscc"].to_list()
    pids = [p.id for p in policies]
    n = awards if awards is not None else max(1, len(keys) // 2)
    start, end = dt.date(2020, 1, 1).toordinal(), (as_of + dt.timedelta(days=200)).toordinal()
    records = [(keys[int(rng.integers(0, len(keys)))], pids[int(rng.integers(0, len(pids)))],
                dt.date.fromordinal(int(rng.integers(start, end + 1))),
                float(rng.integers(1, 10)) * 50_000, bool(rng.random() < 0.2))
               for _ in range(n)]
    complete: dict[str, dt.date] = {}
    for pid in pids:
        pick = int(rng.integers(0, 3))
        if pick == 0:
            complete[pid] = dt.date.min
        elif pick == 1:
            complete[pid] = dt.date.fromordinal(int(rng.integers(start, as_of.toordinal())))
    return AwardLedger.from_records(records, complete_from=complete,
                                    policy_starts={p.id: p.effective_from for p in policies})


# ---- households: people, the household register and person policies over them ------------

_RELATIONS = ("户主", "配偶", "子女", "父母", "其他")
_BORN = {"户主": (1935, 1995), "配偶": (1935, 1995), "子女": (1985, 2024),
         "父母": (1920, 1965), "其他": (1930, 2020)}


def generate_households(households: int, *, seed: int, as_of: dt.date = AS_OF
                        ) -> tuple[pl.DataFrame, dict[str, RelatedFrame]]:
    """People in ``households`` households of one to five (a 户主, often a 配偶, then
    children, parents or others), about one person in ten absent from the household register
    (their household is UNKNOWN), 3-5% missing values per field and list-type fields mostly
    empty; the persons frame derived as of ``as_of`` and the ``household.members`` and
    ``spouse`` relations built from the register as the matcher builds them."""
    from profiles.derive import derive
    from profiles.relations import related_frames

    rng = np.random.default_rng(seed)
    ids: list[str] = []
    births: list[dt.date] = []
    register: list[tuple[str, str, str]] = []
    for h in range(households):
        size = int(rng.integers(1, 6))
        roles = ["户主", *(("配偶",) if size > 1 and rng.random() < 0.8 else ())]
        roles += [_RELATIONS[int(rng.integers(2, 5))] for _ in range(size - len(roles))]
        for role in roles:
            lo, hi = _BORN[role]
            born = dt.date(int(rng.integers(lo, hi + 1)), int(rng.integers(1, 13)),
                           int(rng.integers(1, 29)))
            sex = int(rng.integers(0, 10))
            pid = f"110105{born:%Y%m%d}{len(ids) % 100:02d}{sex}0"
            ids.append(pid)
            births.append(born)
            if rng.random() >= 0.1:
                register.append((f"H{h:05d}", pid, role))
    n = len(ids)
    grade = pl.Series("disability_grade", rng.integers(1, 5, n)).cast(pl.Int64)
    status = np.array(["低保", "特困", "低收入", "无"])[rng.integers(0, 4, n)]
    people = pl.DataFrame([
        pl.Series("id_number", ids, dtype=pl.String),
        _with_nulls(np.array(births, dtype="datetime64[D]").astype("int32"), rng, pl.Date(),
                    "birth_date"),
        _with_nulls(rng.random(n) < 0.6, rng, pl.Boolean(), "employed"),
        grade.scatter(np.flatnonzero(rng.random(n) >= 0.1), None),
        pl.Series("subsistence_status", status).scatter(
            np.flatnonzero(rng.random(n) >= 0.15), None),
        _with_nulls(np.array(["110105", "440106"])[rng.integers(0, 2, n)], rng, pl.String(),
                    "hukou_district"),
    ])
    persons = derive(people, entity="person", as_of=as_of).collect()
    frame = pl.DataFrame(register, schema={"household_id": pl.String, "id_number": pl.String,
                                           "relation": pl.String}, orient="row")
    return persons, related_frames(persons=persons, households=frame)


def _member_filter(rng: Rng) -> A.Expr:
    """A filter on one household member, as an officer writes them."""
    options: tuple[A.Expr, ...] = (
        A.Compare(op=">=", left=_field("age"), right=_num(int(rng.integers(16, 66)))),
        A.Compare(op="<", left=_field("age"), right=_num(int(rng.integers(3, 19)))),
        _field("employed"),
        A.Compare(op="=", left=_field("relation"),
                  right=A.String(value=_RELATIONS[int(rng.integers(0, 5))])),
        A.Compare(op="<=", left=_field("disability_grade"), right=_num(int(rng.integers(1, 5)))),
        A.Compare(op="=", left=_field("sex"), right=A.String(value=("男", "女")[
            int(rng.integers(0, 2))])),
        A.In(item=_field("subsistence_status"), container=A.ListLit(
            items=(A.String(value="低保"), A.String(value="特困")))),
    )
    first = options[int(rng.integers(0, len(options)))]
    if rng.random() < 0.35:
        second = options[int(rng.integers(0, len(options)))]
        return (A.And if rng.random() < 0.7 else A.Or)(items=(first, second))
    return first


def household_leaf(rng: Rng) -> A.Expr:
    """A condition over the person's household or spouse: count/any/all with a filter,
    sum/min/max of a member's age or birth date, an average, or navigation to the spouse."""
    members = "household.members"
    where = _member_filter(rng) if rng.random() < 0.8 else None
    op = _OPS[int(rng.integers(0, 6))]
    choice = int(rng.integers(0, 8))
    if choice <= 1:
        count = A.Aggregate(func="count", relation=members, where=where)
        return A.Compare(op=op, left=count, right=_num(int(rng.integers(0, 4))))
    if choice == 2:  # any / all
        test = where or _member_filter(rng)
        if rng.random() < 0.5:
            return A.Compare(op=">=", left=A.Aggregate(func="count", relation=members,
                                                       where=test), right=_num(1))
        return A.Compare(op="=", left=A.Aggregate(func="count", relation=members,
                                                  where=A.Not(item=test)), right=_num(0))
    if choice == 3:
        total = A.Aggregate(func="sum", relation=members, value=_field("age"), where=where)
        return A.Compare(op=op, left=total, right=_num(int(rng.integers(20, 200))))
    if choice == 4:  # average age: interval arithmetic
        total = A.Aggregate(func="sum", relation=members, value=_field("age"), where=where)
        count = A.Aggregate(func="count", relation=members)
        return A.Compare(op=op, left=A.Arith(op="/", left=total, right=count),
                         right=_num(int(rng.integers(10, 60))))
    if choice == 5:
        func: A.AggFunc = ("min", "max")[int(rng.integers(0, 2))]
        if rng.random() < 0.5:
            agg = A.Aggregate(func=func, relation=members, value=_field("birth_date"),
                              where=where)
            return A.Compare(op=op, left=agg, right=A.Date(value=dt.date(
                int(rng.integers(1940, 2020)), 1, 1)))
        agg = A.Aggregate(func=func, relation=members, value=_field("age"), where=where)
        return A.Compare(op=op, left=agg, right=_num(int(rng.integers(1, 90))))
    # navigation: spouse.age, spouse.birth_date (max over at most one member)
    if rng.random() < 0.5:
        return A.Compare(op=op, left=A.Aggregate(func="max", relation="spouse",
                                                 value=_field("age")),
                         right=_num(int(rng.integers(40, 70))))
    return A.Compare(op=">=", left=A.Aggregate(func="max", relation="spouse",
                                               value=_field("birth_date")),
                     right=A.Date(value=dt.date(1933, 1, 1)))


def _person_leaf(rng: Rng) -> A.Expr:
    choice = int(rng.integers(0, 4))
    if choice == 0:
        return A.Compare(op=_OPS[int(rng.integers(0, 4))], left=_field("age"),
                         right=_num(int(rng.integers(16, 80))))
    if choice == 1:
        return A.Compare(op="=", left=_field("sex"),
                         right=A.String(value=("男", "女")[int(rng.integers(0, 2))]))
    if choice == 2:
        return _field("employed")
    return A.In(item=_field("hukou_district"), container=A.RegionRef(
        name="北京市", prefix=load_regions().prefix("北京市")))


def generate_person_policies(count: int, *, seed: int, extra: bool = False) -> list[Policy]:
    """``count`` random person policies of 2-6 leaves, two in three over the household or
    the spouse (:func:`household_leaf`), the rest over the person; some amounts count
    household members (100 per qualifying member) or depend on the spouse's age. With
    ``extra``, one leaf in four is a dated age threshold, ``in`` a region list under check
    or a declared fact (:func:`bench.generate_dated.person_leaf`); without it the draws are
    the same as before it existed."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        counter = iter(range(1, 100))
        collected = _Extra()

        def draw(collected: _Extra = collected) -> A.Expr:
            if extra and rng.random() < 0.25:
                return collected.take(person_leaf(rng))
            return household_leaf(rng) if rng.random() < 0.67 else _person_leaf(rng)

        leaves = [Condition(id=f"c{next(counter)}", label="条件", expr=draw())
                  for _ in range(int(rng.integers(2, 7)))]
        split = int(rng.integers(1, len(leaves)))
        tree = AllOfNode(children=(*leaves[:split], AnyOfNode(children=tuple(leaves[split:]))))
        rule: AmountRule
        if rng.random() < 0.5:
            rule = FormulaAmount(expr=A.Arith(op="*", left=_num(100), right=A.Aggregate(
                func="count", relation="household.members", where=_member_filter(rng))))
        else:
            rule = CaseAmount(cases=(
                Case(when=A.Compare(op=">=", left=A.Aggregate(
                    func="max", relation="spouse", value=_field("age")), right=_num(60)),
                    value=_num(300)),
                Case(when=None, value=_num(150))))
        out.append(Policy(
            id=f"bench-person-{i:04d}", title=f"基准个人政策{i}", entity="person",
            basis=Basis(document="基准测试"), effective_from=dt.date(2020, 1, 1),
            effective_to=None, delivery=DELIVERIES[int(rng.integers(0, 3))], eligibility=tree,
            amount=Amount(rule=rule, period="month"), parameters=dict(collected.parameters),
            declared=tuple(collected.conditions.values())))
    return out
