"""Multi-year data: the sugar the parser rewrites, the checker's located refusals, three
values over missing years, and the polars plan equal to the reference interpreter on
generated policies over yearly fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import AS_OF, bench_sets, generate_policies, generate_profiles
from bench.generate_yearly import add_yearly
from profiles.catalog import load_catalog
from rules import ast
from rules.checker import Checker, Scope
from rules.compile_polars import compile_policies
from rules.errors import PolicyError
from rules.interpret import evaluate_policy
from rules.model import AllOf, Basis, Condition, DatedValue, Parameter, Policy, amount_exprs
from rules.parser import parse_expr
from rules.printer import to_source
from rules.sets import bundled_sets
from rules.years import bind_expr, bind_policy

ENT = load_catalog().entity("enterprise")
SETTINGS = settings(max_examples=10, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _check(text: str, parameters: dict[str, Parameter] | None = None
           ) -> tuple[ast.Expr, Checker]:
    checker = Checker(Scope(entity=ENT, sets=bundled_sets(), file="p.yaml",
                            parameters=parameters or {}))
    return checker.condition(parse_expr(text, line=3, column=11)), checker


def _policy(text: str, parameters: dict[str, Parameter] | None = None) -> Policy:
    expr, checker = _check(text, parameters)
    assert not checker.problems, checker.problems
    return Policy(id="p", title="p", entity="enterprise", basis=Basis(document="d"),
                  effective_from=dt.date(2000, 1, 1), effective_to=None, delivery="direct",
                  eligibility=AllOf(children=(Condition(id="c1", expr=expr, label="c"),)),
                  parameters=parameters or {})


def _truth(text: str, row: dict[str, Any], *, as_of: dt.date = dt.date(2026, 6, 30),
           parameters: dict[str, Parameter] | None = None) -> bool | None:
    """The interpreter's answer, checked against the polars plan on the same row."""
    policy = _policy(text, parameters)
    ref = evaluate_policy(policy, row, catalog=ENT, sets=bundled_sets(), as_of=as_of,
                          library={"p": policy})
    cp = compile_policies([policy], catalog=ENT, sets=bundled_sets(), as_of=as_of)["p"]
    columns = sorted(cp.fields)
    frame = pl.DataFrame([{c: row.get(c) for c in columns}],
                         schema={c: pl.Float64 for c in columns})
    assert frame.select(cp.truth.alias("t"))["t"][0] == ref.truth
    return ref.truth


# ---- sugar and binding ------------------------------------------------------------------


def test_a_window_ends_in_the_last_closed_year_by_default() -> None:
    bound = bind_expr(parse_expr("sum(研发费用, years = 3) > 0"), as_of=dt.date(2026, 3, 1),
                      parameters={})
    assert to_source(bound) == "研发费用[2023] + 研发费用[2024] + 研发费用[2025] > 0"


def test_until_moves_the_window_and_growth_reads_two_adjacent_years() -> None:
    e = parse_expr("avg(employees, years = 2, until = 2022) >= 10")
    assert to_source(bind_expr(e, as_of=AS_OF, parameters={})) == \
        "(employees[2021] + employees[2022]) / 2 >= 10"
    g = parse_expr("增长率(营业收入, 2024) >= 10%")
    assert to_source(bind_expr(g, as_of=AS_OF, parameters={})) == \
        "(营业收入[2024] - 营业收入[2023]) / 营业收入[2023] >= 10%"


def test_a_year_may_come_from_a_dated_parameter() -> None:
    batch = Parameter(name="base_year", values=(
        DatedValue(since=dt.date(2025, 1, 1), value=ast.Number(value=2023)),
        DatedValue(since=dt.date(2026, 1, 1), value=ast.Number(value=2024))))
    row = {"operating_revenue_y2023": 50.0, "operating_revenue_y2024": 150.0}
    params = {"base_year": batch}
    assert _truth("operating_revenue[base_year] > 100", row, as_of=dt.date(2025, 6, 1),
                  parameters=params) is False
    assert _truth("operating_revenue[base_year] > 100", row, as_of=dt.date(2026, 6, 1),
                  parameters=params) is True


# ---- three values ------------------------------------------------------------------------


def test_a_missing_year_is_unknown_never_zero() -> None:
    row = {"rd_expense_y2023": 10.0, "rd_expense_y2025": 10.0}  # 2024 not on record
    assert _truth("sum(rd_expense, years = 3) >= 0", row) is None
    assert _truth("rd_expense[year(as_of) - 2] = 0", row) is None
    assert _truth("rd_expense[2024] is empty", row) is True


def test_one_known_year_below_the_bar_decides_min_false() -> None:
    row = {"operating_revenue_y2024": 90.0, "operating_revenue_y2025": None}
    assert _truth("min(operating_revenue, years = 2) >= 100", row) is False
    assert _truth("min(operating_revenue, years = 2) >= 80", row) is None
    assert _truth("max(operating_revenue, years = 2) >= 80", row) is True
    assert _truth("max(operating_revenue, years = 2) <= 80", row) is False
    assert _truth("min(operating_revenue, years = 2) = 90", row) is None
    assert _truth("min(operating_revenue, years = 2) = 95", row) is False
    assert _truth("100 <= min(operating_revenue, years = 2)", row) is False


