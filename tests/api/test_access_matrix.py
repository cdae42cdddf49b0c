"""Every route, every role: who is let in, who is refused, and nobody reaches another
entity's records. Allowed roles may still get 404/409/422 (the target's state), never
401/403 or a server error; refused roles get 403 (or 404 where another entity's id must
look like a missing one); anonymous callers get 401."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from .conftest import ROLES, Env

STAFF = {"officer", "reviewer", "admin"}
ENTITY = {"enterprise", "citizen"}
PUBLIC = set(ROLES)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    allowed: frozenset[str]
    body: Any = None
    denied_status: int = 403
    public: bool = False


@pytest.fixture(scope="module")
def targets(env: Env) -> dict[str, Any]:
    with TestClient(env.app) as c:
        officer = env.token(c, "officer")
        versions = c.get("/api/policies/graduate-hiring-subsidy", headers=officer).json()
        published = versions["versions"][-1]
        text = published["text"]
        drafts = []
        for amount in ("1600", "1700"):
            r = c.post("/api/policies/drafts", headers=officer,
                       json={"yaml": text.replace("1500 * graduate_hires",
                                                  f"{amount} * graduate_hires")})
            assert r.status_code == 201, r.text
            drafts.append(r.json())
    ids = env.entitlement_ids("enterprise")
    return {
        "pid": "graduate-hiring-subsidy", "published": published, "text": text,
        "draft": drafts[0], "review": drafts[1], "entitlement": ids[-1],
        "uscc": env.accounts["enterprise"].entity_id,
        "person": env.accounts["citizen"].entity_id,
    }


def routes(t: dict[str, Any], env: Env) -> list[Route]:
    pid, d, rv, e = t["pid"], t["draft"]["id"], t["review"]["id"], t["entitlement"]
    base = f"/api/policies/{pid}/versions"
    staff, officer = frozenset(STAFF), frozenset({"officer"})
    sim = frozenset({"officer", "reviewer"})
    rev, rev_admin = frozenset({"reviewer"}), frozenset({"reviewer", "admin"})
    ent = frozenset({"enterprise"})
    me = f"/api/me/benefits/{e}"
    return [
        Route("GET", "/health", frozenset(PUBLIC), public=True),
        Route("GET", "/metrics", frozenset({"admin"})),
        Route("GET", "/api/auth/me", frozenset(PUBLIC)),
        Route("GET", "/api/policies", staff),
        Route("GET", f"/api/policies/{pid}", staff),
        Route("GET", f"/api/policies/{pid}/diff?from={t['published']['id']}&to={d}", staff),
        Route("POST", "/api/policies/validate", sim, {"yaml": t["text"]}),
        Route("POST", "/api/policies/drafts", officer, {"yaml": t["text"]}),
        Route("PUT", f"{base}/{d}", officer, {"yaml": t["draft"]["text"]}),
        Route("POST", f"{base}/{d}/simulate", sim, {"samples": 1}),
        Route("POST", f"{base}/{rv}/submit", officer),
        Route("POST", f"{base}/{rv}/reject", rev, {"reason": "金额依据不足"}),
        Route("POST", f"{base}/{d}/approve", rev, {"reason": "条件与原文一致"}),
        Route("POST", f"{base}/{d}/retire", sim, {"reason": "政策到期"}),
        Route("POST", f"{base}/{d}/retire/approve", rev),
        Route("POST", f"{base}/{d}/retire/reject", rev, {"reason": "仍在执行期"}),
        Route("GET", f"/api/matches/entities/enterprise/{t['uscc']}", staff | ent),
        Route("GET", f"/api/matches/entities/person/{t['person']}", staff | {"citizen"}),
        Route("GET", f"/api/matches/entities/enterprise/{env.other_enterprise}", staff),
        Route("GET", f"/api/matches/entities/person/{env.other_person}", staff),
        Route("GET", f"/api/matches/policies/{pid}?outcome=eligible&limit=5", staff),
        Route("GET", f"/api/matches/explain/enterprise/{t['uscc']}/{pid}", staff | ent),
        Route("GET", f"/api/matches/explain/enterprise/{env.other_enterprise}/{pid}", staff),
        Route("GET", "/api/me/benefits", frozenset(ENTITY)),
        Route("GET", me, ent, denied_status=404),
        Route("GET", f"{me}/explain", ent, denied_status=404),
        Route("GET", f"{me}/application", ent, denied_status=404),
        Route("PUT", f"{me}/application", ent, {"answers": {}}, denied_status=404),
        Route("POST", f"{me}/application/submit", ent, denied_status=404),
        Route("POST", f"{me}/objection", ent, {"reason": "金额有误"}, denied_status=404),
        Route("POST", f"{me}/confirm", ent, denied_status=404),
        Route("POST", f"{me}/decline", ent, {"reason": "不需要"}, denied_status=404),
        Route("GET", "/api/reviews/policies", rev_admin),
        Route("GET", "/api/reviews/objections", rev_admin),
        Route("GET", "/api/reviews/retirements", rev_admin),
        Route("POST", f"/api/reviews/objections/{e}/answer", rev,
              {"decision": "keep", "answer": "经核实维持"}),
        Route("GET", "/api/runs", staff),
        Route("POST", "/api/editor/from-text", sim, {"yaml": t["text"]}),
        Route("POST", "/api/editor/from-form", sim, {"form": {"id": "x"}, "base": t["text"]}),
        Route("GET", "/api/editor/vocabulary?entity=person", sim),
        Route("POST", "/api/editor/proposals", sim, {"text": "从业人数不超过300人"}),
        Route("GET", f"/api/policies/{pid}/history", staff),
        Route("GET", f"/api/reviews/versions/{rv}", rev_admin),
        Route("GET", "/api/takeup", staff),
        Route("GET", f"/api/takeup/export.xlsx?policy={pid}", staff),
        Route("GET", f"/api/takeup/{pid}/notice", staff),
        Route("POST", "/api/runs", frozenset({"admin"}), {"entity": "person"}),
        Route("POST", "/api/auth/api-keys", frozenset(PUBLIC), {"label": "矩阵测试"}),
        Route("POST", "/api/auth/logout", frozenset(PUBLIC)),
    ]


ROUTE_COUNT = 49


@pytest.mark.parametrize("index", range(ROUTE_COUNT))
def test_every_route_admits_exactly_its_roles(index: int, env: Env, targets: dict[str, Any],
                                              client: TestClient) -> None:
    all_routes = routes(targets, env)
    assert len(all_routes) == ROUTE_COUNT
    route = all_routes[index]
    anonymous = client.request(route.method, route.path, json=route.body)
    assert anonymous.status_code == (200 if route.public else 401), anonymous.text
    for role in ROLES:
        # entity users only see a denial as "not found" on entitlement ids of others; staff
        # roles are refused by role
        r = client.request(route.method, route.path, json=route.body,
                           headers=env.token(client, role))
        expected_denial = route.denied_status if role in ENTITY else 403
        if role in route.allowed:
            assert r.status_code not in (401, 403), (role, route.path, r.text)
            assert r.status_code < 500, (role, route.path, r.text)
        else:
            assert r.status_code == expected_denial, (role, route.path, r.status_code, r.text)
    thread = getattr(env.app.state, "run_thread", None)
    if thread is not None:
        thread.join(timeout=60)


def test_run_list_includes_the_demo_runs(env: Env, client: TestClient) -> None:
    r = client.get("/api/runs", headers=env.token(client, "admin"))
    runs = r.json()
    assert {x["entity_kind"] for x in runs} == {"enterprise", "person"}
    detail = client.get(f"/api/runs/{runs[0]['id']}", headers=env.token(client, "officer"))
    assert detail.status_code == 200 and detail.json()["policy_versions"]
    assert client.get(f"/api/runs/{runs[0]['id']}",
                      headers=env.token(client, "enterprise")).status_code == 403
    assert client.get("/api/runs/run-nope", headers=env.token(client, "officer")).status_code == 404
