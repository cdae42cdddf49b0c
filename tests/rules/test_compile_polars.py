"""The polars compiler's explanation parts (value, threshold, distance, fields) and its
arithmetic edge cases."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from profiles.catalog import load_catalog
from rules.compile_polars import DTYPES, CompiledPolicy, compile_policies
from rules.errors import PolicyError
from rules.loader import Library
from tests.rules.conftest import condition_truth

ENTERPRISE = load_catalog().entity("enterprise")
AS_OF = dt.date(2025, 9, 30)


def _compiled(library: Library, pid: str) -> CompiledPolicy:
    return compile_policies(library.for_entity("enterprise"), catalog=ENTERPRISE,
                            sets=library.sets, as_of=AS_OF)[pid]


def _frame(rows: list[dict]) -> pl.DataFrame:
    schema = {f.name: DTYPES[f.type] for f in ENTERPRISE.fields}
    return pl.DataFrame([{k: r.get(k) for k in schema} for r in rows], schema=schema)


def _expr_values(text: str, rows: list[dict], as_of: dt.date = AS_OF) -> list:
    truth = condition_truth(text, ENTERPRISE, as_of)
    return _frame(rows).select(truth.alias("t"))["t"].to_list()


def test_thresholds_are_readable(library) -> None:
    cit = _compiled(library, "cit-small-low-profit")
    assert [c.threshold for c in cit.conditions] == [
        "= \"存续\"", "= false", "≤ 300万", "≤ 300", "≤ 5000万"]
    gz = _compiled(library, "gz-little-giant-reward")
    assert gz.conditions[0].threshold == "属于 广州市"


def test_distance_says_how_far_from_passing(library) -> None:
    cit = _compiled(library, "cit-small-low-profit")
    employees = cit.conditions[3]
    assert employees.distance is not None and employees.value is not None
    df = _frame([{"employees": 320}, {"employees": 12}, {"employees": None}])
    out = df.select(employees.value.alias("v"), employees.distance.alias("d"))
    assert out.rows() == [(320, 20.0), (12, 0.0), (None, None)]


def test_fields_include_those_of_referenced_policies(library) -> None:
    six = _compiled(library, "six-taxes-two-fees-half")
    assert {"vat_taxpayer_type", "annual_taxable_income", "restricted_industry",
            "individual_business"} <= six.fields
    assert six.conditions[1].fields >= {"employees", "total_assets"}


def test_a_declared_condition_is_unknown_until_declared_then_decides(library) -> None:
    """拥有核心自主知识产权 is declared in the policy (rules.declared): a null column until the
    applicant answers, then the answer decides."""
    ht = _compiled(library, "high-tech-enterprise")
    assert "has_core_ip" in ht.fields
    assert [d.label for d in library["high-tech-enterprise"].declared] == ["拥有核心自主知识产权"]
    rows = pl.DataFrame({"has_core_ip": [None, True, False]}, schema={"has_core_ip": pl.Boolean})
    out = rows.select(ht.conditions[1].truth.alias("t"))
    assert out["t"].to_list() == [None, True, False]


def test_division_by_zero_is_unknown() -> None:
    rows = [{"tech_staff": 1, "employees": 0}, {"tech_staff": 1, "employees": 10}]
    assert _expr_values("tech_staff / employees >= 10%", rows) == [None, True]


def test_min_and_max_are_unknown_when_an_argument_is() -> None:
    rows = [{"employees": 5, "tech_staff": None}, {"employees": 5, "tech_staff": 3}]
    assert _expr_values("min(employees, tech_staff) = 3", rows) == [None, True]
    assert _expr_values("max(employees, tech_staff) = 5", rows) == [None, True]


def test_years_since_counts_the_anniversary_on_the_as_of_date() -> None:
    as_of = dt.date(2025, 3, 1)
    rows = [{"founded_on": dt.date(2024, 3, 1)}, {"founded_on": dt.date(2024, 3, 2)},
            {"founded_on": None}]
    assert _expr_values("years_since(founded_on) >= 1", rows, as_of) == [True, False, None]
    assert _expr_values("months_since(founded_on) >= 12", rows, as_of) == [True, False, None]


def test_list_type_atoms_are_decided_when_empty() -> None:
    rows = [{"little_giant_on": None}]
    assert _expr_values("year(little_giant_on) = 2025", rows) == [False]
    assert _expr_values("year(little_giant_on) != 2025", rows) == [True]
    assert _expr_values("little_giant_on is empty", rows) == [True]
    assert _expr_values("not serious_dishonesty", [{"serious_dishonesty": None}]) == [True]


def test_region_and_set_membership_match_by_prefix() -> None:
    rows = [{"district": "440106"}, {"district": "440306"}, {"district": None}]
    assert _expr_values("district in 广州市", rows) == [True, False, None]
    assert _expr_values("district not in 广州市", rows) == [False, True, None]


def test_policies_of_another_entity_are_refused(library: Library) -> None:
    with pytest.raises(PolicyError, match=r"\[entity-mismatch\]"):
        compile_policies(library, catalog=load_catalog().entity("person"), sets=library.sets,
                         as_of=AS_OF)


def test_date_arithmetic_is_one_rule_in_polars_and_the_interpreter() -> None:
    # 29 February and month ends: a day the target month lacks is its last day (民法典
    # 第二百零二条); the batch and the reference interpreter count alike.
    from rules.semantics import call

    cases = [("years_since(founded_on) >= 1", dt.date(2000, 2, 29), dt.date(2001, 2, 28)),
             ("months_since(founded_on) >= 1", dt.date(2025, 1, 31), dt.date(2025, 2, 28)),
             ("years_since(founded_on) >= 0", dt.date(2025, 3, 2), dt.date(2025, 3, 1)),
             ("add_years(founded_on, 3) < as_of", dt.date(2022, 3, 1), dt.date(2025, 3, 1))]
    got = [_expr_values(text, [{"founded_on": start}], as_of)[0] for text, start, as_of in cases]
    assert got == [True, True, False, False]
    assert [call("years_since", [dt.date(2000, 2, 29)], dt.date(2001, 2, 28)),
            call("months_since", [dt.date(2025, 1, 31)], dt.date(2025, 2, 28)),
            call("years_since", [dt.date(2025, 3, 2)], dt.date(2025, 3, 1)),
            call("add_years", [dt.date(2022, 3, 1), 3], dt.date(2025, 3, 1))] == [
        1, 1, -1, dt.date(2025, 3, 1)]
