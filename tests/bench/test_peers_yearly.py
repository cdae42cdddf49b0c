"""The peers (DuckDB SQL, numpy) equal the reference interpreter on generated policies that
read yearly fields (one year, windows, growth), over year columns with gaps."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate_policies, generate_profiles
from bench.generate_yearly import add_yearly
from tests.bench.test_peers_match_interpreter import check_all_peers


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31))
def test_peers_equal_interpreter_on_generated_yearly_policies(policy_seed: int,
                                                              profile_seed: int) -> None:
    frame = add_yearly(generate_profiles(50, seed=profile_seed), seed=profile_seed + 1)
    check_all_peers(frame, generate_policies(6, seed=policy_seed, yearly=True))
