"""The event engine: one changed entity at a time, decided by durable_rules.

durable_rules keeps no profile: an event's entity is evaluated by asserting its fact into
one scratch session, reading the rules that fired and retracting it at once; the profiles
stay in the loaded snapshot frame (plus the entities changed since), so memory grows with
the population only by the snapshot's own columns. durable_rules keeps only what a pattern
still waits for: the open multi-event patterns of trigger policies
(:mod:`matcher.events.triggers`).

What runs in durable_rules (Rete): every truth decision - each comparison, set and region
test, ``is empty``, list-type rule, and the Kleene AND / OR / NOT of every policy's
eligibility, of every leaf condition, of every case ``when`` and tier threshold of an amount
(:mod:`matcher.events.compiler`). What runs in Python: deriving tags with
:func:`profiles.derive.derive` (the batch's own code), building the fact (type coercion,
arithmetic terms and text prefixes, :mod:`matcher.events.facts`), computing the amount
*value* of the branch durable_rules chose, the interval columns of aggregates over related
entities and the award-ledger lookups (the batch's own joins, over the evaluated entity's
members and awards only; a person's update also updates the member rows it is on and
decides again the owners reading them, :meth:`EventEngine.take_redecided`), listing unknown
fields, and exclusivity groups
(:func:`matcher.allocation.apply_exclusivity`, the batch's own code). Budgets are a
population allocation: the event engine gives eligible amounts, and the delivery path
(:mod:`matcher.events.delivery`) draws them from the budget in the store, shared with the
nightly batch.

>>> import datetime as dt
>>> from rules.loader import bundled_library
>>> lib = bundled_library()
>>> with EventEngine(lib, entity="person", as_of=dt.date(2025, 10, 1)) as engine:
...     _ = engine.upsert("p1", {"birth_date": dt.date(1930, 1, 1), "hukou_district": "110105",
...                              "alive": True})
...     got = {o["policy_id"]: (o["outcome"], o["amount_fen"]) for o in engine.outcomes_of("p1")}
>>> got["bj-elderly-allowance"]
('eligible', 50000)
>>> got["iit-infant-care-deduction"]  # children_under_3 is not known
('undetermined', None)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, KeysView, Mapping, Sequence
from typing import Any

import numpy as np
import polars as pl

from matcher.allocation import apply_exclusivity
from matcher.evaluate import SMALL_ENGINE, make_plan, policies_in_effect
from matcher.events.compiler import (
    PART_MARK,
    CompiledRuleset,
    amount_selectors,
    compile_ruleset,
    group_key,
    selector_question,
)
from matcher.events.errors import EngineFailure
from matcher.events.facts import build_fact
from matcher.events.ruleset import DurableRuleset
from matcher.events.triggers import TriggerMatcher
from matcher.events.values import value_of
from matcher.outcomes import OUTCOME_SCHEMA
from profiles.catalog import HELD_FIELDS, OWNER_COLUMN, load_catalog, split_year_column
from profiles.derive import derive
from profiles.ingest import DTYPES
from profiles.relations import RelatedFrame
from rules.compile_related import attach_related
from rules.declared import for_policies
from rules.ledger import AwardLedger, join_ledger
from rules.model import Policy
from rules.sets import NamedSets
from store.money import yuan_to_fen

Truth = bool | None
OutcomeRow = dict[str, Any]


#: entities of the snapshot evaluated at a time by :meth:`EventEngine.outcomes`
_OUTCOMES_CHUNK = 10_000


def _policies_and_sets(policies: Any, sets: NamedSets | None
                       ) -> tuple[list[Policy], NamedSets]:
    if hasattr(policies, "policies") and hasattr(policies, "sets"):  # a Library
        return list(policies.policies.values()), sets or policies.sets
    if sets is None:
        from rules.loader import bundled_library

        sets = bundled_library().sets
    return list(policies), sets


class _MemberIndex:
    """One relation's members sorted by owner, collected once: an event's entity finds its
    members by binary search (no scan of the relation per event).

    A relation whose members are entities of the engine's own kind (a person's household
    and spouse) follows their updates: ``patch`` records a member's new values (an overlay
    read by :meth:`of`, the frame itself stays as loaded) and returns the owners whose
    aggregates read that member, so the engine decides them again."""

    #: above this many owners at once, one filter beats a search per owner
    SEARCH_LIMIT = 64

    def __init__(self, frame: RelatedFrame, *, key: str, fields: Collection[str]) -> None:
        self.members = frame.members.with_columns(pl.col(OWNER_COLUMN).cast(pl.String)).sort(
            OWNER_COLUMN).collect()
        self.keys = self.members.get_column(OWNER_COLUMN)
        self.owners = None if frame.owners is None else (
            frame.owners.select(pl.col(OWNER_COLUMN).cast(pl.String)).collect()
            .get_column(OWNER_COLUMN).sort())
        #: the member's key when members are the engine's own entities, else None
        self.member_key = key if key in self.members.columns else None
        #: the member columns that are the member's own profile fields
        self.member_fields = tuple(c for c in self.members.columns
                                   if c in fields and c != OWNER_COLUMN)
        self._positions = [self.members.columns.index(c) for c in self.member_fields]
        self.overlay: dict[str, dict[str, Any]] = {}
        self._by_member: tuple[np.ndarray, pl.Series] | None = None

    def _member_rows(self, member: str) -> np.ndarray:
        """Positions (in :attr:`members`) of the rows of ``member``."""
        if self._by_member is None:
            assert self.member_key is not None
            column = self.members.get_column(self.member_key).cast(pl.String)
            order = column.arg_sort().to_numpy()
            self._by_member = order, column.gather(order)
        order, keys = self._by_member
        probe = pl.Series([member], dtype=pl.String)
        lo = int(keys.search_sorted(probe, side="left")[0])
        hi = int(keys.search_sorted(probe, side="right")[0])
        return order[lo:hi]

    def patch(self, member: str, row: Mapping[str, Any]) -> set[str]:
        """Take ``member``'s new profile values; the owners whose members now read
        differently (none when no member column changed)."""
        if self.member_key is None:
            return set()
        rows = self._member_rows(member)
        new = {c: row.get(c) for c in self.member_fields}
        new[self.member_key] = member
        old = self.overlay.get(member)
        if old is None and len(rows):
            values = self.members.row(int(rows[0]))
            old = {c: values[i] for c, i in zip(self.member_fields, self._positions,
                                                strict=True)}
        if old is not None and all(old.get(c) == new[c] for c in self.member_fields):
            return set()
        self.overlay[member] = new
        return set(self.keys.gather(rows).to_list())

    def of(self, ids: pl.Series) -> RelatedFrame:
        """The members (and the owners on record) of these owners only, with the members'
        updates applied."""
        if len(ids) > self.SEARCH_LIMIT:
            members = self.members.filter(pl.col(OWNER_COLUMN).is_in(ids.implode()))
        else:
            lo = self.keys.search_sorted(ids, side="left")
            hi = self.keys.search_sorted(ids, side="right")
            parts = [self.members.slice(a, b - a) for a, b in zip(lo, hi, strict=True)
                     if b > a]
            members = pl.concat(parts) if parts else self.members.clear()
        if self.overlay and members.height:
            members = self._updated(members)
        if self.owners is None:
            return RelatedFrame(members=members.lazy())
        at = self.owners.search_sorted(ids, side="left")
        listed = [i for i, p in zip(ids, at, strict=True)
                  if p < len(self.owners) and self.owners[p] == i]
        owners = pl.DataFrame({OWNER_COLUMN: pl.Series(listed, dtype=pl.String)})
        return RelatedFrame(members=members.lazy(), owners=owners.lazy())

    def _updated(self, members: pl.DataFrame) -> pl.DataFrame:
        """``members`` with the rows of updated members carrying their new values."""
        assert self.member_key is not None
        keys = members.get_column(self.member_key).cast(pl.String).to_list()
        hit = pl.Series([k in self.overlay for k in keys], dtype=pl.Boolean)
        if not hit.any():
            return members
        rows = members.filter(hit).to_dicts()
        for r in rows:
            r.update(self.overlay[str(r[self.member_key])])
        patched = pl.DataFrame(rows, schema=members.schema, orient="row")
        return pl.concat([members.filter(~hit), patched])


class EventEngine:
    """Policies of one entity kind compiled to one durable_rules ruleset, with the current
    profile and outcomes of every entity it has seen.

    ``policies`` is a Library or an iterable of policies; ``eligible()`` references resolve
    among them. ``related`` (relation name -> members, :class:`profiles.relations.Relations`
    ``.frames``) and ``ledger`` (the award history) are what aggregates and ``received()``
    read, as in the nightly run: an evaluated entity's interval and ledger columns are
    computed by the batch's own joins over its members and awards only. Use as a context
    manager (or call :meth:`close`) to free the ruleset."""

    def __init__(self, policies: Iterable[Policy] | Any, *, entity: str, as_of: dt.date,
                 sets: NamedSets | None = None,
                 related: Mapping[str, RelatedFrame] | None = None,
                 ledger: AwardLedger | None = None) -> None:
        every, self.sets = _policies_and_sets(policies, sets)
        self.entity = entity
        self.as_of = as_of
        # the policies' declared conditions are catalog fields too (rules.declared)
        self.catalog = for_policies(load_catalog().entity(entity), every)
        self.key = self.catalog.key
        library = {p.id: p for p in every}
        #: every policy given, by id (cap groups span policies left to the batch)
        self.library = library
        chosen = policies_in_effect(every, entity=entity, as_of=as_of)
        triggered = [p for p in every if p.entity == entity and p.in_effect(as_of)
                     and p.trigger is not None]
        # the batch's plan of the same policies: the names of the aggregates' interval
        # columns and the ledger lookups, joined per evaluated entity by the batch's code
        self.plan = make_plan(every, entity=entity, as_of=as_of, sets=self.sets,
                              ledger=ledger)
        fields = frozenset(f.name for f in self.catalog.fields)
        self._members = {name: _MemberIndex(frame, key=self.key, fields=fields)
                         for name, frame in (related or {}).items()
                         if any(c.relation == name for c in self.plan.related.values())}
        #: owners decided again because a member of theirs changed, until taken
        self._redecided: dict[str, list[OutcomeRow]] = {}
        self._joins = bool(self.plan.related or self.plan.ledger_refs)
        self._same_joined: dict[str, Any] | None = None
        self.compiled: CompiledRuleset = compile_ruleset(
            [*chosen, *triggered], catalog=self.catalog, sets=self.sets, as_of=as_of,
            library={p.id: p for p in every}, related=self.plan.related)
        self.ruleset = DurableRuleset(self.compiled.rules(), name=f"mianshen_{entity}")
        # per policy, each amount selector and its question (a walk of the amount's AST
        # per policy per event otherwise)
        self._selectors = {pid: tuple((s, selector_question(pid, i))
                                      for i, s in enumerate(amount_selectors(p)))
                           for pid, p in self.compiled.policies.items()}
        # the catalog order of the names an unknown-field list may hold
        self._reported = {name: i for i, name in enumerate(self.catalog.reported_names)}
        self._scratch = f"{entity}-eval"  # the one session a fact lives in while evaluated
        self.triggers = TriggerMatcher(triggered) if triggered else None
        self.occurrences: dict[str, dict[str, int]] = {}
        self._rows: dict[str, Mapping[str, Any]] = {}
        self._extras: dict[str, dict[str, Any]] = {}
        self.declared = frozenset(f.name for f in self.catalog.fields if f.kind == "declared")
        self.base_fields = tuple(f for f in self.catalog.fields if f.kind == "base")
        self._derived_inputs = frozenset(i for f in self.catalog.fields if f.kind == "derived"
                                         for i in f.inputs)
        # profiles: the loaded snapshot frame (row index by key) and the entities changed
        # since it was loaded; derived rows and outcomes only of entities evaluated
        self._frame: pl.DataFrame | None = None
        self._current_schema: pl.Schema | None = None
        self._index: dict[str, int] = {}
        self._passed: list[str] = []
        self.profiles: dict[str, dict[str, Any]] = {}
        self._outcomes: dict[str, list[OutcomeRow]] = {}
        # entity -> the fields the snapshot holds it on (a quarantined row, HELD_FIELDS)
        self._held_fields: dict[str, list[str]] = {}

    # ---- life cycle -------------------------------------------------------------------

    def close(self) -> None:
        self.ruleset.close()
        if self.triggers is not None:
            self.triggers.close()

    def __enter__(self) -> EventEngine:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # ---- profiles ---------------------------------------------------------------------

    def derive_rows(self, rows: Sequence[Mapping[str, Any]],
                    passed: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Derived tags as of the engine's date, by the batch's own :func:`derive`.
        ``passed``: derived columns the rows carry (as a snapshot may, for tags inferred by a
        model); :func:`derive` keeps those it does not compute, as in the batch."""
        return self._derived_frame(rows, passed).to_dicts()

    def _derived_frame(self, rows: Sequence[Mapping[str, Any]],
                       passed: Sequence[str] = ()) -> pl.DataFrame:
        names = [f.name for f in self.base_fields] + list(passed)
        schema = {n: DTYPES[self.catalog.field(n).type] for n in names}
        frame = pl.DataFrame([{n: r.get(n) for n in schema} for r in rows], schema=schema,
                             orient="row")
        return derive(frame, entity=self.entity, as_of=self.as_of).collect(engine=SMALL_ENGINE)

    def current(self, entity_ids: Sequence[str]) -> tuple[pl.DataFrame, dict[str, Any]]:
        """These entities' profiles as the engine holds them now (the snapshot's rows with
        the updates applied, tags derived; an id it has no profile of is left out) and what
        else they were decided with: ``related``, the members of their relations as they
        are now, and ``ledger``, the award history the engine holds. What the messages of
        their changes are explained, pre-filled and addressed with."""
        known = [e for e in entity_ids if self.profile(e) is not None]
        # an entity just decided: the row it was decided on (its derived tags included);
        # any other: derived now
        if self._current_schema is None:
            self._current_schema = self._derived_frame([], self._passed).schema
        schema = self._current_schema
        decided = [e for e in known if e in self._rows]
        fresh = [e for e in known if e not in self._rows]
        frame = pl.DataFrame([{n: self._rows[e].get(n) for n in schema} for e in decided],
                             schema=schema, orient="row")
        if fresh:  # a passed-through tag an entity no longer has (an input changed): null
            frame = pl.concat([frame, self._derived_frame(
                [{**(self.profile(e) or {}), **self._extras.get(e, {})} for e in fresh],
                self._passed).select(list(schema))])
        ids = pl.Series(known, dtype=pl.String)
        return frame, {"related": {name: index.of(ids) for name, index in self._members.items()},
                       "ledger": self.plan.ledger}

    def load(self, frame: pl.DataFrame) -> None:
        """Take a base profile frame (validated, not yet derived) as the snapshot. Nothing is
        evaluated yet: an entity is evaluated when an event touches it, or when its
        outcomes are asked for. Derived tags that :func:`derive` does not compute (tags
        inferred by a model, e.g. from 经营范围) are kept from the frame when it has them,
        until one of their inputs changes (then UNKNOWN: the model does not run here)."""
        passed = [f.name for f in self.catalog.fields
                  if f.kind == "derived" and f.name in frame.columns]
        # year columns of yearly fields (rules.years) travel like passed-through tags: no
        # derived input changes them
        passed += [c for c in frame.columns if split_year_column(c) and c in self.catalog]
        names = [f.name for f in self.base_fields if f.name in frame.columns] + passed
        part = frame.select(names)
        start = 0 if self._frame is None else self._frame.height
        if self._frame is not None:
            if self._passed != passed or self._frame.columns != part.columns:
                raise ValueError(f"expected frames with the columns {self._frame.columns}, "
                                 f"got {part.columns}")
            part = pl.concat([self._frame, part])
        self._frame, self._passed = part, passed
        self._current_schema = None  # the derived rows' columns (EventEngine.current)
        keys = frame[self.key].cast(pl.String).to_list()
        for entity_id in keys:
            self._held_fields.pop(entity_id, None)
        if HELD_FIELDS in frame.columns:
            is_held = frame[HELD_FIELDS].list.len().fill_null(0) > 0
            held = frame.filter(is_held)
            self._held_fields.update(zip(held[self.key].cast(pl.String).to_list(),
                                         held[HELD_FIELDS].to_list(), strict=True))
        for i, entity_id in enumerate(keys, start=start):
            self._index[entity_id] = i
            self.profiles.pop(entity_id, None)
            self._rows.pop(entity_id, None)
            self._outcomes.pop(entity_id, None)
            self._extras.pop(entity_id, None)

    @property
    def held(self) -> KeysView[str]:
        """Entities the snapshot holds on a data defect (a quarantined row): their benefits
        are held, as in the nightly run (:func:`matcher.run_diff.compute_changes`), and the
        list-type fields they are held on are UNKNOWN while empty, not "not on the list"."""
        return self._held_fields.keys()

    @property
    def entities(self) -> int:
        """How many entities the engine holds a profile of."""
        return len(self._index) + sum(1 for e in self.profiles if e not in self._index)

    def profile(self, entity_id: str) -> dict[str, Any] | None:
        """The entity's current base profile (None if never seen)."""
        if entity_id in self.profiles:
            return self.profiles[entity_id]
        i = self._index.get(entity_id)
        if i is None or self._frame is None:
            return None
        row = self._frame.row(i, named=True)
        out = {f.name: row.get(f.name) for f in self.base_fields}
        if self._passed:
            self._extras[entity_id] = {n: row[n] for n in self._passed}
        return out

    def _evaluate_loaded(self, entity_ids: Sequence[str],
                         joined: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Evaluate loaded entities not evaluated yet, deriving their tags in one frame
        (``joined``: their join columns, when the caller has them)."""
        todo = [e for e in entity_ids if e not in self._outcomes]
        if not todo:
            return
        profiles = []
        for entity_id in todo:
            profile = self.profile(entity_id)
            assert profile is not None
            profiles.append({**profile, **self._extras.get(entity_id, {})})
        if joined is None:
            joined = self._joined(todo)
        for entity_id, derived in zip(todo, self.derive_rows(profiles, self._passed),
                                      strict=True):
            self._evaluate(entity_id, derived, joined.get(entity_id))

    def upsert(self, entity_id: str, values: Mapping[str, Any]) -> list[OutcomeRow]:
        """Apply a partial update (typed base values) to one entity, re-evaluate it, and
        return its new outcomes. An id never seen starts a profile with only these values."""
        profile = self.profiles.get(entity_id)
        if profile is None:
            profile = self.profile(entity_id) or {f.name: None for f in self.base_fields}
            self.profiles[entity_id] = profile
        profile.update(values)
        profile[self.key] = entity_id
        previous = self._rows.get(entity_id)
        if previous is not None and not (set(values) & self._derived_inputs):
            # No input of a derived tag changed: the derived tags stay as derived.
            derived: Mapping[str, Any] = {**previous, **values}
        else:
            extras = self._extras.get(entity_id, {})
            for name in list(extras):
                if set(values) & set(self.catalog.field(name).inputs):
                    extras.pop(name)
            (derived,) = self.derive_rows([{**profile, **extras}], list(extras))
        owners = self._patch_members({entity_id: derived}) - {entity_id}
        joined = self._joined([entity_id, *sorted(owners)]) if owners else {}
        out = self._evaluate(entity_id, derived, joined.get(entity_id))
        self._redecide(owners, joined)
        return out

    def upsert_many(self, updates: Sequence[tuple[str, Mapping[str, Any]]]
                    ) -> list[list[OutcomeRow]]:
        """:meth:`upsert` of several entities at once (each entity at most once): the tags
        of those whose derived inputs changed are derived in one frame. The outcomes of
        each update, in order."""
        ids = [e for e, _ in updates]
        if len(set(ids)) != len(ids):
            raise ValueError(f"expected each entity at most once, got {len(ids)} updates of "
                             f"{len(set(ids))} entities")
        rederive: list[str] = []
        for entity_id, values in updates:
            profile = self.profiles.get(entity_id)
            if profile is None:
                profile = self.profile(entity_id) or {f.name: None for f in self.base_fields}
                self.profiles[entity_id] = profile
            profile.update(values)
            profile[self.key] = entity_id
            if entity_id not in self._rows or set(values) & self._derived_inputs:
                extras = self._extras.get(entity_id, {})
                for name in list(extras):
                    if set(values) & set(self.catalog.field(name).inputs):
                        extras.pop(name)
                rederive.append(entity_id)
        derived: dict[str, Mapping[str, Any]] = {}
        # one frame per set of passed-through tags (each entity keeps only its own)
        by_passed: dict[tuple[str, ...], list[str]] = {}
        for entity_id in rederive:
            by_passed.setdefault(tuple(self._extras.get(entity_id, {})), []).append(entity_id)
        for passed, group in by_passed.items():
            rows = [{**self.profiles[e], **self._extras.get(e, {})} for e in group]
            derived.update(zip(group, self.derive_rows(rows, list(passed)), strict=True))
        new = {entity_id: derived.get(entity_id) or {**self._rows[entity_id], **values}
               for entity_id, values in updates}
        owners = self._patch_members(new) - set(ids)
        joined = self._joined([*ids, *sorted(owners)])
        out = [self._evaluate(entity_id, new[entity_id], joined.get(entity_id))
               for entity_id in ids]
        self._redecide(owners, joined)
        return out

    def _patch_members(self, rows: Mapping[str, Mapping[str, Any]]) -> set[str]:
        """Give the relations whose members are this engine's entities these entities' new
        rows; the owners whose aggregates now read different members."""
        owners: set[str] = set()
        for index in self._members.values():
            if index.member_key is not None:
                for entity_id, row in rows.items():
                    owners |= index.patch(entity_id, row)
        return owners

    def _redecide(self, owners: Iterable[str],
                  joined: Mapping[str, Mapping[str, Any]]) -> None:
        """Decide again the owners of changed members (their own rows as they were, their
        members as they are now; ``joined``: their join columns), kept for
        :meth:`take_redecided`. An owner with no profile (absent from the snapshot, never
        updated) is not decided, as in the batch."""
        chosen = sorted(o for o in owners
                        if o in self._rows or o in self._index or o in self.profiles)
        fresh = [o for o in chosen if o not in self._rows]  # never decided: derived here
        for owner in fresh:
            self._outcomes.pop(owner, None)
        self._evaluate_loaded(fresh, joined)
        for owner in chosen:
            self._redecided[owner] = (list(self._outcomes[owner]) if owner in fresh else
                                      self._evaluate(owner, self._rows[owner],
                                                     joined.get(owner)))

    @property
    def redecides(self) -> bool:
        """Whether an update can decide others again: a relation's members are this
        engine's own entities (a person's household, spouse)."""
        return any(index.member_key is not None for index in self._members.values())

    def take_redecided(self) -> dict[str, list[OutcomeRow]]:
        """The outcomes of the entities decided again since the last call because a member
        of a relation they aggregate over changed (a person's household or spouse), by
        entity: they are to be written like the updated entity's own."""
        taken, self._redecided = self._redecided, {}
        return taken

    def record_event(self, entity_id: str, event: str, on: dt.date,
                     attributes: Mapping[str, Any] | None = None) -> list[OutcomeRow]:
        """A life event for an entity (e.g. ``graduate_hired``): trigger patterns it
        completes count as occurrences of their policies; the entity's outcomes after it."""
        if self.triggers is None:
            return self.outcomes_of(entity_id)
        found = self.triggers.post(entity_id, event, on, attributes or {})
        if not found:
            return self.outcomes_of(entity_id)
        counts = self.occurrences.setdefault(entity_id, {})
        for _, pid in found:
            counts[pid] = counts.get(pid, 0) + 1
        if entity_id not in self._rows:
            return self.upsert(entity_id, {})
        return self._evaluate(entity_id, self._rows[entity_id])

    def forget(self, entity_id: str) -> None:
        """Drop the cached derived row and outcomes of an entity (its profile stays)."""
        self._rows.pop(entity_id, None)
        self._outcomes.pop(entity_id, None)

    def evaluate_derived(self, entity_id: str, row: Mapping[str, Any]) -> list[OutcomeRow]:
        """Evaluate an already-derived row (as the batch sees it) for ``entity_id``."""
        return self._evaluate(entity_id, row)

    # ---- evaluation -------------------------------------------------------------------

    def _joined(self, entity_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Per entity, the interval columns of the aggregates and the ledger lookups, by
        the batch's joins (:func:`rules.ledger.join_ledger`,
        :func:`rules.compile_related.attach_related`) over these entities' members and
        awards only."""
        if not self._joins or not entity_ids:
            return {}
        if not self._members and self.plan.ledger is None:
            # no member frames and no ledger: every entity joins the same values (each
            # aggregate UNKNOWN, each lookup on an empty ledger), joined once
            if self._same_joined is None:
                self._same_joined = self._join(["\x00"])["\x00"]
            return dict.fromkeys(entity_ids, self._same_joined)
        return self._join(entity_ids)

    def _join(self, entity_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        ids = pl.Series(list(entity_ids), dtype=pl.String)
        lf = pl.DataFrame({self.key: ids}).lazy()
        if self.plan.ledger_refs:
            lf = join_ledger(lf, self.plan.ledger or AwardLedger.empty(),
                             self.plan.ledger_refs, key=self.key, as_of=self.as_of)
        related = {name: index.of(ids) for name, index in self._members.items()}
        lf = attach_related(lf, key=self.key, columns=self.plan.related, related=related)
        return {str(r.pop(self.key)): r
                for r in lf.collect(engine=SMALL_ENGINE).iter_rows(named=True)}

    def _evaluate(self, entity_id: str, row: Mapping[str, Any],
                  joined: Mapping[str, Any] | None = None) -> list[OutcomeRow]:
        if self._joins:
            row = {**row, **(joined if joined is not None
                             else self._joined([entity_id]).get(entity_id, {}))}
        held = self._held_fields.get(entity_id)
        if held:
            row = {**row, HELD_FIELDS: held}
        compiled = self.compiled
        fact = build_fact(row, compiled.plan, sid=self._scratch, declared=self.declared,
                          as_of=self.as_of, groups=compiled.main_groups)
        # asserted, the fired rules read, retracted at once: durable_rules keeps no profile
        answers = self._answers(self.ruleset.fired_names(fact))
        # the leaf questions only of the policies left UNKNOWN (their unknown-field lists)
        unknown = {g for pid in compiled.policies if f"elig|{pid}" not in answers
                   for g in compiled.leaf_groups.get(pid, ())}
        if unknown:
            for g in compiled.main_groups:
                del fact[group_key(g)]
            fact.update({group_key(g): 1 for g in unknown})
            answers.update(self._answers(self.ruleset.fired_names(fact)))
        self._rows[entity_id] = row
        rows = self._outcome_rows(entity_id, row, answers)
        self._outcomes[entity_id] = rows
        return rows

    @staticmethod
    def _answers(fired: Iterable[str]) -> dict[str, bool]:
        out: dict[str, bool] = {}
        for name in fired:
            if name == "seen":
                continue
            qid, _, suffix = name.rpartition("|")
            value = suffix.partition(PART_MARK)[0] == "T"
            if out.get(qid, value) != value:
                raise EngineFailure(f"both TRUE and FALSE rules of {qid} fired")
            out[qid] = value
        return out

    def _outcome_rows(self, entity_id: str, row: Mapping[str, Any],
                      answers: Mapping[str, bool]) -> list[OutcomeRow]:
        rows: list[OutcomeRow] = []
        for pid, policy in self.compiled.policies.items():
            truth = answers.get(f"elig|{pid}")
            times = 1
            if policy.trigger is not None:
                times = self.occurrences.get(entity_id, {}).get(pid, 0)
            if truth is False or times == 0:
                continue
            amount = self._amount(policy, row, answers)
            rows.append({
                "entity_id": entity_id,
                "policy_id": pid,
                "policy_version": policy.version,
                "outcome": "eligible" if truth else "undetermined",
                "amount_fen": None if amount is None else yuan_to_fen(amount * times),
                "amount_period": policy.amount.period if policy.amount else None,
                "delivery": policy.delivery,
                "unknown_fields": [] if truth else self._unknown_fields(pid, row, answers),
            })
        return self._exclusivity(rows)

    def _exclusivity(self, rows: list[OutcomeRow]) -> list[OutcomeRow]:
        groups = [self.compiled.policies[r["policy_id"]].exclusivity for r in rows
                  if r["outcome"] == "eligible"]
        named = [g.group for g in groups if g is not None]
        if len(named) == len(set(named)):
            return rows  # no group has two eligible policies: nothing to decide
        frame = pl.DataFrame(rows, schema=OUTCOME_SCHEMA)
        return apply_exclusivity(frame, self.compiled.policies, amount="amount_fen").to_dicts()

    def _amount(self, policy: Policy, row: Mapping[str, Any],
                answers: Mapping[str, bool]) -> float | None:
        """The value of the amount's core expression, its selectors (a tier row's threshold,
        a case's ``when``) answered by durable_rules."""
        if policy.amount is None:
            return None
        selected = {s: answers.get(q) for s, q in self._selectors[policy.id]}
        value = value_of(policy.amount.expr, row, params=policy.parameters,
                         declared=self.declared, as_of=self.as_of,
                         aggregates=self.compiled.plan.aggregates, selected=selected)
        return None if value is None else float(value)

    def _unknown_fields(self, pid: str, row: Mapping[str, Any],
                        answers: Mapping[str, bool]) -> list[str]:
        """As the batch lists them (catalog order): each null field read by an UNKNOWN leaf;
        a null derived field through its null inputs, or as itself when its inputs are all
        known; a declared field always."""
        def null(name: str) -> bool:
            return name in self.declared or row.get(name) is None

        flagged: set[str] = set()
        for cid, fields in self.compiled.leaf_fields[pid]:
            if f"leaf|{pid}|{cid}" in answers:
                continue
            for name in fields:
                if not null(name):
                    continue
                field = self.catalog.field(name)
                if field.kind == "derived" and field.inputs:
                    missing = {i for i in field.inputs if null(i)}
                    flagged |= missing or {name}
                else:
                    flagged.add(field.series or name)  # a year column: its yearly field
        return sorted((name for name in flagged if name in self._reported),
                      key=self._reported.__getitem__)

    # ---- results ----------------------------------------------------------------------

    def outcomes_of(self, entity_id: str) -> list[OutcomeRow]:
        if entity_id not in self._outcomes and entity_id in self._index:
            self._evaluate_loaded([entity_id])
        return list(self._outcomes.get(entity_id, []))

    def outcomes(self) -> pl.DataFrame:
        """Current outcomes of every entity, in the columns and order of ``mianshen match``
        (entities of the snapshot not evaluated yet are evaluated now, ``_OUTCOMES_CHUNK`` at
        a time, and not kept: a city's outcomes are never all held as rows; the engine
        evaluates them again when an event touches them)."""
        parts = [pl.DataFrame([r for rs in self._outcomes.values() for r in rs],
                              schema=OUTCOME_SCHEMA)]
        todo = [e for e in self._index if e not in self._outcomes]
        for start in range(0, len(todo), _OUTCOMES_CHUNK):
            chunk = todo[start:start + _OUTCOMES_CHUNK]
            self._evaluate_loaded(chunk)
            parts.append(pl.DataFrame([r for e in chunk for r in self._outcomes.pop(e)],
                                      schema=OUTCOME_SCHEMA))
            for e in chunk:
                del self._rows[e]
        return pl.concat(parts).sort(["entity_id", "policy_id"])
