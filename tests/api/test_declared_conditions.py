"""Acceptance: a condition only the applicant can attest (近一年无重大安全事故) is declared in
the policy, with no change to the catalog. The officer publishes the policy, the nightly run
leaves it undetermined, the pre-filled application asks exactly that condition, the applicant
declares it, and the same rules decide at once (秒批)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.scheduler import run_pipeline
from api.services.demo_data import DEMO_AS_OF
from profiles.catalog import load_catalog

from .conftest import Env, build_env

PID = "declared-safety-demo"
POLICY = f"""\
id: {PID}
title: 安全生产示范奖励(申报条件示例)
entity: enterprise
basis: {{document: 示例文号〔2025〕1号, clause: 第三条}}
effective: {{from: 2025-01-01}}
delivery: notice
declared:
  - {{name: no_major_accident, label: 近一年无重大安全事故, type: bool, clause: 第三条(二)}}
eligibility:
  all:
    - {{when: uscc is known, label: 已登记统一社会信用代码}}
    - {{when: 近一年无重大安全事故, label: 近一年无重大安全事故, clause: 第三条(二)}}
amount: {{formula: 5000, period: once, label: 一次性奖励}}
"""
API = {"X-Requested-With": "mianshen"}


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Env:
    return build_env(tmp_path_factory.mktemp("declared-env"))


@pytest.fixture
def client(env: Env) -> TestClient:
    with TestClient(env.app) as c:
        yield c  # type: ignore[misc]


def _publish(env: Env, client: TestClient) -> None:
    officer, reviewer = env.token(client, "officer"), env.token(client, "reviewer")
    r = client.post("/api/policies/drafts", json={"yaml": POLICY}, headers=officer)
    assert r.status_code == 201, r.text
    base = f"/api/policies/{PID}/versions/{r.json()['id']}"
    assert client.post(f"{base}/submit", headers=officer).json()["status"] == "in_review"
    done = client.post(f"{base}/approve", json={"reason": "申报条件与原文一致"},
                       headers=reviewer).json()
    assert done["status"] == "published"


def test_the_application_asks_the_declared_condition_and_the_answer_decides(
        env: Env, client: TestClient) -> None:
    assert "no_major_accident" not in load_catalog().entity("enterprise")  # not a catalog field
    _publish(env, client)
    run_pipeline(env.settings, engine=env.engine,
                 sources_dir=Path(env.settings.data_dir) / "demo-sources", as_of=DEMO_AS_OF,
                 entities=["enterprise"], actor="test")

    a = env.accounts["enterprise"]
    r = client.post("/login", data={"username": a.user_id, "password": a.password},
                    follow_redirects=False)
    assert r.status_code == 303
    mine = client.get("/api/me/benefits", headers=API).json()
    [benefit] = [b for b in mine if b["policy_id"] == PID]
    assert benefit["outcome"] == "undetermined"  # never decided from data
    assert benefit["unknown_fields"] == ["no_major_accident"]

    page = client.get(f"/me/benefits/{benefit['id']}/application",
                      headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.text.count("data-field=\"no_major_accident\"") >= 1
    assert "近一年无重大安全事故" in page.text
    base = f"/api/me/benefits/{benefit['id']}/application"
    app = client.get(base, headers=API).json()
    assert app["missing_fields"] == ["no_major_accident"]  # exactly what the data cannot prove
    [asked] = app["prefilled"]["to_fill"]
    assert (asked["label"], asked["type"], asked["reason"]) == (
        "近一年无重大安全事故", "bool", "declared")

    wrong = client.put(base, json={"answers": {"no_major_accident": "很多"}}, headers=API)
    assert wrong.status_code in (409, 422)
    saved = client.put(base, json={"answers": {"no_major_accident": True}}, headers=API)
    assert saved.status_code == 200, saved.text
    decided = client.post(f"{base}/submit", headers=API).json()
    assert decided["status"] == "approved" and decided["decided_by"] == "秒批"
    now = client.get(f"/api/me/benefits/{benefit['id']}", headers=API).json()
    assert now["outcome"] == "eligible" and now["amount_fen"] == 500_000
    client.cookies.clear()


def test_a_declared_no_is_decided_at_once_as_not_met(env: Env) -> None:
    """The same rules on the profile completed by the answer: 否 fails the condition."""
    import tempfile

    from api.services.population import fill_declared
    from matcher.explain import explain_entity
    from rules.loader import load_library

    folder = Path(tempfile.mkdtemp())
    (folder / f"{PID}.yaml").write_text(POLICY, encoding="utf-8")
    lib = load_library([folder])
    import polars as pl

    row = pl.DataFrame({"uscc": ["91310104MA1FL0000X"]})
    for answer, outcome in ((None, "undetermined"), (False, "ineligible"), (True, "eligible")):
        answers = {} if answer is None else {"91310104MA1FL0000X": {"no_major_accident": answer}}
        frame = fill_declared(row, answers, entity="enterprise", as_of=DEMO_AS_OF)
        [e] = explain_entity(frame, entity="enterprise", policies=list(lib), as_of=DEMO_AS_OF,
                             entity_id="91310104MA1FL0000X", policy_id=PID, sets=lib.sets)
        assert e.outcome == outcome, answer
        if outcome == "ineligible":
            assert [c.label for c in e.gaps] == ["近一年无重大安全事故"]
