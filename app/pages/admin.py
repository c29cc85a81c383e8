"""/admin: the control panel. Admins only; every feature adds its tab through `live.admin_panels`."""

from __future__ import annotations

from fastapi.responses import RedirectResponse
from nicegui import ui

from app.asgi import database_unavailable
from app.live import AdminPanel, LiveBridge
from app.pages.session import admin_guard, log_out, signed_in, to_login, track
from app.pages.unavailable import unavailable_page, unless_unavailable
from app.security import Auth
from components.admin.users import UserAdmin
from components.common.guard import Authorize
from components.events.publisher import EventPublisher
from components.events.search import EventSearch
from components.notifications import TraceLinks
from services.events import EventSystem
from services.users import Principal
from theme import frame, page_heading, section_heading


def register(auth: Auth, events: EventSystem, live: LiveBridge) -> None:
    async def events_panel(principal: Principal, authorize: Authorize) -> None:
        with ui.card().classes("neon-card w-full"):
            section_heading("Publish an event")
            EventPublisher(events, principal.username, authorize)
        with ui.card().classes("neon-card w-full"):
            section_heading("Event history")
            traces = live.notification_traces
            search = EventSearch(events, TraceLinks(traces.load, traces.caused_by, authorize) if traces else None)
        await search.load()
        live.event_published.subscribe(search.event_arrived)

    async def users_panel(principal: Principal, authorize: Authorize) -> None:
        with ui.card().classes("neon-card w-full"):
            section_heading("Accounts")
            admin = UserAdmin(auth.users, principal.username, auth.update_account, authorize)
        await admin.refresh()

    panels = [AdminPanel("Events", "bolt", events_panel), AdminPanel("Users", "group", users_panel)]
    order = ("Notifications", "Metrics", "Events", "Connections", "Users")  # the daily tasks first

    @ui.page("/admin", language="en-US")
    async def admin_page() -> RedirectResponse | None:
        try:
            principal = await signed_in(auth)
        except Exception as error:
            if not database_unavailable(error):
                raise
            unavailable_page("Admin")
            return None
        if principal is None:
            return to_login("/admin")
        track(principal)
        with frame("Admin", username=principal.username, role=principal.role, on_logout=log_out,
                   current="/admin") as page:
            with page.extras:
                for item in live.header_items:
                    await unless_unavailable(item(principal), explain=False)
            if not principal.is_admin:
                with ui.card().classes("neon-card w-full gap-3"):
                    page_heading("Admins only").mark("admin-refused")
                    ui.label("The control panel is for admin accounts. Ask an admin if you need access.") \
                        .classes("text-body")
                    ui.link("Back to the dashboard", "/").classes("neon-link text-body").mark("back-to-dashboard")
                return None
            page_heading("Control panel")
            every = sorted([*live.admin_panels, *panels],
                           key=lambda p: (order.index(p.name) if p.name in order else len(order), p.part))
            tabbed: dict[str, list[AdminPanel]] = {}
            for panel in every:  # features may add parts to one tab (silences to Metrics)
                tabbed.setdefault(panel.name, []).append(panel)
            with ui.tabs().classes("w-full").props("inline-label outside-arrows mobile-arrows") as tabs:
                tab_of = {name: ui.tab(name, icon=parts[0].icon).mark(f"tab-{name.lower()}")
                          for name, parts in tabbed.items()}
            authorize = admin_guard(auth, principal)
            with ui.tab_panels(tabs, value=tab_of[every[0].name]).classes("w-full bg-transparent"):
                for name, parts in tabbed.items():
                    with ui.tab_panel(tab_of[name]).classes("gap-4 px-0"):
                        for panel in parts:
                            await unless_unavailable(panel.draw(principal, authorize))
        return None
