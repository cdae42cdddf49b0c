"""Rich tables printed by the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from store.money import PERIOD_LABELS, format_fen

if TYPE_CHECKING:
    import polars as pl

    from rules.model import Policy


def print_summary(
    console: Console, outcomes: pl.DataFrame, policies: Iterable[Policy], *, title: str
) -> None:
    """Per policy — every one of ``policies``, those that matched no one with zeros — eligible
    and undetermined counts and the total eligible amount. Columns for superseded and
    over-budget outcomes appear only when some policy has them."""
    from matcher.summary import summarize

    by_id = {p.id: p for p in policies}
    found = {r["policy_id"]: r for r in summarize(outcomes).rows(named=True)}
    zero = {"eligible": 0, "undetermined": 0, "superseded": 0, "over_budget": 0,
            "eligible_amount_fen": 0, "unknown_amounts": 0}
    rows = [found.get(pid, {**zero, "policy_id": pid}) for pid in sorted({*by_id, *found})]
    extra = [
        (name, label)
        for name, label in (("superseded", "被更优替代"), ("over_budget", "超预算"))
        if any(r[name] for r in rows)
    ]
    table = Table(title=title, title_justify="left")
    table.add_column("政策", overflow="fold")
    table.add_column("符合", justify="right")
    table.add_column("待确认", justify="right")
    for _, label in extra:
        table.add_column(label, justify="right")
    table.add_column("符合金额合计(元)", justify="right")
    for row in rows:
        policy = by_id.get(row["policy_id"])
        if policy is None or policy.amount is None:
            amount_text = "不涉及金额"
        else:
            total = format_fen(row["eligible_amount_fen"]).removesuffix(" 元")
            amount_text = f"{total} {PERIOD_LABELS[policy.amount.period]}"
            if row["unknown_amounts"]:
                amount_text += f"\n(另 {row['unknown_amounts']:,} 笔待核定)"
        table.add_row(
            policy.title if policy else row["policy_id"],
            f"{row['eligible']:,}",
            f"{row['undetermined']:,}",
            *(f"{row[name]:,}" for name, _ in extra),
            amount_text,
        )
    by_period: dict[str, int] = {}
    for row in rows:
        policy = by_id.get(row["policy_id"])
        if policy is not None and policy.amount is not None:
            period = policy.amount.period
            by_period[period] = by_period.get(period, 0) + int(row["eligible_amount_fen"] or 0)
    table.add_section()
    table.add_row(
        f"合计（{len(rows)} 项政策）",
        f"{sum(r['eligible'] for r in rows):,}",
        f"{sum(r['undetermined'] for r in rows):,}",
        *(f"{sum(r[name] for r in rows):,}" for name, _ in extra),
        "\n".join(f"{format_fen(fen).removesuffix(' 元')} {PERIOD_LABELS[period]}"
                  for period, fen in sorted(by_period.items(), key=lambda kv: PERIOD_ORDER[kv[0]]))
        or "不涉及金额",
    )
    console.print(table)
    declared_only = [by_id[r["policy_id"]] for r in rows
                     if r["policy_id"] in by_id and not r["eligible"]
                     and declared_conditions(by_id[r["policy_id"]])]
    if declared_only:
        console.print("其中 " + "、".join(
            f"{p.title}（须申报：{'、'.join(declared_conditions(p))}）" for p in declared_only)
            + " 含只能由申请人申报的条件，数据最多判定为“待确认”，由预填申请补齐。",
            highlight=False, soft_wrap=True)


PERIOD_ORDER = {"year": 0, "month": 1, "once": 2}


def declared_conditions(policy: Policy) -> list[str]:
    """Labels of the conditions the policy reads that only the applicant declares (its
    ``declared:`` ones, rules.declared; no source has them: UNKNOWN until declared)."""
    from profiles.catalog import load_catalog
    from rules.declared import for_policies

    entity = for_policies(load_catalog().entity(policy.entity), [policy])
    return [f.label for f in entity.by_kind("declared") if f.name in policy.fields_read]
