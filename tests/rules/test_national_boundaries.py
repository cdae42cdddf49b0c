"""The national policies at their boundaries, written from the clause texts they cite: ≤ against
<, dates on the day, an UNKNOWN in each input, list-type fields left empty. Each case runs
through the polars compiler and the reference interpreter (the ``evaluate`` fixture).

A case is (policy, row, expected truth, expected amount); ``ANY`` skips the amount."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

Evaluate = Callable[..., list]
ANY = object()

VAT = {"vat_taxpayer_type": "小规模纳税人", "monthly_sales": 150_000.0}
IND = {"individual_business": True, "status": "存续", "annual_taxable_income": 0.01}
HT = {"status": "存续", "high_tech_cert_on": dt.date(2022, 10, 1),
      "annual_taxable_income": 1_000_000.0}
DF = {"status": "存续", "individual_business": False, "staff_on_payroll": 30}
EDU = {"children_in_education": 1}
OLD = {"parents_aged_60_plus": 1, "only_child": True}
LIV = {"alive": True, "disability_grade": 4, "subsistence_status": "低保"}
CARE = {"alive": True, "disability_grade": 2, "needs_long_term_care": True}
SKILL = {"ui_insured_months": 12, "skill_cert_level": "初级"}

CASES: list[tuple[str, str, dict[str, Any], bool | None, Any]] = [
    # 3%征收率减按1%: 月销售额超过10万元 (10万元整 is the exemption's, not this one's)
    ("vat-reduced/over-10wan", "vat-small-scale-reduced-rate", VAT, True, 3000.0),
    ("vat-reduced/a-fen-over", "vat-small-scale-reduced-rate",
     {**VAT, "monthly_sales": 100_000.01}, True, ANY),
    ("vat-reduced/at-10wan", "vat-small-scale-reduced-rate",
     {**VAT, "monthly_sales": 100_000.0}, False, None),
    ("vat-reduced/general", "vat-small-scale-reduced-rate",
     {**VAT, "vat_taxpayer_type": "一般纳税人"}, False, None),
    ("vat-reduced/unknown-sales", "vat-small-scale-reduced-rate",
     {**VAT, "monthly_sales": None}, None, None),
    ("vat-reduced/unknown-type", "vat-small-scale-reduced-rate",
     {**VAT, "vat_taxpayer_type": None}, None, 3000.0),
    # 个体工商户减半: any positive income; a company is not a 个体工商户
    ("ind/positive", "iit-individual-business-half", IND, True, None),
    ("ind/zero", "iit-individual-business-half", {**IND, "annual_taxable_income": 0.0},
     False, None),
    ("ind/company", "iit-individual-business-half", {**IND, "individual_business": False},
     False, None),
    ("ind/unknown-income", "iit-individual-business-half",
     {**IND, "annual_taxable_income": None}, None, None),
    ("ind/revoked", "iit-individual-business-half", {**IND, "status": "吊销"}, False, None),
    # 高企15%: 证书自颁发之日起三年有效 (as of 2025-09-30)
    ("ht/two-years-364-days", "cit-high-tech-reduced-rate", HT, True, 100_000.0),
    ("ht/three-years-on-the-day", "cit-high-tech-reduced-rate",
     {**HT, "high_tech_cert_on": dt.date(2022, 9, 30)}, False, None),
    ("ht/no-certificate-listed", "cit-high-tech-reduced-rate",
     {**HT, "high_tech_cert_on": None}, False, None),
    ("ht/loss", "cit-high-tech-reduced-rate", {**HT, "annual_taxable_income": -1.0},
     False, None),
    ("ht/unknown-income", "cit-high-tech-reduced-rate",
     {**HT, "annual_taxable_income": None}, None, None),
    ("ht/unknown-status", "cit-high-tech-reduced-rate", {**HT, "status": None}, None,
     100_000.0),
    # 残保金: 在职职工人数在30人(含)以下的企业
    ("df/30", "disability-fund-small-exemption", DF, True, None),
    ("df/31", "disability-fund-small-exemption", {**DF, "staff_on_payroll": 31}, False, None),
    ("df/individual-business", "disability-fund-small-exemption",
     {**DF, "individual_business": True}, False, None),
    ("df/unknown-staff", "disability-fund-small-exemption", {**DF, "staff_on_payroll": None},
     None, None),
    # 残保金分档减缴: 安排比例在1%以下 (1% itself is the other tier); 30人以下 are exempt instead
    ("dft/none-of-100", "disability-fund-tiered-reduction",
     {"status": "存续", "staff_on_payroll": 100, "disabled_employees": 0}, True, None),
    ("dft/one-of-100", "disability-fund-tiered-reduction",
     {"status": "存续", "staff_on_payroll": 100, "disabled_employees": 1}, False, None),
    ("dft/one-of-101", "disability-fund-tiered-reduction",
     {"status": "存续", "staff_on_payroll": 101, "disabled_employees": 1}, True, None),
    ("dft/30-staff", "disability-fund-tiered-reduction",
     {"status": "存续", "staff_on_payroll": 30, "disabled_employees": 0}, False, None),
    ("dft/unknown-disabled", "disability-fund-tiered-reduction",
     {"status": "存续", "staff_on_payroll": 100, "disabled_employees": None}, None, None),
    # 子女教育: 2000 per child per month
    ("edu/one", "iit-child-education-deduction", EDU, True, 2000.0),
    ("edu/three", "iit-child-education-deduction", {"children_in_education": 3}, True,
     6000.0),
    ("edu/none", "iit-child-education-deduction", {"children_in_education": 0}, False, None),
    ("edu/unknown", "iit-child-education-deduction", {"children_in_education": None}, None,
     None),
    # 赡养老人: 独生子女3000; 非独生子女 ≤1500; unknown only-child status leaves the amount open
    ("old/only-child", "iit-elderly-support-deduction", OLD, True, 3000.0),
    ("old/siblings", "iit-elderly-support-deduction", {**OLD, "only_child": False}, True,
     1500.0),
    ("old/unknown-only-child", "iit-elderly-support-deduction", {**OLD, "only_child": None},
     True, None),
    ("old/no-parent-60", "iit-elderly-support-deduction", {**OLD, "parents_aged_60_plus": 0},
     False, None),
    ("old/unknown-parents", "iit-elderly-support-deduction",
     {**OLD, "parents_aged_60_plus": None}, None, 3000.0),
    # 手术并发症: 一级520 二级390 三级260; list-type: empty = not listed
    ("fp/grade-1", "family-planning-complication-support", {"fp_complication_grade": 1},
     True, 520.0),
    ("fp/grade-3", "family-planning-complication-support", {"fp_complication_grade": 3},
     True, 260.0),
    ("fp/not-listed", "family-planning-complication-support", {"fp_complication_grade": None},
     False, None),
    # 困难残疾人生活补贴: 低保家庭中的残疾人 (both list-type)
    ("liv/dibao-disabled", "disability-living-subsidy", LIV, True, None),
    ("liv/no-certificate", "disability-living-subsidy", {**LIV, "disability_grade": None},
     False, None),
    ("liv/low-income", "disability-living-subsidy", {**LIV, "subsistence_status": "低收入"},
     False, None),
    ("liv/not-listed", "disability-living-subsidy", {**LIV, "subsistence_status": None},
     False, None),
    ("liv/unknown-alive", "disability-living-subsidy", {**LIV, "alive": None}, None, None),
    # 重度残疾人护理补贴: 一级、二级且需要长期照护 (declared in the policy: UNKNOWN until the
    # applicant declares it, then the answer decides)
    ("care/grade-2", "severe-disability-care-subsidy", CARE, True, None),
    ("care/undeclared", "severe-disability-care-subsidy",
     {**CARE, "needs_long_term_care": None}, None, None),
    ("care/declared-no", "severe-disability-care-subsidy",
     {**CARE, "needs_long_term_care": False}, False, None),
    ("care/grade-3", "severe-disability-care-subsidy", {**CARE, "disability_grade": 3},
     False, None),
    ("care/not-listed", "severe-disability-care-subsidy", {**CARE, "disability_grade": None},
     False, None),
    # drafts marked 待核 still evaluate exactly as written
    ("hard/one", "hard-to-employ-social-insurance-subsidy",
     {"status": "存续", "hard_to_employ_hires": 1}, True, None),
    ("hard/none", "hard-to-employ-social-insurance-subsidy",
     {"status": "存续", "hard_to_employ_hires": 0}, False, None),
    ("key/unknown", "key-group-hiring-tax-deduction",
     {"status": "存续", "key_group_hires": None}, None, None),
    ("vet/one", "veteran-hiring-tax-deduction", {"status": "存续", "veteran_hires": 1},
     True, None),
    ("vetbiz/not-listed", "veteran-business-tax-deduction", {"self_employed_veteran": None},
     False, None),
    ("child/two", "childcare-subsidy", {"children_under_3": 2}, True, 7200.0),
]


@pytest.mark.parametrize(("case", "policy", "row", "truth", "amount"), CASES,
                         ids=[c[0] for c in CASES])
def test_national_policy_boundary(evaluate: Evaluate, case: str, policy: str,
                                  row: dict[str, Any], truth: bool | None, amount: Any) -> None:
    [out] = evaluate(policy, [row])
    assert out.truth is truth, case
    if amount is not ANY and truth is not False:  # no amount is paid when ineligible
        assert out.amount == amount, case


SKILL_CASES: list[tuple[str, dict[str, Any], bool | None, float | None]] = [
    ("12-months", SKILL, True, 1000.0),
    ("11-months", {**SKILL, "ui_insured_months": 11}, False, None),
    ("senior", {**SKILL, "skill_cert_level": "高级"}, True, 2000.0),
    ("no-certificate", {**SKILL, "skill_cert_level": None}, False, None),
    ("unknown-months", {**SKILL, "ui_insured_months": None}, None, 1000.0),
]


@pytest.mark.parametrize(("case", "row", "truth", "amount"), SKILL_CASES,
                         ids=[c[0] for c in SKILL_CASES])
def test_skill_upgrade_subsidy_while_in_force(evaluate: Evaluate, case: str,
                                              row: dict[str, Any], truth: bool | None,
                                              amount: float | None) -> None:
    [out] = evaluate("skill-upgrade-subsidy", [row], as_of=dt.date(2024, 12, 31))
    assert out.truth is truth, case
    if truth is not False:
        assert out.amount == amount, case


def test_policies_marked_unverified_are_drafts(library) -> None:
    drafts = {p.id for p in library if not p.verified}
    assert {"hard-to-employ-social-insurance-subsidy", "key-group-hiring-tax-deduction",
            "veteran-hiring-tax-deduction", "veteran-business-tax-deduction",
            "skill-upgrade-subsidy"} <= drafts
    for pid in ("vat-small-scale-reduced-rate", "disability-fund-tiered-reduction",
                "iit-individual-business-half",
                "cit-high-tech-reduced-rate", "disability-fund-small-exemption",
                "iit-child-education-deduction", "iit-elderly-support-deduction",
                "family-planning-complication-support", "disability-living-subsidy",
                "severe-disability-care-subsidy"):
        policy = library[pid]
        assert policy.verified and all(b.url and b.text for b in policy.bases), pid
        assert all(c.clause for c in policy.conditions if c.label != "登记状态为存续"
                   and c.label != "健在"), pid
