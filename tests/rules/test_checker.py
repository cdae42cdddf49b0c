"""The type checker: name resolution (names, Chinese labels, parameters, sets, regions),
types and units, suggestions, and that every problem of an expression is reported."""

from __future__ import annotations

import datetime as dt

import pytest

from profiles.catalog import load_catalog
from rules import ast
from rules.checker import Checker, Scope
from rules.model import DatedValue, Parameter
from rules.parser import parse_expr
from rules.sets import bundled_sets


def _checker(entity: str = "enterprise") -> Checker:
    rate = Parameter(name="rate", values=(DatedValue(since=dt.date(2023, 1, 1),
                                                     value=ast.Number(value=0.2, unit="ratio",
                                                                      text="20%")),))
    return Checker(Scope(entity=load_catalog().entity(entity), sets=bundled_sets(),
                         file="p.yaml", parameters={"rate": rate}))


def _problems(text: str, *, entity: str = "enterprise", amount: bool = False) -> list[str]:
    checker = _checker(entity)
    expr = parse_expr(text)
    if amount:
        checker.number(expr)
    else:
        checker.condition(expr)
    return [f"{p.code}: {p.message}" + (f" ({p.suggestion})" if p.suggestion else "")
            for p in checker.problems]


def test_chinese_label_resolves_to_the_same_field_as_the_name() -> None:
    checker = _checker()
    chinese = checker.condition(parse_expr("从业人数 <= 300"))
    english = checker.condition(parse_expr("employees <= 300"))
    assert isinstance(chinese, ast.Compare) and isinstance(english, ast.Compare)
    assert chinese.left == ast.FieldRef(name="employees", written="从业人数")
    assert english.left == ast.FieldRef(name="employees", written="employees")
    assert not checker.problems


def test_resolution_order_parameter_field_set_region() -> None:
    checker = _checker()
    expr = checker.condition(parse_expr(
        "annual_taxable_income * rate > 0 and industry_code in 国家限制和禁止行业 "
        "and district in 广州市"))
    assert isinstance(expr, ast.And)
    kinds = [type(n).__name__ for n in expr.walk()
             if isinstance(n, ast.ParamRef | ast.SetRef | ast.RegionRef)]
    assert kinds == ["ParamRef", "SetRef", "RegionRef"]
    region = next(n for n in expr.walk() if isinstance(n, ast.RegionRef))
    assert region.prefix == "4401"
    assert not checker.problems


@pytest.mark.parametrize("text", [
    "annual_taxable_income * 20% <= 300万",        # ratio x money -> money
    "high_tech_revenue / operating_revenue >= 60%",  # money / money -> ratio
    "tech_staff / employees >= 10%",                 # person / person -> ratio
    "layoff_rate <= 5.5%",                           # ratio vs % literal
    "employees <= 300",                              # plain literal vs any unit
    "min(operating_revenue, total_assets) > 2亿",
    "years_since(founded_on) >= years_since_founding",
    "year(little_giant_on) = 2025",
    "status in [\"存续\", \"吊销\"]",
    "founded_on < as_of",
])
def test_well_typed_expressions_have_no_problem(text: str) -> None:
    assert _problems(text) == []


@pytest.mark.parametrize(("text", "expected"), [
    ("operating_revenue > 5%", "unit-mismatch: expected a value in yuan (元) to compare with "
     "operating_revenue, got ratio (%) 5%"),
    ("operating_revenue + employees > 0", "unit-mismatch: expected both sides of '+' in one "
     "unit, got yuan (元) and persons (人) in operating_revenue + employees"),
    ("employees > \"300\"", "type-mismatch: expected a number to compare with employees, got "
     "a string \"300\""),
    ("founded_on > 5", "type-mismatch: expected a date to compare with founded_on, got a "
     "number 5"),
    ("serious_dishonesty * 2 > 1", "type-mismatch: expected a number for '*', got bool used "
     "as a number serious_dishonesty"),
    ("employees", "type-mismatch: expected a true/false condition, got a number employees"),
    ("status = \"存在\"", "unknown-value: expected one of 存续, 吊销, 注销 for status (登记状态), "
     "got '存在' (存续)"),
    ("employes <= 300", "unknown-field: expected a field of the enterprise catalog or a "
     "parameter, got 'employes' (employees)"),
    ("industry_code in 国家禁止行业", "unknown-set: expected a named set, got '国家禁止行业' "
     "(国家限制和禁止行业)"),
    ("district in 深圳", "unknown-region: expected a region name (GB/T 2260), got '深圳' (深圳市)"),
    ("status < \"存续\"", "type-mismatch: expected numbers or dates around '<', got a string "
     "status"),
    ("employees in 广州市", "type-mismatch: expected a code string before 'in 广州市', got a "
     "number employees"),
])
def test_problems_say_what_was_expected_and_what_came(text: str, expected: str) -> None:
    assert _problems(text) == [expected]


def test_every_problem_of_an_expression_is_reported() -> None:
    found = _problems("employes <= 300 and operating_revenue > 5% and status = \"存在\"")
    assert [p.split(":")[0] for p in found] == ["unknown-field", "unit-mismatch",
                                                 "unknown-value"]


def test_amount_must_be_a_number() -> None:
    assert _problems("status = \"存续\"", amount=True) == [
        "type-mismatch: expected a number for an amount, got a true/false condition "
        "status = \"存续\""]


def test_person_fields_are_not_enterprise_fields() -> None:
    assert _problems("age >= 65")[0].startswith("unknown-field")
    assert _problems("age >= 65", entity="person") == []
