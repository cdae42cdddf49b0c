"""Explanations: truth, value, threshold, label, clause and distance per condition."""

from __future__ import annotations

import datetime as dt

from matcher.evaluate import match_frame
from matcher.explain import explain_entity, render_text
from tests.matcher.conftest import enterprise_frame, person_frame

AS_OF = dt.date(2025, 10, 1)


def test_numeric_condition_reports_how_far_from_the_threshold(library):
    frame = enterprise_frame([{"uscc": "E1", "status": "存续", "industry_code": "5110",
                               "employees": 350, "total_assets": 1e6,
                               "annual_taxable_income": 1e6}], as_of=AS_OF)
    [e] = explain_entity(frame, entity="enterprise", policies=library.policies.values(),
                         as_of=AS_OF, entity_id="E1", policy_id="cit-small-low-profit",
                         sets=library.sets)
    assert e.outcome == "ineligible" and e.amount is None
    staff = next(c for c in e.conditions if "employees" in c.fields)
    assert staff.truth is False and staff.value == 350 and staff.distance == 50
    assert staff.label and staff.clause and staff.threshold
    text = render_text(e)
    assert "✗ 不满足" in text and "差距: 50" in text and e.basis in text


def test_undetermined_explanation_lists_what_to_supply(library):
    frame = person_frame([{"id_number": "P1", "birth_date": dt.date(1950, 1, 1),
                           "hukou_district": "310104", "alive": None}], as_of=AS_OF)
    [e] = explain_entity(frame, entity="person", policies=library.policies.values(),
                         as_of=AS_OF, entity_id="P1", policy_id="sh-elderly-allowance",
                         sets=library.sets)
    assert e.outcome == "undetermined" and e.unknown_fields == ("alive",)
    assert "需补充: 是否健在" in render_text(e, field_labels={"alive": "是否健在"})


def test_explanation_takes_population_outcomes_when_given(library, policy_dir):
    lib = policy_dir({"a": """
        id: a
        title: 预算政策
        entity: enterprise
        basis: {document: 测试文件}
        effective: {from: 2020-01-01}
        delivery: direct
        eligibility: {when: employees >= 1, label: 有从业人员}
        amount: {formula: 100, period: once}
        budget: {total: 100}
        """})
    frame = enterprise_frame([{"uscc": "E1", "employees": 1}, {"uscc": "E2", "employees": 1}],
                             as_of=AS_OF)
    kwargs = dict(entity="enterprise", policies=lib.policies.values(), as_of=AS_OF,
                  sets=lib.sets)
    outcomes = match_frame(frame, **kwargs)
    [e] = explain_entity(frame, entity_id="E2", outcomes=outcomes, **kwargs)
    assert e.outcome == "over_budget"
    assert "预算已用完" in render_text(e)


def test_range_condition_reports_the_distance_to_the_failing_bound(library):
    frame = enterprise_frame([{"uscc": "E1", "annual_taxable_income": 3_500_000.0},
                              {"uscc": "E2", "annual_taxable_income": -20_000.0},
                              {"uscc": "E3", "annual_taxable_income": 1_000_000.0}],
                             as_of=AS_OF)
    distances = {}
    for eid in ("E1", "E2", "E3"):
        [e] = explain_entity(frame, entity="enterprise", policies=library.policies.values(),
                             as_of=AS_OF, entity_id=eid, policy_id="cit-small-low-profit",
                             sets=library.sets)
        income = next(c for c in e.conditions if c.fields == ("annual_taxable_income",))
        distances[eid] = (income.truth, income.distance)
    assert distances == {"E1": (False, 500_000.0), "E2": (False, 20_000.0), "E3": (True, 0.0)}
