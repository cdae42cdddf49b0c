"""A derived tag known to lie in a set decides conditions on it, and an amount is decided
when every still-possible branch gives the same amount (rules.possible,
rules.amount_branches), in the interpreter, the polars compiler, the batch matcher and the
event engine alike.

The policy is the bundled 失业保险稳岗返还 (ui-job-retention-refund): 60% of last year's
premium for an SME (``size_class in ["中型", "小型", "微型"]``), 30% for a large firm."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl
import pytest

from matcher.evaluate import match_frame
from matcher.events.engine import EventEngine
from profiles.catalog import load_catalog
from profiles.derive import derive
from profiles.ingest import complete
from profiles.possible import possible_column
from rules.amount_branches import NO_BRANCH, agreed, case_branches, tier_branches
from rules.compile_polars import compile_policies
from rules.interpret import evaluate_policy
from rules.loader import Library
from rules.model import Case, CaseAmount, Policy
from rules.parser import parse_expr
from tests.rules.conftest import AS_OF, Evaluate, frame, run_polars

MASK = possible_column("size_class")
FIRM = {"status": "存续", "serious_dishonesty": None, "ui_paid_months": 12,
        "layoffs_last_year": 0, "insured_employees": 40, "ui_paid_last_year": 10_000.0,
        "industry_code": "3911"}


def derived(**base: Any) -> dict[str, Any]:
    """The firm as the matcher sees it: derived tags (size class and its possible set)
    computed from the base fields."""
    frame = complete(pl.DataFrame([{"uscc": "91440101MA5CXXXX1X", **FIRM, **base}]),
                     entity="enterprise")
    return derive(frame, entity="enterprise", as_of=AS_OF).collect().to_dicts()[0]


def test_an_industrial_firm_known_to_be_an_sme_by_revenue_alone_gets_the_sme_rate(
        evaluate: Evaluate) -> None:
    # revenue 5 000万 < 4亿: an SME whatever its headcount; which SME class is unknown
    row = derived(operating_revenue=50_000_000.0, employees=None)
    assert row["size_class"] is None and row[MASK] == 0b1110
    (out,) = evaluate("ui-job-retention-refund", [row])
    assert out.truth is True
    assert out.amount == 6000.0  # was UNKNOWN: the first case's size_class test was UNKNOWN


def test_a_firm_that_may_be_large_keeps_an_unknown_amount(evaluate: Evaluate) -> None:
    row = derived(operating_revenue=None, employees=1500)  # 大型 or 中型 or ...
    assert row["size_class"] is None and row[MASK] & 0b0001
    (out,) = evaluate("ui-job-retention-refund", [row])
    assert out.truth is True and out.amount is None


def test_two_rates_of_nothing_do_not_agree_while_no_case_may_hold(evaluate: Evaluate) -> None:
    # 60% and 30% of 0 are both 0, but the cases are judged one by one (rules.amount_branches):
    # with 大型 / 中型 both UNKNOWN, "no case holds" is still possible, and its amount is
    # UNKNOWN; an else case would close it (next test)
    row = derived(operating_revenue=None, employees=1500, ui_paid_last_year=0.0)
    (out,) = evaluate("ui-job-retention-refund", [row])
    assert out.amount is None


def with_cases(policy: Policy, *cases: tuple[str | None, str]) -> Policy:
    assert policy.amount is not None
    rule = CaseAmount(cases=tuple(Case(when=None if w is None else parse_expr(w),
                                       value=parse_expr(v)) for w, v in cases))
    return replace(policy, amount=replace(policy.amount, rule=rule))


def test_an_amount_every_still_possible_case_gives_is_decided(library: Library) -> None:
    policy = with_cases(library["ui-job-retention-refund"],
                        ("size_class = \"大型\"", "ui_paid_last_year * 30%"),
                        ("employees >= 300", "5000"), ("graduate_hires >= 1", "5000"),
                        (None, "1000"))
    catalog = load_catalog().entity("enterprise")
    rows = [  # 大型 FALSE; employees UNKNOWN, graduate_hires TRUE: 5000 either way
        {**FIRM, "size_class": "中型", "graduate_hires": 2},
        # graduate_hires UNKNOWN too: 5000 or the else branch's 1000
        {**FIRM, "size_class": "中型", "graduate_hires": None},
        # the class UNKNOWN: its 3000 joins the possible amounts
        {**FIRM, "size_class": None, "graduate_hires": 2}]
    want = [5000.0, None, None]
    ref = [evaluate_policy(policy, r, catalog=catalog, sets=library.sets, as_of=AS_OF,
                           library=library).amount for r in rows]
    assert ref == want
    compiled = compile_policies([policy], catalog=catalog, sets=library.sets, as_of=AS_OF,
                                library=library.policies.values())[policy.id]
    assert [o.amount for o in run_polars(compiled, frame(rows, catalog))] == want
    with EventEngine([policy], entity="enterprise", as_of=AS_OF, sets=library.sets) as engine:
        got = [engine.evaluate_derived(f"e{i}", r) for i, r in enumerate(rows)]
    assert [(g[0]["amount_fen"] if g else "none") for g in got] == [500_000, None, None]


@pytest.mark.parametrize(("mask", "amount"), [
    (0b1110, 6000.0),  # every possible class is listed in the SME case: TRUE
    (0b0100, 6000.0),
    (0b0001, 3000.0),  # the SME case is FALSE (none listed), 大型 TRUE
    (0b0011, None),  # 大型 or 中型: both cases UNKNOWN, 30% and 60% differ
    (None, None),  # nothing known about the class
    (0b0000, None)])  # no class possible: inconsistent, never decides
def test_in_and_equals_on_a_null_size_class_follow_its_possible_set(
        evaluate: Evaluate, mask: int | None, amount: float | None) -> None:
    (out,) = evaluate("ui-job-retention-refund", [{**FIRM, "size_class": None, MASK: mask}])
    assert out.amount == amount


def test_a_known_size_class_decides_whatever_the_mask_says(evaluate: Evaluate) -> None:
    (out,) = evaluate("ui-job-retention-refund", [{**FIRM, "size_class": "大型", MASK: 0b1110}])
    assert out.amount == 3000.0


def test_the_batch_and_the_event_engine_decide_the_sme_rate(library: Library) -> None:
    base = complete(pl.DataFrame([
        {"uscc": "91440101MA5CXXXX1X", **FIRM, "operating_revenue": 50_000_000.0},
        {"uscc": "91440101MA5CXXXX2X", **FIRM, "operating_revenue": None, "employees": 1500},
    ]), entity="enterprise")
    frame = derive(base, entity="enterprise", as_of=AS_OF).collect()
    policy = [library["ui-job-retention-refund"]]
    batch = match_frame(frame, entity="enterprise", policies=policy, as_of=AS_OF,
                        sets=library.sets)
    assert batch.sort("entity_id")["amount_fen"].to_list() == [600_000, None]
    with EventEngine(policy, entity="enterprise", as_of=AS_OF, sets=library.sets) as engine:
        engine.load(base)
        events = engine.outcomes().sort("entity_id")
    assert events["amount_fen"].to_list() == [600_000, None]


# ---- the specification (rules.amount_branches) ----------------------------------------------


def test_case_branches_stop_at_the_first_true_case() -> None:
    assert case_branches([False, True, None]) == [1]
    assert case_branches([None, None]) == [0, 1, NO_BRANCH]
    assert case_branches([]) == [NO_BRANCH]


def test_tier_branches_are_those_between_a_met_and_an_unmet_threshold() -> None:
    assert tier_branches([True, True, False]) == [1]
    assert tier_branches([False, False]) == [NO_BRANCH]
    assert tier_branches([True, None, None]) == [0, 1, 2]
    assert tier_branches([]) == [NO_BRANCH]


def test_agreed_needs_every_branch_known_and_equal() -> None:
    assert agreed([6000.0]) == 6000.0
    assert agreed([6000.0, 6000]) == 6000.0
    assert agreed([]) is None and agreed([None]) is None
    assert agreed([6000.0, 3000.0]) is None

