"""Preferences in real Chromium: a person mutes a type and sets quiet hours around now, nothing reaches them live
while they last, and the summary arrives when they end; a digest collapses when one of its items is read, and its
card expands to show the items."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import Server, start_server, stop_server
from tests.browser.test_dashboard import DESKTOP, USER_PASSWORD, Api, signed_in

QUIET_SECONDS = 10
"""How long the quiet hours last from the moment the form is filled in."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server of its own (no other test's broadcasts), looking for ended quiet hours every second."""
    running = start_server(tmp_path_factory.mktemp("preferences"), NOTIFICATION_QUIET_CHECK_INTERVAL="1")
    yield running
    stop_server(running)


async def test_quiet_hours_and_a_muted_type_hold_everything_live_until_the_summary(
        server: Server, browser: Browser, artifacts: Path) -> None:
    async with Api(server) as api:
        name = await api.account()
        context, page = await signed_in(browser, server, name, DESKTOP)
        try:
            await page.get_by_role("button", name=f"Account menu for {name}").click()
            await page.locator(".q-menu").get_by_text("Preferences", exact=True).click()
            await expect(page.get_by_role("heading", name="Notification preferences")).to_be_visible()
            await page.get_by_role("switch", name="Truth updates").click()
            await page.get_by_role("switch", name="Quiet hours").click()
            now = datetime.now(UTC)
            await page.get_by_label("From (HH:MM)").fill((now - timedelta(minutes=1)).strftime("%H:%M:%S"))
            await page.get_by_label("Until (HH:MM)").fill((now + timedelta(seconds=QUIET_SECONDS))
                                                          .strftime("%H:%M:%S"))
            await page.get_by_role("button", name="Save").click()
            await expect(page.get_by_text("Saved. Every open view follows it now.")).to_be_visible()
            await page.screenshot(path=str(artifacts / "preferences-desktop.png"), full_page=True)

            await page.goto(f"{server.url}/")
            await expect(page.locator(".inbox")).to_be_attached()
            await api.send(user_id=name, notification_type="info", title="While you slept")
            await api.send(broadcast=True, notification_type="warning", title="Everyone, quietly")
            await api.send(user_id=name, notification_type="truth_update", title="Muted truth")
            await page.wait_for_timeout(1000)
            inbox = page.locator(".inbox")
            for title in ("While you slept", "Everyone, quietly", "Muted truth"):
                await expect(inbox.get_by_text(title)).to_have_count(0)
            await expect(page.get_by_role("button", name="No unread notifications")).to_be_visible()

            summary = inbox.get_by_text("2 notifications arrived during quiet hours")
            await expect(summary).to_be_visible(timeout=(QUIET_SECONDS + 10) * 1000)
            await expect(page.get_by_role("button", name="1 unread notification")).to_be_visible()
        finally:
            await context.close()


async def test_reading_a_held_item_collapses_its_digest_into_a_card_that_expands(
        server: Server, browser: Browser) -> None:
    async with Api(server) as api:
        name = await api.account()
        token = (await api.client.post("/api/v1/auth/token", json={"username": name, "password": USER_PASSWORD})
                 ).json()["access_token"]
        saved = await api.client.put("/api/v1/notifications/preferences", headers={"Authorization": f"Bearer {token}"},
                                     json={"digest_seconds": {"resource_distribution": 3600}})
        assert saved.status_code == 200, saved.text
        for amount in (1500, 2500):
            await api.send(user_id=name, notification_type="resource_distribution", data={"amount": amount},
                           title=f"<i>paid {amount}</i>")
        context, page = await signed_in(browser, server, name, DESKTOP)
        try:
            inbox = page.locator(".inbox")
            await expect(inbox.get_by_text("<i>paid 1500</i>")).to_be_visible()
            await inbox.get_by_role("button", name="Mark read").first.click()
            await expect(inbox.get_by_text("💰 2 resource distributions, $4,000.00 in total")).to_be_visible()
            await expect(inbox.get_by_text("<i>paid 1500</i>")).to_have_count(0)
            await inbox.get_by_role("button", name="Show 2 items").click()
            items = inbox.locator(".digest-items")
            for amount in (1500, 2500):
                await expect(items.get_by_text(f"<i>paid {amount}</i>", exact=True)).to_be_visible()
        finally:
            await context.close()
