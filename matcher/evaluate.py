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


def unknown_mask_steps(cp: CompiledPolicy, plan: Plan, names: set[str]
                       ) -> tuple[tuple[pl.Expr, ...], list[pl.Expr]]:
    """:func:`unknown_mask_exprs` in two steps, for many rows: whether each condition is
    UNKNOWN as columns (``__u{k}``; a condition reading several fields, or a derived
    field's inputs, would otherwise be evaluated again for each), then the words over
    them."""
    stage = tuple(cc.truth.is_null().alias(f"__u{k}") for k, cc in enumerate(cp.conditions))
    return stage, _mask_words(cp, plan, names,
                              [pl.col(f"__u{k}") for k in range(len(cp.conditions))])


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
    on those rows only (ineligible rows, most of them, get none), the mask on its
    undetermined rows only, each over only the fields it reads (a loop over policies, each
    over its own rows, never over the population)."""
    fen = np.zeros(pol.shape[0], dtype=np.int64)
    known = np.zeros(pol.shape[0], dtype=bool)
    out = np.zeros((pol.shape[0], plan.mask_words), dtype=np.uint64)
    names = set(base.columns)
    # each policy's slice (a searchsorted of an int64 range would cast ``pol`` to int64)
    bounds = np.zeros(len(plan.compiled) + 1, dtype=np.int64)
    np.cumsum(np.bincount(pol, minlength=len(plan.compiled)), out=bounds[1:])
    # per policy: its amount's stages and value, its mask's stage and words
    jobs: list[tuple[int, int, Query | None, Query | None]] = []
    for n, cp in enumerate(plan.compiled.values()):
        lo, hi = int(bounds[n]), int(bounds[n + 1])
        if lo == hi:
            continue
        steps = cp.amount_steps
        amount = None if steps is None else \
            Query(steps.stages, [fen_expr(steps.value).alias("fen")])
        mask = None
        if (kind[lo:hi] == 2).any():
            stage, words = unknown_mask_steps(cp, plan, names)
            mask = Query((stage,), [e.alias(f"w{w}") for w, e in enumerate(words)])
        jobs.append((lo, hi, amount, mask))

    def run(job: tuple[int, int, Query | None, Query | None]) -> None:
        lo, hi, amount, mask = job
        if amount is not None:
            got = amount.on_rows(base, row[lo:hi])["fen"]
            known[lo:hi] = got.is_not_null().to_numpy()
            fen[lo:hi] = got.fill_null(0).to_numpy()
        if mask is not None:
            undetermined = np.flatnonzero(kind[lo:hi] == 2) + lo
            out[undetermined] = mask.on_rows(base, row[undetermined]).to_numpy()

    # policies side by side (each writes its own slice; polars releases the GIL): a query
    # over one policy's rows is too small to keep every core busy on its own
    with ThreadPoolExecutor(max_workers=pl.thread_pool_size()) as pool:
        for _ in pool.map(run, jobs):
            pass
    return fen_series(fen, known), out


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

    def on_rows(self, base: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
        """Over the profile ``rows`` (ascending), gathering only the columns it reads;
        expressions of no column (constants) are evaluated once and broadcast by the
        caller."""
        cols = sorted(self.reads)
        rows_of = gather_sorted(base.select(cols), rows) if cols else base.head(1)
        if not self.stages:
            return rows_of.select(self.exprs)
        lf = rows_of.lazy()
        for stage in self.stages:
            lf = lf.with_columns(stage)
        return lf.select(self.exprs).collect()


def gather_sorted(frame: pl.DataFrame, rows: np.ndarray) -> pl.DataFrame:
    """The ``rows`` (ascending) of ``frame``, gathered chunk by chunk when its columns come in
    several (a Parquet file's row groups): a gather across chunks looks every row's chunk
    up and is several times slower, and rechunking the profile frame would copy it whole.

    >>> f = pl.concat([pl.DataFrame({"a": [0, 1, 2]}), pl.DataFrame({"a": [3, 4]})],
    ...               rechunk=False)
    >>> gather_sorted(f, np.array([1, 3, 4]))["a"].to_list()
    [1, 3, 4]
    """
    if frame.width == 0 or max(frame.n_chunks("all")) == 1:
        return frame[rows]
    cuts = sorted({int(end) for column in frame.get_columns()
                   for end in np.cumsum(column.chunk_lengths())})
    edges = np.searchsorted(rows, [0, *cuts])
    parts = [frame.slice(start, stop - start)[rows[a:b] - start]
             for start, stop, a, b in zip([0, *cuts], cuts, edges, edges[1:], strict=False)
             if b > a]
    return pl.concat(parts, rechunk=False) if parts else frame.clear()
