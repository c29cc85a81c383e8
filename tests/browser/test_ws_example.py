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


ORIGINAL = """
var ws = new WebSocket('ws://localhost:8000/api/v1/realtime/ws?connection_type=dashboard');
ws.onmessage = function(event) {
    const data = JSON.parse(event.data);
    switch(data.type) {
        case 'notification':
            console.log('New notification:', data.data.title);
            break;
        case 'event':
            console.log('New event:', data.data.type);
            break;
    }
};
ws.onopen = function() {
    ws.send(JSON.stringify({type: 'subscribe', channel: 'resources'}));
};
"""
"""The original system's documented snippet, verbatim but for the port: no token at all."""


async def test_the_original_snippet_works_in_a_signed_in_page(server: Server, browser: Browser) -> None:
    """On a page of this site at http://localhost (the snippet names localhost, and the session cookie of
    127.0.0.1 would not go there), the browser's session is the credential."""
    port = server.url.rsplit(":", 1)[1]
    async with httpx.AsyncClient(base_url=server.url) as api:
        admin = (await api.post("/api/v1/auth/token",
                                json={"username": "admin", "password": ADMIN_PASSWORD})).json()["access_token"]
        headers = {"Authorization": f"Bearer {admin}"}
        await api.post("/api/v1/users", headers=headers,
                       json={"username": "oldclient", "password": "oldclient-password", "role": "user"})
        context = await browser.new_context()
        page = await context.new_page()
        logged: list[str] = []
        page.on("console", lambda message: logged.append(message.text))
        await page.goto(f"http://localhost:{port}/login")
        await page.get_by_label("Username").fill("oldclient")
        await page.get_by_label("Password").fill("oldclient-password")
        await page.get_by_role("button", name="Log in").click()
        await page.wait_for_url(f"http://localhost:{port}/")
        await page.evaluate(f"() => {{ {ORIGINAL.replace('localhost:8000', f'localhost:{port}')} window.ws = ws; }}")

        async def subscribed() -> bool:
            return bool(await page.evaluate("() => ws.readyState === 1"))

        await eventually(subscribed)
        await page.wait_for_timeout(300)  # the subscribe is answered before the messages below
        await api.post("/api/v1/notifications/send", headers=headers,
                       json={"user_id": "oldclient", "notification_type": "info", "title": "Hello from before"})
        await api.post("/api/v1/realtime/events/publish", headers=headers,
                       json={"event_type": "resource.distributed", "data": {"human_id": "oldclient", "amount": 1}})

        async def arrived() -> bool:
            return "New notification: Hello from before" in logged and "New event: resource.distributed" in logged

        await eventually(arrived)

        # The same cookie from another site's page is refused (cross-site WebSocket hijacking).
        cookies = {c["name"]: c["value"] for c in await context.cookies()}
        from websockets.asyncio.client import connect
        from websockets.exceptions import ConnectionClosed

        async with connect(f"ws://127.0.0.1:{port}/api/v1/realtime/ws?connection_type=dashboard",
                           additional_headers={"Cookie": f"session={cookies['session']}",
                                               "Origin": "http://evil.example"}) as hijack:
            try:
                await hijack.recv()
                raise AssertionError("a foreign origin was admitted with the cookie")
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1008
        await context.close()
