"""Admin-only account management: list, create, change role or deactivate."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, status
from pydantic import BaseModel, Field

from app.api.deps import ADMIN, role_guard
from app.api.inputs import Text
from app.security import Auth
from services.models import Role
from services.users import HashingBusy, Principal, UserError, UserExists


class UserCreate(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=8, max_length=256)
    role: Role = Role.USER


class UserUpdate(BaseModel):
    is_active: bool | None = None
    role: Role | None = None


def router(auth: Auth) -> APIRouter:
    admin = Annotated[Principal, Depends(role_guard(auth, ADMIN))]
    api = APIRouter(prefix="/api/v1/users", tags=["users"])

    @api.get("")
    async def list_users(_: admin) -> dict[str, Any]:
        users = await auth.users.all()
        return {"users": users, "total_count": len(users)}

    @api.post("", status_code=status.HTTP_201_CREATED)
    async def create_user(body: UserCreate, _: admin) -> dict[str, object]:
        try:
            return await auth.users.create(body.username, body.password, body.role.value)
        except UserExists as error:
            raise HTTPException(status.HTTP_409_CONFLICT, str(error)) from None
        except UserError as error:
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(error)) from None
        except HashingBusy as error:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(error), headers={"Retry-After": "1"}) from None

    @api.patch("/{username}")
    async def update_user(username: Text, body: UserUpdate, caller: admin) -> dict[str, object]:
        if username == caller.username and (body.is_active is False or body.role not in (None, Role.ADMIN)):
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "you cannot lock yourself out")
        updated = await auth.update_account(
            username, is_active=body.is_active, role=body.role.value if body.role else None)
        if updated is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"user '{username}' not found")
        return updated

    return api
