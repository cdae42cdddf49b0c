"""What kind of amount a benefit grants (cash, tax saving, deduction, in kind;
``rules.model.AmountKind``), so that every page and message words it correctly: a deduction
reads 可在个税中扣除 2,000.00 元/月, never 享受 2,000.00 元.

An entitlement carries its kind: the run that decided it stored the kind its policy version
declares (``entitlements.amount_kind``, :func:`matcher.run_diff.compute_changes`), so pages and
messages about an entitlement read the row. A match row (a run's outcome, not yet an
entitlement) takes the kind of the published policy it names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from api.services.population import DataAccess


def published_kinds(data: DataAccess, session: Session) -> dict[str, str]:
    """Policy id -> the kind of amount the published policy grants, for match rows."""
    from matcher.run_diff import amount_kinds

    policies, _ = data.published(session)
    return amount_kinds(policies)
