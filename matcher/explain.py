"""Explanations: why an entity is (or is not) eligible, condition by condition (差在哪).

For each condition: its truth value, the entity's value, the threshold, the label, the clause,
and for numeric conditions the distance to the threshold. Computed on demand for one entity.

>>> import datetime as dt
>>> import polars as pl
>>> from rules.loader import bundled_library
>>> from profiles.derive import derive
>>> from profiles.ingest import complete
>>> lib = bundled_library()
>>> p = pl.DataFrame({"id_number": ["310104195501010018"], "birth_date": [dt.date(1955, 1, 1)],
...                   "hukou_district": ["310104"], "alive": [None]})
>>> frame = derive(complete(p, entity="person"), entity="person",
...                as_of=dt.date(2025, 10, 1)).collect()
>>> [e] = explain_entity(frame, entity="person", policies=lib.policies.values(),
...                      as_of=dt.date(2025, 10, 1), entity_id="310104195501010018",
...                      policy_id="sh-elderly-allowance", sets=lib.sets)
>>> e.outcome, [c.truth for c in e.conditions]
('undetermined', [True, None, True])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import polars as pl

from matcher.evaluate import (
    MatchError,
    decode_masks,
    make_plan,
    prepare_frame,
    unknown_mask_expr,
)
from matcher.outcomes import OUTCOME_LABELS
from rules.model import Policy


class EntityNotFoundError(MatchError):
    def __init__(self, entity_id: str) -> None:
        self.entity_id = entity_id
        super().__init__(f"no profile with key {entity_id!r} in the frame")


class PolicyNotFoundError(MatchError):
    def __init__(self, policy_id: str, available: Iterable[str]) -> None:
        self.policy_id = policy_id
        names = ", ".join(sorted(available))
        super().__init__(
            f"policy {policy_id!r} is not in effect for this entity on the date; in effect: {names}"
        )


@dataclass(frozen=True, kw_only=True)
class ConditionExplanation:
    id: str
    label: str
    clause: str | None
    truth: bool | None
    value: object
    threshold: str | None
    distance: float | None
    fields: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class Explanation:
    entity_id: str
    policy_id: str
    policy_version: str
    title: str
    basis: str
    outcome: str
    amount: float | None
    amount_period: str | None
    delivery: str
    conditions: tuple[ConditionExplanation, ...]
    unknown_fields: tuple[str, ...]


def explain_entity(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    entity: str,
    policies: Iterable[Policy],
    as_of: dt.date,
    entity_id: str,
    policy_id: str | None = None,
    sets: object | None = None,
    outcomes: pl.DataFrame | None = None,
) -> list[Explanation]:
    """Explain every policy in effect (or only ``policy_id``) for one entity.

    ``outcomes``, when given, is the long match output over the whole population: it
    supplies the outcomes that depend on others (superseded, over_budget); without it the
    outcome comes from the conditions alone."""
    plan = make_plan(policies, entity=entity, as_of=as_of, sets=sets)
    if policy_id is not None:
        if policy_id not in plan.compiled:
            raise PolicyNotFoundError(policy_id, plan.compiled)
        compiled = {policy_id: plan.compiled[policy_id]}
    else:
        compiled = plan.compiled
    lf = prepare_frame(frame, plan).filter(pl.col(plan.key).cast(pl.String) == entity_id)
    names = set(lf.collect_schema().names())
    exprs: list[pl.Expr] = []
    for pid, cp in compiled.items():
        exprs.append(cp.truth.alias(f"t:{pid}"))
        amount_expr = cp.amount if cp.amount is not None else pl.lit(None, dtype=pl.Float64)
        exprs.append(amount_expr.cast(pl.Float64).alias(f"a:{pid}"))
        exprs.append(unknown_mask_expr(cp, plan, names).alias(f"u:{pid}"))
        for cc in cp.conditions:
            cid = f"{pid}:{cc.condition.id}"
            exprs.append(cc.truth.alias(f"ct:{cid}"))
            if cc.value is not None:
                exprs.append(cc.value.alias(f"cv:{cid}"))
            if cc.distance is not None:
                exprs.append(cc.distance.cast(pl.Float64).alias(f"cd:{cid}"))
    row = lf.select(exprs).collect()
    if row.height == 0:
        raise EntityNotFoundError(entity_id)
    values = row.row(0, named=True)
    masks = [values[f"u:{pid}"] for pid in compiled]
    decoded = dict(decode_masks(pl.Series(masks, dtype=pl.UInt64), plan).iter_rows())
    known_outcomes: dict[str, tuple[str, float | None]] = {}
    if outcomes is not None:
        for r in outcomes.filter(pl.col("entity_id") == entity_id).iter_rows(named=True):
            known_outcomes[r["policy_id"]] = (r["outcome"], r["amount"])

    result = []
    for pid, cp in compiled.items():
        truth: bool | None = values[f"t:{pid}"]
        amount: float | None = values[f"a:{pid}"]
        if outcomes is not None:
            outcome, amount = known_outcomes.get(pid, ("ineligible", None))
        else:
            outcome = {True: "eligible", False: "ineligible", None: "undetermined"}[truth]
        if outcome == "ineligible":
            amount = None
        conditions = tuple(
            ConditionExplanation(
                id=cc.condition.id,
                label=cc.condition.label,
                clause=cc.condition.clause,
                truth=values[f"ct:{pid}:{cc.condition.id}"],
                value=values.get(f"cv:{pid}:{cc.condition.id}"),
                threshold=cc.threshold,
                distance=values.get(f"cd:{pid}:{cc.condition.id}"),
                fields=tuple(sorted(cc.fields)),
            )
            for cc in cp.conditions
        )
        policy = cp.policy
        basis = policy.basis.document + (f" {policy.basis.clause}" if policy.basis.clause else "")
        result.append(
            Explanation(
                entity_id=entity_id,
                policy_id=pid,
                policy_version=policy.version,
                title=policy.title,
                basis=basis,
                outcome=outcome,
                amount=amount,
                amount_period=policy.amount.period if policy.amount else None,
                delivery=policy.delivery,
                conditions=conditions,
                unknown_fields=(
                    tuple(decoded[values[f"u:{pid}"]]) if outcome == "undetermined" else ()
                ),
            )
        )
    return result


_PERIOD_LABELS = {"once": "一次性", "month": "每月", "year": "每年"}
_DELIVERY_LABELS = {"direct": "免申即享", "notice": "申报即享", "apply": "依申请(预填申请表)"}
_TRUTH_MARKS = {True: "✓ 满足", False: "✗ 不满足", None: "? 待确认"}


def format_value(value: object) -> str:
    """Readable Chinese rendering of an entity's value.

    >>> format_value(None), format_value(3500000.0), format_value(True), format_value(12)
    ('未知(无数据)', '3,500,000', '是', '12')
    """
    if value is None:
        return "未知(无数据)"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:,.0f}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def render_text(explanation: Explanation, *, field_labels: dict[str, str] | None = None) -> str:
    """Render an explanation as readable Chinese text (为什么我符合 / 差在哪)."""
    labels = field_labels or {}
    e = explanation
    lines = [
        f"{e.title} ({e.policy_id}, 版本 {e.policy_version})",
        f"  依据: {e.basis}",
        f"  结果: {OUTCOME_LABELS.get(e.outcome, e.outcome)}  ·  兑现方式: "
        f"{_DELIVERY_LABELS.get(e.delivery, e.delivery)}",
    ]
    if e.amount is not None:
        period = _PERIOD_LABELS.get(e.amount_period or "", "")
        lines.append(f"  金额: {period} {format_value(e.amount)} 元")
    elif e.outcome in ("eligible", "undetermined") and e.amount_period:
        lines.append("  金额: 待核定(所需数据缺失)")
    lines.append("  条件:")
    for c in e.conditions:
        clause = f" [{c.clause}]" if c.clause else ""
        shown = c.value is not None or c.truth is None
        detail = f"当前值: {format_value(c.value)}" if shown else ""
        if c.threshold:
            detail += f"  要求: {c.threshold}"
        if c.truth is False and c.distance is not None and c.distance != 0:
            detail += f"  差距: {format_value(abs(c.distance))}"
        lines.append(f"    {_TRUTH_MARKS[c.truth]}  {c.label}{clause}  {detail}".rstrip())
    if e.unknown_fields:
        names = "、".join(labels.get(f, f) for f in e.unknown_fields)
        lines.append(f"  需补充: {names}")
    return "\n".join(lines)
