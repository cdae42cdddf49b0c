"""A tiny run of ``python -m bench.match`` writes one record per engine in the agreed shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.match import DEFAULT_ENGINES, main

REQUIRED = {"engine": str, "entities": int, "policies": int, "seconds": float,
            "evals_per_second": float, "peak_rss_mb": float}


@pytest.mark.slow
def test_tiny_bench_writes_records_with_the_agreed_keys(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    code = main(["--entities", "2000", "--policies", "5", "--json", str(out), "--repeat", "1",
                 "--sample-rows", "10"])
    assert code == 0
    records = json.loads(out.read_text(encoding="utf-8"))
    assert [r["engine"] for r in records] == list(DEFAULT_ENGINES)
    for rec in records:
        for key, kind in REQUIRED.items():
            assert isinstance(rec[key], kind), (rec["engine"], key, rec[key])
        assert (rec["entities"], rec["policies"]) == (2000, 5)
        assert rec["evals_per_second"] == pytest.approx(2000 * 5 / rec["seconds"], rel=1e-3)
        assert rec["peak_rss_mb"] > 0
    full = [r for r in records if "agrees" in r]
    assert {r["engine"] for r in full} == {"mianshen-plan", "duckdb", "numpy"}
    assert all(r["agrees"] for r in full)


def test_unknown_engine_is_refused_with_the_valid_names(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    with pytest.raises(SystemExit):
        main(["--entities", "10", "--engines", "nope"])
    assert "mianshen" in capsys.readouterr().err


@pytest.mark.slow
def test_tiny_bench_on_every_construct_agrees_across_engines(tmp_path: Path) -> None:
    """--all-constructs: aggregates, the ledger, yearly fields, dated data, uncertain sets
    and declared conditions are measured on every engine that evaluates them, and the full
    engines agree on every policy's counts."""
    out = tmp_path / "bench.json"
    code = main(["--entities", "1500", "--policies", "6", "--json", str(out), "--repeat", "1",
                 "--sample-rows", "10", "--all-constructs"])
    assert code == 0
    records = json.loads(out.read_text(encoding="utf-8"))
    assert [r["engine"] for r in records] == list(DEFAULT_ENGINES)
    assert all(r["all_constructs"] for r in records)
    full = [r for r in records if "agrees" in r]
    assert {r["engine"] for r in full} == {"mianshen-plan", "duckdb", "numpy"}
    assert all(r["agrees"] for r in full)
