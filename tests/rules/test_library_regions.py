"""The special-zone and 粤港澳大湾区 policies (广州南沙, 新疆喀什·霍尔果斯, 广州市境外人才) at their
boundaries, written from the clause each condition cites, through the polars compiler checked
row by row against the reference interpreter (the ``evaluate`` fixture)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from rules.loader import Library

Evaluate = Callable[..., list]
AS_OF = dt.date(2026, 11, 30)


def truths(outcomes: list) -> list[bool | None]:
    return [o.truth for o in outcomes]


def in_effect(library: Library, policy_id: str, *days: dt.date) -> list[bool]:
    return [library[policy_id].in_effect(d) for d in days]


# ---- 财税〔2021〕27号 二: 喀什、霍尔果斯 五年内免征 ----

def test_kashgar_khorgos_five_years_from_the_first_income_year(evaluate: Evaluate,
                                                                 library) -> None:
    base = {"status": "存续", "special_zone": "喀什经济开发区", "founded_on": dt.date(2021, 1, 1),
            "xj_catalog_revenue_ratio": 0.6, "first_operating_income_on": dt.date(2022, 1, 1),
            "annual_taxable_income": 1_000_000.0}
    rows = [
        base,                                                     # 2026 is the fifth year
        {**base, "special_zone": "霍尔果斯经济开发区"},
        {**base, "first_operating_income_on": dt.date(2021, 12, 31)},  # 2026: the sixth year
        {**base, "first_operating_income_on": dt.date(2026, 12, 1)},   # no income yet
        {**base, "founded_on": dt.date(2020, 12, 31)},           # not 新办 in the period
        {**base, "xj_catalog_revenue_ratio": 0.5999},            # under 60%
        {**base, "special_zone": None},                          # not on the zones' list
        {**base, "special_zone": "南沙先行启动区"},
        {**base, "annual_taxable_income": 0.0},
        {**base, "xj_catalog_revenue_ratio": None},
        {**base, "first_operating_income_on": None},
        {**base, "founded_on": None},
        {**base, "status": None},
    ]
    out = evaluate("xj-kashgar-khorgos-new-enterprise-cit", rows, as_of=AS_OF)
    assert truths(out) == [True, True, False, False, False, False, False, False, False,
                           None, None, None, None]
    assert out[0].amount == 250_000.0                             # the whole tax at 25%
    assert in_effect(library, "xj-kashgar-khorgos-new-enterprise-cit", dt.date(2020, 12, 31),
                     dt.date(2021, 1, 1), dt.date(2030, 12, 31), dt.date(2031, 1, 1)) == [
        False, True, True, False]


# ---- 财税〔2022〕40号 一: 南沙先行启动区 15% ----

def test_nansha_encouraged_industry_rate(evaluate: Evaluate, library) -> None:
    base = {"status": "存续", "district": "440115", "special_zone": "南沙先行启动区",
            "nansha_catalog_category": "航运物流", "substantive_operation": True,
            "annual_taxable_income": 1_000_000.0}
    rows = [
        base,
        {**base, "nansha_catalog_category": "高新技术重点行业"},
        {**base, "nansha_catalog_category": "目录外"},             # not in the 目录
        {**base, "nansha_catalog_category": None},               # the return's line unknown
        {**base, "special_zone": None},                          # 南沙, outside the 启动区
        {**base, "special_zone": "喀什经济开发区"},
        {**base, "substantive_operation": False},
        {**base, "substantive_operation": None},                 # not yet declared
        {**base, "annual_taxable_income": 0.0},
        {**base, "annual_taxable_income": None},
        {**base, "status": None},
    ]
    out = evaluate("gz-nansha-encouraged-industry-cit", rows, as_of=AS_OF)
    assert truths(out) == [True, True, False, None, False, False, False, None, False, None,
                           None]
    assert out[0].amount == 100_000.0                             # 10% of the taxable income
    assert in_effect(library, "gz-nansha-encouraged-industry-cit", dt.date(2021, 12, 31),
                     dt.date(2022, 1, 1), dt.date(2026, 12, 31), dt.date(2027, 1, 1)) == [
        False, True, True, False]


# ---- 财税〔2022〕40号 二: 南沙高新技术重点行业 亏损结转13年 ----

def test_nansha_loss_carryforward_needs_the_qualification_that_year(evaluate: Evaluate,
                                                                      library) -> None:
    base = {"status": "存续", "district": "440115",
            "nansha_catalog_category": "高新技术重点行业", "high_tech_cert_on": dt.date(2024, 1, 1)}
    no_cert = {**base, "high_tech_cert_on": None}
    rows = [
        base,
        {**base, "high_tech_cert_on": dt.date(2023, 12, 1)},      # 2 full years: valid
        {**base, "high_tech_cert_on": dt.date(2023, 11, 30)},     # 3 full years: expired
        {**no_cert, "tech_sme_registered_on": dt.date(2026, 1, 1)},    # registered this year
        {**no_cert, "tech_sme_registered_on": dt.date(2025, 12, 31)},  # last year only
        {**no_cert, "tech_sme_registered_on": dt.date(2026, 12, 1)},   # after the as-of date
        no_cert,                                                  # neither list: no资格
        {**base, "nansha_catalog_category": "信息技术"},          # not 高新技术重点行业
        {**base, "nansha_catalog_category": "目录外"},
        {**base, "nansha_catalog_category": None},                # the return's line unknown
        {**base, "district": "440112"},                           # 黄埔区, not 南沙
        {**base, "district": None},
        {**base, "status": None},
    ]
    out = evaluate("gz-nansha-high-tech-loss-carryforward", rows, as_of=AS_OF)
    assert truths(out) == [True, True, False, True, False, False, False, False, False, None,
                           False, None, None]
    assert out[0].amount is None                                  # no amount: the loss history
    assert in_effect(library, "gz-nansha-high-tech-loss-carryforward", dt.date(2021, 12, 31),
                     dt.date(2022, 1, 1), dt.date(2026, 12, 31), dt.date(2027, 1, 1)) == [
        False, True, True, False]


# ---- 财税〔2022〕29号, 穗财规字〔2022〕1号: 南沙港澳居民个人所得税 ----

def test_nansha_hk_macao_residents_working_in_nansha(evaluate: Evaluate, library) -> None:
    base = {"hk_macao_resident": "香港居民", "work_district": "440115"}
    rows = [
        base,
        {**base, "hk_macao_resident": "澳门居民"},
        {**base, "hk_macao_resident": None},                      # not on the residents' list
        {**base, "work_district": "440106"},                      # 广州, not 南沙
        {**base, "work_district": None},
    ]
    out = evaluate("gz-nansha-hk-macao-iit", rows, as_of=AS_OF)
    assert truths(out) == [True, True, False, False, None]
    assert in_effect(library, "gz-nansha-hk-macao-iit", dt.date(2021, 12, 31),
                     dt.date(2022, 1, 1), dt.date(2026, 12, 31), dt.date(2027, 1, 1)) == [
        False, True, True, False]


# ---- 财税〔2023〕34号, 穗财规字〔2023〕4号: 境外人才 15% 以上部分补贴 ----

@pytest.mark.parametrize(("paid", "taxable", "truth", "amount"), [
    (300_000.0, 1_000_000.0, True, 150_000.0),
    (150_000.0, 1_000_000.0, False, None),        # exactly 15%: nothing "超过"
    (150_000.01, 1_000_000.0, True, 0.01),
    (18_000_000.0, 40_000_000.0, True, 5_000_000.0),  # 12,000,000 capped at 500万
    (None, 1_000_000.0, None, None),
    (300_000.0, None, None, None),
])
def test_gba_talent_subsidy_is_the_tax_over_15_percent(
        evaluate: Evaluate, paid: float | None, taxable: float | None, truth: bool | None,
        amount: float | None) -> None:
    row = {"work_district": "440106", "gz_overseas_talent": "境外紧缺人才",
           "iit_paid_local": paid, "iit_taxable_income": taxable}
    out = evaluate("gz-gba-talent-iit-subsidy", [row], as_of=AS_OF)
    assert truths(out) == [truth]
    if truth:
        assert out[0].amount == pytest.approx(amount, abs=0.001)


def test_gba_talent_subsidy_who(evaluate: Evaluate, library) -> None:
    base = {"work_district": "440106", "gz_overseas_talent": "境外高端人才",
            "iit_paid_local": 300_000.0, "iit_taxable_income": 1_000_000.0}
    rows = [base, {**base, "gz_overseas_talent": None},           # not recognised
            {**base, "work_district": "440305"},                  # 深圳: another city's subsidy
            {**base, "work_district": None}]
    assert truths(evaluate("gz-gba-talent-iit-subsidy", rows, as_of=AS_OF)) == [
        True, False, False, None]
    assert in_effect(library, "gz-gba-talent-iit-subsidy", dt.date(2023, 12, 31),
                     dt.date(2024, 1, 1), dt.date(2027, 12, 31), dt.date(2028, 1, 1)) == [
        False, True, True, False]


# ---- 财税〔2018〕76号: 高新技术企业和科技型中小企业亏损结转10年 ----

def test_high_tech_loss_carryforward_needs_the_qualification_that_year(evaluate: Evaluate,
                                                                         library) -> None:
    base = {"status": "存续", "high_tech_cert_on": dt.date(2024, 1, 1)}
    no_cert = {**base, "high_tech_cert_on": None}
    rows = [
        base,
        {**base, "high_tech_cert_on": dt.date(2023, 12, 1)},      # 2 full years: valid
        {**base, "high_tech_cert_on": dt.date(2023, 11, 30)},     # 3 full years: expired
        {**no_cert, "tech_sme_registered_on": dt.date(2026, 1, 1)},
        {**no_cert, "tech_sme_registered_on": dt.date(2025, 12, 31)},
        no_cert,                                                  # on neither list
        {**base, "status": "注销"},
        {**no_cert, "status": None},
    ]
    out = evaluate("cit-high-tech-loss-carryforward", rows, as_of=AS_OF)
    assert truths(out) == [True, True, False, True, False, False, False, False]
    assert in_effect(library, "cit-high-tech-loss-carryforward", dt.date(2017, 12, 31),
                     dt.date(2018, 1, 1), dt.date(2040, 1, 1)) == [False, True, True]


# ---- 新政发〔2021〕66号: 困难地区减半期内免征地方分享部分 ----

def test_xj_local_share_exemption_in_years_three_to_five(evaluate: Evaluate, library) -> None:
    base = {"status": "存续", "district": "653101", "founded_on": dt.date(2021, 1, 1),
            "xj_catalog_revenue_ratio": 0.6, "first_operating_income_on": dt.date(2024, 6, 1),
            "annual_taxable_income": 1.0}
    rows = [
        base,                                                     # 2026: the third year
        {**base, "first_operating_income_on": dt.date(2022, 1, 1)},    # the fifth year
        {**base, "first_operating_income_on": dt.date(2025, 12, 31)},  # the second: exempt
        {**base, "first_operating_income_on": dt.date(2021, 12, 31)},  # the sixth year
        {**base, "founded_on": dt.date(2020, 12, 31)},
        {**base, "xj_catalog_revenue_ratio": 0.5999},
        {**base, "district": "650102"},                           # 乌鲁木齐: not listed yet
        {**base, "district": "610113"},                           # 陕西
        {**base, "annual_taxable_income": 0.0},
        {**base, "first_operating_income_on": None},
    ]
    out = evaluate("xj-hardship-local-share-exemption", rows, as_of=AS_OF)
    assert truths(out) == [True, True, False, False, False, False, None, False, False, None]
    assert out[0].amount is None
    assert in_effect(library, "xj-hardship-local-share-exemption", dt.date(2020, 12, 31),
                     dt.date(2021, 1, 1), dt.date(2030, 12, 31), dt.date(2031, 1, 1)) == [
        False, True, True, False]


# ---- 企业所得税法实施条例 第九十条: 技术转让所得 500万元以内免征、超过部分减半 ----

@pytest.mark.parametrize(("income", "truth", "amount"), [
    (5_000_000.0, True, 1_250_000.0),              # all of it exempt: 25%
    (5_000_001.0, True, 1_250_000.125),            # the yuan above 500万 at half the rate
    (10_000_000.0, True, 1_875_000.0),
    (0.0, False, None),
    (None, None, None),
])
def test_technology_transfer_income_exempt_up_to_five_million(
        evaluate: Evaluate, income: float | None, truth: bool | None,
        amount: float | None) -> None:
    out = evaluate("cit-technology-transfer-income",
                   [{"status": "存续", "technology_transfer_income": income}], as_of=AS_OF)
    assert truths(out) == [truth]
    if truth:
        assert out[0].amount == pytest.approx(amount, abs=0.001)


# ---- 实施条例 第一百条, 财税〔2008〕48号: 专用设备投资额10%抵免 ----

def test_special_equipment_credit_is_ten_percent(evaluate: Evaluate, library) -> None:
    rows = [{"status": "存续", "special_equipment_invested": 1_000_000.0},
            {"status": "存续", "special_equipment_invested": 0.0},
            {"status": "存续", "special_equipment_invested": None},
            {"status": "吊销", "special_equipment_invested": 1_000_000.0}]
    out = evaluate("cit-special-equipment-credit", rows, as_of=AS_OF)
    assert truths(out) == [True, False, None, False]
    assert out[0].amount == pytest.approx(100_000.0)
    assert in_effect(library, "cit-special-equipment-credit", dt.date(2007, 12, 31),
                     dt.date(2008, 1, 1)) == [False, True]


# ---- 实施条例 第八十六条: 农、林、牧、渔业项目所得 免征 / 减半 ----

@pytest.mark.parametrize(("policy", "field", "amount"), [
    ("cit-agriculture-exempt", "agriculture_exempt_income", 100_000.0),   # 25% of 400,000
    ("cit-agriculture-half", "agriculture_half_income", 50_000.0),        # half of that
])
def test_agriculture_income_and_restricted_projects(evaluate: Evaluate, policy: str,
                                                     field: str, amount: float) -> None:
    base = {"status": "存续", field: 400_000.0, "restricted_industry": False}
    rows = [base,
            {**base, "restricted_industry": True},      # 国家限制和禁止发展的项目
            {**base, "restricted_industry": None},      # not answered on the return
            {**base, field: 0.0},
            {**base, field: None}]
    out = evaluate(policy, rows, as_of=AS_OF)
    assert truths(out) == [True, False, None, False, None]
    assert out[0].amount == pytest.approx(amount)


# ---- 实施条例 第九十九条, 财税〔2008〕47号: 资源综合利用收入减按90%计入 ----

def test_resource_utilization_revenue_leaves_out_ten_percent(evaluate: Evaluate,
                                                               library) -> None:
    rows = [{"status": "存续", "resource_utilization_revenue": 2_000_000.0},
            {"status": "存续", "resource_utilization_revenue": 0.0},
            {"status": "存续", "resource_utilization_revenue": None},
            {"status": None, "resource_utilization_revenue": 2_000_000.0}]
    out = evaluate("cit-resource-utilization-income", rows, as_of=AS_OF)
    assert truths(out) == [True, False, None, None]
    assert out[0].amount == pytest.approx(50_000.0)    # 200,000 left out, at 25%
    assert in_effect(library, "cit-resource-utilization-income", dt.date(2007, 12, 31),
                     dt.date(2008, 1, 1)) == [False, True]


# ---- 实施条例 第八十七条、第八十八条: 项目所得 三免三减半 ----

@pytest.mark.parametrize(("policy", "income", "since"), [
    ("cit-infrastructure-project", "infrastructure_project_income",
     "infrastructure_first_income_on"),
    ("cit-environmental-project", "env_project_income", "env_project_first_income_on"),
])
def test_project_income_three_years_free_three_half(evaluate: Evaluate, library, policy: str,
                                                    income: str, since: str) -> None:
    base = {"status": "存续", income: 1_000_000.0}
    rows = [
        {**base, since: dt.date(2024, 12, 31)},    # 2026 is the third year: exempt
        {**base, since: dt.date(2023, 12, 31)},    # the fourth year: half
        {**base, since: dt.date(2021, 1, 1)},      # the sixth year: half
        {**base, since: dt.date(2020, 12, 31)},    # the seventh year: over
        {**base, since: dt.date(2026, 12, 1)},     # no income yet on the as-of date
        {**base, since: None},                       # not on the approved projects' list
        {**base, income: 0.0, since: dt.date(2025, 1, 1)},
        {**base, income: None, since: dt.date(2025, 1, 1)},
    ]
    out = evaluate(policy, rows, as_of=AS_OF)
    assert truths(out) == [True, True, True, False, False, False, False, None]
    assert [o.amount for o in out[:3]] == [250_000.0, 125_000.0, 125_000.0]
    assert in_effect(library, policy, dt.date(2007, 12, 31), dt.date(2008, 1, 1)) == [
        False, True]


# ---- 实施条例 第九十七条: 创业投资 70% 抵扣 ----

def test_venture_capital_deduction_is_seventy_percent(evaluate: Evaluate) -> None:
    rows = [{"status": "存续", "vc_investment_held_2y": 10_000_000.0},
            {"status": "存续", "vc_investment_held_2y": 0.0},
            {"status": "存续", "vc_investment_held_2y": None}]
    out = evaluate("cit-venture-capital-deduction", rows, as_of=AS_OF)
    assert truths(out) == [True, False, None]
    assert out[0].amount == pytest.approx(1_750_000.0)   # 7,000,000 deducted, at 25%
