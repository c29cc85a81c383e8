"""/admin: refusal for plain users, publishing and searching events, account management."""

from typing import Any

import httpx
import pytest
from nicegui.testing import User
from sqlalchemy.exc import OperationalError

from services.events import EventSystem
from tests.app_fixtures import USER_PASSWORD, create_account, log_in, open_admin_tab


async def test_a_plain_user_is_refused(user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "alice")
    await log_in(user, "alice", USER_PASSWORD)
    await user.should_not_see(marker="nav-admin")
    await user.open("/admin")
    await user.should_see(marker="admin-refused")
    await user.should_not_see("Publish an event")
    assert "neon-link" in next(iter(user.find(marker="back-to-dashboard").elements)).classes  # not browser blue


async def test_admin_publishes_an_event_and_finds_it(user: User, client: httpx.AsyncClient,
                                                    admin_headers: dict[str, str]) -> None:
    await log_in(user)
    await open_admin_tab(user, "events")
    user.find(marker="publish-data").clear().type("{not json")
    user.find(marker="publish-run").click()
    await user.should_see("not valid JSON")

    user.find(marker="publish-data").clear().type('{"human_id": "alice", "amount": -5}')
    user.find(marker="publish-run").click()
    await user.should_see("data.amount")

    user.find(marker="publish-data").clear().type('{"human_id": "alice", "amount": 800}')
    user.find(marker="publish-run").click()
    await user.should_see("published resource.distributed")

    user.find(marker="search-type").type("resource.distributed")
    user.find(marker="search-text").type("alice")
    user.find(marker="search-run").click()
    await user.should_see("1–1 of 1 events")
    history = (await client.get("/api/v1/realtime/events/history", headers=admin_headers,
                                params={"event_type": "resource.distributed"})).json()
    user.find(marker=f"result-{history['events'][0]['id']}").trigger("click")
    await user.should_see(marker="event-detail")
    await user.should_see("Correlated events (2)")  # the distribution and the notification it caused
    await user.should_see(marker=f"correlated-{history['events'][0]['id']}")


async def test_bad_time_filter_is_explained(user: User) -> None:
    await log_in(user)
    await open_admin_tab(user, "events")
    user.find(marker="search-since").type("yesterday")
    user.find(marker="search-run").click()
    await user.should_see("Fix the marked filter to search.")
    since = next(iter(user.find(marker="search-since").elements))
    assert since.props["error-message"] == "Write the time as YYYY-MM-DD HH:MM (UTC)."


async def test_admin_creates_and_deactivates_an_account(user: User, client: httpx.AsyncClient) -> None:
    await log_in(user)
    await open_admin_tab(user, "users")
    user.find(marker="new-username").type("bob")
    user.find(marker="new-password").type("short")
    user.find(marker="create-user").click()
    await user.should_see("Use 8 to 256 characters.")

    user.find(marker="new-password").clear().type("bob-password")
    user.find(marker="create-user").click()
    await user.should_see(marker="user-bob")
    login = await client.post("/api/v1/auth/token", json={"username": "bob", "password": "bob-password"})
    assert login.status_code == 200

    user.find(marker="toggle-bob").click()
    await user.should_see(marker="user-confirm")  # deactivating takes a second, deliberate click
    await user.should_see("Deactivate bob?")
    user.find(marker="user-confirm-ok").click()
    await user.should_see("Deactivated bob")
    refused = await client.post("/api/v1/auth/token", json={"username": "bob", "password": "bob-password"})
    assert refused.status_code == 401


async def test_history_shows_new_events_without_a_search(user: User, client: httpx.AsyncClient,
                                                         admin_headers: dict[str, str]) -> None:
    await log_in(user)
    await open_admin_tab(user, "events")
    await user.should_see("No events recorded yet.")
    response = await client.post("/api/v1/realtime/events/publish", headers=admin_headers,
                                 json={"event_type": "mesh.node.connected", "data": {"node_id": "n9"}})
    await user.should_see(marker=f"result-{response.json()['id']}", retries=40)


async def test_a_publish_that_fails_in_storage_says_so_and_keeps_the_form(
        user: User, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    original = EventSystem.publish

    async def failing(self: EventSystem, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("durable") and args[1].get("human_id") == "disk-full":
            raise OperationalError("INSERT", {}, Exception("disk I/O error"))
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(EventSystem, "publish", failing)
    await log_in(user)
    await open_admin_tab(user, "events")
    user.find(marker="publish-data").clear().type('{"human_id": "disk-full", "amount": 1}')
    user.find(marker="publish-run").click()
    await user.should_see("not published: OperationalError")
    assert user.find(marker="publish-data").elements.pop().value == '{"human_id": "disk-full", "amount": 1}'
    assert user.find(marker="publish-run").elements.pop().enabled  # ready for another try
    assert [r.message for r in caplog.records if r.levelname == "ERROR"] == [
        "publishing resource.distributed from the admin panel failed"]
    caplog.clear()  # the one expected ERROR: logged with its traceback for the operator

    user.find(marker="publish-data").clear().type('{"human_id": "alice", "amount": 1}')
    user.find(marker="publish-run").click()
    await user.should_see("published resource.distributed")


async def test_long_event_data_ends_in_an_ellipsis_and_the_detail_shows_all_of_it(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    node = "n" + "x" * 300
    response = await client.post("/api/v1/realtime/events/publish", headers=admin_headers,
                                 json={"event_type": "mesh.node.connected", "data": {"node_id": node}})
    assert response.status_code == 201, response.text
    event_id = response.json()["id"]
    await log_in(user)
    await open_admin_tab(user, "events", f"result-{event_id}")
    preview = str(next(iter(user.find(marker=f"result-data-{event_id}").elements)).text)
    assert preview.endswith("…") and len(preview) == 121
    assert preview.startswith(f"node_id={node[:100]}")
    user.find(marker=f"result-{event_id}").trigger("keydown.enter")  # a row opens from the keyboard too
    await user.should_see(marker="event-detail")
    with user.scope(marker="event-detail"):
        await user.should_see(node)  # every character, in the detail


async def test_an_empty_search_says_so_and_offers_to_clear_the_filters(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    response = await client.post("/api/v1/realtime/events/publish", headers=admin_headers,
                                 json={"event_type": "mesh.node.connected", "data": {"node_id": "n1"}})
    assert response.status_code == 201
    await log_in(user)
    await open_admin_tab(user, "events", f"result-{response.json()['id']}")
    await user.should_not_see(marker="search-clear")
    user.find(marker="search-source").type("nobody-publishes-this")
    user.find(marker="search-source").trigger("keydown.enter")  # Enter in a filter searches
    await user.should_see("No events match these filters. Clear them to see every event.")
    await user.should_not_see(marker=f"result-{response.json()['id']}")
    user.find(marker="search-clear").click()
    await user.should_see(marker=f"result-{response.json()['id']}")
    assert next(iter(user.find(marker="search-source").elements)).value == ""
    await user.should_not_see(marker="search-clear")
