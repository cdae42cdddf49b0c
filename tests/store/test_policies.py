"""Policy workflow: draft -> in_review -> published -> retired, four eyes, immutability."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from store import audit, policies
from store.db import transaction
from store.errors import FourEyesError, ImmutableVersionError, TransitionError
from store.policies import PolicyDocument


def _doc(version: str = "v1", text: str = "id: p1\n") -> PolicyDocument:
    return PolicyDocument(
        policy_id="p1",
        title="一次性扩岗补助",
        entity="enterprise",
        text=text,
        version=version,
        effective_from=dt.date(2025, 1, 1),
        effective_to=dt.date(2025, 12, 31),
    )


def test_reviewer_must_not_be_the_author(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        v = policies.create_draft(s, _doc(), author="alice")
        policies.submit(s, v.id, actor="alice")
        with pytest.raises(FourEyesError) as err:
            policies.publish(s, v.id, reviewer="alice")
        assert err.value.user == "alice"
        assert policies.get_version(s, v.id).status == "in_review"
        published = policies.publish(s, v.id, reviewer="bob")
    assert published.status == "published" and published.reviewer == "bob"
    assert published.published_at is not None


def test_full_life_cycle_is_audited(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        v = policies.create_draft(s, _doc(), author="alice")
        policies.submit(s, v.id, actor="alice")
        policies.publish(s, v.id, reviewer="bob")
        with pytest.raises(FourEyesError):
            policies.retire(s, v.id, reviewer="bob", requested_by="bob", reason="废止")
        policies.retire(s, v.id, reviewer="bob", requested_by="carol", reason="已到期")
        actions = [e.action for e in audit.entries(s, subject="policy:p1")]
        assert audit.verify(s) == []
    assert actions == ["policy.draft", "policy.in_review", "policy.published", "policy.retired"]


def test_published_version_is_immutable_and_transitions_are_enforced(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        v = policies.create_draft(s, _doc(), author="alice")
        with pytest.raises(TransitionError) as err:
            policies.publish(s, v.id, reviewer="bob")
        assert (err.value.from_status, err.value.to_status) == ("draft", "published")
        policies.submit(s, v.id, actor="alice")
        policies.publish(s, v.id, reviewer="bob")
        with pytest.raises(ImmutableVersionError):
            policies.update_draft(s, v.id, _doc(text="id: p1\nchanged: true\n"), actor="alice")
        assert policies.get_version(s, v.id).text == "id: p1\n"


def test_publishing_a_new_version_retires_the_old_one(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        v1 = policies.create_draft(s, _doc("v1"), author="alice")
        policies.submit(s, v1.id, actor="alice")
        policies.publish(s, v1.id, reviewer="bob")
        v2 = policies.create_draft(s, _doc("v2", "id: p1\nx: 2\n"), author="alice")
        policies.submit(s, v2.id, actor="alice")
        policies.publish(s, v2.id, reviewer="bob")
        live = policies.published_versions(s, as_of=dt.date(2025, 6, 1))
        assert [x.version for x in live] == ["v2"]
        assert policies.get_version(s, v1.id).status == "retired"
        assert policies.published_versions(s, as_of=dt.date(2026, 1, 1)) == []


def test_import_creates_versions_under_review_and_never_publishes(db_engine: Engine) -> None:
    docs = [_doc("v1")]
    with transaction(db_engine) as s:
        (created,) = policies.import_for_review(s, docs, author="alice", source="test")
    with transaction(db_engine) as s:
        assert policies.import_for_review(s, docs, author="alice", source="test") == []
        assert created.status == "in_review" and created.author == "alice"
        assert policies.published_versions(s) == []
        with pytest.raises(FourEyesError):
            policies.publish(s, created.id, reviewer="alice")
        policies.publish(s, created.id, reviewer="bob")
        actions = [e.action for e in audit.entries(s, subject="policy:p1")]
    assert actions == ["policy.draft", "policy.import", "policy.in_review", "policy.published"]


def test_versions_are_numbered_one_two_three_per_policy(db_engine: Engine) -> None:
    other = PolicyDocument(policy_id="p2", title="另一项", entity="person", text="id: p2\n",
                           version="w1", effective_from=dt.date(2025, 1, 1))
    with transaction(db_engine) as s:
        a = policies.create_draft(s, _doc("v1"), author="alice")
        policies.create_draft(s, other, author="alice")  # ids of p1 are not consecutive
        b = policies.create_draft(s, _doc("v2", "id: p1\nx: 2\n"), author="alice")
        c = policies.create_draft(s, _doc("v3", "id: p1\nx: 3\n"), author="alice")
        assert (a.number, b.number, c.number) == (1, 2, 3)
        assert c.id - a.id == 3
        assert [v.number for v in policies.list_versions(s, policy_id="p1")] == [1, 2, 3]
        assert policies.get_version(s, b.id).number == 2


def test_every_decision_keeps_its_reviewer_and_reason(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        v = policies.create_draft(s, _doc(), author="alice")
        policies.submit(s, v.id, actor="alice")
        policies.reject(s, v.id, reviewer="bob", reason="依据条款不完整")
        policies.submit(s, v.id, actor="alice")
        policies.publish(s, v.id, reviewer="carol", reason="与原文一致")
        decisions = [(r.decision, r.reviewer, r.reason) for r in policies.reviews(s, v.id)]
        with pytest.raises(ValueError):
            policies.reject(s, policies.create_draft(s, _doc("v9", "id: p1\n#9\n"),
                                                     author="alice").id,
                            reviewer="bob", reason="  ")
    assert decisions == [("rejected", "bob", "依据条款不完整"), ("approved", "carol", "与原文一致")]


def test_a_scheduled_version_goes_live_on_its_day(db_engine: Engine) -> None:
    day = dt.date(2025, 6, 1)
    with transaction(db_engine) as s:
        v1 = policies.create_draft(s, _doc("v1"), author="alice")
        policies.submit(s, v1.id, actor="alice")
        policies.publish(s, v1.id, reviewer="bob", reason="首发")
        v2 = policies.create_draft(s, _doc("v2", "id: p1\nx: 2\n"), author="alice")
        policies.submit(s, v2.id, actor="alice")
        scheduled = policies.publish(s, v2.id, reviewer="bob", reason="下月起施行",
                                     publish_on=day, today=dt.date(2025, 5, 20))
        assert scheduled.status == "scheduled"
        assert policies.scheduled_for(s, v2.id) == day
        assert policies.publish_due(s, today=dt.date(2025, 5, 31)) == []
        assert [v.version for v in policies.published_versions(s)] == ["v1"]
        [live] = policies.publish_due(s, today=day)
        assert live.id == v2.id and live.status == "published" and live.reviewer == "bob"
        assert policies.get_version(s, v1.id).status == "retired"
        assert policies.publish_due(s, today=day) == []


def test_four_eyes_holds_per_person_for_editors_too(db_engine: Engine) -> None:
    with transaction(db_engine) as s:
        v = policies.create_draft(s, _doc(), author="alice")
        policies.update_draft(s, v.id, _doc(text="id: p1\n# bob edited\n"), actor="bob")
        policies.submit(s, v.id, actor="alice")
        assert policies.writers(s, v.id) == {"alice", "bob"}
        with pytest.raises(FourEyesError) as err:
            policies.publish(s, v.id, reviewer="bob", reason="我改过")
        assert err.value.role == "editor"
        assert policies.publish(s, v.id, reviewer="carol", reason="可以").status == "published"


def test_a_user_holds_extra_roles(db_engine: Engine) -> None:
    from store import users

    with transaction(db_engine) as s:
        users.ensure_user(s, "zhang", display_name="张", role="officer")
        users.grant_role(s, "zhang", "reviewer")
        users.grant_role(s, "zhang", "reviewer")
        assert users.roles_of(s, "zhang") == {"officer", "reviewer"}
