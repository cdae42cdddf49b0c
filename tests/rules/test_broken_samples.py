"""One broken policy file per error kind: `mianshen rules check` names the file, line and
column, and says what was expected and what came."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from rules.errors import CODES, PolicyError
from rules.loader import bundled_library, load_library

BROKEN = Path(__file__).parent / "broken"

EXPECTED: dict[str, str] = {
    "syntax-error.yaml": "syntax-error.yaml:11:27: [syntax-error] 期望 数值、文本、日期、名称、'("
    "'、'[' 或 '-'，实际为 '<='",
    "unknown-field.yaml": "unknown-field.yaml:11:14: [unknown-field] 期望 enterprise "
    "目录中的字段或参数，实际为 'employes'；是否应为 'employees'？",
    "multi-line.yaml": "multi-line.yaml:11:11: [unknown-field] 期望 enterprise "
    "目录中的字段或参数，实际为 'employes'；是否应为 'employees'？",
    "unknown-set.yaml": "unknown-set.yaml:11:35: [unknown-set] 期望命名集合，实际为 "
    "'国家限制行业'；是否应为 '国家限制和禁止行业'？",
    "unknown-region.yaml": "unknown-region.yaml:11:26: [unknown-region] 期望行政区划名称(GB/T "
    "2260)，实际为 '广州'；是否应为 '广州市'？",
    "ambiguous-region.yaml": "ambiguous-region.yaml:11:26: [ambiguous-region] 期望唯一的行政区划"
    "名称，实际为 '朝阳区'，同名的有 北京市朝阳区(110105)、吉林省长春市朝阳区(220104)；请写明上级"
    "（如 '北京市朝阳区'）",
    "unknown-policy.yaml": "unknown-policy.yaml:11:14: [unknown-policy] 期望政策库中的政策 id，"
    "实际为 'cit-small-low-proft'；是否应为 'cit-small-low-profit'？",
    "unknown-function.yaml": "unknown-function.yaml:11:14: [unknown-function] 期望 min、max、abs、"
    "year、years_since、months_since、add_years、add_months、eligible 之一，实际为 'floor'",
    "type-mismatch-string-number.yaml": "type-mismatch-string-number.yaml:11:26: [type-mismatch] "
    '期望与 employees 比较的值为数值，实际为 文本 "300"',
    "type-mismatch-date-number.yaml": "type-mismatch-date-number.yaml:11:27: [type-mismatch] "
    "期望与 founded_on 比较的值为日期，实际为 数值 5",
    "type-mismatch-bool-number.yaml": "type-mismatch-bool-number.yaml:11:14: [type-mismatch] 期望 "
    "'+' 的操作数为数值，实际为 被当作数值的真/假值 serious_dishonesty",
    "type-mismatch-non-bool.yaml": "type-mismatch-non-bool.yaml:11:14: [type-mismatch] "
    "期望真/假条件，实际为 数值 employees * 2",
    "unit-mismatch-percent.yaml": "unit-mismatch-percent.yaml:11:34: [unit-mismatch] 期望与 "
    "operating_revenue 比较的值单位为 元，实际为 百分比(%) 5%",
    "unit-mismatch-money-person.yaml": "unit-mismatch-money-person.yaml:11:14: [unit-mismatch] "
    "期望 '+' 两边单位相同，实际为 operating_revenue + employees 中的 元 和 人",
    "unknown-value.yaml": "unknown-value.yaml:11:34: [unknown-value] 期望 vat_taxpayer_type("
    "增值税纳税人类型) 为 一般纳税人、小规模纳税人 之一，实际为 '小规模'；是否应为 "
    "'小规模纳税人'？",
    "entity-mismatch.yaml": "entity-mismatch.yaml:11:14: [entity-mismatch] 期望适用于 person "
    "的政策，实际为 适用于 enterprise 的 'cit-small-low-profit'",
    "missing-period.yaml": "missing-period.yaml:12:1: [missing-period] 期望金额有发放周期 period("
    "once, month, year)，实际没有",
    "bad-period.yaml": "bad-period.yaml:12:33: [bad-period] 期望 period 为 once、month、year "
    "之一，实际为 'weekly'",
    "bad-delivery.yaml": "bad-delivery.yaml:7:11: [bad-delivery] 期望 delivery 为 direct、notice、"
    "apply 之一，实际为 'push'",
    "bad-entity.yaml": "bad-entity.yaml:4:9: [bad-entity] 期望 entity 为 enterprise、person 之一，"
    "实际为 'company'",
    "inverted-effective.yaml": "inverted-effective.yaml:6:35: [inverted-effective] "
    "期望有效期的结束日期不早于 2025-01-01，实际为 2024-12-31",
    "missing-label.yaml": "missing-label.yaml:11:8: [missing-label] 期望条件有中文标签(label)，"
    "实际没有",
    "schema.yaml": "schema.yaml:8:1: [schema] 期望政策的键(id, title, entity, basis, effective, "
    "delivery, parameters, eligibility, amount, exclusivity, budget, description, trigger, "
    "verification, cap, declared)，实际为 'budgett'；是否应为 'budget'？",
    "yaml-error.yaml": "yaml-error.yaml:7:1: [yaml-error] 期望合法的 YAML，实际为 文件已结束，"
    "缺少 ',' 或 '}'",
    "duplicate-id": "duplicate-id/b.yaml:2:5: [duplicate-id] 期望政策 id 不重复，实际为 "
    "'broken-x'，已在 duplicate-id/a.yaml 中",
    "reference-cycle": "reference-cycle/b.yaml:11:14: [reference-cycle] 期望 eligible() "
    "引用不成环，实际为 cycle-a -> cycle-b -> cycle-a",
}


def test_every_sample_is_listed() -> None:
    assert sorted(EXPECTED) == sorted(p.name for p in BROKEN.iterdir())


def test_every_error_code_has_a_sample() -> None:
    shown = {message.split("[")[1].split("]")[0] for message in EXPECTED.values()}
    # internal-error is the checker's last line of defence: a sample of it would be a defect
    assert shown == set(CODES) - {"internal-error"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_broken_sample_reports_exact_message(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN)
    with pytest.raises(PolicyError) as info:
        load_library([name], base=bundled_library())
    assert [str(p) for p in info.value.problems] == [EXPECTED[name]]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_cli_check_fails_with_file_line_column(name: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BROKEN)
    result = CliRunner().invoke(app, ["rules", "check", name])
    assert result.exit_code == 1
    assert EXPECTED[name] in result.stdout


def test_cli_check_passes_on_the_bundled_library() -> None:
    result = CliRunner().invoke(app, ["rules", "check"])
    assert result.exit_code == 0, result.stdout
    from rules.loader import bundled_library

    assert f"政策检查通过: {len(bundled_library())} 项" in result.stdout


def test_cli_check_of_a_good_file_lists_only_that_policy() -> None:
    path = Path(__file__).parents[2] / "rules" / "library" / "six-taxes-two-fees-half.yaml"
    result = CliRunner().invoke(app, ["rules", "check", str(path)])
    assert result.exit_code == 0, result.stdout
    assert "政策检查通过: 1 项" in result.stdout


def test_cli_show_lists_conditions() -> None:
    result = CliRunner().invoke(app, ["rules", "show", "cit-small-low-profit"])
    assert result.exit_code == 0
    assert "年度应纳税所得额不超过300万元" in result.stdout
