"""`mianshen match` and `mianshen explain` on real files, bad rows included."""

from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from api.cli import app
from tests.matcher.conftest import valid_uscc

runner = CliRunner()

GOOD_A = valid_uscc("9144010600000000")
GOOD_B = valid_uscc("9144010600000001")
COLUMNS = ["uscc", "name", "district", "industry_code", "founded_on", "status", "employees",
           "operating_revenue", "total_assets", "annual_taxable_income", "vat_taxpayer_type",
           "monthly_sales", "restricted_industry"]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        w.writerows(rows)


def sample(tmp_path: Path, *, encoding: str = "utf-8") -> Path:
    path = tmp_path / "profiles.csv"
    write_csv(path, [
        [GOOD_A, "广州甲科技有限公司", "440106", "6510", "2015-03-01", "存续", "80", "30000000",
         "20000000", "1200000", "小规模纳税人", "90000", "false"],
        [GOOD_B, "广州乙贸易有限公司", "440106", "5110", "2019-05-01", "存续", "12", "8000000",
         "3000000", "3500000", "一般纳税人", "", "false"],
        ["91440106000000000X", "坏校验码公司", "440106", "5110", "2019-05-01", "存续", "12",
         "1", "1", "1", "一般纳税人", "1", "false"],
        [valid_uscc("9144010600000002"), "负人数公司", "440106", "5110", "2019-05-01", "存续",
         "-3", "1", "1", "1", "一般纳税人", "1", "false"],
    ], encoding=encoding)
    return path


def test_match_writes_outcomes_and_quarantines_bad_rows(tmp_path):
    src = sample(tmp_path)
    out, rejects = tmp_path / "out.csv", tmp_path / "rejects.csv"
    result = runner.invoke(app, ["match", "--entity", "enterprise", "--profiles", str(src),
                                 "--as-of", "2025-10-01", "--out", str(out),
                                 "--rejects", str(rejects)])
    assert result.exit_code == 0, result.output
    outcomes = pl.read_csv(out)
    assert outcomes.columns == ["entity_id", "policy_id", "policy_version", "outcome",
                                "amount_fen", "amount_period", "delivery", "unknown_fields",
                                "amount_yuan"]
    pairs = {(r["entity_id"], r["policy_id"]): r for r in outcomes.iter_rows(named=True)}
    assert pairs[(GOOD_A, "cit-small-low-profit")]["outcome"] == "eligible"
    assert pairs[(GOOD_A, "vat-small-scale-exemption")]["amount_fen"] == 90000
    assert (GOOD_B, "cit-small-low-profit") not in pairs  # income 350万 > 300万
    bad = pl.read_csv(rejects)
    assert bad.height == 2
    assert {"row_number", "key", "reason"} <= set(bad.columns)
    assert "读取 4 行" in result.output and "拒收 2 行" in result.output


def test_match_reads_parquet_and_gb18030(tmp_path):
    src = sample(tmp_path, encoding="gb18030")
    out = tmp_path / "out.parquet"
    result = runner.invoke(app, ["match", "--entity", "enterprise", "--profiles", str(src),
                                 "--as-of", "2025-10-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pl.read_parquet(out).schema["unknown_fields"] == pl.List(pl.String)


def test_match_refuses_a_bad_date_with_a_clear_message(tmp_path):
    result = runner.invoke(app, ["match", "--entity", "enterprise", "--profiles",
                                 str(sample(tmp_path)), "--as-of", "2025/10/01",
                                 "--out", str(tmp_path / "o.csv")])
    assert result.exit_code == 2
    assert "YYYY-MM-DD" in result.output and "2025/10/01" in result.output


def test_explain_shows_what_is_missing_for_an_ineligible_firm(tmp_path):
    result = runner.invoke(app, ["explain", "--entity", "enterprise", "--profiles",
                                 str(sample(tmp_path)), "--id", GOOD_B, "--policy",
                                 "cit-small-low-profit", "--as-of", "2025-10-01"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "小型微利企业所得税优惠" in text and "不符合" in text
    assert "✗ 不满足  年度应纳税所得额不超过300万元" in text
    # requirement in plain Chinese, money to the fen, the distance in words
    assert "当前：3,500,000.00 元" in text and "不超过 300 万元" in text
    assert "超出 50 万元" in text and "<=" not in text


def test_explain_unknown_entity_is_an_error(tmp_path):
    result = runner.invoke(app, ["explain", "--entity", "enterprise", "--profiles",
                                 str(sample(tmp_path)), "--id", "NOPE", "--as-of", "2025-10-01"])
    assert result.exit_code == 1
    assert "NOPE" in result.output


def test_match_reads_a_typed_parquet_profile_table(tmp_path):
    src = tmp_path / "profiles.parquet"
    typed = pl.read_csv(sample(tmp_path), infer_schema_length=None)
    typed.with_columns(pl.col("founded_on").str.to_date()).write_parquet(src)
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["match", "--entity", "enterprise", "--profiles", str(src),
                                 "--as-of", "2025-10-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "读取 4 行" in result.output and "拒收 2 行" in result.output
    pairs = {(r["entity_id"], r["policy_id"]) for r in pl.read_csv(out).iter_rows(named=True)}
    assert (GOOD_A, "cit-small-low-profit") in pairs
