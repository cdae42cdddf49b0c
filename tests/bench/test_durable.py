"""The durable_rules peer is three-valued: per policy its TRUE-rule fires exactly where the
reference interpreter says TRUE, its FALSE-rule exactly where it says FALSE, and neither
where it says UNKNOWN - on generated policies with every construct (aggregates compared on
the bounds of their ranges, the award ledger, yearly fields, dated parameters and tier
tables, sets with editions and uncertain members, declared conditions)."""

from __future__ import annotations

import datetime as dt

import pytest

from bench.generate import (
    AS_OF,
    bench_sets,
    catalog,
    generate_all,
    generate_policies,
    generate_profiles,
    generate_world,
)
from bench.peers import durable
from rules.ledger import join_ledger
from rules.years import bind_policy
from tests.bench.test_peers_match_interpreter import reference


@pytest.mark.parametrize(("seed", "as_of"), [
    (1, AS_OF), (2, dt.date(2026, 1, 1)), (3, dt.date(2023, 12, 31)), (4, dt.date(2024, 6, 1)),
    (5, AS_OF), (6, dt.date(2026, 1, 1))])
def test_durable_is_three_valued_on_policies_with_every_construct(seed: int,
                                                                  as_of: dt.date) -> None:
    policies = generate_all(12, seed=seed)
    world = generate_world(60, policies, seed=seed + 50, as_of=as_of)
    refs = {r for p in policies for r in p.ledger_lookups}
    joined = join_ledger(world.frame.lazy(), world.ledger, refs, key="uscc",
                         as_of=as_of).collect()
    # the ruleset does not know the as-of date: yearly lookups are bound to year columns
    bound = [bind_policy(p, as_of) for p in policies]
    plans = durable.compile_rulesets(bound, catalog=catalog(), max_keys=40)
    assert any(plan.bounds for plan in plans)  # aggregates compared on their ranges
    facts = durable.prepare_facts(joined, plans, catalog=catalog(), sets=bench_sets(),
                                  as_of=as_of, related=world.related)
    durable.run_facts(plans, facts)
    got = durable.truths(plans, facts)
    want = reference(world.frame, policies, related=world.related, as_of=as_of,
                     ledger=world.ledger)
    decided = 0
    for policy in policies:
        truth = want[policy.id].to_list()
        fired = got.get(policy.id, {})
        for row, expected in enumerate(truth):
            assert fired.get(row) == expected, (policy.id, row, expected, fired.get(row))
        decided += sum(t is not None for t in truth)
    assert decided > 0


def test_durable_splits_policies_into_rulesets_and_samples_facts() -> None:
    frame = generate_profiles(500, seed=11)
    policies = generate_policies(30, seed=12)
    plans = durable.compile_rulesets(policies, catalog=catalog(), max_keys=40)
    assert len(plans) > 1  # the split into several rulesets is exercised too
    facts = durable.prepare_facts(frame, plans, catalog=catalog(), sets=bench_sets(),
                                  as_of=AS_OF, limit=60)
    assert [len(f) for f in facts] == [60] * len(plans)
    durable.run_facts(plans, facts)
    eligible = durable.eligible_rows(plans, facts)
    want = reference(frame.head(60), policies)
    for policy in policies:
        expected = {r for r, t in enumerate(want[policy.id].to_list()) if t}
        assert eligible.get(policy.id, set()) == expected, policy.id
