"""Each kind of amount is worded as what it is: a deduction is never money received."""

from __future__ import annotations

from notifier.rendering import render_message
from store.money import amount_text


def _payload(kind: str) -> dict[str, object]:
    return {
        "recipient": {"entity_kind": "person", "display_name": "张*"},
        "items": [{"kind": "benefit_notice", "policy_title": "婴幼儿照护专项附加扣除",
                   "benefit_period": "2025-06", "period_label": "2025年6月",
                   "amount_fen": 200000, "amount_period": "month", "amount_kind": kind,
                   "amount_display": amount_text(200000, period="month", kind=kind),
                   "link": "https://x.cn/l/abcdefghijk"}],
    }


def test_a_deduction_reads_as_deductible_not_as_money_received() -> None:
    text = render_message("benefit_notice", _payload("deduction"))
    assert "可在个税中扣除 2,000.00 元/月" in text.text
    assert "享受 2,000.00" not in text.text and "享受 可在" not in text.text
    assert "可在个税中扣除 2,000.00 元/月" in text.html


def test_cash_keeps_its_wording_and_each_kind_has_its_own() -> None:
    assert "已为您自动享受 2,000.00 元/月" in render_message("benefit_notice",
                                                          _payload("cash")).text
    assert amount_text(100, period="year", kind="tax_saving") == "预计减免税款 1.00 元/年"
    assert amount_text(100, period="once", kind="in_kind") == "实物或服务，折合 1.00 元(一次性)"
    assert amount_text(None, period="month", kind="deduction") == "可在个税中扣除 待核定"
