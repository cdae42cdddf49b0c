"""Every bundled policy at its boundaries, through the polars compiler (checked against the
reference interpreter row by row by the ``evaluate`` fixture)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Evaluate = Callable[..., list]

CIT_OK = {"status": "存续", "restricted_industry": False, "annual_taxable_income": 3_000_000.0,
          "employees": 300, "total_assets": 50_000_000.0}


def truths(outcomes: list) -> list[bool | None]:
    return [o.truth for o in outcomes]


def test_library_holds_the_reference_policies(library) -> None:
    """The reference policies stay in the library (it grows; nothing is dropped)."""
    assert {"cit-small-low-profit", "vat-small-scale-exemption", "six-taxes-two-fees-half",
            "rd-super-deduction", "high-tech-enterprise", "ui-job-retention-refund",
            "graduate-hiring-subsidy", "gz-little-giant-reward",
            "graduate-hiring-insured-trigger", "hp-ic-design-revenue-support",
            } <= {p.id for p in library.for_entity("enterprise")}
    assert {"sh-elderly-allowance", "bj-elderly-allowance", "sh-disability-living-subsidy",
            "sh-severe-disability-care-subsidy", "family-planning-special-support",
            "iit-infant-care-deduction"} <= {p.id for p in library.for_entity("person")}
    for policy in library:
        assert all(b.name for b in policy.bases)
        assert all(c.label for c in policy.conditions)


def test_policies_not_in_the_reference_readings_are_drafts_marked_unverified(library) -> None:
    assert not library["hp-ic-design-revenue-support"].verified
    assert not library["graduate-hiring-insured-trigger"].verified
    assert library["cit-small-low-profit"].verified


def test_taxable_income_of_exactly_300wan_passes_and_one_more_fails(evaluate: Evaluate) -> None:
    out = evaluate("cit-small-low-profit", [
        CIT_OK, {**CIT_OK, "annual_taxable_income": 3_000_001.0},
        {**CIT_OK, "annual_taxable_income": 0.0}])
    assert truths(out) == [True, False, True]  # no lower bound (第五条)
    assert out[0].amount == 600_000.0
    assert out[2].amount == 0.0


def test_cit_headcount_assets_and_industry_boundaries(evaluate: Evaluate) -> None:
    out = evaluate("cit-small-low-profit", [
        {**CIT_OK, "employees": 301}, {**CIT_OK, "total_assets": 50_000_001.0},
        {**CIT_OK, "restricted_industry": True}, {**CIT_OK, "status": "吊销"}])
    assert truths(out) == [False, False, False, False]


def test_unknown_income_makes_outcome_undetermined_not_ineligible(evaluate: Evaluate) -> None:
    out = evaluate("cit-small-low-profit", [{**CIT_OK, "annual_taxable_income": None}])
    assert out[0].truth is None
    assert out[0].conditions["c3"] is None
    assert out[0].amount is None


def test_vat_exemption_at_10wan(evaluate: Evaluate) -> None:
    base = {"vat_taxpayer_type": "小规模纳税人", "monthly_sales": 100_000.0}
    out = evaluate("vat-small-scale-exemption", [
        base, {**base, "monthly_sales": 100_000.01}, {**base, "vat_taxpayer_type": "一般纳税人"}])
    assert truths(out) == [True, False, False]
    assert out[0].amount == 1000.0


def test_six_taxes_follows_the_small_low_profit_outcome_three_valued(evaluate: Evaluate) -> None:
    general = {**CIT_OK, "vat_taxpayer_type": "一般纳税人", "individual_business": False}
    out = evaluate("six-taxes-two-fees-half", [
        {"vat_taxpayer_type": "小规模纳税人"}, general,
        {**general, "annual_taxable_income": None}, {**general, "employees": 301}])
    assert truths(out) == [True, True, None, False]
    assert out[0].amount is None


def test_reference_to_a_policy_out_of_effect_is_false(evaluate: Evaluate) -> None:
    general = {**CIT_OK, "vat_taxpayer_type": "一般纳税人", "individual_business": False}
    out = evaluate("six-taxes-two-fees-half", [general], as_of=dt.date(2028, 1, 1))
    assert truths(out) == [False]


def test_rd_super_deduction_excludes_negative_list_divisions(evaluate: Evaluate) -> None:
    base = {"rd_expense": 1000.0, "industry_code": "6310"}
    out = evaluate("rd-super-deduction", [
        base, {**base, "rd_expense": 0.0}, {**base, "industry_code": "5110"},
        {**base, "industry_code": "1610"}, {**base, "industry_code": None}])
    assert truths(out) == [True, False, False, False, None]
    assert out[0].amount == 250.0


def high_tech(revenue: float, rd: float, *, high_tech_revenue: float | None = None,
              last: int = 2024, **extra: object) -> dict[str, object]:
    """A firm for 高新技术企业: ``revenue`` and ``rd`` in each of the three accounting years up
    to ``last`` (the year before the as-of date), the scalar revenue of the last year, and
    high-tech revenue at 60 % of it unless given."""
    years = {f"{s}_y{y}": v for y in range(last - 2, last + 1)
             for s, v in (("operating_revenue", revenue), ("rd_expense", rd))}
    return {"years_since_founding": 1, "tech_staff": 10, "employees": 100,
            "operating_revenue": revenue,
            "high_tech_revenue": revenue * 0.6 if high_tech_revenue is None
            else high_tech_revenue, **years, **extra}


HT = high_tech(50_000_000.0, 2_500_000.0)


def test_high_tech_is_at_best_undetermined_because_core_ip_is_declared(
        evaluate: Evaluate) -> None:
    out = evaluate("high-tech-enterprise", [HT])
    assert out[0].truth is None
    assert out[0].conditions["c2"] is None
    assert [out[0].conditions[c] for c in ("c1", "c3", "c4", "c5", "c6", "c7", "c8")] == [
        True, True, True, False, False, True, True]


def test_high_tech_rd_ratio_bands(evaluate: Evaluate) -> None:
    rows = [
        high_tech(50_000_000.0, 2_495_000.0),                   # ≤5000万 needs 5%: 4.99%
        high_tech(50_000_001.0, 2_100_000.0),                   # band 2 at 4.2%
        high_tech(200_000_000.0, 7_980_000.0),                  # 2亿 still band 2: 3.99%
        high_tech(200_000_001.0, 6_100_000.0),                  # above 2亿 at 3.05%
        {**HT, "tech_staff": 9},                                # 9% of staff
        {**HT, "high_tech_revenue": 29_999_999.0},              # below 60%
        {**HT, "years_since_founding": 0},
    ]
    assert truths(evaluate("high-tech-enterprise", rows)) == [
        False, None, False, None, False, False, False]


def test_high_tech_ratio_is_over_three_years_not_the_last_one(evaluate: Evaluate) -> None:
    """Sum of R&D over sum of revenue of the three accounting years before the as-of date
    (library.md, corrections): a good last year does not make up for two poor ones, and a
    year not on record leaves the ratio UNKNOWN, never 0."""
    poor_then_good = {**HT, "rd_expense_y2022": 500_000.0, "rd_expense_y2023": 500_000.0,
                      "rd_expense_y2024": 5_000_000.0}              # 6% last year, 4% overall
    good_then_poor = {**HT, "rd_expense_y2022": 4_000_000.0, "rd_expense_y2023": 3_000_000.0,
                      "rd_expense_y2024": 1_000_000.0}              # 2% last year, 5.33% overall
    missing = {**HT, "rd_expense_y2023": None}
    out = evaluate("high-tech-enterprise", [poor_then_good, good_then_poor, missing])
    assert [o.conditions["c4"] for o in out] == [False, True, None]
    assert [o.truth for o in out] == [False, None, None]
    # the window moves with the as-of date: in 2026 it is 2023-2025, and 2025 is not on record
    later = evaluate("high-tech-enterprise", [HT], as_of=dt.date(2026, 6, 30))
    assert later[0].conditions["c4"] is None


def test_high_tech_certificate_counts_only_when_more_than_three_years_old(
        evaluate: Evaluate) -> None:
    # as of 2025-09-30: the third anniversary of 2022-09-30 is that very day, which is not
    # "more than 3 years" (library.md, corrections); the day before it is
    out = evaluate("high-tech-enterprise", [
        {**HT, "high_tech_cert_on": dt.date(2022, 9, 29)},
        {**HT, "high_tech_cert_on": dt.date(2022, 9, 30)},
        {**HT, "high_tech_cert_on": dt.date(2022, 10, 1)}])
    assert [o.conditions["c8"] for o in out] == [True, False, False]


def test_a_certificate_of_29_february_has_its_anniversary_on_28_february(
        evaluate: Evaluate) -> None:
    as_of = dt.date(2023, 3, 1)  # 2020-02-29 + 3 years = 2023-02-28, before the as-of date
    out = evaluate("high-tech-enterprise", [
        {**HT, "high_tech_cert_on": dt.date(2020, 2, 29)}], as_of=as_of)
    assert out[0].conditions["c8"] is True
    out = evaluate("high-tech-enterprise", [
        {**HT, "high_tech_cert_on": dt.date(2020, 2, 29)}], as_of=dt.date(2023, 2, 28))
    assert out[0].conditions["c8"] is False


UI = {"status": "存续", "serious_dishonesty": None, "ui_paid_months": 12,
      "layoffs_last_year": 6, "insured_employees": 30, "layoff_rate": 6 / 30,
      "ui_paid_last_year": 10_000.0, "size_class": "小型"}


def test_layoff_rate_of_exactly_20_percent_with_30_insured_passes(evaluate: Evaluate) -> None:
    out = evaluate("ui-job-retention-refund", [
        UI, {**UI, "insured_employees": 31, "layoff_rate": 6 / 31},
        {**UI, "insured_employees": 200, "layoffs_last_year": 11, "layoff_rate": 0.055},
        {**UI, "layoffs_last_year": 0, "layoff_rate": 0.0, "insured_employees": 500}])
    assert truths(out) == [True, False, True, True]
    assert out[0].amount == 6000.0


def test_ui_refund_blacklist_months_and_size(evaluate: Evaluate) -> None:
    out = evaluate("ui-job-retention-refund", [
        {**UI, "serious_dishonesty": True}, {**UI, "ui_paid_months": 11},
        {**UI, "size_class": "大型"}, {**UI, "size_class": None}])
    assert truths(out) == [False, False, True, True]
    assert out[0].conditions["c2"] is False
    assert [o.amount for o in out[2:]] == [3000.0, None]


def test_empty_blacklist_is_decided_not_unknown(evaluate: Evaluate) -> None:
    out = evaluate("ui-job-retention-refund", [UI])
    assert out[0].conditions["c2"] is True


def test_graduate_hiring_subsidy_per_hire(evaluate: Evaluate) -> None:
    out = evaluate("graduate-hiring-subsidy", [
        {"status": "存续", "graduate_hires": 3}, {"status": "存续", "graduate_hires": 0},
        {"status": "存续", "graduate_hires": None}])
    assert truths(out) == [True, False, None]
    assert out[0].amount == 4500.0


def test_little_giant_reward_needs_guangzhou_and_2025_recognition(evaluate: Evaluate) -> None:
    from rules.ledger import AwardLedger

    base = {"uscc": "91350100M000100Y43", "district": "440106",
            "little_giant_on": dt.date(2025, 7, 1)}
    # the ledger holds every award of the policy since it started, and none to this firm
    ledger = AwardLedger.from_records(
        [], complete_from={"gz-little-giant-reward": dt.date(2025, 8, 23)},
        policy_starts={"gz-little-giant-reward": dt.date(2025, 8, 23)})
    out = evaluate("gz-little-giant-reward", [
        base, {**base, "little_giant_on": dt.date(2024, 12, 31)},
        {**base, "little_giant_on": None}, {**base, "district": "440306"},
        {**base, "district": None}], ledger=ledger)
    assert truths(out) == [True, False, False, False, None]
    assert out[0].amount == 1_000_000.0


SH = {"hukou_district": "310104", "alive": True}


def test_shanghai_elderly_allowance_age_bands(evaluate: Evaluate) -> None:
    ages = [64, 65, 69, 70, 79, 80, 89, 90, 99, 100]
    out = evaluate("sh-elderly-allowance", [{**SH, "age": a} for a in ages])
    assert truths(out) == [False] + [True] * 9
    assert [o.amount for o in out[1:]] == [75, 75, 150, 150, 180, 180, 350, 350, 600]


def test_elderly_allowances_need_hukou_and_alive(evaluate: Evaluate) -> None:
    out = evaluate("sh-elderly-allowance", [
        {**SH, "age": 70, "alive": None}, {**SH, "age": 70, "hukou_district": "110101"}])
    assert truths(out) == [None, False]


def test_beijing_elderly_allowance_from_80(evaluate: Evaluate) -> None:
    bj = {"hukou_district": "110105", "alive": True}
    out = evaluate("bj-elderly-allowance", [{**bj, "age": a} for a in (79, 80, 90, 100)])
    assert truths(out) == [False, True, True, True]
    assert [o.amount for o in out[1:]] == [100, 500, 800]


def test_disability_living_subsidy_cases(evaluate: Evaluate) -> None:
    rows = [
        {**SH, "disability_grade": 3, "subsistence_status": "低保"},
        {**SH, "disability_grade": 2, "employed": False},
        {**SH, "disability_grade": 4, "employed": True, "subsistence_status": "低收入"},
        {**SH, "disability_grade": 4, "employed": False},
        {**SH, "disability_grade": None, "subsistence_status": "低保"},
        {**SH, "disability_grade": 1, "employed": None},
    ]
    out = evaluate("sh-disability-living-subsidy", rows)
    assert truths(out) == [True, True, True, False, False, None]
    assert [o.amount for o in out[:3]] == [410, 410, 290]


def test_severe_disability_care_is_undetermined_until_care_need_declared(
        evaluate: Evaluate) -> None:
    rows = [
        {**SH, "disability_grade": 1}, {**SH, "disability_grade": 3,
                                        "disability_category": "智力"},
        {**SH, "disability_grade": 3, "disability_category": "视力"},
        {**SH, "disability_grade": 4}, {**SH, "disability_grade": None},
    ]
    out = evaluate("sh-severe-disability-care-subsidy", rows)
    assert truths(out) == [None, None, False, False, False]
    assert [o.amount for o in out[:2]] == [300, 150]


def test_family_planning_support(evaluate: Evaluate) -> None:
    # no household register here: the spouse conditions are UNKNOWN, so the best is
    # undetermined (tests/rules/test_family_planning.py decides them with the register)
    base = {"birth_date": dt.date(1960, 1, 1), "age": 49, "sex": "女"}
    rows = [
        {**base, "only_child_status": "死亡"},
        {**base, "only_child_status": "伤残", "only_child_disability_grade": 3},
        {**base, "only_child_status": "伤残", "only_child_disability_grade": 4},
        {**base, "only_child_status": None},
        {**base, "only_child_status": "死亡", "age": 48},
        {**base, "only_child_status": "死亡", "birth_date": dt.date(1932, 12, 31)},
    ]
    out = evaluate("family-planning-special-support", rows)
    assert truths(out) == [None, None, False, False, False, False]
    assert [o.amount for o in out[:2]] == [590, 460]


def test_infant_care_deduction_per_child(evaluate: Evaluate) -> None:
    out = evaluate("iit-infant-care-deduction", [
        {"children_under_3": 2}, {"children_under_3": 0}, {"children_under_3": None}])
    assert truths(out) == [True, False, None]
    assert out[0].amount == 4000


HP_IC = {"district": "440112", "status": "存续", "chain_ic": True,
         "operating_revenue": 20_000_000.0}


def test_inferred_chain_tag_unknown_gives_undetermined_never_eligible(evaluate: Evaluate) -> None:
    out = evaluate("hp-ic-design-revenue-support", [
        HP_IC, {**HP_IC, "chain_ic": None}, {**HP_IC, "chain_ic": False},
        {**HP_IC, "district": "440106"}])
    assert truths(out) == [True, None, False, False]
    assert out[1].conditions["c3"] is None and out[1].amount == 200_000.0


def test_ic_revenue_tiers_at_their_boundaries(evaluate: Evaluate) -> None:
    revenues = [19_999_999.0, 20_000_000.0, 49_999_999.0, 50_000_000.0, 100_000_000.0,
                300_000_000.0, 500_000_000.0, 999_999_999.0, 1_000_000_000.0, 5e9]
    out = evaluate("hp-ic-design-revenue-support",
                   [{**HP_IC, "operating_revenue": r} for r in revenues])
    assert truths(out) == [False] + [True] * 9
    assert [o.amount for o in out[1:]] == [200_000.0, 200_000.0, 500_000.0, 1_000_000.0,
                                           2_000_000.0, 3_000_000.0, 3_000_000.0, 5_000_000.0,
                                           5_000_000.0]
