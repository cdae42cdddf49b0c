"""Outcome names and the long output schema of a match (DESIGN §3).

>>> OUTCOMES
('eligible', 'undetermined', 'ineligible', 'superseded', 'over_budget')
"""

from __future__ import annotations

from typing import Final, Literal

import polars as pl

Outcome = Literal["eligible", "undetermined", "ineligible", "superseded", "over_budget"]
OUTCOMES: Final[tuple[Outcome, ...]] = (
    "eligible",
    "undetermined",
    "ineligible",
    "superseded",
    "over_budget",
)

OUTCOME_LABELS: Final[dict[str, str]] = {
    "eligible": "符合",
    "undetermined": "待确认(需补充信息)",
    "ineligible": "不符合",
    "superseded": "已享受同类更优政策",
    "over_budget": "预算已用完(候补)",
}

OUTCOME_SCHEMA: Final[dict[str, pl.DataType]] = {
    "entity_id": pl.String(),
    "policy_id": pl.String(),
    "policy_version": pl.String(),
    "outcome": pl.String(),
    "amount_fen": pl.Int64(),  # integer fen (store.money); null = UNKNOWN, never 0
    "amount_period": pl.String(),
    "delivery": pl.String(),
    "unknown_fields": pl.List(pl.String()),
}


def empty_outcomes() -> pl.DataFrame:
    return pl.DataFrame(schema=OUTCOME_SCHEMA)
