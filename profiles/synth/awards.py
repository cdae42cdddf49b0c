"""Synthetic award history: what an earlier system already paid, for the award ledger
(``mianshen awards import`` format, :mod:`matcher.award_import`).

广州市工信局 paid the 2025 batch of newly recognised 专精特新"小巨人" firms registered in
广州 (穗府办规〔2025〕13号) on 2026-02-12. Here about four firms in five of that batch are on
the payment list; the others (a firm that moved to 广州 after the list was drawn up, say)
are still due, so a run after that date has both cases: once per firm, and still owed.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

AWARDS_FILE = "awards_enterprise.csv"
"""The award history written beside the extracts (not a source extract: it is imported)."""

LITTLE_GIANT = "gz-little-giant-reward"
PAID_ON = date(2026, 2, 12)
PAID_SHARE = 0.8


def little_giant_awards(rng: np.random.Generator, registry: pl.DataFrame,
                        recognitions: pl.DataFrame) -> pl.DataFrame:
    """``policy_id, entity_id, benefit_period, amount, granted_on`` of the 2025 batch firms
    in 广州 on the payment list (``registry``: uscc, district; ``recognitions``: uscc,
    little_giant_on)."""
    batch = (recognitions.select("uscc", "little_giant_on")
             .join(registry.select("uscc", "district"), on="uscc", how="inner")
             .filter(pl.col("little_giant_on").dt.year() == 2025,
                     pl.col("district").str.starts_with("4401"))
             .sort("uscc"))
    paid = batch.filter(pl.Series(rng.random(batch.height) < PAID_SHARE))
    return paid.select(
        pl.lit(LITTLE_GIANT).alias("policy_id"), pl.col("uscc").alias("entity_id"),
        pl.lit("once").alias("benefit_period"), pl.lit("1000000").alias("amount"),
        pl.lit(PAID_ON.isoformat()).alias("granted_on"))
