"""Sugar is rewritten by the parser into the core (docs/grammar.md, "The core"): a range, a
``between``, a Chinese comparison word parse to exactly the core nodes an officer could have
written by hand, so no target ever sees them."""

from __future__ import annotations

import pytest

from rules import ast
from rules.errors import PolicyError
from rules.parser import BOUND_WORDS, COMPARE_WORDS, parse_expr


@pytest.mark.parametrize(("sugar", "core"), [
    ("0 < employees <= 300万", "0 < employees and employees <= 300万"),
    ("1 <= a < b <= 9", "1 <= a and a < b and b <= 9"),
    ("employees between 10 and 300", "10 <= employees and employees <= 300"),
    ("employees 介于 10 和 300 之间", "10 <= employees and employees <= 300"),
    ("employees 介于 10 与 300 之间 且 x = 1",
     "(10 <= employees and employees <= 300) and x = 1"),
    ("employees between 1 and 2 and x > 3", "(1 <= employees and employees <= 2) and x > 3"),
    ("从业人数 不超过 300万", "从业人数 <= 300万"),
    ("从业人数 不高于 300万", "从业人数 <= 300万"),
    ("营业收入 不低于 2000万", "营业收入 >= 2000万"),
    ("营业收入 不少于 2000万", "营业收入 >= 2000万"),
    ("营业收入 超过 2000万", "营业收入 > 2000万"),
    ("营业收入 低于 2000万", "营业收入 < 2000万"),
    ("年龄 等于 60", "年龄 = 60"),
    ("年龄 不等于 60", "年龄 != 60"),
    ("count(hires where insured_months 不少于 3) 不低于 2",
     "count(hires where insured_months >= 3) >= 2"),
    ("any(hires where age < 35)", "count(hires where age < 35) >= 1"),
    ("all(hires where age < 35)", "count(hires where not age < 35) = 0"),
    ('first_time("p")', 'not received("p")'),
    # bounds written after the value include it (以上、以下、以内); 不足、未满 exclude it
    ("从业人数 在 300 以下", "从业人数 <= 300"),
    ("从业人数 300以下", "从业人数 <= 300"),
    ("年应纳税所得额 在 300万 以下", "年应纳税所得额 <= 300万"),
    ("年龄 60以上", "年龄 >= 60"),
    ("年龄 在 60 以上", "年龄 >= 60"),
    ("years_since(毕业日期) 在 2 以内", "years_since(毕业日期) <= 2"),
    ("x 在 a + 1 以上", "x >= a + 1"),
    ("从业人数 不足 300", "从业人数 < 300"),
    ("年龄 未满 18", "年龄 < 18"),
    ("年龄 不超过 35", "年龄 <= 35"),
    ("年龄 不低于 16 且 年龄 在 60 以下", "年龄 >= 16 and 年龄 <= 60"),
    ("count(hires where insured_months 在 3 以上) 不足 2",
     "count(hires where insured_months >= 3) < 2"),
])
def test_sugar_parses_to_the_core(sugar: str, core: str) -> None:
    assert parse_expr(sugar) == parse_expr(core)


def test_every_comparison_word_maps_to_a_core_operator() -> None:
    ops = set(ast.CompareOp.__args__)  # type: ignore[attr-defined]
    assert set(COMPARE_WORDS.values()) <= ops
    for word, op in COMPARE_WORDS.items():
        got = parse_expr(f"x {word} 1")
        assert isinstance(got, ast.Compare) and got.op == op, word


def test_no_sugar_node_reaches_the_ast() -> None:
    text = "0 < employees <= 300万 and x between 1 and 2 or y 不超过 3"
    assert {type(n) for n in parse_expr(text).walk()} <= set(ast.CORE)


def test_a_comparison_word_is_a_whole_word() -> None:
    # glued to a name it is part of the name, as every keyword (write `x 不超过 3`)
    got = parse_expr("超过天数 > 3")
    assert isinstance(got, ast.Compare) and isinstance(got.left, ast.FieldRef)
    assert got.left.name == "超过天数"


def test_every_bound_word_maps_to_a_core_operator() -> None:
    ops = set(ast.CompareOp.__args__)  # type: ignore[attr-defined]
    assert set(BOUND_WORDS.values()) <= ops
    for word, op in BOUND_WORDS.items():
        for text in (f"x 在 1 {word}", f"x 1{word}"):
            got = parse_expr(text)
            assert isinstance(got, ast.Compare) and got.op == op, text
            assert isinstance(got.right, ast.Number) and got.right.value == 1, text


def test_a_bound_word_keeps_the_position_of_its_bound() -> None:
    got = parse_expr("从业人数 300以下")
    assert isinstance(got, ast.Compare) and got.right.pos == ast.Pos(1, 6)


def test_a_bound_word_needs_its_bound() -> None:
    with pytest.raises(PolicyError):
        parse_expr("从业人数 在 以下")
    with pytest.raises(PolicyError):
        parse_expr("从业人数 以下")


def test_at_is_a_whole_word() -> None:
    got = parse_expr("在职人数 在 10 以上")
    assert isinstance(got, ast.Compare) and isinstance(got.left, ast.FieldRef)
    assert (got.left.name, got.op) == ("在职人数", ">=")
