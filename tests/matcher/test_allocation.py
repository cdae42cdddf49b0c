"""Exclusivity groups and budgets, by example (DESIGN §3)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from matcher.evaluate import match_frame
from tests.matcher.conftest import enterprise_frame

AS_OF = dt.date(2025, 10, 1)


def policy(pid: str, *, amount: str, extra: str = "", when: str = "employees >= 1") -> str:
    return f"""
    id: {pid}
    title: 测试政策{pid}
    entity: enterprise
    basis: {{document: 测试文件, clause: 第一条}}
    effective: {{from: 2020-01-01}}
    delivery: direct
    eligibility:
      all:
        - {{when: {when}, label: 测试条件}}
    amount: {{formula: {amount}, period: once}}
    {extra}
    """


def run(lib, rows) -> dict[tuple[str, str], dict]:
    out = match_frame(enterprise_frame(rows, as_of=AS_OF), entity="enterprise",
                      policies=lib.policies.values(), as_of=AS_OF, sets=lib.sets)
    return {(r["entity_id"], r["policy_id"]): r for r in out.iter_rows(named=True)}


def test_largest_amount_wins_its_exclusivity_group(policy_dir):
    lib = policy_dir({
        "a": policy("a", amount="100", extra="exclusivity: {group: 同一事项, priority: 1}"),
        "b": policy("b", amount="300", extra="exclusivity: {group: 同一事项, priority: 2}"),
        "c": policy("c", amount="50"),
    })
    got = run(lib, [{"uscc": "E1", "employees": 5}])
    assert got[("E1", "a")]["outcome"] == "superseded"
    assert got[("E1", "b")]["outcome"] == "eligible"
    assert got[("E1", "c")]["outcome"] == "eligible"


def test_equal_amounts_go_to_the_declared_priority_then_the_policy_id(policy_dir):
    lib = policy_dir({
        "a": policy("a", amount="100", extra="exclusivity: {group: g, priority: 2}"),
        "b": policy("b", amount="100", extra="exclusivity: {group: g, priority: 1}"),
        "c": policy("c", amount="100", extra="exclusivity: {group: h, priority: 1}"),
        "d": policy("d", amount="100", extra="exclusivity: {group: h, priority: 1}"),
    })
    got = run(lib, [{"uscc": "E1", "employees": 5}])
    assert [got[("E1", p)]["outcome"] for p in "abcd"] == [
        "superseded", "eligible", "eligible", "superseded"
    ]


def test_undetermined_policies_do_not_supersede_an_eligible_one(policy_dir):
    lib = policy_dir({
        "a": policy("a", amount="100", extra="exclusivity: {group: g}"),
        "b": policy("b", amount="900", when="employees >= 1 and total_assets > 0",
                    extra="exclusivity: {group: g}"),
    })
    got = run(lib, [{"uscc": "E1", "employees": 5, "total_assets": None}])
    assert got[("E1", "a")]["outcome"] == "eligible"
    assert got[("E1", "b")]["outcome"] == "undetermined"


def test_ordered_budget_allocates_in_declared_order_and_waitlists_the_rest(policy_dir):
    lib = policy_dir({
        "a": policy("a", amount="100",
                    extra="budget: {total: 250, allocation: ordered, order: [founded_on]}"),
    })
    rows = [
        {"uscc": "E1", "employees": 5, "founded_on": dt.date(2012, 1, 1)},
        {"uscc": "E2", "employees": 5, "founded_on": dt.date(2010, 1, 1)},
        {"uscc": "E3", "employees": 5, "founded_on": dt.date(2011, 1, 1)},
        {"uscc": "E4", "employees": 5, "founded_on": None},  # unknown order: last
    ]
    got = run(lib, rows)
    assert {e: got[(e, "a")]["outcome"] for e in ("E1", "E2", "E3", "E4")} == {
        "E2": "eligible", "E3": "eligible", "E1": "over_budget", "E4": "over_budget"
    }


def test_pro_rata_budget_scales_every_eligible_amount(policy_dir):
    lib = policy_dir({
        "a": policy("a", amount="employees * 100",
                    extra="budget: {total: 600, allocation: pro_rata}"),
    })
    got = run(lib, [{"uscc": "E1", "employees": 2}, {"uscc": "E2", "employees": 10}])
    assert got[("E1", "a")]["amount_fen"] == 10000 and got[("E2", "a")]["amount_fen"] == 50000
    assert {got[(e, "a")]["outcome"] for e in ("E1", "E2")} == {"eligible"}


def test_superseded_outcomes_do_not_consume_budget(policy_dir):
    lib = policy_dir({
        "a": policy("a", amount="100", extra="exclusivity: {group: g}\n    budget: {total: 100}"),
        "b": policy("b", amount="200", when="employees >= 10", extra="exclusivity: {group: g}"),
    })
    got = run(lib, [{"uscc": "E1", "employees": 20}, {"uscc": "E2", "employees": 5}])
    assert got[("E1", "a")]["outcome"] == "superseded"
    assert got[("E2", "a")]["outcome"] == "eligible"


def test_rerunning_gives_identical_outcomes(policy_dir):
    lib = policy_dir({"a": policy("a", amount="100", extra="budget: {total: 150}")})
    rows = [{"uscc": f"E{i}", "employees": 5} for i in range(5)]
    frame = enterprise_frame(rows, as_of=AS_OF)
    kwargs = dict(entity="enterprise", policies=lib.policies.values(), as_of=AS_OF,
                  sets=lib.sets)
    first = match_frame(frame, **kwargs)
    assert first.equals(match_frame(frame.sample(fraction=1.0, shuffle=True, seed=3), **kwargs))
    assert first.filter(pl.col("outcome") == "eligible")["entity_id"].to_list() == ["E0"]
