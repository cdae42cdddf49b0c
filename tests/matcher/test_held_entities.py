"""An entity held on a data defect: the fields of the quarantined source are UNKNOWN, never
"not listed", in the batch engine and in the reference interpreter alike."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from matcher.evaluate import match_frame
from profiles.catalog import HELD_FIELDS, load_catalog
from profiles.derive import derive
from profiles.ingest import complete
from rules.interpret import evaluate_policy
from rules.loader import bundled_library

AS_OF = dt.date(2025, 10, 1)
POLICY = "sh-disability-living-subsidy"  # needs a disability certificate (残联, list-type)
DISABILITY = ["disability_category", "disability_grade"]


def _frame(*, held: list[str] | None) -> pl.DataFrame:
    people = pl.DataFrame({
        "id_number": ["310101195001011234"], "birth_date": [dt.date(1950, 1, 1)],
        "hukou_district": ["310101"], "alive": [True], "subsistence_status": ["低保"],
        "employed": [False],
    })
    frame = derive(complete(people, entity="person"), entity="person", as_of=AS_OF).collect()
    return frame.with_columns(pl.Series(HELD_FIELDS, [held], dtype=pl.List(pl.String)))


@pytest.mark.parametrize(("held", "expected"), [(None, None), (DISABILITY, "undetermined")])
def test_held_list_fields_are_unknown_in_the_batch_engine(
    held: list[str] | None, expected: str | None
) -> None:
    lib = bundled_library()
    out = match_frame(_frame(held=held), entity="person", policies=[lib[POLICY]], as_of=AS_OF,
                      sets=lib.sets)
    outcomes = dict(out.select("policy_id", "outcome").iter_rows())
    assert outcomes.get(POLICY) == expected  # not held: "not listed", ineligible (absent)
    if held:
        unknown = out.filter(pl.col("policy_id") == POLICY)["unknown_fields"][0].to_list()
        assert "disability_grade" in unknown


@pytest.mark.parametrize(("held", "truth"), [(None, False), (DISABILITY, None)])
def test_held_list_fields_are_unknown_in_the_reference_interpreter(
    held: list[str] | None, truth: bool | None
) -> None:
    lib = bundled_library()
    row = _frame(held=held).row(0, named=True)
    result = evaluate_policy(lib[POLICY], row, catalog=load_catalog().entity("person"),
                             sets=lib.sets, as_of=AS_OF, library=lib.policies)
    assert result.truth is truth
