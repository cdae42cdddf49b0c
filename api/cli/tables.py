"""Rich tables printed by the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    import polars as pl

    from rules.model import Policy

PERIOD_LABELS = {"once": "一次性", "month": "每月", "year": "每年"}


def print_summary(
    console: Console, outcomes: pl.DataFrame, policies: Iterable[Policy], *, title: str
) -> None:
    """Per policy: eligible and undetermined counts and the total eligible amount."""
    from matcher.summary import summarize

    titles = {p.id: p.title for p in policies}
    table = Table(title=title)
    for name, justify in (
        ("政策", "left"), ("符合", "right"), ("待确认", "right"), ("被更优替代", "right"),
        ("超预算", "right"), ("符合金额合计(元)", "right"), ("周期", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in summarize(outcomes).iter_rows(named=True):
        amount = row["eligible_amount"]
        amount_text = f"{amount:,.0f}" if row["amount_period"] else "—"
        if row["unknown_amounts"]:
            amount_text += f" (+{row['unknown_amounts']} 笔待核定)"
        table.add_row(
            f"{titles.get(row['policy_id'], row['policy_id'])}\n[dim]{row['policy_id']}[/dim]",
            f"{row['eligible']:,}", f"{row['undetermined']:,}", f"{row['superseded']:,}",
            f"{row['over_budget']:,}", amount_text,
            PERIOD_LABELS.get(row["amount_period"] or "", "—"),
        )
    console.print(table)
