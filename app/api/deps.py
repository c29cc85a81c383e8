"""Dependencies declared once: who is calling, and which roles a route admits."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import HTTPException, Request, status
from fastapi.security import HTTPBearer

from app.security import Auth
from services.models import Role
from services.users import Principal

MAX_OFFSET = 1_000_000_000
"""The largest `offset` a paged route accepts (a database integer must hold it; nobody pages further)."""

ANYONE_SIGNED_IN = (Role.USER.value, Role.ADMIN.value, Role.SYSTEM.value)
ADMIN = (Role.ADMIN.value,)
ADMIN_OR_SYSTEM = (Role.ADMIN.value, Role.SYSTEM.value)


class RoleGuard(HTTPBearer):
    """A dependency that answers 401 without a valid token and 403 for a role outside `roles`.

    It is the bearer security scheme itself (so /docs offers "Authorize"), rather than a dependency on one: FastAPI
    then resolves one dependency per request instead of two, which is measurable on small requests.
    """

    def __init__(self, auth: Auth, roles: tuple[str, ...]) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description="Token from POST /api/v1/auth/token")
        self.auth = auth
        self.roles = roles

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        credentials = await super().__call__(request)
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated",
                                headers={"WWW-Authenticate": "Bearer"})
        principal = await self.auth.principal_from_token(credentials.credentials)
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                                headers={"WWW-Authenticate": "Bearer"})
        if principal.role not in self.roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {' or '.join(self.roles)}")
        return principal


def role_guard(auth: Auth, roles: tuple[str, ...]) -> RoleGuard:
    return RoleGuard(auth, roles)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@dataclass(slots=True)
class _Buckets:
    events: float
    size: float
    updated: float


class PublishLimit:
    """Token buckets per account on events per second and bytes per second, so that one account's flood neither
    fills the database nor takes the process from everyone else. Per process, like the WebSocket limits.

    The table keeps the `max_accounts` most recently active accounts: one that was evicted has been idle longest,
    and an idle account's buckets are full anyway, so forgetting them changes nothing for a while at least."""

    def __init__(self, rate: float, burst: int, bytes_rate: float, bytes_burst: int, *, max_accounts: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.bytes_rate = bytes_rate
        self.bytes_burst = bytes_burst
        self.max_accounts = max_accounts
        self._clock = clock
        self._accounts: OrderedDict[str, _Buckets] = OrderedDict()

    def check(self, account: str, size: int) -> None:
        """Count one event of `size` bytes against `account`, or raise a 429 with Retry-After (counting nothing)."""
        wait = self.wait(account, size)
        if wait > 0:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                f"publish rate limit: an account may publish {self.rate:g} events/s (bursts of {self.burst}) and "
                f"{self.bytes_rate:g} bytes/s (bursts of {self.bytes_burst}); retry in {wait:.1f} s",
                headers={"Retry-After": str(max(1, math.ceil(wait)))})

    def wait(self, account: str, size: int) -> float:
        """0 after taking one event of `size` bytes from the account's buckets; otherwise, taking nothing, the
        seconds until both buckets could give that much."""
        now = self._clock()
        buckets = self._accounts.get(account)
        if buckets is None:
            buckets = self._accounts[account] = _Buckets(self.burst, self.bytes_burst, now)
            while len(self._accounts) > self.max_accounts:
                self._accounts.popitem(last=False)
        else:
            elapsed = max(0.0, now - buckets.updated)
            buckets.events = min(self.burst, buckets.events + elapsed * self.rate)
            buckets.size = min(self.bytes_burst, buckets.size + elapsed * self.bytes_rate)
            buckets.updated = now
            self._accounts.move_to_end(account)
        size = min(size, self.bytes_burst)  # a body over the burst still passes once, from a full bucket
        if buckets.events >= 1 and buckets.size >= size:
            buckets.events -= 1
            buckets.size -= size
            return 0.0
        return max((1 - buckets.events) / self.rate, (size - buckets.size) / self.bytes_rate, 1e-3)
