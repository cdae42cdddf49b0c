"""Property: on generated policies over yearly fields (one year, windows, growth) the event
engine decides exactly as the batch, unknown fields included (a year not on record is
reported as its yearly field)."""

from __future__ import annotations

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import AS_OF, bench_sets, generate_policies, generate_profiles
from bench.generate_yearly import add_yearly
from matcher.evaluate import match_frame
from matcher.events.engine import EventEngine
from tests.events.test_differential import assert_same_outcomes


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31))
def test_event_engine_equals_batch_on_generated_policies_over_yearly_fields(
        policy_seed: int, profile_seed: int) -> None:
    policies = generate_policies(5, seed=policy_seed, yearly=True)
    frame = add_yearly(generate_profiles(30, seed=profile_seed), seed=profile_seed + 1)
    sets = bench_sets()
    batch = match_frame(frame, entity="enterprise", policies=policies, as_of=AS_OF, sets=sets)
    with EventEngine(policies, entity="enterprise", as_of=AS_OF, sets=sets) as engine:
        for row in frame.iter_rows(named=True):
            engine.evaluate_derived(str(row["uscc"]), row)
        assert_same_outcomes(engine.outcomes(), batch)


def test_a_year_not_on_record_is_asked_for_as_its_yearly_field() -> None:
    policies = generate_policies(30, seed=5, yearly=True)
    frame = add_yearly(generate_profiles(60, seed=6), seed=7)
    batch = match_frame(frame, entity="enterprise", policies=policies, as_of=AS_OF,
                        sets=bench_sets())
    asked = set(batch.filter(pl.col("outcome") == "undetermined")["unknown_fields"]
                .explode().drop_nulls().to_list())
    assert {"operating_revenue", "tax_paid"} <= asked
    assert not any("_y20" in name for name in asked)
