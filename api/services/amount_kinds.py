"""What kind of amount each published policy grants (cash, tax saving, deduction, in kind;
``rules.model.AmountKind``), so that every page and message words it correctly: a deduction
reads 可在个税中扣除 2,000.00 元/月, never 享受 2,000.00 元.

An entitlement row keeps the policy id, not the kind; the kind is part of the policy text
and read from the published versions (the newest one of each policy), once per content hash.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from sqlalchemy.orm import Session

CASH = "cash"


@lru_cache(maxsize=4096)
def kind_of_text(text: str) -> str:
    """The ``amount.kind`` of a policy document (``cash`` when it has none).

    >>> kind_of_text("amount: {formula: 2000, period: month, kind: deduction}")
    'deduction'
    >>> kind_of_text("id: x"), kind_of_text(": not yaml: [")
    ('cash', 'cash')
    """
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(text)
    except YAMLError:
        return CASH
    amount = data.get("amount") if isinstance(data, Mapping) else None
    kind = amount.get("kind") if isinstance(amount, Mapping) else None
    return str(kind) if kind else CASH


def amount_kinds(session: Session) -> dict[str, str]:
    """Policy id -> the kind of amount its published text grants."""
    from store import policies as policy_store

    out: dict[str, str] = {}
    for v in sorted(policy_store.published_versions(session), key=lambda v: v.created_at):
        out[v.policy_id] = kind_of_text(v.text)
    return out
