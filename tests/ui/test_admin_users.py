"""/admin Users tab: deactivating and changing a role ask first, and the controls carry labels."""

from typing import Any

import httpx
from nicegui.testing import User
from nicegui.testing.user_interaction import UserInteraction

from tests.app_fixtures import USER_PASSWORD, create_account, log_in, open_admin_tab


def element(user: User, marker: str) -> Any:
    return next(iter(user.find(marker=marker).elements))


async def role_of(client: httpx.AsyncClient, headers: dict[str, str], username: str) -> str:
    accounts = (await client.get("/api/v1/users", headers=headers)).json()
    found = accounts["users"] if isinstance(accounts, dict) else accounts
    return str(next(a for a in found if a["username"] == username)["role"])


async def open_users(user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "bob")
    await log_in(user)
    await open_admin_tab(user, "users", "user-bob")


async def test_cancelling_a_deactivation_changes_nothing(user: User, client: httpx.AsyncClient,
                                                         admin_headers: dict[str, str]) -> None:
    await open_users(user, client, admin_headers)
    user.find(marker="toggle-bob").click()
    await user.should_see(marker="user-confirm")
    await user.should_see("They are signed out everywhere at once")
    user.find(marker="user-confirm-cancel").click()
    await user.should_not_see(marker="user-confirm")
    assert element(user, "state-bob").text == "active"
    login = await client.post("/api/v1/auth/token", json={"username": "bob", "password": USER_PASSWORD})
    assert login.status_code == 200  # still signed in everywhere

    user.find(marker="toggle-bob").click()  # and a deactivation that is confirmed goes through
    await user.should_see(marker="user-confirm")
    user.find(marker="user-confirm-ok").click()
    await user.should_see("Deactivated bob")
    assert element(user, "state-bob").text == "inactive"
    user.find(marker="toggle-bob").click()  # activating takes nothing away: no question asked
    await user.should_see("Activated bob")


async def test_a_role_change_asks_first(user: User, client: httpx.AsyncClient,
                                        admin_headers: dict[str, str]) -> None:
    await open_users(user, client, admin_headers)
    select = user.find(marker="role-bob")
    select.click()
    UserInteraction(user, select.elements, "admin").click()
    await user.should_see("Change bob's role to admin?")
    user.find(marker="user-confirm-cancel").click()
    await user.should_not_see(marker="user-confirm")
    assert await role_of(client, admin_headers, "bob") == "user"
    assert element(user, "role-bob").value == "user"  # the select shows what is true again

    select = user.find(marker="role-bob")
    select.click()
    UserInteraction(user, select.elements, "admin").click()
    await user.should_see(marker="user-confirm")
    user.find(marker="user-confirm-ok").click()
    await user.should_see("bob is now an admin")
    assert await role_of(client, admin_headers, "bob") == "admin"


async def test_every_role_select_is_labelled(user: User, client: httpx.AsyncClient,
                                             admin_headers: dict[str, str]) -> None:
    await open_users(user, client, admin_headers)
    for marker in ("role-bob", "role-admin", "new-role"):
        assert element(user, marker).props["label"] == "Role"  # Quasar names the combobox after it
    assert element(user, "toggle-bob").text == "Deactivate"
    await user.should_not_see(marker="toggle-admin")  # nobody deactivates themselves
