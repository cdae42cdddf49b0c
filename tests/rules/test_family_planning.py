"""计划生育家庭特别扶助金 (财社〔2022〕49号) with the spouse from the household register:
both spouses born on or after 1933-01-01, the wife aged 49 or more (a man is judged on his
wife's age), boundaries from the text; the polars plan and the interpreter agree."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
import pytest

from tests.rules.households import decide_over_households

AS_OF = dt.date(2025, 9, 30)
PID = "family-planning-special-support"
# 17th character odd: 男, even: 女 (check characters are not verified on this path)
HUSBAND, WIFE, OTHER_MAN, OTHER_WOMAN = ("110105197001010011", "110105197001010021",
                                         "110105197001010031", "110105197001010041")


def _decide(library: Any, people: list[dict[str, Any]], register: list[tuple[str, str, str]]
            ) -> dict[str, tuple[bool | None, float | None]]:
    """(truth, amount) per person, by the polars plan, asserting the interpreter agrees."""
    frame = pl.DataFrame(people, schema={"id_number": pl.String, "birth_date": pl.Date,
                                         "only_child_status": pl.String,
                                         "only_child_disability_grade": pl.Int64})
    return decide_over_households(library, PID, frame, register, as_of=AS_OF)


def _person(pid: str, born: dt.date | None, status: str | None = "死亡",
            grade: int | None = None) -> dict[str, Any]:
    return {"id_number": pid, "birth_date": born, "only_child_status": status,
            "only_child_disability_grade": grade}


def _couple(husband_born: dt.date | None, wife_born: dt.date | None, **kw: Any
            ) -> list[dict[str, Any]]:
    return [_person(HUSBAND, husband_born, **kw), _person(WIFE, wife_born, **kw)]


COUPLE = [("H1", HUSBAND, "户主"), ("H1", WIFE, "配偶")]
WIFE_49_TODAY = dt.date(1976, 9, 30)  # 49 on the as-of date itself


def test_a_52_year_old_husband_is_judged_on_his_wifes_age(library: Any) -> None:
    wife_48 = _decide(library, _couple(dt.date(1973, 1, 1), dt.date(1976, 10, 1)), COUPLE)
    assert wife_48[HUSBAND][0] is False and wife_48[WIFE][0] is False
    wife_49 = _decide(library, _couple(dt.date(1973, 1, 1), WIFE_49_TODAY), COUPLE)
    assert wife_49 == {HUSBAND: (True, 590.0), WIFE: (True, 590.0)}  # each spouse is paid


def test_wife_aged_49_on_her_birthday_qualifies_the_household_either_way_round(
        library: Any) -> None:
    register = [("H1", WIFE, "户主"), ("H1", HUSBAND, "配偶")]
    out = _decide(library, _couple(dt.date(1940, 1, 1), WIFE_49_TODAY), register)
    assert out[HUSBAND][0] is True and out[WIFE][0] is True


@pytest.mark.parametrize(("spouse_born", "want"), [
    (dt.date(1933, 1, 1), True), (dt.date(1932, 12, 31), False), (None, None)])
def test_both_spouses_born_on_or_after_1933(library: Any, spouse_born: dt.date | None,
                                            want: bool | None) -> None:
    out = _decide(library, _couple(spouse_born, dt.date(1960, 1, 1)), COUPLE)
    assert out[WIFE][0] is want
    assert out[HUSBAND][0] is (None if spouse_born is None else want)


def test_without_a_spouse_on_record_a_woman_is_judged_alone_a_man_is_unknown(
        library: Any) -> None:
    people = [_person(OTHER_WOMAN, dt.date(1970, 1, 1), "伤残", 3),
              _person(OTHER_MAN, dt.date(1950, 1, 1), "伤残", 2)]
    register = [("H2", OTHER_WOMAN, "户主"), ("H3", OTHER_MAN, "户主")]
    out = _decide(library, people, register)
    assert out[OTHER_WOMAN] == (True, 460.0)
    assert out[OTHER_MAN][0] is None  # undetermined: a pre-filled application asks


def test_absent_from_the_household_register_is_unknown_never_ineligible(library: Any) -> None:
    out = _decide(library, [_person(OTHER_WOMAN, dt.date(1970, 1, 1))], [])
    assert out[OTHER_WOMAN][0] is None


def test_only_child_conditions_still_decide(library: Any) -> None:
    for status, grade, want in (("伤残", 4, False), ("无", None, False), (None, None, False)):
        out = _decide(library, _couple(dt.date(1960, 1, 1), dt.date(1962, 1, 1),
                                       status=status, grade=grade), COUPLE)
        assert out[WIFE][0] is want, (status, grade)
