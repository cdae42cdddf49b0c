"""Per-policy totals of a match: counts by outcome and the eligible amount.

>>> import polars as pl
>>> out = pl.DataFrame({"entity_id": ["a", "b", "c"], "policy_id": ["p", "p", "p"],
...                     "outcome": ["eligible", "eligible", "undetermined"],
...                     "amount_fen": [1000, None, 500], "amount_period": ["month"] * 3})
>>> summarize(out).row(0, named=True)["eligible_amount_fen"]
1000
"""

from __future__ import annotations

import polars as pl


def summarize(outcomes: pl.DataFrame) -> pl.DataFrame:
    """One row per policy: eligible / undetermined / superseded / over_budget counts, the sum
    of known eligible amounts (integer fen), and how many eligible amounts are still unknown."""
    eligible = pl.col("outcome") == "eligible"
    return (
        outcomes.group_by("policy_id")
        .agg(
            eligible=eligible.sum(),
            undetermined=(pl.col("outcome") == "undetermined").sum(),
            superseded=(pl.col("outcome") == "superseded").sum(),
            over_budget=(pl.col("outcome") == "over_budget").sum(),
            eligible_amount_fen=pl.col("amount_fen").filter(eligible).sum(),
            unknown_amounts=(eligible & pl.col("amount_fen").is_null()).sum(),
            amount_period=pl.col("amount_period").first(),
        )
        .sort("policy_id")
    )
