"""The officer's and reviewer's journey in a real browser (Debian's Chromium, Playwright):

1. an officer creates a new policy with the guided editor only, from a pasted clause;
2. the author — an officer who is also a reviewer — cannot approve their own draft;
3. a reviewer sees the diff and the impact, and approves with a reason after confirming;
4. the version history shows the numbers, the reviewer and the reason;
5. the take-up dashboard shows the run's counts, as the store has them;
6. /docs and /redoc render with the network blocked.

Screenshots go to a temporary directory (path printed)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from .conftest import CHROMIUM, CHROMIUM_ARGS, demo_server, login, require_browser

CLAUSE = "年应纳税所得额不超过300万元、从业人数不超过300人、资产总额不超过5000万元"
POLICY_ID = "test-small-firm-grant"


def _prepare(settings: Any, engine: Any) -> None:
    """An officer who is also a reviewer, and one delivery pass of the run's messages."""
    from api.services.accounts import AccountSpec, upsert_account
    from notifier.settings import NotifierSettings, run_configured_delivery_once
    from store.db import transaction

    with transaction(engine) as s:
        upsert_account(s, AccountSpec(user_id="zhang", display_name="张科长", role="officer",
                                      password="zhang-pw", extra_roles=("reviewer",)))
    run_configured_delivery_once(settings=NotifierSettings(
        database_url=settings.database_url, daily_cap=None), limit=100_000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Any]]:
    require_browser()
    with demo_server(tmp_path_factory.mktemp("officer"), prepare=_prepare) as running:
        yield running


def _store_counts(settings: Any) -> tuple[int, int]:
    """(matched, told) over all policies, counted from the tables."""
    from store.db import make_engine, transaction
    from store.schema import entitlements, message_items, outbox

    engine = make_engine(settings.database_url)
    with transaction(engine) as s:
        ents = s.execute(select(entitlements.c.entity_kind, entitlements.c.entity_id,
                                entitlements.c.policy_id, entitlements.c.outcome,
                                entitlements.c.status)).all()
        sent = s.execute(select(outbox.c.recipient_kind, outbox.c.recipient_id,
                                outbox.c.payload).where(outbox.c.status == "sent")).all()
        policy_of = dict(s.execute(select(message_items.c.ref, message_items.c.policy_id)).all())
    engine.dispose()
    matched = sum(e.outcome in ("eligible", "undetermined") and e.status != "revoked"
                  for e in ents)
    keys = {(e.entity_kind, e.entity_id, e.policy_id) for e in ents}
    told = {(m.recipient_kind, m.recipient_id, policy_of[r]) for m in sent
            for r in m.payload.get("item_refs", [])} & keys
    return matched, len(told)


def _guided_policy(page: Any, shots: Path) -> str:
    from playwright.sync_api import expect

    page.goto(page.url.split("/officer")[0] + "/officer/policies/new")
    expect(page.locator("#validation")).to_contain_text("检查通过", timeout=15_000)
    g = page.locator("#guided")
    g.locator('[data-bind="id"]').fill(POLICY_ID)
    g.locator('[data-bind="title"]').fill("小微企业一次性补助(测试)")
    g.locator('[data-bind="basis.document"]').fill("测试文号〔2025〕1号")
    page.fill("#clause-text", CLAUSE)
    page.fill("#clause-ref", "第五条")
    page.click("#propose")
    expect(page.locator(".proposal")).to_have_count(3, timeout=15_000)
    expect(page.locator("#proposal-list")).to_contain_text("从业人数 不超过")
    page.click("#accept-all")
    expect(g.locator(".row")).to_have_count(4, timeout=15_000)  # the template's + three
    g.locator('select[data-act="amount-kind"]').select_option("formula")
    expect(g.locator('[data-bind="amount.formula"]')).to_be_visible()
    g.locator('[data-bind="amount.formula"]').fill("2000")
    g.locator('[data-bind="amount.label"]').fill("每户补助2000元")
    text = page.locator("#policy-text")
    expect(text).to_have_value(re.compile(r"formula: 2000"), timeout=15_000)
    expect(page.locator("#validation")).to_contain_text("（4 个条件）", timeout=15_000)
    yaml = text.input_value()
    assert "employees <= 300, label: 从业人数不超过300人, clause: 第五条" in yaml, yaml
    assert "total_assets <= 5000万" in yaml and "annual_taxable_income <= 300万" in yaml

    # a wrong value in the guided view is marked in both views, with the line number
    def employees_row() -> Any:
        return g.locator(".row", has=page.locator('input.label[value^="从业人数"]'))

    employees_row().locator("input.value").fill("三百")
    expect(page.locator("#gutter .ln.bad")).to_have_count(1, timeout=15_000)
    expect(g.locator(".row.has-problem")).to_have_count(1)
    page.screenshot(path=str(shots / "1-guided-editor-problem.png"), full_page=True)
    expect(employees_row().locator("input.label")).to_have_value("从业人数不超过三百人")
    employees_row().locator("input.value").fill("300")
    expect(page.locator("#gutter .ln.bad")).to_have_count(0, timeout=15_000)
    expect(page.locator("#validation")).to_contain_text("检查通过", timeout=15_000)

    page.click("#save-draft")
    expect(page.locator("#flash")).to_contain_text("草稿已保存（第 1 版）", timeout=15_000)
    page.click("#submit-review")
    expect(page.locator("#flash")).to_contain_text("已提交审核", timeout=15_000)
    expect(page.locator("#history tbody")).to_contain_text("审核中")
    page.screenshot(path=str(shots / "2-guided-editor-submitted.png"), full_page=True)
    return str(page.locator("#policy-text").input_value())


