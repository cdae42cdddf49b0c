"""Fixtures of the rule-language tests: evaluate bundled policies over rows with both the
polars compiler and the reference interpreter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
import pytest

from profiles.catalog import EntityCatalog, load_catalog, split_year_column
from profiles.possible import MASK_DTYPE, possible_column
from rules.compile_polars import DTYPES, CompiledPolicy, compile_policies
from rules.compile_related import attach_related
from rules.declared import for_policies
from rules.interpret import evaluate_policy
from rules.ledger import AwardLedger, join_ledger
from rules.loader import Library, bundled_library

AS_OF = dt.date(2025, 9, 30)


def condition_policy(text: str, catalog: EntityCatalog) -> Any:
    """A policy of the one condition ``text`` (checked against ``catalog``: no problems)."""
    from rules.checker import Checker, Scope
    from rules.model import Basis, Condition, Policy
    from rules.parser import parse_expr
    from rules.sets import bundled_sets

    checker = Checker(Scope(entity=catalog, sets=bundled_sets(), file="<test>"))
    expr = checker.condition(parse_expr(text))
    assert not checker.problems
    return Policy(id="t", title="测试", entity=catalog.name, basis=Basis(document="测试"),
                  effective_from=dt.date(2020, 1, 1), effective_to=None, delivery="notice",
                  eligibility=Condition(id="c1", expr=expr, label="测试"))


def condition_truth(text: str, catalog: EntityCatalog, as_of: dt.date) -> pl.Expr:
    """The compiled truth of the one condition ``text`` as of ``as_of``."""
    from rules.sets import bundled_sets

    return compile_policies([condition_policy(text, catalog)], catalog=catalog,
                            sets=bundled_sets(), as_of=as_of)["t"].truth


@dataclass(frozen=True)
class Outcome:
    truth: bool | None
    conditions: dict[str, bool | None]
    amount: float | None


def frame(rows: Sequence[dict[str, Any]], catalog: EntityCatalog) -> pl.DataFrame:
    """A frame with every catalog column (missing keys are null), the year columns of yearly
    fields the rows carry (``operating_revenue_y2024``), the declared conditions of the
    bundled policies the rows answer (rules.declared) and the possible-set columns
    (``size_class__possible``)."""
    catalog = for_policies(catalog, bundled_library())
    answered = {k for r in rows for k in r}
    schema = {f.name: DTYPES[f.type] for f in catalog.fields
              if f.kind != "declared" or f.name in answered}
    years = sorted({k for r in rows for k in r if k not in schema and k in catalog})
    schema.update({k: DTYPES[catalog.field(k).type] for k in years})
    schema.update({possible_column(f.name): MASK_DTYPE for f in catalog.fields if f.possible})
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def run_polars(compiled: CompiledPolicy, df: pl.DataFrame,
               related: dict[str, Any] | None = None) -> list[Outcome]:
    """Outcomes per row; aggregates over related entities read ``related`` (none: UNKNOWN).
    A declared condition the rows do not answer is a null column, as the plan adds it."""
    missing = [n for n in sorted(compiled.fields) if n not in df.columns]
    if missing:
        catalog = for_policies(load_catalog().entity(compiled.policy.entity), bundled_library())
        df = df.with_columns(pl.lit(None, dtype=DTYPES[catalog.field(n).type]).alias(n)
                             for n in missing)
    if compiled.related:
        df = attach_related(df.lazy(), key=_key(compiled),
                            columns=compiled.related, related=related).collect()
    exprs = [compiled.truth.alias("__truth")]
    exprs += [c.truth.alias(f"__c_{c.condition.id}") for c in compiled.conditions]
    amount = compiled.amount if compiled.amount is not None else pl.lit(None, dtype=pl.Float64)
    exprs.append(amount.alias("__amount"))
    out = df.select(exprs)
    ids = [c.condition.id for c in compiled.conditions]
    return [
        Outcome(truth=row["__truth"], conditions={i: row[f"__c_{i}"] for i in ids},
                amount=row["__amount"])
        for row in out.iter_rows(named=True)
    ]


def _key(compiled: CompiledPolicy) -> str:
    return load_catalog().entity(compiled.policy.entity).key


Evaluate = Callable[..., list[Outcome]]
FrameOf = Callable[[Sequence[dict[str, Any]], EntityCatalog], pl.DataFrame]
OutcomesOf = Callable[[CompiledPolicy, pl.DataFrame], list[Outcome]]


@pytest.fixture(scope="session")
def as_of() -> dt.date:
    """The default evaluation date of these tests."""
    return AS_OF


@pytest.fixture(scope="session")
def frame_of() -> FrameOf:
    """frame_of(rows, catalog): a frame with every catalog column (missing keys null)."""
    return frame


@pytest.fixture(scope="session")
def outcomes_of() -> OutcomesOf:
    """outcomes_of(compiled, df): truth, condition truths and amount per row."""
    return run_polars


@pytest.fixture(scope="session")
def library() -> Library:
    return bundled_library()


@pytest.fixture(scope="session")
def evaluate(library: Library) -> Evaluate:
    """evaluate(policy_id, rows, as_of=AS_OF) -> outcomes by the polars compiler, after
    asserting that the reference interpreter agrees row by row."""

    def run(policy_id: str, rows: Sequence[dict[str, Any]], *,
            as_of: dt.date = AS_OF, ledger: AwardLedger | None = None) -> list[Outcome]:
        policy = library[policy_id]
        # with the declared conditions of the library (rules.declared)
        catalog = for_policies(load_catalog().entity(policy.entity), library)
        compiled = compile_policies(library.for_entity(policy.entity), catalog=catalog,
                                    sets=library.sets, as_of=as_of)[policy_id]
        df = frame(rows, catalog)
        absent = [c for c in sorted(compiled.fields)
                  if c not in df.columns and split_year_column(c)]
        # years no row carries are not on record, as the matcher's prepare_frame adds them
        df = df.with_columns(pl.lit(None, DTYPES[catalog.field(c).type]).alias(c)
                             for c in absent)
        if compiled.ledger:  # the award history, joined as the matcher joins it
            df = join_ledger(df.lazy(), ledger or AwardLedger.empty(), compiled.ledger,
                             key=catalog.key, as_of=as_of).collect()
        outcomes = run_polars(compiled, df)
        for row, got in zip(rows, outcomes, strict=True):
            ref = evaluate_policy(policy, row, catalog=catalog, sets=library.sets,
                                  as_of=as_of, library=library, ledger=ledger)
            assert (ref.truth, ref.conditions, ref.amount) == (
                got.truth, got.conditions, got.amount), row
        return outcomes

    return run
