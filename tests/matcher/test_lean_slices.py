"""The wide-to-long step gives the same pairs, in the same order, however the population is
batched (each batch's runs are copied to their place, without a global sort)."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from bench.engines import bench_sets
from bench.generate import AS_OF, generate_policies, generate_profiles
from matcher.evaluate import make_plan, profile_base
from matcher.lean import listed_pairs


@pytest.mark.parametrize("batch_rows", [1, 97, 1000])
def test_pairs_do_not_depend_on_the_batches(batch_rows: int) -> None:
    n = 1000 if batch_rows > 1 else 120
    plan = make_plan(generate_policies(12, seed=5), entity="enterprise", as_of=AS_OF,
                     sets=bench_sets())
    base = profile_base(generate_profiles(n, seed=6, as_of=AS_OF), plan)
    whole = listed_pairs(base, plan, batch_rows=10 * n)
    sliced = listed_pairs(base, plan, batch_rows=batch_rows)
    for a, b in zip(whole, sliced, strict=True):
        np.testing.assert_array_equal(a, b)
    pol, row, kind = whole
    assert set(kind.tolist()) <= {1, 2}  # ineligible pairs are not listed
    key = pol.astype(np.int64) * n + row
    assert (np.diff(key) > 0).all()  # policy-major, rows ascending, each pair once
    # against the plan's own wide states, pair by pair
    states = base.select(
        [cp.truth.cast(pl.UInt8).fill_null(2).alias(pid) for pid, cp in plan.compiled.items()])
    expect = [(p, r, s) for p, col in enumerate(states.columns)
              for r, s in enumerate(states[col].to_list()) if s]
    assert list(zip(pol.tolist(), row.tolist(), kind.tolist(), strict=True)) == expect
