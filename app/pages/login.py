"""/login: username and password form; /logout clears the session."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import app as nicegui_app
from nicegui import ui

from app.pages.session import remember, safe_redirect, signed_in
from app.security import Auth, LoginThrottled
from services.users import HashingBusy
from theme import frame, page_heading


def register(auth: Auth) -> None:
    @ui.page("/login", language="en-US")
    async def login_page(redirect_to: str = "/") -> RedirectResponse | None:
        target = safe_redirect(redirect_to)
        if await signed_in(auth):
            return RedirectResponse(target)
        busy = False

        async def submit() -> None:
            nonlocal busy
            if busy:  # a double press while the password is being checked
                return
            error.set_text("")
            if not username.value or not password.value:
                error.set_text("Enter your username and password.")
                return
            client = ui.context.client.request.client
            busy = True
            button.props("loading")
            try:
                principal = await auth.login(username.value, password.value, client.host if client else "browser")
            except LoginThrottled as throttled:
                error.set_text(f"Too many failed attempts. Try again in {throttled.retry_after:.0f} s.")
                return
            except HashingBusy:
                error.set_text("Too many people are signing in right now. Try again in a moment.")
                return
            finally:
                busy = False
                button.props(remove="loading")
            if principal is None:
                error.set_text("Wrong username or password.")
                password.set_value("")
                return
            remember(principal)
            ui.navigate.to(target)

        # A real form: password managers recognise it, and Enter in either field presses the submit button (the
        # browser's implicit submission clicks it), whose click signs in; the submit itself goes nowhere.
        with frame("Log in"), ui.card().classes("neon-card w-full max-w-sm mx-auto mt-16 p-6"), \
                ui.element("form").classes("w-full flex flex-col gap-3").props('method=post action=""') \
                .on("submit.prevent", js_handler="() => {}").mark("login-form"):
            page_heading("Sign in")
            username = ui.input("Username").classes("w-full").mark("username") \
                .props("autofocus outlined dark name=username autocomplete=username autocapitalize=none")
            password = ui.input("Password", password=True, password_toggle_button=True).classes("w-full") \
                .props("outlined dark name=password autocomplete=current-password").mark("password")
            error = ui.label().classes("text-body danger-text").props("role=alert").mark("login-error")
            button = ui.button("Log in", on_click=submit).props("type=submit unelevated color=primary") \
                .classes("w-full").mark("login")
        return None

    @ui.page("/logout")
    def logout_page() -> RedirectResponse:
        nicegui_app.storage.user.clear()
        return RedirectResponse("/login")
