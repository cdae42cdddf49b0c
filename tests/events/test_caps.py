"""Cap groups in the event engine: a real-time award draws on the entity's cap group in the
store, as the batch allocates it. Differential: the events' store ends with the batch's
outcomes (eligible / over_budget, to the fen); what a batch-only member of the group already
draws counts; the cap is never exceeded."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from matcher.award_import import load_ledger
from matcher.evaluate import match_frame
from matcher.events.delivery import record_outcomes
from matcher.events.engine import EventEngine
from rules.caps import CapGroup
from rules.ledger import AwardLedger
from rules.loader import bundled_library
from rules.model import Policy
from store import awards as award_store
from store.db import make_engine, transaction, upgrade
from store.schema import entitlements
from tests.conftest import sealed_engine
from tests.events.strategies import base_frame, derived_frame

AS_OF = dt.date(2025, 10, 1)
GROUP = "广州市企业年度奖励"
HIRING = "graduate-hiring-subsidy"  # 1500 yuan per graduate hired, priority 1
REFUND = "ui-job-retention-refund"  # 60% (SME) / 30% of last year's premium, priority 2
SINCE = dt.date(2000, 1, 1)  # the award ledger is complete from here on


def capped(limit: float) -> tuple[dict[str, Policy], object]:
    lib = bundled_library()
    policies = {pid: dataclasses.replace(lib[pid], cap=CapGroup(group=GROUP, limit=limit,
                                                                priority=prio))
                for prio, pid in enumerate((HIRING, REFUND), start=1)}
    return policies, lib.sets


def rows_of(firms: list[tuple[int | None, float | None]]) -> list[dict[str, object]]:
    return [{"status": "存续", "graduate_hires": hires, "ui_paid_months": 12,
             "layoffs_last_year": 0, "insured_employees": 40, "ui_paid_last_year": premium,
             "industry_code": "3911", "operating_revenue": 50_000_000.0}
            for hires, premium in firms]


def new_store(url: str, folder: Path) -> None:
    """A migrated store whose award ledger is complete for both policies from 2000 on."""
    upgrade(url)
    db = sealed_engine(url, folder)
    with transaction(db) as s:
        for pid in (HIRING, REFUND):
            award_store.declare_complete(s, entity_kind="enterprise", policy_id=pid,
                                         complete_from=SINCE, actor="test")
    db.dispose()


def store_outcomes(url: str) -> dict[tuple[str, str], tuple[str, int | None]]:
    db = make_engine(url)
    with transaction(db, write=False) as s:
        got = {(r.entity_id, r.policy_id): (r.outcome, r.amount_fen) for r in s.execute(select(
            entitlements.c.entity_id, entitlements.c.policy_id, entitlements.c.outcome,
            entitlements.c.amount_fen))}
    db.dispose()
    return got


def apply_events(url: str, policies: dict[str, Policy], sets: object, firms, *,
                 library: dict[str, Policy] | None = None) -> None:
    db = make_engine(url)
    with EventEngine(list(policies.values()), entity="enterprise", as_of=AS_OF,
                     sets=sets) as engine:  # type: ignore[arg-type]
        engine.load(base_frame(rows_of(firms), entity="enterprise"))
        for i in range(len(firms)):
            entity_id = f"K{i:04d}"
            record_outcomes(db, entity_kind="enterprise", entity_id=entity_id,
                            outcomes=engine.outcomes_of(entity_id),
                            policies=engine.compiled.policies, as_of=AS_OF,
                            run_id=f"event-{i}", library=library)
    db.dispose()


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(firms=st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 4)),
                                st.sampled_from([None, 0.0, 2_000.0, 10_000.0])),
                      min_size=1, max_size=6),
       limit=st.sampled_from([0.0, 1_500.0, 4_000.0, 9_000.0, 1e6]))
def test_events_end_with_the_batch_outcomes_under_a_cap_group(firms, limit, tmp_path_factory):
    policies, sets = capped(limit)
    frame = derived_frame(base_frame(rows_of(firms), entity="enterprise"),
                          entity="enterprise", as_of=AS_OF)
    ledger = AwardLedger.from_records([], complete_from={p: SINCE for p in policies})
    batch = match_frame(frame, entity="enterprise", policies=list(policies.values()),
                        as_of=AS_OF, sets=sets, ledger=ledger)
    expected = {(r["entity_id"], r["policy_id"]): (r["outcome"], r["amount_fen"])
                for r in batch.iter_rows(named=True)}
    folder = tmp_path_factory.mktemp("caps")
    url = f"sqlite:///{folder / 'db.sqlite'}"
    new_store(url, folder)
    apply_events(url, policies, sets, firms)
    got = store_outcomes(url)
    assert got == expected
    for entity in {e for e, _ in got}:
        paid = sum(a or 0 for (e, _), (o, a) in got.items() if e == entity and o == "eligible")
        assert paid <= limit * 100


def test_an_award_draws_only_what_the_other_members_of_its_group_left(tmp_path):
    policies, sets = capped(4_000.0)  # 400000 fen a year per firm
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    new_store(url, tmp_path)
    # the refund (60% of 5000 = 3000 yuan) written by a writer that does not decide hiring
    refund_only = {REFUND: policies[REFUND]}
    apply_events(url, refund_only, sets, [(2, 5_000.0)], library=policies)
    assert store_outcomes(url) == {("K0000", REFUND): ("eligible", 300_000)}
    # then a real-time award of the hiring subsidy (2 x 1500) by a writer that does not
    # decide the refund: only 1000 yuan is left in the group this year
    hiring_only = {HIRING: policies[HIRING]}
    apply_events(url, hiring_only, sets, [(2, 5_000.0)], library=policies)
    got = store_outcomes(url)
    assert got[("K0000", HIRING)] == ("eligible", 100_000)
    assert got[("K0000", REFUND)] == ("eligible", 300_000)


def test_without_the_library_the_other_members_are_not_seen(tmp_path):
    # the same writes without the group's other member: the hiring award is paid in full -
    # what the library argument (the event engine's whole library) prevents
    policies, sets = capped(4_000.0)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    new_store(url, tmp_path)
    apply_events(url, {REFUND: policies[REFUND]}, sets, [(2, 5_000.0)])
    apply_events(url, {HIRING: policies[HIRING]}, sets, [(2, 5_000.0)])
    assert store_outcomes(url)[("K0000", HIRING)] == ("eligible", 300_000)


def test_the_batch_counts_what_a_policy_it_does_not_decide_drew_in_real_time(tmp_path):
    # the refund stands for an event-triggered policy: only the event engine decides it
    policies, sets = capped(4_000.0)
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    new_store(url, tmp_path)
    apply_events(url, {REFUND: policies[REFUND]}, sets, [(2, 5_000.0)], library=policies)
    frame = derived_frame(base_frame(rows_of([(2, 5_000.0)]), entity="enterprise"),
                          entity="enterprise", as_of=AS_OF)
    db = sealed_engine(url, tmp_path)
    with transaction(db, write=False) as s:
        ledger = load_ledger(s, entity_kind="enterprise", library=[policies[HIRING]],
                             as_of=AS_OF, undecided=[policies[REFUND]])
        blind = load_ledger(s, entity_kind="enterprise", library=[policies[HIRING]],
                            as_of=AS_OF)
    db.dispose()
    for known, want in ((ledger, 100_000), (blind, 300_000)):
        batch = match_frame(frame, entity="enterprise", policies=[policies[HIRING]],
                            as_of=AS_OF, sets=sets, ledger=known)
        assert batch.select("outcome", "amount_fen").rows() == [("eligible", want)]
