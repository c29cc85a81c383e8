"""/login: username and password form; /logout clears the session."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import app as nicegui_app
from nicegui import ui

from app.pages.session import remember, safe_redirect, signed_in
from app.security import Auth, LoginThrottled
from services.users import HashingBusy
from theme import frame


def register(auth: Auth) -> None:
    @ui.page("/login")
    async def login_page(redirect_to: str = "/") -> RedirectResponse | None:
        target = safe_redirect(redirect_to)
        if await signed_in(auth):
            return RedirectResponse(target)

        async def submit() -> None:
            error.set_text("")
            if not username.value or not password.value:
                error.set_text("Enter your username and password.")
                return
            client = ui.context.client.request.client
            try:
                principal = await auth.login(username.value, password.value, client.host if client else "browser")
            except LoginThrottled as throttled:
                error.set_text(f"Too many failed attempts. Try again in {throttled.retry_after:.0f} s.")
                return
            except HashingBusy:
                error.set_text("Too many people are signing in right now. Try again in a moment.")
                return
            if principal is None:
                error.set_text("Wrong username or password.")
                password.set_value("")
                return
            remember(principal)
            ui.navigate.to(target)

        with frame("Log in"), ui.card().classes("neon-card w-full max-w-sm mx-auto mt-16 p-6 gap-3"):
            ui.label("Sign in").classes("neon-title text-2xl")
            username = ui.input("Username").props("autofocus outlined dark").classes("w-full").mark("username")
            password = ui.input("Password", password=True, password_toggle_button=True) \
                .props("outlined dark").classes("w-full").mark("password").on("keydown.enter", submit)
            error = ui.label().classes("text-sm").style("color: #ff4d6d").mark("login-error")
            ui.button("Log in", on_click=submit).props("color=primary text-color=black").classes("w-full") \
                .mark("login")
        return None

    @ui.page("/logout")
    def logout_page() -> RedirectResponse:
        nicegui_app.storage.user.clear()
        return RedirectResponse("/login")
