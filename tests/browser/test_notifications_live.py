"""In real Chromium, two signed-in people: the admin sends through REST, the user sees it live within 1 s."""

import time
import uuid
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_PASSWORD, Server

USER_PASSWORD = "user-password-1"


async def log_in(page: Page, server: Server, username: str, password: str) -> None:
    await page.goto(f"{server.url}/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.get_by_text("Notifications", exact=True)).to_be_visible()


async def test_the_user_sees_a_notification_live_within_a_second(server: Server, browser: Browser,
                                                                 artifacts: Path) -> None:
    username = f"user-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=server.url) as api:
        token = (await api.post("/api/v1/auth/token",
                                json={"username": "admin", "password": ADMIN_PASSWORD})).json()["access_token"]
        admin = {"Authorization": f"Bearer {token}"}
        created = await api.post("/api/v1/users", headers=admin,
                                 json={"username": username, "password": USER_PASSWORD, "role": "user"})
        assert created.status_code == 201

        admin_context = await browser.new_context(viewport={"width": 1280, "height": 900})
        user_context = await browser.new_context(viewport={"width": 390, "height": 844})  # a phone
        admin_page, user_page = await admin_context.new_page(), await user_context.new_page()
        await log_in(admin_page, server, "admin", ADMIN_PASSWORD)
        await log_in(user_page, server, username, USER_PASSWORD)
        await expect(user_page.get_by_text("No notifications.")).to_be_visible()

        text = f"Your housing credit is ready ({uuid.uuid4().hex[:6]})"
        started = time.monotonic()
        response = await api.post("/api/v1/notifications/send", headers=admin, json={
            "user_id": username, "notification_type": "success", "message": text, "priority": 4,
            "actions": [{"label": "Open", "action": "open", "url": "/"}]})
        assert response.status_code == 201
        await expect(user_page.get_by_text(text)).to_be_visible(timeout=1000)
        assert time.monotonic() - started < 1.0
        badge = user_page.locator(".q-badge", has_text="1")
        await expect(badge).to_be_visible()
        await expect(admin_page.get_by_text(text)).to_have_count(0)

        everyone = f"Maintenance tonight ({uuid.uuid4().hex[:6]})"
        await api.post("/api/v1/notifications/send", headers=admin,
                       json={"broadcast": True, "notification_type": "info", "message": everyone})
        await expect(user_page.get_by_text(everyone)).to_be_visible(timeout=1000)
        await expect(admin_page.get_by_text(everyone)).to_be_visible(timeout=1000)
        await user_page.screenshot(path=str(artifacts / "inbox-live-user.png"), full_page=True)

        await user_page.get_by_role("button", name="Mark all read").click()
        await expect(user_page.locator(".q-badge")).to_be_hidden()
        inbox = (await api.get("/api/v1/notifications", headers={"Authorization": "Bearer " + (await api.post(
            "/api/v1/auth/token", json={"username": username, "password": USER_PASSWORD})).json()["access_token"]})
                 ).json()
        assert inbox["unread_count"] == 0 and inbox["total_count"] == 2
        await admin_page.screenshot(path=str(artifacts / "inbox-live-admin.png"), full_page=True)
        await admin_context.close()
        await user_context.close()
