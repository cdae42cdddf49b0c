from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from profiles.idcheck import (
    USCC_ALPHABET,
    id_number_problem,
    id_number_problems,
    id_number_with_check,
    org_code_with_check,
    uscc_problem,
    uscc_problems,
    uscc_with_check,
)

VALID_USCC = ["91350100M000100Y43"]
# The two examples printed in GB 11643-1999.
VALID_IDS = ["11010519491231002X", "440524188001010014"]


@pytest.mark.parametrize("code", VALID_USCC)
def test_published_uscc_is_valid(code: str) -> None:
    assert uscc_problem(code) is None


@pytest.mark.parametrize("code", VALID_IDS)
def test_published_id_numbers_are_valid(code: str) -> None:
    assert id_number_problem(code) is None


def _substitutions(code: str, alphabet: str) -> list[str]:
    return [
        code[:i] + ch + code[i + 1 :] for i in range(len(code)) for ch in alphabet if ch != code[i]
    ]


def test_every_single_character_change_of_a_uscc_is_caught() -> None:
    corrupted = _substitutions(VALID_USCC[0], USCC_ALPHABET)
    problems = uscc_problems(pl.Series(corrupted))
    assert problems.null_count() == 0
    assert len(corrupted) == 18 * 30


def test_every_single_digit_change_of_an_id_number_is_caught() -> None:
    corrupted = _substitutions(VALID_IDS[0], "0123456789X")
    problems = id_number_problems(pl.Series(corrupted))
    assert problems.null_count() == 0


@pytest.mark.parametrize(
    ("code", "reason_code"),
    [
        ("", "key_missing"),
        ("91350100M000100Y4", "key_length"),
        ("91350100M000100Y433", "key_length"),
        ("91350100M00010OY43", "key_charset"),  # O is not in the alphabet
        ("9135010AM000100Y43", "key_charset"),  # region must be digits
        ("91350100m000100y43", "key_charset"),  # lower case is not normalised here
        ("B1350100M000100Y43", "uscc_department"),
        ("95350100M000100Y43", "uscc_category"),
        ("91350100M000100Y53", "uscc_org_check"),
        ("91350100M000100Y44", "key_check_char"),
    ],
)
def test_uscc_problem_names_the_reason(code: str, reason_code: str) -> None:
    problem = uscc_problem(code)
    assert problem is not None and problem.endswith(f"[{reason_code}]")


@pytest.mark.parametrize(
    ("code", "reason_code"),
    [
        ("1101051949123100", "key_length"),
        ("11010519491231002Y", "key_charset"),
        ("110105194902290021", "id_birth_date"),  # 1949 is not a leap year
        ("110105194913010021", "id_birth_date"),
        ("110105179901010021", "id_birth_date"),  # before 1800
        ("110105194912310021", "key_check_char"),
    ],
)
def test_id_number_problem_names_the_reason(code: str, reason_code: str) -> None:
    problem = id_number_problem(code)
    assert problem is not None and problem.endswith(f"[{reason_code}]")


def test_leap_day_birth_is_a_real_date_in_a_leap_year() -> None:
    first17 = np.array([b"11010520000229002"])
    (code,) = id_number_with_check(first17).to_list()
    assert id_number_problem(code) is None


def test_vector_and_scalar_checks_agree() -> None:
    codes = [*_substitutions(VALID_USCC[0], "0AX")[:40], *VALID_USCC, None, "x"]
    vector = uscc_problems(pl.Series(codes, dtype=pl.String)).to_list()
    assert vector == [uscc_problem(c) for c in codes]  # type: ignore[arg-type]


@settings(max_examples=50, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_generated_usccs_are_valid(seed: int) -> None:
    rng = np.random.default_rng(seed)
    alphabet = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
    bodies = alphabet[rng.integers(0, 31, size=(20, 8))]
    prefix = np.frombuffer(b"91440106" * 20, dtype=np.uint8).reshape(20, 8)
    codes = uscc_with_check(np.concatenate([prefix, org_code_with_check(bodies)], axis=1))
    assert uscc_problems(codes).null_count() == 20


@settings(max_examples=50, deadline=None)
@given(digits=st.text("0123456789", min_size=3, max_size=3), day=st.dates())
def test_generated_id_numbers_are_valid(digits: str, day: object) -> None:
    first17 = f"310115{day:%Y%m%d}{digits}".encode()
    (code,) = id_number_with_check(np.array([first17])).to_list()
    expected_ok = day.year >= 1800  # type: ignore[attr-defined]
    assert (id_number_problem(code) is None) == expected_ok
