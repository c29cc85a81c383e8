"""Dependencies declared once: who is calling, and which roles a route admits."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.security import Auth
from services.models import Role
from services.users import Principal

bearer = HTTPBearer(auto_error=False, description="Token from POST /api/v1/auth/token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]

MAX_OFFSET = 1_000_000_000
"""The largest `offset` a paged route accepts (a database integer must hold it; nobody pages further)."""

ANYONE_SIGNED_IN = (Role.USER.value, Role.ADMIN.value, Role.SYSTEM.value)
ADMIN = (Role.ADMIN.value,)
ADMIN_OR_SYSTEM = (Role.ADMIN.value, Role.SYSTEM.value)


def role_guard(auth: Auth, roles: tuple[str, ...]) -> Callable[..., Awaitable[Principal]]:
    """A dependency that answers 401 without a valid token and 403 for a role outside `roles`."""

    async def guard(credentials: Credentials) -> Principal:
        if credentials is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "not authenticated",
                                headers={"WWW-Authenticate": "Bearer"})
        principal = await auth.principal_from_token(credentials.credentials)
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid or expired token",
                                headers={"WWW-Authenticate": "Bearer"})
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"requires role: {' or '.join(roles)}")
        return principal

    return guard


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