def test_growth_from_zero_is_unknown_and_a_fall_is_negative() -> None:
    assert _truth("growth(tax_paid) >= 10%", {"tax_paid_y2024": 0.0,
                                              "tax_paid_y2025": 5.0}) is None
    assert _truth("growth(tax_paid) < 0%", {"tax_paid_y2024": 100.0,
                                            "tax_paid_y2025": 80.0}) is True
    assert _truth("growth(tax_paid) >= 10%", {"tax_paid_y2024": 100.0,
                                              "tax_paid_y2025": 110.0}) is True


def test_ratio_of_sums_is_not_the_mean_of_ratios() -> None:
    row = {"rd_expense_y2024": 1.0, "rd_expense_y2025": 9.0,
           "operating_revenue_y2024": 100.0, "operating_revenue_y2025": 100.0}
    # the ratios are 1% and 9% (mean 5%); the ratio of the sums is 10/200 = 5% as well,
    # but with unequal revenues they differ:
    row["operating_revenue_y2025"] = 300.0
    text = "sum(rd_expense, years = 2) / sum(operating_revenue, years = 2) >= 3%"
    assert _truth(text, row) is False  # 10 / 400 = 2.5%


# ---- the checker -------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "code", "column", "words"), [
    ("tax_paid > 5", "type-mismatch", 11, "按年度读取"),
    ("name[2024] = 'x'", "unknown-field", 11, "不按年度记录"),
    ("营收[2024] > 1", "unknown-field", 11, "按年度记录的字段"),
    ("营业收入[employees] > 1", "type-mismatch", 16, "评估日"),
    ("营业收入[2024.5] > 1", "type-mismatch", 16, "整数年度"),
])
def test_checker_refuses_with_position(text: str, code: str, column: int, words: str) -> None:
    _, checker = _check(text)
    assert [(p.code, p.line, p.column) for p in checker.problems] == [(code, 3, column)]
    assert words in checker.problems[0].message


@pytest.mark.parametrize("text", [
    "sum(rd_expense, years = 0) > 1", "avg(rd_expense, years = 2.5) > 1",
    "growth(rd_expense, years = 2) > 1", "sum(rd_expense, years = 2, years = 3) > 1",
])
def test_parser_refuses_a_badly_written_window(text: str) -> None:
    with pytest.raises(PolicyError) as err:
        parse_expr(text, line=5, column=9)
    problem = err.value.problems[0]
    assert (problem.line, problem.code) == (5, "syntax-error")
    assert "期望" in problem.message


# ---- generated policies: polars equals the interpreter -----------------------------------


@SETTINGS
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31))
def test_polars_equals_interpreter_on_generated_policies_over_yearly_fields(
        policy_seed: int, profile_seed: int) -> None:
    policies = generate_policies(6, seed=policy_seed, yearly=True)
    frame = add_yearly(generate_profiles(40, seed=profile_seed), seed=profile_seed + 1)
    sets = bench_sets()
    compiled = compile_policies(policies, catalog=ENT, sets=sets, as_of=AS_OF)
    exprs = []
    for pid, cp in compiled.items():
        exprs.append(cp.truth.alias(f"t:{pid}"))
        exprs += [c.truth.alias(f"c:{pid}:{c.condition.id}") for c in cp.conditions]
        if cp.amount is not None:
            exprs.append(cp.amount.alias(f"a:{pid}"))
    out = frame.select(exprs)
    library = {p.id: p for p in policies}
    for i, row in enumerate(frame.iter_rows(named=True)):
        got = out.row(i, named=True)
        for policy in policies:
            ref = evaluate_policy(policy, row, catalog=ENT, sets=sets, as_of=AS_OF,
                                  library=library)
            for cid, truth in ref.conditions.items():
                assert got[f"c:{policy.id}:{cid}"] == truth, (policy.id, cid, i)
            assert got[f"t:{policy.id}"] == ref.truth, (policy.id, i)
            if policy.amount is not None:
                assert got[f"a:{policy.id}"] == pytest.approx(ref.amount), (policy.id, i)


def test_generated_policies_do_read_yearly_fields() -> None:
    policies = generate_policies(30, seed=3, yearly=True)
    reading = [p for p in policies
               if any(ast.year_values(c.expr) for c in p.conditions)]
    assert len(reading) >= 10


def test_after_binding_only_core_nodes_remain() -> None:
    policies = generate_policies(20, seed=11, yearly=True)
    for policy in policies:
        bound = bind_policy(policy, AS_OF)
        for leaf in bound.conditions:
            assert {type(n) for n in leaf.expr.walk()} <= set(ast.CORE), leaf.expr
        assert not any(ast.year_values(e) for e in amount_exprs(bound.amount))
