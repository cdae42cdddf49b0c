"""Batch evaluation: every policy in effect, against every profile, in one polars plan.

The plan computes, for all policies at once, the Kleene truth of the eligibility tree and the
amount (shared subexpressions are computed once by polars' common-subexpression elimination).
The wide result is turned into the long output of DESIGN §6: one row per (entity, policy)
whose outcome is not ``ineligible``, its amount in integer fen (``amount_fen``, rounded once
at the end by :func:`store.money.fen_expr`; null = UNKNOWN). Exclusivity groups and budgets
are then applied (:mod:`matcher.allocation`), and for undetermined rows the fields whose
UNKNOWN made them undetermined are listed.

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
>>> out = match_frame(frame, entity="person", policies=lib.policies.values(),
...                   as_of=dt.date(2025, 10, 1), sets=lib.sets)
>>> out.select("policy_id", "outcome", "amount_fen").rows()  # children_under_3 is unknown
[('bj-elderly-allowance', 'eligible', 50000), ('iit-infant-care-deduction', 'undetermined', None)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import reduce

import polars as pl

from matcher.allocation import apply_budgets, apply_caps, apply_exclusivity
from matcher.outcomes import OUTCOME_SCHEMA, empty_outcomes
from profiles.catalog import EntityCatalog, load_catalog
from rules.ast import LedgerRef
from rules.compile_polars import CompiledPolicy, compile_policies
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
    ledger: AwardLedger | None = None,
) -> Plan:
    """Compile the policies of ``entity`` in effect on ``as_of``; ``ledger`` answers the
    award-history lookups (``received()``)."""
    catalog = load_catalog().entity(entity)
    chosen = policies_in_effect(policies, entity=entity, as_of=as_of)
    if sets is None:
        from rules.loader import bundled_library

        sets = bundled_library().sets
    compiled = compile_policies(chosen, catalog=catalog, sets=sets, as_of=as_of)  # type: ignore[arg-type]
    ordered = {pid: compiled[pid] for pid in sorted(compiled)}
    return Plan(entity=entity, as_of=as_of, key=catalog.key, compiled=ordered, catalog=catalog,
                ledger=ledger)


def prepare_frame(frame: pl.DataFrame | pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    """Add columns of nulls for declared fields (never in data: UNKNOWN until declared) and
    refuse a frame that lacks any other column the policies read."""
    lf = frame.lazy()
    names = set(lf.collect_schema().names())
    if plan.key not in names:
        raise MissingColumnsError([plan.key], entity=plan.entity)
    additions = []
    missing = []
    for name in sorted(plan.fields - names):
        field = plan.catalog.field(name)
        if field.kind == "declared":
            additions.append(pl.lit(None, dtype=_POLARS_DTYPES[field.type]).alias(name))
        else:
            missing.append(name)
    if missing:
        raise MissingColumnsError(missing, entity=plan.entity)
    lf = lf.with_columns(additions) if additions else lf
    refs = plan.ledger_refs
    if refs:  # the award history, per entity: a group-by and a join in the plan
        lf = join_ledger(lf, plan.ledger or AwardLedger.empty(), refs, key=plan.key,
                         as_of=plan.as_of)
    return lf


def wide_truths(lf: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    """One row per entity: ``t:<id>`` (Boolean, null = undetermined) and ``a:<id>`` (amount)
    per policy, beside ``entity_id``."""
    exprs: list[pl.Expr] = [pl.col(plan.key).cast(pl.String).alias("entity_id")]
    for pid, cp in plan.compiled.items():
        exprs.append(cp.truth.alias(f"t:{pid}"))
        amount = cp.amount if cp.amount is not None else pl.lit(None, dtype=pl.Float64)
        exprs.append(amount.cast(pl.Float64).alias(f"a:{pid}"))
    return lf.select(exprs)


def field_bits(plan: Plan) -> dict[str, int]:
    """Each catalog field's bit in an unknown-fields mask (catalog order)."""
    names = [f.name for f in plan.catalog.fields]
    if len(names) > 64:
        raise MatchError(f"the {plan.entity} catalog has {len(names)} fields; unknown-field "
                         "masks hold at most 64")
    return {name: i for i, name in enumerate(names)}


def unknown_mask_expr(cp: CompiledPolicy, plan: Plan, names: set[str]) -> pl.Expr:
    """For a row, a UInt64 bit mask of the fields whose UNKNOWN leaves some condition of
    ``cp`` UNKNOWN (bits by :func:`field_bits`; decode with :func:`decode_masks`).

    A derived field that is null is reported through its null inputs (what the applicant
    can supply), or as itself when all its inputs are known; a declared field is reported
    whenever its condition is UNKNOWN. Bit masks keep this to integer arithmetic in the
    plan; lists are built once per distinct mask."""
    bits = field_bits(plan)
    unknown_by_field: dict[str, list[pl.Expr]] = {}
    for cc in cp.conditions:
        for name in sorted(cc.fields):
            unknown_by_field.setdefault(name, []).append(cc.truth.is_null())
    parts: list[pl.Expr] = []

    def flag(name: str, when: pl.Expr) -> None:
        parts.append(when.cast(pl.UInt64) * pl.lit(1 << bits[name], dtype=pl.UInt64))

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
    if not parts:
        return pl.lit(0, dtype=pl.UInt64)
    return reduce(lambda a, b: a | b, parts)


