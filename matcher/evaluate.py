"""Batch evaluation: every policy in effect, against every profile, in one polars plan.

The plan computes, for all policies at once, the Kleene truth of the eligibility tree and the
amount (shared subexpressions are computed once by polars' common-subexpression elimination).
The wide result is turned into the long output of DESIGN §6: one row per (entity, policy)
whose outcome is not ``ineligible``. Exclusivity groups and budgets are then applied
(:mod:`matcher.allocation`), and for undetermined rows the fields whose UNKNOWN made them
undetermined are listed.

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
>>> out.select("policy_id", "outcome", "amount").rows()  # children_under_3 is unknown
[('bj-elderly-allowance', 'eligible', 500.0), ('iit-infant-care-deduction', 'undetermined', None)]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import polars as pl

from matcher.allocation import apply_budgets, apply_exclusivity
from matcher.outcomes import OUTCOME_SCHEMA, empty_outcomes
from profiles.catalog import EntityCatalog, load_catalog
from rules.compile_polars import CompiledPolicy, compile_policies
from rules.model import Policy

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
    """The policies of one match, compiled, and the frame they run on."""

    entity: str
    as_of: dt.date
    key: str
    compiled: dict[str, CompiledPolicy]
    catalog: EntityCatalog

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
) -> Plan:
    """Compile the policies of ``entity`` in effect on ``as_of``."""
    catalog = load_catalog().entity(entity)
    chosen = policies_in_effect(policies, entity=entity, as_of=as_of)
    if sets is None:
        from rules.loader import bundled_library

        sets = bundled_library().sets
    compiled = compile_policies(chosen, catalog=catalog, sets=sets, as_of=as_of)  # type: ignore[arg-type]
    ordered = {pid: compiled[pid] for pid in sorted(compiled)}
    return Plan(entity=entity, as_of=as_of, key=catalog.key, compiled=ordered, catalog=catalog)


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
    return lf.with_columns(additions) if additions else lf


def wide_truths(lf: pl.LazyFrame, plan: Plan) -> pl.LazyFrame:
    """One column per policy: ``t:<id>`` (Boolean, null = undetermined) and ``a:<id>``,
    beside ``__row`` (the row index of ``lf``) and ``entity_id``."""
    exprs: list[pl.Expr] = [pl.col("__row"), pl.col(plan.key).cast(pl.String).alias("entity_id")]
    for pid, cp in plan.compiled.items():
        exprs.append(cp.truth.alias(f"t:{pid}"))
        amount = cp.amount if cp.amount is not None else pl.lit(None, dtype=pl.Float64)
        exprs.append(amount.cast(pl.Float64).alias(f"a:{pid}"))
    return lf.select(exprs)


def unknown_fields_expr(cp: CompiledPolicy, plan: Plan, names: set[str]) -> pl.Expr:
    """For a row, the fields whose UNKNOWN leaves some condition of ``cp`` UNKNOWN.

    A derived field that is null is reported through its null inputs (what the applicant
    can supply); a declared field is always reported when its condition is UNKNOWN."""
    parts: list[pl.Expr] = []
    for cc in cp.conditions:
        for name in sorted(cc.fields):
            field = plan.catalog.field(name)
            reported: list[tuple[str, pl.Expr]] = []
            if field.kind == "derived" and field.inputs:
                for inp in field.inputs:
                    if inp in names:
                        reported.append((inp, pl.col(inp).is_null()))
                reported.append((name, pl.col(name).is_null()
                                 & pl.all_horizontal([pl.col(i).is_not_null()
                                                      for i in field.inputs if i in names]
                                                     or [pl.lit(True)])))
            else:
                reported.append((name, pl.col(name).is_null()))
            for label, is_null in reported:
                parts.append(
                    pl.when(cc.truth.is_null() & is_null).then(pl.lit(label)).otherwise(None)
                )
    if not parts:
        return pl.lit([], dtype=pl.List(pl.String))
    return pl.concat_list(parts).list.drop_nulls().list.unique(maintain_order=True)


def match_frame(
    frame: pl.DataFrame | pl.LazyFrame,
    *,
    entity: str,
    policies: Iterable[Policy],
    as_of: dt.date,
    sets: object | None = None,
    streaming: bool = False,
) -> pl.DataFrame:
    """Match every policy of ``entity`` in effect on ``as_of`` against a derived profile frame.

    Returns the long outcome frame (:data:`matcher.outcomes.OUTCOME_SCHEMA`), sorted by
    entity id then policy id; ineligible pairs are not listed."""
    plan = make_plan(policies, entity=entity, as_of=as_of, sets=sets)
    return match_plan(frame, plan, streaming=streaming)


def match_plan(
    frame: pl.DataFrame | pl.LazyFrame, plan: Plan, *, streaming: bool = False
) -> pl.DataFrame:
    if not plan.compiled:
        return empty_outcomes()
    lf = prepare_frame(frame, plan).with_row_index("__row")
    names = set(lf.collect_schema().names())
    wide = wide_truths(lf, plan).collect(engine="streaming" if streaming else "auto")

    parts: list[pl.DataFrame] = []
    for pid, cp in plan.compiled.items():
        t, a = pl.col(f"t:{pid}"), pl.col(f"a:{pid}")
        kept = wide.filter(t.fill_null(True)).select(
            "__row",
            "entity_id",
            pl.lit(pid).alias("policy_id"),
            pl.lit(cp.policy.version).alias("policy_version"),
            pl.when(t).then(pl.lit("eligible")).otherwise(pl.lit("undetermined")).alias("outcome"),
            a.alias("amount"),
            pl.lit(cp.policy.amount.period if cp.policy.amount else None, dtype=pl.String).alias(
                "amount_period"
            ),
            pl.lit(cp.policy.delivery).alias("delivery"),
        )
        parts.append(_with_unknown_fields(kept, lf, cp, plan, names))
    long = pl.concat(parts, how="vertical") if parts else empty_outcomes()
    policies = {pid: cp.policy for pid, cp in plan.compiled.items()}
    long = apply_exclusivity(long, policies)
    long = apply_budgets(long, policies, profiles=lf)
    return (
        long.select(list(OUTCOME_SCHEMA))
        .cast(OUTCOME_SCHEMA)  # type: ignore[arg-type]
        .sort(["entity_id", "policy_id"])
    )


def _with_unknown_fields(
    kept: pl.DataFrame, lf: pl.LazyFrame, cp: CompiledPolicy, plan: Plan, names: set[str]
) -> pl.DataFrame:
    undetermined = kept.filter(pl.col("outcome") == "undetermined")
    if undetermined.height == 0:
        return kept.with_columns(pl.lit([], dtype=pl.List(pl.String)).alias("unknown_fields"))
    rows = undetermined.select("__row")
    unknown = (
        lf.join(rows.lazy(), on="__row", how="semi")
        .select("__row", unknown_fields_expr(cp, plan, names).alias("unknown_fields"))
        .collect()
    )
    return kept.join(unknown, on="__row", how="left").with_columns(
        pl.col("unknown_fields").fill_null(pl.lit([], dtype=pl.List(pl.String)))
    )
