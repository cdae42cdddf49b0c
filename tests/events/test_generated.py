"""The event engine (durable_rules) gives the specification's answers - the reference
interpreter's - on generated policies, not only the bundled ones: outcome (UNKNOWN included)
and amount to the fen, over generated profiles with missing values and a generated award
history (received, first time, received_amount over windows, top-ups)."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import (
    bench_sets,
    catalog,
    generate_ledger,
    generate_policies,
    generate_profiles,
)
from matcher.events.engine import EventEngine
from rules.interpret import evaluate_policy
from store.money import yuan_to_fen


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31),
       as_of=st.sampled_from([dt.date(2025, 6, 30), dt.date(2026, 1, 1),
                              dt.date(2023, 12, 31)]),
       ledger_on=st.sampled_from([True, True, False]))
def test_event_engine_equals_interpreter_on_generated_policies(
        policy_seed: int, profile_seed: int, as_of: dt.date, ledger_on: bool) -> None:
    policies = generate_policies(8, seed=policy_seed, ledger=ledger_on)
    frame = generate_profiles(60, seed=profile_seed, as_of=as_of)
    ledger = generate_ledger(frame, policies, seed=profile_seed + 1, as_of=as_of)
    rows = frame
    library = {p.id: p for p in policies}
    # the engine joins the ledger itself, per evaluated entity, as the batch does
    with EventEngine(policies, entity="enterprise", as_of=as_of, sets=bench_sets(),
                     ledger=ledger) as engine:
        for row in rows.iter_rows(named=True):
            got = {o["policy_id"]: o for o in engine.evaluate_derived(row["uscc"], row)}
            for policy in policies:
                ref = evaluate_policy(policy, row, catalog=catalog(), sets=bench_sets(),
                                      as_of=as_of, library=library, ledger=ledger)
                where = (policy.id, row["uscc"])
                if ref.truth is False:
                    assert policy.id not in got, where
                    continue
                out = got[policy.id]
                assert out["outcome"] == ("eligible" if ref.truth else "undetermined"), where
                assert out["amount_fen"] == yuan_to_fen(ref.amount), where
