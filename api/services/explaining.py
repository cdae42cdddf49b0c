"""Explanations as JSON-ready data: the condition tree with its groups, each condition with
its status, value, requirement, distance and citation, the amount and how it was computed,
and the text — all from the one builder (:mod:`matcher.explain`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from matcher.explain import (
    DELIVERY_LABELS,
    ConditionExplanation,
    Explanation,
    ExplanationNode,
    render_text,
)


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


def condition_dict(c: ConditionExplanation) -> dict[str, Any]:
    return {
        "node": "condition",
        "id": c.id,
        "label": c.label,
        "clause": c.clause,
        "citation": c.citation,
        "truth": c.truth,
        "status": c.status,
        "status_label": c.status_label,
        "truth_label": c.status_label,
        "value": _json(c.value),
        "value_display": c.value_display,
        "requirement": c.requirement,
        "threshold": c.threshold,
        "distance": c.distance,
        "distance_text": c.distance_text,
        "fields": list(c.fields),
    }


def node_dict(node: ExplanationNode) -> dict[str, Any]:
    if isinstance(node, ConditionExplanation):
        return condition_dict(node)
    return {
        "node": "group",
        "kind": node.kind,
        "label": node.label,
        "title": node.title,
        "truth": node.truth,
        "status": node.status,
        "status_label": node.status_label,
        "children": [node_dict(c) for c in node.children],
    }


def explanation_dict(e: Explanation) -> dict[str, Any]:
    conditions = [condition_dict(c) for c in e.conditions]
    return {
        "entity_id": e.entity_id,
        "policy_id": e.policy_id,
        "policy_version": e.policy_version,
        "title": e.title,
        "basis": e.basis,
        "basis_url": e.basis_url,
        "documents": [{"document": b.document, "title": b.title, "clause": b.clause,
                       "url": b.url, "text": b.text} for b in e.documents],
        "outcome": e.outcome,
        "outcome_label": e.outcome_label,
        "amount_fen": e.amount_fen,
        "amount_display": e.amount_display,
        "amount_period": e.amount_period,
        "amount_how": e.amount_how,
        "delivery": e.delivery,
        "delivery_label": DELIVERY_LABELS.get(e.delivery, e.delivery),
        "tree": node_dict(e.tree),
        "conditions": conditions,
        "gaps": [condition_dict(c) for c in e.gaps],
        "unknown_fields": list(e.unknown_fields),
        "unknown_labels": list(e.unknown_labels),
        "text": render_text(e),
    }
