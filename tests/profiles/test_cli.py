from __future__ import annotations

from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def test_synth_then_build_prints_counts_in_chinese(tmp_path: Path) -> None:
    src = tmp_path / "src"
    result = runner.invoke(
        app,
        [
            "profiles",
            "synth",
            "--enterprises",
            "50",
            "--persons",
            "60",
            "--out",
            str(src),
            "--seed",
            "2",
            "--bad-rows",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "已生成" in result.output and "enterprise_税务.csv" in result.output
    out = tmp_path / "p.parquet"
    result = runner.invoke(
        app,
        [
            "profiles",
            "build",
            "--sources",
            str(src),
            "--entity",
            "person",
            "--as-of",
            "2026-01-01",
            "--out",
            str(out),
            "--rejects",
            str(tmp_path / "r.csv"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "画像 60 条" in result.output and "拒收 3 行" in result.output
    assert pl.read_parquet(out).height == 60
    assert pl.read_csv(tmp_path / "r.csv").height == 3


def test_build_refuses_bad_arguments_with_a_message(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        [
            "profiles",
            "build",
            "--sources",
            str(tmp_path),
            "--entity",
            "household",
            "--as-of",
            "2026-01-01",
            "--out",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2 and "enterprise 或 person" in result.output
    result = runner.invoke(
        app,
        [
            "profiles",
            "build",
            "--sources",
            str(tmp_path),
            "--entity",
            "person",
            "--as-of",
            "2026-13-01",
            "--out",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 2 and "YYYY-MM-DD" in result.output
    result = runner.invoke(
        app,
        [
            "profiles",
            "build",
            "--sources",
            str(tmp_path),
            "--entity",
            "person",
            "--as-of",
            "2026-01-01",
            "--out",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code == 1 and "没有" in result.output
