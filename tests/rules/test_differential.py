"""For random rows with nulls, the polars compiler equals the reference interpreter on every
bundled policy: truth per condition, policy truth and amount."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from profiles.catalog import Field, load_catalog
from profiles.possible import possible_column
from rules.compile_polars import compile_policies
from rules.interpret import evaluate_policy
from rules.ledger import AwardLedger, join_ledger

_NUMBERS: dict[str, list[float]] = {
    "annual_taxable_income": [0, 1, 3_000_000, 3_000_001],
    "total_assets": [50_000_000, 50_000_001],
    "operating_revenue": [0, 50_000_000, 50_000_001, 200_000_000, 200_000_001],
    "monthly_sales": [100_000, 100_000.01],
    "layoff_rate": [0.0, 0.055, 0.0551, 0.2, 0.2001],
    "rd_ratio": [0.03, 0.04, 0.05, 0.0299],
}
_CODES = {
    "industry_code": ["1610", "6510", "5110", "0610", "6310", "9041"],
    "district": ["440106", "440306", "310104", "110105"],
    "hukou_district": ["310104", "110105", "440106"],
}


def _value(f: Field) -> st.SearchStrategy[Any]:
    if f.values:
        base: st.SearchStrategy[Any] = st.sampled_from(f.values)
    elif f.name in _CODES:
        base = st.sampled_from(_CODES[f.name])
    elif f.type == "int":
        base = st.integers(min_value=0, max_value=120)
    elif f.type == "float":
        base = st.sampled_from(_NUMBERS.get(f.name, [0.0, 1.0, 30.0, 1e6])) | st.floats(
            min_value=0, max_value=3e8, allow_nan=False)
    elif f.type == "date":
        base = st.dates(min_value=dt.date(1920, 1, 1), max_value=dt.date(2026, 12, 31))
    elif f.type == "bool":
        base = st.booleans()
    else:
        base = st.text(max_size=3)
    return st.none() | base


def _rows(entity: str) -> st.SearchStrategy[list[dict[str, Any]]]:
    catalog = load_catalog().entity(entity)
    fields = [f for f in catalog.fields if f.kind != "declared" and not f.personal]
    draws = {f.name: _value(f) for f in fields}
    draws.update({possible_column(f.name): st.none() | st.integers(0, (1 << len(f.values)) - 1)
                  for f in fields if f.possible and f.values})  # a null tag: what is possible
    # the year columns of yearly fields (rules.years) the windows of the as-of dates reach
    draws.update({f"{s.name}_y{y}": _value(catalog.field(f"{s.name}_y{y}"))
                  for s in catalog.yearly for y in range(2019, 2028)})
    row = st.fixed_dictionaries(draws)
    return st.lists(row, min_size=1, max_size=25)


@pytest.mark.parametrize("entity", ["enterprise", "person"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_polars_equals_interpreter_on_every_bundled_policy(
        library, frame_of, outcomes_of, entity: str, data: st.DataObject) -> None:
    as_of = data.draw(st.sampled_from([dt.date(2025, 9, 30), dt.date(2023, 3, 1),
                                       dt.date(2028, 1, 1)]))
    rows = data.draw(_rows(entity))
    catalog = load_catalog().entity(entity)
    compiled = compile_policies(library.for_entity(entity), catalog=catalog,
                                sets=library.sets, as_of=as_of)
    # an award history over the rows' keys (policies that read it: received(), ...)
    keys = sorted({str(r[catalog.key]) for r in rows if r.get(catalog.key) is not None})
    pids = sorted(compiled)
    ledger = AwardLedger.from_records(
        data.draw(st.lists(st.tuples(st.sampled_from(keys or ["x"]), st.sampled_from(pids),
                                     st.dates(dt.date(2023, 1, 1), dt.date(2028, 1, 1)),
                                     st.sampled_from([1000.0, 1e6]), st.booleans()),
                           max_size=6)),
        complete_from=data.draw(st.dictionaries(st.sampled_from(pids),
                                                st.dates(dt.date(2023, 1, 1),
                                                         dt.date(2026, 1, 1)), max_size=3)),
        policy_starts={p.id: p.effective_from for p in library.for_entity(entity)})
    df = frame_of(rows, catalog)
    for pid, cp in compiled.items():
        got = outcomes_of(cp, join_ledger(df.lazy(), ledger, cp.ledger, key=catalog.key,
                                          as_of=as_of).collect())
        for row, out in zip(rows, got, strict=True):
            ref = evaluate_policy(library[pid], row, catalog=catalog, sets=library.sets,
                                  as_of=as_of, library=library, ledger=ledger)
            assert ref.conditions == out.conditions, (pid, row)
            assert ref.truth == out.truth, (pid, row)
            assert ref.amount == out.amount, (pid, row)