def decode_masks(masks: pl.Series, plan: Plan) -> pl.DataFrame:
    """A table from each distinct mask to its list of field names (catalog order)."""
    by_bit = {bit: name for name, bit in field_bits(plan).items()}
    distinct = masks.unique().drop_nulls().to_list()
    return pl.DataFrame(
        {
            "__mask": distinct,
            "unknown_fields": [
                [by_bit[b] for b in sorted(by_bit) if m >> b & 1] for m in distinct
            ],
        },
        schema={"__mask": pl.UInt64, "unknown_fields": pl.List(pl.String)},
    )


def match_frame(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    entity: str,
    policies: Iterable[Policy],
    as_of: dt.date,
    sets: object | None = None,
    streaming: bool = False,
    ledger: AwardLedger | None = None,
) -> pl.DataFrame:
    """Match every policy of ``entity`` in effect on ``as_of`` against a derived profile frame.

    Returns the long outcome frame (:data:`matcher.outcomes.OUTCOME_SCHEMA`), ordered by
    policy id, then eligible before undetermined, then entity id; ineligible pairs are not
    listed."""
    plan = make_plan(policies, entity=entity, as_of=as_of, sets=sets, ledger=ledger)
    return match_plan(frame, plan, streaming=streaming)


def match_plan(
    frame: pl.DataFrame | pl.LazyFrame, plan: Plan, *, streaming: bool = False
) -> pl.DataFrame:
    if not plan.compiled:
        return empty_outcomes()
    # one contiguous chunk per column: row gathers and filters over a frame read from a
    # multi-row-group Parquet file are several times slower on chunked columns
    base = prepare_frame(frame, plan).collect(engine="streaming" if streaming else "auto")
    base = base.rechunk()
    names = set(base.columns)
    wide = (
        wide_truths(base.lazy(), plan)
        .with_columns(pl.int_range(pl.len(), dtype=pl.UInt32).alias("__src"))
        .collect(engine="streaming" if streaming else "auto")
        .rechunk()
    )
    if not wide["entity_id"].is_sorted():  # snapshots come sorted by key already
        wide = wide.sort("entity_id")

    parts: list[pl.DataFrame] = []
    no_fields = pl.lit([], dtype=pl.List(pl.String)).alias("unknown_fields")
    for pid, cp in plan.compiled.items():
        t = pl.col(f"t:{pid}")
        period = cp.policy.amount.period if cp.policy.amount else None
        columns = wide.select("__src", "entity_id", t, f"a:{pid}")
        eligible = columns.filter(t).with_columns(no_fields)
        # unknown fields only where the policy is undetermined: gather those profile rows and
        # evaluate the mask there, not over the whole population; decode each distinct mask once
        undetermined = columns.filter(t.is_null())
        masks = (
            base[undetermined["__src"]].select(unknown_mask_expr(cp, plan, names))
            .to_series()
            .rename("__mask")
        )
        undetermined = (
            undetermined.with_columns(masks)
            .join(decode_masks(masks, plan), on="__mask", how="left", maintain_order="left")
            .drop("__mask")
        )
        for part in (eligible, undetermined):
            parts.append(
                part.select(
                    "entity_id",
                    pl.lit(pid).alias("policy_id"),
                    pl.lit(cp.policy.version).alias("policy_version"),
                    pl.when(t).then(pl.lit("eligible")).otherwise(pl.lit("undetermined"))
                    .alias("outcome"),
                    pl.col(f"a:{pid}").alias("amount"),
                    pl.lit(period, dtype=pl.String).alias("amount_period"),
                    pl.lit(cp.policy.delivery).alias("delivery"),
                    "unknown_fields",
                )
            )
    # parts come by policy id, then eligible before undetermined, each by entity id
    long = pl.concat(parts, how="vertical")
    policies = {pid: cp.policy for pid, cp in plan.compiled.items()}
    long = apply_exclusivity(long, policies)
    long = apply_budgets(long, policies, profiles=base.lazy(), key=plan.key)
    long = apply_caps(long, policies, as_of=plan.as_of, ledger=plan.ledger)
    # the one rounding of an amount: yuan (float, after budgets) -> integer fen, at the end
    long = long.with_columns(fen_expr(pl.col("amount")).alias("amount_fen"))
    return long.select(list(OUTCOME_SCHEMA)).cast(OUTCOME_SCHEMA)  # type: ignore[arg-type]
