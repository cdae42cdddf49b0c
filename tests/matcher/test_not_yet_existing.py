"""An entity that did not exist yet on the as-of date (born, or founded, later) is decided,
not UNKNOWN: no elderly allowance is pre-filled for someone not yet born, no 高新技术企业
application for a firm not yet founded."""

from __future__ import annotations

import datetime as dt

import polars as pl

from matcher.evaluate import match_frame
from profiles.derive import derive
from profiles.ingest import complete
from rules.loader import bundled_library

AS_OF = dt.date(2025, 10, 1)


def outcomes(raw: pl.DataFrame, entity: str) -> dict[str, str]:
    lib = bundled_library()
    frame = derive(complete(raw, entity=entity), entity=entity, as_of=AS_OF).collect()
    out = match_frame(frame, entity=entity, policies=lib.policies.values(), as_of=AS_OF,
                      sets=lib.sets)
    return dict(zip(out["policy_id"].to_list(), out["outcome"].to_list(), strict=True))


def test_a_person_born_after_the_as_of_date_gets_no_elderly_allowance() -> None:
    found = outcomes(pl.DataFrame({
        "id_number": ["310115202603010016"], "birth_date": [dt.date(2026, 3, 1)],
        "hukou_district": ["310115"], "alive": [True],
    }), "person")
    assert "sh-elderly-allowance" not in found  # ineligible, not undetermined
    assert "family-planning-special-support" not in found


def test_a_firm_founded_after_the_as_of_date_is_not_a_high_tech_candidate() -> None:
    found = outcomes(pl.DataFrame({
        "uscc": ["91440101000000011X"], "founded_on": [dt.date(2026, 1, 1)],
    }), "enterprise")
    assert "high-tech-enterprise" not in found
