"""An entity's new outcomes -> entitlement changes (+ outbox messages) in one transaction.

The same path as a nightly run (:mod:`matcher.runs`): the outcomes are diffed against the
store with :func:`matcher.run_diff.diff_rows` (the run's :func:`~matcher.run_diff.compute_changes`
over plain rows, for an event batch's few dozen rows), written with
:func:`store.entitlement_bulk.write_changes`, and an ``on_changes(session, changes, run_id)``
hook runs inside the same transaction (the application wires the notifier's outbox there, as
for runs); either everything commits or nothing does. Only the entity's own entitlements
are read: those of the policies the engine decides, for the benefit periods of ``as_of``.

Budgets: a real-time award draws on the same budget as the nightly batch, in the store and
in the same transaction (:mod:`store.budget_draws`): the budget's lock is taken, what the
other entities' entitlements already draw is read, and an eligible amount that does not fit
what is left - or that would pass someone already waiting (``over_budget``) - becomes
``over_budget`` itself, like the batch's waiting list. The batch takes the same locks while it
writes, so the two paths together never exceed a cap.

Cap groups (:mod:`rules.caps`): after the budgets, the entity's rows of a capped policy are
allocated by the batch's own :func:`matcher.allocation.apply_caps`, under the group's lock,
counting the entity's earlier awards (award ledger) and what the group's policies that the
event engine does not decide (left to the batch) already draw in the store
(:mod:`store.cap_draws`); the nightly run takes the same locks while it writes.

Each event gets a traceable id ``event-<as_of>-<entity kind>-<hash>`` recorded as the
entitlements' run id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from matcher.allocation import apply_caps
from matcher.award_import import load_ledger
from matcher.outcomes import OUTCOME_SCHEMA
from matcher.run_diff import amount_kinds, diff_rows, revocation_reason, scope
from rules.model import Policy
from store import entitlement_bulk, profile_updates
from store.budget_draws import drawn, lock_budgets
from store.cap_draws import lock_caps
from store.db import transaction
from store.entitlement_bulk import CURRENT_SCHEMA, RunChanges
from store.entitlements import benefit_period
from store.money import yuan_to_fen
from store.schema import entitlements
from store.types import utcnow

if TYPE_CHECKING:
    from matcher.events.engine import EventEngine
    from matcher.events.worker import AppliedEvent, WriteBatch

ChangesHook = Callable[[Session, RunChanges, str], object]


def event_run_id(*, entity_kind: str, entity_id: str, as_of: dt.date, sequence: int,
                 payload: Mapping[str, Any]) -> str:
    """A deterministic id for one applied event (no personal data: a hash of the inputs).

    >>> event_run_id(entity_kind="person", entity_id="X", as_of=dt.date(2025, 10, 1),
    ...              sequence=1, payload={"alive": False})[:29]
    'event-2025-10-01-person-c2819'
    """
    text = json.dumps([entity_id, sequence, payload], sort_keys=True, default=str,
                      ensure_ascii=False)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"event-{as_of.isoformat()}-{entity_kind}-{digest}"


def batch_run_id(run_ids: Sequence[str], *, entity_kind: str, as_of: dt.date) -> str:
    """The id of a batch of applied events: the event's own for one (:func:`event_run_id`),
    else a hash of theirs, in order.

    >>> one = event_run_id(entity_kind="person", entity_id="X", as_of=dt.date(2025, 10, 1),
    ...                    sequence=1, payload={})
    >>> batch_run_id([one], entity_kind="person", as_of=dt.date(2025, 10, 1)) == one
    True
    """
    if len(run_ids) == 1:
        return run_ids[0]
    digest = hashlib.sha256("\n".join(run_ids).encode()).hexdigest()[:12]
    return f"event-{as_of.isoformat()}-{entity_kind}-{digest}"


def batch_writer(db: Engine, engine: EventEngine, *, as_of: dt.date,
                 on_changes: ChangesHook | None, snapshot: str | None = None) -> WriteBatch:
    """write(batch) for :func:`matcher.events.worker.consume`: a batch of applied events'
    changes (and ``on_changes``' messages) in one transaction, under the batch's run id;
    with ``snapshot`` (the hash of the snapshot the engine loaded), the profile updates that
    caused them too (:mod:`store.profile_updates`)."""

    def write(batch: list[AppliedEvent]) -> None:
        run_id = batch_run_id([event_run_id(entity_kind=engine.entity, entity_id=a.entity_id,
                                            as_of=as_of, sequence=a.line, payload=a.event)
                               for a in batch], entity_kind=engine.entity, as_of=as_of)

        def updates(session: Session) -> None:
            if snapshot is not None:
                profile_updates.record(
                    session, entity_kind=engine.entity, snapshot_hash=snapshot, run_id=run_id,
                    updates=[(a.line, a.entity_id, a.values) for a in batch if a.values])

        record_batch(db, [EntityOutcomes(entity_id, outcomes, entity_id in engine.held)
                          for a in batch
                          for entity_id, outcomes in [(a.entity_id, a.outcomes),
                                                      *a.redecided.items()]],
                     entity_kind=engine.entity, policies=engine.compiled.policies,
                     as_of=as_of, run_id=run_id, on_changes=on_changes,
                     library=engine.library, before=updates)

    return write


def load_entity_current(session: Session, *, entity_kind: str, entity_id: str,
                        pairs: Iterable[tuple[str, str]]) -> pl.DataFrame:
    """The entity's entitlements for the (policy id, benefit period) pairs."""
    return load_entities_current(session, entity_kind=entity_kind, entity_ids=[entity_id],
                                 pairs=pairs)


def load_entities_current(session: Session, *, entity_kind: str, entity_ids: Sequence[str],
                          pairs: Iterable[tuple[str, str]]) -> pl.DataFrame:
    """Some entities' entitlements for the (policy id, benefit period) pairs, in one read
    (:func:`entities_current` as a :data:`CURRENT_SCHEMA` frame)."""
    rows = entities_current(session, entity_kind=entity_kind, entity_ids=entity_ids,
                            pairs=pairs)
    # a list column built from Python lists makes a Series per row (~15 ms per 400 rows):
    # the lists go in as JSON text, decoded by column
    return pl.DataFrame([
        pl.Series(name, [json.dumps(r[name], ensure_ascii=False) for r in rows],
                  dtype=pl.String).str.json_decode(dtype)
        if name == "unknown_fields" else pl.Series(name, [r[name] for r in rows], dtype=dtype)
        for name, dtype in CURRENT_SCHEMA.items()])


def entities_current(session: Session, *, entity_kind: str, entity_ids: Sequence[str],
                     pairs: Iterable[tuple[str, str]]) -> list[dict[str, Any]]:
    """Some entities' entitlements for the (policy id, benefit period) pairs, in one read,
    as :data:`CURRENT_SCHEMA` rows (what an event batch diffs with
    :func:`matcher.run_diff.diff_rows`).

    Read by the entity id alone (its index) and kept by kind and pair here: with the kind or
    the pairs in the query, SQLite chose the key index on ``entity_kind``, a scan of every
    entitlement of the kind per read (34 000 rows for 20 entities, growing with the
    population)."""
    wanted = set(pairs)
    if not wanted or not entity_ids:
        return []
    ids = sorted(set(entity_ids))
    # the driver's own cursor: a statement built by SQLAlchemy per batch cost more than the
    # read (~1 ms); the list of unknown fields comes as JSON text, decoded here
    mark = "%s" if session.get_bind().dialect.name == "postgresql" else "?"
    names = ", ".join("CAST(unknown_fields AS TEXT)" if n == "unknown_fields" else n
                      for n in CURRENT_SCHEMA)
    sql = (f"SELECT {names}, entity_kind FROM {entitlements.name} "
           f"WHERE entity_id IN ({', '.join(mark for _ in ids)})")
    cur = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cur.execute(sql, ids)
        fetched = cur.fetchall()
    finally:
        cur.close()
    out = []
    for *values, kind in fetched:
        row = dict(zip(CURRENT_SCHEMA, values, strict=True))
        if kind != entity_kind or (row["policy_id"], row["benefit_period"]) not in wanted:
            continue
        fields = row["unknown_fields"]
        row["unknown_fields"] = ([] if fields is None or fields == "[]"  # the common case
                                 else list(json.loads(fields) or []))
        out.append(row)
    return out


@dataclass(frozen=True)
class EntityOutcomes:
    """One applied event's result: the entity's rows of every policy (a policy without a
    row is ineligible), and whether the entity is held on a data defect."""

    entity_id: str
    outcomes: Sequence[Mapping[str, Any]]
    held: bool = False


def record_outcomes(
    db: Engine,
    *,
    entity_kind: str,
    entity_id: str,
    outcomes: Iterable[Mapping[str, Any]],
    policies: Mapping[str, Policy],
    as_of: dt.date,
    run_id: str,
    on_changes: ChangesHook | None = None,
    now: dt.datetime | None = None,
    held: bool = False,
    library: Mapping[str, Policy] | None = None,
) -> RunChanges:
    """Write the changes that take the store to ``outcomes`` (the entity's rows of every
    policy in ``policies``; a policy without a row is ineligible) and run ``on_changes``,
    all in one transaction. Returns the changes. ``held``: the entity is held on a data
    defect — its benefits are held, not revoked, exactly as in the nightly run.
    ``library``: every policy (default ``policies``), for the members of a cap group that
    this call does not decide."""
    return record_batch(db, [EntityOutcomes(entity_id, list(outcomes), held)],
                        entity_kind=entity_kind, policies=policies, as_of=as_of,
                        run_id=run_id, on_changes=on_changes, now=now, library=library)


def record_batch(
    db: Engine,
    batch: Sequence[EntityOutcomes],
    *,
    entity_kind: str,
    policies: Mapping[str, Policy],
    as_of: dt.date,
    run_id: str,
    on_changes: ChangesHook | None = None,
    now: dt.datetime | None = None,
    library: Mapping[str, Policy] | None = None,
    before: Callable[[Session], None] | None = None,
) -> RunChanges:
    """:func:`record_outcomes` of several entities (each at most once) in **one**
    transaction: one read of their entitlements, one diff, one write and one ``on_changes``
    for all of them, recorded under ``run_id``. A consumer that takes the events that
    arrived while it wrote the previous batch pays a transaction per batch, not per event.

    Entities with an eligible amount on a budgeted or capped policy are drawn and written
    one after the other inside the transaction, so each sees what the batch drew before it
    (two entities of one batch never exceed a budget together); the rest are diffed
    together."""
    ids = [b.entity_id for b in batch]
    if len(set(ids)) != len(ids):
        raise ValueError(f"expected each entity at most once in a batch, got {len(ids)} "
                         f"results of {len(set(ids))} entities")
    periods = {pid: (p.amount.period if p.amount else None) for pid, p in policies.items()}
    reason = revocation_reason(as_of, run_id, by="实时事件")
    now = now or utcnow()
    pairs = scope(periods, as_of)
    kinds = amount_kinds(policies.values())
    budgeted = [b for b in batch if any(_draws(r, policies, caps=True) for r in b.outcomes)]
    drawing = {b.entity_id for b in budgeted}
    plain = [b for b in batch if b.entity_id not in drawing]
    parts: list[RunChanges] = []
    with transaction(db) as session:
        if before is not None:  # written with the changes (the profile updates behind them)
            before(session)
        for one in budgeted:
            rows = draw_budgets(session, [dict(r) for r in one.outcomes],
                                entity_kind=entity_kind, entity_id=one.entity_id,
                                policies=policies, periods=periods, as_of=as_of)
            rows = draw_caps(session, rows, entity_kind=entity_kind, entity_id=one.entity_id,
                             policies=policies, library=library or policies, as_of=as_of)
            parts.append(_write(session, [one], {one.entity_id: rows}, pairs=pairs,
                                entity_kind=entity_kind, as_of=as_of, reason=reason,
                                run_id=run_id, now=now, on_changes=on_changes, kinds=kinds))
        if plain:
            parts.append(_write(session, plain,
                                {b.entity_id: [dict(r) for r in b.outcomes] for b in plain},
                                pairs=pairs, entity_kind=entity_kind, as_of=as_of,
                                reason=reason, run_id=run_id, now=now,
                                on_changes=on_changes, kinds=kinds))
    if len(parts) == 1:
        return parts[0]
    return RunChanges(new=pl.concat([c.new for c in parts], how="vertical_relaxed"),
                      updated=pl.concat([c.updated for c in parts], how="vertical_relaxed"),
                      revoked=pl.concat([c.revoked for c in parts], how="vertical_relaxed"),
                      held=sum(c.held for c in parts))


def _draws(row: Mapping[str, Any], policies: Mapping[str, Policy], *,
           caps: bool = False) -> bool:
    """An eligible known amount of a budgeted policy (``caps``: or of a capped one)."""
    policy = policies[row["policy_id"]]
    return (row["outcome"] == "eligible" and row["amount_fen"] is not None
            and (policy.budget is not None or (caps and policy.cap is not None)))


def _write(session: Session, group: Sequence[EntityOutcomes],
           rows: Mapping[str, list[dict[str, Any]]], *, pairs: list[tuple[str, str]],
           entity_kind: str, as_of: dt.date, reason: str, run_id: str, now: dt.datetime,
           on_changes: ChangesHook | None, kinds: Mapping[str, str]) -> RunChanges:
    # an event batch is a few dozen entities: diffed over plain rows (no polars collects)
    current = entities_current(session, entity_kind=entity_kind,
                               entity_ids=[b.entity_id for b in group], pairs=pairs)
    changes = diff_rows([r for b in group for r in rows[b.entity_id]], current, as_of=as_of,
                        reason=reason, kinds=kinds, held={b.entity_id for b in group if b.held})
    if changes.total:
        entitlement_bulk.write_changes(session, changes, entity_kind=entity_kind,
                                       run_id=run_id, now=now)
        if on_changes is not None:
            on_changes(session, changes, run_id)
    return changes


def draw_budgets(session: Session, rows: list[dict[str, Any]], *, entity_kind: str,
                 entity_id: str, policies: Mapping[str, Policy],
                 periods: Mapping[str, str | None], as_of: dt.date) -> list[dict[str, Any]]:
    """The entity's rows with each eligible amount of a budgeted policy checked against what
    is left of the budget in the store (locked until the caller's transaction ends)."""
    budgeted = [r for r in rows if _draws(r, policies)]
    if not budgeted:
        return rows
    keys = {r["policy_id"]: benefit_period(periods[r["policy_id"]], as_of) for r in budgeted}
    lock_budgets(session, entity_kind, keys.items())
    for row in budgeted:
        budget = policies[row["policy_id"]].budget
        assert budget is not None
        used, waiting = drawn(session, entity_kind=entity_kind, policy_id=row["policy_id"],
                              benefit_period=keys[row["policy_id"]], except_entity=entity_id)
        if waiting or used + row["amount_fen"] > yuan_to_fen(budget.total):
            row["outcome"] = "over_budget"
    return rows


def draw_caps(session: Session, rows: list[dict[str, Any]], *, entity_kind: str,
              entity_id: str, policies: Mapping[str, Policy], library: Mapping[str, Policy],
              as_of: dt.date) -> list[dict[str, Any]]:
    """The entity's rows with its cap groups applied as the batch applies them
    (:func:`matcher.allocation.apply_caps`), counting in the store, under the groups' locks
    until the caller's transaction ends: the award ledger's earlier awards of the entity, and
    what the group's policies this call does not decide draw in their current period
    (``undecided`` of :func:`matcher.award_import.load_ledger`)."""
    groups = {policies[r["policy_id"]].cap.group for r in rows  # type: ignore[union-attr]
              if r["outcome"] == "eligible" and r["amount_fen"] is not None
              and policies[r["policy_id"]].cap is not None}
    if not groups:
        return rows
    lock_caps(session, entity_kind, groups)
    members = {pid: p for pid, p in {**library, **policies}.items()
               if p.entity == entity_kind and p.cap is not None and p.cap.group in groups}
    ledger = load_ledger(session, entity_kind=entity_kind, library=members.values(),
                         as_of=as_of, entity_id=entity_id,
                         undecided=[p for pid, p in members.items() if pid not in policies])
    frame = pl.DataFrame(rows, schema=OUTCOME_SCHEMA)
    return apply_caps(frame, members, as_of=as_of, ledger=ledger).to_dicts()
