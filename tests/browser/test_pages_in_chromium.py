"""A real browser (Chromium headless, driven by Playwright) against a running server: an
officer edits and simulates a policy, an enterprise confirms a benefit with one click.
Screenshots are saved in a temporary directory (path printed).

Chromium comes from the distro (``/usr/bin/chromium``, installed by ``.ci/run``); Playwright
never downloads a browser here. Without Chromium the test skips outside CI and fails in CI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .conftest import CHROMIUM, CHROMIUM_ARGS, demo_server, login, require_browser


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    require_browser()
    with demo_server(tmp_path_factory.mktemp("browser")) as (base, passwords, _settings):
        yield base, passwords


_login = login


def test_officer_simulates_and_enterprise_confirms(
    server: tuple[str, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, passwords = server
    shots = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots: {shots}")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            officer = browser.new_context(viewport={"width": 1360, "height": 1000})
            page = officer.new_page()
            _login(page, base, "officer", passwords["officer"])
            expect(page.locator("#policy-list")).to_contain_text("graduate-hiring-subsidy")
            page.click("text=graduate-hiring-subsidy")
            editor = page.locator("#policy-text")
            text = editor.input_value()
            editor.fill(text.replace("graduate_hires >= 1", "graduate_hire >= 1"))
            expect(page.locator("#validation")).to_contain_text("graduate_hires", timeout=10_000)
            editor.fill(text.replace("1500 * graduate_hires", "1800 * graduate_hires"))
            expect(page.locator("#validation")).to_contain_text("检查通过", timeout=10_000)
            page.click("#save-draft")
            expect(page.locator("#flash")).to_contain_text("草稿已保存", timeout=10_000)
            page.click("#simulate")
            expect(page.locator("#sim-eligible")).to_be_visible(timeout=60_000)
            expect(page.locator("#chart-district svg rect").first).to_be_visible()
            expect(page.locator("#sim-summary")).to_contain_text("与已发布版本相比")
            page.screenshot(path=str(shots / "officer-simulate.png"), full_page=True)
            officer.close()

            enterprise = browser.new_context(viewport={"width": 1200, "height": 900})
            page = enterprise.new_page()
            _login(page, base, "enterprise", passwords["enterprise"])
            expect(page.locator("h1")).to_have_text("我的惠企政策")
            first = page.locator(".benefit", has=page.locator("button.confirm")).first
            eid = first.get_attribute("data-entitlement")
            card = page.locator(f'.benefit[data-entitlement="{eid}"]')
            card.locator("button.confirm").click()
            expect(page.locator("#flash")).to_contain_text("已确认", timeout=10_000)
            expect(card.locator(".status")).to_have_text("已确认")
            page.screenshot(path=str(shots / "enterprise-confirm.png"), full_page=True)
            page.reload()
            assert page.locator(".s-confirmed").count() >= 1
            page.locator("a", has_text="差在哪").first.click()
            expect(page.locator("#explanation")).to_be_visible()
            page.fill("#objection-reason", "我单位已招用高校毕业生，数据未及时更新")
            page.click("#send-objection")
            expect(page.locator("#flash")).to_contain_text("异议已提交", timeout=10_000)
            page.wait_for_timeout(1200)
            page.screenshot(path=str(shots / "enterprise-explanation.png"), full_page=True)
            enterprise.close()

            reviewer = browser.new_context(viewport={"width": 1200, "height": 900})
            page = reviewer.new_page()
            _login(page, base, "reviewer", passwords["reviewer"])
            card = page.locator("[data-entitlement]", has_text="数据未及时更新")
            expect(card).to_be_visible()
            page.screenshot(path=str(shots / "reviewer-queue.png"), full_page=True)
            card.locator(".answer").fill("已核实人社数据，维持原结论")
            card.locator("button.keep").click()
            expect(page.locator("#flash")).to_contain_text("已答复", timeout=10_000)
            reviewer.close()
        finally:
            browser.close()
    assert (shots / "officer-simulate.png").stat().st_size > 10_000
