"""Event-triggered policies: a graduate hired, then insured for three months within 120
days, for the same person, gives the employer 一次性扩岗补助 - matched in durable_rules."""

from __future__ import annotations

import datetime as dt

import pytest

from matcher.events.engine import EventEngine
from matcher.events.errors import BadEventError
from matcher.events.triggers import SESSIONS_PER_RULESET, TriggerMatcher
from rules.errors import PolicyError
from rules.loader import bundled_library, load_policy

PID = "graduate-hiring-insured-trigger"
D = dt.date


@pytest.fixture()
def matcher():
    with TriggerMatcher([bundled_library()[PID]]) as tm:
        yield tm


def test_hire_then_insured_within_the_window_triggers(matcher):
    assert matcher.post("E", "graduate_hired", D(2025, 3, 1), {"person": "P"}) == []
    assert matcher.post("E", "insured_3_months", D(2025, 6, 29), {"person": "P"}) == [("E", PID)]


def test_insured_after_the_window_does_not_trigger(matcher):
    matcher.post("E", "graduate_hired", D(2025, 3, 1), {"person": "P"})
    assert matcher.post("E", "insured_3_months", D(2025, 6, 30), {"person": "P"}) == []


def test_another_person_or_another_employer_does_not_trigger(matcher):
    matcher.post("E", "graduate_hired", D(2025, 3, 1), {"person": "P"})
    assert matcher.post("E", "insured_3_months", D(2025, 4, 1), {"person": "Q"}) == []
    assert matcher.post("F", "insured_3_months", D(2025, 4, 1), {"person": "P"}) == []


def test_insured_before_the_hire_does_not_pair_with_it(matcher):
    assert matcher.post("E", "insured_3_months", D(2025, 2, 1), {"person": "P"}) == []
    assert matcher.post("E", "graduate_hired", D(2025, 3, 1), {"person": "P"}) == []


def test_events_out_of_date_order_are_refused(matcher):
    matcher.post("E", "graduate_hired", D(2025, 3, 1), {"person": "P"})
    with pytest.raises(BadEventError, match="不早于"):
        matcher.post("E", "insured_3_months", D(2025, 2, 1), {"person": "P"})


def test_a_missing_correlation_attribute_is_refused(matcher):
    with pytest.raises(BadEventError, match="person"):
        matcher.post("E", "graduate_hired", D(2025, 3, 1), {})


def test_more_open_patterns_than_one_ruleset_holds_all_complete(matcher):
    # durable_rules keeps at most 1024 sessions per ruleset: more open patterns use more
    n = 2 * SESSIONS_PER_RULESET + 500
    for k in range(n):
        assert matcher.post(f"E{k}", "graduate_hired", D(2025, 3, 1), {"person": "P"}) == []
    assert matcher.open_patterns == n and len(matcher.rulesets) == 3
    done = [matcher.post(f"E{k}", "insured_3_months", D(2025, 4, 1), {"person": "P"})
            for k in range(n)]
    assert done == [[(f"E{k}", PID)] for k in range(n)] and matcher.open_patterns == 0


def test_a_reused_session_does_not_pair_with_an_abandoned_pattern(matcher):
    # E's pattern expires; its session is emptied and reused for F's new pattern
    matcher.post("E", "graduate_hired", D(2025, 1, 1), {"person": "P"})
    assert matcher.post("E", "insured_3_months", D(2025, 6, 1), {"person": "P"}) == []
    assert matcher.open_patterns == 0
    matcher.post("F", "graduate_hired", D(2025, 6, 2), {"person": "P"})
    assert matcher.post("F", "insured_3_months", D(2025, 6, 3), {"person": "P"}) == [("F", PID)]
    # a second first event replaces the first one: one occurrence, not two
    matcher.post("G", "graduate_hired", D(2025, 1, 1), {"person": "P"})
    matcher.post("G", "graduate_hired", D(2025, 2, 1), {"person": "P"})
    assert matcher.post("G", "insured_3_months", D(2025, 5, 30), {"person": "P"}) == [("G", PID)]
    assert matcher.post("G", "insured_3_months", D(2025, 5, 31), {"person": "P"}) == []
    assert len(matcher.rulesets) == 1


def test_each_occurrence_pays_once_and_eligibility_still_applies():
    lib = bundled_library()
    with EventEngine(lib, entity="enterprise", as_of=D(2025, 10, 1)) as eng:
        eng.upsert("E", {"status": "存续"})
        for person in ("P1", "P2"):
            eng.record_event("E", "graduate_hired", D(2025, 3, 1), {"person": person})
        eng.record_event("E", "insured_3_months", D(2025, 5, 1), {"person": "P1"})
        rows = {r["policy_id"]: r for r in eng.outcomes_of("E")}
        assert rows[PID]["outcome"] == "eligible" and rows[PID]["amount_fen"] == 150000
        eng.record_event("E", "insured_3_months", D(2025, 5, 2), {"person": "P2"})
        assert {r["policy_id"]: r for r in eng.outcomes_of("E")}[PID]["amount_fen"] == 300000
        eng.upsert("E", {"status": "注销"})
        assert PID not in {r["policy_id"] for r in eng.outcomes_of("E")}


def test_without_an_occurrence_a_trigger_policy_is_not_listed():
    with EventEngine(bundled_library(), entity="enterprise", as_of=D(2025, 10, 1)) as eng:
        eng.upsert("E", {"status": "存续"})
        assert PID not in {r["policy_id"] for r in eng.outcomes_of("E")}


def test_a_trigger_without_days_is_a_schema_error(tmp_path):
    text = (bundled_library()[PID].source or "")
    body = open(text, encoding="utf-8").read().replace("  within_days: 120\n", "")
    path = tmp_path / "t.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(PolicyError, match="within_days"):
        load_policy(path)


def test_inferred_tags_from_the_frame_are_kept_until_their_input_changes():
    import polars as pl

    from tests.events.strategies import base_frame

    base = base_frame([{"status": "存续", "district": "440112", "operating_revenue": 3e7,
                        "business_scope": "集成电路设计"}], entity="enterprise")
    base = base.with_columns(pl.lit(True).alias("chain_ic"))
    pid = "hp-ic-design-revenue-support"
    with EventEngine(bundled_library(), entity="enterprise", as_of=D(2025, 10, 1)) as eng:
        if pid not in eng.compiled.policies:
            pytest.skip("library without the chain_ic policy")
        eng.load(base)
        rows = {r["policy_id"]: r for r in eng.outcomes_of("K0000")}
        assert rows[pid]["outcome"] == "eligible"
        eng.upsert("K0000", {"employees": 30})
        assert {r["policy_id"]: r for r in eng.outcomes_of("K0000")}[pid]["outcome"] == "eligible"
        eng.upsert("K0000", {"business_scope": "餐饮服务"})
        after = {r["policy_id"]: r for r in eng.outcomes_of("K0000")}[pid]
        assert after["outcome"] == "undetermined" and "chain_ic" in after["unknown_fields"]
