"""The award ledger in the language: received(), received_amount(), first_time(); three-valued
by what the ledger is complete for; the polars join equals the row-by-row reference."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.catalog import load_catalog
from rules import ast
from rules.errors import PolicyError
from rules.interpret import evaluate_policy
from rules.ledger import AwardLedger, join_ledger, ledger_column, ledger_value, months_before
from rules.loader import load_library
from rules.parser import parse_expr

GZ = "gz-little-giant-reward"
FIRM = "91350100M000100Y43"
OTHER = "91440101MA59XXXXXX"
ROW = {"uscc": FIRM, "district": "440106", "little_giant_on": dt.date(2025, 7, 1)}
AS_OF = dt.date(2026, 3, 1)
START = dt.date(2025, 8, 23)


def _ledger(*records: tuple, complete: bool = True) -> AwardLedger:
    return AwardLedger.from_records(list(records),
                                    complete_from={GZ: START} if complete else {},
                                    policy_starts={GZ: START})


def test_little_giant_is_paid_once_by_the_award_history(evaluate) -> None:
    paid = (FIRM, GZ, dt.date(2026, 2, 12), 1_000_000.0)
    out = evaluate(GZ, [ROW], as_of=AS_OF, ledger=_ledger(paid))
    assert out[0].truth is False  # paid on 2026-02-12 by the earlier system: not again
    assert evaluate(GZ, [ROW], as_of=AS_OF, ledger=_ledger())[0].truth is True
    # before the payment date the same ledger does not see it (as-of reproducible)
    assert evaluate(GZ, [ROW], as_of=dt.date(2026, 2, 11), ledger=_ledger(paid))[0].truth


def test_no_ledger_data_for_the_period_is_unknown_not_never_awarded(evaluate) -> None:
    assert evaluate(GZ, [ROW], as_of=AS_OF, ledger=None)[0].truth is None
    assert evaluate(GZ, [ROW], as_of=AS_OF, ledger=_ledger(complete=False))[0].truth is None
    # a record decides even where the ledger is not complete
    paid = (FIRM, GZ, dt.date(2026, 2, 12), 1_000_000.0)
    assert evaluate(GZ, [ROW], as_of=AS_OF, ledger=_ledger(paid, complete=False))[0].truth \
        is False


def test_the_systems_own_grant_of_this_benefit_does_not_revoke_it(evaluate) -> None:
    own = (FIRM, GZ, dt.date(2025, 9, 1), 1_000_000.0, True)
    assert evaluate(GZ, [ROW], as_of=AS_OF, ledger=_ledger(own))[0].truth is True


def test_batch_is_a_dated_parameter_not_a_literal(evaluate) -> None:
    out = evaluate(GZ, [ROW, {**ROW, "little_giant_on": dt.date(2024, 7, 1)}], as_of=AS_OF,
                   ledger=_ledger())
    assert [o.truth for o in out] == [True, False]


TOPUP = """
id: topup-test
title: 差额补足测试
entity: enterprise
basis: {document: 测试, clause: 一}
effective: {from: 2025-01-01}
delivery: direct
eligibility:
  all:
    - {when: 'received_amount("gz-little-giant-reward", within = 3 years) < 150万', label: 未达上限}
amount:
  formula: 150万 - received_amount("gz-little-giant-reward", within = 3 years)
  period: once
"""


def test_top_up_pays_the_difference_and_is_unknown_without_complete_history(
        tmp_path: Path, library) -> None:
    (tmp_path / "topup-test.yaml").write_text(TOPUP, encoding="utf-8")
    lib = load_library([tmp_path], base=library)
    ent = load_catalog().entity("enterprise")
    paid = _ledger((FIRM, GZ, dt.date(2026, 2, 12), 1_000_000.0))
    got = evaluate_policy(lib["topup-test"], ROW, catalog=ent, sets=lib.sets, as_of=AS_OF,
                          library=lib, ledger=paid)
    assert (got.truth, got.amount) == (True, 500_000.0)
    # the window starts 2023-03-02, before the ledger is complete (2025-08-23): unknown
    partial = AwardLedger.from_records([], complete_from={GZ: START})
    got = evaluate_policy(lib["topup-test"], ROW, catalog=ent, sets=lib.sets, as_of=AS_OF,
                          library=lib, ledger=partial)
    assert (got.truth, got.amount) == (None, None)


def test_ledger_calls_are_checked_and_errors_say_what_was_expected() -> None:
    with pytest.raises(PolicyError, match="within = 3 years"):
        parse_expr('received_amount("p", 3)')
    with pytest.raises(PolicyError, match="policy-id"):
        parse_expr("received(p)")
    assert parse_expr('首次("p")') == ast.Not(item=ast.LedgerRef(kind="received", policy_id="p"))
    assert parse_expr('已领取金额("p", within = 6个月)') == ast.LedgerRef(
        kind="amount", policy_id="p", within_months=6)


def test_unknown_policy_in_a_ledger_call_is_refused(tmp_path: Path, library) -> None:
    (tmp_path / "topup-test.yaml").write_text(TOPUP.replace(
        'received_amount("gz-little-giant-reward", within = 3 years) <',
        'received_amount("gz-little-giant-rewrd") <'), encoding="utf-8")
    with pytest.raises(PolicyError, match="gz-little-giant-rewrd"):
        load_library([tmp_path], base=library)


ENTITIES = [FIRM, OTHER, "e3"]
POLICIES = ["p", "q"]
dates = st.dates(dt.date(2020, 1, 1), dt.date(2026, 12, 31))


@settings(max_examples=60, deadline=None)
@given(
    awards=st.lists(st.tuples(st.sampled_from(ENTITIES), st.sampled_from(POLICIES), dates,
                              st.integers(1, 10**8).map(lambda f: f / 100), st.booleans()),
                    max_size=12),
    complete=st.dictionaries(st.sampled_from(POLICIES), dates, max_size=2),
    starts=st.dictionaries(st.sampled_from(POLICIES), dates, max_size=2),
    kind=st.sampled_from(["received", "amount"]),
    pid=st.sampled_from(POLICIES),
    within=st.one_of(st.none(), st.integers(1, 60)),
    own=st.booleans(),
    as_of=dates,
)
def test_polars_join_equals_the_reference_lookup(awards, complete, starts, kind, pid, within,
                                                 own, as_of) -> None:
    ledger = AwardLedger.from_records(awards, complete_from=complete, policy_starts=starts)
    ref = ast.LedgerRef(kind=kind, policy_id=pid, within_months=within, own=own)
    frame = pl.DataFrame({"uscc": ENTITIES})
    joined = join_ledger(frame.lazy(), ledger, [ref], key="uscc", as_of=as_of).collect()
    got = joined[ledger_column(ref)].to_list()
    want = [ledger_value(ledger, ref, e, as_of) for e in ENTITIES]
    assert got == pytest.approx(want) if kind == "amount" and None not in want else got == want


def test_window_is_whole_months_back_from_the_as_of_date() -> None:
    assert months_before(dt.date(2026, 3, 1), 36) == dt.date(2023, 3, 1)
    ledger = AwardLedger.from_records(
        [(FIRM, "p", dt.date(2023, 3, 1), 1.0), (FIRM, "p", dt.date(2023, 3, 2), 2.0)],
        complete_from={"p": dt.date.min})
    ref = ast.LedgerRef(kind="amount", policy_id="p", within_months=36)
    assert ledger_value(ledger, ref, FIRM, dt.date(2026, 3, 1)) == 2.0
