"""The policy workflow: drafts from YAML (errors with line and column), validation, diff,
simulation, submit, four-eyes review, retire."""

from __future__ import annotations

from fastapi.testclient import TestClient

from .conftest import Env

PID = "ui-job-retention-refund"


def _published_text(env: Env, client: TestClient, pid: str = PID) -> tuple[int, str]:
    detail = client.get(f"/api/policies/{pid}", headers=env.token(client, "officer")).json()
    v = [v for v in detail["versions"] if v["status"] == "published"][-1]
    return v["id"], v["text"]


def test_type_error_comes_back_with_line_and_column(env: Env, client: TestClient) -> None:
    _, text = _published_text(env, client)
    broken = text.replace("status = \"存续\"", "status = 3", 1)
    assert broken != text
    r = client.post("/api/policies/drafts", json={"yaml": broken},
                    headers=env.token(client, "officer"))
    assert r.status_code == 422
    [problem] = r.json()["problems"]
    line = next(i for i, s in enumerate(broken.splitlines(), 1) if "status = 3" in s)
    assert problem["line"] == line and problem["column"] > 1
    assert problem["code"] == "type-mismatch"


def test_unknown_field_gets_a_suggestion(env: Env, client: TestClient) -> None:
    _, text = _published_text(env, client, "graduate-hiring-subsidy")
    r = client.post("/api/policies/validate", headers=env.token(client, "reviewer"),
                    json={"yaml": text.replace("graduate_hires >= 1", "graduate_hire >= 1")})
    [problem] = r.json()["problems"]
    assert problem["code"] == "unknown-field" and problem["suggestion"] == "graduate_hires"


def test_draft_simulate_submit_and_publish_with_four_eyes(env: Env, client: TestClient) -> None:
    officer, reviewer = env.token(client, "officer"), env.token(client, "reviewer")
    published_id, text = _published_text(env, client)
    new_text = text + "\n# 模拟：提高返还比例的草案\n"
    new_text = new_text.replace("title: ", "title: (草案) ", 1)
    r = client.post("/api/policies/drafts", json={"yaml": new_text}, headers=officer)
    assert r.status_code == 201, r.text
    draft = r.json()
    assert draft["status"] == "draft" and draft["author"] == "officer"

    diff = client.get(f"/api/policies/{PID}/diff?from={published_id}&to={draft['id']}",
                      headers=reviewer).json()["diff"]
    assert "+title: (草案)" in diff

    sim = client.post(f"/api/policies/{PID}/versions/{draft['id']}/simulate",
                      json={"samples": 2}, headers=officer)
    assert sim.status_code == 200, sim.text
    report = sim.json()
    totals = report["totals"]
    assert totals["eligible"] == sum(g["eligible"] for g in report["by_district"])
    assert totals["undetermined"] == sum(g["undetermined"] for g in report["by_industry"])
    assert report["published"]["eligible_delta"] == 0  # conditions unchanged
    assert report["published"]["cost_delta_fen"] == 0
    outcomes = {s["outcome"] for s in report["samples"]}
    assert "ineligible" in outcomes
    ineligible = next(s for s in report["samples"] if s["outcome"] == "ineligible")
    assert ineligible["gaps"], "an ineligible sample names the failed conditions (差在哪)"

    base = f"/api/policies/{PID}/versions/{draft['id']}"
    assert client.post(f"{base}/submit", headers=officer).json()["status"] == "in_review"
    assert client.put(base, json={"yaml": new_text}, headers=officer).status_code == 409
    reason = {"reason": "条件与原文一致"}
    assert client.post(f"{base}/approve", json=reason,
                       headers=env.token(client, "admin")).status_code == 403
    assert client.post(f"{base}/approve", json={"reason": "  "},
                       headers=reviewer).status_code == 422, "a reason is required"
    published = client.post(f"{base}/approve", json=reason, headers=reviewer).json()
    assert published["status"] == "published" and published["reviewer"] == "reviewer"
    assert published["review_reason"] == "条件与原文一致"
    versions = client.get(f"/api/policies/{PID}", headers=officer).json()["versions"]
    assert [v["status"] for v in versions if v["id"] == published_id] == ["retired"]


def test_reviewer_can_send_a_version_back_with_a_reason(env: Env, client: TestClient) -> None:
    officer, reviewer = env.token(client, "officer"), env.token(client, "reviewer")
    _, text = _published_text(env, client, "rd-super-deduction")
    changed = text.replace("title: ", "title: (退回测试) ", 1)
    draft = client.post("/api/policies/drafts", json={"yaml": changed}, headers=officer).json()
    base = f"/api/policies/rd-super-deduction/versions/{draft['id']}"
    client.post(f"{base}/submit", headers=officer)
    queue = client.get("/api/reviews/policies", headers=reviewer).json()
    assert draft["id"] in [v["id"] for v in queue]
    back = client.post(f"{base}/reject", json={"reason": "依据条款不完整"}, headers=reviewer)
    assert back.json()["status"] == "draft"


def test_a_comment_only_change_is_the_same_version(env: Env, client: TestClient) -> None:
    _, text = _published_text(env, client, "cit-small-low-profit")
    r = client.post("/api/policies/drafts", json={"yaml": text + "\n# 仅注释\n"},
                    headers=env.token(client, "officer"))
    assert r.status_code == 409 and "已存在" in r.json()["detail"]


def test_policy_list_shows_every_bundled_policy(env: Env, client: TestClient) -> None:
    listed = client.get("/api/policies", headers=env.token(client, "admin")).json()
    from rules.loader import bundled_library

    assert {p["id"] for p in listed} == set(bundled_library().policies)
    verified = {p.id for p in bundled_library() if p.verified}
    assert all(bool(p["published_version_id"]) == (p["id"] in verified) for p in listed)


def test_a_draft_marked_unverified_cannot_be_submitted_until_verified(
        env: Env, client: TestClient) -> None:
    officer = env.token(client, "officer")
    _, text = _published_text(env, client)
    marked = text.replace("title: ", "verification: 待核\ntitle: (待核) ", 1)
    draft = client.post("/api/policies/drafts", json={"yaml": marked}, headers=officer).json()
    base = f"/api/policies/{PID}/versions/{draft['id']}"
    refused = client.post(f"{base}/submit", headers=officer)
    assert refused.status_code == 409 and refused.json()["code"] == "unverified"
    assert "待核" in refused.json()["detail"]
    verified = marked.replace("verification: 待核", "verification: 已核")
    assert client.put(base, json={"yaml": verified}, headers=officer).status_code == 200
    assert client.post(f"{base}/submit", headers=officer).json()["status"] == "in_review"
