"""Explanations: the condition tree with its groups, each condition's status, value,
requirement in plain Chinese, distance in words and citation; never contradicting the
outcome."""

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
    assert e.outcome == "ineligible" and e.amount_fen is None
    staff = next(c for c in e.conditions if "employees" in c.fields)
    assert staff.truth is False and staff.value == 350 and staff.distance == 50
    assert staff.label and staff.clause and staff.threshold
    text = render_text(e)
    assert "✗ 不满足" in text and "超出 50 人" in text and e.basis in text
    assert staff.distance_text == "超出 50 人" and staff.requirement == "从业人数不超过 300 人"


def test_undetermined_explanation_lists_what_to_supply(library):
    frame = person_frame([{"id_number": "P1", "birth_date": dt.date(1950, 1, 1),
                           "hukou_district": "310104", "alive": None}], as_of=AS_OF)
    [e] = explain_entity(frame, entity="person", policies=library.policies.values(),
                         as_of=AS_OF, entity_id="P1", policy_id="sh-elderly-allowance",
                         sets=library.sets)
    assert e.outcome == "undetermined" and e.unknown_fields == ("alive",)
    assert "需补充：是否健在" in render_text(e)
    alive = next(c for c in e.conditions if c.fields == ("alive",))
    assert (alive.status_label, alive.value_display) == ("未知 — 需补充", "未知 — 需补充")


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
    # no lower bound (第五条): a loss-making firm meets the income condition
    assert distances == {"E1": (False, 500_000.0), "E2": (True, 0.0), "E3": (True, 0.0)}


def test_list_type_empty_reads_not_listed_and_is_a_decided_value(library):
    frame = enterprise_frame([{"uscc": "E1", "status": "存续", "industry_code": "5110",
                               "employees": 12, "total_assets": 1e6,
                               "annual_taxable_income": 1e6}], as_of=AS_OF)
    [e] = explain_entity(frame, entity="enterprise", policies=library.policies.values(),
                         as_of=AS_OF, entity_id="E1", policy_id="high-tech-enterprise",
                         sets=library.sets)
    cert = next(c for c in e.conditions if "high_tech_cert_on" in c.fields)
    assert cert.truth is True and cert.status == "met"
    assert cert.value_display == "未列入名单"  # empty on a list-type field: not on the list
    assert "未知" not in cert.value_display


def test_options_of_a_satisfied_any_group_are_not_used_never_failed(library):
    # revenue under 5000万 with an R&D ratio of 6% over three years: the first option holds,
    # the two others (bigger firms) do not apply to this firm and must not read as failures
    years = {f"{s}_y{y}": v for y in (2022, 2023, 2024)
             for s, v in (("operating_revenue", 10_000_000.0), ("rd_expense", 600_000.0))}
    frame = enterprise_frame([{"uscc": "E1", "status": "存续", "industry_code": "6510",
                               "founded_on": dt.date(2015, 1, 1), "employees": 40,
                               "tech_staff": 10, "operating_revenue": 10_000_000.0,
                               "rd_expense": 600_000.0, "high_tech_revenue": 8_000_000.0,
                               "total_assets": 5e6, **years}], as_of=AS_OF)
    [e] = explain_entity(frame, entity="enterprise", policies=library.policies.values(),
                         as_of=AS_OF, entity_id="E1", policy_id="high-tech-enterprise",
                         sets=library.sets)
    [group] = [n for n in e.tree.children if getattr(n, "kind", None) == "any"]  # type: ignore[union-attr]
    assert group.title == "满足其一即可" and group.status == "met"
    statuses = [c.status for c in group.children]  # type: ignore[union-attr]
    assert statuses == ["met", "unused", "unused"]
    assert all(c.status != "unmet" for c in e.conditions if c.truth is False) or \
        e.outcome == "ineligible"
    text = render_text(e)
    assert "满足其一即可" in text and "未使用" in text


def test_requirements_read_as_plain_chinese_without_rule_syntax(library):
    frame = enterprise_frame([{"uscc": "E1", "status": "存续", "industry_code": "5110",
                               "employees": 350, "total_assets": 1e6,
                               "annual_taxable_income": 1e6}], as_of=AS_OF)
    for pid in library.policies:
        policy = library[pid]
        if policy.entity != "enterprise" or not policy.in_effect(AS_OF) or policy.trigger:
            continue
        [e] = explain_entity(frame, entity="enterprise", policies=library.policies.values(),
                             as_of=AS_OF, entity_id="E1", policy_id=pid, sets=library.sets)
        for c in e.conditions:
            for syntax in ("<=", ">=", " and ", " or ", " in [", "属于 [", "且 否", "_"):
                assert syntax not in c.requirement, (pid, c.requirement)
            assert c.citation.startswith(tuple(b.name for b in policy.bases))


def test_the_explanation_never_contradicts_the_outcome(library):
    rows = [{"uscc": f"E{i}", "status": s, "industry_code": "5110", "employees": n,
             "total_assets": 1e6, "annual_taxable_income": inc}
            for i, (s, n, inc) in enumerate([("存续", 12, 1e6), ("存续", 350, 1e6),
                                              ("吊销", 12, None), ("存续", None, 1e6)])]
    frame = enterprise_frame(rows, as_of=AS_OF)
    for row in rows:
        [e] = explain_entity(frame, entity="enterprise", policies=library.policies.values(),
                             as_of=AS_OF, entity_id=str(row["uscc"]),
                             policy_id="cit-small-low-profit", sets=library.sets)
        used = [c.status for c in e.conditions if c.status != "unused"]
        if e.outcome == "eligible":
            assert set(used) == {"met"}
        elif e.outcome == "ineligible":
            assert "unmet" in used and e.gaps
        else:
            assert "unknown" in used and "unmet" not in used and e.unknown_labels


def test_a_missing_year_is_named_in_what_to_supply(library):
    # three years of R&D expense are read; 2023 is not on record: 需补充 names the year
    years = {f"{s}_y{y}": v for y in (2022, 2024)
             for s, v in (("operating_revenue", 10_000_000.0), ("rd_expense", 600_000.0))}
    frame = enterprise_frame([{"uscc": "E1", "status": "存续", "industry_code": "6510",
                               "founded_on": dt.date(2015, 1, 1), "employees": 40,
                               "tech_staff": 10, "operating_revenue": 10_000_000.0,
                               "rd_expense": 600_000.0, "high_tech_revenue": 8_000_000.0,
                               "total_assets": 5e6, "operating_revenue_y2023": 10_000_000.0,
                               **years}], as_of=AS_OF)
    [e] = explain_entity(frame, entity="enterprise", policies=library.policies.values(),
                         as_of=AS_OF, entity_id="E1", policy_id="high-tech-enterprise",
                         sets=library.sets)
    assert e.outcome == "undetermined" and "rd_expense" in e.unknown_fields
    assert "研发费用(2023年度)" in e.unknown_labels
    assert "研发费用" not in e.unknown_labels and "研发费用(2024年度)" not in e.unknown_labels
    assert "需补充：研发费用(2023年度)" in render_text(e)
