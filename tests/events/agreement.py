"""The event engine's outcomes of one entity against the reference interpreter's answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from profiles.catalog import load_catalog
from rules.declared import for_policies
from rules.interpret import evaluate_policy
from rules.ledger import AwardLedger
from rules.model import Policy
from store.money import yuan_to_fen


def same_as_interpreter(policies: list[Policy], row: dict[str, Any], got: dict[str, Any], *,
                        as_of: dt.date, ledger: AwardLedger | None, sets: Any,
                        entity: str = "enterprise") -> None:
    """``got`` (the engine's outcome rows of ``row``'s entity, by policy id) says what the
    interpreter says of ``row`` (its members included): no row when FALSE or out of effect,
    the outcome (UNKNOWN included) and the amount to the fen otherwise."""
    cat = for_policies(load_catalog().entity(entity), policies)
    library = {p.id: p for p in policies}
    for policy in policies:
        where = (policy.id, row[cat.key], as_of)
        if not policy.in_effect(as_of):
            assert policy.id not in got, where
            continue
        ref = evaluate_policy(policy, row, catalog=cat, sets=sets, as_of=as_of,
                              library=library, ledger=ledger)
        if ref.truth is False:
            assert policy.id not in got, where
            continue
        out = got[policy.id]
        assert out["outcome"] == ("eligible" if ref.truth else "undetermined"), where
        assert out["amount_fen"] == yuan_to_fen(ref.amount), where
