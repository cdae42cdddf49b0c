"""Yearly extracts: a bad cell makes only that year UNKNOWN and holds only that column; the
snapshot carries one column per field and year; a firm known only from the panel is a
profile; the synthetic population writes a panel the high-tech policy can decide on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from matcher.evaluate import match_frame
from profiles.build import build_snapshot
from profiles.catalog import load_catalog
from profiles.csv_lines import read_csv_bytes
from profiles.synth import synthesize
from profiles.yearly import validate_yearly
from rules.interpret import evaluate_policy
from rules.loader import bundled_library
from rules.sets import bundled_sets
from tests.rules.test_years import _policy

A = "91350100M000100Y43"
B = "9144010123PX14RXX3"
BAD_KEY = "91350100M000100Y44"


def _panel(text: str) -> pl.DataFrame:
    return read_csv_bytes(text.encode()).frame


def test_a_bad_cell_makes_only_its_year_unknown_and_holds_only_that_column() -> None:
    result = validate_yearly(_panel(
        "uscc,年度,营业收入,研发费用\n"
        f"{A},2023,100,1\n{A},2024,十万,2\n{A},2025,300,3\n"), entity="enterprise", source="t")
    row = result.wide.row(0, named=True)
    assert (row["operating_revenue_y2023"], row["operating_revenue_y2024"],
            row["operating_revenue_y2025"]) == (100.0, None, 300.0)
    assert row["rd_expense_y2024"] == 2.0  # the same row's other cell is kept
    assert result.rejects.select("row_number", "field", "value").rows() == [
        (2, "operating_revenue_y2024", "十万")]
    assert "[not_number]" in result.rejects["reason"][0]
    assert result.held.rows() == [(A, "not_number", ["operating_revenue_y2024"])]


def test_a_bad_key_rejects_the_row_and_holds_nobody() -> None:
    result = validate_yearly(_panel(f"uscc,year,营业收入\n{BAD_KEY},2024,100\n{A},2024,5\n"),
                             entity="enterprise", source="t")
    assert result.wide[("uscc")].to_list() == [A]
    assert result.rejects["field"].to_list() == ["uscc"]
    assert result.held.height == 0


@pytest.mark.parametrize("year", ["2024.5", "1850", ""])
def test_a_bad_year_holds_every_year_column_of_the_entity(year: str) -> None:
    result = validate_yearly(_panel(f"uscc,所属年度,营业收入\n{A},2023,100\n{A},{year},5\n"
                                    f"{B},2024,7\n"), entity="enterprise", source="t")
    assert result.rejects["field"].to_list() == ["year"]
    assert result.held.rows() == [
        (A, result.held["code"][0], ["operating_revenue_y2023", "operating_revenue_y2024"])]
    assert result.wide.filter(pl.col("uscc") == A)["operating_revenue_y2023"][0] == 100.0


def test_rows_of_one_year_that_disagree_are_all_rejected_and_identical_ones_merged() -> None:
    result = validate_yearly(_panel(
        f"uscc,year,营业收入,研发费用\n{A},2024,100,1\n{A},2024,200,1\n{A},2023,50,1\n"
        f"{B},2024,7,1\n{B},2024,7,1\n"), entity="enterprise", source="t")
    rows = {r["uscc"]: r for r in result.wide.iter_rows(named=True)}
    assert rows[A]["operating_revenue_y2024"] is None and rows[A]["operating_revenue_y2023"] == 50
    assert rows[B]["operating_revenue_y2024"] == 7.0
    assert result.stats.duplicates_merged == 1
    assert sorted(result.rejects["row_number"].to_list()) == [1, 2]
    assert result.held.rows() == [(A, "duplicate_conflict",
                                   ["operating_revenue_y2024", "rd_expense_y2024"])]


def test_a_panel_without_a_year_column_is_refused_whole() -> None:
    result = validate_yearly(_panel(f"uscc,营业收入\n{A},100\n"), entity="enterprise",
                             source="t")
    assert result.stats.refused is not None and "年度" in result.stats.refused
    assert result.wide.height == 0


def test_an_unreadable_line_with_a_legible_key_holds_the_entity(tmp_path: Path) -> None:
    read = read_csv_bytes(f"uscc,year,营业收入\n{A},2024,100\n{A},2025,\"200\n".encode())
    result = validate_yearly(read.frame, entity="enterprise", source="t", rows=read.rows,
                             bad_lines=read.bad_lines)
    assert result.held.rows() == [(A, "unbalanced_quote", ["operating_revenue_y2024"])]
    assert result.rejects.select("row_number", "field").rows() == [(2, None)]
    assert "[unbalanced_quote]" in result.rejects["reason"][0]
    assert (result.stats.rows_read, result.stats.rows_accepted,
            result.stats.rows_rejected) == (2, 1, 1)


def test_snapshot_carries_year_columns_and_holds_a_bad_cell(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "enterprise_市场监管.csv").write_text(
        f"uscc,name,founded_on\n{A},甲公司,2015-03-01\n", encoding="utf-8")
    (src / "yearly_enterprise_税务.csv").write_bytes(
        ("统一社会信用代码,年度,营业收入,纳税总额\n"
         f"{A},2024,100,1\n{A},2025,-3,2\n{B},2025,9,9\n").encode("gb18030"))
    report = build_snapshot(src, entity="enterprise", as_of=dt.date(2026, 6, 30),
                            out=tmp_path / "e.parquet")
    snap = pl.read_parquet(tmp_path / "e.parquet")
    assert {"operating_revenue_y2024", "operating_revenue_y2025", "tax_paid_y2025"} <= set(
        snap.columns)
    assert snap.schema["tax_paid_y2025"] == pl.Float64
    rows = {r["uscc"]: r for r in snap.iter_rows(named=True)}
    assert rows[B]["tax_paid_y2025"] == 9.0  # known only from the panel: still a profile
    assert rows[A]["operating_revenue_y2025"] is None
    assert rows[A]["held_fields"] == ["operating_revenue_y2025"]
    assert report.held["by_source"] == {"yearly_税务": {"below_min": 1}}
    assert any(s.source == "yearly_税务" and s.encoding == "gb18030" for s in report.sources)


def test_synthetic_panel_lets_the_high_tech_ratio_decide(tmp_path: Path) -> None:
    synthesize(tmp_path / "src", enterprises=400, persons=0, seed=3)
    build_snapshot(tmp_path / "src", entity="enterprise", as_of=dt.date(2026, 6, 30),
                   out=tmp_path / "e.parquet")
    snap = pl.read_parquet(tmp_path / "e.parquet")
    assert "rd_expense_y2025" in snap.columns and "tax_paid_y2020" in snap.columns
    lib = bundled_library()
    out = match_frame(snap, entity="enterprise", policies=[lib["high-tech-enterprise"]],
                      as_of=dt.date(2026, 6, 30), sets=lib.sets)
    undetermined = out.filter(pl.col("outcome") == "undetermined")
    # firms whose three years are on record are decided on the ratio: only the declared
    # core-IP condition is left to ask; others are asked for the yearly figures
    asks = undetermined["unknown_fields"].to_list()
    assert any(a == ["has_core_ip"] for a in asks)
    assert any("rd_expense" in a or "operating_revenue" in a for a in asks)


def test_years_before_founding_are_zero_so_a_young_firm_is_judged_on_its_own_years(
        tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "enterprise_市场监管.csv").write_text(
        f"uscc,founded_on,status\n{A},2024-05-01,存续\n{B},,存续\n", encoding="utf-8")
    (src / "yearly_enterprise_税务.csv").write_text(
        "uscc,year,operating_revenue,rd_expense\n"
        f"{A},2024,1000000,60000\n{A},2025,3000000,180000\n"
        f"{B},2023,1,1\n{B},2024,1000000,60000\n{B},2025,3000000,180000\n", encoding="utf-8")
    build_snapshot(src, entity="enterprise", as_of=dt.date(2026, 6, 30),
                   out=tmp_path / "e.parquet")
    rows = {r["uscc"]: r for r in pl.read_parquet(tmp_path / "e.parquet").iter_rows(named=True)}
    assert (rows[A]["operating_revenue_y2023"], rows[A]["rd_expense_y2023"]) == (0.0, 0.0)
    assert rows[B]["operating_revenue_y2023"] == 1.0  # a value on record is kept
    text = "sum(rd_expense, years = 3) / sum(operating_revenue, years = 3) >= 6%"
    got = evaluate_policy(_policy(text), rows[A], catalog=load_catalog().entity("enterprise"),
                          sets=bundled_sets(), as_of=dt.date(2026, 6, 30), library={})
    assert got.truth is True  # 240 000 / 4 000 000 over the two years it operated
