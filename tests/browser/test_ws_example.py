"""In real Chromium: the README's JavaScript example (DESIGN.md §6) receives a notification sent over REST."""

import httpx
from playwright.async_api import Browser

from tests.api.test_ws_support import eventually
from tests.browser.conftest import ADMIN_PASSWORD, Server

EXAMPLE = """
const ws = new WebSocket(`ws://localhost:8000/api/v1/realtime/ws?connection_type=dashboard&token=${token}`);
ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type === 'notification') console.log(m.data.title); };
ws.onopen = () => ws.send(JSON.stringify({type: 'subscribe', channel: 'resources'}));
"""
"""Verbatim from DESIGN.md §6 (and the README); only the host is this test server's."""


async def test_the_readme_example_receives_a_notification(server: Server, browser: Browser) -> None:
    async with httpx.AsyncClient(base_url=server.url) as api:
        admin = (await api.post("/api/v1/auth/token",
                                json={"username": "admin", "password": ADMIN_PASSWORD})).json()["access_token"]
        headers = {"Authorization": f"Bearer {admin}"}
        await api.post("/api/v1/users", headers=headers,
                       json={"username": "reader", "password": "reader-password-1", "role": "user"})
        token = (await api.post("/api/v1/auth/token",
                                json={"username": "reader", "password": "reader-password-1"})).json()["access_token"]
        page = await browser.new_page()
        await page.goto(f"{server.url}/login")
        code = EXAMPLE.replace("localhost:8000", server.url.removeprefix("http://"))
        await page.evaluate(f"(token) => {{ {code} window.readmeSocket = ws; }}", token)

        async def subscribed() -> bool:  # connected, and the example's own subscribe answered
            listed = (await api.get("/api/v1/realtime/ws/connections", headers=headers)).json()["connections"]
            return any(c["user"] == "reader" and c["messages_received"] for c in listed)

        await eventually(subscribed)
        async with page.expect_console_message(lambda m: m.text == "Hello from the README", timeout=5000):
            response = await api.post("/api/v1/realtime/ws/notify/reader", headers=headers, json={
                "message_type": "notification", "data": {"title": "Hello from the README"}})
        assert response.json()["sent_count"] == 1
        assert await page.evaluate("window.readmeSocket.readyState") == 1  # still open
        await page.close()
