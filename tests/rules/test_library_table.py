"""The coverage table docs/library.md stays in sync with the library; expired policies say
已到期; drafts say 待核; the officer's page shows the same rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from rules.coverage import coverage_markdown, coverage_rows, table_date
from rules.loader import bundled_library

DOCS = Path(__file__).resolve().parents[2] / "docs" / "library.md"


def test_docs_library_md_is_the_generated_table_of_the_library() -> None:
    text = DOCS.read_text(encoding="utf-8")
    when = table_date(text)
    assert when is not None, "docs/library.md names no 统计日期"
    assert text == coverage_markdown(bundled_library(), as_of=when), (
        "docs/library.md is out of date: run `mianshen rules table --as-of "
        f"{when.isoformat()}`")


def test_a_policy_ended_the_day_before_is_expired_and_on_its_last_day_is_not() -> None:
    policy = bundled_library()["graduate-hiring-subsidy"]
    assert policy.effective_to == dt.date(2025, 12, 31)
    [last_day] = coverage_rows([policy], as_of=dt.date(2025, 12, 31))
    [after] = coverage_rows([policy], as_of=dt.date(2026, 1, 1))
    assert not last_day.expired and "已到期" not in last_day.period
    assert after.expired and after.period.endswith("（已到期）")


def test_rows_name_region_documents_data_by_department_and_verification() -> None:
    rows = {r.id: r for r in coverage_rows(bundled_library(), as_of=dt.date(2026, 11, 30))}
    assert rows["sh-elderly-allowance"].region == "上海市"
    assert rows["hp-ic-design-revenue-support"].verification == "待核"
    assert "公安：" in rows["sh-elderly-allowance"].data
    assert "本人申报：拥有核心自主知识产权" in rows["high-tech-enterprise"].data
    assert rows["vat-small-scale-exemption"].documents.startswith("财政部 税务总局公告2023年第19号")


def test_rules_table_command_writes_the_table(tmp_path: Path) -> None:
    out = tmp_path / "library.md"
    result = CliRunner().invoke(app, ["rules", "table", "--out", str(out), "--as-of",
                                      "2026-11-30"])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8") == coverage_markdown(bundled_library(),
                                                                as_of=dt.date(2026, 11, 30))
    bad = CliRunner().invoke(app, ["rules", "table", "--out", str(out), "--as-of", "30/11"])
    assert bad.exit_code == 2


def test_each_url_read_is_said_to_be_official_or_a_reproduction() -> None:
    rows = {r.id: r for r in coverage_rows(bundled_library(), as_of=dt.date(2026, 11, 30))}
    assert rows["bj-needy-elderly-service-subsidy"].sources == ("官方",)  # beijing.gov.cn
    assert rows["sh-elderly-allowance"].sources == ("转载",)  # law.esnai.com
    assert rows["sh-disability-living-subsidy"].sources == ("转载", "官方")
    assert rows["cit-small-low-profit"].sources == ()
    text = coverage_markdown(bundled_library(), as_of=dt.date(2026, 11, 30))
    line = next(x for x in text.splitlines() if x.startswith("| `sh-elderly-allowance`"))
    assert "| 转载 |" in line
    assert "| 来源 |" in text and "有原文读自政府网站（来源“官方”）的" in text
