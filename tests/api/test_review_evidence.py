"""A reviewer decides on evidence: the diff against the published version and the simulated
impact (newly / no longer eligible, cost change, by district and industry with GB/T names,
samples with explanations); a reason is required; four eyes hold per person — an officer who
is also a reviewer cannot approve a draft they wrote."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from api.services.accounts import AccountSpec, upsert_account
from store.db import transaction

from .conftest import Env

PID = "vat-small-scale-exemption"  # not changed by the other API tests


def _draft(env: Env, client: TestClient, headers: dict[str, str], old: str, new: str,
           tag: str) -> dict:
    detail = client.get(f"/api/policies/{PID}", headers=headers).json()
    text = [v for v in detail["versions"] if v["status"] == "published"][-1]["text"]
    changed = text.replace(old, new).replace("title: ", f"title: ({tag}) ", 1)
    assert changed != text
    r = client.post("/api/policies/drafts", json={"yaml": changed}, headers=headers)
    assert r.status_code == 201, r.text
    draft = r.json()
    submit = client.post(f"/api/policies/{PID}/versions/{draft['id']}/submit", headers=headers)
    assert submit.status_code == 200, submit.text
    return draft


def _dual_role(env: Env, client: TestClient) -> dict[str, str]:
    with transaction(env.engine) as s:
        upsert_account(s, AccountSpec(user_id="zhang", display_name="张科长", role="officer",
                                      password="zhang-pw", extra_roles=("reviewer",)))
    r = client.post("/api/auth/login", json={"username": "zhang", "password": "zhang-pw"})
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_evidence_shows_the_diff_and_an_impact_that_adds_up(env: Env,
                                                            client: TestClient) -> None:
    officer, reviewer = env.token(client, "officer"), env.token(client, "reviewer")
    draft = _draft(env, client, officer, "monthly_sales <= 10万", "monthly_sales <= 5万", "严")
    r = client.get(f"/api/reviews/versions/{draft['id']}", headers=reviewer)
    assert r.status_code == 200, r.text
    e = r.json()
    assert e["published"] is not None and e["can_decide"]
    changed = [d for d in e["diff_lines"] if d["kind"] != "same"]
    assert {d["kind"] for d in changed} == {"add", "del"}
    assert any("monthly_sales <= 5万" in d["text"] for d in changed if d["kind"] == "add")
    impact = e["impact"]
    t = impact["totals"]
    assert t["newly"] == 0 and t["lost"] > 0, "a stricter condition only removes entities"
    assert t["eligible_after"] == t["eligible_before"] - t["lost"]
    assert sum(g["lost"] for g in impact["by_district"]) == t["lost"]
    assert sum(g["lost"] for g in impact["by_industry"]) == t["lost"]
    assert sum(Decimal(str(g["cost_delta"])) for g in impact["by_district"]) == Decimal(
        str(t["cost_delta"])), "group amounts add up to the total, to the fen"
    labels = [g["group"] for g in impact["by_industry"]]
    assert not any("大类" in g for g in labels), labels
    if "未知" in labels:
        assert labels[-1] == "未知"
    [first, *_] = impact["lost_samples"]
    assert first["outcome"] != "eligible" and first["conditions"]


def test_a_decision_needs_a_reason_and_is_kept_in_the_history(env: Env,
                                                              client: TestClient) -> None:
    officer, reviewer = env.token(client, "officer"), env.token(client, "reviewer")
    draft = _draft(env, client, officer, "", "", "退回")
    base = f"/api/policies/{PID}/versions/{draft['id']}"
    assert client.post(f"{base}/reject", json={"reason": ""}, headers=reviewer).status_code == 422
    back = client.post(f"{base}/reject", json={"reason": "金额依据不足"}, headers=reviewer).json()
    assert back["status"] == "draft" and back["review_reason"] == "金额依据不足"
    history = client.get(f"/api/policies/{PID}/history", headers=officer).json()
    numbers = [v["number"] for v in history]
    assert numbers == list(range(1, len(numbers) + 1)), "consecutive numbers per policy"
    mine = next(v for v in history if v["id"] == draft["id"])
    assert (mine["review_decision"], mine["reviewed_by"]) == ("rejected", "reviewer")


def test_an_officer_who_is_also_a_reviewer_cannot_approve_their_own_draft(
        env: Env, client: TestClient) -> None:
    zhang = _dual_role(env, client)
    me = client.get("/api/auth/me", headers=zhang).json()
    assert me["role"] == "officer"
    draft = _draft(env, client, zhang, "", "", "四眼")
    base = f"/api/policies/{PID}/versions/{draft['id']}"
    evidence = client.get(f"/api/reviews/versions/{draft['id']}", headers=zhang).json()
    assert not evidence["can_decide"] and "四眼" in evidence["cannot_decide_reason"]
    refused = client.post(f"{base}/approve", json={"reason": "自己批准"}, headers=zhang)
    assert refused.status_code == 409 and refused.json()["code"] == "four_eyes"
    assert "四眼" in refused.json()["detail"]
    ok = client.post(f"{base}/approve", json={"reason": "经复核同意"},
                     headers=env.token(client, "reviewer"))
    assert ok.status_code == 200 and ok.json()["status"] == "published"


def test_an_approval_for_a_later_day_is_scheduled(env: Env, client: TestClient) -> None:
    import datetime as dt

    officer, reviewer = env.token(client, "officer"), env.token(client, "reviewer")
    draft = _draft(env, client, officer, "", "", "定时")
    base = f"/api/policies/{PID}/versions/{draft['id']}"
    past = client.post(f"{base}/approve", json={"reason": "同意", "publish_on": "2020-01-01"},
                       headers=reviewer)
    assert past.status_code == 409 and "已过" in past.json()["detail"]
    later = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    r = client.post(f"{base}/approve", json={"reason": "下月起施行", "publish_on": later},
                    headers=reviewer).json()
    assert r["status"] == "scheduled" and r["publish_on"] == later
    queue = client.get("/api/reviews/policies", headers=reviewer).json()
    assert any(v["id"] == draft["id"] and v["status"] == "scheduled" for v in queue)
