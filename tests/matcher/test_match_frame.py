"""The batch matcher's long output on the bundled library, by example."""

from __future__ import annotations

import datetime as dt

import polars as pl

from matcher.evaluate import match_frame
from matcher.outcomes import OUTCOME_SCHEMA
from tests.matcher.conftest import enterprise_frame, person_frame

AS_OF = dt.date(2025, 10, 1)

SMALL_FIRM = {
    "uscc": "E1", "status": "存续", "industry_code": "3911", "district": "440106",
    "founded_on": dt.date(2015, 3, 1), "employees": 80, "operating_revenue": 30_000_000.0,
    "total_assets": 20_000_000.0, "annual_taxable_income": 1_200_000.0,
    "vat_taxpayer_type": "一般纳税人", "monthly_sales": 2_500_000.0, "rd_expense": 0.0,
    "restricted_industry": False,
    "insured_employees": 80, "ui_paid_months": 36, "ui_paid_last_year": 40_000.0,
    "layoffs_last_year": 0, "graduate_hires": 0,
}


def outcomes_of(frame: pl.DataFrame, library, entity: str, when: dt.date = AS_OF) -> dict:
    out = match_frame(frame, entity=entity, policies=library.policies.values(), as_of=when,
                      sets=library.sets)
    return {(r["entity_id"], r["policy_id"]): r for r in out.iter_rows(named=True)}


def test_output_has_the_documented_columns_and_types(library):
    frame = enterprise_frame([SMALL_FIRM], as_of=AS_OF)
    out = match_frame(frame, entity="enterprise", policies=library.policies.values(),
                      as_of=AS_OF, sets=library.sets)
    assert dict(out.schema) == OUTCOME_SCHEMA


def test_small_low_profit_firm_is_eligible_with_amount(library):
    got = outcomes_of(enterprise_frame([SMALL_FIRM], as_of=AS_OF), library, "enterprise")
    row = got[("E1", "cit-small-low-profit")]
    assert row["outcome"] == "eligible"
    assert row["amount_fen"] == 24_000_000  # 1,200,000 × 20% = 240,000.00 元
    assert row["amount_period"] == "year" and row["delivery"] == "notice"
    assert row["unknown_fields"] == []


def test_unknown_income_makes_outcome_undetermined(library):
    firm = {**SMALL_FIRM, "annual_taxable_income": None}
    row = outcomes_of(enterprise_frame([firm], as_of=AS_OF), library, "enterprise")[
        ("E1", "cit-small-low-profit")
    ]
    assert row["outcome"] == "undetermined"
    assert row["amount_fen"] is None  # unknown, never 0
    assert row["unknown_fields"] == ["annual_taxable_income"]


def test_ineligible_pairs_are_not_listed(library):
    firm = {**SMALL_FIRM, "annual_taxable_income": 3_000_001.0}
    got = outcomes_of(enterprise_frame([firm], as_of=AS_OF), library, "enterprise")
    assert ("E1", "cit-small-low-profit") not in got
    assert got[("E1", "ui-job-retention-refund")]["outcome"] == "eligible"


def test_declared_condition_leaves_high_tech_undetermined_and_asks_for_it(library):
    years = {f"{s}_y{y}": v for y in (2022, 2023, 2024)
             for s, v in (("operating_revenue", 30_000_000.0), ("rd_expense", 3_000_000.0))}
    firm = {**SMALL_FIRM, "rd_expense": 3_000_000.0, "tech_staff": 20,
            "high_tech_revenue": 25_000_000.0, **years}
    row = outcomes_of(enterprise_frame([firm], as_of=AS_OF), library, "enterprise")[
        ("E1", "high-tech-enterprise")
    ]
    assert row["outcome"] == "undetermined"
    assert row["unknown_fields"] == ["has_core_ip"]


def test_unknown_derived_tag_is_reported_through_its_missing_input(library):
    firm = {**SMALL_FIRM, "layoffs_last_year": 3, "insured_employees": None}
    row = outcomes_of(enterprise_frame([firm], as_of=AS_OF), library, "enterprise")[
        ("E1", "ui-job-retention-refund")
    ]
    assert row["outcome"] == "undetermined"
    assert "insured_employees" in row["unknown_fields"]


def test_policies_outside_their_effective_period_are_not_evaluated(library):
    firm = {**SMALL_FIRM, "graduate_hires": 2}
    frame = enterprise_frame([firm], as_of=dt.date(2026, 1, 1))
    got = outcomes_of(frame, library, "enterprise", when=dt.date(2026, 1, 1))
    assert ("E1", "graduate-hiring-subsidy") not in got
    assert ("E1", "ui-job-retention-refund") not in got
    got_2025 = outcomes_of(enterprise_frame([firm], as_of=AS_OF), library, "enterprise")
    assert got_2025[("E1", "graduate-hiring-subsidy")]["amount_fen"] == 300000


def test_elderly_allowance_tiers_by_age_on_the_birthday(library):
    people = [
        {"id_number": "P69", "birth_date": dt.date(1955, 10, 2), "hukou_district": "310104",
         "alive": True},  # turns 70 tomorrow
        {"id_number": "P70", "birth_date": dt.date(1955, 10, 1), "hukou_district": "310104",
         "alive": True},  # 70 today
    ]
    got = outcomes_of(person_frame(people, as_of=AS_OF), library, "person")
    assert got[("P69", "sh-elderly-allowance")]["amount_fen"] == 7500
    assert got[("P70", "sh-elderly-allowance")]["amount_fen"] == 15000


def test_empty_list_fields_are_decided_not_unknown(library):
    # no disability certificate (empty list-type field): the disability subsidy is FALSE,
    # so it is not listed at all, rather than undetermined.
    person = {"id_number": "P1", "birth_date": dt.date(1980, 1, 1), "hukou_district": "310104",
              "alive": True, "employed": False}
    got = outcomes_of(person_frame([person], as_of=AS_OF), library, "person")
    assert ("P1", "sh-disability-living-subsidy") not in got
    assert ("P1", "sh-severe-disability-care-subsidy") not in got


def test_severe_disability_care_needs_the_declared_care_condition(library):
    person = {"id_number": "P2", "birth_date": dt.date(1980, 1, 1), "hukou_district": "310104",
              "alive": True, "disability_grade": 1, "disability_category": "肢体"}
    row = outcomes_of(person_frame([person], as_of=AS_OF), library, "person")[
        ("P2", "sh-severe-disability-care-subsidy")
    ]
    assert row["outcome"] == "undetermined"
    assert row["unknown_fields"] == ["needs_long_term_care"]
    assert row["amount_fen"] == 30000  # the amount itself is decided by the known grade


def test_streaming_engine_gives_the_same_outcomes(library):
    firms = [SMALL_FIRM, {**SMALL_FIRM, "uscc": "E2", "annual_taxable_income": None},
             {**SMALL_FIRM, "uscc": "E3", "vat_taxpayer_type": "小规模纳税人",
              "monthly_sales": 80_000.0}]
    frame = enterprise_frame(firms, as_of=AS_OF)
    kwargs = dict(entity="enterprise", policies=library.policies.values(), as_of=AS_OF,
                  sets=library.sets)
    assert match_frame(frame, streaming=True, **kwargs).equals(match_frame(frame, **kwargs))
