"""The link-tables bench runs end to end on a few firms, and its peers type what mianshen
accepts the same way (a bench whose peer read other values would compare nothing)."""

from __future__ import annotations

import polars as pl

from bench.link_tables import _duckdb, _lower_bound, run
from profiles.relations import validate_table


def test_the_bench_records_every_link_table() -> None:
    records = run(enterprises=60, persons=200, repeat=1, seed=3)
    assert {r["table"] for r in records} == {"employment_links", "households"}
    assert all(r["rows"] > 0 and r["mianshen_s"] > 0 and r["vs_duckdb"] > 0 for r in records)


def test_the_peers_type_the_values_mianshen_accepts_alike() -> None:
    text = pl.DataFrame({"uscc": ["91350100m000100y43"], "id_number": ["11010519491231002x"],
                         "hired_on": ["2024-03-01"], "left_on": [None],
                         "insured_months": ["12"], "wage_base": ["8000.5"]})
    ours = validate_table(text, table="employment_links", source="t").clean
    for peer in (_duckdb(text), _lower_bound(text)):
        assert peer.select(ours.columns).cast(ours.schema).rows() == ours.rows()
