"""The citizen's side of a member's update, in Chromium: the nightly run granted a person the
housing-rent deduction; that evening 住建 reports that the spouse now owns a home in the work
city; the event worker (`mianshen events consume` on the run's snapshot and the household
register) revokes it. The person logs in and sees, on the same evening, the deduction
revoked on its card, and on its page why - not tomorrow, after the next nightly run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import polars as pl
import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, demo_server, login, require_browser

RENT = "iit-housing-rent-deduction"


def _revoke_through_the_spouse(settings: Any, engine: Any) -> None:
    """The evening's event, written by the worker into the demo store; the demo citizen's
    account is the person whose deduction it revokes."""
    from api.services.demo_data import DEMO_AS_OF, DemoAccount, create_accounts
    from profiles.catalog import OWNER_COLUMN
    from profiles.relations import load_relations
    from store import entitlements
    from store.db import transaction

    snapshot = next(settings.snapshots_dir.glob("person-*.parquet"))
    sources = settings.demo_sources_dir
    with transaction(engine) as s:
        granted = {e.entity_id for e in entitlements.list_entitlements(
            s, entity_kind="person", policy_id=RENT) if e.outcome == "eligible"}
    spouses = load_relations(sources, persons=pl.read_parquet(snapshot)).frames["spouse"]
    pairs = spouses.members.select(OWNER_COLUMN, "id_number").collect().iter_rows()
    person, spouse = next((o, m) for o, m in pairs if o in granted)
    events = settings.data_dir / "evening.jsonl"
    events.write_text(json.dumps({"entity_id": spouse, "set": {"owns_home_in_work_city": True}})
                      + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-c", "from api.cli import main; main()", "events", "consume",
         "--entity", "person", "--profiles", str(snapshot), "--links", str(sources),
         "--events", str(events), "--as-of", DEMO_AS_OF.isoformat(),
         "--database", settings.database_url,
         "--checkpoint", str(settings.data_dir / "evening.checkpoint")],
        check=True, capture_output=True, timeout=600,
        env={**os.environ, "MIANSHEN_DATA_DIR": str(settings.data_dir)})
    create_accounts(engine, [DemoAccount(user_id="citizen", password="citizen-demo",
                                         role="citizen", entity_id=person)])


@pytest.mark.slow
def test_the_person_sees_the_deduction_revoked_the_same_evening(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    require_browser()
    from playwright.sync_api import sync_playwright

    folder = tmp_path_factory.mktemp("member-event")
    shots = folder / "screenshots"
    shots.mkdir()
    print(f"screenshots: {shots}")
    with demo_server(folder, prepare=_revoke_through_the_spouse, persons=600) as (
            base, passwords, _settings), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(locale="zh-CN")
        login(page, base, "citizen", passwords["citizen"])
        page.goto(f"{base}/me")
        card = page.locator(f".card.benefit[data-policy='{RENT}']")
        card.wait_for()
        page.screenshot(path=str(shots / "me-revoked.png"), full_page=True)
        on_card = card.inner_text()
        assert "已撤销" in on_card and "不再符合" in on_card and "差在哪" in on_card, on_card
        # the deduction is no longer the person's: its amount reads as what it was
        headline = card.locator("p.amount").inner_text()
        assert headline.startswith("已撤销（原为可在个税中扣除 "), headline
        card.locator("h3 a").click()
        page.wait_for_load_state()
        page.screenshot(path=str(shots / "benefit-revoked.png"), full_page=True)
        text = page.inner_text("body")
        assert "已撤销" in text and "实时事件" in text, text
        assert page.locator("p.amount").inner_text() == headline
        record = page.locator("#events li", has_text="实时事件").last.inner_text()
        assert "不再满足：配偶在主要工作城市没有自有住房" in record, record
        # why, as the evening's data says it: the spouse's condition no longer met
        assert "差在哪" in text and "结果：不符合" in text, text
        spouse = page.locator("li", has_text="配偶在主要工作城市没有自有住房").first
        assert "不满足" in spouse.inner_text()
        browser.close()
