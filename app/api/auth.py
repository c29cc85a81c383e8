"""POST /api/v1/auth/token: exchange a username and password for a bearer token."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, Field

from app.api.deps import client_address
from app.security import Auth, LoginThrottled
from services.users import HashingBusy


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    role: str
    expires_in: int


def router(auth: Auth) -> APIRouter:
    api = APIRouter(prefix="/api/v1/auth", tags=["auth"])

    @api.post("/token", response_model=Token)
    async def issue_token(body: Credentials, request: Request) -> Token:
        """Log in; wrong credentials answer 401, too many failures 429, too many sign-ins at once 503."""
        try:
            principal = await auth.login(body.username, body.password, client_address(request))
        except LoginThrottled as error:
            raise HTTPException(status.HTTP_429_TOO_MANY_REQUESTS, str(error),
                                headers={"Retry-After": str(int(error.retry_after) + 1)}) from None
        except HashingBusy as error:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error),
                                headers={"Retry-After": "1"}) from None
        if principal is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
        return Token(access_token=auth.issue_token(principal), role=principal.role, expires_in=auth.token_ttl)

    return api
