"""The local policies (广州 / 黄埔区, 上海, 北京, 陕西, 新疆) at their boundaries, written from the
clause each condition cites, through the polars compiler checked row by row against the
reference interpreter (the ``evaluate`` fixture). The as-of date is 2026-11-30."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

Evaluate = Callable[..., list]
AS_OF = dt.date(2026, 11, 30)
YEAR_AGO = dt.date(2025, 11, 30)      # the anniversary itself is a full year: not "new"
DAY_AFTER = dt.date(2025, 12, 1)      # less than a year before the as-of date: "new"


def truths(outcomes: list) -> list[bool | None]:
    return [o.truth for o in outcomes]


def amounts(outcomes: list) -> list[float | None]:
    return [o.amount for o in outcomes]


# ---- enterprises: recognitions ------------------------------------------------------------

# (policy, district inside, district outside, recognition field, amount of a firm just in)
NEW_RECOGNITION = [
    ("sh-huangpu-little-giant-reward", "310101", "310104", "little_giant_on", 400_000.0),
    ("sh-huangpu-specialized-sme-reward", "310101", "310104", "specialized_sme_on", 200_000.0),
    ("sh-hongkou-specialized-sme-reward", "310109", "310101", "specialized_sme_on", 100_000.0),
    ("gd-little-giant-reward", "440106", "610113", "little_giant_on", 1_000_000.0),
    ("sn-specialized-sme-reward", "610403", "650102", "specialized_sme_on", 200_000.0),
]


@pytest.mark.parametrize(("policy", "inside", "outside", "field", "amount"), NEW_RECOGNITION)
def test_new_recognition_is_within_a_year_and_the_list_empty_means_not_recognised(
        evaluate: Evaluate, policy: str, inside: str, outside: str, field: str,
        amount: float) -> None:
    base = {"district": inside, "status": "存续", field: DAY_AFTER}
    rows = [
        base,
        {**base, field: YEAR_AGO},          # a full year ago: not newly recognised
        {**base, field: dt.date(2026, 12, 1)},  # after the as-of date: not yet recognised
        {**base, field: None},              # not on the list: decided, not unknown
        {**base, "district": outside},
        {**base, "district": None},         # district unknown
    ]
    out = evaluate(policy, rows, as_of=AS_OF)
    assert truths(out) == [True, False, False, False, False, None]
    assert out[0].amount == amount


def test_hp_little_giant_counts_from_the_day_the_measures_took_effect(
        evaluate: Evaluate, library) -> None:
    base = {"district": "440112", "status": "存续"}
    rows = [
        {**base, "little_giant_on": dt.date(2025, 3, 31)},
        {**base, "little_giant_on": dt.date(2025, 3, 30)},
        {**base, "little_giant_on": dt.date(2025, 6, 1), "status": "吊销"},
        {**base, "little_giant_on": dt.date(2025, 6, 1), "serious_dishonesty": True},
        {**base, "little_giant_on": dt.date(2025, 6, 1), "status": None},
        {**base, "little_giant_on": dt.date(2026, 1, 1)},   # after the as-of date
    ]
    out = evaluate("hp-little-giant-support", rows, as_of=dt.date(2025, 12, 31))
    assert truths(out) == [True, False, False, False, None, False]
    # the measures run from 2025-03-31 to 2028-03-30, both days included
    policy = library["hp-little-giant-support"]
    assert [policy.in_effect(d) for d in (dt.date(2025, 3, 30), dt.date(2025, 3, 31),
                                          dt.date(2028, 3, 30), dt.date(2028, 3, 31))] == [
        False, True, True, False]


def test_guangzhou_single_champion_from_the_measures_day(evaluate: Evaluate, library) -> None:
    base = {"district": "440112", "single_champion_on": dt.date(2025, 8, 23)}
    rows = [base, {**base, "single_champion_on": dt.date(2025, 8, 22)},
            {**base, "single_champion_on": None}, {**base, "district": "440306"},
            {**base, "district": None}, {**base, "single_champion_on": dt.date(2026, 12, 1)}]
    out = evaluate("gz-single-champion-reward", rows, as_of=AS_OF)
    assert truths(out) == [True, False, False, False, None, False]
    assert out[0].amount == 1_500_000.0
    policy = library["gz-single-champion-reward"]
    assert [policy.in_effect(d) for d in (dt.date(2025, 8, 22), dt.date(2025, 8, 23),
                                          dt.date(2027, 12, 31), dt.date(2028, 1, 1))] == [
        False, True, True, False]


@pytest.mark.parametrize(("policy", "field", "cap"), [
    ("sh-pudong-little-giant-support", "little_giant_on", 1_000_000.0),
    ("sh-pudong-specialized-sme-support", "specialized_sme_on", 250_000.0),
])
def test_pudong_support_is_a_tenth_of_rd_capped(evaluate: Evaluate, policy: str, field: str,
                                               cap: float) -> None:
    base = {"district": "310115", field: DAY_AFTER}
    rows = [
        {**base, "rd_expense_y2025": 1_000_000.0},
        {**base, "rd_expense_y2025": cap * 10},            # exactly at the cap
        {**base, "rd_expense_y2025": cap * 10 + 10.0},     # past it
        {**base, "rd_expense_y2025": 0.0},                 # nothing to add: ineligible
        {**base, "rd_expense_y2025": None},                # unknown R&D: undetermined, no amount
        {**base, field: None, "rd_expense_y2025": 1_000_000.0},
        # the scalar extract's R&D is not "上一年度" of the as-of date: 2025 is not on record
        {**base, "rd_expense": 1_000_000.0, "rd_expense_y2024": 1_000_000.0},
    ]
    out = evaluate(policy, rows, as_of=AS_OF)
    assert truths(out) == [True, True, True, False, None, False, None]
    assert amounts(out)[:3] == [100_000.0, cap, cap]
    assert out[4].amount is None


def test_pudong_pays_a_firm_new_on_both_lists_only_at_the_national_level(
        evaluate: Evaluate) -> None:
    both = {"district": "310115", "rd_expense_y2025": 1_000_000.0, "little_giant_on": DAY_AFTER,
            "specialized_sme_on": DAY_AFTER}
    rows = [both, {**both, "little_giant_on": YEAR_AGO}]
    national = evaluate("sh-pudong-little-giant-support", rows, as_of=AS_OF)
    municipal = evaluate("sh-pudong-specialized-sme-support", rows, as_of=AS_OF)
    assert truths(national) == [True, False] and truths(municipal) == [False, True]


def test_pudong_support_ended_on_the_last_day_a_2025_summary_gives(library) -> None:
    """有效期至2025年12月31日 (read in a 2025 summary of the districts' measures): in force on
    that day, ended the day after, and the coverage table says 已到期."""
    from rules.coverage import coverage_rows

    for pid in ("sh-pudong-little-giant-support", "sh-pudong-specialized-sme-support"):
        policy = library[pid]
        assert [policy.in_effect(d) for d in (dt.date(2025, 12, 31), dt.date(2026, 1, 1))] \
            == [True, False], pid
        [row] = coverage_rows([policy], as_of=AS_OF)
        assert row.expired and row.period.endswith("（已到期）")


def test_shaanxi_reward_from_the_day_the_plan_was_issued(library) -> None:
    policy = library["sn-specialized-sme-reward"]  # 陕西省人民政府办公厅 2022年1月2日
    assert [policy.in_effect(d) for d in (dt.date(2022, 1, 1), dt.date(2022, 1, 2))] == [
        False, True]


# ---- persons ------------------------------------------------------------------------------

GZ = {"hukou_district": "440106", "alive": True}


def test_guangzhou_longevity_allowance_bands(evaluate: Evaluate) -> None:
    ages = [69, 70, 79, 80, 89, 90, 99, 100]
    out = evaluate("gz-longevity-allowance", [{**GZ, "age": a} for a in ages], as_of=AS_OF)
    assert truths(out) == [False] + [True] * 7
    assert amounts(out)[1:] == [30, 30, 100, 100, 200, 200, 300]
    unknown = evaluate("gz-longevity-allowance", [
        {**GZ, "age": None}, {**GZ, "age": 75, "alive": None},
        {**GZ, "age": 75, "hukou_district": "310101"}, {**GZ, "age": 75, "alive": False}],
        as_of=AS_OF)
    assert truths(unknown) == [None, None, False, False]


def test_guangzhou_centenarian_condolence_from_100(evaluate: Evaluate) -> None:
    out = evaluate("gz-centenarian-condolence",
                   [{**GZ, "age": 99}, {**GZ, "age": 100}, {**GZ, "age": None}], as_of=AS_OF)
    assert truths(out) == [False, True, None]
    assert out[1].amount == 1000


BJ = {"hukou_district": "110108", "alive": True, "age": 60}


def test_beijing_needy_elderly_subsidy_cases(evaluate: Evaluate) -> None:
    rows = [
        {**BJ, "subsistence_status": "低保"},
        {**BJ, "subsistence_status": "低收入"},
        {**BJ, "only_child_status": "死亡"},
        {**BJ, "subsistence_status": "低保", "only_child_status": "伤残"},
        {**BJ, "subsistence_status": "无"},
        {**BJ},                                           # on no list: decided FALSE
        {**BJ, "age": 59, "subsistence_status": "低保"},
        {**BJ, "age": None, "subsistence_status": "低保"},
    ]
    out = evaluate("bj-needy-elderly-service-subsidy", rows, as_of=AS_OF)
    assert truths(out) == [True, True, True, True, False, False, False, None]
    assert amounts(out)[:4] == [300, 200, 100, 300]


HUKOU = {"bj": "110105", "gz": "440113", "sn": "610403", "xj": "650104"}
ELSEWHERE = {"bj": "310101", "gz": "440306", "sn": "650102", "xj": "610102"}


@pytest.mark.parametrize("region", sorted(HUKOU))
def test_living_subsidy_is_for_disabled_persons_on_dibao(evaluate: Evaluate,
                                                         region: str) -> None:
    base = {"hukou_district": HUKOU[region], "disability_grade": 4, "subsistence_status": "低保"}
    rows = [
        base,
        {**base, "subsistence_status": "低收入"},        # local extension not encoded
        {**base, "subsistence_status": None},            # on no list
        {**base, "disability_grade": None},              # no certificate
        {**base, "hukou_district": ELSEWHERE[region]},
        {**base, "hukou_district": None},
    ]
    out = evaluate(f"{region}-disability-living-subsidy", rows, as_of=AS_OF)
    assert truths(out) == [True, False, False, False, False, None]
    assert out[0].amount is None                         # local amount not yet read


@pytest.mark.parametrize("region", sorted(HUKOU))
def test_care_subsidy_needs_grade_one_or_two_and_is_at_best_undetermined(
        evaluate: Evaluate, region: str) -> None:
    base = {"hukou_district": HUKOU[region]}
    rows = [
        {**base, "disability_grade": 1}, {**base, "disability_grade": 2},
        {**base, "disability_grade": 3, "disability_category": "智力"},
        {**base, "disability_grade": None},
        {"hukou_district": ELSEWHERE[region], "disability_grade": 1},
    ]
    out = evaluate(f"{region}-severe-disability-care-subsidy", rows, as_of=AS_OF)
    assert truths(out) == [None, None, False, False, False]
    assert out[0].conditions["c3"] is None               # 需要长期照护: declared only


def test_local_drafts_say_what_is_unverified(library) -> None:
    for policy_id in ["hp-little-giant-support", "gz-longevity-allowance",
                      "bj-needy-elderly-service-subsidy", "xj-disability-living-subsidy",
                      "sn-specialized-sme-reward", "sh-pudong-little-giant-support"]:
        policy = library[policy_id]
        assert policy.verification == "待核", policy_id
        assert "待核" in (policy.description or ""), policy_id
    assert library["gz-single-champion-reward"].verification != "待核"


LOCAL = {
    "enterprise": ["gz-single-champion-reward", "hp-little-giant-support", "gd-little-giant-reward",
                   "sh-huangpu-little-giant-reward", "sh-huangpu-specialized-sme-reward",
                   "sh-hongkou-specialized-sme-reward", "sn-specialized-sme-reward"],
    "person": ["gz-longevity-allowance", "gz-centenarian-condolence",
               "bj-needy-elderly-service-subsidy",
               *(f"{r}-{kind}" for r in sorted(HUKOU)
                 for kind in ("disability-living-subsidy", "severe-disability-care-subsidy"))],
}


@pytest.mark.parametrize("entity", sorted(LOCAL))
def test_local_policies_are_in_force_on_the_day_and_cite_what_was_read(library,
                                                                       entity: str) -> None:
    ids = {p.id for p in library.for_entity(entity)}
    for policy_id in LOCAL[entity]:
        assert policy_id in ids
        policy = library[policy_id]
        assert policy.in_effect(AS_OF), policy_id
        assert all(b.url for b in policy.bases), policy_id
        assert all(c.clause for c in policy.conditions), policy_id
