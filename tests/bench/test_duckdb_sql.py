"""Where SQL differs from the rule language, the DuckDB compilation says what we mean."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from bench.generate import AS_OF, bench_sets, catalog
from bench.peers import duckdb_sql, numpy_eval
from rules import ast as A
from rules.errors import UnsupportedNode
from rules.model import AllOf, Amount, Basis, Condition, FormulaAmount, Policy


def _policy(expr: A.Expr, amount: A.Expr | None = None) -> Policy:
    return Policy(
        id="p", title="测试", entity="enterprise", basis=Basis(document="测试"),
        effective_from=dt.date(2020, 1, 1), effective_to=None, delivery="direct",
        eligibility=AllOf(children=(Condition(id="c1", expr=expr, label="条件"),)),
        amount=None if amount is None else Amount(rule=FormulaAmount(expr=amount),
                                                  period="once"),
    )


def _run(frame: pl.DataFrame, policy: Policy, engine: str = "duckdb") -> pl.DataFrame:
    mod = duckdb_sql if engine == "duckdb" else numpy_eval
    return mod.evaluate(frame, [policy], catalog=catalog(), sets=bench_sets(), as_of=AS_OF)


F = A.FieldRef


@pytest.mark.parametrize("engine", ["duckdb", "numpy"])
def test_division_by_zero_is_unknown_not_infinite(engine: str) -> None:
    frame = pl.DataFrame({"rd_expense": [5.0, 5.0], "operating_revenue": [0.0, 100.0]})
    ratio = A.Arith(op="/", left=F(name="rd_expense"), right=F(name="operating_revenue"))
    out = _run(frame, _policy(A.Compare(op=">=", left=ratio, right=A.Number(value=0.03)),
                              amount=ratio), engine)
    assert out["p"].to_list() == [None, True]
    assert out["p.amount"].to_list() == [None, 0.05]


@pytest.mark.parametrize("engine", ["duckdb", "numpy"])
def test_min_with_an_unknown_argument_is_unknown(engine: str) -> None:
    frame = pl.DataFrame({"employees": [10, None], "insured_employees": [None, 4]},
                         schema={"employees": pl.Int64, "insured_employees": pl.Int64})
    low = A.Call(func="min", args=(F(name="employees"), F(name="insured_employees")))
    out = _run(frame, _policy(A.Compare(op="<", left=low, right=A.Number(value=100)),
                              amount=low), engine)
    assert out["p"].to_list() == [None, None]
    assert out["p.amount"].to_list() == [None, None]


@pytest.mark.parametrize("engine", ["duckdb", "numpy"])
def test_years_since_counts_the_anniversary_on_the_as_of_date(engine: str) -> None:
    founded = [dt.date(AS_OF.year - 3, AS_OF.month, AS_OF.day),
               dt.date(AS_OF.year - 3, AS_OF.month, AS_OF.day) + dt.timedelta(days=1)]
    frame = pl.DataFrame({"founded_on": founded})
    years = A.Call(func="years_since", args=(F(name="founded_on"),))
    out = _run(frame, _policy(A.Compare(op=">=", left=years, right=A.Number(value=3))),
               engine)
    assert out["p"].to_list() == [True, False]


@pytest.mark.parametrize("engine", ["duckdb", "numpy"])
def test_industry_set_matches_by_code_prefix(engine: str) -> None:
    frame = pl.DataFrame({"industry_code": ["1610", "6110", "6310", None]})
    member = A.In(item=F(name="industry_code"), container=A.SetRef(name="加计扣除负面清单行业"))
    assert _run(frame, _policy(member), engine)["p"].to_list() == [True, True, False, None]


@pytest.mark.parametrize("engine", ["duckdb", "numpy"])
def test_empty_list_field_decides_equal_false_and_not_equal_true(engine: str) -> None:
    frame = pl.DataFrame({"little_giant_on": [None, dt.date(2025, 3, 1)]},
                         schema={"little_giant_on": pl.Date})
    year = A.Call(func="year", args=(F(name="little_giant_on"),))
    eq = _run(frame, _policy(A.Compare(op="=", left=year, right=A.Number(value=2025))), engine)
    ne = _run(frame, _policy(A.Compare(op="!=", left=year, right=A.Number(value=2025))), engine)
    assert eq["p"].to_list() == [False, True]
    assert ne["p"].to_list() == [True, False]


@pytest.mark.parametrize("engine", ["duckdb", "numpy"])
def test_bare_blacklist_flag_that_is_empty_is_false(engine: str) -> None:
    frame = pl.DataFrame({"serious_dishonesty": [None, True]}, schema={
        "serious_dishonesty": pl.Boolean})
    out = _run(frame, _policy(A.Not(item=F(name="serious_dishonesty"))), engine)
    assert out["p"].to_list() == [True, False]


@pytest.mark.parametrize("engine", ["duckdb", "numpy"])
def test_other_policy_reference_is_reported_unsupported(engine: str) -> None:
    frame = pl.DataFrame({"employees": [1]})
    with pytest.raises(UnsupportedNode, match="PolicyRef"):
        _run(frame, _policy(A.PolicyRef(policy_id="other")), engine)


def test_string_literals_are_quoted_in_sql() -> None:
    c = duckdb_sql.SqlCompiler(catalog=catalog(), sets=bench_sets(), as_of=AS_OF,
                               parameters={})
    assert c.value(A.String(value="it's")) == "'it''s'"
    assert c.value(F(name='we"ird')) == '"we""ird"'
