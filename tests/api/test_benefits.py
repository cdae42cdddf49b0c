"""My benefits: one-click confirm, decline, objection answered by a reviewer, the
pre-filled application; explanations; nobody reaches another entity's records; ID numbers
masked for everyone but the person themself."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from .conftest import Env

MASKED_ID = re.compile(r"^\d{4}\*{10}[0-9X]{4}$")


def _mine(env: Env, client: TestClient, role: str) -> list[dict[str, object]]:
    r = client.get("/api/me/benefits", headers=env.token(client, role))
    assert r.status_code == 200
    return list(r.json())


def test_enterprise_sees_only_its_own_benefits(env: Env, client: TestClient) -> None:
    mine = _mine(env, client, "enterprise")
    assert mine and {b["entity_id"] for b in mine} == {env.accounts["enterprise"].entity_id}


def test_one_click_confirm(env: Env, client: TestClient) -> None:
    headers = env.token(client, "enterprise")
    target = next(b for b in _mine(env, client, "enterprise") if b["outcome"] == "eligible"
                  and b["status"] == "new" and b["delivery"] != "apply")
    r = client.post(f"/api/me/benefits/{target['id']}/confirm", headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    again = client.post(f"/api/me/benefits/{target['id']}/confirm", headers=headers)
    assert again.status_code == 409


def test_objection_reaches_the_reviewer_and_the_answer_comes_back(env: Env,
                                                                  client: TestClient) -> None:
    headers = env.token(client, "enterprise")
    target = next(b for b in _mine(env, client, "enterprise") if b["status"] == "new")
    r = client.post(f"/api/me/benefits/{target['id']}/objection", headers=headers,
                    json={"reason": "我们的从业人数数据有误"})
    assert r.json()["status"] == "objected"
    reviewer = env.token(client, "reviewer")
    queue = client.get("/api/reviews/objections", headers=reviewer).json()
    assert target["id"] in [b["id"] for b in queue]
    answered = client.post(f"/api/reviews/objections/{target['id']}/answer", headers=reviewer,
                           json={"decision": "keep", "answer": "经核实，税务数据无误，维持"})
    assert answered.json()["status"] == "notified"
    detail = client.get(f"/api/me/benefits/{target['id']}", headers=headers).json()
    assert detail["events"][-1]["reason"] == "经核实，税务数据无误，维持"
    assert client.post(f"/api/reviews/objections/{target['id']}/answer", headers=reviewer,
                       json={"decision": "keep", "answer": "再次"}).status_code == 409


def test_undetermined_benefit_has_a_prefilled_application(env: Env, client: TestClient) -> None:
    headers = env.token(client, "enterprise")
    target = next(b for b in _mine(env, client, "enterprise")
                  if b["outcome"] == "undetermined" and b["status"] in ("new", "notified"))
    base = f"/api/me/benefits/{target['id']}/application"
    app = client.get(base, headers=headers).json()
    missing = app["missing_fields"]
    assert missing and set(target["unknown_fields"]) <= set(missing)
    assert app["prefilled"]["prefilled"], "known fields come pre-filled"
    assert client.post(f"{base}/submit", headers=headers).status_code == 409
    bad = client.put(base, json={"answers": {"no_such_field": 1}}, headers=headers)
    assert bad.status_code == 409
    saved = client.put(base, json={"answers": {f: 1 for f in missing}}, headers=headers)
    assert saved.status_code == 200
    submitted = client.post(f"{base}/submit", headers=headers).json()
    if target["delivery"] == "apply":  # the law wants a reviewer: into the queue
        assert submitted["status"] == "submitted"
    else:  # the answers were all the policy waited for: decided at once by the same rules
        assert submitted["status"] in ("approved", "rejected")
        assert submitted["decided_by"] == "秒批"
    again = client.put(base, json={"answers": {f: 2 for f in missing}}, headers=headers)
    assert again.status_code == 409  # read-only once submitted


def test_explanation_of_an_ineligible_policy_says_what_is_missing(env: Env,
                                                                  client: TestClient) -> None:
    uscc = env.accounts["enterprise"].entity_id
    headers = env.token(client, "enterprise")
    mine = {b["policy_id"] for b in _mine(env, client, "enterprise")}
    officer = env.token(client, "officer")
    run = next(r for r in client.get("/api/runs", headers=officer).json()
               if r["entity_kind"] == "enterprise" and r["status"] == "succeeded")
    in_run = client.get(f"/api/runs/{run['id']}", headers=officer).json()["policy_versions"]
    bodies = []
    for other in sorted(set(in_run) - mine):
        r = client.get(f"/api/matches/explain/enterprise/{uscc}/{other}", headers=headers)
        if r.status_code == 200:
            bodies.append(r.json())
    assert bodies, "some policy of the run is explainable"
    body = bodies[0]
    assert body["outcome"] == "ineligible" and body["gaps"]
    assert "不满足" in body["text"]


def test_enterprise_cannot_reach_another_enterprise(env: Env, client: TestClient) -> None:
    headers = env.token(client, "enterprise")
    other = env.other_enterprise
    assert client.get(f"/api/matches/entities/enterprise/{other}",
                      headers=headers).status_code == 403
    with_other = [i for i in range(1, 400) if i not in env.entitlement_ids("enterprise")]
    for eid in with_other[:5]:
        assert client.get(f"/api/me/benefits/{eid}", headers=headers).status_code == 404
        assert client.post(f"/api/me/benefits/{eid}/confirm", headers=headers).status_code == 404


def test_person_ids_are_masked_except_for_the_person(env: Env, client: TestClient) -> None:
    own = env.accounts["citizen"].entity_id
    mine = client.get(f"/api/matches/entities/person/{own}",
                      headers=env.token(client, "citizen")).json()
    assert {m["entity_id"] for m in mine["items"]} == {own}
    seen = client.get(f"/api/matches/entities/person/{own}",
                      headers=env.token(client, "officer")).json()
    assert all(MASKED_ID.match(m["entity_id"]) for m in seen["items"])
    page = client.get("/api/matches/policies/sh-elderly-allowance?limit=20",
                      headers=env.token(client, "reviewer")).json()
    assert page["items"] and all(MASKED_ID.match(m["entity_id"]) for m in page["items"])
    assert own not in client.get("/api/reviews/objections",
                                 headers=env.token(client, "reviewer")).text


def test_matches_by_policy_filter_and_paginate(env: Env, client: TestClient) -> None:
    headers = env.token(client, "officer")
    url = "/api/matches/policies/six-taxes-two-fees-half"
    full = client.get(f"{url}?limit=500", headers=headers).json()
    first = client.get(f"{url}?limit=2&offset=0", headers=headers).json()
    second = client.get(f"{url}?limit=2&offset=2", headers=headers).json()
    assert first["total"] == full["total"] and len(first["items"]) == 2
    assert [i["entity_id"] for i in first["items"] + second["items"]] == [
        i["entity_id"] for i in full["items"][:4]]
    eligible = client.get(f"{url}?outcome=eligible&limit=500", headers=headers).json()
    assert {i["outcome"] for i in eligible["items"]} == {"eligible"}
    district = full["items"][0]["district"]
    narrowed = client.get(f"{url}?district={district}&limit=500", headers=headers).json()
    assert narrowed["items"] and {i["district"] for i in narrowed["items"]} == {district}


def test_metrics_count_runs_matches_and_failures(env: Env, client: TestClient) -> None:
    text = client.get("/metrics", headers=env.token(client, "admin")).text
    assert 'mianshen_runs{entity="enterprise",status="succeeded"}' in text
    assert "mianshen_matches{" in text and 'mianshen_failures{kind="delivery"} 0' in text
    assert "mianshen_http_requests_total" in text
