"""Batch evaluation: every policy in effect, against every profile, in one polars plan.

The plan computes, for all policies at once, the Kleene truth of the eligibility tree and the
amount (shared subexpressions are computed once by polars' common-subexpression elimination).
The wide result is turned into the lean long output of DESIGN §6 (:mod:`matcher.lean`): one
row per (entity, policy) whose outcome is not ``ineligible``, the entity by reference, policy
and outcome as ``Enum``, its amount in integer fen (``amount_fen``, rounded once by
:func:`store.money.fen_expr`; null = UNKNOWN) and, for undetermined rows, a bit mask of the
fields whose UNKNOWN made them undetermined. Exclusivity groups and budgets are then applied
(:mod:`matcher.allocation`). :func:`match_frame` decodes it for callers that show it.

>>> import datetime as dt
>>> import polars as pl
>>> from rules.loader import bundled_library
>>> from profiles.derive import derive
>>> from profiles.ingest import complete
>>> lib = bundled_library()
>>> people = pl.DataFrame({
...     "id_number": ["110105193001010013"], "birth_date": [dt.date(1930, 1, 1)],
...     "hukou_district": ["110105"], "alive": [True],
... })
>>> frame = derive(complete(people, entity="person"), entity="person",
...                as_of=dt.date(2025, 10, 1)).collect()
>>> two = [lib["bj-elderly-allowance"], lib["iit-infant-care-deduction"]]
>>> out = match_frame(frame, entity="person", policies=two, as_of=dt.date(2025, 10, 1),
...                   sets=lib.sets)
>>> out.select("policy_id", "outcome", "amount_fen").rows()  # children_under_3 is unknown
[('bj-elderly-allowance', 'eligible', 50000), ('iit-infant-care-deduction', 'undetermined', None)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property, reduce
from typing import Final

import numpy as np
import polars as pl
import pyarrow as pa

from matcher.allocation import apply_budgets, apply_caps, apply_exclusivity
from matcher.lean import (
    MASK_BITS,
    OUTCOME_ENUM,
    LeanOutcomes,
    decode,
    enum_from_codes,
    facts_of,
    lean_schema,
    listed_pairs,
    mask_columns,
    mask_words,
)
from matcher.outcomes import empty_outcomes
from profiles.catalog import HELD_FIELDS, EntityCatalog, load_catalog
from profiles.possible import MASK_DTYPE, possible_column
from profiles.relations import RelatedFrame
from rules.ast import LedgerRef
from rules.compile_polars import CompiledPolicy, compile_policies
from rules.compile_related import AggregateColumns, attach_related
from rules.declared import for_policies
from rules.ledger import AwardLedger, join_ledger
from rules.model import Policy
from store.money import fen_expr

_POLARS_DTYPES: dict[str, pl.DataType] = {
    "str": pl.String(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "date": pl.Date(),
    "bool": pl.Boolean(),
}


class MatchError(Exception):
    """Root error of the matcher."""


class MissingColumnsError(MatchError):
    def __init__(self, missing: Sequence[str], *, entity: str) -> None:
        self.missing = tuple(missing)
        self.entity = entity
        super().__init__(
            f"the {entity} profile frame lacks columns {', '.join(self.missing)} that the "
            "policies read; derive tags first (profiles.derive.derive) or add the columns"
        )


@dataclass(frozen=True)
class Plan:
    """The policies of one match, compiled for one entity kind and as-of date."""

    entity: str
    as_of: dt.date
    key: str
    compiled: dict[str, CompiledPolicy]
    catalog: EntityCatalog
    #: the award ledger the plan joins for received() lookups (None: every lookup UNKNOWN)
    ledger: AwardLedger | None = None
    held: bool = False  # the frame may hold entities on a data defect (HELD_FIELDS)

    @property
    def ledger_refs(self) -> frozenset[LedgerRef]:
        out: set[LedgerRef] = set()
        for cp in self.compiled.values():
            out |= cp.ledger
        return frozenset(out)

    @property
    def fields(self) -> frozenset[str]:
        out: set[str] = set()
        for cp in self.compiled.values():
            out |= cp.fields
        return frozenset(out)

    @cached_property
    def mask_fields(self) -> dict[str, tuple[str, ...]]:
        """Per policy, the fields its unknown-field mask can name, in bit order
        (:func:`mask_fields`)."""
        return {pid: mask_fields(cp, self.catalog) for pid, cp in self.compiled.items()}

    @property
    def mask_words(self) -> int:
        """64-bit words per row of the unknown-field mask (:func:`matcher.lean.mask_words`)."""
        return mask_words(self.mask_fields)

    @cached_property
    def explain_selects(self) -> dict[tuple[object, ...], tuple[list[pl.Expr], set[str]]]:
        """What :func:`matcher.explain.explain_many` reads of a row per policy, built with
        this plan: by policy, the frame's columns and what is read
        (:func:`matcher.explain._policy_select`)."""
        return {}

    @property
    def related(self) -> dict[str, AggregateColumns]:
        """Every aggregate over related entities the policies read, by column key."""
        out: dict[str, AggregateColumns] = {}
        for cp in self.compiled.values():
            out.update(cp.related)
        return out


def policies_in_effect(
    policies: Iterable[Policy], *, entity: str, as_of: dt.date
) -> list[Policy]:
    """The policies of ``entity`` in effect on ``as_of``, sorted by id. Event-triggered
    policies (with a ``trigger``) are left to the event engine: a batch cannot see events."""
    chosen = [p for p in policies if p.entity == entity and p.in_effect(as_of)
              and p.trigger is None]
    return sorted(chosen, key=lambda p: p.id)


#: the engine that runs a plan over a few rows (an event's derivation, ledger and members,
#: the explanations of its messages or of a page): polars' in-memory one. The streaming
#: engine that ``auto`` picks costs milliseconds to set up per plan (one row derived:
#: 3.1 ms against 1.2 ms)
SMALL_ENGINE: Final = "in-memory"


def make_plan(
    policies: Iterable[Policy],
    *,
    entity: str,
    as_of: dt.date,
    sets: object | None = None,
    held: bool = False,
    ledger: AwardLedger | None = None,
) -> Plan:
    """Compile the policies of ``entity`` in effect on ``as_of`` (``held``: for frames with
    held entities, see :data:`profiles.catalog.HELD_FIELDS`); ``ledger`` answers the
    award-history lookups (``received()``)."""
    every = list(policies)
    # the policies' declared conditions are fields of the plan's catalog (rules.declared)
    catalog = for_policies(load_catalog().entity(entity), every)
    chosen = policies_in_effect(every, entity=entity, as_of=as_of)
    if sets is None:
        from rules.loader import bundled_library

        sets = bundled_library().sets
    # every policy resolves eligible() references: one out of effect is FALSE, not missing
    compiled = compile_policies(chosen, catalog=catalog, sets=sets, as_of=as_of,  # type: ignore[arg-type]
                                held=held, library=every)
    ordered = {pid: compiled[pid] for pid in sorted(compiled)}
    return Plan(entity=entity, as_of=as_of, key=catalog.key, compiled=ordered, catalog=catalog,
                held=held, ledger=ledger)


def prepare_frame(frame: pl.DataFrame | pl.LazyFrame, plan: Plan, *,
                  related: Mapping[str, RelatedFrame] | None = None) -> pl.LazyFrame:
    """Add columns of nulls for declared fields (never in data: UNKNOWN until declared) and
    refuse a frame that lacks any other column the policies read. Aggregates over related
    entities are joined in from ``related`` (relation name -> members,
    :func:`profiles.relations.related_frames`); a relation not given is UNKNOWN."""
    lf = frame.lazy()
    names = set(lf.collect_schema().names())
    if plan.key not in names:
        raise MissingColumnsError([plan.key], entity=plan.entity)
    additions = []
    missing = []
    for name in sorted(plan.fields - names):
        field = plan.catalog.field(name)
        # declared fields, and years no extract covered (rules.years): UNKNOWN
        if field.kind == "declared" or field.year is not None:
            additions.append(pl.lit(None, dtype=_POLARS_DTYPES[field.type]).alias(name))
        else:
            missing.append(name)
    if missing:
        raise MissingColumnsError(missing, entity=plan.entity)
    for name in sorted(plan.fields):  # a frame built without a tag's possible set: none
        column = possible_column(name)
        if plan.catalog.field(name).possible and column not in names:
            additions.append(pl.lit(None, dtype=MASK_DTYPE).alias(column))
    if plan.held and HELD_FIELDS not in names:
        additions.append(pl.lit(None, dtype=pl.List(pl.String)).alias(HELD_FIELDS))
    lf = lf.with_columns(additions) if additions else lf
    refs = plan.ledger_refs
    if refs:  # the award history, per entity: a group-by and a join in the plan
        lf = join_ledger(lf, plan.ledger or AwardLedger.empty(), refs, key=plan.key,
                         as_of=plan.as_of)
    # a frame prepared before (profile_base, then match_lean on its result) keeps the
    # aggregates it was given: they are not joined again, nor reset to UNKNOWN
    pending = {k: c for k, c in plan.related.items() if c.lo not in names}
    return attach_related(lf, key=plan.key, columns=pending, related=related)


def mask_fields(cp: CompiledPolicy, catalog: EntityCatalog) -> tuple[str, ...]:
    """The fields an undetermined row of ``cp`` may report, in catalog order: each field its
    conditions read and, for a derived one, its inputs. The policy's unknown-field mask has
    one bit per entry, local to the policy (bit ``i`` is word ``i // 64``, bit ``i % 64``):
    a catalog of any size costs one 64-bit word per row as long as no single policy reads
    more than 64 fields, and a word more for each further 64."""
    wanted: set[str] = set()
    for cc in cp.conditions:
        for name in cc.fields:
            field = catalog.field(name)
            wanted.add(field.series or name)  # a year column: its yearly field
            if field.kind == "derived":
                wanted.update(field.inputs)
    return tuple(n for n in catalog.reported_names if n in wanted)


def unknown_mask_exprs(cp: CompiledPolicy, plan: Plan, names: set[str]) -> list[pl.Expr]:
    """For a row, the ``plan.mask_words`` UInt64 words of the mask of the fields whose UNKNOWN
    leaves some condition of ``cp`` UNKNOWN (bits by :attr:`Plan.mask_fields`; decode with
    :func:`matcher.lean.decode_masks`).

    A derived field that is null is reported through its null inputs (what the applicant
    can supply), or as itself when all its inputs are known; a declared field is reported
    whenever its condition is UNKNOWN. Bit masks keep this to integer arithmetic in the
    plan; lists are built once per distinct mask."""
    return _mask_words(cp, plan, names, [cc.truth.is_null() for cc in cp.conditions])


def _mask_words(cp: CompiledPolicy, plan: Plan, names: set[str],
                unknown_of: Sequence[pl.Expr]) -> list[pl.Expr]:
    """The mask words, given whether each condition of ``cp`` is UNKNOWN (``unknown_of``)."""
    bits = {name: i for i, name in enumerate(plan.mask_fields[cp.policy.id])}
    unknown_by_field: dict[str, list[pl.Expr]] = {}
    for cc, cond_unknown in zip(cp.conditions, unknown_of, strict=True):
        for name in sorted(cc.fields):
            unknown_by_field.setdefault(name, []).append(cond_unknown)
    parts: list[list[pl.Expr]] = [[] for _ in range(plan.mask_words)]

    def flag(name: str, when: pl.Expr) -> None:
        word, bit = divmod(bits[plan.catalog.field(name).series or name], MASK_BITS)
        parts[word].append(when.cast(pl.UInt64) * pl.lit(1 << bit, dtype=pl.UInt64))

    for name, unknowns in unknown_by_field.items():
        unknown = reduce(lambda a, b: a | b, unknowns) & pl.col(name).is_null()
        field = plan.catalog.field(name)
        if field.kind == "derived" and field.inputs:
            inputs = [i for i in field.inputs if i in names]
            for inp in inputs:
                flag(inp, unknown & pl.col(inp).is_null())
            known_inputs = [pl.col(i).is_not_null() for i in inputs] or [pl.lit(True)]
            flag(name, unknown & pl.all_horizontal(known_inputs))
        else:
            flag(name, unknown)
    return [reduce(lambda a, b: a | b, word) if word else pl.lit(0, dtype=pl.UInt64)
            for word in parts]


def match_frame(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    entity: str,
    policies: Iterable[Policy],
    as_of: dt.date,
    sets: object | None = None,
    streaming: bool = False,
    related: Mapping[str, RelatedFrame] | None = None,
    ledger: AwardLedger | None = None,
) -> pl.DataFrame:
    """Match every policy of ``entity`` in effect on ``as_of`` against a derived profile frame
    (and the members of its relations in ``related``, see :func:`prepare_frame`).

    Returns the decoded long frame (:data:`matcher.outcomes.OUTCOME_SCHEMA`), ordered by
    policy id, then entity id; ineligible pairs are not listed. A run uses
    :func:`match_lean` instead."""
    held = HELD_FIELDS in frame.collect_schema().names()
    plan = make_plan(policies, entity=entity, as_of=as_of, sets=sets, held=held,
                     ledger=ledger)
    return match_plan(frame, plan, streaming=streaming, related=related)


def match_plan(
    frame: pl.DataFrame | pl.LazyFrame, plan: Plan, *, streaming: bool = False,
    related: Mapping[str, RelatedFrame] | None = None,
) -> pl.DataFrame:
    """The decoded long frame of :func:`match_lean` (strings and lists, for pages and small
    frames; a run keeps the lean frame and decodes only what it writes)."""
    if not plan.compiled:
        return empty_outcomes()
    lean = match_lean(frame, plan, streaming=streaming, related=related)
    return decode(lean)


def profile_base(
    frame: pl.DataFrame | pl.LazyFrame, plan: Plan, *, streaming: bool = False,
    related: Mapping[str, RelatedFrame] | None = None,
) -> pl.DataFrame:
    """The profile frame the plan runs on: declared fields added, sorted by key unless it
    already is (snapshots are). Its columns keep their chunks (a Parquet file's row groups):
    rechunking would copy the frame, and the matcher's row gathers go chunk by chunk
    (:func:`gather_sorted`)."""
    base = prepare_frame(frame, plan, related=related).collect(
        engine="streaming" if streaming else "auto")
    if not base[plan.key].is_sorted():
        base = base.sort(plan.key)
    return base


def match_lean(
    frame: pl.DataFrame | pl.LazyFrame,
    plan: Plan,
    *,
    streaming: bool = False,
    budgets: bool = True,
    related: Mapping[str, RelatedFrame] | None = None,
) -> LeanOutcomes:
    """Match ``plan`` against a derived profile frame; the lean long frame
    (:mod:`matcher.lean`), exclusivity applied, and budgets and cap groups too unless
    ``budgets=False`` (a partitioned run allocates budgets globally, then applies the caps,
    :mod:`matcher.allocation`)."""
    facts = facts_of(plan)
    schema = lean_schema(facts.ids, words=facts.words)
    base = profile_base(frame, plan, streaming=streaming, related=related)
    ids = base[plan.key].cast(pl.String)
    pol, row, kind = listed_pairs(base, plan)
    amount_fen, unknown = pair_values(base, plan, pol, row, kind)
    # numpy arrays become columns without a copy; each dropped as soon as it is made
    columns: dict[str, pl.Series] = {"row": pl.Series("row", row, dtype=pl.UInt32)}
    del row
    columns["policy"] = enum_from_codes(pol, schema["policy"], name="policy")  # type: ignore[arg-type]
    del pol
    kind -= 1  # states 1, 2 are outcomes 0 (eligible), 1 (undetermined)
    columns["outcome"] = enum_from_codes(kind, OUTCOME_ENUM, name="outcome")
    del kind
    columns["amount_fen"] = amount_fen
    del amount_fen
    for w, name in enumerate(mask_columns(facts.words)):
        columns[name] = pl.Series(name, np.ascontiguousarray(unknown[:, w]), dtype=pl.UInt64)
    del unknown
    long = pl.DataFrame(columns)
    del columns
    policies = {pid: cp.policy for pid, cp in plan.compiled.items()}
    long = apply_exclusivity(long, policies, entity="row", policy="policy")
    if budgets:
        long = apply_budgets(long, policies, entity_ids=ids, profiles=base, policy="policy")
        # cap groups come after budgets, per entity (a partitioned run applies them after
        # its global budget decision, matcher.partitioned.decoded_partitions)
        long = apply_caps(long, policies, as_of=plan.as_of, ledger=plan.ledger, entity_ids=ids,
                          entity="row", policy="policy")
    return LeanOutcomes(frame=long, ids=ids, facts=facts)


def pair_values(
    base: pl.DataFrame, plan: Plan, pol: np.ndarray, row: np.ndarray, kind: np.ndarray
) -> tuple[pl.Series, np.ndarray]:
    """The amount in integer fen (``amount_fen``, null = UNKNOWN) and the unknown-field mask
    words (``(pairs, plan.mask_words)``, 0 where eligible) of every listed pair. Pairs come
    ordered by policy, so each policy's listed rows are one slice: the amount is computed
    on those rows only (ineligible rows, most of them, get none); the masks come from the
    rows where each field is null (:func:`pair_masks`)."""
    fen = np.zeros(pol.shape[0], dtype=np.int64)
    known = np.zeros(pol.shape[0], dtype=bool)
    bounds = policy_bounds(pol, len(plan.compiled))
    jobs: list[tuple[list[tuple[int, int]], Query]] = []
    shared: dict[str, list[tuple[list[tuple[int, int]], Query, pl.Expr]]] = {}
    for n, cp in enumerate(plan.compiled.values()):
        lo, hi = int(bounds[n]), int(bounds[n + 1])
        steps = cp.amount_steps
        if lo == hi or steps is None:
            continue
        query = Query(steps.stages, [fen_expr(steps.value).alias("fen")])
        if steps.stages or not query.reads:  # staged columns are named by their policy
            jobs.append(([(lo, hi)], query))
            continue
        alike = shared.setdefault(str(steps.value), [])
        same = next((g for g in alike if g[2].meta.eq(steps.value)), None)
        if same is None:
            alike.append(([(lo, hi)], query, steps.value))
        else:
            same[0].append((lo, hi))
    for group in (g for alike in shared.values() for g in alike):
        slices, query = group[0], group[1]
        if 2 * sum(hi - lo for lo, hi in slices) > base.height:  # one amount, on every row
            jobs.append((slices, query))
        else:
            jobs.extend(([one], query) for one in slices)

    def run(job: tuple[list[tuple[int, int]], Query]) -> None:
        slices, amount = job
        listed = sum(hi - lo for lo, hi in slices)
        # most rows listed (by one policy, or by several with the same amount): the amount
        # on every row once, then each policy's listed rows (one column gathered, not each
        # column it reads)
        whole = amount.on_rows(base, None)["fen"] if 2 * listed > base.height and \
            amount.reads else None
        for lo, hi in slices:
            got = whole.gather(row[lo:hi]) if whole is not None else \
                amount.on_rows(base, row[lo:hi])["fen"]
            known[lo:hi] = got.is_not_null().to_numpy()
            fen[lo:hi] = got.fill_null(0).to_numpy()

    # policies side by side (each writes its own slice; polars releases the GIL): a query
    # over one policy's rows is too small to keep every core busy on its own. The masks come
    # after them, not alongside: alongside, the peak at 1M x 100 rose from ~900 MB to
    # ~1,020 MB for no measurable gain (bench/README.md)
    with ThreadPoolExecutor(max_workers=pl.thread_pool_size()) as pool:
        for _ in pool.map(run, jobs):
            pass
    return fen_series(fen, known), pair_masks(base, plan, bounds, row, kind)


def policy_bounds(pol: np.ndarray, policies: int) -> np.ndarray:
    """Where each policy's pairs start in ``pol`` (sorted), and where the last ends
    (a searchsorted of an int64 range would cast ``pol`` to int64)."""
    bounds = np.zeros(policies + 1, dtype=np.int64)
    np.cumsum(np.bincount(pol, minlength=policies), out=bounds[1:])
    return bounds


def pair_masks(base: pl.DataFrame, plan: Plan, bounds: np.ndarray, row: np.ndarray,
               kind: np.ndarray) -> np.ndarray:
    """The unknown-field mask words of every listed pair (``(pairs, plan.mask_words)``,
    0 unless undetermined), as :func:`unknown_mask_exprs` defines them.

    A field's bit needs the field null, so each field is looked at only on the rows where
    it is null (and some policy is undetermined): every distinct condition that reads it is
    evaluated there once, for every policy that shares it, and each policy then sets its
    bits on its undetermined pairs among those rows. No query runs per policy."""
    out = np.zeros((plan.mask_words, row.shape[0]), dtype=np.uint64)  # word by word
    undetermined = kind == 2
    if not undetermined.any():
        return out.T
    names = set(base.columns)
    catalog = plan.catalog
    # per field: the distinct conditions that read it (by expression), and its inputs
    conditions: dict[str, list[pl.Expr]] = {}
    seen: dict[tuple[str, str], list[int]] = {}  # (field, printed condition) -> positions
    index: dict[int, dict[str, int]] = {}  # id(condition) -> field -> position
    for cp in plan.compiled.values():
        for cc in cp.conditions:
            printed = str(cc.truth)
            for name in cc.fields:
                known = conditions.setdefault(name, [])
                same = seen.setdefault((name, printed), [])
                at = next((k for k in same if known[k].meta.eq(cc.truth)), None)
                if at is None:
                    at = len(known)
                    known.append(cc.truth)
                    same.append(at)
                index.setdefault(id(cc), {})[name] = at
    # per policy: its undetermined pairs and their rows (ascending), and what each field
    # it reads needs: the positions of the conditions that read it
    opened: list[tuple[np.ndarray, np.ndarray]] = []
    readers: dict[str, list[tuple[int, list[int]]]] = {}
    any_open = np.zeros(base.height, dtype=bool)
    for n, cp in enumerate(plan.compiled.values()):
        lo, hi = int(bounds[n]), int(bounds[n + 1])
        pairs = np.flatnonzero(undetermined[lo:hi]) + lo
        opened.append((pairs, row[pairs]))
        if pairs.shape[0] == 0:
            continue
        any_open[row[pairs]] = True
        by_field: dict[str, list[int]] = {}
        for cc in cp.conditions:
            for name, k in index.get(id(cc), {}).items():
                by_field.setdefault(name, []).append(k)
        for name, ks in by_field.items():
            readers.setdefault(name, []).append((n, ks))
    ids = list(plan.compiled)
    fields = sorted(readers)
    position = np.full(base.height, -1, dtype=np.int64)  # profile row -> its null row
    for group in range(0, len(fields), MASK_BITS):  # which of 64 fields each row lacks
        chosen = fields[group:group + MASK_BITS]
        lacking = base.select(pl.sum_horizontal(  # a choice of constants: half the kernels
            pl.when(pl.col(f).is_null()).then(pl.lit(1 << b, dtype=pl.UInt64))
            .otherwise(pl.lit(0, dtype=pl.UInt64)) for b, f in enumerate(chosen)
        )).to_series().to_numpy()
        lacks = {n: lacking[rows] for n, (_, rows) in enumerate(opened)}  # per open pair
        # from here, only the rows some policy left undetermined
        lacking = np.where(any_open, lacking, np.uint64(0))
        queries = [_null_queries(name, conditions[name], catalog, names) for name in chosen]
        constants = _null_constants(base, queries)
        for b, name in enumerate(chosen):
            field = catalog.field(name)
            query, inputs, alone = queries[b]
            derived = field.kind == "derived" and bool(field.inputs)
            exprs = conditions[name]
            constant = constants[b]
            bit = np.uint64(1 << b)
            # a policy one of whose conditions of this field alone is UNKNOWN wherever the
            # field is null: its bit is the field's nullness, on each undetermined pair
            direct = [(n, ks) for n, ks in readers[name] if not derived
                      and any(alone[k] and constant[k] for k in ks)]
            for n, _ in direct:
                pairs = opened[n][0]
                where = pairs[lacks[n] & bit != 0]
                word, at = divmod(plan.mask_fields[ids[n]].index(field.series or name),
                                  MASK_BITS)
                words = out[word]  # a view: one word of every pair
                words[where] |= np.uint64(1 << at)
            rowwise = [(n, ks) for n, ks in readers[name] if (n, ks) not in direct]
            rows = np.flatnonzero(lacking & bit != 0) if rowwise else \
                np.zeros(0, dtype=np.int64)
            if rows.shape[0] == 0:
                continue
            flags = np.empty((len(query), rows.shape[0]), dtype=bool)
            flags[alone] = constant[alone][:, None]
            rest = [e for e, one in zip(query, alone, strict=True) if not one]
            if rest:
                cols = sorted({c for e in rest for c in e.meta.root_names()})
                on = base if 2 * rows.shape[0] > base.height else \
                    gather_sorted(base, rows, cols)  # else a list-type field
                got = on.select(rest).to_numpy().T
                flags[[not one for one in alone]] = got if on is not base else got[:, rows]
            # (conditions + inputs, rows), only the rows where some condition is UNKNOWN
            keep = np.logical_or.reduce(flags[:len(exprs)], axis=0)
            rows, flags = rows[keep], np.ascontiguousarray(flags[:, keep])
            position[rows] = np.arange(rows.shape[0])
            for n, ks in rowwise:
                pairs, open_rows = opened[n]
                null = np.flatnonzero(lacks[n] & bit)
                at = position[open_rows[null]]
                null = null[at >= 0]
                at = at[at >= 0]
                unknown = np.logical_or.reduce(flags[np.ix_(ks, at)], axis=0)
                where = pairs[null[unknown]]
                at = at[unknown]
                bits = {f: i for i, f in enumerate(plan.mask_fields[ids[n]])}

                def flag(field: str, on: np.ndarray | None, where: np.ndarray = where,
                         bits: dict[str, int] = bits) -> None:
                    """Set ``field``'s bit on the pairs ``where`` (those ``on``: all if None)."""
                    word, bit = divmod(bits[catalog.field(field).series or field], MASK_BITS)
                    words = out[word]  # a view: one word of every pair
                    words[where if on is None else where[on]] |= np.uint64(1 << bit)

                if derived:
                    given = flags[len(exprs):][:, at]
                    for k, inp in enumerate(inputs):
                        flag(inp, given[k])
                    flag(name, ~np.logical_or.reduce(given, axis=0) if inputs else None)
                else:
                    flag(name, None)
            position[rows] = -1
    return out.T  # (pairs, words), each word contiguous


def _null_queries(name: str, conditions: list[pl.Expr], catalog: EntityCatalog,
                  names: set[str]) -> tuple[list[pl.Expr], list[str], list[bool]]:
    """For the rows where the field ``name`` is null: whether each distinct condition that
    reads it is UNKNOWN there (``c<k>``), and, for a derived field, whether each of its
    inputs is null (``i<k>``); and which of these read ``name`` alone (one constant on every
    such row)."""
    field = catalog.field(name)
    inputs = [i for i in field.inputs if i in names] \
        if field.kind == "derived" and field.inputs else []
    query = [e.is_null().alias(f"c{k}") for k, e in enumerate(conditions)] + \
        [pl.col(i).is_null().alias(f"i{k}") for k, i in enumerate(inputs)]
    return query, inputs, [set(e.meta.root_names()) <= {name} for e in query]


def _null_constants(base: pl.DataFrame,
                    queries: list[tuple[list[pl.Expr], list[str], list[bool]]]
                    ) -> list[np.ndarray]:
    """Per field, the value of each of its queries that reads it alone, where it is null
    (False for the others): all of them in one select over a row of nulls."""
    batch = [e.alias(f"{b}:{k}") for b, (query, _, alone) in enumerate(queries)
             for k, (e, one) in enumerate(zip(query, alone, strict=True)) if one]
    got = base.clear(1).select(batch).row(0, named=True) if batch else {}
    out = []
    for b, (query, _, alone) in enumerate(queries):
        constant = np.zeros(len(query), dtype=bool)
        for k, one in enumerate(alone):
            if one:
                constant[k] = bool(got[f"{b}:{k}"])
        out.append(constant)
    return out


def fen_series(fen: np.ndarray, known: np.ndarray) -> pl.Series:
    """``amount_fen`` over the buffer ``fen`` (no copy), null where not ``known``.

    >>> fen_series(np.array([5, 0, 7]), np.array([True, False, True])).to_list()
    [5, None, 7]
    """
    validity = None if known.all() else pa.py_buffer(np.packbits(known, bitorder="little"))
    data = pa.Array.from_buffers(pa.int64(), fen.shape[0],
                                 [validity, pa.py_buffer(np.ascontiguousarray(fen, np.int64))])
    return pl.Series("amount_fen", data)


@dataclass(frozen=True)
class Query:
    """Expressions over some profile rows: ``stages`` of columns added in turn, then
    ``exprs`` selected."""

    stages: Sequence[Sequence[pl.Expr]]
    exprs: list[pl.Expr]

    @property
    def reads(self) -> set[str]:
        """The profile columns it reads."""
        added = {e.meta.output_name() for stage in self.stages for e in stage}
        return {c for e in (*(e for stage in self.stages for e in stage), *self.exprs)
                for c in e.meta.root_names()} - added

    def on_rows(self, base: pl.DataFrame, rows: np.ndarray | None) -> pl.DataFrame:
        """Over the profile ``rows`` (ascending; None: every row), gathering only the
        columns it reads; expressions of no column (constants) are evaluated once and
        broadcast by the caller."""
        cols = sorted(self.reads)
        if not cols:
            rows_of = base.head(1)
        elif rows is None:
            rows_of = base[cols]
        else:
            rows_of = gather_sorted(base, rows, cols)
        if not self.stages:
            return rows_of.select(self.exprs)
        lf = rows_of.lazy()
        for stage in self.stages:
            lf = lf.with_columns(stage)
        return lf.select(self.exprs).collect()


def gather_sorted(frame: pl.DataFrame, rows: np.ndarray,
                  columns: Sequence[str] | None = None) -> pl.DataFrame:
    """The ``rows`` (ascending) of ``frame`` (of its ``columns`` only, when given), gathered
    chunk by chunk when its columns come in several (a Parquet file's row groups): a gather
    across chunks looks every row's chunk up and is several times slower, and rechunking the
    profile frame would copy it whole. A few rows are gathered directly: there, a slice and
    a gather per chunk cost more than the lookups (at 1M rows in 8 chunks, up to about 10,000
    rows).

    >>> f = pl.concat([pl.DataFrame({"a": [0, 1, 2]}), pl.DataFrame({"a": [3, 4]})],
    ...               rechunk=False)
    >>> gather_sorted(f, np.array([1, 3, 4]))["a"].to_list()
    [1, 3, 4]
    """
    if columns is not None:
        frame = frame[list(columns)]  # the columns themselves: no query planned
    if frame.width == 0:
        return frame[rows]
    chunks = max(frame.n_chunks("all"))
    if chunks == 1 or rows.shape[0] <= _DIRECT_GATHER_ROWS_PER_CHUNK * chunks:
        return frame[rows]
    cuts = sorted({int(end) for column in frame.get_columns()
                   for end in np.cumsum(column.chunk_lengths())})
    edges = np.searchsorted(rows, [0, *cuts])
    parts = [frame.slice(start, stop - start)[rows[a:b] - start]
             for start, stop, a, b in zip([0, *cuts], cuts, edges, edges[1:], strict=False)
             if b > a]
    return pl.concat(parts, rechunk=False) if parts else frame.clear()


_DIRECT_GATHER_ROWS_PER_CHUNK = 1024
