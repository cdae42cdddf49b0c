"""The VAT super-credits (增值税加计抵减) and the income tax deductions for continuing
education, housing and serious illness (个税专项附加扣除, 国发〔2018〕41号) at their boundaries,
written from the clause texts they cite: ≤ against <, dates on the day, an UNKNOWN in each
input, list-type fields left empty. Each case runs through the polars compiler and the
reference interpreter (the ``evaluate`` fixture); the rent deduction, which reads the spouse
from the household register, runs through the related-entity plan."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from profiles.derive import derive
from tests.rules.households import decide_over_households

Evaluate = Callable[..., list]
ANY = object()
AS_OF = dt.date(2026, 11, 30)

AMC = {"status": "存续", "advanced_manufacturing_listed": True,
       "high_tech_cert_on": dt.date(2024, 1, 15), "industry_code": "3484",
       "vat_taxpayer_type": "一般纳税人", "input_vat_monthly": 100_000.0}
IC = {"status": "存续", "ic_vat_credit_listed": True, "vat_taxpayer_type": "一般纳税人",
      "input_vat_monthly": 100_000.0}

WEST = {"status": "存续", "district": "610403", "western_encouraged_revenue_ratio": 0.6,
        "annual_taxable_income": 1_000_000.0}
DISAB = {"status": "存续", "disabled_employees": 2, "disabled_staff_wages": 100_000.0}
XJ = {"status": "存续", "district": "653101", "founded_on": dt.date(2024, 5, 1),
      "xj_catalog_revenue_ratio": 0.6, "first_operating_income_on": dt.date(2025, 1, 1),
      "annual_taxable_income": 1_000_000.0}
BJCARE = {"hukou_district": "110105", "alive": True, "age": 60,
          "elderly_care_level": "重度失能"}
SOFT = {"status": "存续", "vat_taxpayer_type": "一般纳税人", "software_sales_monthly": 100_000.0,
        "software_vat_monthly": 5000.0}

# (case, policy, row, expected truth, expected amount); as of 2026-11-30
CASES: list[tuple[str, str, dict[str, Any], bool | None, Any]] = [
    # 先进制造业 5%: 高新技术企业(证书三年内)中的制造业一般纳税人, 列入名单
    ("amc/listed", "vat-advanced-manufacturing-super-credit", AMC, True, 5000.0),
    ("amc/not-listed", "vat-advanced-manufacturing-super-credit",
     {**AMC, "advanced_manufacturing_listed": None}, False, None),
    ("amc/cert-3-years-on-the-day", "vat-advanced-manufacturing-super-credit",
     {**AMC, "high_tech_cert_on": dt.date(2023, 11, 30)}, False, None),
    ("amc/cert-a-day-short-of-3-years", "vat-advanced-manufacturing-super-credit",
     {**AMC, "high_tech_cert_on": dt.date(2023, 12, 1)}, True, 5000.0),
    ("amc/cert-after-as-of", "vat-advanced-manufacturing-super-credit",
     {**AMC, "high_tech_cert_on": dt.date(2026, 12, 1)}, False, None),
    ("amc/no-cert", "vat-advanced-manufacturing-super-credit",
     {**AMC, "high_tech_cert_on": None}, False, None),
    ("amc/division-13-first", "vat-advanced-manufacturing-super-credit",
     {**AMC, "industry_code": "1320"}, True, 5000.0),
    ("amc/division-43-last", "vat-advanced-manufacturing-super-credit",
     {**AMC, "industry_code": "4320"}, True, 5000.0),
    ("amc/not-manufacturing-44", "vat-advanced-manufacturing-super-credit",
     {**AMC, "industry_code": "4411"}, False, None),
    ("amc/unknown-industry", "vat-advanced-manufacturing-super-credit",
     {**AMC, "industry_code": None}, None, 5000.0),
    ("amc/small-scale", "vat-advanced-manufacturing-super-credit",
     {**AMC, "vat_taxpayer_type": "小规模纳税人"}, False, None),
    ("amc/unknown-type", "vat-advanced-manufacturing-super-credit",
     {**AMC, "vat_taxpayer_type": None}, None, 5000.0),
    ("amc/no-input-vat", "vat-advanced-manufacturing-super-credit",
     {**AMC, "input_vat_monthly": 0.0}, False, None),
    ("amc/unknown-input-vat", "vat-advanced-manufacturing-super-credit",
     {**AMC, "input_vat_monthly": None}, None, None),
    ("amc/fen", "vat-advanced-manufacturing-super-credit",
     {**AMC, "input_vat_monthly": 0.2}, True, 0.01),
    # 集成电路 15%: 清单 + 一般纳税人
    ("ic/listed", "vat-ic-super-credit", IC, True, 15000.0),
    ("ic/not-listed", "vat-ic-super-credit", {**IC, "ic_vat_credit_listed": None}, False, None),
    ("ic/small-scale", "vat-ic-super-credit", {**IC, "vat_taxpayer_type": "小规模纳税人"},
     False, None),
    ("ic/unknown-status", "vat-ic-super-credit", {**IC, "status": None}, None, 15000.0),
    ("ic/revoked", "vat-ic-super-credit", {**IC, "status": "吊销"}, False, None),
    # 学历继续教育: 400/month, the 48th month in, the 49th out
    ("degree/48th-month", "iit-degree-continuing-education-deduction",
     {"degree_continuing_education_from": dt.date(2022, 12, 1)}, True, 400.0),
    ("degree/49th-month", "iit-degree-continuing-education-deduction",
     {"degree_continuing_education_from": dt.date(2022, 11, 30)}, False, None),
    ("degree/enrolled-today", "iit-degree-continuing-education-deduction",
     {"degree_continuing_education_from": AS_OF}, True, 400.0),
    ("degree/enrolls-tomorrow", "iit-degree-continuing-education-deduction",
     {"degree_continuing_education_from": dt.date(2026, 12, 1)}, False, None),
    ("degree/not-enrolled", "iit-degree-continuing-education-deduction",
     {"degree_continuing_education_from": None}, False, None),
    # 职业资格: 3600 in the year the certificate is obtained
    ("qual/this-year-1-jan", "iit-vocational-qualification-deduction",
     {"vocational_qualification_on": dt.date(2026, 1, 1)}, True, 3600.0),
    ("qual/today", "iit-vocational-qualification-deduction",
     {"vocational_qualification_on": AS_OF}, True, 3600.0),
    ("qual/last-year-31-dec", "iit-vocational-qualification-deduction",
     {"vocational_qualification_on": dt.date(2025, 12, 31)}, False, None),
    ("qual/later-this-year", "iit-vocational-qualification-deduction",
     {"vocational_qualification_on": dt.date(2026, 12, 15)}, False, None),
    ("qual/none", "iit-vocational-qualification-deduction",
     {"vocational_qualification_on": None}, False, None),
    # 住房贷款利息: 1000/month, the 240th month in, the 241st out
    ("loan/240th-month", "iit-housing-loan-interest-deduction",
     {"first_home_loan_from": dt.date(2006, 12, 1)}, True, 1000.0),
    ("loan/241st-month", "iit-housing-loan-interest-deduction",
     {"first_home_loan_from": dt.date(2006, 11, 30)}, False, None),
    ("loan/starts-today", "iit-housing-loan-interest-deduction",
     {"first_home_loan_from": AS_OF}, True, 1000.0),
    ("loan/starts-next-month", "iit-housing-loan-interest-deduction",
     {"first_home_loan_from": dt.date(2026, 12, 30)}, False, None),
    ("loan/none", "iit-housing-loan-interest-deduction", {"first_home_loan_from": None},
     False, None),
    # 大病医疗: over 15000, at most 80000
    ("ill/15000-is-not-over", "iit-serious-illness-deduction", {"medical_self_paid": 15_000.0},
     False, None),
    ("ill/a-fen-over", "iit-serious-illness-deduction", {"medical_self_paid": 15_000.01},
     True, 0.01),
    ("ill/95000-reaches-the-cap", "iit-serious-illness-deduction",
     {"medical_self_paid": 95_000.0}, True, 80_000.0),
    ("ill/above-the-cap", "iit-serious-illness-deduction", {"medical_self_paid": 120_000.0},
     True, 80_000.0),
    ("ill/unknown", "iit-serious-illness-deduction", {"medical_self_paid": None}, None, None),
    # 软件产品即征即退: 实际税负超过3% (exactly 3% is not over)
    ("soft/burden-5pct", "vat-software-refund", SOFT, True, 2000.0),
    ("soft/burden-3pct", "vat-software-refund", {**SOFT, "software_vat_monthly": 3000.0},
     False, None),
    ("soft/a-fen-over-3pct", "vat-software-refund", {**SOFT, "software_vat_monthly": 3000.01},
     True, 0.01),
    ("soft/no-software-sales", "vat-software-refund",
     {**SOFT, "software_sales_monthly": 0.0, "software_vat_monthly": 0.0}, False, None),
    ("soft/small-scale", "vat-software-refund", {**SOFT, "vat_taxpayer_type": "小规模纳税人"},
     False, None),
    ("soft/unknown-tax", "vat-software-refund", {**SOFT, "software_vat_monthly": None},
     None, None),
    ("soft/unknown-sales", "vat-software-refund", {**SOFT, "software_sales_monthly": None},
     None, None),
    # 西部大开发 15%: 西部地区 (and the four 比照 areas), 鼓励类 60%以上 (60% itself in)
    ("west/yangling-60pct", "cit-western-development", WEST, True, 100_000.0),
    ("west/59.99pct", "cit-western-development",
     {**WEST, "western_encouraged_revenue_ratio": 0.5999}, False, None),
    ("west/urumqi", "cit-western-development", {**WEST, "district": "650102"}, True, ANY),
    ("west/ganzhou-bizhao", "cit-western-development", {**WEST, "district": "360702"}, True,
     ANY),
    ("west/nanchang-not", "cit-western-development", {**WEST, "district": "360102"}, False,
     None),
    ("west/guangzhou-not", "cit-western-development", {**WEST, "district": "440106"}, False,
     None),
    ("west/unknown-district", "cit-western-development", {**WEST, "district": None}, None,
     100_000.0),
    ("west/unknown-ratio", "cit-western-development",
     {**WEST, "western_encouraged_revenue_ratio": None}, None, 100_000.0),
    ("west/loss", "cit-western-development", {**WEST, "annual_taxable_income": -5.0}, False,
     None),
    # 安置残疾人工资加计扣除: the firm's own terms (declared) keep it undetermined at best
    ("disab/all-data-true", "cit-disabled-staff-wage-deduction", DISAB, None, 25_000.0),
    ("disab/no-disabled-staff", "cit-disabled-staff-wage-deduction",
     {**DISAB, "disabled_employees": 0}, False, None),
    ("disab/no-wages", "cit-disabled-staff-wage-deduction",
     {**DISAB, "disabled_staff_wages": 0.0}, False, None),
    ("disab/unknown-count", "cit-disabled-staff-wage-deduction",
     {**DISAB, "disabled_employees": None}, None, 25_000.0),
    ("disab/deregistered", "cit-disabled-staff-wage-deduction",
     {**DISAB, "status": "注销"}, False, None),
    # 新疆困难地区两免三减半 (as of 2026-11-30): first income in 2025 -> year 2 (exempt),
    # 2024 -> year 3 (half), 2022 -> year 5 (half), 2021 -> year 6 (over)
    ("xj/kashgar-year-2", "xj-hardship-new-enterprise-cit", XJ, True, 250_000.0),
    ("xj/year-3-half", "xj-hardship-new-enterprise-cit",
     {**XJ, "first_operating_income_on": dt.date(2024, 12, 31)}, True, 125_000.0),
    ("xj/year-5-half", "xj-hardship-new-enterprise-cit",
     {**XJ, "first_operating_income_on": dt.date(2022, 1, 1)}, True, 125_000.0),
    ("xj/year-6-over", "xj-hardship-new-enterprise-cit",
     {**XJ, "first_operating_income_on": dt.date(2021, 12, 31)}, False, None),
    ("xj/first-income-tomorrow", "xj-hardship-new-enterprise-cit",
     {**XJ, "first_operating_income_on": dt.date(2026, 12, 1)}, False, None),
    ("xj/unknown-first-income", "xj-hardship-new-enterprise-cit",
     {**XJ, "first_operating_income_on": None}, None, None),
    ("xj/founded-2020-12-31", "xj-hardship-new-enterprise-cit",
     {**XJ, "founded_on": dt.date(2020, 12, 31)}, False, None),
    ("xj/founded-2021-01-01", "xj-hardship-new-enterprise-cit",
     {**XJ, "founded_on": dt.date(2021, 1, 1)}, True, 250_000.0),
    ("xj/catalog-59pct", "xj-hardship-new-enterprise-cit",
     {**XJ, "xj_catalog_revenue_ratio": 0.59}, False, None),
    ("xj/hotan", "xj-hardship-new-enterprise-cit", {**XJ, "district": "653201"}, True, ANY),
    ("xj/urumqi-pending", "xj-hardship-new-enterprise-cit", {**XJ, "district": "650102"},
     None, 250_000.0),
    ("xj/xian-not", "xj-hardship-new-enterprise-cit", {**XJ, "district": "610113"}, False,
     None),
    # 集成电路和工业母机 120%: only the extra 20% over the general 100% (tax value at 25%)
    ("rd120/listed", "rd-super-deduction-ic-machine-tool",
     {"status": "存续", "ic_machine_tool_rd_listed": True, "rd_expense": 1_000_000.0},
     True, 50_000.0),
    ("rd120/not-listed", "rd-super-deduction-ic-machine-tool",
     {"status": "存续", "ic_machine_tool_rd_listed": None, "rd_expense": 1_000_000.0},
     False, None),
    ("rd120/no-rd", "rd-super-deduction-ic-machine-tool",
     {"status": "存续", "ic_machine_tool_rd_listed": True, "rd_expense": 0.0}, False, None),
    ("rd120/unknown-rd", "rd-super-deduction-ic-machine-tool",
     {"status": "存续", "ic_machine_tool_rd_listed": True, "rd_expense": None}, None, None),
    # 设备、器具一次性扣除: bought this year; no amount
    ("equip/bought", "cit-equipment-one-off-deduction",
     {"status": "存续", "small_equipment_purchased": 80_000.0}, True, None),
    ("equip/none", "cit-equipment-one-off-deduction",
     {"status": "存续", "small_equipment_purchased": 0.0}, False, None),
    ("equip/unknown", "cit-equipment-one-off-deduction",
     {"status": "存续", "small_equipment_purchased": None}, None, None),
    # 重点群体个体经营税费扣减: 36 months from the month of registration
    ("kgb/36th-month", "key-group-business-tax-deduction",
     {"key_group_startup_certified": True, "own_business_registered_on": dt.date(2023, 12, 1)},
     True, None),
    ("kgb/37th-month", "key-group-business-tax-deduction",
     {"key_group_startup_certified": True, "own_business_registered_on": dt.date(2023, 11, 30)},
     False, None),
    ("kgb/not-certified", "key-group-business-tax-deduction",
     {"key_group_startup_certified": None, "own_business_registered_on": dt.date(2025, 1, 1)},
     False, None),
    ("kgb/no-business", "key-group-business-tax-deduction",
     {"key_group_startup_certified": True, "own_business_registered_on": None}, False, None),
    ("kgb/registers-tomorrow", "key-group-business-tax-deduction",
     {"key_group_startup_certified": True, "own_business_registered_on": dt.date(2026, 12, 1)},
     False, None),
    # 安置残疾人增值税即征即退 (待核): 不少于10人 and 不低于25%, both inclusive
    ("dvat/10-of-40", "vat-disabled-staff-refund",
     {"status": "存续", "disabled_employees": 10, "staff_on_payroll": 40}, None, None),
    ("dvat/9-of-36", "vat-disabled-staff-refund",
     {"status": "存续", "disabled_employees": 9, "staff_on_payroll": 36}, False, None),
    ("dvat/10-of-41", "vat-disabled-staff-refund",
     {"status": "存续", "disabled_employees": 10, "staff_on_payroll": 41}, False, None),
    ("dvat/unknown-payroll", "vat-disabled-staff-refund",
     {"status": "存续", "disabled_employees": 10, "staff_on_payroll": None}, None, None),
    # 商业健康保险: 据实扣除, at most 2400 a year
    ("health/some", "iit-health-insurance-deduction", {"health_insurance_premium": 1200.0},
     True, 1200.0),
    ("health/2400", "iit-health-insurance-deduction", {"health_insurance_premium": 2400.0},
     True, 2400.0),
    ("health/above", "iit-health-insurance-deduction", {"health_insurance_premium": 2400.01},
     True, 2400.0),
    ("health/none", "iit-health-insurance-deduction", {"health_insurance_premium": 0.0},
     False, None),
    ("health/unknown", "iit-health-insurance-deduction", {"health_insurance_premium": None},
     None, None),
    # 北京失能老年人护理补贴 (待核)
    ("bjcare/severe", "bj-disabled-elderly-care-subsidy", BJCARE, True, 400.0),
    ("bjcare/moderate", "bj-disabled-elderly-care-subsidy",
     {**BJCARE, "elderly_care_level": "中度失能"}, False, None),
    ("bjcare/not-assessed", "bj-disabled-elderly-care-subsidy",
     {**BJCARE, "elderly_care_level": None}, False, None),
    ("bjcare/hearing-2", "bj-disabled-elderly-care-subsidy",
     {**BJCARE, "elderly_care_level": None, "disability_category": "听力",
      "disability_grade": 2}, True, 200.0),
    ("bjcare/hearing-3", "bj-disabled-elderly-care-subsidy",
     {**BJCARE, "elderly_care_level": None, "disability_category": "听力",
      "disability_grade": 3}, False, None),
    ("bjcare/mental-3", "bj-disabled-elderly-care-subsidy",
     {**BJCARE, "elderly_care_level": None, "disability_category": "精神",
      "disability_grade": 3}, True, 400.0),
    ("bjcare/age-59", "bj-disabled-elderly-care-subsidy", {**BJCARE, "age": 59}, False, None),
    ("bjcare/age-unknown", "bj-disabled-elderly-care-subsidy", {**BJCARE, "age": None},
     None, 400.0),
    ("bjcare/shanghai", "bj-disabled-elderly-care-subsidy",
     {**BJCARE, "hukou_district": "310101"}, False, None),
    # 个人养老金 (待核): 据实扣除, at most 12000 a year
    ("pension/some", "iit-personal-pension-deduction", {"personal_pension_paid": 5000.0},
     True, 5000.0),
    ("pension/12000", "iit-personal-pension-deduction", {"personal_pension_paid": 12_000.0},
     True, 12_000.0),
    ("pension/above", "iit-personal-pension-deduction", {"personal_pension_paid": 12_000.01},
     True, 12_000.0),
    ("pension/none", "iit-personal-pension-deduction", {"personal_pension_paid": 0.0},
     False, None),
    ("pension/unknown", "iit-personal-pension-deduction", {"personal_pension_paid": None},
     None, None),
]


@pytest.mark.parametrize(("case", "policy", "row", "truth", "amount"), CASES,
                         ids=[c[0] for c in CASES])
def test_relief_policy_boundary(evaluate: Evaluate, case: str, policy: str,
                                row: dict[str, Any], truth: bool | None, amount: Any) -> None:
    [out] = evaluate(policy, [row], as_of=AS_OF)
    assert out.truth is truth, case
    if amount is not ANY and truth is not False:
        # the engines compute in floats; amounts are rounded to the fen where stored
        assert out.amount == (None if amount is None else pytest.approx(amount, abs=1e-9)), case


URUMQI = {"hukou_district": "650102", "alive": True}


def _aged(born: dt.date | None) -> dict[str, Any]:
    """A 乌鲁木齐 resident born on ``born``, with the age derived as the matcher derives it."""
    frame = pl.DataFrame([{**URUMQI, "birth_date": born}],
                         schema={"hukou_district": pl.String, "alive": pl.Boolean,
                                 "birth_date": pl.Date})
    return derive(frame, entity="person", as_of=AS_OF).collect().row(0, named=True)


@pytest.mark.parametrize(("born", "truth", "amount"), [
    (dt.date(1946, 11, 30), True, 75.0),     # 80 on the as-of date
    (dt.date(1946, 12, 1), False, None),     # 80 tomorrow
    (dt.date(1936, 11, 30), True, 145.0),    # 90 today
    (dt.date(1937, 1, 1), True, 75.0),       # 89
    (dt.date(1926, 11, 30), True, 225.0),    # 100 today
    (None, None, None),                      # birth date unknown
])
def test_urumqi_elderly_allowance_by_age(evaluate: Evaluate, born: dt.date | None,
                                         truth: bool | None, amount: float | None) -> None:
    [out] = evaluate("xj-urumqi-elderly-allowance", [_aged(born)], as_of=AS_OF)
    assert (out.truth, out.amount) == (truth, amount)


def test_urumqi_elderly_allowance_needs_the_citys_hukou(evaluate: Evaluate) -> None:
    old = _aged(dt.date(1940, 1, 1))
    out = evaluate("xj-urumqi-elderly-allowance",
                   [old, {**old, "hukou_district": "652301"}, {**old, "hukou_district": None},
                    {**old, "alive": False}, {**old, "alive": None}], as_of=AS_OF)
    assert [o.truth for o in out] == [True, False, None, False, None]


def test_amounts_are_deductions_and_tax_savings(library: Any) -> None:
    kinds = {pid: library[pid].amount.kind for pid in (
        "vat-advanced-manufacturing-super-credit", "vat-ic-super-credit",
        "iit-degree-continuing-education-deduction", "iit-vocational-qualification-deduction",
        "iit-housing-loan-interest-deduction", "iit-housing-rent-deduction",
        "iit-serious-illness-deduction", "vat-software-refund",
        "iit-personal-pension-deduction", "cit-western-development",
        "cit-disabled-staff-wage-deduction", "xj-hardship-new-enterprise-cit",
        "iit-health-insurance-deduction", "rd-super-deduction-ic-machine-tool")}
    assert kinds == {"vat-advanced-manufacturing-super-credit": "tax_saving",
                     "vat-ic-super-credit": "tax_saving",
                     "iit-degree-continuing-education-deduction": "deduction",
                     "iit-vocational-qualification-deduction": "deduction",
                     "iit-housing-loan-interest-deduction": "deduction",
                     "iit-housing-rent-deduction": "deduction",
                     "iit-serious-illness-deduction": "deduction",
                     "vat-software-refund": "tax_saving",
                     "iit-personal-pension-deduction": "deduction",
                     "cit-western-development": "tax_saving",
                     "cit-disabled-staff-wage-deduction": "tax_saving",
                     "xj-hardship-new-enterprise-cit": "tax_saving",
                     "iit-health-insurance-deduction": "deduction",
                     "rd-super-deduction-ic-machine-tool": "tax_saving"}
    for pid in set(kinds) - {"iit-personal-pension-deduction"}:
        policy = library[pid]
        assert policy.verified and all(b.url and b.text for b in policy.bases), pid


def test_drafts_whose_document_number_or_dates_were_not_read(library: Any) -> None:
    for pid in ("iit-personal-pension-deduction", "xj-urumqi-elderly-allowance",
                "bj-disabled-elderly-care-subsidy", "vat-disabled-staff-refund"):
        assert not library[pid].verified, pid


def test_super_credits_and_housing_deductions_are_mutually_exclusive(library: Any) -> None:
    assert library["vat-ic-super-credit"].exclusivity.group == \
        library["vat-advanced-manufacturing-super-credit"].exclusivity.group
    assert library["iit-housing-rent-deduction"].exclusivity.group == \
        library["iit-housing-loan-interest-deduction"].exclusivity.group
    assert library["xj-hardship-new-enterprise-cit"].exclusivity.group == \
        library["cit-western-development"].exclusivity.group


# ---- 住房租金: the spouse's home counts as the taxpayer's -----------------------------------

RENT = "iit-housing-rent-deduction"
HUSBAND, WIFE = "110105197001010011", "110105197001010021"
SCHEMA = {"id_number": pl.String, "birth_date": pl.Date, "work_district": pl.String,
          "owns_home_in_work_city": pl.Boolean, "renting_in_work_city": pl.Boolean}


def _rent(library: Any, people: list[dict[str, Any]], register: list[tuple[str, str, str]]
          ) -> dict[str, tuple[bool | None, float | None]]:
    """(truth, amount) per person by the polars plan, asserting the interpreter agrees."""
    rows = [{"birth_date": dt.date(1970, 1, 1), **p} for p in people]
    return decide_over_households(library, RENT, pl.DataFrame(rows, schema=SCHEMA), register,
                                  as_of=AS_OF)


def _renter(pid: str, **kw: Any) -> dict[str, Any]:
    return {"id_number": pid, "work_district": "440106", "owns_home_in_work_city": None,
            "renting_in_work_city": True, **kw}


COUPLE = [("H1", HUSBAND, "户主"), ("H1", WIFE, "配偶")]


@pytest.mark.parametrize(("district", "amount"), [
    ("440106", 1500.0),   # 广州市 (省会)
    ("110105", 1500.0),   # 北京市 (直辖市)
    ("440305", 1500.0),   # 深圳市 (计划单列市)
    ("650102", 1500.0),   # 乌鲁木齐市 (首府)
    ("610403", None),     # 杨凌 (咸阳市): 1100 or 800 by population, not in the library
    (None, None),         # work city unknown
])
def test_rent_amount_by_city_class(library: Any, district: str | None,
                                   amount: float | None) -> None:
    out = _rent(library, [_renter(HUSBAND, work_district=district)], [("H1", HUSBAND, "户主")])
    assert out[HUSBAND] == (True, amount)


def test_rent_is_refused_when_the_spouse_owns_a_home_where_they_work(library: Any) -> None:
    people = [_renter(HUSBAND), _renter(WIFE, owns_home_in_work_city=True,
                                        renting_in_work_city=False)]
    out = _rent(library, people, COUPLE)
    assert out[HUSBAND][0] is False          # 视同纳税人在主要工作城市有自有住房
    assert out[WIFE][0] is False             # she owns it herself


def test_rent_for_a_couple_of_renters_and_for_owners_and_unregistered_leases(library: Any) -> None:
    out = _rent(library, [_renter(HUSBAND), _renter(WIFE)], COUPLE)
    assert out == {HUSBAND: (True, 1500.0), WIFE: (True, 1500.0)}
    alone = _rent(library, [_renter(HUSBAND, owns_home_in_work_city=True)],
                  [("H1", HUSBAND, "户主")])
    assert alone[HUSBAND][0] is False
    no_registered_lease = _rent(library, [_renter(HUSBAND, renting_in_work_city=None)],
                                [("H1", HUSBAND, "户主")])
    assert no_registered_lease[HUSBAND][0] is False  # list-type: not on the lease register
    alone_on_register = _rent(library, [_renter(HUSBAND)], [("H1", HUSBAND, "户主")])
    assert alone_on_register[HUSBAND][0] is True  # no spouse on record: judged alone
    not_on_register = _rent(library, [_renter(HUSBAND)], [])
    assert not_on_register[HUSBAND][0] is None  # absent from the register: unknown spouse
