"""Take-up (政策兑现) follows what happened after a match: the dashboard's counts are those of
the store — matched, told by channel (delivered / failed), confirmed, objected — per policy,
overall and by district and industry with their GB/T names; CSV and Excel carry the same
figures; public notice lists mask personal data and exist only where money is paid."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections import Counter
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import select

from store import outbox as outbox_store
from store.db import transaction
from store.schema import entitlements, message_items, outbox

from .conftest import Env


def _deliver(env: Env) -> None:
    from notifier.settings import NotifierSettings, run_configured_delivery_once

    settings = NotifierSettings(database_url=env.settings.database_url, daily_cap=None)
    run_configured_delivery_once(settings=settings, limit=100_000)
    # one SMS the gateway gave up on: counted as failed on that channel, never as told
    now = dt.datetime.now(dt.UTC)
    with transaction(env.engine) as s:
        e = s.execute(select(entitlements).where(entitlements.c.entity_kind == "person")
                      .limit(1)).one()
        outbox_store.enqueue(s, [outbox_store.OutboxMessage(
            idempotency_key=f"test-failed-sms-{e.id}", recipient_kind="person",
            recipient_id=e.entity_id, channel="sms", kind="benefit_direct",
            payload={"items": [{"policy_id": e.policy_id}]})], now=now)
        [m] = outbox_store.claim(s, worker="t", limit=1, lease_seconds=60, now=now)
        outbox_store.mark_failed(s, m.id, worker="t", now=now, error="gateway down",
                                 retry_at=None)


def _truth(env: Env) -> tuple[Counter[str], Counter[str], Counter[str]]:
    """Matched, told (any channel) and failed by SMS per policy, counted here from the tables
    themselves."""
    with transaction(env.engine) as s:
        ents = s.execute(select(entitlements.c.entity_kind, entitlements.c.entity_id,
                                entitlements.c.policy_id, entitlements.c.outcome,
                                entitlements.c.status)).all()
        msgs = s.execute(select(outbox.c.recipient_kind, outbox.c.recipient_id, outbox.c.status,
                                outbox.c.channel, outbox.c.payload)).all()
        policy_of = dict(s.execute(select(message_items.c.ref, message_items.c.policy_id)).all())
    matched = Counter(e.policy_id for e in ents if e.outcome in ("eligible", "undetermined")
                      and e.status != "revoked")
    keys = {(e.entity_kind, e.entity_id, e.policy_id) for e in ents}
    told, sms_sent, sms_dead = set(), set(), set()
    for m in msgs:
        told_policies = ([i["policy_id"] for i in m.payload["items"]] if "items" in m.payload
                         else [policy_of[r] for r in m.payload.get("item_refs", [])])
        for policy_id in told_policies:
            key = (m.recipient_kind, m.recipient_id, policy_id)
            if key not in keys:
                continue
            if m.status == "sent":
                told.add(key)
            if m.channel == "sms":
                (sms_sent if m.status == "sent" else sms_dead if m.status == "dead"
                 else set()).add(key)
    return (matched, Counter(k[2] for k in told),
            Counter(k[2] for k in sms_dead - sms_sent))


def test_dashboard_counts_are_the_stores(env: Env, client: TestClient) -> None:
    from store import entitlements as entitlement_store

    _deliver(env)
    with transaction(env.engine) as s:  # the entity confirms one benefit
        e = s.execute(select(entitlements).where(
            entitlements.c.outcome == "eligible", entitlements.c.status.in_(["new", "notified"]),
            entitlements.c.delivery != "apply").order_by(entitlements.c.id.desc())
            .limit(1)).one()
        entitlement_store.transition(s, e.id, "confirmed", actor="test")
    confirmed_policy = e.policy_id

    report = client.get("/api/takeup", headers=env.token(client, "officer")).json()
    matched, told, failed = _truth(env)
    rows = {p["policy_id"]: p for p in report["policies"]}
    assert {pid: rows[pid]["matched"] for pid in matched} == dict(matched)
    assert report["overall"]["matched"] == sum(matched.values())
    assert report["overall"]["notified"] == sum(told.values()) > 0
    assert sum(p["channels"]["sms"]["failed"] for p in rows.values()) == sum(failed.values())
    assert sum(failed.values()) >= 1
    assert rows[confirmed_policy]["confirmed"] >= 1
    assert report["overall"]["confirmed"] >= 1
    # by district and industry: the same totals, GB/T names, 未知 last
    assert sum(g["matched"] for g in report["by_district"]) == sum(matched.values())
    enterprise_total = sum(n for pid, n in matched.items() if rows[pid]["entity"] == "enterprise")
    assert sum(g["matched"] for g in report["by_industry"]) == enterprise_total
    industries = [g["group"] for g in report["by_industry"]]
    assert "零售业" in industries or "批发业" in industries, industries
    assert not any("大类" in g for g in industries)
    for groups in (report["by_district"], report["by_industry"]):
        names = [g["group"] for g in groups]
        assert "未知" not in names[:-1], names
    # money to the fen: the overall cost is the sum of the policies' costs
    assert Decimal(report["overall"]["cost"]) == sum(Decimal(p["cost"]) for p in rows.values())


def test_exports_carry_the_dashboard(env: Env, client: TestClient) -> None:
    officer = env.token(client, "officer")
    csv = client.get("/api/takeup/export.csv", headers=officer)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    text = csv.content.decode("utf-8")
    assert text.startswith("\ufeff政策兑现汇总")
    assert "按区划" in text and "按行业" in text and "失业保险稳岗返还" in text
    xlsx = client.get("/api/takeup/export.xlsx?policy=ui-job-retention-refund", headers=officer)
    assert xlsx.status_code == 200
    book = zipfile.ZipFile(io.BytesIO(xlsx.content))
    workbook = book.read("xl/workbook.xml").decode("utf-8")
    assert "政策兑现汇总" in workbook and "按行业" in workbook
    strings = book.read("xl/sharedStrings.xml").decode("utf-8")
    assert "失业保险稳岗返还" in strings and "应兑现金额(元)" in strings


def test_public_notice_lists_mask_personal_data(env: Env, client: TestClient) -> None:
    officer = env.token(client, "officer")
    persons = client.get("/api/takeup/sh-elderly-allowance/notice", headers=officer).json()
    assert persons["needed"] and persons["rows"]
    for row in persons["rows"]:
        assert "*" in row["id"] and len(row["id"]) == 18
        assert row["name"] == "（无名称）" or "*" in row["name"]
    firms = client.get("/api/takeup/ui-job-retention-refund/notice", headers=officer).json()
    assert firms["needed"] and all("*" not in r["id"] for r in firms["rows"])
    tax = client.get("/api/takeup/cit-small-low-profit/notice", headers=officer).json()
    assert tax == {"policy_id": "cit-small-low-profit", "title": tax["title"], "needed": False,
                   "rows": []}
    csv = client.get("/api/takeup/sh-elderly-allowance/notice.csv", headers=officer)
    assert "公示名单" in csv.content.decode("utf-8")
