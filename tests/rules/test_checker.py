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
    ("operating_revenue > 5%", "unit-mismatch: 期望与 operating_revenue 比较的值单位为 元，"
     "实际为 百分比(%) 5%"),
    ("operating_revenue + employees > 0", "unit-mismatch: 期望 '+' 两边单位相同，实际为 "
     "operating_revenue + employees 中的 元 和 人"),
    ("employees > \"300\"", "type-mismatch: 期望与 employees 比较的值为数值，实际为 "
     "文本 \"300\""),
    ("founded_on > 5", "type-mismatch: 期望与 founded_on 比较的值为日期，实际为 数值 5"),
    ("serious_dishonesty * 2 > 1", "type-mismatch: 期望 '*' 的操作数为数值，实际为 "
     "被当作数值的真/假值 serious_dishonesty"),
    ("employees", "type-mismatch: 期望真/假条件，实际为 数值 employees"),
    # one character apart is no typo between two-character values (吊销/注销): no guess
    ("status = \"存在\"", "unknown-value: 期望 status(登记状态) 为 存续、吊销、注销 之一，"
     "实际为 '存在'"),
    ("vat_taxpayer_type = \"小规模\"", "unknown-value: 期望 vat_taxpayer_type(增值税纳税人类型) 为 "
     "一般纳税人、小规模纳税人 之一，实际为 '小规模' (小规模纳税人)"),
    ("employes <= 300", "unknown-field: 期望 enterprise 目录中的字段或参数，实际为 "
     "'employes' (employees)"),
    ("industry_code in 国家禁止行业", "unknown-set: 期望命名集合，实际为 '国家禁止行业' "
     "(国家限制和禁止行业)"),
    ("district in 深圳", "unknown-region: 期望行政区划名称(GB/T 2260)，实际为 '深圳' "
     "(深圳市)"),
    ("status < \"存续\"", "type-mismatch: 期望 '<' 两边为数值或日期，实际为 文本 status"),
    ("employees in 广州市", "type-mismatch: 期望 'in 广州市' 前为代码文本，实际为 "
     "数值 employees"),
])
def test_problems_say_what_was_expected_and_what_came(text: str, expected: str) -> None:
    assert _problems(text) == [expected]


def test_every_problem_of_an_expression_is_reported() -> None:
    found = _problems("employes <= 300 and operating_revenue > 5% and status = \"存在\"")
    assert [p.split(":")[0] for p in found] == ["unknown-field", "unit-mismatch",
                                                 "unknown-value"]


def test_amount_must_be_a_number() -> None:
    assert _problems("status = \"存续\"", amount=True) == [
        "type-mismatch: 期望金额为数值，实际为 真/假条件 status = \"存续\""]


def test_person_fields_are_not_enterprise_fields() -> None:
    assert _problems("age >= 65")[0].startswith("unknown-field")
    assert _problems("age >= 65", entity="person") == []
