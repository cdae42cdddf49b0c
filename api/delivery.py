"""Delivery wiring: an entitlement diff (from a nightly run or an event) becomes outbox
messages in the same transaction as the entitlement changes (DESIGN §3, idempotent delivery).

The notifier may not import the rule model, the catalog or the matcher, so this layer, which
wires the packages together, gives it everything as plain data: the changes (with their
entitlement ids and the explanation's text), the recipients (addresses from the profiles,
preferences and webhook subscriptions from the store), the profile rows and the catalog
fields of each policy (for pre-filled applications), and the link issuer.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl
    from sqlalchemy.orm import Session

    from notifier.links import LinkSigner
    from notifier.model import EntitlementChange, FieldInfo, Recipient
    from rules.model import Policy
    from store.entitlement_bulk import RunChanges

ChangesHook = Callable[["Session", "RunChanges", str], int]
_LOOKUP_CHUNK = 5_000  # entity ids per lookup (within SQLite's and PostgreSQL's limits)
_PLAN_CHUNK = 50_000  # changes planned into messages at a time (memory, not speed)
ENTITY_KEYS = {"enterprise": "uscc", "person": "id_number"}
# where each entity kind's addresses come from in its profile (DESIGN §5)
ADDRESS_FIELDS: dict[str, dict[str, str]] = {
    "enterprise": {"phone": "contact_phone", "email": "contact_email"},
    "person": {"phone": "phone"},
}


@dataclass(frozen=True, kw_only=True)
class LinkConfig:
    """Where links point and what signs them."""

    base_url: str
    signer: LinkSigner


def _entitlement_rows(session: Session, *, entity_kind: str, run_id: str,
                      entity_ids: Iterable[str],
                      ) -> dict[tuple[str, str, str], tuple[int, str, str]]:
    """(entity, policy, period) -> (id, status, first run) of what this run wrote for some
    entities: looked up by entity (indexed), so a partitioned run pays for each partition's
    own changes, not for every row the run wrote before. The kind is checked here, not in
    the query: with it there, SQLite took the key index on ``entity_kind``, a scan of every
    entitlement of the kind per call."""
    from sqlalchemy import select

    from store.schema import entitlements as t

    wanted = sorted(set(entity_ids))
    out: dict[tuple[str, str, str], tuple[int, str, str]] = {}
    for start in range(0, len(wanted), _LOOKUP_CHUNK):
        stmt = select(t.c.id, t.c.entity_id, t.c.policy_id, t.c.benefit_period, t.c.status,
                      t.c.first_run_id, t.c.entity_kind).where(
            t.c.entity_id.in_(wanted[start:start + _LOOKUP_CHUNK]), t.c.last_run_id == run_id)
        for r in session.execute(stmt):
            if r.entity_kind != entity_kind:
                continue
            out[(r.entity_id, r.policy_id, r.benefit_period)] = (int(r.id), r.status,
                                                                  r.first_run_id)
    return out


def entitlement_changes(changes: RunChanges, *, entity_kind: str,
                        policies: Mapping[str, Policy],
                        written: Mapping[tuple[str, str, str], tuple[int, str, str]] | None = None,
                        run_id: str | None = None) -> list[EntitlementChange]:
    """The notifier's view of a diff: new (or reinstated) entitlements, new periods carried
    over from an earlier confirmation (``renewed``), amount changes and revocations. A change
    of outcome only (e.g. undetermined -> eligible) counts as new."""
    from notifier.model import EntitlementChange

    written = written or {}
    out: list[EntitlementChange] = []

    def make(row: Mapping[str, Any], change: str, **extra: Any) -> EntitlementChange:
        policy = policies[row["policy_id"]]
        key = (row["entity_id"], row["policy_id"], row["benefit_period"])
        found = written.get(key)
        if change == "new" and found is not None and found[1] == "confirmed" and (
                found[2] == run_id):
            change = "renewed"  # a new period confirmed by a standing confirmation
        values: dict[str, Any] = {
            "policy_version": row.get("policy_version") or policy.version,
            "outcome": row.get("outcome") or "ineligible",
            "amount_fen": row.get("amount_fen"),
            "amount_period": row.get("amount_period")
            or (policy.amount.period if policy.amount else None),
            "delivery": row.get("delivery") or policy.delivery,
            # the kind the run stored on the entitlement (a revocation row carries none)
            "amount_kind": row.get("amount_kind") or policy.amount_kind,
            "unknown_fields": tuple(row.get("unknown_fields") or ()),
            "entitlement_id": found[0] if found else row.get("id"),
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
        elif row["amount_fen"] != row["old_amount_fen"]:
            out.append(make(row, "amount_changed"))
    for row in changes.revoked.iter_rows(named=True):
        out.append(make(row, "revoked", reason=row["reason"], amount_fen=None))
    return out


def read_profiles(snapshot: Path, *, entity_kind: str, ids: Iterable[str]) -> pl.DataFrame:
    """The snapshot rows of some entities (a filtered read of a file, or of the partitions of a
    dataset they are in)."""
    from profiles.partitions import scan_keys

    return scan_keys(snapshot, key=ENTITY_KEYS[entity_kind], keys=ids).collect()


def field_infos(entity_kind: str, names: Iterable[str], *,
                policies: Iterable[Policy] = ()) -> list[FieldInfo]:
    """Catalog metadata of fields, as the notifier's plain records; the declared conditions
    of ``policies`` (rules.declared) are fields of kind ``declared``."""
    from notifier.model import FieldInfo
    from profiles.catalog import load_catalog
    from rules.declared import for_policies

    catalog = for_policies(load_catalog().entity(entity_kind), policies)
    out = []
    for name in names:
        if name not in catalog:
            continue
        f = catalog.field(name)
        out.append(FieldInfo(name=f.name, label=f.label, source=f.source, kind=f.kind,
                             type=f.type, unit=f.unit, unit_label=f.unit_label, empty=f.empty,
                             personal=f.personal, min=f.min, max=f.max, values=f.values,
                             series=f.series))
    return out


def recipients_for(session: Session, *, entity_kind: str,
                   profiles: Mapping[str, Mapping[str, Any]],
                   ids: Sequence[str]) -> dict[tuple[str, str], Recipient]:
    """Who to tell, where: addresses from the profile (an enterprise's contact phone and
    e-mail, a citizen's phone), what the recipient gave and chose on 我的订阅, and its webhook
    subscriptions."""
    from notifier.model import Recipient, WebhookTarget
    from store import recipients as recipient_store

    keys = [(entity_kind, i) for i in ids]
    prefs = recipient_store.preferences_of(session, keys)
    hooks = recipient_store.webhooks_of(session, keys)
    out: dict[tuple[str, str], Recipient] = {}
    for key in keys:
        row = profiles.get(key[1], {})
        addresses = {kind: str(row[col]) for kind, col in ADDRESS_FIELDS[entity_kind].items()
                     if row.get(col)}
        p = prefs.get(key)
        if p is not None:
            addresses.update({k: v for k, v in (("email", p.email), ("phone", p.phone)) if v})
        name = row.get("name")
        out[key] = Recipient(
            entity_kind=entity_kind, entity_id=key[1],
            display_name=str(name) if name else None, addresses=addresses,
            webhooks=tuple(WebhookTarget(id=h.id, url=h.url) for h in hooks.get(key, [])),
            channels=p.channels if p else None,
            muted_deliveries=frozenset(p.muted_deliveries) if p else frozenset(),
            quiet_hours=(p.quiet_start, p.quiet_end) if p and p.quiet_start and p.quiet_end
            else None,
        )
    return out


def with_explanations(found: list[EntitlementChange], *, frame: pl.DataFrame, entity_kind: str,
                      policies: Sequence[Policy], as_of: dt.date, sets: Any,
                      outcomes: pl.DataFrame, related: Mapping[str, Any] | None = None,
                      ledger: Any = None, plans: dict[Any, Any] | None = None,
                      ) -> list[EntitlementChange]:
    """The changes with the explanation's text (the same builder as the page and the API),
    the labels of the conditions still open and of those that failed."""
    from matcher.explain import explain_many
    from store.entitlements import no_longer_meets

    ids = sorted({c.entity_id for c in found})
    # only the benefits told are explained (the plan of all of them is kept in ``plans``)
    explained = explain_many(frame, entity=entity_kind, as_of=as_of, policies=policies,
                             pairs={(c.entity_id, c.policy_id) for c in found},
                             entity_ids=ids, sets=sets, outcomes=outcomes,
                             related=related, ledger=ledger, plans=plans)
    by_pair = {(eid, e.policy_id): e for eid, items in explained.items() for e in items}
    out = []
    for change in found:
        e = by_pair.get((change.entity_id, change.policy_id))
        if e is None:
            out.append(change)
            continue
        failed = tuple(c.label for c in e.gaps)
        reason = change.reason
        if change.change == "revoked" and failed:
            reason = no_longer_meets(failed)
        out.append(dataclasses.replace(
            change, why=e.text, reason=reason, failed_conditions=failed,
            open_conditions=tuple(c.label for c in e.conditions if c.status == "unknown")))
    return out


def _outcomes_of(changes: RunChanges | None) -> pl.DataFrame:
    """What a diff decided, as :func:`matcher.explain.explain_many` reads outcomes (with
    their unknown fields: no unknown-field masks to compute); ``None``: none."""
    import polars as pl

    cols = ["entity_id", "policy_id", "outcome", "amount_fen", "unknown_fields"]
    parts = [] if changes is None else [
        f.select(cols) for f in (changes.new, changes.updated) if f.height]
    if not parts:
        return pl.DataFrame(schema={"entity_id": pl.String, "policy_id": pl.String,
                                    "outcome": pl.String, "amount_fen": pl.Int64,
                                    "unknown_fields": pl.List(pl.String)})
    return pl.concat(parts, how="vertical")


CurrentProfiles = Callable[[list[str]], tuple["pl.DataFrame", Mapping[str, Any]]]
"""current(entity ids) -> (their profiles now, what they were decided with besides:
``related``, the members of their relations now, and ``ledger``, the award history)."""


def outbox_hook(*, entity_kind: str, policies: Mapping[str, Policy], as_of: dt.date,
                links: LinkConfig, snapshot: Path | None = None, sets: Any = None,
                explain_limit: int = 20_000,
                related: Mapping[str, Any] | None = None,
                current: CurrentProfiles | None = None) -> ChangesHook:
    """A hook that plans and enqueues the messages of a diff in the caller's transaction:
    explained, addressed from the snapshot's profiles, with one-click links recorded.
    ``related``: the relations the run matched with (household register, employment
    links), so that an explanation decides an aggregate as the run did; the award ledger
    is read in the run's transaction (the run's own grants are this benefit, not history).
    ``current`` (the event path, :meth:`matcher.events.engine.EventEngine.current`), in
    place of a snapshot: the changed entities' profiles and members as the engine decided
    them, so that an event's messages are explained, pre-filled and addressed (SMS, e-mail)
    as a run's are."""
    from matcher.run_diff import naming_failed
    from notifier.links import StoredLinks
    from notifier.outbox import enqueue_changes
    from notifier.settings import NotifierSettings
    from store import entitlement_bulk
    from store.types import utcnow

    rules = NotifierSettings().delivery_rules()  # read once: a hook is called per batch
    # the event path explains a few entities per call with the same policies and ledger:
    # their compiled plans are kept (a run's hook reads a new ledger per call)
    plans: dict[Any, Any] | None = {} if current is not None else None

    @functools.cache
    def fields_of() -> dict[str, list[FieldInfo]]:
        """Each policy's fields as messages list them (the same for every call)."""
        from rules.years import fields_read_at

        return {pid: field_infos(entity_kind, sorted(fields_read_at(p, as_of)), policies=[p])
                for pid, p in policies.items()}

    if current is not None:
        # an event worker compiles what its messages need now, at its start, not when its
        # first message is planned (~0.1 s that every event behind it would wait)
        from matcher.explain import explain_many

        fields_of()
        frame, decided_with = current([])
        explain_many(frame, entity=entity_kind, as_of=as_of, policies=list(policies.values()),
                     entity_ids=[], sets=sets, outcomes=_outcomes_of(None), plans=plans,
                     **decided_with)

    def hook(session: Session, changes: RunChanges, run_id: str) -> int:
        # only new rows need their ids (updated and revoked ones carry theirs)
        written = _entitlement_rows(session, entity_kind=entity_kind, run_id=run_id,
                                    entity_ids=changes.new.get_column("entity_id").to_list()
                                    if changes.new.height else ())
        found = entitlement_changes(changes, entity_kind=entity_kind, policies=policies,
                                    written=written, run_id=run_id)
        if not found:
            return 0
        fields = fields_of()
        explain = len(found) <= explain_limit  # the run's whole diff decides, not a chunk
        context: dict[str, Any] = {"related": related}
        # explanations need the snapshot's profiles: without one, no ledger is read (it is
        # every entity's awards, a read that grows with the store, per call)
        if explain and snapshot is not None and current is None and any(
                p.ledger_lookups or p.cap for p in policies.values()):
            from matcher.award_import import load_ledger

            context["ledger"] = load_ledger(session, entity_kind=entity_kind,
                                            library=list(policies.values()), as_of=as_of)
        found.sort(key=lambda c: c.entity_id)
        queued = 0
        # planned a few thousand recipients at a time: a partition's messages, payloads and
        # links are never all in memory at once (an entity's changes stay in one chunk)
        start = 0
        while start < len(found):
            end = min(start + _PLAN_CHUNK, len(found))
            while end < len(found) and found[end].entity_id == found[end - 1].entity_id:
                end += 1
            queued += _enqueue_part(session, found[start:end], changes, run_id=run_id,
                                    explain=explain, fields=fields, context=context)
            start = end
        return queued

    def _enqueue_part(session: Session, found: list[EntitlementChange], changes: RunChanges,
                      *, run_id: str, explain: bool, fields: Mapping[str, list[FieldInfo]],
                      context: Mapping[str, Any]) -> int:
        ids = sorted({c.entity_id for c in found})
        frame = read_profiles(snapshot, entity_kind=entity_kind, ids=ids) if snapshot else None
        if current is not None:
            frame, decided_with = current(ids)
            context = {**context, **decided_with}
        key = ENTITY_KEYS[entity_kind]
        profiles: dict[str, dict[str, Any]] = {}
        if frame is not None:
            profiles = {str(r[key]): r for r in frame.iter_rows(named=True)}
            if explain:
                stored = {c.entitlement_id: c.reason for c in found
                          if c.change == "revoked" and c.entitlement_id is not None
                          and c.reason}
                found = with_explanations(found, frame=frame, entity_kind=entity_kind,
                                          policies=list(policies.values()), as_of=as_of,
                                          sets=sets, outcomes=_outcomes_of(changes),
                                          plans=plans, **context)
                # the 处理记录 names the conditions that failed, as the message does
                entitlement_bulk.restate_revocations(session, {
                    i: naming_failed(stored[i] or "", c.failed_conditions)
                    for c in found if (i := c.entitlement_id) is not None and i in stored
                    and c.failed_conditions},
                    run_id=run_id)
        issuer = StoredLinks(session=session, base_url=links.base_url, signer=links.signer,
                             now=utcnow())
        return enqueue_changes(
            session, found, links=issuer, as_of=as_of,
            recipients=recipients_for(session, entity_kind=entity_kind, profiles=profiles,
                                      ids=ids),
            profiles={(entity_kind, i): profiles.get(i, {}) for i in ids},
            fields=fields, rules=rules,
        )

    return hook
