"""The benefit journey, end to end, over three consecutive monthly runs (October, November,
December 2025) of a small seeded population (``population.py``), on real components: SMTP,
an SMS gateway and a webhook receiver, the web app under uvicorn, Chromium, and the
operator's ``mianshen run`` / ``mianshen notify`` in their own processes. On SQLite and on
PostgreSQL.

October: every recipient is told once per change on each of their channels. 张老伯 opens the
link in his SMS and confirms his allowance with one click; the link is then used up. 星河科技
opens the link in its e-mail: the application asks only for what the data lacks, refuses a
negative headcount in Chinese, and goes to the reviewer, whose approval reaches the firm on
every channel.
November: the allowance is announced again for the new month — carried over, not a new chore
— and his page still shows one card, with October as history; the approved application
decides the firm's next run.
December: the firm's 小型微利 benefit is revoked and announced once; the notifier is killed
(SIGKILL) in the middle of a delivery and restarted: nothing is lost, nothing is sent twice;
a rerun of the month changes and sends nothing.

Screenshots of every step are saved under the test's temporary directory (path printed).
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rules.loader import library_dir
from store.db import make_engine, transaction
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, free_port, login, require_browser
from tests.e2e import population as pop
from tests.e2e.components import (
    LINK,
    HttpPeer,
    Mailbox,
    Platform,
    mail_parts,
    platform_env,
    serve_app,
    serve_mailbox,
    serve_peer,
)

WEBHOOK_SECRET = "xinghe-erp-hmac-secret-2025"
# The library the story is told with (the first bundled library): the story counts every
# message its people get, so policies added to the library later do not change it.
STORY_LIBRARY = [library_dir() / f"{pid}.yaml" for pid in (
    "bj-elderly-allowance", "cit-small-low-profit", "family-planning-special-support",
    "graduate-hiring-subsidy", "high-tech-enterprise", "iit-infant-care-deduction",
    "rd-super-deduction", "sh-disability-living-subsidy", "sh-elderly-allowance",
    "sh-severe-disability-care-subsidy", "six-taxes-two-fees-half", "ui-job-retention-refund",
    "vat-small-scale-exemption")]
PASSWORDS = {"zhang": "zhang-pass-2025", "xinghe": "xinghe-pass-2025",
             "reviewer": "reviewer-pass-2025"}


# ---- the stage ----------------------------------------------------------------------------


@pytest.fixture
def sms() -> Iterator[HttpPeer]:
    yield from serve_peer(HttpPeer(name="sms"))


@pytest.fixture
def webhook() -> Iterator[HttpPeer]:
    yield from serve_peer(HttpPeer(name="erp-hook", secret=WEBHOOK_SECRET.encode()))


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    yield from serve_mailbox()


@pytest.fixture
def platform(db_url: str, tmp_path: Path, sms: HttpPeer, mailbox: Mailbox,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Platform]:
    """The platform on each backend (``db_url``: a migrated SQLite file or PostgreSQL schema)."""
    from api.services.accounts import AccountSpec, upsert_account
    from api.services.library_import import approve_versions, import_library
    from api.settings import Settings
    from api.storage import open_engine

    require_browser()
    url = db_url
    base = f"http://127.0.0.1:{free_port()}"
    data = tmp_path / "data"
    env = platform_env(data_dir=data, database_url=url, base_url=base,
                       smtp_port=mailbox.port, sms_url=sms.url)
    settings = Settings(data_dir=data, database_url=url, environment="test",
                        public_base_url=base)
    # the app runs in this process: it reads the same webhook setting as the notifier (the
    # ERP receiver here is plain HTTP on the loopback), and enqueues a decision's messages
    # under the same quiet hours as the commands (none: the story runs at any hour)
    monkeypatch.setenv("MIANSHEN_WEBHOOK_ALLOW_HTTP", "true")
    monkeypatch.setenv("MIANSHEN_SMS_QUIET_HOURS", env["MIANSHEN_SMS_QUIET_HOURS"])
    engine = open_engine(settings)
    with transaction(engine) as s:  # the people of the story have accounts
        upsert_account(s, AccountSpec(user_id="zhang", display_name="张建国", role="citizen",
                                      password=PASSWORDS["zhang"], entity_id=pop.P1))
        upsert_account(s, AccountSpec(user_id="xinghe", display_name="星河科技",
                                      role="enterprise", password=PASSWORDS["xinghe"],
                                      entity_id=pop.E1))
        upsert_account(s, AccountSpec(user_id="reviewer", display_name="审核员",
                                      role="reviewer", password=PASSWORDS["reviewer"]))
        upsert_account(s, AccountSpec(user_id="officer", display_name="政策员",
                                      role="officer", password="officer-pass-2025"))
    # the library goes live the only way there is: imported by an officer, approved by a
    # reviewer
    imported = import_library(engine, author="officer", paths=STORY_LIBRARY)
    approve_versions(engine, imported.created, reviewer="reviewer", reason="与原文一致")
    app = serve_app(settings, engine)
    next(app)
    platform = Platform(data_dir=data, database_url=url, base_url=base, env=env)
    try:
        yield platform
    finally:
        print("\n".join(platform.log[-6:]))
        next(app, None)
        engine.dispose()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = tmp_path / "screenshots"
    folder.mkdir()
    print(f"screenshots: {folder}")
    return folder


# ---- what the recipients received ---------------------------------------------------------


def sms_to(sms: HttpPeer, phone: str) -> list[str]:
    return [b["text"] for b in sms.bodies() if b["to"] == phone]


def link_in(text: str) -> str:
    found = LINK.findall(text)
    assert len(found) == 1, text
    return str(found[0])


def apply_link(html: str, title: str) -> str:
    section = html.split(f"<h2>{title}")[1].split("</section>")[0]
    return link_in(section.split('class="apply" href="')[1].split('"')[0])


def webhook_items(webhook: HttpPeer) -> list[dict[str, Any]]:
    return [item for body in webhook.bodies() for item in body["items"]]


def assert_nothing_told_twice(platform: Platform, sms: HttpPeer, webhook: HttpPeer,
                              mailbox: Mailbox) -> None:
    """Every change reaches each channel at most once: the receivers saw no key twice (the
    gateway and the webhook answered any repeat with 409, and nothing was repeated by mail),
    and every message the outbox holds was sent — none waits, none is dead."""
    assert [k for k, n in Counter(sms.keys()).items() if n > 1] == []
    assert [k for k, n in Counter(webhook.keys()).items() if n > 1] == []
    ids = Counter(m["Message-ID"] for m in mailbox.messages)
    assert [k for k, n in ids.items() if n > 1] == []
    assert webhook.bad_signatures == 0
    from store import outbox

    engine = make_engine(platform.database_url)
    with transaction(engine) as s:
        assert outbox.counts(s) == {"sent": outbox.counts(s).get("sent", 0)}
        sent = {r.channel: 0 for r in outbox.list_messages(s)}
        for r in outbox.list_messages(s):
            sent[r.channel] += 1
    engine.dispose()
    assert sent.get("sms", 0) == len(sms.delivered)
    assert sent.get("webhook", 0) == len(webhook.delivered)
    assert sent.get("email", 0) == len(mailbox.messages)


def entitlement(platform: Platform, entity_id: str, policy_id: str, period: str) -> Any:
    from store import entitlements
    from store.entitlements import EntitlementKey

    engine = make_engine(platform.database_url)
    kind = "enterprise" if entity_id in pop.ENTERPRISES else "person"
    with transaction(engine) as s:
        found = entitlements.find(s, EntitlementKey(entity_kind=kind, entity_id=entity_id,
                                                    policy_id=policy_id,
                                                    benefit_period=period))
    engine.dispose()
    return found


def register_webhook(platform: Platform) -> None:
    """星河科技's ERP integrator registers its webhook with the firm's API key."""
    import httpx

    login = httpx.post(f"{platform.base_url}/api/auth/login",
                       json={"username": "xinghe", "password": PASSWORDS["xinghe"]})
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    created = httpx.post(f"{platform.base_url}/api/auth/api-keys", headers=token,
                         json={"label": "星河 ERP 集成"})
    assert created.status_code == 201, created.text
    key = created.json()["api_key"]
    r = httpx.post(f"{platform.base_url}/api/me/webhooks", headers={"X-API-Key": key},
                   json={"url": WEBHOOK_URL[0], "secret": WEBHOOK_SECRET, "label": "ERP"})
    assert r.status_code == 201, r.text


WEBHOOK_URL: list[str] = []


# ---- the story ----------------------------------------------------------------------------


def test_three_months_of_benefits_from_message_to_money(
    platform: Platform, sms: HttpPeer, webhook: HttpPeer, mailbox: Mailbox, shots: Path,
    tmp_path: Path,
) -> None:
    from playwright.sync_api import expect, sync_playwright

    started = time.monotonic()
    WEBHOOK_URL[:] = [webhook.url]
    register_webhook(platform)
    sources = [pop.write_sources(tmp_path / f"sources-{m}", month=m) for m in (1, 2, 3)]

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)

        def page_for(name: str) -> Any:
            return browser.new_context(viewport={"width": 1100, "height": 900},
                                       locale="zh-CN").new_page()

        def snap(page: Any, name: str) -> None:
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

        # ---- October ----------------------------------------------------------------------
        october = platform.run_month(sources[0], "2025-10-01")
        assert october.returncode == 0, october.stdout + october.stderr
        platform.deliver_all()

        # 张老伯 gets one SMS: his allowance, with a one-click link, in one 70-character segment
        (text,) = sms_to(sms, pop.P1_PHONE)
        assert len(text) <= 70 and "上海市老年综合津贴" in text and "10月" in text
        assert "150元/月" in text
        link = link_in(text)

        page = page_for("zhang")
        page.goto(link)
        expect(page.locator("#amount")).to_have_text("150.00 元/月")
        expect(page.locator("#benefit-status")).to_have_text("待处理")
        tree = page.locator("#explanation")
        expect(tree).to_contain_text("以下全部满足")
        expect(tree.locator(".condition.st-met")).to_have_count(3)
        expect(tree).to_contain_text("年龄不低于 65 岁")
        expect(page.locator("#amount-how")).to_contain_text("按年龄段每月发放")
        snap(page, "01-october-sms-link-opened")
        page.click("#one-click-confirm")
        expect(page.locator("#done")).to_contain_text("已确认")
        expect(page.locator("#benefit-status")).to_have_text("已确认")
        snap(page, "02-october-confirmed-with-one-click")
        page.goto(link)  # single-use: the link is spent
        expect(page.locator("#link-invalid")).to_contain_text("链接已使用")
        expect(page.locator("#login-instead")).to_be_visible()
        snap(page, "03-october-used-link-offers-login")
        tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
        page.goto(tampered)
        expect(page.locator("#link-invalid")).to_contain_text("链接无效")

        # 星河科技: one digest e-mail (and the same on its webhook, signed), one SMS per change
        (mail,) = mailbox.to(pop.E1_EMAIL)
        text, html = mail_parts(mail)
        for title in ("小型微利企业所得税优惠", "高新技术企业认定", "研发费用税前加计扣除"):
            assert title in text
        assert "400,000.00 元/年" in text  # 2,000,000 × 20%, exact to the fen
        hook_kinds = {i["policy_id"]: i["kind"] for i in webhook_items(webhook)}
        assert hook_kinds["high-tech-enterprise"] == "application"
        firm_sms = sms_to(sms, pop.E1_PHONE)
        assert len(firm_sms) == len(hook_kinds) and all(len(t) <= 70 for t in firm_sms)

        apply_url = apply_link(html, "高新技术企业认定")
        page = page_for("xinghe")
        page.goto(apply_url)
        form = page.locator("#application-form")
        asked = form.locator("label[data-field]")
        expect(asked).to_have_count(2)  # only what the data does not know
        expect(form).to_contain_text("科技人员数（单位：人）")
        expect(form).to_contain_text("拥有核心自主知识产权")
        prefilled = page.locator("#prefilled")
        expect(prefilled.locator('tr[data-field="employees"]')).to_contain_text("80 人")
        expect(prefilled.locator('tr[data-field="employees"]')).to_contain_text("税务")
        expect(prefilled.locator('tr[data-field="operating_revenue"]')).to_contain_text(
            "20,000,000.00 元")
        snap(page, "04-october-application-prefilled")
        page.fill('input[name="tech_staff"]', "-5")
        page.select_option('select[name="has_core_ip"]', "是")
        page.click("#submit-application")
        expect(page.locator(".field-error")).to_contain_text("科技人员数：不能为负数，收到“-5”")
        snap(page, "05-october-negative-headcount-refused")
        page.fill('input[name="tech_staff"]', "三个")
        page.click("#submit-application")
        expect(page.locator(".field-error")).to_contain_text("应为整数")
        page.fill('input[name="tech_staff"]', "12")
        page.click("#submit-application")
        expect(page.locator("#done")).to_contain_text("已进入审核队列")
        expect(page.locator("#application-status")).to_have_text("已提交，待审核")
        expect(page.locator("#application-form")).to_have_count(0)  # read-only now
        expect(page.locator("#events")).to_contain_text("提交申请")
        snap(page, "06-october-application-submitted")

        page = page_for("reviewer")
        login(page, platform.base_url, "reviewer", PASSWORDS["reviewer"])
        page.goto(f"{platform.base_url}/reviewer/applications")
        card = page.locator("[data-application]", has_text="高新技术企业认定")
        expect(card).to_contain_text("科技人员数")
        expect(card.locator("tr.answer")).to_have_count(2)
        snap(page, "07-october-reviewer-queue")
        card.locator("button.approve-application").click()
        expect(page.locator("#flash")).to_contain_text("已通过")
        snap(page, "08-october-reviewer-approved")

        platform.deliver_all()
        decisions = [i for i in webhook_items(webhook) if i["kind"] == "application_decision"]
        assert [(i["policy_id"], i["decision"]) for i in decisions] == [
            ("high-tech-enterprise", "approved")]
        assert any("申请已通过" in t for t in sms_to(sms, pop.E1_PHONE))
        assert any("审核通过" in mail_parts(m)[0] for m in mailbox.to(pop.E1_EMAIL))
        approved = entitlement(platform, pop.E1, "high-tech-enterprise", "once")
        assert (approved.status, approved.outcome) == ("confirmed", "eligible")
        assert_nothing_told_twice(platform, sms, webhook, mailbox)

        # ---- November ---------------------------------------------------------------------
        told_before = len(sms.delivered), len(webhook.delivered), len(mailbox.messages)
        november = platform.run_month(sources[1], "2025-11-01")
        assert november.returncode == 0, november.stdout + november.stderr
        platform.deliver_all()
        zhang = sms_to(sms, pop.P1_PHONE)
        assert len(zhang) == 2 and "11月" in zhang[1] and "已按您的确认继续发放" in zhang[1]
        li = sms_to(sms, pop.P2_PHONE)  # she never confirmed: asked again, for November
        assert len(li) == 2 and "11月" in li[1] and "一键确认" in li[1]
        renewed = entitlement(platform, pop.P1, "sh-elderly-allowance", "2025-11")
        assert (renewed.status, renewed.amount_fen) == ("confirmed", 15000)
        # the approved application decided the firm's run: nothing asked or told again
        new_items = [i for b in webhook.bodies()[told_before[1]:] for i in b["items"]]
        assert "high-tech-enterprise" not in [i["policy_id"] for i in new_items]
        assert entitlement(platform, pop.E1, "high-tech-enterprise", "once").status == \
            "confirmed"

        page = page_for("zhang")
        login(page, platform.base_url, "zhang", PASSWORDS["zhang"])
        cards = page.locator(".benefit[data-policy='sh-elderly-allowance']")
        expect(cards).to_have_count(1)  # one card per policy, whatever the runs
        expect(cards.locator(".period")).to_have_text("2025年11月")
        expect(cards.locator(".status")).to_have_text("已确认")
        expect(cards.locator(".history li")).to_have_count(1)
        expect(cards.locator(".history")).to_contain_text("2025年10月")
        snap(page, "09-november-one-card-with-history")
        cards.locator("h3 a").click()
        expect(page.locator("#events")).to_contain_text("沿用您此前对本政策的确认")
        snap(page, "10-november-carried-over")

        # ---- December: a revocation, and a notifier killed in the middle of a delivery ------
        december = platform.run_month(sources[2], "2025-12-01")
        assert december.returncode == 0, december.stdout + december.stderr
        sent_before = len(sms.delivered)
        sms.hang_next()
        notifier = platform.notifier()
        assert sms.hanging.wait(timeout=60), "the notifier never reached the SMS gateway"
        os.kill(notifier.pid, signal.SIGKILL)  # mid-delivery: the gateway has the text
        notifier.wait(timeout=10)
        sms.release()
        time.sleep(3.5)  # the killed worker's lease runs out
        platform.deliver_all()
        assert sms.duplicates, "the message in flight was sent again and recognised"
        assert len(sms.delivered) > sent_before
        revoked = [i for i in webhook_items(webhook) if i["kind"] == "revocation"]
        assert {i["policy_id"] for i in revoked} == {"cit-small-low-profit",
                                                     "six-taxes-two-fees-half"}
        reasons = {i["policy_id"]: i["reason"] for i in revoked}
        assert "年度应纳税所得额不超过300万元" in reasons["cit-small-low-profit"]
        assert sum("资格已取消" in t for t in sms_to(sms, pop.E1_PHONE)) == 2
        assert_nothing_told_twice(platform, sms, webhook, mailbox)

        # the same month again: nothing changes, nothing is sent
        told = len(sms.delivered), len(webhook.delivered), len(mailbox.messages)
        again = platform.run_month(sources[2], "2025-12-01")
        assert again.returncode == 0 and "重复运行" in again.stdout
        platform.deliver_all()
        assert (len(sms.delivered), len(webhook.delivered), len(mailbox.messages)) == told
        assert sum("资格已取消" in t for t in sms_to(sms, pop.E1_PHONE)) == 2

        page = page_for("zhang")
        login(page, platform.base_url, "zhang", PASSWORDS["zhang"])
        card = page.locator(".benefit[data-policy='sh-elderly-allowance']")
        expect(card.locator(".history li")).to_have_count(2)
        snap(page, "11-december-one-card-two-past-months")
        browser.close()

    _assert_counts(platform)
    print(f"the journey took {time.monotonic() - started:.1f} s")
    assert all((shots / f).stat().st_size > 5_000 for f in os.listdir(shots))
    assert dt.date(2025, 12, 1) in pop.MONTHS


def _assert_counts(platform: Platform) -> None:
    """Per (entity, policy, period) one entitlement; changes carried by messages (a digest
    names them in message keys, a message of one change is keyed by it)."""
    from store.schema import entitlements, message_keys, outbox

    engine = make_engine(platform.database_url)
    with transaction(engine) as s:
        per_key = s.execute(
            select(entitlements.c.entity_id, entitlements.c.policy_id,
                   entitlements.c.benefit_period, func.count())
            .group_by(entitlements.c.entity_id, entitlements.c.policy_id,
                      entitlements.c.benefit_period)
        ).all()
        keys = s.execute(select(func.count()).select_from(message_keys)).scalar_one()
        singles = s.execute(select(func.count()).select_from(outbox)
                            .where(outbox.c.idempotency_key.like("i-%"))).scalar_one()
    engine.dispose()
    assert all(n == 1 for *_k, n in per_key)
    assert keys + singles > 0
