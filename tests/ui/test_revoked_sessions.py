"""Browser views of a revoked account: admin actions check the role when they run, sessions end, no open redirect."""

import httpx
import pytest
from nicegui.testing import User

from tests.app_fixtures import USER_PASSWORD, create_account, log_in, open_admin_tab


async def test_an_open_admin_page_cannot_act_once_its_admin_is_demoted(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "vera", role="admin")
    await log_in(user, "vera", USER_PASSWORD)
    await open_admin_tab(user, "users", ready_marker="create-user")
    demoted = await client.patch("/api/v1/users/vera", headers=admin_headers, json={"role": "user"})
    assert demoted.status_code == 200

    user.find(marker="new-username").type("sleeper")
    user.find(marker="new-password").type("sleeper-password")
    user.find(marker="create-user").click()
    await user.should_see("Your admin access has ended")
    accounts = (await client.get("/api/v1/users", headers=admin_headers)).json()["users"]
    assert "sleeper" not in {a["username"] for a in accounts}


async def test_a_deactivated_account_is_signed_out_for_good(
        user: User, client: httpx.AsyncClient, admin_headers: dict[str, str]) -> None:
    await create_account(client, admin_headers, "dora")
    await log_in(user, "dora", USER_PASSWORD)
    for change in ({"is_active": False}, {"is_active": True}):
        assert (await client.patch("/api/v1/users/dora", headers=admin_headers, json=change)).status_code == 200
    await user.open("/")  # reactivated, but this session was issued before the deactivation
    await user.should_see(marker="login")
    await user.should_not_see(marker="dashboard")


@pytest.mark.parametrize("target", ["/%5Cexample.invalid/phish", "/%5C%5Cexample.invalid", "/%09/example.invalid",
                                    "//example.invalid", "https://example.invalid", "/%2F%2Fexample.invalid"])
async def test_after_login_the_browser_stays_on_this_site(user: User, target: str) -> None:
    await user.open(f"/login?redirect_to={target}")
    user.find(marker="username").type("admin")
    user.find(marker="password").type("admin-password-1")
    user.find(marker="login").click()
    await user.should_see(marker="dashboard")  # the dashboard, not another origin
