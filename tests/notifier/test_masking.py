"""Masking: ID numbers and phones are masked in the shape the issue asks, and the scanner
finds any that are not."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from notifier.masking import find_unmasked, mask_id, mask_name, mask_phone


def test_id_number_is_masked_to_first_four_and_last_four() -> None:
    assert mask_id("310101195001011234") == "3101**********1234"
    assert mask_id("11010519491231002X") == "1101**********002X"


def test_phone_is_masked_to_first_three_and_last_four() -> None:
    assert mask_phone("13800000000") == "138****0000"
    assert mask_phone("+86 138-0000-0000") == "138****0000"


def test_name_keeps_only_the_family_name() -> None:
    assert mask_name("张三丰") == "张**"
    assert mask_name("李") == "李*"


def test_uscc_and_amounts_are_not_taken_for_personal_data() -> None:
    assert find_unmasked("统一社会信用代码 91310115MA1K3YJ40X，金额 1,000,000.00 元") == ()
    assert find_unmasked("订单号 13800000000123") == ()  # longer digit run: not a phone


ids = st.builds(
    lambda region, born, seq, check: f"{region}{born:%Y%m%d}{seq:03d}{check}",
    st.sampled_from(["310101", "110105", "440106"]),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)),
    st.integers(0, 999),
    st.sampled_from(list("0123456789X")),
)
phones = st.builds(lambda p, rest: f"1{p}{rest:09d}", st.sampled_from("3456789"),
                   st.integers(0, 10**9 - 1))
prose = st.text(alphabet="您好，已为您办理津贴。金额元月", max_size=20)


@given(ids, prose, prose)
def test_scanner_finds_any_full_id_number_in_text(id_number: str, a: str, b: str) -> None:
    assert "id_number" in find_unmasked(a + id_number + b)
    assert find_unmasked(a + mask_id(id_number) + b) == ()


@given(phones, prose, prose)
def test_scanner_finds_any_full_mobile_number_in_text(phone: str, a: str, b: str) -> None:
    assert find_unmasked(a + phone + b) == ("phone",)
    assert find_unmasked(a + mask_phone(phone) + b) == ()
