"""Delivery wiring: an entitlement diff (from a nightly run or an event) becomes outbox
messages in the same transaction as the entitlement changes (DESIGN §3, idempotent delivery).

The notifier may not import the rule model, so this layer, which wires the packages
together, turns a :class:`store.entitlement_bulk.RunChanges` into the notifier's
:class:`notifier.model.EntitlementChange` records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from notifier.links import Links
    from notifier.model import EntitlementChange
    from rules.model import Policy
    from store.entitlement_bulk import RunChanges

ChangesHook = Callable[["Session", "RunChanges", str], int]


def entitlement_changes(changes: RunChanges, *, entity_kind: str,
                        policies: Mapping[str, Policy]) -> list[EntitlementChange]:
    """The notifier's view of a diff: new (or reinstated) entitlements, amount changes and
    revocations. A change of outcome only (e.g. undetermined -> eligible) counts as new."""
    from notifier.model import EntitlementChange

    out: list[EntitlementChange] = []

    def make(row: Mapping[str, Any], change: str, **extra: Any) -> EntitlementChange:
        policy = policies[row["policy_id"]]
        values: dict[str, Any] = {
            "policy_version": row.get("policy_version") or policy.version,
            "outcome": row.get("outcome") or "ineligible",
            "amount": row.get("amount"),
            "amount_period": row.get("amount_period")
            or (policy.amount.period if policy.amount else None),
            "delivery": row.get("delivery") or policy.delivery,
            "unknown_fields": tuple(row.get("unknown_fields") or ()),
        }
        values.update(extra)
        return EntitlementChange(entity_kind=entity_kind, entity_id=row["entity_id"],
                                 policy_id=row["policy_id"], policy_title=policy.title,
                                 benefit_period=row["benefit_period"], change=change,  # type: ignore[arg-type]
                                 **values)

    for row in changes.new.iter_rows(named=True):
        out.append(make(row, "new"))
    for row in changes.updated.iter_rows(named=True):
        if row["status"] == "revoked" or row["outcome"] != row["old_outcome"]:
            out.append(make(row, "new"))
        elif row["amount"] != row["old_amount"]:
            out.append(make(row, "amount_changed"))
    for row in changes.revoked.iter_rows(named=True):
        out.append(make(row, "revoked", reason=row["reason"], amount=None))
    return out


def outbox_hook(*, entity_kind: str, policies: Mapping[str, Policy], as_of: dt.date,
                links: Links) -> ChangesHook:
    """A hook that plans and enqueues the messages of a diff in the caller's transaction."""
    from notifier.outbox import enqueue_changes

    def hook(session: Session, changes: RunChanges, run_id: str) -> int:
        found = entitlement_changes(changes, entity_kind=entity_kind, policies=policies)
        return enqueue_changes(session, found, links=links, as_of=as_of) if found else 0

    return hook
