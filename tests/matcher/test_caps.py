"""Cap groups across policies and years: paid in the declared order up to the limit, less what
the award ledger already holds for the period; unknown history makes the amount unknown."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from matcher.allocation import apply_caps
from rules.caps import CapGroup
from rules.errors import PolicyError
from rules.ledger import AwardLedger
from rules.loader import load_library

AS_OF = dt.date(2026, 3, 1)


class _P:
    def __init__(self, prio: int, limit: float = 500.0, per: str = "year") -> None:
        self.cap = CapGroup(group="g", limit=limit, per=per, priority=prio)  # type: ignore[arg-type]


POLICIES = {"a": _P(2), "b": _P(1), "c": _P(3)}


def _long(amounts: dict[str, float | None], entity: str = "e1") -> pl.DataFrame:
    """Amounts given in yuan, held in integer fen as the matcher holds them."""
    return pl.DataFrame({"entity_id": [entity] * len(amounts), "policy_id": list(amounts),
                         "outcome": ["eligible"] * len(amounts),
                         "amount_fen": [None if v is None else round(v * 100)
                                        for v in amounts.values()]},
                        schema={"entity_id": pl.String, "policy_id": pl.String,
                                "outcome": pl.String, "amount_fen": pl.Int64})


def _full(*records: tuple) -> AwardLedger:
    return AwardLedger.from_records(list(records),
                                    complete_from={p: dt.date(2020, 1, 1) for p in "abc"},
                                    policy_starts={p: dt.date(2020, 1, 1) for p in "abc"})


def test_priority_order_then_remainder_then_over_budget() -> None:
    out = apply_caps(_long({"a": 300.0, "b": 300.0, "c": 50.0}), POLICIES, as_of=AS_OF,
                     ledger=_full())
    assert out.rows() == [("e1", "a", "eligible", 20000), ("e1", "b", "eligible", 30000),
                          ("e1", "c", "over_budget", 5000)]


def test_awards_already_received_this_year_count_and_last_year_do_not() -> None:
    ledger = _full(("e1", "c", dt.date(2026, 1, 5), 400.0), ("e1", "c", dt.date(2025, 6, 1), 400.0))
    out = apply_caps(_long({"a": 300.0}), POLICIES, as_of=AS_OF, ledger=ledger)
    assert out.rows() == [("e1", "a", "eligible", 10000)]
    every_year = {"a": _P(1, per="all"), "c": _P(2, per="all")}
    out = apply_caps(_long({"a": 300.0}), every_year, as_of=AS_OF, ledger=ledger)
    assert out.rows() == [("e1", "a", "over_budget", 30000)]


def test_unknown_history_makes_the_paid_amount_unknown_not_a_guess() -> None:
    out = apply_caps(_long({"a": 300.0, "b": 300.0}), POLICIES, as_of=AS_OF, ledger=None)
    assert out.rows() == [("e1", "a", "eligible", None), ("e1", "b", "eligible", None)]
    out = apply_caps(_long({"a": 300.0, "b": 600.0}), POLICIES, as_of=AS_OF, ledger=None)
    assert out.filter(pl.col("policy_id") == "a")["outcome"].to_list() == ["over_budget"]


def test_entities_are_capped_separately_and_undetermined_rows_are_untouched() -> None:
    long = pl.concat([_long({"a": 400.0, "b": 400.0}, "e1"), _long({"a": 400.0}, "e2"),
                      _long({"c": None}, "e3")])
    out = apply_caps(long, POLICIES, as_of=AS_OF, ledger=_full())
    assert out.rows() == [("e1", "a", "eligible", 10000), ("e1", "b", "eligible", 40000),
                          ("e2", "a", "eligible", 40000), ("e3", "c", "eligible", None)]


CAPPED = """
id: {pid}
title: 封顶测试
entity: enterprise
basis: {{document: 测试, clause: 一}}
effective: {{from: 2025-01-01}}
delivery: direct
cap: {{group: 年度奖励合计, limit: {limit}, per: year}}
eligibility:
  all:
    - {{when: employees >= 1, label: 有职工}}
amount: {{formula: 100万, period: once}}
"""


def test_a_group_has_one_limit(tmp_path: Path) -> None:
    (tmp_path / "x1.yaml").write_text(CAPPED.format(pid="x1", limit="500万"), encoding="utf-8")
    (tmp_path / "x2.yaml").write_text(CAPPED.format(pid="x2", limit="300万"), encoding="utf-8")
    with pytest.raises(PolicyError, match="年度奖励合计"):
        load_library([tmp_path])
    (tmp_path / "x2.yaml").write_text(CAPPED.format(pid="x2", limit="500万"), encoding="utf-8")
    lib = load_library([tmp_path])
    assert lib["x2"].cap == CapGroup(group="年度奖励合计", limit=5_000_000.0)


def test_the_lean_frame_is_capped_the_same_way() -> None:
    """The lean frame a run keeps (row index, Enum policy and outcome): the same decision."""
    from matcher.lean import OUTCOME_ENUM

    policy_enum = pl.Enum(["a", "b", "c"])
    lean = pl.DataFrame(
        {"row": pl.Series([0, 0, 0, 1], dtype=pl.UInt32),
         "policy": pl.Series(["a", "b", "c", "a"], dtype=policy_enum),
         "outcome": pl.Series(["eligible", "eligible", "eligible", "undetermined"],
                              dtype=OUTCOME_ENUM),
         "amount_fen": pl.Series([30000, 30000, 5000, 30000], dtype=pl.Int64)})
    ids = pl.Series(["e1", "e2"])
    out = apply_caps(lean, POLICIES, as_of=AS_OF, ledger=_full(), entity_ids=ids,
                     entity="row", policy="policy")
    assert out.schema == lean.schema
    assert out.select(pl.col("outcome").cast(pl.String), "amount_fen").rows() == [
        ("eligible", 20000), ("eligible", 30000), ("over_budget", 5000),
        ("undetermined", 30000)]
