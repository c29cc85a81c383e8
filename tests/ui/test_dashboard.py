"""The browser session: log in on /login, see events arrive live on / without reload, log out."""

import httpx
from nicegui.testing import User

from tests.app_fixtures import ADMIN, ADMIN_PASSWORD


async def log_in(user: User, username: str = ADMIN, password: str = ADMIN_PASSWORD) -> None:
    await user.open("/")
    await user.should_see(marker="login")
    user.find(marker="username").type(username)
    user.find(marker="password").type(password)
    user.find(marker="login").click()
    await user.should_see("Live events")


async def test_pages_require_a_login(user: User) -> None:
    await user.open("/")
    await user.should_see("Sign in")
    await user.should_not_see("Live events")


async def test_wrong_password_is_explained(user: User) -> None:
    await user.open("/login")
    user.find(marker="username").type(ADMIN)
    user.find(marker="password").type("wrong-password")
    user.find(marker="login").click()
    await user.should_see("Wrong username or password.")
    await user.should_not_see("Live events")


async def test_published_event_appears_live(user: User, client: httpx.AsyncClient,
                                            admin_headers: dict[str, str]) -> None:
    await log_in(user)
    await user.should_see(f"{ADMIN} · admin")
    await user.should_see("No events yet.")
    response = await client.post("/api/v1/realtime/events/publish", headers=admin_headers, json={
        "event_type": "truth.message.sent", "data": {"message": "the pool is open"}, "source": "truth-net"})
    assert response.status_code == 201
    await user.should_see(marker=f"event-{response.json()['id']}")
    await user.should_see("message=the pool is open")
    await user.should_not_see("No events yet.")


async def test_recent_events_are_listed_on_open(user: User, client: httpx.AsyncClient,
                                                admin_headers: dict[str, str]) -> None:
    await client.post("/api/v1/realtime/events/publish", headers=admin_headers,
                      json={"event_type": "human.registered", "data": {"human_id": "dora"}})
    await log_in(user)
    await user.should_see("human_id=dora")


async def test_logout_ends_the_session(user: User) -> None:
    await log_in(user)
    user.find(marker="logout").click()
    await user.should_see("Sign in")
    await user.open("/")
    await user.should_see("Sign in")


async def test_channel_filter_hides_and_shows_events(user: User, client: httpx.AsyncClient,
                                                     admin_headers: dict[str, str]) -> None:
    await log_in(user)
    for body in ({"event_type": "mesh.node.connected", "data": {"node_id": "n1"}},
                 {"event_type": "human.registered", "data": {"human_id": "erin"}}):
        assert (await client.post("/api/v1/realtime/events/publish", headers=admin_headers, json=body)).is_success
    await user.should_see("node_id=n1")
    await user.should_see("human_id=erin")
    user.find(marker="filter-mesh").click()
    await user.should_not_see("node_id=n1")
    await user.should_see("human_id=erin")
    await client.post("/api/v1/realtime/events/publish", headers=admin_headers,
                      json={"event_type": "mesh.node.connected", "data": {"node_id": "n2"}})
    await user.should_see("human_id=erin")
    await user.should_not_see("node_id=n2")
    user.find(marker="filter-mesh").click()
    await user.should_see("node_id=n1")
    await user.should_see("node_id=n2")
