"""The parser: literals with Chinese units, Chinese keywords, positions in the policy file,
and round trips through the printer (parse(print(ast)) == ast)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules import ast
from rules.errors import PolicyError
from rules.parser import parse_expr, parse_number
from rules.printer import to_source

NAMES = ["employees", "从业人数", "x_1", "3岁以下子女数", "国家限制和禁止行业", "andy",
         "或者数", "是否健在", "高新技术产品(服务)收入"]


@pytest.mark.parametrize(("text", "value", "unit"), [
    ("300万", 3_000_000, None), ("2亿", 200_000_000, None), ("1.5万", 15_000, None),
    ("5.5%", 0.055, "ratio"), ("3_000_000", 3_000_000, None), ("20%", 0.2, "ratio"),
    ("0.5", 0.5, None),
])
def test_numbers_with_chinese_units(text: str, value: float, unit: str | None) -> None:
    number = parse_number(text)
    assert (number.value, number.unit, number.text) == (value, unit, text)


@pytest.mark.parametrize(("chinese", "english"), [
    ("a 且 b", "a and b"), ("a 或 b", "a or b"), ("非 a", "not a"),
    ("x 为空", "x is empty"), ("x 已知", "x is known"), ("x is not empty", "x is known"),
    ("是", "true"), ("否", "false"), ("评估日", "as_of"),
    ('符合("cit-small-low-profit")', 'eligible("cit-small-low-profit")'),
    ("x ≤ 1", "x <= 1"), ("x ≥ 1", "x >= 1"), ("x ≠ 1", "x != 1"), ("x == 1", "x = 1"),
    ("x = 'a'", 'x = "a"'),
])
def test_chinese_keywords_and_symbols_mean_the_same(chinese: str, english: str) -> None:
    assert parse_expr(chinese) == parse_expr(english)


def test_dates_are_iso_literals() -> None:
    assert parse_expr("birth_date >= 1933-01-01").right == ast.Date(value=dt.date(1933, 1, 1))


def test_positions_are_offset_into_the_policy_file() -> None:
    expr = parse_expr("status = \"存续\" and 从业人数 <= 300", line=12, column=14)
    assert isinstance(expr, ast.And)
    assert expr.items[1].pos == ast.Pos(12, 32)
    multi = parse_expr("a\n  and employes", line=10, column=5, indent=4)
    assert isinstance(multi, ast.And)
    assert multi.items[1].pos == ast.Pos(11, 11)


def test_syntax_error_names_what_was_expected_and_where() -> None:
    with pytest.raises(PolicyError) as info:
        parse_expr("employees <= <= 300", line=3, column=9, file="p.yaml")
    assert str(info.value.problems[0]) == (
        "p.yaml:3:22: [syntax-error] 期望 数值、文本、日期、名称、'('、'[' 或 '-'，"
        "实际为 '<='")


def test_eligible_needs_one_quoted_policy_id() -> None:
    with pytest.raises(PolicyError, match=r"\[syntax-error\] 期望 eligible"):
        parse_expr("eligible(x)")


# ---- round trips ------------------------------------------------------------------------

_number = st.one_of(
    st.integers(min_value=0, max_value=10**6).map(str),
    st.integers(min_value=1, max_value=999).map(lambda n: f"{n}万"),
    st.integers(min_value=1, max_value=9).map(lambda n: f"{n}亿"),
    st.tuples(st.integers(0, 99), st.integers(0, 9)).map(lambda t: f"{t[0]}.{t[1]}%"),
).map(parse_number)
_leaf = st.one_of(
    _number,
    st.text(alphabet='abc 存续"', max_size=4).map(lambda s: ast.String(value=s)),
    st.booleans().map(lambda b: ast.Bool(value=b)),
    st.dates(min_value=dt.date(1900, 1, 1)).map(lambda d: ast.Date(value=d)),
    st.just(ast.AsOf()),
    st.sampled_from(NAMES).map(lambda n: ast.FieldRef(name=n, written=n)),
    st.sampled_from(["a", "cit-small-low-profit"]).map(lambda p: ast.PolicyRef(policy_id=p)),
)
_names = st.sampled_from(NAMES).map(lambda n: ast.FieldRef(name=n, written=n))


def _extend(children: st.SearchStrategy[ast.Expr]) -> st.SearchStrategy[ast.Expr]:
    two = st.lists(children, min_size=2, max_size=3).map(tuple)
    lists = st.lists(_leaf, max_size=3).map(lambda xs: ast.ListLit(items=tuple(xs)))
    return st.one_of(
        st.builds(ast.Compare, op=st.sampled_from(["<", "<=", ">", ">=", "=", "!="]),
                  left=children, right=children),
        st.builds(ast.In, item=children, container=lists | _names, negated=st.booleans()),
        st.builds(ast.IsEmpty, item=children, negated=st.booleans()),
        two.map(lambda xs: ast.And(items=xs)),
        two.map(lambda xs: ast.Or(items=xs)),
        st.builds(ast.Not, item=children),
        st.builds(ast.Arith, op=st.sampled_from(["+", "-", "*", "/"]), left=children,
                  right=children),
        st.builds(ast.Neg, item=children),
        st.builds(ast.Call, func=st.sampled_from(["min", "max"]),
                  args=st.lists(children, min_size=1, max_size=3).map(tuple)),
        st.builds(ast.Call, func=st.sampled_from(["abs", "year", "years_since",
                                                  "months_since"]),
                  args=children.map(lambda c: (c,))),
        lists,
    )


expressions = st.recursive(_leaf, _extend, max_leaves=12)


@settings(max_examples=300, deadline=None)
@given(expr=expressions)
def test_parse_of_printed_ast_is_the_same_ast(expr: ast.Expr) -> None:
    assert parse_expr(to_source(expr)) == expr
