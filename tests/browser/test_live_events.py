"""In real Chromium: log in through the page and see a REST-published event within 2 s."""

import time
from pathlib import Path

import httpx
from playwright.async_api import Browser, expect

from tests.browser.conftest import ADMIN_PASSWORD, Server


async def test_login_and_see_a_published_event_live(server: Server, browser: Browser, artifacts: Path) -> None:
    page = await browser.new_page(viewport={"width": 1280, "height": 800})
    await page.goto(f"{server.url}/")
    await page.get_by_label("Username").fill("admin")
    await page.get_by_label("Password").fill(ADMIN_PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_text("Live events")).to_be_visible()

    async with httpx.AsyncClient(base_url=server.url) as api:
        token = (await api.post("/api/v1/auth/token",
                                json={"username": "admin", "password": ADMIN_PASSWORD})).json()["access_token"]
        started = time.monotonic()
        response = await api.post("/api/v1/realtime/events/publish", headers={"Authorization": f"Bearer {token}"},
                                  json={"event_type": "mesh.node.connected", "data": {"node_id": "node-7"}})
        assert response.status_code == 201
    await expect(page.get_by_text("node_id=node-7")).to_be_visible(timeout=2000)
    assert time.monotonic() - started < 2
    await page.screenshot(path=str(artifacts / "dashboard-live-event.png"), full_page=True)
