"""The loader: schema, condition ids, dated parameters, versions, budgets and what spans
files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from profiles.catalog import load_catalog
from rules.compile_polars import compile_policies
from rules.errors import PolicyError
from rules.loader import load_library, load_policy
from rules.model import AllOf, Budget, BudgetOrder, Exclusivity, TierAmount
from rules.sets import bundled_sets

POLICY = """\
# a test policy
id: test-reward
title: 测试奖励
entity: enterprise
basis: {document: 测试文件, clause: 第一条}
effective: {from: 2023-01-01}
delivery: direct
parameters:
  rate: {2023-01-01: 20%, 2025-01-01: 15%}
eligibility:
  all:
    - {when: status = "存续", label: 存续, id: alive}
    - {when: employees <= 300, label: 人数}
amount: {formula: operating_revenue * rate, period: year}
exclusivity: {group: 奖励, priority: 2}
budget: {total: 5000万, allocation: ordered, order: [little_giant_on, -employees]}
"""


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_full_schema_is_read(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, POLICY))
    assert isinstance(policy.eligibility, AllOf)
    assert [c.id for c in policy.conditions] == ["alive", "c2"]
    assert policy.exclusivity == Exclusivity(group="奖励", priority=2)
    assert policy.budget == Budget(total=50_000_000, allocation="ordered", order=(
        BudgetOrder(field="little_giant_on"), BudgetOrder(field="employees", descending=True)))
    assert len(policy.version) == 16


def test_parameters_are_chosen_by_the_as_of_date(tmp_path: Path) -> None:
    policy = load_policy(_write(tmp_path, POLICY))
    df = pl.DataFrame({"status": ["存续"], "employees": [10], "operating_revenue": [100.0]})
    amounts = []
    for as_of in (dt.date(2024, 12, 31), dt.date(2025, 1, 1)):
        cp = compile_policies([policy], catalog=load_catalog().entity("enterprise"),
                              sets=bundled_sets(), as_of=as_of)["test-reward"]
        assert cp.amount is not None
        amounts.append(df.select(cp.amount)[0, 0])
    assert amounts == [20.0, 15.0]


def test_version_ignores_comments_and_layout_but_not_content(tmp_path: Path) -> None:
    base = load_policy(_write(tmp_path, POLICY)).version
    relaid = POLICY.replace("# a test policy", "# another comment").replace(
        "{from: 2023-01-01}", "\n  from: 2023-01-01")
    assert load_policy(_write(tmp_path, relaid, "q.yaml")).version == base
    changed = POLICY.replace("employees <= 300", "employees <= 299")
    assert load_policy(_write(tmp_path, changed, "r.yaml")).version != base


def test_every_problem_of_a_file_is_reported_at_once(tmp_path: Path) -> None:
    text = POLICY.replace("employees <= 300", "employes <= 300").replace(
        "delivery: direct", "delivery: push").replace("period: year", "period: yearly")
    with pytest.raises(PolicyError) as info:
        load_policy(_write(tmp_path, text))
    assert [p.code for p in info.value.problems] == ["bad-delivery", "unknown-field",
                                                     "bad-period"]


def test_duplicate_condition_ids_are_refused(tmp_path: Path) -> None:
    text = POLICY.replace("label: 人数}", "label: 人数, id: alive}")
    with pytest.raises(PolicyError, match=r"p.yaml:13:7: \[duplicate-id\]"):
        load_policy(_write(tmp_path, text))


def test_tier_rows_must_ascend(tmp_path: Path) -> None:
    text = POLICY.replace("{formula: operating_revenue * rate, period: year}",
                          "{tiers: {by: employees, table: [[10, 5], [5, 1]]}, period: year}")
    with pytest.raises(PolicyError, match=r"\[schema\] 期望分档行按起点升序"):
        load_policy(_write(tmp_path, text))
    ok = text.replace("[[10, 5], [5, 1]]", "[[5, 1], [10, 5]]")
    amount = load_policy(_write(tmp_path, ok)).amount
    assert amount is not None and isinstance(amount.rule, TierAmount)


def test_library_resolves_references_across_files(tmp_path: Path) -> None:
    _write(tmp_path, POLICY, "a.yaml")
    _write(tmp_path, POLICY.replace("id: test-reward", "id: test-ref").replace(
        "employees <= 300", 'eligible("test-reward")'), "b.yaml")
    lib = load_library([tmp_path])
    assert lib["test-ref"].references == frozenset({"test-reward"})


def test_unknown_policy_lookup_suggests(tmp_path: Path) -> None:
    lib = load_library([_write(tmp_path, POLICY)])
    with pytest.raises(PolicyError, match="是否应为 'test-reward'"):
        lib["test-rewards"]
