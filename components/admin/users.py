"""Account management for admins: create accounts, change roles, deactivate and reactivate."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from nicegui import ui

from components.common.guard import Authorize, always
from services.models import Role
from services.users import HashingBusy, UserError, UserExists, UserStore

ROLES = [r.value for r in Role]


AccountUpdate = Callable[..., Awaitable[dict[str, Any] | None]]
"""Changes an account (`is_active=`, `role=`) and ends what it may no longer have, everywhere."""


class UserAdmin:
    """A create form and one row per account; changes go through `update`, which ends revoked sessions."""

    def __init__(self, users: UserStore, current: str, update: AccountUpdate, authorize: Authorize = always) -> None:
        self.users = users
        self.current = current
        self.update = update
        self.authorize = authorize
        with ui.row().classes("w-full items-start gap-2"):
            self.username = ui.input("Username").props("dense outlined").mark("new-username")
            self.password = ui.input("Password", password=True).props("dense outlined").mark("new-password")
            self.role = ui.select(ROLES, value=Role.USER.value, label="Role").props("dense outlined") \
                .classes("min-w-[8rem]").mark("new-role")
            ui.button("Create", icon="person_add", on_click=self.create).props("color=primary text-color=black") \
                .mark("create-user")
        self.rows = ui.column().classes("w-full gap-1").mark("user-rows")

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
        except UserExists as error:
            self._error(self.username, str(error))
            return
        except UserError as error:
            self._error(self.password if "password" in str(error) else self.username, str(error))
            return
        except HashingBusy:
            ui.notify("The server is busy signing people in; try again in a moment.", type="warning")
            return
        ui.notify(f"Created {self.username.value}", type="positive")
        self.username.set_value("")
        self.password.set_value("")
        await self.refresh()

    def _row(self, account: dict[str, object]) -> None:
        name = str(account["username"])
        active = bool(account["is_active"])
        with ui.row().classes("w-full items-center gap-3").mark(f"user-{name}"):
            ui.label(name).classes("mono min-w-[10rem]")
            role = ui.select(ROLES, value=account["role"]).props("dense outlined").classes("min-w-[8rem]") \
                .mark(f"role-{name}")
            role.on_value_change(lambda e, n=name: self._update(n, role=e.value))
            ui.label("active" if active else "inactive").classes("muted text-sm").mark(f"state-{name}")
            if name != self.current:
                label = "Deactivate" if active else "Activate"
                ui.button(label, on_click=lambda n=name, a=active: self._update(n, is_active=not a)) \
                    .props("flat color=secondary").mark(f"toggle-{name}")

    async def _update(self, username: str, *, role: str | None = None, is_active: bool | None = None) -> None:
        if username == self.current and role not in (None, Role.ADMIN.value):
            ui.notify("You cannot take away your own admin role.", type="warning")
            await self.refresh()
            return
        if not await self.authorize():
            return
        await self.update(username, role=role, is_active=is_active)
        ui.notify(f"Updated {username}", type="positive")
        await self.refresh()

    @staticmethod
    def _error(field: ui.input, message: str) -> None:
        field.props(f"error error-message={json.dumps(message)}")
        ui.notify(message, type="negative")
