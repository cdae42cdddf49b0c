"""Every rendered message, of every kind, for generated changes and profiles full of personal
data, is scanned: no full ID number, no full phone number; a payload that would show one is
refused before it reaches any channel."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.errors import TemplateMissingError, UnmaskedPersonalDataError
from notifier.links import Links
from notifier.masking import find_unmasked
from notifier.model import MESSAGE_KINDS, EntitlementChange, Recipient
from notifier.planning import plan_messages
from notifier.rendering import render_message

from .conftest import PERSON_FIELDS, PERSON_PROFILE

LINKS = Links(base_url="https://mianshen.example.cn", secret=b"k")

person_ids = st.builds(
    lambda born, seq: f"310101{born:%Y%m%d}{seq:03d}5",
    st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2020, 1, 1)),
    st.integers(0, 999),
)
changes = st.builds(
    EntitlementChange,
    entity_kind=st.just("person"),
    entity_id=person_ids,
    policy_id=st.sampled_from(["sh-elderly-allowance", "sh-severe-disability-care-subsidy",
                               "iit-infant-care-deduction"]),
    policy_version=st.just("v1"),
    policy_title=st.sampled_from(["上海市老年综合津贴", "重度残疾人护理补贴(上海)"]),
    benefit_period=st.sampled_from(["2025-06", "2025", "once"]),
    change=st.sampled_from(["new", "revoked", "amount_changed", "renewed", "decided"]),
    outcome=st.sampled_from(["eligible", "undetermined"]),
    amount_fen=st.one_of(st.none(), st.integers(0, 200_000_000)),
    entitlement_id=st.one_of(st.none(), st.integers(1, 10**9)),
    decision=st.sampled_from([None, "approved", "rejected"]),
    amount_period=st.sampled_from(["once", "month", "year", None]),
    delivery=st.sampled_from(["direct", "notice", "apply"]),
    reason=st.one_of(st.none(), st.just("不再符合条件")),
    unknown_fields=st.sampled_from([(), ("needs_long_term_care",), ("employed",)]),
)


@settings(max_examples=40, deadline=None)
@given(st.lists(changes, min_size=1, max_size=6))
def test_no_rendered_message_shows_a_full_id_or_phone(batch: list[EntitlementChange]) -> None:
    entities = {c.entity_id for c in batch}
    recipients = {
        ("person", e): Recipient(entity_kind="person", entity_id=e, display_name="王小明",
                                 addresses={"phone": "13912345678", "email": "w@example.cn"})
        for e in entities
    }
    profiles = {("person", e): {**PERSON_PROFILE, "id_number": e} for e in entities}
    planned = plan_messages(
        batch, links=LINKS, as_of=dt.date(2025, 6, 1), recipients=recipients,
        profiles=profiles, fields={c.policy_id: PERSON_FIELDS for c in batch},
    )
    assert planned
    for message in planned:
        rendered = render_message(message.kind, message.payload)  # raises if unmasked
        for part in rendered.parts():
            assert find_unmasked(part) == ()
            for entity in entities:
                assert entity not in part
            # never an amount next to a full ID: no 17-digit run at all near a yuan amount
            assert not re.search(r"\d{17}[\dX].{0,40}元", part)


def test_payload_that_would_show_a_full_id_is_refused() -> None:
    payload = {
        "recipient": {"entity_kind": "person", "display_name": "310101195001011234"},
        "items": [{"kind": "benefit_notice", "policy_title": "t", "benefit_period": "2025",
                   "amount_display": "100.00 元/月"}],
    }
    with pytest.raises(UnmaskedPersonalDataError) as caught:
        render_message("benefit_notice", payload)
    assert caught.value.findings == ("id_number",)
    assert "310101195001011234" not in str(caught.value)


def test_every_message_kind_has_a_template() -> None:
    item = {"kind": "benefit_notice", "policy_title": "t", "benefit_period": "2025",
            "amount_display": "待核定", "reason": None, "confirm_url": "https://x/c",
            "application_url": "https://x/a",
            "application": {"policy_title": "t", "benefit_period": "2025", "as_of": "2025-06-01",
                            "prefilled": [], "to_fill": []}}
    for kind in MESSAGE_KINDS:
        payload = {"recipient": {"display_name": None}, "items": [{**item, "kind": kind}]}
        rendered = render_message(kind, payload)
        assert rendered.subject and rendered.sms and rendered.text and rendered.html
    with pytest.raises(TemplateMissingError):
        render_message("fax", {})
