"""Pre-filled applications: what the data knows is filled in with source and date; only the
unknown and the declared fields are left for the applicant; JSON and HTML agree."""

from __future__ import annotations

import datetime as dt
import json

from notifier.application import build_application
from notifier.links import Links
from notifier.planning import plan_messages
from notifier.rendering import render_application_html, render_message

from .conftest import PERSON_FIELDS, PERSON_ID, PERSON_PROFILE, change

AS_OF = dt.date(2025, 6, 1)
CARE = {
    "policy_id": "sh-severe-disability-care-subsidy",
    "policy_title": "重度残疾人护理补贴(上海)",
    "delivery": "apply",
    "outcome": "undetermined",
    "unknown_fields": ("needs_long_term_care",),
}


def test_known_fields_are_prefilled_with_source_and_date() -> None:
    app = build_application(change(**CARE), PERSON_PROFILE, PERSON_FIELDS, as_of=AS_OF,
                            source_as_of={"残联": dt.date(2025, 5, 31)})
    prefilled = {f.name: f for f in app.prefilled}
    assert prefilled["disability_grade"].display == "1"
    assert prefilled["disability_grade"].source == "残联"
    assert prefilled["disability_grade"].as_of == dt.date(2025, 5, 31)
    assert prefilled["hukou_district"].source == "公安"
    assert prefilled["hukou_district"].as_of == AS_OF


def test_only_unknown_and_declared_fields_are_left_for_the_applicant() -> None:
    app = build_application(change(**CARE), PERSON_PROFILE, PERSON_FIELDS, as_of=AS_OF)
    assert {(f.name, f.reason) for f in app.to_fill} == {
        ("employed", "unknown"),  # missing in the data: UNKNOWN, not "no"
        ("needs_long_term_care", "declared"),
    }
    assert not {f.name for f in app.to_fill} & {f.name for f in app.prefilled}


def test_empty_list_type_field_is_prefilled_as_not_listed() -> None:
    profile = {**PERSON_PROFILE, "disability_grade": None}
    app = build_application(change(**CARE), profile, PERSON_FIELDS, as_of=AS_OF)
    (grade,) = [f for f in app.prefilled if f.name == "disability_grade"]
    assert grade.value is None and grade.display == "未列入名单"


def test_unknown_field_outside_the_given_metadata_is_still_asked_for() -> None:
    app = build_application(change(**{**CARE, "unknown_fields": ("mystery",)}), {}, (),
                            as_of=AS_OF)
    assert [(f.name, f.reason) for f in app.to_fill] == [("mystery", "unknown")]


def test_personal_values_are_masked_in_the_application() -> None:
    app = build_application(change(**CARE), PERSON_PROFILE, PERSON_FIELDS, as_of=AS_OF)
    values = {f.name: f.value for f in app.prefilled}
    assert values["id_number"] == "3101**********1234"
    assert values["phone"] == "138****0000"
    assert values["name"] == "张**"
    assert PERSON_ID not in json.dumps(app.to_json(), ensure_ascii=False)


def test_application_json_and_html_list_the_same_fields() -> None:
    app = build_application(change(**CARE), PERSON_PROFILE, PERSON_FIELDS, as_of=AS_OF)
    data = app.to_json()
    assert json.loads(json.dumps(data)) == data  # JSON-ready
    html = render_application_html(data)
    for entry in data["prefilled"]:  # type: ignore[attr-defined]
        assert entry["label"] in html and entry["source"] in html
    # a message cannot hold a working form: each asked field is listed as to be filled
    # online (through the message's one-click link), never as an input in the e-mail
    for entry in data["to_fill"]:  # type: ignore[attr-defined]
        assert entry["label"] in html
    assert html.count('class="to-fill"') == len(data["to_fill"])  # type: ignore[arg-type]
    assert "<input" not in html


def test_application_message_links_the_form_and_names_what_is_missing(links: Links) -> None:
    (message,) = plan_messages(
        [change(**CARE)], links=links, as_of=AS_OF,
        profiles={("person", PERSON_ID): PERSON_PROFILE},
        fields={CARE["policy_id"]: PERSON_FIELDS},  # type: ignore[dict-item]
    )
    assert message.kind == "application"
    rendered = render_message(message.kind, message.payload)
    assert "需要长期照护(6个月以上)" in rendered.text
    assert 'class="apply" href="https://mianshen.example.cn/l/' in rendered.html
    assert 'class="application"' in rendered.html


def test_a_yearly_field_is_asked_for_by_the_missing_year() -> None:
    from api.delivery import field_infos
    from rules.loader import bundled_library
    from rules.years import fields_read_at

    as_of = dt.date(2025, 10, 1)
    policy = bundled_library()["high-tech-enterprise"]
    fields = field_infos("enterprise", sorted(fields_read_at(policy, as_of)), policies=[policy])
    profile = {f"{s}_y{y}": 1_000_000.0 for s in ("operating_revenue", "rd_expense")
               for y in (2022, 2023, 2024)}
    del profile["rd_expense_y2023"]
    app = build_application(change(policy_id=policy.id, entity_kind="enterprise",
                                   outcome="undetermined", delivery="apply",
                                   unknown_fields=("rd_expense",)),
                            profile, fields, as_of=as_of)
    asked = {f.name: f.label for f in app.to_fill if f.reason == "unknown"}
    assert asked.get("rd_expense_y2023") == "研发费用(2023年度)"
    assert "rd_expense" not in asked  # the yearly field is asked for by its year, not bare
    assert "rd_expense_y2024" in {f.name for f in app.prefilled}


def test_a_money_field_is_prefilled_in_fen_to_the_message_a_webhook_gets(links: Links) -> None:
    """Money is exact from the data to the message: a yuan field's value travels as integer
    fen (``unit``: fen), never as a float a consumer would add up with noise; its display
    reads to the fen."""
    from notifier.model import FieldInfo

    paid = FieldInfo(name="medical_self_paid", label="本年度医保目录范围内个人自付医药费用",
                     source="医保", type="float", unit="yuan")
    profile = {**PERSON_PROFILE, "medical_self_paid": 100.1 + 200.2}  # 300.29999999999995
    (message,) = plan_messages(
        [change(**CARE)], links=links, as_of=AS_OF,
        profiles={("person", PERSON_ID): profile},
        fields={CARE["policy_id"]: [*PERSON_FIELDS, paid]},  # type: ignore[dict-item]
    )
    body = json.dumps(message.payload, ensure_ascii=False)
    assert "300.2999" not in body
    [item] = json.loads(body)["items"]
    prefilled = {f["name"]: f for f in item["application"]["prefilled"]}
    entry = prefilled["medical_self_paid"]
    assert (entry["value"], entry["unit"], entry["display"]) == (30030, "fen", "300.30 元")
    grade = prefilled["disability_grade"]
    assert grade["value"] == 1 and grade["unit"] != "fen"  # other numbers as they are
