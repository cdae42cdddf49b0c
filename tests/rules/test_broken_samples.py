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
    "syntax-error.yaml": "syntax-error.yaml:11:27: [syntax-error] expected a number, string, "
    "date, name, '(', '[' or '-', got '<='",
    "unknown-field.yaml": "unknown-field.yaml:11:14: [unknown-field] expected a field of the "
    "enterprise catalog or a parameter, got 'employes'; did you mean 'employees'?",
    "multi-line.yaml": "multi-line.yaml:11:11: [unknown-field] expected a field of the "
    "enterprise catalog or a parameter, got 'employes'; did you mean 'employees'?",
    "unknown-set.yaml": "unknown-set.yaml:11:35: [unknown-set] expected a named set, got "
    "'国家限制行业'; did you mean '国家限制和禁止行业'?",
    "unknown-region.yaml": "unknown-region.yaml:11:26: [unknown-region] expected a region name "
    "(GB/T 2260), got '广州'; did you mean '广州市'?",
    "unknown-policy.yaml": "unknown-policy.yaml:11:14: [unknown-policy] expected the id of a "
    "policy in the library, got 'cit-small-low-proft'; did you mean 'cit-small-low-profit'?",
    "unknown-function.yaml": "unknown-function.yaml:11:14: [unknown-function] expected one of "
    "min, max, abs, year, years_since, months_since, add_years, add_months, eligible; got "
    "'floor'",
    "type-mismatch-string-number.yaml": "type-mismatch-string-number.yaml:11:26: "
    "[type-mismatch] expected a number to compare with employees, got a string \"300\"",
    "type-mismatch-date-number.yaml": "type-mismatch-date-number.yaml:11:27: [type-mismatch] "
    "expected a date to compare with founded_on, got a number 5",
    "type-mismatch-bool-number.yaml": "type-mismatch-bool-number.yaml:11:14: [type-mismatch] "
    "expected a number for '+', got bool used as a number serious_dishonesty",
    "type-mismatch-non-bool.yaml": "type-mismatch-non-bool.yaml:11:14: [type-mismatch] "
    "expected a true/false condition, got a number employees * 2",
    "unit-mismatch-percent.yaml": "unit-mismatch-percent.yaml:11:34: [unit-mismatch] expected "
    "a value in yuan (元) to compare with operating_revenue, got ratio (%) 5%",
    "unit-mismatch-money-person.yaml": "unit-mismatch-money-person.yaml:11:14: [unit-mismatch] "
    "expected both sides of '+' in one unit, got yuan (元) and persons (人) in "
    "operating_revenue + employees",
    "unknown-value.yaml": "unknown-value.yaml:11:34: [unknown-value] expected one of "
    "一般纳税人, 小规模纳税人 for vat_taxpayer_type (增值税纳税人类型), got '小规模'; "
    "did you mean '小规模纳税人'?",
    "entity-mismatch.yaml": "entity-mismatch.yaml:11:14: [entity-mismatch] expected a policy "
    "for person, got 'cit-small-low-profit' for enterprise",
    "missing-period.yaml": "missing-period.yaml:12:1: [missing-period] expected an amount "
    "period (once, month, year), got none",
    "bad-period.yaml": "bad-period.yaml:12:33: [bad-period] expected period one of once, "
    "month, year, got 'weekly'",
    "bad-delivery.yaml": "bad-delivery.yaml:7:11: [bad-delivery] expected delivery one of "
    "direct, notice, apply, got 'push'",
    "bad-entity.yaml": "bad-entity.yaml:4:9: [bad-entity] expected entity one of enterprise, "
    "person, got 'company'",
    "inverted-effective.yaml": "inverted-effective.yaml:6:35: [inverted-effective] expected "
    "the end of the effective period on or after 2025-01-01, got 2024-12-31",
    "missing-label.yaml": "missing-label.yaml:11:8: [missing-label] expected a Chinese label "
    "for the condition, got none",
    "schema.yaml": "schema.yaml:8:1: [schema] expected a key of a policy (id, title, entity, "
    "basis, effective, delivery, parameters, eligibility, amount, exclusivity, budget, "
    "description, trigger, verification, cap), got 'budgett'; did you mean 'budget'?",
    "yaml-error.yaml": "yaml-error.yaml:7:1: [yaml-error] 期望合法的 YAML，实际为 文件已结束，"
    "缺少 ',' 或 '}'",
    "duplicate-id": "duplicate-id/b.yaml:2:5: [duplicate-id] expected a unique policy id, got "
    "'broken-x' already in duplicate-id/a.yaml",
    "reference-cycle": "reference-cycle/b.yaml:11:14: [reference-cycle] expected eligible() "
    "references without a cycle, got cycle-a -> cycle-b -> cycle-a",
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
