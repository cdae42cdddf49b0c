from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from profiles.derive import derive


def ages(births: list[date | None], as_of: date) -> list[int | None]:
    df = pl.DataFrame({"birth_date": births}, schema={"birth_date": pl.Date})
    return derive(df, entity="person", as_of=as_of).collect()["age"].to_list()


def test_age_counts_the_birthday_itself() -> None:
    assert ages([date(1945, 6, 15)], date(2025, 6, 15)) == [80]
    assert ages([date(1945, 6, 15)], date(2025, 6, 14)) == [79]


@pytest.mark.parametrize(
    ("as_of", "age"),
    [
        (date(2025, 2, 27), 24),
        (date(2025, 2, 28), 25),  # no 29 Feb in 2025: the anniversary is the last day of February
        (date(2025, 3, 1), 25),
        (date(2024, 2, 28), 23),
        (date(2024, 2, 29), 24),
    ],
)
def test_leap_day_birthdays_reach_the_age_on_28_february_in_common_years(
    as_of: date, age: int
) -> None:
    assert ages([date(2000, 2, 29)], as_of) == [age]


def test_unknown_birth_date_gives_unknown_age() -> None:
    assert ages([None], date(2025, 1, 1)) == [None]


def test_a_person_not_yet_born_has_a_negative_age_and_is_not_alive() -> None:
    out = derive(pl.DataFrame({"birth_date": [date(2030, 1, 1), date(2025, 1, 2)],
                               "alive": [True, None]}),
                 entity="person", as_of=date(2025, 1, 1)).collect()
    assert out["age"].to_list() == [-5, -1]
    assert out["alive"].to_list() == [False, False]


def test_newborn_is_zero_on_the_day_of_birth() -> None:
    assert ages([date(2025, 1, 1)], date(2025, 1, 1)) == [0]


def enterprise(**columns: list[object]) -> dict[str, list[object]]:
    return (
        derive(pl.DataFrame(columns), entity="enterprise", as_of=date(2025, 7, 1))
        .collect()
        .to_dict(as_series=False)
    )


def test_years_since_founding_is_in_full_years_as_of_the_date() -> None:
    out = enterprise(founded_on=[date(2024, 7, 1), date(2024, 7, 2), date(2026, 1, 1), None])
    assert out["years_since_founding"] == [1, 0, -1, None]  # founded later: not yet a firm


def test_layoff_rate_is_decided_when_nobody_was_laid_off() -> None:
    out = enterprise(
        layoffs_last_year=[0, 0, 3, 3, None, 2], insured_employees=[None, 0, 60, 0, 10, None]
    )
    assert out["layoff_rate"] == [0.0, 0.0, 0.05, None, None, None]


def test_rd_ratio_follows_the_same_three_valued_rule() -> None:
    out = enterprise(
        rd_expense=[0.0, 50.0, 50.0, None], operating_revenue=[None, 1000.0, 0.0, 1000.0]
    )
    assert out["rd_ratio"] == [0.0, 0.05, None, None]


def test_region_is_the_full_name_of_a_known_district_only() -> None:
    out = enterprise(district=["440106", "310115", "110108", "999999", None])
    assert out["region"] == ["广东省广州市天河区", "上海市浦东新区", "北京市海淀区", None, None]


def test_hukou_region_is_derived_for_persons() -> None:
    df = pl.DataFrame({"hukou_district": ["110105", "4401xx"]})
    out = derive(df, entity="person", as_of=date(2025, 1, 1)).collect()
    assert out["hukou_region"].to_list() == ["北京市朝阳区", None]


def test_size_class_is_added_and_missing_inputs_count_as_unknown() -> None:
    out = enterprise(industry_code=["3911", "3911"], operating_revenue=[1_000_000.0, 100_000_000.0])
    assert out["size_class"] == ["微型", None]
    assert "employees" not in out  # derive adds tags, not the absent inputs


def test_unknown_entity_is_refused() -> None:
    from profiles.errors import UnknownEntityError

    with pytest.raises(UnknownEntityError):
        derive(pl.DataFrame({"a": [1]}), entity="household", as_of=date(2025, 1, 1))


def test_region_name_is_the_name_of_every_known_code_and_null_otherwise() -> None:
    """The search of the sorted codes finds every district's name, and nothing for codes
    that are not districts (prefixes, padding, text, null)."""
    from profiles.derive import region_name
    from profiles.regions import load_regions

    regions = load_regions()
    codes = sorted(regions.districts)
    junk = [None, "", "0", "000000", "999999", "11", "1101050", " 110105", "110105 ", "zz",
            *(c[:5] for c in codes[:20]), *(c + "0" for c in codes[-20:])]
    df = pl.DataFrame({"c": codes + junk}, schema={"c": pl.String})
    got = df.select(region_name(pl.col("c"))).to_series().to_list()
    assert got == [regions.name_of(c) for c in codes] + [None] * len(junk)