def test_officer_reviewer_and_dashboard_journey(
    server: tuple[str, dict[str, str], Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, passwords, settings = server
    shots = tmp_path_factory.mktemp("officer-screens")
    print(f"screenshots: {shots}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # 1. the author writes the policy with the guided editor only
            author = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = author.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            login(page, base, "zhang", "zhang-pw")
            written = _guided_policy(page, shots)

            # 2. ... and cannot approve it, although they hold the reviewer role
            page.goto(f"{base}/reviewer")
            page.locator("#review-queue tr", has_text=POLICY_ID).locator("a").click()
            expect(page.locator("#decision-blocked")).to_contain_text("四眼原则")
            expect(page.locator("#approve")).to_be_disabled()
            version_id = page.locator("#review").get_attribute("data-version")
            refused = page.request.post(
                f"{base}/api/policies/{POLICY_ID}/versions/{version_id}/approve",
                data={"reason": "自己批准自己"}, headers={"X-Requested-With": "mianshen"})
            assert refused.status == 409 and refused.json()["code"] == "four_eyes"
            expect(page.locator("#impact-newly")).to_be_visible(timeout=60_000)
            page.screenshot(path=str(shots / "3-author-cannot-approve.png"), full_page=True)
            assert errors == [], errors
            author.close()

            # 3. a reviewer decides on the diff and the impact, with a reason
            reviewer = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = reviewer.new_page()
            login(page, base, "reviewer", passwords["reviewer"])
            page.locator("#review-queue tr", has_text=POLICY_ID).locator("a").click()
            expect(page.locator("#diff")).to_contain_text("新政策")
            expect(page.locator("#diff .dl.add")).to_have_count(len(written.splitlines()))
            expect(page.locator("#impact-newly")).to_be_visible(timeout=60_000)
            newly = int(page.locator("#impact-newly").inner_text())
            assert newly > 0
            districts = page.locator("#impact-district tbody tr td:first-child").all_inner_texts()
            assert districts and all("大类" not in d for d in districts)
            assert any(d.endswith("区") for d in districts), districts
            industries = page.locator("#impact-industry tbody tr td:first-child")
            assert "业" in "".join(industries.all_inner_texts())
            expect(page.locator("#samples-newly .sample").first).to_contain_text("✓")
            page.click("#approve")
            expect(page.locator("#flash")).to_contain_text("请填写审核理由")
            page.fill("#review-reason", "条件与原文第五条一致，新增符合户数与测算相符")
            page.click("#approve")
            expect(page.locator("#confirm-publish")).to_be_visible()
            expect(page.locator("#confirm-text")).to_contain_text(f"新增符合 {newly}")
            page.screenshot(path=str(shots / "4-reviewer-confirms.png"), full_page=True)
            page.click("#confirm-yes")
            expect(page.locator("#flash")).to_contain_text("已发布：第 1 版", timeout=15_000)
            page.wait_for_load_state("load")

            # 4. the version history refreshes with the decision
            page.goto(f"{base}/officer/policies/{POLICY_ID}")
            history = page.locator("#history tbody tr")
            expect(history).to_have_count(1)
            expect(history.first).to_contain_text("第 1 版")
            expect(history.first).to_contain_text("已发布")
            expect(history.first).to_contain_text("reviewer")
            expect(history.first).to_contain_text("通过：条件与原文第五条一致")
            expect(page.locator("#guided .row")).to_have_count(4, timeout=15_000)
            page.screenshot(path=str(shots / "5-history.png"), full_page=True)

            # 5. the dashboard shows the run's counts
            matched, told = _store_counts(settings)
            page.goto(f"{base}/officer/takeup")
            assert int(page.locator("#kpi-matched").inner_text()) == matched
            assert int(page.locator("#kpi-notified").inner_text()) == told > 0
            rows = page.locator("#takeup-policies tbody tr")
            assert rows.count() >= 10
            expect(page.locator("#takeup-industry")).to_contain_text("零售业")
            last = page.locator("#takeup-district tbody tr").last
            expect(last.locator("td").first).to_have_text("未知")
            with page.expect_download() as download:
                page.click("#export-xlsx")
            assert download.value.suggested_filename.endswith(".xlsx")
            page.screenshot(path=str(shots / "6-takeup.png"), full_page=True)
            page.goto(f"{base}/officer/takeup/sh-elderly-allowance/notice")
            expect(page.locator("#notice tbody tr").first).to_contain_text("*")
            page.screenshot(path=str(shots / "7-notice.png"), full_page=True)
            reviewer.close()

            # 6. the API documentation works offline
            offline = browser.new_context(viewport={"width": 1300, "height": 900})
            blocked: list[str] = []

            def only_local(route: Any) -> None:
                if route.request.url.startswith(base):
                    route.continue_()
                else:
                    blocked.append(route.request.url)
                    route.abort()

            offline.route("**/*", only_local)
            page = offline.new_page()
            page.goto(f"{base}/docs")
            expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=30_000)
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("mianshen")
            page.screenshot(path=str(shots / "8-docs-offline.png"))
            page.goto(f"{base}/redoc")
            expect(page.locator("h1", has_text="mianshen")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("/api/takeup/export.{fmt}").first).to_be_attached()
            page.screenshot(path=str(shots / "9-redoc-offline.png"))
            offline.close()
            assert blocked == [], f"the docs asked the internet for {blocked}"
        finally:
            browser.close()
    for name in ("2-guided-editor-submitted.png", "4-reviewer-confirms.png", "6-takeup.png",
                 "8-docs-offline.png"):
        assert (shots / name).stat().st_size > 10_000, name
