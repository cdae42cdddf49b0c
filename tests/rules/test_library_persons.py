"""The 失业保险, 社会救助, 残疾人 and 育儿补贴 person policies at their boundaries, written from the
clause texts they cite: ≤ against <, dates on the day, an UNKNOWN in each input, list-type
fields left empty. Each case runs through the polars compiler and the reference interpreter
(the ``evaluate`` fixture).

A case is (policy, row, expected truth, expected amount); amounts are checked only where the
policy has one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

Evaluate = Callable[..., list]

UI = {"ui_insured_months": 12, "registered_unemployed": True, "involuntary_job_loss": True}
UIMED = {"receiving_ui_benefit": True}
BLIND = {"alive": True, "disability_category": "视力", "disability_grade": 2}
MED = {"alive": True, "subsistence_status": "特困"}
PREM = {"alive": True, "subsistence_status": "低保", "medical_insurance_type": "居民医保"}
JOB = {"alive": True, "subsistence_status": "低保", "able_to_work": True, "employed": False}
EDU = {"alive": True, "subsistence_status": "低保", "education_stage": "义务教育"}
LAW = {"alive": True, "medical_insurance_type": "居民医保", "subsistence_status": "低收入",
       "age": 60}
CARE = {"alive": True, "age": 60, "elderly_care_level": "轻度失能", "subsistence_status": "特困"}
SERV = {"alive": True, "age": 60, "subsistence_status": "低收入"}
AID = {"alive": True, "subsistence_status": "低收入"}
REHAB = {"alive": True, "disability_grade": 1, "subsistence_status": "低收入"}
KID = {"alive": True, "age": 6, "disability_category": "听力", "subsistence_status": "低保"}
SN = {"hukou_district": "610113", "alive": True, "age": 65}
SELF = {"alive": True, "disability_grade": 4, "own_business_registered_on": dt.date(2025, 9, 30)}

CASES: list[tuple[str, str, dict[str, Any], bool | None, float | None]] = [
    # 失业保险条例 第十四条: 缴费义务满1年 (12 months is enough, 11 is not); 非因本人意愿 declared
    ("ui/12-months", "unemployment-insurance-benefit", UI, True, None),
    ("ui/11-months", "unemployment-insurance-benefit", {**UI, "ui_insured_months": 11},
     False, None),
    ("ui/unknown-months", "unemployment-insurance-benefit", {**UI, "ui_insured_months": None},
     None, None),
    ("ui/not-registered", "unemployment-insurance-benefit",
     {**UI, "registered_unemployed": False}, False, None),
    ("ui/unknown-registration", "unemployment-insurance-benefit",
     {**UI, "registered_unemployed": None}, None, None),
    ("ui/undeclared", "unemployment-insurance-benefit", {**UI, "involuntary_job_loss": None},
     None, None),
    ("ui/quit", "unemployment-insurance-benefit", {**UI, "involuntary_job_loss": False},
     False, None),
    # 社会保险法 第四十八条: only while the benefit is paid
    ("uimed/receiving", "unemployed-medical-insurance-cover", UIMED, True, None),
    ("uimed/not-receiving", "unemployed-medical-insurance-cover",
     {"receiving_ui_benefit": False}, False, None),
    ("uimed/unknown", "unemployed-medical-insurance-cover", {"receiving_ui_benefit": None},
     None, None),
    # 残疾人保障法 第五十条: 盲人 = 视力残疾一级、二级; 三级 is 低视力; no certificate = not listed
    ("blind/grade-2", "blind-free-public-transport", BLIND, True, None),
    ("blind/grade-1", "blind-free-public-transport", {**BLIND, "disability_grade": 1},
     True, None),
    ("blind/grade-3", "blind-free-public-transport", {**BLIND, "disability_grade": 3},
     False, None),
    ("blind/hearing", "blind-free-public-transport", {**BLIND, "disability_category": "听力"},
     False, None),
    ("blind/not-listed", "blind-free-public-transport",
     {**BLIND, "disability_category": None, "disability_grade": None}, False, None),
    ("blind/unknown-alive", "blind-free-public-transport", {**BLIND, "alive": None},
     None, None),
    # 社会救助暂行办法 第二十八条: 低保家庭成员、特困供养人员; 低收入 is not named; list-type
    ("med/tekun", "medical-assistance", MED, True, None),
    ("med/dibao", "medical-assistance", {**MED, "subsistence_status": "低保"}, True, None),
    ("med/low-income", "medical-assistance", {**MED, "subsistence_status": "低收入"},
     False, None),
    ("med/not-listed", "medical-assistance", {**MED, "subsistence_status": None}, False, None),
    ("med/deceased", "medical-assistance", {**MED, "alive": False}, False, None),
    # 第二十九条(一): the resident scheme's premium, not the employee scheme's
    ("prem/resident", "resident-medical-premium-subsidy", PREM, True, None),
    ("prem/employee-scheme", "resident-medical-premium-subsidy",
     {**PREM, "medical_insurance_type": "职工医保"}, False, None),
    ("prem/uninsured", "resident-medical-premium-subsidy",
     {**PREM, "medical_insurance_type": "未参保"}, False, None),
    ("prem/unknown-scheme", "resident-medical-premium-subsidy",
     {**PREM, "medical_insurance_type": None}, None, None),
    ("prem/not-listed", "resident-medical-premium-subsidy",
     {**PREM, "subsistence_status": None}, False, None),
    # 第四十二条: 低保家庭中有劳动能力并处于失业状态的成员 (特困 is not named here)
    ("job/dibao-out-of-work", "employment-assistance", JOB, True, None),
    ("job/employed", "employment-assistance", {**JOB, "employed": True}, False, None),
    ("job/unknown-employment", "employment-assistance", {**JOB, "employed": None}, None, None),
    ("job/undeclared", "employment-assistance", {**JOB, "able_to_work": None}, None, None),
    ("job/tekun", "employment-assistance", {**JOB, "subsistence_status": "特困"}, False, None),
    ("job/not-listed", "employment-assistance", {**JOB, "subsistence_status": None},
     False, None),
    # 第三十三条: 义务教育, 高中(含中职), 普通高等教育; 学前 is not named
    ("edu/compulsory", "education-assistance", EDU, True, None),
    ("edu/vocational", "education-assistance", {**EDU, "education_stage": "中等职业教育"},
     True, None),
    ("edu/university", "education-assistance", {**EDU, "education_stage": "普通高等教育"},
     True, None),
    ("edu/preschool", "education-assistance", {**EDU, "education_stage": "学前教育"},
     False, None),
    ("edu/not-at-school", "education-assistance", {**EDU, "education_stage": "未在读"},
     False, None),
    ("edu/unknown-stage", "education-assistance", {**EDU, "education_stage": None}, None, None),
    ("edu/low-income", "education-assistance", {**EDU, "subsistence_status": "低收入"},
     False, None),
    # 社会保险法 第二十五条: 低收入家庭六十周岁以上 (60 is in) 和未成年人 (17 is, 18 is not)
    ("law/low-income-60", "resident-medical-premium-law-subsidy", LAW, True, None),
    ("law/low-income-59", "resident-medical-premium-law-subsidy", {**LAW, "age": 59},
     False, None),
    ("law/low-income-17", "resident-medical-premium-law-subsidy", {**LAW, "age": 17},
     True, None),
    ("law/low-income-18", "resident-medical-premium-law-subsidy", {**LAW, "age": 18},
     False, None),
    ("law/unknown-age", "resident-medical-premium-law-subsidy", {**LAW, "age": None},
     None, None),
    ("law/dibao-any-age", "resident-medical-premium-law-subsidy",
     {**LAW, "subsistence_status": "低保", "age": 35}, True, None),
    ("law/employee-scheme", "resident-medical-premium-law-subsidy",
     {**LAW, "medical_insurance_type": "职工医保"}, False, None),
    ("law/unknown-scheme", "resident-medical-premium-law-subsidy",
     {**LAW, "medical_insurance_type": None}, None, None),
    ("law/disabled-undeclared", "resident-medical-premium-law-subsidy",
     {**LAW, "subsistence_status": None, "age": 35, "disability_grade": 3}, None, None),
    ("law/disabled-unable-to-work", "resident-medical-premium-law-subsidy",
     {**LAW, "subsistence_status": None, "age": 35, "disability_grade": 3,
      "lost_work_capacity": True}, True, None),
    ("law/not-listed", "resident-medical-premium-law-subsidy",
     {**LAW, "subsistence_status": None, "age": 35, "lost_work_capacity": True}, False, None),
    # 老年人权益保障法 第三十条: 60周岁以上, 失能, 经济困难
    ("care/60-mild", "elderly-care-subsidy", CARE, True, None),
    ("care/59", "elderly-care-subsidy", {**CARE, "age": 59}, False, None),
    ("care/able", "elderly-care-subsidy", {**CARE, "elderly_care_level": "能力完好"},
     False, None),
    ("care/not-assessed", "elderly-care-subsidy", {**CARE, "elderly_care_level": None},
     False, None),
    ("care/not-poor", "elderly-care-subsidy", {**CARE, "subsistence_status": None},
     False, None),
    ("care/unknown-age", "elderly-care-subsidy", {**CARE, "age": None}, None, None),
    # 第三十七条: 60周岁以上, 经济困难
    ("serv/60", "elderly-service-subsidy", SERV, True, None),
    ("serv/59", "elderly-service-subsidy", {**SERV, "age": 59}, False, None),
    ("serv/not-listed", "elderly-service-subsidy", {**SERV, "subsistence_status": None},
     False, None),
    ("serv/unknown-alive", "elderly-service-subsidy", {**SERV, "alive": None}, None, None),
    # 法律援助法 第四十二条(二): 社会救助对象
    ("aid/low-income", "legal-aid-means-test-exemption", AID, True, None),
    ("aid/none", "legal-aid-means-test-exemption", {**AID, "subsistence_status": "无"},
     False, None),
    ("aid/not-listed", "legal-aid-means-test-exemption", {**AID, "subsistence_status": None},
     False, None),
    ("aid/unknown-alive", "legal-aid-means-test-exemption", {**AID, "alive": None}, None, None),
    # 残疾人保障法 第三十六条: 从事个体经营的残疾人 (registered on the as-of day: in business)
    ("self/registered-today", "disabled-self-employed-fee-exemption", SELF, True, None),
    ("self/registered-tomorrow", "disabled-self-employed-fee-exemption",
     {**SELF, "own_business_registered_on": dt.date(2025, 10, 1)}, False, None),
    ("self/no-business", "disabled-self-employed-fee-exemption",
     {**SELF, "own_business_registered_on": None}, False, None),
    ("self/no-certificate", "disabled-self-employed-fee-exemption",
     {**SELF, "disability_grade": None}, False, None),
    ("self/unknown-alive", "disabled-self-employed-fee-exemption", {**SELF, "alive": None},
     None, None),
    # 残疾人保障法 第四十八条: 贫困残疾人 (any grade, on 低保/特困/低收入)
    ("rehab/low-income", "poor-disabled-rehabilitation-assistance", REHAB, True, None),
    ("rehab/grade-4-tekun", "poor-disabled-rehabilitation-assistance",
     {**REHAB, "disability_grade": 4, "subsistence_status": "特困"}, True, None),
    ("rehab/not-poor", "poor-disabled-rehabilitation-assistance",
     {**REHAB, "subsistence_status": "无"}, False, None),
    ("rehab/no-certificate", "poor-disabled-rehabilitation-assistance",
     {**REHAB, "disability_grade": None}, False, None),
    ("rehab/unknown-alive", "poor-disabled-rehabilitation-assistance",
     {**REHAB, "alive": None}, None, None),
    # 残疾儿童康复救助: 0-6岁 (6 in, 7 out); 其他经济困难家庭 declared
    ("kid/6-dibao", "disabled-children-rehabilitation-assistance", KID, True, None),
    ("kid/7", "disabled-children-rehabilitation-assistance", {**KID, "age": 7}, False, None),
    ("kid/unknown-age", "disabled-children-rehabilitation-assistance", {**KID, "age": None},
     None, None),
    ("kid/mental", "disabled-children-rehabilitation-assistance",
     {**KID, "disability_category": "精神"}, False, None),
    ("kid/no-certificate", "disabled-children-rehabilitation-assistance",
     {**KID, "disability_category": None}, False, None),
    ("kid/other-family-undeclared", "disabled-children-rehabilitation-assistance",
     {**KID, "subsistence_status": None}, None, None),
    ("kid/other-family-declared", "disabled-children-rehabilitation-assistance",
     {**KID, "subsistence_status": None, "other_hardship_family": True}, True, None),
    ("kid/not-poor-declared", "disabled-children-rehabilitation-assistance",
     {**KID, "subsistence_status": "无", "other_hardship_family": False}, False, None),
    # 陕西省老年人优待: 六十五周岁以上 (65 in, 64 out), 户籍在本行政区域
    ("sn/65", "sn-elderly-preferential-treatment", SN, True, None),
    ("sn/64", "sn-elderly-preferential-treatment", {**SN, "age": 64}, False, None),
    ("sn/yangling", "sn-elderly-preferential-treatment", {**SN, "hukou_district": "610403"},
     True, None),
    ("sn/xinjiang", "sn-elderly-preferential-treatment", {**SN, "hukou_district": "650102"},
     False, None),
    ("sn/unknown-hukou", "sn-elderly-preferential-treatment", {**SN, "hukou_district": None},
     None, None),
    # 育儿补贴: 每孩每年3600元, 3周岁以下
    ("child/one", "childcare-subsidy", {"children_under_3": 1}, True, 3600.0),
    ("child/three", "childcare-subsidy", {"children_under_3": 3}, True, 10800.0),
    ("child/none", "childcare-subsidy", {"children_under_3": 0}, False, None),
    ("child/unknown", "childcare-subsidy", {"children_under_3": None}, None, None),
]


@pytest.mark.parametrize(("case", "policy", "row", "truth", "amount"), CASES,
                         ids=[c[0] for c in CASES])
def test_person_policy_boundary(evaluate: Evaluate, case: str, policy: str,
                                row: dict[str, Any], truth: bool | None,
                                amount: float | None) -> None:
    [out] = evaluate(policy, [row])
    assert out.truth is truth, case
    if truth is not False:
        assert out.amount == amount, case


@pytest.mark.parametrize(("policy", "first_day"), [
    ("unemployment-insurance-benefit", dt.date(1999, 1, 22)),
    ("unemployed-medical-insurance-cover", dt.date(2011, 7, 1)),
    ("medical-assistance", dt.date(2014, 5, 1)),
    ("resident-medical-premium-subsidy", dt.date(2014, 5, 1)),
    ("employment-assistance", dt.date(2014, 5, 1)),
    ("education-assistance", dt.date(2014, 5, 1)),
    ("blind-free-public-transport", dt.date(2018, 10, 26)),
    ("childcare-subsidy", dt.date(2025, 1, 1)),
    ("resident-medical-premium-law-subsidy", dt.date(2011, 7, 1)),
    ("elderly-care-subsidy", dt.date(2013, 7, 1)),
    ("elderly-service-subsidy", dt.date(2013, 7, 1)),
    ("legal-aid-means-test-exemption", dt.date(2022, 1, 1)),
    ("disabled-self-employed-fee-exemption", dt.date(2018, 10, 26)),
    ("poor-disabled-rehabilitation-assistance", dt.date(2018, 10, 26)),
    ("disabled-children-rehabilitation-assistance", dt.date(2018, 10, 1)),
    ("sn-elderly-preferential-treatment", dt.date(2015, 3, 1)),
])
def test_in_force_from_the_day_the_text_took_effect(library, policy: str,
                                                    first_day: dt.date) -> None:
    p = library[policy]
    assert p.in_effect(first_day) and not p.in_effect(first_day - dt.timedelta(days=1))
    assert p.in_effect(dt.date(2026, 11, 30))


@pytest.mark.parametrize("policy", [
    "unemployment-insurance-benefit", "unemployed-medical-insurance-cover",
    "blind-free-public-transport", "medical-assistance", "resident-medical-premium-subsidy",
    "employment-assistance", "education-assistance", "childcare-subsidy",
    "resident-medical-premium-law-subsidy", "elderly-care-subsidy", "elderly-service-subsidy",
    "legal-aid-means-test-exemption", "disabled-self-employed-fee-exemption",
    "poor-disabled-rehabilitation-assistance", "disabled-children-rehabilitation-assistance",
    "sn-elderly-preferential-treatment"])
def test_verified_and_every_condition_cites_its_clause(library, policy: str) -> None:
    p = library[policy]
    assert p.verified, policy
    assert all(b.url and b.text for b in p.bases), policy
    assert all(c.clause for c in p.conditions if c.label != "健在"), policy
