"""The simplified durable_rules peer fires a policy's rule exactly for the fully-known facts
on which the policy is TRUE (numpy peer, itself held to the reference interpreter)."""

from __future__ import annotations

from bench.generate import AS_OF, bench_sets, catalog, generate_policies, generate_profiles
from bench.peers import durable, numpy_eval


def test_durable_fires_exactly_where_policies_are_true() -> None:
    frame = generate_profiles(3000, seed=11)
    policies = generate_policies(30, seed=12)
    plans = durable.compile_rulesets(policies, catalog=catalog(), max_keys=40)
    assert len(plans) > 1  # the split into several rulesets is exercised too
    facts = durable.prepare_facts(frame, plans, catalog=catalog(), sets=bench_sets(),
                                  as_of=AS_OF, limit=60)
    assert len(facts[0]) == 60
    durable.run_facts(plans, facts)
    fired = durable.eligible_rows(plans, facts)
    wide = numpy_eval.evaluate(frame, policies, catalog=catalog(), sets=bench_sets(),
                               as_of=AS_OF)
    rows = [int(f["row"]) for f in facts[0]]  # type: ignore[call-overload]
    total = 0
    for policy in policies:
        truth = wide[policy.id].to_list()
        assert all(truth[r] is not None for r in rows), policy.id  # facts are fully known
        expected = {r for r in rows if truth[r]}
        assert fired.get(policy.id, set()) == expected, policy.id
        total += len(expected)
    assert total > 0
