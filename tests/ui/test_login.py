"""/login is a real form (password managers, Enter), the page speaks English to screen readers, and the pages have
headings, a named account menu and a marked current page."""

from typing import Any

import httpx
from nicegui.testing import User

from tests.app_fixtures import ADMIN_PASSWORD, log_in, open_admin_tab
from theme import Heading


def element(user: User, marker: str) -> Any:
    return next(iter(user.find(marker=marker).elements))


def headings(user: User) -> list[tuple[str, str]]:
    assert user.client is not None
    return [(e.tag, str(e.text)) for e in user.client.elements.values() if isinstance(e, Heading) and e.visible]


async def test_the_login_is_a_form_a_password_manager_recognises(user: User) -> None:
    await user.open("/login")
    form = element(user, "login-form")
    assert form.tag == "form"
    listeners = [listener.to_dict() for listener in form._event_listeners.values()]
    assert [(lsn["type"], lsn["modifiers"]) for lsn in listeners] == [("submit", ["prevent"])]  # never reloads
    username, password, button = element(user, "username"), element(user, "password"), element(user, "login")
    assert {username.parent_slot.parent, password.parent_slot.parent, button.parent_slot.parent} == {form}
    assert (username.props["autocomplete"], username.props["name"]) == ("username", "username")
    assert (password.props["autocomplete"], password.props["name"]) == ("current-password", "password")
    assert button.props["type"] == "submit"  # Enter in a field presses it
    assert headings(user) == [("h1", "Sign in")]
    await user.should_not_see(marker="nav-dashboard")  # signed out: nowhere to go but here


async def test_a_wrong_password_is_said_once_and_clears_the_password(user: User) -> None:
    await user.open("/login")
    user.find(marker="username").type("admin")
    user.find(marker="password").type("not-the-password")
    user.find(marker="login").click()
    await user.should_see("Wrong username or password.")
    assert element(user, "login-error").props["role"] == "alert"
    assert element(user, "password").value == ""
    user.find(marker="password").type(ADMIN_PASSWORD)
    user.find(marker="login").click()
    await user.should_see(marker="dashboard")


async def test_pages_declare_english(client: httpx.AsyncClient) -> None:
    for path in ("/login",):
        page = (await client.get(path)).text
        assert '<html lang="en-US"' in page
    assert "document.documentElement.lang" in (await client.get("/login")).text  # and pages without one say "en"


async def test_the_admin_page_has_headings_a_named_menu_and_marks_where_you_are(user: User) -> None:
    await log_in(user)
    await open_admin_tab(user, "users", "user-rows")
    found = headings(user)
    assert found[0] == ("h1", "Control panel")
    assert [text for tag, text in found if tag == "h1"] == ["Control panel"]  # one h1 a page
    assert ("h2", "Accounts") in found
    menu = element(user, "user-menu")
    assert menu.props["aria-label"] == "Account menu for admin"
    current = element(user, "nav-admin")
    assert "nav-current" in current.classes and current.props["aria-current"] == "page"
    assert "nav-current" not in element(user, "nav-dashboard").classes

