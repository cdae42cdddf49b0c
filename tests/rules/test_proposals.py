"""Clause text -> draft conditions: the wording rules of Chinese legal texts, units, values,
regions, sets and negations; every proposal type-checks; the library score is measured."""

from __future__ import annotations

import pytest

from rules.proposals import normalize, propose


def whens(text: str, entity: str = "enterprise", **kw: object) -> list[str]:
    return [p.when for p in propose(text, entity=entity, **kw)]  # type: ignore[arg-type]


def test_the_issue_clause_gives_its_three_conditions() -> None:
    got = propose("年应纳税所得额不超过300万元、从业人数不超过300人、资产总额不超过5000万元",
                  entity="enterprise")
    assert [p.when for p in got] == ["annual_taxable_income <= 300万", "employees <= 300",
                                     "total_assets <= 5000万"]
    assert [p.label for p in got] == ["年应纳税所得额不超过300万元", "从业人数不超过300人",
                                      "资产总额不超过5000万元"]


@pytest.mark.parametrize(("text", "expected"), [
    ("从业人数300人以上", "employees >= 300"),  # 以上 includes the number
    ("从业人数300人以下", "employees <= 300"),
    ("从业人数超过300人", "employees > 300"),  # 超过 does not
    ("从业人数不足300人", "employees < 300"),
    ("从业人数300人(不含)以上", "employees > 300"),
    ("从业人数在300人以内", "employees <= 300"),
    ("营业收入达到2000万元以上", "operating_revenue >= 2000万"),
    ("月销售额不超过１０万元", "monthly_sales <= 10万"),  # full-width digits
    ("注册成立三年以上", "years_since_founding >= 3"),  # Chinese numerals before units
    ("裁员率不高于5.5%", "layoff_rate <= 5.5%"),
])
def test_wording_decides_the_operator(text: str, expected: str) -> None:
    assert whens(text) == [expected]


def test_a_unit_that_does_not_fit_the_field_is_not_proposed() -> None:
    assert whens("从业人数不超过300万元") == []  # persons compared with money


def test_values_regions_sets_and_negations() -> None:
    assert whens("增值税一般纳税人") == ['vat_taxpayer_type = "一般纳税人"']
    assert whens("未列入严重失信主体名单") == ["not serious_dishonesty"]
    assert whens("注册地在广州市") == ["district in 广州市"]
    assert whens("户籍不在上海市", "person") == ["hukou_district not in 上海市"]
    assert whens("不属于国家限制和禁止行业") == ["industry_code not in 国家限制和禁止行业"]
    assert whens("符合小型微利企业所得税优惠条件",
                 policies={"cit-small-low-profit": "小型微利企业所得税优惠"}) == [
        'eligible("cit-small-low-profit")']


def test_grades_count_from_the_most_severe() -> None:
    assert whens("二级残疾", "person") == ["disability_grade = 2"]
    assert whens("残疾等级为三级以上", "person") == ["disability_grade <= 3"]


def test_ratios_dates_and_counts() -> None:
    assert whens("科技人员占职工总数的比例不低于10%") == ["tech_staff / employees >= 10%"]
    assert whens("1933年1月1日以后出生", "person") == ["birth_date >= 1933-01-01"]
    assert whens("有3岁以下婴幼儿子女", "person") == ["children_under_3 >= 1"]
    assert whens("上年度发生研发费用") == ["rd_expense > 0"]


def test_text_without_conditions_proposes_nothing() -> None:
    assert whens("本办法自发布之日起施行。") == []


def test_normalize_keeps_what_it_does_not_understand() -> None:
    assert normalize("第十一条（一）") == "第十一条(一)"


def test_the_bundled_library_is_measured_condition_by_condition() -> None:
    from rules.loader import bundled_library
    from rules.proposal_score import score_library

    score = score_library(bundled_library())
    rows = {(r.policy_id, r.condition_id): r for r in score.rows}
    assert score.conditions == sum(len(p.conditions) for p in bundled_library())
    # a condition the text states in full is proposed exactly ...
    exact = next(r for r in score.rows if r.expected == "total_assets <= 5000万")
    assert exact.exact
    # ... one the proposer reads as a different bound (> 30 proposed as >= 30) is not
    partial = rows[("ui-job-retention-refund", "c6")]
    assert partial.expected.startswith("insured_employees > 30")
    assert not partial.exact and "insured_employees >= 30" in partial.proposed
    assert score.share >= 0.6, score.share


def test_any_region_of_china_is_proposed_by_the_name_that_resolves_to_it() -> None:
    assert whens("注册地在杭州市的企业") == ["district in 杭州市"]
    assert whens("注册地在北京市朝阳区的企业") == ["district in 北京市朝阳区"]


def test_a_short_region_name_inside_another_word_is_not_proposed() -> None:
    # 东区 (攀枝花市) is a county, but here it is part of 广东区域
    assert whens("在广东区域内经营，从业人数不超过300人") == ["employees <= 300"]
