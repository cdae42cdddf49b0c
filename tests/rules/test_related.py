"""Aggregates over related entities: the polars plan (a join and a group-by) equals the
reference interpreter on generated policies, households and employment links; counts are
ranges decided whenever the range decides; the checker and the event engine say where they
refuse."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import (
    AS_OF,
    bench_sets,
    catalog,
    generate_households,
    generate_ledger,
    generate_links,
    generate_person_policies,
    generate_policies,
    generate_profiles,
)
from matcher.events.compiler import compile_ruleset
from matcher.events.engine import EventEngine
from matcher.events.formula import to_json
from profiles.catalog import load_catalog
from profiles.derive import derive
from profiles.relations import RelatedFrame, related_frames, rows_with_members
from rules.ast import Arith
from rules.checker import Checker, Scope
from rules.compile_polars import compile_policies
from rules.compile_related import attach_related
from rules.interpret import evaluate_policy
from rules.ledger import AwardLedger, join_ledger
from rules.model import AllOf, Basis, Condition, Policy
from rules.parser import parse_expr
from rules.sets import bundled_sets
from tests.events.agreement import same_as_interpreter

SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _same_everywhere(policies: list[Policy], frame: pl.DataFrame, *, entity: str,
                     related: dict[str, RelatedFrame], as_of: dt.date, sets: Any,
                     ledger: AwardLedger | None = None) -> None:
    cat = load_catalog().entity(entity)
    compiled = compile_policies(policies, catalog=cat, sets=sets, as_of=as_of)
    columns: dict[str, Any] = {}
    for cp in compiled.values():
        columns.update(cp.related)
    lf = attach_related(frame.lazy(), key=cat.key, columns=columns, related=related)
    if ledger is not None:
        refs = {r for cp in compiled.values() for r in cp.ledger}
        lf = join_ledger(lf, ledger, refs, key=cat.key, as_of=as_of)
    exprs = []
    for pid, cp in compiled.items():
        exprs.append(cp.truth.alias(f"t:{pid}"))
        exprs += [c.truth.alias(f"c:{pid}:{c.condition.id}") for c in cp.conditions]
        if cp.amount is not None:
            exprs.append(cp.amount.alias(f"a:{pid}"))
    out = lf.select(exprs).collect()
    assert out.height == frame.height  # the joins neither drop nor repeat owners
    rows = rows_with_members(frame, cat.key, related)
    library = {p.id: p for p in policies}
    for i, row in enumerate(rows):
        got = out.row(i, named=True)
        for policy in policies:
            ref = evaluate_policy(policy, row, catalog=cat, sets=sets, as_of=as_of,
                                  library=library, ledger=ledger)
            for cid, truth in ref.conditions.items():
                assert got[f"c:{policy.id}:{cid}"] == truth, (policy.id, cid, row[cat.key])
            assert got[f"t:{policy.id}"] == ref.truth, (policy.id, row[cat.key])
            if policy.amount is not None:
                assert got[f"a:{policy.id}"] == ref.amount, (policy.id, row[cat.key])
    _event_engine_agrees(policies, frame, entity=entity, related=related, as_of=as_of,
                         sets=sets, ledger=ledger)


def _event_engine_agrees(policies: list[Policy], frame: pl.DataFrame, *, entity: str,
                         related: dict[str, RelatedFrame], as_of: dt.date, sets: Any,
                         ledger: AwardLedger | None) -> None:
    """The event engine, given the same members and ledger, decides each entity as the
    interpreter does: outcome (UNKNOWN included) and amount to the fen."""
    key = load_catalog().entity(entity).key
    members = rows_with_members(frame, key, related)
    with EventEngine(policies, entity=entity, as_of=as_of, sets=sets, related=related,
                     ledger=ledger) as engine:
        for row, with_members in zip(frame.iter_rows(named=True), members, strict=True):
            got = {o["policy_id"]: o for o in engine.evaluate_derived(str(row[key]), row)}
            same_as_interpreter(policies, with_members, got, as_of=as_of, ledger=ledger,
                                sets=sets, entity=entity)


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31))
def test_polars_equals_interpreter_on_generated_policies_over_hires(
        policy_seed: int, profile_seed: int) -> None:
    policies = generate_policies(6, seed=policy_seed, related=True)
    frame = generate_profiles(40, seed=profile_seed)
    links = generate_links(frame, seed=profile_seed + 1, mean_links=2.5)
    _same_everywhere(policies, frame, entity="enterprise", related=links, as_of=AS_OF,
                     sets=bench_sets())


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31),
       as_of=st.sampled_from([AS_OF, dt.date(2026, 1, 1), dt.date(2023, 12, 31)]))
def test_polars_equals_interpreter_on_generated_policies_over_hires_and_the_ledger(
        policy_seed: int, profile_seed: int, as_of: dt.date) -> None:
    policies = generate_policies(6, seed=policy_seed, related=True, ledger=True)
    frame = generate_profiles(40, seed=profile_seed, as_of=as_of)
    links = generate_links(frame, seed=profile_seed + 1, mean_links=2.5, as_of=as_of)
    ledger = generate_ledger(frame, policies, seed=profile_seed + 2, as_of=as_of)
    _same_everywhere(policies, frame, entity="enterprise", related=links, as_of=as_of,
                     sets=bench_sets(), ledger=ledger)


def test_generated_policies_read_the_ledger() -> None:
    policies = generate_policies(30, seed=3, ledger=True)
    refs = [r for p in policies for r in p.ledger_lookups]
    assert {r.kind for r in refs} == {"received", "amount"}
    assert any(r.own for r in refs) and any(not r.own for r in refs)
    assert any(isinstance(p.amount.rule.expr, Arith) for p in policies  # top-ups
               if p.amount is not None and hasattr(p.amount.rule, "expr"))


def test_generated_policies_do_aggregate() -> None:
    policies = generate_policies(30, seed=3, related=True)
    assert sum(len(p.aggregates) for p in policies) >= 10


# ---- households: generated people, registers and expressions ----------------------------

_IDS = ["110105194912310021", "11010519491231002X", "110105200001010014",
        "110105197001010013", "110105198001010016", "110105195501010018",
        "110105196001010025", "110105199001010017"]
_PERSON_EXPRS = [
    "spouse.age >= 49",
    "spouse.birth_date >= 1933-01-01",
    'spouse.sex = "女"',
    "count(household.members where age >= 18) >= 2",
    'count(household.members where relation = "子女" and age < 18) = 0',
    "any(household.members where disability_grade <= 2)",
    "all(household.members where age >= 16)",
    "sum(household.members.age) > 120",
    "sum(household.members.age where employed) / count(household.members) >= 30",
    "min(household.members.age where relation = \"子女\") < 18",
    "max(household.members.birth_date) >= 1990-01-01",
    "count(household.members) - count(household.members where employed) <= 1",
    'all(spouse where birth_date >= 1933-01-01) and (sex = "女" and age >= 49 '
    'or sex = "男" and spouse.age >= 49)',
]


@st.composite
def _households(draw: st.DrawFn) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = draw(st.integers(2, len(_IDS)))
    ids = _IDS[:n]
    people = pl.DataFrame({
        "id_number": ids,
        "birth_date": [draw(st.none() | st.dates(dt.date(1925, 1, 1), dt.date(2020, 1, 1)))
                       for _ in ids],
        "employed": [draw(st.none() | st.booleans()) for _ in ids],
        "disability_grade": [draw(st.none() | st.integers(1, 4)) for _ in ids],
    }, schema={"id_number": pl.String, "birth_date": pl.Date, "employed": pl.Boolean,
               "disability_grade": pl.Int64})
    rows = []
    for i, pid in enumerate(ids):
        if draw(st.integers(0, 9)) == 0:
            continue  # not in the register: household UNKNOWN
        house = draw(st.sampled_from(["H1", "H2"]))
        relation = "户主" if i < 2 else draw(st.sampled_from(["配偶", "子女", "父母", "其他"]))
        rows.append({"household_id": house, "id_number": pid, "relation": relation})
    register = pl.DataFrame(rows, schema={"household_id": pl.String,
                                          "id_number": pl.String, "relation": pl.String})
    # one 户主 and at most one 配偶 per household, as validation guarantees
    register = register.filter(
        (pl.col("relation") != "户主") | (pl.int_range(pl.len()).over("household_id",
                                                                         "relation") == 0))
    register = register.filter(
        (pl.col("relation") != "配偶") | (pl.int_range(pl.len()).over("household_id",
                                                                         "relation") == 0))
    return people, register


def _policy(expr_text: str, entity: str = "person") -> Policy:
    scope = Scope(entity=load_catalog().entity(entity), sets=bundled_sets(), file="t.yaml")
    checker = Checker(scope)
    expr = checker.condition(parse_expr(expr_text))
    assert not checker.problems, checker.problems
    return Policy(id="p", title="t", entity=entity, basis=Basis(document="t"),  # type: ignore[arg-type]
                  effective_from=dt.date(2020, 1, 1), effective_to=None, delivery="direct",
                  eligibility=AllOf(children=(Condition(id="c1", expr=expr, label="c"),)))


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), people_seed=st.integers(0, 2**31),
       as_of=st.sampled_from([AS_OF, dt.date(2026, 1, 1)]))
def test_polars_equals_interpreter_on_generated_policies_over_households(
        policy_seed: int, people_seed: int, as_of: dt.date) -> None:
    persons, related = generate_households(15, seed=people_seed, as_of=as_of)
    _same_everywhere(generate_person_policies(5, seed=policy_seed), persons, entity="person",
                     related=related, as_of=as_of, sets=bench_sets())


def test_generated_household_policies_cover_every_aggregate() -> None:
    aggs = [a for p in generate_person_policies(30, seed=5) for a in p.aggregates]
    assert {(a.func, a.relation) for a in aggs} >= {
        ("count", "household.members"), ("sum", "household.members"),
        ("min", "household.members"), ("max", "household.members"), ("max", "spouse")}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_households(), text=st.sampled_from(_PERSON_EXPRS))
def test_polars_equals_interpreter_over_households(
        data: tuple[pl.DataFrame, pl.DataFrame], text: str) -> None:
    people, register = data
    as_of = dt.date(2025, 6, 30)
    persons = derive(people, entity="person", as_of=as_of).collect()
    related = related_frames(persons=persons, households=register)
    _same_everywhere([_policy(text)], persons, entity="person", related=related,
                     as_of=as_of, sets=bundled_sets())


# ---- decided by the range ---------------------------------------------------------------


def _members(*ages: int | None) -> list[dict[str, Any]]:
    return [{"age": a, "relation": "子女"} for a in ages]


@pytest.mark.parametrize(("ages", "want"), [
    ((20, 30, None), True),  # two known adults: >= 2 whatever the third is
    ((20, None, None), None),  # one known, two possible
    ((20, 10, 5), False),  # decided FALSE
    ((20, 10, None), None),
])
def test_unknown_member_makes_a_count_a_range(ages: tuple[int | None, ...],
                                              want: bool | None) -> None:
    policy = _policy("count(household.members where age >= 18) >= 2")
    row = {"household.members": _members(*ages)}
    got = evaluate_policy(policy, row, catalog=load_catalog().entity("person"),
                          sets=bundled_sets(), as_of=AS_OF, library={})
    assert got.truth is want


def test_owner_not_on_record_is_unknown_not_zero() -> None:
    policy = _policy("count(household.members where age >= 18) = 0")
    cat = load_catalog().entity("person")
    off = evaluate_policy(policy, {"household.members": None}, catalog=cat,
                          sets=bundled_sets(), as_of=AS_OF, library={})
    empty = evaluate_policy(policy, {"household.members": []}, catalog=cat,
                            sets=bundled_sets(), as_of=AS_OF, library={})
    assert (off.truth, empty.truth) == (None, True)


def test_a_relation_without_data_is_unknown_in_the_plan() -> None:
    policy = _policy("count(hires where insured_months >= 3) >= 1", entity="enterprise")
    cat = catalog()
    frame = generate_profiles(5, seed=1)
    compiled = compile_policies([policy], catalog=cat, sets=bench_sets(), as_of=AS_OF)["p"]
    lf = attach_related(frame.lazy(), key="uscc", columns=compiled.related, related={})
    assert lf.select(compiled.truth).collect().to_series().null_count() == 5


# ---- refusals, located ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code", "column"), [
    ("count(househld.members) >= 1", "unknown-relation", 1),
    ("household.members.age >= 1", "type-mismatch", 1),
    ("count(household.members where count(spouse) >= 1) >= 1", "unsupported", 1),
    ("count(household.members where wage_base > 1) >= 1", "unknown-field", 31),
])
def test_checker_refuses_with_position(text: str, code: str, column: int) -> None:
    checker = Checker(Scope(entity=load_catalog().entity("person"), sets=bundled_sets(),
                            file="t.yaml"))
    checker.condition(parse_expr(text))
    assert [(p.code, p.column) for p in checker.problems][:1] == [(code, column)]


def test_hires_filter_reads_link_and_person_fields_by_label() -> None:
    checker = Checker(Scope(entity=load_catalog().entity("enterprise"), sets=bundled_sets(),
                            file="t.yaml"))
    out = checker.condition(parse_expr("count(招用人员 其中 参保月数 >= 3 且 年龄 < 35) >= 2"))
    assert not checker.problems
    assert "insured_months" in str(out) and "'age'" in str(out)


def test_event_engine_compiles_a_count_to_tests_on_its_interval_bounds() -> None:
    policy = _policy("count(hires where insured_months >= 3) >= 1", entity="enterprise")
    rs = compile_ruleset([policy], catalog=catalog(), sets=bench_sets(), as_of=AS_OF)
    true, false = (to_json(f) for f in (rs.question("elig|p").true,
                                         rs.question("elig|p").false))
    lo, hi = rs.plan.aggregates[next(iter(rs.plan.aggregates))]
    # TRUE when the least possible count reaches 1, FALSE when the greatest cannot
    assert true == {"$gte": {f"f_{lo}": 1}} and false == {"$lt": {f"f_{hi}": 1}}
