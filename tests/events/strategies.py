"""Hypothesis strategies for raw profiles (every base field, often missing) and a helper that
builds the derived frame the batch engine sees."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import strategies as st

from profiles.catalog import load_catalog
from profiles.derive import derive
from profiles.ingest import complete
from profiles.regions import load_regions

DATES = [dt.date(2025, 10, 1), dt.date(2026, 11, 22)]
MONEY = [0.0, 1.0, 80_000.0, 100_000.0, 100_001.0, 3_000_000.0, 3_000_001.0, 50_000_000.0,
         50_000_001.0, 200_000_000.0, 200_000_001.0, -5_000.0]
INDUSTRIES = ["0111", "1610", "3911", "4710", "5110", "5211", "5431", "5910", "6110", "6210",
              "6311", "6510", "7010", "7020", "7111", "7310", "9010", "16", "0"]


def _value(field: object) -> st.SearchStrategy[object]:
    f = field
    if f.values:  # type: ignore[attr-defined]
        base: st.SearchStrategy[object] = st.sampled_from(f.values)  # type: ignore[attr-defined]
    elif f.format == "region_code":  # type: ignore[attr-defined]
        base = st.sampled_from([*load_regions().districts, "440106", "110105", "310115",
                                "999999", "44"])
    elif f.format == "industry_code":  # type: ignore[attr-defined]
        base = st.sampled_from(INDUSTRIES)
    elif f.type == "int":  # type: ignore[attr-defined]
        base = st.one_of(st.integers(0, 4) if f.unit == "grade" else  # type: ignore[attr-defined]
                         st.sampled_from([0, 1, 2, 3, 10, 12, 19, 20, 29, 30, 31, 299, 300,
                                          301]),
                         st.integers(0, 1000))
    elif f.type == "float":  # type: ignore[attr-defined]
        base = st.one_of(st.sampled_from(MONEY), st.floats(0, 3e8, allow_nan=False))
    elif f.type == "date":  # type: ignore[attr-defined]
        base = st.one_of(st.dates(dt.date(1915, 1, 1), dt.date(2026, 11, 1)),
                         st.sampled_from([dt.date(1933, 1, 1), dt.date(1945, 10, 1),
                                          dt.date(2025, 1, 1), dt.date(2022, 11, 22)]))
    elif f.type == "bool":  # type: ignore[attr-defined]
        base = st.booleans()
    else:
        base = st.text(alphabet="测试企业有限公司", min_size=1, max_size=6)
    return st.one_of(st.none(), base)


def profile_rows(entity: str, *, min_size: int = 1,
                 max_size: int = 40) -> st.SearchStrategy[list[dict[str, object]]]:
    cat = load_catalog().entity(entity)
    fields = {f.name: _value(f) for f in cat.base_fields if f.name != cat.key}
    return st.lists(st.fixed_dictionaries(fields), min_size=min_size, max_size=max_size)


def base_frame(rows: list[dict[str, object]], *, entity: str) -> pl.DataFrame:
    key = load_catalog().entity(entity).key
    keyed = [{key: f"K{i:04d}", **r} for i, r in enumerate(rows)]
    return complete(pl.DataFrame(keyed, infer_schema_length=None), entity=entity)


def derived_frame(base: pl.DataFrame, *, entity: str, as_of: dt.date) -> pl.DataFrame:
    return derive(base, entity=entity, as_of=as_of).collect()
