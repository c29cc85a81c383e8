"""The finished theme in real Chromium: text at AA contrast on every toast and filled button, a focus ring that
shows on Tab, a login that is a real form, and every page and admin tab at desktop and phone width with long
unbroken text that never widens the page (screenshots of each go to tests/artifacts/)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_PASSWORD, Server, settled, start_server, stop_server
from tests.browser.test_dashboard import DESKTOP, LONG, PHONE, Api, no_horizontal_overflow

pytestmark = pytest.mark.browser

CONTRAST = """(selector) => {
  const rgb = (text) => (text.match(/[\\d.]+/g) || []).slice(0, 3).map(Number);
  const luminance = ([r, g, b]) => {
    const [R, G, B] = [r, g, b].map((c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * R + 0.7152 * G + 0.0722 * B;
  };
  const ratio = (a, b) => {
    const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
    return (x + 0.05) / (y + 0.05);
  };
  return [...document.querySelectorAll(selector)].filter((el) => el.offsetParent !== null).map((el) => {
    const style = getComputedStyle(el);
    const label = el.querySelector('.q-notification__message, .q-btn__content') || el;
    return {text: el.innerText.trim().slice(0, 40), cls: el.className,
            ratio: ratio(rgb(getComputedStyle(label).color), rgb(style.backgroundColor))};
  });
}"""


async def sign_in(page: Page, server: Server, username: str, password: str) -> None:
    await page.goto(f"{server.url}/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_label("Password").press("Enter")  # a real form: Enter signs in
    await expect(page.locator(".inbox")).to_be_attached()


async def test_the_login_is_a_form_with_a_heading_and_a_visible_focus_ring(server: Server, browser: Browser,
                                                                          artifacts: Path) -> None:
    page = await (await browser.new_context(viewport=PHONE)).new_page()
    await page.goto(f"{server.url}/login")
    assert (await page.evaluate("document.documentElement.lang")).startswith("en")
    assert await page.locator("form").count() == 1
    await expect(page.get_by_role("heading", level=1)).to_have_count(1)
    await expect(page.get_by_role("link", name="Dashboard")).to_have_count(0)  # no nav while signed out
    await page.keyboard.press("Tab")
    for _ in range(5):  # to the first field, wherever the page starts
        if await page.evaluate("document.activeElement?.tagName") == "INPUT":
            break
        await page.keyboard.press("Tab")
    ring = await page.evaluate("""() => {
        const field = document.activeElement.closest('.q-field');
        const control = field ? field.querySelector('.q-field__control') : document.activeElement;
        const style = getComputedStyle(control);
        return {shadow: style.boxShadow, outline: style.outlineStyle + ' ' + style.outlineWidth};
    }""")
    assert ring["shadow"] != "none" or not ring["outline"].startswith("none"), ring
    await page.screenshot(path=str(artifacts / "login-phone.png"), full_page=True)


async def test_toasts_and_filled_buttons_have_readable_text(server: Server, browser: Browser) -> None:
    page = await (await browser.new_context(viewport=DESKTOP)).new_page()
    await sign_in(page, server, "admin", ADMIN_PASSWORD)
    await page.goto(f"{server.url}/admin")
    await expect(page.get_by_text("Control panel")).to_be_visible()
    await page.evaluate("""() => { for (const type of ['positive', 'negative', 'warning', 'info', 'ongoing'])
        Quasar.Notify.create({type, message: 'A ' + type + ' toast', timeout: 60000,
                              actions: [{label: 'Undo', color: 'primary'}]}); }""")
    await expect(page.locator(".q-notification")).to_have_count(5)
    await settled(page)
    toasts = await page.evaluate(CONTRAST, ".q-notification")
    assert len(toasts) == 5
    assert all(t["ratio"] >= 4.5 for t in toasts), toasts
    buttons = await page.evaluate(CONTRAST, ".q-btn.bg-primary, .q-btn.bg-negative, .q-btn.bg-positive, "
                                            ".q-btn.bg-warning, .q-btn.bg-secondary")
    assert buttons, "the control panel has filled buttons"
    assert all(b["ratio"] >= 4.5 for b in buttons), [b for b in buttons if b["ratio"] < 4.5]


@pytest.mark.parametrize("size", ["desktop", "phone"])
async def test_every_admin_tab_holds_long_text_at_both_sizes(server: Server, browser: Browser, artifacts: Path,
                                                             size: str) -> None:
    async with Api(server) as api:
        name = await api.account("x" * 40)
        await api.send(user_id=name, notification_type="info", title=LONG[:200], message=LONG[:2000])
        await api.publish("truth.message.sent", channel="billboard", message=LONG[:500])
    context = await browser.new_context(viewport=DESKTOP if size == "desktop" else PHONE)
    page = await context.new_page()
    await sign_in(page, server, "admin", ADMIN_PASSWORD)
    await page.goto(f"{server.url}/admin")
    for tab in ("Notifications", "Metrics", "Events", "Connections", "Users"):
        await page.get_by_role("tab", name=tab).click()
        await settled(page)
        await page.wait_for_timeout(300)
        await no_horizontal_overflow(page)
        await page.screenshot(path=str(artifacts / f"admin-{tab.lower()}-{size}.png"), full_page=True)
    await context.close()


async def test_with_demo_traffic_every_panel_moves(browser: Browser, artifacts: Path,
                                                   tmp_path_factory: pytest.TempPathFactory) -> None:
    """A first start with `make demo`: the strip, the feed of all three systems and the inbox fill by themselves
    (these are the README's screenshots)."""
    demo = start_server(tmp_path_factory.mktemp("demo"), DEMO="1", DEMO_RATE="20")
    try:
        context = await browser.new_context(viewport=DESKTOP)
        page = await context.new_page()
        await sign_in(page, demo, "admin", ADMIN_PASSWORD)
        feed = page.locator(".feed")
        for words in ("to demo-", "Node ", "on "):  # a distribution, a mesh node, a truth message
            await expect(feed.get_by_text(words).first).to_be_visible(timeout=20_000)
        await page.wait_for_timeout(1500)
        await no_horizontal_overflow(page)
        await page.screenshot(path=str(artifacts / "demo-dashboard-desktop.png"))
        await page.set_viewport_size(PHONE)
        await page.wait_for_timeout(500)
        await no_horizontal_overflow(page)
        await page.screenshot(path=str(artifacts / "demo-dashboard-phone.png"))
        await context.close()
    finally:
        stop_server(demo)
