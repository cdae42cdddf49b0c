"""Explanations as JSON-ready data: each condition with its truth, value, threshold, clause
and distance, the text rendering, and the conditions that failed (差在哪)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from matcher.explain import Explanation, format_value, render_text
from matcher.outcomes import OUTCOME_LABELS

TRUTH_LABELS = {True: "满足", False: "不满足", None: "待确认"}


def _json(value: object) -> object:
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return str(value)


def catalog_labels(entity: str) -> dict[str, str]:
    """Chinese labels of the entity's catalog fields, by field name."""
    from profiles.catalog import load_catalog

    return {f.name: f.label for f in load_catalog().entity(entity).fields}


def explanation_dict(
    e: Explanation, *, field_labels: dict[str, str] | None = None
) -> dict[str, Any]:
    conditions = [
        {
            "id": c.id,
            "label": c.label,
            "clause": c.clause,
            "truth": c.truth,
            "truth_label": TRUTH_LABELS[c.truth],
            "value": _json(c.value),
            "value_display": format_value(c.value),
            "threshold": c.threshold,
            "distance": c.distance,
            "fields": list(c.fields),
        }
        for c in e.conditions
    ]
    return {
        "entity_id": e.entity_id,
        "policy_id": e.policy_id,
        "policy_version": e.policy_version,
        "title": e.title,
        "basis": e.basis,
        "outcome": e.outcome,
        "outcome_label": OUTCOME_LABELS.get(e.outcome, e.outcome),
        "amount": e.amount,
        "amount_period": e.amount_period,
        "delivery": e.delivery,
        "conditions": conditions,
        "gaps": [c for c in conditions if c["truth"] is False],
        "unknown_fields": list(e.unknown_fields),
        "unknown_labels": [(field_labels or {}).get(f, f) for f in e.unknown_fields],
        "text": render_text(e, field_labels=field_labels),
    }
