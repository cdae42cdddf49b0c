"""Nobody acts as somebody else, and nobody retires a rule alone.

An admin cannot mint an API key for an enterprise (or anyone else) and act as it: refused,
and nothing is recorded under the enterprise's name. Retiring a published policy takes a
request and a second person's approval, both in the audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient

from store import audit, policies
from store.db import transaction
from store.policies import PolicyDocument

from .conftest import Service


@pytest.mark.parametrize("target", ["firm", "resident", "officer2", "reviewer"])
def test_an_admin_cannot_mint_a_key_acting_as_someone_else(service: Service,
                                                           target: str) -> None:
    with TestClient(service.app) as c:
        admin = service.login(c, "admin")
        r = c.post("/api/auth/api-keys", headers=admin,
                   json={"user_id": target, "label": "代为操作"})
        assert r.status_code == 403 and "冒用" in r.json()["detail"]
    with transaction(service.engine, write=False) as s:
        assert audit.entries(s, action="auth.api_key.create") == []
        assert all(e.actor != target for e in audit.entries(s))


def test_an_enterprise_key_is_its_own_and_its_actions_are_its_own(service: Service) -> None:
    with TestClient(service.app) as c:
        firm = service.login(c, "firm")
        key = c.post("/api/auth/api-keys", headers=firm, json={"label": "财务系统"}).json()
        me = c.get("/api/auth/me", headers={"X-API-Key": key["api_key"]}).json()
    assert me["user_id"] == "firm" and me["entity_id"] == "91310115MA1K3YJ12X"
    with transaction(service.engine, write=False) as s:
        (entry,) = audit.entries(s, action="auth.api_key.create")
    assert entry.actor == "firm" and entry.subject == "user:firm"


@pytest.fixture
def published(service: Service) -> int:
    doc = PolicyDocument(policy_id="p1", title="一次性扩岗补助", entity="enterprise",
                         text="id: p1\n", version="v1", effective_from=dt.date(2025, 1, 1))
    with transaction(service.engine) as s:
        v = policies.create_draft(s, doc, author="officer")
        policies.submit(s, v.id, actor="officer")
        policies.publish(s, v.id, reviewer="reviewer")
    return v.id


def test_retiring_a_published_policy_takes_two_people(service: Service,
                                                      published: int) -> None:
    base = f"/api/policies/p1/versions/{published}/retire"
    with TestClient(service.app) as c:
        reviewer, reviewer2 = service.login(c, "reviewer"), service.login(c, "reviewer2")
        admin, officer = service.login(c, "admin"), service.login(c, "officer")
        assert c.post(base, headers=admin, json={"reason": "到期"}).status_code == 403
        asked = c.post(base, headers=reviewer, json={"reason": "政策已到期"})
        assert asked.status_code == 202 and asked.json()["status"] == "pending"
        assert c.post(base, headers=officer, json={"reason": "再申请"}).status_code == 409
        queue = c.get("/api/reviews/retirements", headers=reviewer2).json()
        assert [q["version_id"] for q in queue] == [published]
        alone = c.post(f"{base}/approve", headers=reviewer)
        assert alone.status_code == 409 and alone.json()["code"] == "four_eyes"
        assert c.post(f"{base}/approve", headers=admin).status_code == 403
        with transaction(service.engine, write=False) as s:
            assert policies.get_version(s, published).status == "published"
        done = c.post(f"{base}/approve", headers=reviewer2)
        assert done.status_code == 200 and done.json()["status"] == "retired"
    with transaction(service.engine, write=False) as s:
        trail = [(e.actor, e.action) for e in audit.entries(s, subject="policy:p1")]
        assert audit.verify(s) == []
    assert trail[-2:] == [("reviewer", "policy.retire_requested"),
                          ("reviewer2", "policy.retired")]


def test_a_rejected_retirement_leaves_the_policy_published(service: Service,
                                                          published: int) -> None:
    base = f"/api/policies/p1/versions/{published}/retire"
    with TestClient(service.app) as c:
        officer, reviewer = service.login(c, "officer"), service.login(c, "reviewer")
        assert c.post(base, headers=officer, json={"reason": "重复"}).status_code == 202
        rejected = c.post(f"{base}/reject", headers=reviewer, json={"reason": "仍在执行期"})
        assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
        assert c.post(f"{base}/approve", headers=reviewer).status_code == 404
    with transaction(service.engine, write=False) as s:
        assert policies.get_version(s, published).status == "published"
        assert audit.entries(s, action="policy.retire_rejected")[0].actor == "reviewer"
