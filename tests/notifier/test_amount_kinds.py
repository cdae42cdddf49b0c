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


KINDS = ("cash", "tax_saving", "deduction", "in_kind")
MESSAGES = ("benefit_direct", "benefit_notice", "renewal", "amount_changed",
            "application_decision")


def _item(message: str, kind: str) -> dict[str, object]:
    return {"kind": message, "policy_title": "某项政策", "benefit_period": "2025-06",
            "period_label": "2025年6月", "amount_fen": 200000, "amount_period": "month",
            "amount_kind": kind, "decision": "approved", "reason": None,
            "amount_display": amount_text(200000, period="month", kind=kind),
            "link": "https://x.cn/l/abcdefghijk"}


def test_every_message_words_every_kind_as_what_it_is() -> None:
    """Only cash is money paid (发放, 资金, 收款账户); every other kind shows its own words
    in the e-mail text, its HTML and the SMS."""
    from notifier.sms_text import compose_sms

    words = {"cash": "2,000.00 元/月", "tax_saving": "预计减免税款 2,000.00 元/月",
             "deduction": "可在个税中扣除 2,000.00 元/月",
             "in_kind": "实物或服务，折合 2,000.00 元/月"}
    short = {"cash": "2,000元/月", "tax_saving": "减税2,000元/月", "deduction": "可扣除2,000元/月",
             "in_kind": "折合2,000元/月"}
    for message in MESSAGES:
        for kind in KINDS:
            item = _item(message, kind)
            out = render_message(message, {"recipient": {"entity_kind": "person",
                                                         "display_name": "张*"},
                                           "items": [item]})
            assert words[kind] in out.text and words[kind] in out.html, (message, kind)
            sms = compose_sms(item)
            assert short[kind] in sms, (message, kind, sms)
            if kind != "cash":
                for money_words in ("发放", "资金", "收款账户"):
                    assert money_words not in out.text, (message, kind, out.text)
                assert "可享" not in sms, (message, kind, sms)
            if kind == "deduction":
                assert "享受 2,000" not in out.text and "自动享受" not in sms


def test_pages_word_the_amount_by_the_stored_kind() -> None:
    """The entitlement row keeps the kind of amount the run stored on it (the 个税扣除 is a
    deduction): the page words it from the row, never as 享受 2000 元."""
    import dataclasses
    import datetime as dt

    from api.services.benefits import benefit_public
    from store.entitlements import EntitlementRecord

    fields = EntitlementRecord.__dataclass_fields__
    values: dict[str, object] = {name: None for name in fields}
    values.update(id=1, entity_kind="person", entity_id="P1",
                  policy_id="iit-infant-care-deduction", benefit_period="2025-06",
                  policy_version="v", outcome="eligible", amount_fen=200000,
                  amount_period="month", amount_kind="deduction", delivery="notice",
                  unknown_fields=[], status="new", last_run_id="r1",
                  updated_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC))
    record = EntitlementRecord(**values)  # type: ignore[arg-type]
    shown = benefit_public(record, {})
    assert shown.amount_display == "可在个税中扣除 2,000.00 元/月"
    assert shown.amount_kind == "deduction"
    cash = dataclasses.replace(record, amount_kind="cash")
    assert benefit_public(cash, {}).amount_display == "2,000.00 元/月"
