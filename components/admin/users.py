"""Account management for admins: create accounts, change roles, deactivate and reactivate (after a confirmation)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from components.common.guard import Authorize, always
from services.models import Role
from services.users import HashingBusy, UserError, UserExists, UserStore
from theme import confirm, toast

ROLES = [r.value for r in Role]
ROW = "grid w-full items-center gap-x-3 gap-y-2 grid-cols-[minmax(0,1fr)_auto_auto] " \
      "sm:grid-cols-[minmax(0,1fr)_11rem_6rem_8rem]"
"""One account a line on a wide screen; on a phone the name takes the first line and its controls the second."""

ROLE_EFFECTS = {
    Role.ADMIN.value: "They get the control panel: sending notifications, managing accounts, rules and events.",
    Role.USER.value: "They keep their dashboard and inbox; anything beyond that ends at once.",
    Role.SYSTEM.value: "A system account is for machines: it publishes events and records metrics.",
}

AccountUpdate = Callable[..., Awaitable[dict[str, Any] | None]]
"""Changes an account (`is_active=`, `role=`) and ends what it may no longer have, everywhere."""


class UserAdmin:
    """A create form and one row per account; changes go through `update`, which ends revoked sessions."""

    def __init__(self, users: UserStore, current: str, update: AccountUpdate, authorize: Authorize = always) -> None:
        self.users = users
        self.current = current
        self.update = update
        self.authorize = authorize
        with ui.column().classes("w-full gap-4") as self.root:  # outlives the rows: dialogs and toasts live here
            with ui.element("div").classes("w-full grid gap-2 items-start grid-cols-1 "
                                           "sm:grid-cols-[minmax(0,1fr)_minmax(0,1fr)_9rem_auto]"):
                self.username = ui.input("Username").props("dense outlined autocomplete=off autocapitalize=none") \
                    .on("keydown.enter", self.create).mark("new-username")
                self.password = ui.input("Password", password=True).on("keydown.enter", self.create) \
                    .props("dense outlined autocomplete=new-password").mark("new-password")
                self.role = ui.select(ROLES, value=Role.USER.value, label="Role").props("dense outlined") \
                    .mark("new-role")
                ui.button("Create", icon="person_add", on_click=self.create) \
                    .props("unelevated color=primary").classes("sm:mt-[2px]").mark("create-user")
            with ui.element("div").classes(ROW + " hidden sm:grid text-caption muted pb-1") \
                    .props("aria-hidden=true"):
                for heading in ("Account", "Role", "Status", ""):
                    ui.label(heading)
            self.rows = ui.column().classes("w-full gap-0").mark("user-rows")

    async def refresh(self) -> None:
        accounts = await self.users.all()
        self.rows.clear()
        with self.rows:
            for account in accounts:
                self._row(account)

    async def create(self) -> None:
        if not await self.authorize():
            return
        for field in (self.username, self.password):
            field.props(remove="error error-message")
        try:
            await self.users.create(self.username.value or "", self.password.value or "", self.role.value)
        except UserExists:
            self._error(self.username, f"There is already an account named {self.username.value}.")
            return
        except UserError as error:
            if "password" in str(error):
                self._error(self.password, "Use 8 to 256 characters.")
            else:
                self._error(self.username, "Use 1 to 64 letters, digits, or _ . @ -")
            return
        except HashingBusy:
            toast("The server is busy signing people in; try again in a moment.", "warning")
            return
        toast(f"Created {self.username.value}")
        self.username.set_value("")
        self.password.set_value("")
        await self.refresh()

    def _row(self, account: dict[str, object]) -> None:
        name = str(account["username"])
        active = bool(account["is_active"])
        current_role = str(account["role"])
        with ui.element("div").classes(ROW + " list-row").mark(f"user-{name}"):
            ui.label(name).classes("text-technical wrap-anywhere col-span-3 sm:col-span-1")
            role = ui.select(ROLES, value=current_role, label="Role").props("dense outlined options-dense") \
                .classes("min-w-[8rem]").mark(f"role-{name}")
            role.on_value_change(lambda e, n=name, was=current_role: self._change_role(n, was, e.value))
            ui.label("active" if active else "inactive") \
                .classes("text-technical " + ("text-positive" if active else "muted")).mark(f"state-{name}")
            if name == self.current:
                ui.label("you").classes("text-caption muted text-center")
            else:
                label = "Deactivate" if active else "Activate"
                ui.button(label, on_click=lambda n=name, a=active: self._toggle(n, a)) \
                    .props(f"outline dense color={'negative' if active else 'primary'}").classes("px-3") \
                    .mark(f"toggle-{name}")

    async def _change_role(self, username: str, was: str, role: str) -> None:
        if role == was:  # put back after a cancel
            return
        with self.root:
            if username == self.current and role != Role.ADMIN.value:
                toast("You cannot take away your own admin role.", "warning")
                await self.refresh()
                return
            if not await confirm(f"Change {username}'s role to {role}?",
                                 f"{ROLE_EFFECTS.get(role, '')} Their open pages reload.", "Change role",
                                 marker="user-confirm", danger=False):
                await self.refresh()
                return
            await self._update(username, role=role)

    async def _toggle(self, username: str, active: bool) -> None:
        with self.root:
            if active and not await confirm(
                    f"Deactivate {username}?",
                    "They are signed out everywhere at once: open pages close, tokens and WebSocket connections stop "
                    "working. They cannot sign in until an admin activates the account again.", "Deactivate",
                    marker="user-confirm"):
                return
            await self._update(username, is_active=not active)

    async def _update(self, username: str, *, role: str | None = None, is_active: bool | None = None) -> None:
        if not await self.authorize():
            return
        await self.update(username, role=role, is_active=is_active)
        if role is not None:
            toast(f"{username} is now {'an' if role == Role.ADMIN.value else 'a'} {role}")
        else:
            toast(f"{'Activated' if is_active else 'Deactivated'} {username}")
        await self.refresh()

    @staticmethod
    def _error(field: ui.input, message: str) -> None:
        field.props.update({"error": True, "error-message": message})
        field.update()
