"""The event engine (durable_rules) gives the specification's answers - the reference
interpreter's - on generated policies, not only the bundled ones: outcome (UNKNOWN included)
and amount to the fen, over generated profiles with missing values and a generated award
history (received, first time, received_amount over windows, top-ups), and on policies with
every construct (bench.generate.generate_all: aggregates over employment links, yearly
fields, dated parameters and tier tables, sets with editions and uncertain members, declared
conditions), the engine joining the links and the ledger per evaluated entity as the batch
does."""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bench.generate import (
    bench_sets,
    generate_all,
    generate_households,
    generate_ledger,
    generate_person_policies,
    generate_policies,
    generate_profiles,
    generate_world,
)
from matcher.events.engine import EventEngine
from profiles.relations import rows_with_members
from tests.events.agreement import same_as_interpreter

AS_OFS = [dt.date(2025, 6, 30), dt.date(2026, 1, 1), dt.date(2023, 12, 31), dt.date(2024, 6, 1)]


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
    # the engine joins the ledger itself, per evaluated entity, as the batch does
    with EventEngine(policies, entity="enterprise", as_of=as_of, sets=bench_sets(),
                     ledger=ledger) as engine:
        for row in frame.iter_rows(named=True):
            got = {o["policy_id"]: o for o in engine.evaluate_derived(row["uscc"], row)}
            same_as_interpreter(policies, row, got, as_of=as_of, ledger=ledger,
                                sets=bench_sets())


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_seed=st.integers(0, 2**31), world_seed=st.integers(0, 2**31),
       as_of=st.sampled_from(AS_OFS))
# a FALSE side too large for one durable_rules pattern (split into several rules)
@example(policy_seed=146189926, world_seed=1, as_of=AS_OFS[0])
def test_event_engine_equals_interpreter_on_policies_with_every_construct(
        policy_seed: int, world_seed: int, as_of: dt.date) -> None:
    policies = generate_all(8, seed=policy_seed)
    world = generate_world(40, policies, seed=world_seed, as_of=as_of)
    # the interpreter reads each firm's members in its row; the engine joins them itself
    members = rows_with_members(world.frame, "uscc", world.related)
    with EventEngine(policies, entity="enterprise", as_of=as_of, sets=bench_sets(),
                     related=world.related, ledger=world.ledger) as engine:
        for row, with_members in zip(world.frame.iter_rows(named=True), members, strict=True):
            got = {o["policy_id"]: o for o in engine.evaluate_derived(row["uscc"], row)}
            same_as_interpreter(policies, with_members, got, as_of=as_of,
                                ledger=world.ledger, sets=bench_sets())


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_seed=st.integers(0, 2**31), people_seed=st.integers(0, 2**31),
       as_of=st.sampled_from(AS_OFS))
def test_event_engine_equals_interpreter_on_person_policies_over_households(
        policy_seed: int, people_seed: int, as_of: dt.date) -> None:
    """Households and spouses, dated age thresholds, a region list under check, declared
    facts (bench.generate.generate_person_policies)."""
    persons, related = generate_households(12, seed=people_seed, as_of=as_of)
    policies = generate_person_policies(6, seed=policy_seed, extra=True)
    members = rows_with_members(persons, "id_number", related)
    with EventEngine(policies, entity="person", as_of=as_of, sets=bench_sets(),
                     related=related) as engine:
        for row, with_members in zip(persons.iter_rows(named=True), members, strict=True):
            got = {o["policy_id"]: o for o in engine.evaluate_derived(row["id_number"], row)}
            same_as_interpreter(policies, with_members, got, as_of=as_of, ledger=None,
                                sets=bench_sets(), entity="person")
