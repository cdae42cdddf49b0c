"""and / or / not follow Kleene logic: the compiled polars expression, the reference
interpreter and the truth table agree for every combination of TRUE, FALSE and UNKNOWN."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.catalog import load_catalog
from rules.checker import Checker, Scope
from rules.compile_polars import compile_policies
from rules.interpret import evaluate_policy
from rules.model import Basis, Condition, Policy
from rules.parser import parse_expr
from rules.sets import bundled_sets

T, F, U = True, False, None
AND = {(T, T): T, (T, F): F, (T, U): U, (F, T): F, (F, F): F, (F, U): F,
       (U, T): U, (U, F): F, (U, U): U}
OR = {(T, T): T, (T, F): T, (T, U): T, (F, T): T, (F, F): F, (F, U): U,
      (U, T): T, (U, F): U, (U, U): U}
NOT = {T: F, F: T, U: U}
PERSON = load_catalog().entity("person")
AS_OF = dt.date(2025, 1, 1)
truth = st.sampled_from([T, F, U])


def _policy(text: str) -> Policy:
    checker = Checker(Scope(entity=PERSON, sets=bundled_sets(), file="<test>"))
    cond = Condition(id="c1", expr=checker.condition(parse_expr(text)), label="测试")
    assert not checker.problems
    return Policy(id="kleene", title="测试", entity="person", basis=Basis(document="测试"),
                  effective_from=dt.date(2020, 1, 1), effective_to=None, delivery="notice",
                  eligibility=cond)


def _both(text: str, alive: bool | None, employed: bool | None) -> tuple[object, object]:
    policy = _policy(text)
    compiled = compile_policies([policy], catalog=PERSON, sets=bundled_sets(), as_of=AS_OF)
    df = pl.DataFrame({"alive": [alive], "employed": [employed]},
                      schema={"alive": pl.Boolean, "employed": pl.Boolean})
    polars_value = df.select(compiled["kleene"].truth.alias("t"))["t"][0]
    ref = evaluate_policy(policy, {"alive": alive, "employed": employed}, catalog=PERSON,
                          sets=bundled_sets(), as_of=AS_OF, library={})
    return polars_value, ref.truth


@settings(max_examples=30, deadline=None)
@given(a=truth, b=truth)
def test_and_is_kleene(a: bool | None, b: bool | None) -> None:
    assert _both("alive and employed", a, b) == (AND[a, b], AND[a, b])
    assert _both("alive 且 employed", a, b) == (AND[a, b], AND[a, b])


@settings(max_examples=30, deadline=None)
@given(a=truth, b=truth)
def test_or_is_kleene(a: bool | None, b: bool | None) -> None:
    assert _both("alive or employed", a, b) == (OR[a, b], OR[a, b])
    assert _both("是否健在 或 是否就业", a, b) == (OR[a, b], OR[a, b])


@settings(max_examples=10, deadline=None)
@given(a=truth)
def test_not_is_kleene(a: bool | None) -> None:
    assert _both("not alive", a, None) == (NOT[a], NOT[a])
    assert _both("非 alive", a, None) == (NOT[a], NOT[a])


@settings(max_examples=10, deadline=None)
@given(a=truth)
def test_is_empty_and_is_known_are_never_unknown(a: bool | None) -> None:
    assert _both("alive is empty", a, None) == (a is None, a is None)
    assert _both("alive is known", a, None) == (a is not None, a is not None)
