"""Planning: each change becomes the right kind of message, a recipient gets one digest per
run (SMS: one text per change), keys are (entity, policy, benefit period, kind of change),
opt-outs and preferences are honoured, unknown amounts read 待核定."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from notifier.links import Links, link_id
from notifier.model import Recipient
from notifier.planning import item_key, item_kind, plan_messages
from notifier.rendering import render_message

from .conftest import ENTERPRISE_ID, PERSON_ID, change

AS_OF = dt.date(2025, 6, 1)


def test_each_delivery_mode_and_change_maps_to_its_message_kind() -> None:
    assert item_kind(change(delivery="direct")) == "benefit_direct"
    assert item_kind(change(delivery="notice")) == "benefit_notice"
    assert item_kind(change(delivery="apply")) == "application"
    for delivery in ("direct", "notice", "apply"):
        assert item_kind(change(delivery=delivery, outcome="undetermined")) == "application"
    assert item_kind(change(change="revoked", reason="已迁出本市")) == "revocation"
    assert item_kind(change(change="amount_changed")) == "amount_changed"


def test_outcomes_that_push_nothing_are_not_planned(links: Links) -> None:
    changes = [change(outcome=o) for o in ("ineligible", "superseded", "over_budget")]
    assert [item_kind(c) for c in changes] == [None, None, None]
    assert plan_messages(changes, links=links, as_of=AS_OF) == []


def test_a_recipient_gets_one_digest_listing_all_its_new_benefits(links: Links) -> None:
    changes = [
        change(policy_id="a", policy_title="甲津贴"),
        change(policy_id="b", policy_title="乙补贴", delivery="notice", amount_fen=None),
        change(policy_id="c", policy_title="丙补助", delivery="apply"),
        change(entity_id="310101195501011238", policy_id="a", policy_title="甲津贴"),
    ]
    planned = plan_messages(changes, links=links, as_of=AS_OF)
    by_recipient = {m.recipient_id: m for m in planned}
    assert len(planned) == 2  # two recipients, in-app inbox only
    digest = by_recipient[PERSON_ID]
    assert digest.kind == "digest"
    rendered = render_message("digest", digest.payload)
    for title in ("甲津贴", "乙补贴", "丙补助"):
        assert title in rendered.text and title in rendered.html
    # a digest's short text points to the inbox (SMS itself carries one change a text)
    assert "3项" in rendered.sms and "https://mianshen.example.cn/me" in rendered.sms
    assert "3 项" in rendered.subject
    assert "待核定" in rendered.text
    single = by_recipient["310101195501011238"]
    assert single.kind == "benefit_direct"


def test_digest_off_sends_one_message_per_change(links: Links) -> None:
    changes = [change(policy_id="a"), change(policy_id="b")]
    planned = plan_messages(changes, links=links, as_of=AS_OF, digest=False)
    assert [m.kind for m in planned] == ["benefit_direct", "benefit_direct"]


def test_planning_the_same_changes_again_gives_the_same_keys(links: Links) -> None:
    changes = [change(policy_id="a"), change(policy_id="b", delivery="notice")]
    first = plan_messages(changes, links=links, as_of=AS_OF)
    again = plan_messages(list(reversed(changes)), links=links, as_of=AS_OF)
    assert [m.idempotency_key for m in first] == [m.idempotency_key for m in again]
    # the key is (entity, policy, benefit period, kind of change): a new policy version in
    # the same period tells nothing new; the next period is announced again
    other_version = plan_messages(
        [change(policy_id="a", policy_version="v2"), changes[1]], links=links, as_of=AS_OF
    )
    assert other_version[0].idempotency_key == first[0].idempotency_key
    next_month = plan_messages(
        [change(policy_id="a", benefit_period="2025-07"), changes[1]], links=links, as_of=AS_OF
    )
    assert next_month[0].idempotency_key != first[0].idempotency_key
    revoked = plan_messages(
        [change(policy_id="a", change="revoked"), changes[1]], links=links, as_of=AS_OF
    )
    assert revoked[0].idempotency_key != first[0].idempotency_key


def test_keys_and_links_carry_no_personal_data(links: Links) -> None:
    (message,) = plan_messages([change()], links=links, as_of=AS_OF)
    assert PERSON_ID not in message.idempotency_key
    item = message.payload["items"][0]  # type: ignore[index]
    assert PERSON_ID not in item["link"]
    # a short link for one purpose on one entitlement, unguessable without the link key
    expected = link_id(links.secret, entitlement_id=7, purpose="confirm", key=item["key"])
    assert item["link"] == f"https://mianshen.example.cn/l/{expected}"
    other = link_id(links.secret, entitlement_id=8, purpose="confirm", key=item["key"])
    assert other != expected


def test_channels_follow_addresses_and_opt_outs(links: Links) -> None:
    recipient = Recipient(
        entity_kind="enterprise", entity_id=ENTERPRISE_ID, display_name="上海某科技有限公司",
        addresses={"sms": "13800000000", "email": "a@example.cn",
                   "webhook": "https://erp.example.cn/hook"},
        opted_out=frozenset({"sms"}),
    )
    c = change(entity_kind="enterprise", entity_id=ENTERPRISE_ID)
    planned = plan_messages([c], links=links, as_of=AS_OF,
                            recipients={("enterprise", ENTERPRISE_ID): recipient})
    assert sorted(m.channel for m in planned) == ["email", "inbox", "webhook"]
    assert len({m.idempotency_key for m in planned}) == 3
    only_inbox = plan_messages([c], links=links, as_of=AS_OF, enabled_channels=("inbox",),
                               recipients={("enterprise", ENTERPRISE_ID): recipient})
    assert [m.channel for m in only_inbox] == ["inbox"]


def test_direct_push_has_a_confirmation_link_and_notice_says_applied_automatically(
    links: Links,
) -> None:
    (direct,) = plan_messages([change()], links=links, as_of=AS_OF)
    text = render_message(direct.kind, direct.payload)
    assert "一键确认" in text.text and 'class="confirm" href="https://mianshen.example.cn/l/' in (
        text.html)
    assert "150.00 元/月" in text.text
    (notice,) = plan_messages([change(delivery="notice")], links=links, as_of=AS_OF)
    assert "已为您自动享受" in render_message(notice.kind, notice.payload).text


def test_unknown_amount_reads_pending_never_zero(links: Links) -> None:
    (message,) = plan_messages([change(amount_fen=None)], links=links, as_of=AS_OF)
    rendered = render_message(message.kind, message.payload)
    for part in rendered.parts():
        assert "0.00 元" not in part
    assert "待核定" in rendered.text and "待核定" in rendered.html


def test_revocation_states_its_reason(links: Links) -> None:
    (message,) = plan_messages([change(change="revoked", reason="户籍已迁出上海市")],
                               links=links, as_of=AS_OF)
    rendered = render_message(message.kind, message.payload)
    assert message.kind == "revocation"
    assert "户籍已迁出上海市" in rendered.text and "户籍已迁出上海市" in rendered.html
    assert "资格已取消" in rendered.sms and "/l/" in rendered.sms  # the reason is a click away


def test_person_display_name_is_masked_enterprise_name_is_not(links: Links) -> None:
    person = Recipient(entity_kind="person", entity_id=PERSON_ID, display_name="张三丰")
    firm = Recipient(entity_kind="enterprise", entity_id=ENTERPRISE_ID,
                     display_name="上海某科技有限公司")
    planned = plan_messages(
        [change(), change(entity_kind="enterprise", entity_id=ENTERPRISE_ID)],
        links=links, as_of=AS_OF,
        recipients={("person", PERSON_ID): person, ("enterprise", ENTERPRISE_ID): firm},
    )
    texts = {m.recipient_kind: render_message(m.kind, m.payload).text for m in planned}
    assert "张**" in texts["person"] and "张三丰" not in texts["person"]
    assert "上海某科技有限公司" in texts["enterprise"]


def test_revocation_without_a_reason_names_the_conditions_no_longer_met(links: Links) -> None:
    (message,) = plan_messages([change(change="revoked", failed_conditions=("户籍在上海市",))],
                               links=links, as_of=AS_OF)
    text = render_message(message.kind, message.payload).text
    assert "不再满足：户籍在上海市" in text
    assert "年满65周岁" not in text and "110105" not in text


def test_application_names_the_conditions_still_open(links: Links) -> None:
    (message,) = plan_messages(
        [change(delivery="apply", outcome="undetermined",
                open_conditions=("需要长期照护(6个月以上)",))],
        links=links, as_of=AS_OF,
    )
    assert "尚待确认的条件：需要长期照护(6个月以上)" in render_message(
        message.kind, message.payload
    ).html


@settings(max_examples=50, deadline=None)
@given(st.lists(
    st.tuples(st.sampled_from(["310101195001011234", "310101195501011238", "E1"]),
              st.sampled_from(["a", "b", "c", "d"]),
              st.sampled_from(["new", "revoked", "amount_changed"]),
              st.sampled_from(["eligible", "undetermined", "ineligible", "over_budget"])),
    max_size=12,
))
def test_each_pushed_change_is_in_exactly_one_message_per_recipient_per_run(
    rows: list[tuple[str, str, str, str]],
) -> None:
    links = Links(base_url="https://x.cn", secret=b"k")
    batch = [change(entity_id=e, policy_id=p, change=c, outcome=o) for e, p, c, o in rows]
    planned = plan_messages(batch, links=links, as_of=AS_OF)
    pushed = {(c.entity_id, item_key(c, kind)) for c in batch
              if (kind := item_kind(c)) is not None}
    assert len(planned) == len({e for e, _ in pushed})  # one message per recipient
    listed = [(m.recipient_id, str(k)) for m in planned
              for k in m.payload["item_keys"]]  # type: ignore[attr-defined]
    assert sorted(listed) == sorted(pushed)  # every pushed change exactly once


def test_sms_carries_one_change_per_text_within_one_segment_with_its_link(links: Links) -> None:
    recipient = Recipient(entity_kind="person", entity_id=PERSON_ID, display_name="张三丰",
                          addresses={"phone": "13800000000"})
    changes = [change(policy_id="a", policy_title="上海市老年综合津贴"),
               change(policy_id="b", policy_title="上海市重度残疾人护理补贴（居家照护）",
                      delivery="apply", outcome="undetermined")]
    planned = plan_messages(changes, links=links, as_of=AS_OF,
                            recipients={("person", PERSON_ID): recipient})
    sms = [m for m in planned if m.channel == "sms"]
    assert [m.kind for m in sms] == ["benefit_direct", "application"]
    for m in sms:
        text = render_message(m.kind, m.payload).sms
        assert len(text) <= 70 and text.startswith("【免申即享】")
        assert text.endswith(m.payload["items"][0]["link"])  # type: ignore[index]
    assert [m.kind for m in planned if m.channel == "inbox"] == ["digest"]


def test_a_change_already_told_on_a_channel_is_not_told_there_again(links: Links) -> None:
    recipient = Recipient(entity_kind="person", entity_id=PERSON_ID,
                          addresses={"phone": "13800000000"})
    first = plan_messages([change(policy_id="a")], links=links, as_of=AS_OF,
                          recipients={("person", PERSON_ID): recipient})
    told = {k for m in first for k in m.item_channel_keys}
    again = plan_messages([change(policy_id="a"), change(policy_id="b")], links=links,
                          as_of=AS_OF, recipients={("person", PERSON_ID): recipient},
                          already=told)
    items = [i["policy_id"] for m in again for i in m.payload["items"]]  # type: ignore[attr-defined]
    assert items == ["b", "b"]  # inbox and SMS, the told change left out of both


def test_preferences_choose_channels_mute_kinds_and_carry_quiet_hours(links: Links) -> None:
    recipient = Recipient(
        entity_kind="enterprise", entity_id=ENTERPRISE_ID,
        addresses={"phone": "13800000000", "email": "a@example.cn"},
        channels=("inbox", "email"), muted_deliveries=frozenset({"notice"}),
        quiet_hours=("21:00", "09:00"),
    )
    batch = [change(entity_kind="enterprise", entity_id=ENTERPRISE_ID, policy_id="a"),
             change(entity_kind="enterprise", entity_id=ENTERPRISE_ID, policy_id="b",
                    delivery="notice"),
             change(entity_kind="enterprise", entity_id=ENTERPRISE_ID, policy_id="c",
                    delivery="notice", change="revoked", reason="不再符合")]
    planned = plan_messages(batch, links=links, as_of=AS_OF,
                            recipients={("enterprise", ENTERPRISE_ID): recipient})
    assert sorted(m.channel for m in planned) == ["email", "inbox"]  # no SMS: not chosen
    for m in planned:
        kinds = [i["policy_id"] for i in m.payload["items"]]  # type: ignore[attr-defined]
        assert kinds == ["a", "c"]  # notice muted, its revocation still told
        assert m.payload["quiet_hours"] == ["21:00", "09:00"]
