"""Suggestions that do not mislead: a region resolves or is said to be unknown (never another
city), a shared region name lists its candidates, a field of the other entity is named as
such, and another city's policy or another legal status is never offered as a "typo"."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from matcher.evaluate import match_frame
from profiles.catalog import UnknownFieldError, load_catalog
from rules import ast
from rules.checker import Checker, Scope
from rules.loader import UnknownPolicyError, bundled_library, load_library
from rules.parser import parse_expr
from rules.sets import bundled_sets
from tests.matcher.conftest import enterprise_frame


def _check(text: str, *, entity: str = "enterprise",
           policies: dict[str, str] | None = None) -> tuple[ast.Expr, Checker]:
    checker = Checker(Scope(entity=load_catalog().entity(entity), sets=bundled_sets(),
                            file="p.yaml", policies=policies))
    return checker.condition(parse_expr(text)), checker


def test_hangzhou_is_a_region_not_a_misspelt_guangzhou():
    expr, checker = _check("district in 杭州市")
    assert checker.problems == []
    assert isinstance(expr, ast.In) and isinstance(expr.container, ast.RegionRef)
    assert expr.container.prefix == "3301"


def test_an_unknown_region_gets_no_suggestion_of_another_place():
    _, checker = _check("district in 杭洲市")
    (p,) = checker.problems
    assert p.code == "unknown-region" and p.suggestion is None
    assert "全国行政区划代码表中没有这个名称" in p.message
    assert "广州" not in p.message and "杭州" not in p.message


def test_a_short_region_name_suggests_the_region_it_abbreviates():
    _, checker = _check("district in 杭州")
    (p,) = checker.problems
    assert (p.code, p.suggestion) == ("unknown-region", "杭州市")


def test_a_shared_region_name_is_refused_with_candidates_and_their_parents():
    _, checker = _check("district in 朝阳区")
    (p,) = checker.problems
    assert p.code == "ambiguous-region" and p.suggestion is None
    assert "北京市朝阳区(110105)" in p.message and "吉林省长春市朝阳区(220104)" in p.message
    expr, ok = _check("district in 长春市朝阳区")
    assert ok.problems == [] and expr.container.prefix == "220104"  # type: ignore[attr-defined]


def test_a_person_field_in_an_enterprise_policy_is_named_a_person_field():
    _, checker = _check("age >= 60")
    (p,) = checker.problems
    assert p.code == "unknown-field"
    assert "个人画像字段" in p.message and "年龄" in p.message
    assert p.suggestion is None  # not 'name': the enterprise's name is no age


def test_an_enterprise_field_in_a_person_policy_is_named_an_enterprise_field():
    _, checker = _check("employees > 10", entity="person")
    (p,) = checker.problems
    assert "企业画像字段" in p.message and p.suggestion is None


def test_catalog_lookups_explain_themselves_in_chinese():
    with pytest.raises(UnknownFieldError) as caught:
        load_catalog().entity("enterprise").field("age")
    assert str(caught.value) == ("enterprise 目录中没有字段 'age'（age（年龄）是个人画像字段，"
                                 "这里只能读取企业画像字段）")
    with pytest.raises(UnknownFieldError) as typo:
        load_catalog().entity("enterprise").field("employes")
    assert str(typo.value) == "enterprise 目录中没有字段 'employes'；是否应为 'employees'？"


def test_another_citys_policy_is_not_offered_for_a_missing_one():
    known = {"bj-elderly-allowance": "person", "gz-longevity-allowance": "person"}
    _, checker = _check('eligible("xz-elderly-allowance")', entity="person", policies=known)
    (p,) = checker.problems
    assert p.code == "unknown-policy" and p.suggestion is None
    with pytest.raises(UnknownPolicyError) as caught:
        bundled_library()["xz-elderly-allowance"]
    assert caught.value.problems[0].suggestion is None and "是否应为" not in str(caught.value)


def test_another_legal_status_is_not_offered_for_a_missing_value():
    _, checker = _check('status = "撤销"')
    (p,) = checker.problems
    assert p.code == "unknown-value" and p.suggestion is None
    assert "存续、吊销、注销" in p.message


def test_a_region_in_a_condition_matches_the_counties_inside_it(tmp_path: Path):
    (tmp_path / "xihu.yaml").write_text(
        "id: xihu-support\ntitle: 西湖区扶持\nentity: enterprise\n"
        "basis: {document: 示例文件}\neffective: {from: 2020-01-01}\ndelivery: notice\n"
        "eligibility:\n  all:\n    - {when: district in 杭州市西湖区, label: 注册在杭州市西湖区}\n",
        encoding="utf-8")
    lib = load_library([tmp_path])
    as_of = dt.date(2025, 10, 1)
    frame = enterprise_frame([
        {"uscc": "HZ", "district": "330106"},  # 杭州市西湖区
        {"uscc": "NC", "district": "360103"},  # 南昌市西湖区: same name, another place
        {"uscc": "NX", "district": None},
    ], as_of=as_of)
    out = match_frame(frame, entity="enterprise", policies=lib.policies.values(), as_of=as_of,
                      sets=lib.sets)
    got = dict(out.select("entity_id", "outcome").iter_rows())
    assert got == {"HZ": "eligible", "NX": "undetermined"}
    assert out.filter(pl.col("entity_id") == "NX")["unknown_fields"].to_list() == [["district"]]


def test_a_region_inside_a_list_is_said_to_be_a_region_once():
    _, checker = _check("district in [广州市, 杭州市]")
    assert [(p.code, p.column) for p in checker.problems] == [("unknown-field", 14),
                                                              ("unknown-field", 19)]
    for p in checker.problems:
        assert "是行政区划名称" in p.message and "用 or 连接" in p.message
        assert p.suggestion is None
