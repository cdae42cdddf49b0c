"""Cap groups on generated policies: the batch (evaluation, then
:func:`matcher.allocation.apply_caps`) pays what the specification says - the reference
interpreter's outcomes, capped row at a time as docs/grammar.md ("Cap groups") states it -
over generated profiles and award histories, with groups per year and over all years."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import (
    bench_sets,
    catalog,
    generate_ledger,
    generate_policies,
    generate_profiles,
)
from matcher.evaluate import match_frame
from rules.interpret import evaluate_policy
from rules.ledger import AwardLedger
from rules.model import Policy
from store.money import yuan_to_fen


def capped_reference(outcomes: dict[tuple[str, str], tuple[str, int | None]],
                     policies: list[Policy], ledger: AwardLedger, as_of: dt.date
                     ) -> dict[tuple[str, str], tuple[str, int | None]]:
    """The cap rule, one entity and group at a time, in plain Python."""
    out = dict(outcomes)
    by_id = {p.id: p for p in policies}
    groups: dict[str, list[Policy]] = {}
    for p in policies:
        if p.cap is not None:
            groups.setdefault(p.cap.group, []).append(p)
    awards = ledger.awards.to_dicts()
    for members in groups.values():
        cap = members[0].cap
        assert cap is not None
        start = dt.date(as_of.year, 1, 1) if cap.per == "year" else dt.date.min
        ids = {p.id for p in members}
        known = all(ledger.complete_from.get(p.id) is not None and ledger.complete_from[p.id]
                    <= max(start, ledger.policy_starts.get(p.id, dt.date.min)) for p in members)
        entities = sorted({e for e, pid in outcomes if pid in ids})
        for entity in entities:
            prior = sum(yuan_to_fen(a["amount"]) or 0 for a in awards
                        if a["entity_id"] == entity and a["policy_id"] in ids
                        and start <= a["granted_on"] <= as_of and not a["current_grant"])
            left = (yuan_to_fen(cap.limit) or 0) - prior
            rows = sorted((by_id[pid].cap.priority, pid) for e, pid in outcomes  # type: ignore[union-attr]
                          if e == entity and pid in ids)
            for _, pid in rows:
                outcome, fen = outcomes[(entity, pid)]
                if outcome != "eligible" or fen is None:
                    continue  # undetermined rows and unknown amounts do not compete
                if left <= 0:
                    out[(entity, pid)] = ("over_budget", fen)
                else:
                    out[(entity, pid)] = ("eligible", min(fen, left) if known else None)
                left -= fen
    return out


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_seed=st.integers(0, 2**31), profile_seed=st.integers(0, 2**31),
       as_of=st.sampled_from([dt.date(2025, 6, 30), dt.date(2026, 1, 1)]))
def test_batch_caps_equal_the_specification_on_generated_policies(
        policy_seed: int, profile_seed: int, as_of: dt.date) -> None:
    policies = generate_policies(8, seed=policy_seed, ledger=True, caps=True)
    frame = generate_profiles(40, seed=profile_seed, as_of=as_of)
    ledger = generate_ledger(frame, policies, seed=profile_seed + 1, as_of=as_of,
                             awards=80)
    library = {p.id: p for p in policies}
    want: dict[tuple[str, str], tuple[str, int | None]] = {}
    for row in frame.iter_rows(named=True):
        for p in policies:
            ref = evaluate_policy(p, row, catalog=catalog(), sets=bench_sets(), as_of=as_of,
                                  library=library, ledger=ledger)
            if ref.truth is not False:
                want[(row["uscc"], p.id)] = ("eligible" if ref.truth else "undetermined",
                                             yuan_to_fen(ref.amount))
    want = capped_reference(want, policies, ledger, as_of)
    batch = match_frame(frame, entity="enterprise", policies=policies, as_of=as_of,
                        sets=bench_sets(), ledger=ledger)
    got: dict[Any, Any] = {(r["entity_id"], r["policy_id"]): (r["outcome"], r["amount_fen"])
                           for r in batch.iter_rows(named=True)}
    assert got == want


def test_generated_caps_bind() -> None:
    """The generated histories and limits make caps matter: some rows are cut or over."""
    as_of = dt.date(2025, 6, 30)
    seen = set()
    for seed in range(6):
        policies = generate_policies(8, seed=seed, ledger=True, caps=True)
        frame = generate_profiles(60, seed=seed, as_of=as_of)
        ledger = generate_ledger(frame, policies, seed=seed + 1, as_of=as_of, awards=120)
        batch = match_frame(frame, entity="enterprise", policies=policies, as_of=as_of,
                            sets=bench_sets(), ledger=ledger)
        seen |= set(batch["outcome"].to_list())
    assert "over_budget" in seen
