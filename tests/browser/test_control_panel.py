"""In real Chromium, an admin and a user side by side: the control panel drives what the user sees live."""

import re
import uuid
from pathlib import Path

import httpx
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import ADMIN_PASSWORD, Server, settled

USER_PASSWORD = "user-password-1"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


async def log_in(page: Page, server: Server, username: str, password: str) -> None:
    await page.goto(f"{server.url}/")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    await expect(page.locator(".inbox")).to_be_attached()  # on a phone the feed waits behind its tab


async def new_user(server: Server) -> str:
    username = f"user-{uuid.uuid4().hex[:8]}"
    async with httpx.AsyncClient(base_url=server.url) as api:
        token = (await api.post("/api/v1/auth/token",
                                json={"username": "admin", "password": ADMIN_PASSWORD})).json()["access_token"]
        created = await api.post("/api/v1/users", headers={"Authorization": f"Bearer {token}"},
                                 json={"username": username, "password": USER_PASSWORD, "role": "user"})
        assert created.status_code == 201
    return username


async def history(server: Server, event_type: str) -> list[dict]:
    async with httpx.AsyncClient(base_url=server.url) as api:
        token = (await api.post("/api/v1/auth/token",
                                json={"username": "admin", "password": ADMIN_PASSWORD})).json()["access_token"]
        response = await api.get("/api/v1/realtime/events/history", params={"event_type": event_type},
                                 headers={"Authorization": f"Bearer {token}"})
        return list(response.json()["events"])


async def test_admin_drives_the_users_view_live(server: Server, browser: Browser, artifacts: Path) -> None:
    username = await new_user(server)
    admin = await (await browser.new_context(viewport=DESKTOP)).new_page()
    person = await (await browser.new_context(viewport=PHONE)).new_page()
    await log_in(admin, server, "admin", ADMIN_PASSWORD)
    await log_in(person, server, username, USER_PASSWORD)

    # The admin sends a notification with an action from the Notifications tab.
    await admin.goto(f"{server.url}/admin")
    await admin.get_by_role("tab", name="Notifications").click()
    title = f"Housing credit ready {uuid.uuid4().hex[:6]}"
    await admin.get_by_label("Username").fill(username)
    await admin.get_by_label("Title").first.fill(title)  # the alert form below has one too
    await admin.get_by_label("Message").first.fill("Your $104,000.00 housing credit can be claimed now.")
    await admin.get_by_role("button", name="Add action").click()
    await admin.get_by_label("Label").fill("Claim")
    await admin.get_by_label("Action id").fill("claim_credit")
    await admin.get_by_role("button", name="Send", exact=True).click()
    await expect(admin.get_by_text(f"to user:{username}")).to_be_visible()

    # The user sees it without reloading and clicks its action, which is recorded as a user.action event.
    await expect(person.get_by_text(title)).to_be_visible(timeout=2000)
    await person.get_by_role("button", name="Claim").click()
    await expect(person.get_by_text("recorded")).to_be_visible()
    actions = await history(server, "user.action")
    assert any(e["data"].get("action") == "claim_credit" and e["data"].get("user_id") == username for e in actions)

    # The admin publishes an event from the Events tab; the user's live feed shows it.
    await admin.get_by_role("tab", name="Events").click()
    await expect(admin.get_by_text(re.compile(r"of \d+ events"))).to_be_visible()  # the panel and its history
    await settled(admin)  # the panel has finished sliding in
    human = f"human-{uuid.uuid4().hex[:6]}"  # the form's default type is resource.distributed
    await admin.get_by_label("Data (JSON object)").fill(f'{{"human_id": "{human}", "amount": 800}}')
    await admin.get_by_role("button", name="Publish").click()
    await expect(admin.get_by_text("published resource.distributed · id")).to_be_visible()
    await person.get_by_role("tab", name="Events").click()  # a phone shows one section at a time
    await expect(person.get_by_text(f"$800.00 to {human}")).to_be_visible(timeout=2000)

    await person.wait_for_timeout(600)  # let the arrival animation finish before the screenshots
    await person.screenshot(path=str(artifacts / "dashboard-phone.png"), full_page=True)
    await admin.screenshot(path=str(artifacts / "admin-events-desktop.png"), full_page=True)
    await admin.goto(f"{server.url}/")
    await expect(admin.get_by_text("Live events")).to_be_visible()
    await admin.wait_for_timeout(600)
    await admin.screenshot(path=str(artifacts / "dashboard-desktop.png"), full_page=True)
    await admin.set_viewport_size(PHONE)
    await admin.goto(f"{server.url}/admin")
    await expect(admin.get_by_text("Control panel")).to_be_visible()
    await admin.screenshot(path=str(artifacts / "admin-phone.png"), full_page=True)

    # A plain user is refused the control panel.
    await person.goto(f"{server.url}/admin")
    await expect(person.get_by_text("Admins only")).to_be_visible()
    await expect(person.get_by_text("Publish an event")).to_have_count(0)


async def test_a_websocket_client_shows_in_the_connections_table(server: Server, browser: Browser) -> None:
    import websockets

    username = await new_user(server)
    async with httpx.AsyncClient(base_url=server.url) as api:
        token = (await api.post("/api/v1/auth/token",
                                json={"username": username, "password": USER_PASSWORD})).json()["access_token"]
    admin = await (await browser.new_context(viewport=DESKTOP)).new_page()
    await log_in(admin, server, "admin", ADMIN_PASSWORD)
    await admin.goto(f"{server.url}/admin")
    await admin.get_by_role("tab", name="Connections").click()
    await settled(admin)
    url = server.url.replace("http", "ws") + f"/api/v1/realtime/ws?connection_type=mobile&token={token}"
    async with websockets.connect(url) as ws:
        await ws.recv()  # connection_established
        await expect(admin.get_by_role("cell", name=username, exact=True)).to_be_visible(timeout=3000)
    await expect(admin.get_by_role("cell", name=username, exact=True)).to_have_count(0, timeout=3000)
