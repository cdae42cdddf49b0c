"""The guided editor's form and the text view stay in sync both ways: every bundled policy
reads into a form and writes back byte for byte; a change in the form changes only its part of
the text (comments kept); problems point at the form row they concern."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.models.editor import AmountForm, GroupForm, RowForm
from api.services.policy_form import editor_state, form_of_text, picker_names, text_of_form
from rules.loader import bundled_library, library_dir
from rules.sets import bundled_sets

NAMES = picker_names(bundled_sets())
FILES = sorted(p for p in library_dir().glob("*.yaml") if p.name != "sets.yaml")


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_every_bundled_policy_round_trips_through_the_form(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    form = form_of_text(text)
    assert text_of_form(form, base=text, names=NAMES) == text
    fresh = text_of_form(form, names=NAMES)  # written from the form alone
    state = editor_state(fresh, base=bundled_library())
    assert state.valid, state.problems
    assert state.policy is not None
    assert state.policy["id"] == form.id


def test_a_row_edit_changes_its_line_only_and_keeps_comments() -> None:
    text = (library_dir() / "cit-small-low-profit.yaml").read_text(encoding="utf-8")
    form = form_of_text(text)
    rows = [i for i in form.eligibility.items if isinstance(i, RowForm)]
    employees = next(r for r in rows if r.field == "employees")
    assert (employees.op, employees.value, employees.structured) == ("<=", "300", True)
    employees.value = "200"
    employees.label = ""  # the officer left it empty: a label is written for them
    new = text_of_form(form, base=text, names=NAMES)
    changed = [(a, b) for a, b in zip(text.splitlines(), new.splitlines(), strict=True) if a != b]
    assert len(changed) == 1
    assert "employees <= 200" in changed[0][1] and "从业人数不超过200人" in changed[0][1]
    assert new.splitlines()[0].startswith("#"), "the header comment is kept"


def test_a_new_policy_written_from_the_form_alone_checks() -> None:
    form = form_of_text("id: x\n")
    form.id, form.title, form.entity = "new-subsidy", "新补贴", "enterprise"
    form.basis.document = "测试文号"
    form.effective.from_ = "2025-01-01"
    form.eligibility = GroupForm(kind="all", items=[
        RowForm(structured=True, field="status", op="=", value="存续"),
        RowForm(structured=True, field="district", op="in", value="广州市"),
        GroupForm(kind="any", items=[
            RowForm(structured=True, field="employees", op=">=", value="10"),
            RowForm(structured=True, field="vat_taxpayer_type", op="in",
                    value="一般纳税人、小规模纳税人"),
        ]),
    ])
    form.amount = AmountForm(kind="tiers", by="employees", period="once",
                             tiers=[{"from": "0", "value": "1000"},  # type: ignore[list-item]
                                    {"from": "50", "value": "5000"}])
    text = text_of_form(form, names=NAMES)
    assert 'district in 广州市' in text and "[[0, 1000], [50, 5000]]" not in text
    state = editor_state(text, base=bundled_library())
    assert state.valid, state.problems
    assert state.policy is not None and len(state.policy["conditions"]) == 4


def test_problems_name_the_row_they_concern() -> None:
    text = (library_dir() / "cit-small-low-profit.yaml").read_text(encoding="utf-8")
    bad = text.replace("total_assets <= 5000万", "total_asets <= 5000万")
    state = editor_state(bad, base=bundled_library())
    assert not state.valid
    [problem] = state.problems
    assert problem.code == "unknown-field" and problem.suggestion == "total_assets"
    assert problem.target is not None and problem.target.startswith("row:")
    index = int(problem.target.split(":")[1])
    assert state.form is not None
    row = state.form.eligibility.items[index]
    assert isinstance(row, RowForm) and "total_asets" in row.when


def test_text_that_is_not_yaml_keeps_the_form_away_with_a_reason() -> None:
    state = editor_state("id: [unclosed\n", base=bundled_library())
    assert state.form is None and state.form_error and "YAML" in state.form_error
    assert not state.valid and state.problems[0].code == "yaml-error"


def test_dated_list_parameters_and_declared_conditions_round_trip_through_the_form() -> None:
    text = (library_dir() / "high-tech-enterprise.yaml").read_text(encoding="utf-8")
    text = text.replace("eligibility:", "parameters:\n  batches: {2025-01-01: [2024, 2025]}\n"
                        "  bands: {2025-01-01: [[65, 75], [70, 150]]}\n"
                        "eligibility:", 1)
    form = form_of_text(text)
    assert [(d.name, d.label, d.type) for d in form.declared] == [
        ("has_core_ip", "拥有核心自主知识产权", "bool")]
    assert form.parameters[0].values[0].value == "[2024, 2025]"
    fresh = text_of_form(form, names=NAMES)
    assert "batches: {2025-01-01: [2024, 2025]}" in fresh
    assert "bands: {2025-01-01: [[65, 75], [70, 150]]}" in fresh
    assert "{name: has_core_ip, label: 拥有核心自主知识产权, type: bool" in fresh
