"""Admin actions check the caller's current role when they run, not when the page was drawn."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Authorize = Callable[[], Awaitable[bool]]
"""Answers whether the signed-in account may still do what the page offers; on False it has told the person and
taken the page away (the action must then do nothing)."""


async def always() -> bool:
    """For widgets drawn outside a signed-in page (tests, previews)."""
    return True
