"""Aggregates over related entities stay vectorized in the batch: one group-by per relation
over the members, a lookup by owner key, no Python function in the plan and no Python run
per entity (the number of Python calls does not grow with the population)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import polars as pl
import pytest

from bench.generate import AS_OF, World, bench_sets, generate_all, generate_world
from matcher.evaluate import Plan, make_plan, prepare_frame
from profiles.catalog import OWNER_COLUMN

POLICIES = [p for p in generate_all(12, seed=21) if p.aggregates]


def _plan(world_ledger: Any) -> Plan:
    return make_plan(POLICIES, entity="enterprise", as_of=AS_OF, sets=bench_sets(),
                     ledger=world_ledger)


def _outcomes(plan: Plan, frame: pl.DataFrame, related: Any) -> pl.LazyFrame:
    exprs = [cp.truth.alias(pid) for pid, cp in plan.compiled.items()]
    exprs += [cp.amount.alias(pid + ".amount") for pid, cp in plan.compiled.items()
              if cp.amount is not None]
    return prepare_frame(frame, plan, related=related).select(exprs)


def _python_calls(run: Callable[[], object]) -> int:
    """Python-level function calls made while ``run`` runs (C calls not counted)."""
    calls = 0

    def profile(frame: object, event: str, arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls


def test_generated_policies_aggregate_over_hires() -> None:
    assert len(POLICIES) >= 3
    assert sum(len(p.aggregates) for p in POLICIES) >= 5


def test_plan_has_no_python_function() -> None:
    world = generate_world(200, POLICIES, seed=3)
    plan = _plan(world.ledger)
    assert plan.related
    text = _outcomes(plan, world.frame, world.related).explain()
    assert "python_udf" not in text and "map_elements" not in text


def test_members_are_grouped_once_per_relation(monkeypatch: pytest.MonkeyPatch) -> None:
    world = generate_world(300, POLICIES, seed=4)
    plan = _plan(world.ledger)
    grouped: list[tuple[str, ...]] = []
    original = pl.LazyFrame.group_by

    def spy(self: pl.LazyFrame, *by: Any, **kw: Any) -> Any:
        grouped.append(tuple(str(b) for b in by))
        return original(self, *by, **kw)

    monkeypatch.setattr(pl.LazyFrame, "group_by", spy)
    out = _outcomes(plan, world.frame, world.related).collect()
    assert out.height == world.frame.height
    relations = {cols.relation for cols in plan.related.values()}
    member_groups = [g for g in grouped if g == (OWNER_COLUMN,)]
    assert len(member_groups) == len(relations) == 1


def test_python_calls_do_not_grow_with_the_population() -> None:
    small = generate_world(100, POLICIES, seed=5)
    large = generate_world(3000, POLICIES, seed=5)
    counts = []
    for world in (small, large):
        plan = _plan(world.ledger)

        def run(plan: Plan = plan, world: World = world) -> pl.DataFrame:
            # preparing the frame joins the ledger and groups the members: counted too
            return _outcomes(plan, world.frame, world.related).collect()

        counts.append(_python_calls(run))
    # thirty times the owners (and their links) cost no further Python calls
    assert counts[1] <= counts[0] * 1.05 + 50, counts
