"""Accounts: create, look up, list, (de)activate; passwords hashed with argon2 (blocking calls run off the loop)."""

from __future__ import annotations

import asyncio
import re
import secrets
from dataclasses import dataclass

from pwdlib import PasswordHash
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from services.models import Role, User, as_utc

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD = 8
MAX_PASSWORD = 256


class UserError(ValueError):
    """Bad input for an account operation; the message is safe to show."""


class UserExists(UserError):
    pass


@dataclass(slots=True, frozen=True)
class Principal:
    """Who is calling: what routes and pages check."""

    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class UserStore:
    """Account storage on an engine; every public method is async and runs SQL in a worker thread."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._hasher = PasswordHash.recommended()
        # argon2 verification of an unknown user still costs a hash, so timing does not reveal accounts
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(16))

    async def create(self, username: str, password: str, role: str = Role.USER.value) -> dict[str, object]:
        _check_new(username, password, role)
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        return await asyncio.to_thread(self._insert, username, password_hash, role)

    async def authenticate(self, username: str, password: str) -> Principal | None:
        """The principal when the password matches an active account, else None."""
        user = await asyncio.to_thread(self._get, username)
        stored = user.password_hash if user else self._dummy_hash
        ok = await asyncio.to_thread(self._hasher.verify, password[:MAX_PASSWORD], stored)
        if not ok or user is None or not user.is_active:
            return None
        return Principal(user.username, user.role)

    async def get(self, username: str) -> dict[str, object] | None:
        user = await asyncio.to_thread(self._get, username)
        return _public(user) if user else None

    async def active_principal(self, username: str) -> Principal | None:
        user = await asyncio.to_thread(self._get, username)
        return Principal(user.username, user.role) if user and user.is_active else None

    async def all(self) -> list[dict[str, object]]:
        return await asyncio.to_thread(self._list)

    async def usernames(self, role: str | None = None) -> list[str]:
        """Active usernames, optionally of one role."""
        return await asyncio.to_thread(self._usernames, role)

    async def update(self, username: str, *, is_active: bool | None = None, role: str | None = None) -> dict | None:
        if role is not None and role not in {r.value for r in Role}:
            raise UserError(f"role must be one of {', '.join(r.value for r in Role)}")
        return await asyncio.to_thread(self._update, username, is_active, role)

    async def ensure_admin(self, username: str, password: str) -> str | None:
        """Create the bootstrap admin when no admin exists; return the generated password, if one was made."""
        if await asyncio.to_thread(self._has_admin):
            return None
        generated = None if password else secrets.token_urlsafe(12)
        try:
            await self.create(username, password or generated or "", Role.ADMIN.value)
        except UserExists:
            return None
        return generated

    def _insert(self, username: str, password_hash: str, role: str) -> dict[str, object]:
        with Session(self._engine) as session:
            user = User(username=username, password_hash=password_hash, role=role)
            session.add(user)
            try:
                session.commit()
            except IntegrityError:
                raise UserExists(f"user '{username}' already exists") from None
            session.refresh(user)
            return _public(user)

    def _get(self, username: str) -> User | None:
        with Session(self._engine) as session:
            return session.exec(select(User).where(User.username == username)).first()

    def _list(self) -> list[dict[str, object]]:
        with Session(self._engine) as session:
            return [_public(u) for u in session.exec(select(User).order_by(User.username))]

    def _usernames(self, role: str | None) -> list[str]:
        query = select(User.username).where(User.is_active == True)  # noqa: E712  (SQL expression)
        if role:
            query = query.where(User.role == role)
        with Session(self._engine) as session:
            return list(session.exec(query))

    def _update(self, username: str, is_active: bool | None, role: str | None) -> dict[str, object] | None:
        with Session(self._engine) as session:
            user = session.exec(select(User).where(User.username == username)).first()
            if user is None:
                return None
            if is_active is not None:
                user.is_active = is_active
            if role is not None:
                user.role = role
            session.add(user)
            session.commit()
            session.refresh(user)
            return _public(user)

    def _has_admin(self) -> bool:
        with Session(self._engine) as session:
            return session.exec(select(User.id).where(User.role == Role.ADMIN.value)).first() is not None


def _check_new(username: str, password: str, role: str) -> None:
    if not USERNAME.match(username or ""):
        raise UserError("username must be 1-64 characters: letters, digits, '_', '.', '@' or '-'")
    if not MIN_PASSWORD <= len(password or "") <= MAX_PASSWORD:
        raise UserError(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
    if role not in {r.value for r in Role}:
        raise UserError(f"role must be one of {', '.join(r.value for r in Role)}")


def _public(user: User) -> dict[str, object]:
    return {
        "username": user.username,
        "role": user.role,
        "is_active": user.is_active,
        "created_at": as_utc(user.created_at).isoformat(),
    }
