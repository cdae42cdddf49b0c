"""The DuckDB SQL compilation and the numpy evaluator give the reference interpreter's answers
(truth per policy, null = UNKNOWN, and amount) on random policies over random profiles with
missing values, including rows made of edge values (zeros, nulls, empty list fields, dates on
the anniversary)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import (
    AS_OF,
    bench_sets,
    catalog,
    generate_all,
    generate_households,
    generate_ledger,
    generate_links,
    generate_person_policies,
    generate_policies,
    generate_profiles,
    generate_world,
)
from bench.peers import duckdb_sql, numpy_eval
from profiles.catalog import load_catalog
from profiles.derive import full_months, full_years
from profiles.possible import MASK_DTYPE
from profiles.relations import RelatedFrame, rows_with_members
from rules import ast as A
from rules.declared import for_policies
from rules.interpret import evaluate_policy
from rules.ledger import AwardLedger, join_ledger
from rules.model import AllOf, Amount, Basis, Condition, FormulaAmount, Policy

SETTINGS = settings(max_examples=15, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def reference(frame: pl.DataFrame, policies: Sequence[Policy], *,
              related: Mapping[str, RelatedFrame] | None = None, entity: str = "enterprise",
              as_of: dt.date = AS_OF, ledger: AwardLedger | None = None) -> pl.DataFrame:
    """The interpreter's answers as a wide frame shaped like the peers' output."""
    library = {p.id: p for p in policies}
    cat = for_policies(load_catalog().entity(entity), policies)
    rows = rows_with_members(frame, cat.key, related or {})
    columns: dict[str, list[object]] = {}
    for policy in policies:
        results = [evaluate_policy(policy, row, catalog=cat, sets=bench_sets(),
                                   as_of=as_of, library=library, ledger=ledger)
                   for row in rows]
        columns[policy.id] = [r.truth for r in results]
        if policy.amount is not None:
            columns[policy.id + ".amount"] = [r.amount for r in results]
    schema = {k: (pl.Float64 if k.endswith(".amount") else pl.Boolean) for k in columns}
    return pl.DataFrame(columns, schema=schema)


def assert_same(got: pl.DataFrame, want: pl.DataFrame, engine: str) -> None:
    assert got.columns == want.columns, engine
    for name in want.columns:
        g, w = got[name].to_list(), want[name].to_list()
        for row, (a, b) in enumerate(zip(g, w, strict=True)):
            if isinstance(b, float) and a is not None:
                same = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
            else:
                same = a == b and (a is None) == (b is None)
            assert same, f"{engine}: {name} row {row}: got {a!r}, interpreter says {b!r}"


def check_all_peers(frame: pl.DataFrame, policies: Sequence[Policy], *,
                    as_of: dt.date = AS_OF) -> None:
    want = reference(frame, policies, as_of=as_of)
    kw = {"catalog": catalog(), "sets": bench_sets(), "as_of": as_of}
    assert_same(duckdb_sql.evaluate(frame, policies, **kw), want, "duckdb")  # type: ignore[arg-type]
    assert_same(numpy_eval.evaluate(frame, policies, **kw), want, "numpy")  # type: ignore[arg-type]


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), world_seed=st.integers(0, 2**31),
       as_of=st.sampled_from([AS_OF, dt.date(2026, 1, 1), dt.date(2023, 12, 31),
                              dt.date(2024, 6, 1)]))
def test_peers_equal_interpreter_on_policies_with_every_construct(
        policy_seed: int, world_seed: int, as_of: dt.date) -> None:
    """Aggregates, the ledger, yearly fields, dated parameters and tier tables, sets with
    editions and uncertain members, declared conditions (bench.generate.generate_all)."""
    policies = generate_all(6, seed=policy_seed)
    world = generate_world(40, policies, seed=world_seed, as_of=as_of)
    refs = {r for p in policies for r in p.ledger_lookups}
    joined = join_ledger(world.frame.lazy(), world.ledger, refs, key="uscc",
                         as_of=as_of).collect()
    want = reference(world.frame, policies, related=world.related, as_of=as_of,
                     ledger=world.ledger)
    for name, peer in (("duckdb", duckdb_sql), ("numpy", numpy_eval)):
        got = peer.evaluate(joined, policies, catalog=catalog(), sets=bench_sets(),
                            as_of=as_of, related=world.related)
        assert_same(got, want, name)


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31))
def test_peers_equal_interpreter_on_generated_aggregates_over_hires(
        policy_seed: int, profile_seed: int) -> None:
    policies = generate_policies(6, seed=policy_seed, related=True)
    frame = generate_profiles(40, seed=profile_seed)
    links = generate_links(frame, seed=profile_seed + 1, mean_links=2.5)
    want = reference(frame, policies, related=links)
    for name, peer in (("duckdb", duckdb_sql), ("numpy", numpy_eval)):
        got = peer.evaluate(frame, policies, catalog=catalog(), sets=bench_sets(),
                            as_of=AS_OF, related=links)
        assert_same(got, want, name)


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), people_seed=st.integers(0, 2**31),
       extra=st.booleans(), as_of=st.sampled_from([AS_OF, dt.date(2023, 12, 31)]))
def test_peers_equal_interpreter_on_generated_aggregates_over_households(
        policy_seed: int, people_seed: int, extra: bool, as_of: dt.date) -> None:
    """With ``extra``: dated age thresholds, a region list under check, declared facts."""
    persons, related = generate_households(15, seed=people_seed, as_of=as_of)
    policies = generate_person_policies(5, seed=policy_seed, extra=extra)
    want = reference(persons, policies, related=related, entity="person", as_of=as_of)
    for name, peer in (("duckdb", duckdb_sql), ("numpy", numpy_eval)):
        got = peer.evaluate(persons, policies, catalog=load_catalog().entity("person"),
                            sets=bench_sets(), as_of=as_of, related=related)
        assert_same(got, want, name)


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31))
def test_peers_equal_interpreter_on_generated_award_ledger_lookups(
        policy_seed: int, profile_seed: int) -> None:
    # the peers read the lookups from join_ledger's columns, as the batch and the event
    # engine do; the interpreter reads the ledger itself
    policies = generate_policies(6, seed=policy_seed, ledger=True)
    frame = generate_profiles(40, seed=profile_seed)
    ledger = generate_ledger(frame, policies, seed=profile_seed + 1)
    refs = {r for p in policies for r in p.ledger_lookups}
    joined = join_ledger(frame.lazy(), ledger, refs, key="uscc", as_of=AS_OF).collect()
    want = reference(frame, policies, ledger=ledger)
    for name, peer in (("duckdb", duckdb_sql), ("numpy", numpy_eval)):
        got = peer.evaluate(joined, policies, catalog=catalog(), sets=bench_sets(),
                            as_of=AS_OF)
        assert_same(got, want, name)


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31))
def test_peers_equal_interpreter_on_generated_profiles(policy_seed: int,
                                                       profile_seed: int) -> None:
    policies = generate_policies(6, seed=policy_seed)
    frame = generate_profiles(80, seed=profile_seed)
    check_all_peers(frame, policies)


# ---- rows of edge values ------------------------------------------------------------------

_ANNIVERSARY = dt.date(AS_OF.year - 3, AS_OF.month, AS_OF.day)
_EDGE: dict[str, st.SearchStrategy[object]] = {
    "int": st.sampled_from([0, 1, 2, 3, 12, 20, 30, 300, 1000]),
    "float": st.sampled_from([0.0, 1.0, 0.05, 0.2, 100_000.0, 3_000_000.0, -5_000.0]),
    "date": st.sampled_from([AS_OF, _ANNIVERSARY, _ANNIVERSARY + dt.timedelta(days=1),
                             dt.date(2020, 2, 29), dt.date(2025, 1, 1), dt.date(2010, 7, 1)]),
    "bool": st.booleans(),
}
_STRINGS: dict[str, list[str]] = {
    "district": ["440106", "440305", "310115", "110105"],
    # the statuses of the generated sets under check: 13xx 待核, 15xx excluded, 271x excluded
    # from a listed division, 2xxx 待核, 61xx excluded from an edition (bench.generate_dated)
    "industry_code": ["1610", "0610", "6110", "6510", "7010", "3911", "1310", "1510", "2710",
                      "2720", "5110"],
}


def _column_values(name: str, dtype: pl.DataType) -> st.SearchStrategy[object]:
    if dtype == MASK_DTYPE:  # a tag's still-possible values (profiles.possible)
        return st.one_of(st.none(), st.integers(0, 15))
    if dtype == pl.String:
        field = catalog().field(name) if name in catalog() else None
        options = _STRINGS.get(name) or list(field.values or ()) if field else ["x"]
        base: st.SearchStrategy[object] = st.sampled_from(options or ["x"])
    elif dtype == pl.Date:
        base = _EDGE["date"]
    elif dtype == pl.Boolean:
        base = _EDGE["bool"]
    elif dtype == pl.Int64:
        base = _EDGE["int"]
    else:
        base = _EDGE["float"]
    return st.one_of(st.none(), base)


@st.composite
def edge_frames(draw: st.DrawFn, rows: int = 12) -> pl.DataFrame:
    schema = generate_profiles(1, seed=0).schema
    data = {name: draw(st.lists(_column_values(name, dtype), min_size=rows, max_size=rows))
            for name, dtype in schema.items()}
    return pl.DataFrame(data, schema=schema)


@SETTINGS
@given(frame=edge_frames(), policy_seed=st.integers(0, 2**31))
def test_peers_equal_interpreter_on_edge_values(frame: pl.DataFrame, policy_seed: int) -> None:
    check_all_peers(frame, generate_policies(8, seed=policy_seed))


@SETTINGS
@given(frame=edge_frames(), policy_seed=st.integers(0, 2**31),
       as_of=st.sampled_from([AS_OF, dt.date(2026, 1, 1), dt.date(2023, 12, 31)]))
def test_peers_equal_interpreter_on_edge_values_with_dated_uncertain_and_declared(
        frame: pl.DataFrame, policy_seed: int, as_of: dt.date) -> None:
    check_all_peers(frame, generate_policies(8, seed=policy_seed, dated=True, uncertain=True,
                                             declared=True), as_of=as_of)


# ---- full months and years at the end of a month ------------------------------------------

def _elapsed_policy(func: Literal["months_since", "years_since"]) -> Policy:
    """Eligible whenever the founding date is known; its amount is ``func(founded_on)``, so
    the amount column carries the count itself."""
    founded = A.FieldRef(name="founded_on")
    return Policy(
        id=f"elapsed-{func}", title=func, entity="enterprise", basis=Basis(document="基准测试"),
        effective_from=dt.date(2020, 1, 1), effective_to=None, delivery="notice",
        eligibility=AllOf(children=(Condition(
            id="c1", label="条件", expr=A.IsEmpty(item=founded, negated=True)),)),
        amount=Amount(rule=FormulaAmount(expr=A.Call(func=func, args=(founded,))),
                      period="once"))


@pytest.mark.parametrize("as_of", [dt.date(2025, 6, 30), dt.date(2025, 6, 29),
                                   dt.date(2025, 2, 28), dt.date(2024, 2, 28),
                                   dt.date(2024, 2, 29), dt.date(2025, 12, 31)])
def test_peers_count_full_months_and_years_like_the_interpreter_at_month_end(
        as_of: dt.date) -> None:
    # a start on the 29th-31st against an as-of date on the last day of a shorter month
    # (30 June, 28 February) has completed that month: 31 May + 1 month = 30 June
    starts = [d for d in (as_of - dt.timedelta(days=n) for n in range(800))
              if d.day >= 27 or d.day <= 2]
    frame = generate_profiles(len(starts), seed=1).with_columns(
        pl.Series("founded_on", starts, dtype=pl.Date))
    policies = [_elapsed_policy("months_since"), _elapsed_policy("years_since")]
    want = reference(frame, policies, as_of=as_of)
    for name, peer in (("duckdb", duckdb_sql), ("numpy", numpy_eval)):
        got = peer.evaluate(frame, policies, catalog=catalog(), sets=bench_sets(), as_of=as_of)
        assert_same(got, want, name)
    plan = frame.select(
        full_months(pl.col("founded_on"), as_of).cast(pl.Float64).alias("elapsed-months_since"),
        full_years(pl.col("founded_on"), as_of).cast(pl.Float64).alias("elapsed-years_since"))
    for column in plan.columns:
        assert plan[column].to_list() == want[column + ".amount"].to_list(), column
