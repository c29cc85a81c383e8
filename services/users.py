"""Accounts: create, look up, list, (de)activate; passwords hashed with argon2 on a small executor of their own."""

from __future__ import annotations

import asyncio
import re
import secrets
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from pwdlib import PasswordHash
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.models import Role, User, as_utc

USERNAME = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
MIN_PASSWORD = 8
MAX_PASSWORD = 256
HASH_WORKERS = 1
"""Threads that hash passwords. One: argon2 takes ~75 ms of a core here, and the other core serves everyone else."""
HASH_QUEUE = 8
"""Hashes waiting or running before a login or account creation is turned away (HashingBusy)."""

T = TypeVar("T")


def normalize_username(username: str) -> str:
    """The canonical form of a username: NFKC (so look-alike compatibility characters fold) without surrounding
    whitespace. Whether the result is allowed is `USERNAME`'s job."""
    return unicodedata.normalize("NFKC", username or "").strip()


class UserError(ValueError):
    """Bad input for an account operation; the message is safe to show."""


class UserExists(UserError):
    pass


class HashingBusy(Exception):
    """Too many password hashes are queued already: the caller should come back in a moment."""


class Hasher:
    """argon2 on its own bounded executor, so a flood of logins never queues ahead of the database calls that
    every other request makes on the default thread pool, and waits in a queue of known length."""

    def __init__(self, workers: int = HASH_WORKERS, queue: int = HASH_QUEUE) -> None:
        self._hash = PasswordHash.recommended()
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password-hash")
        self._limit = queue
        self._pending = 0
        # argon2 verification of an unknown user still costs a hash, so timing does not reveal accounts
        self.dummy = self._hash.hash(secrets.token_urlsafe(16))

    @property
    def pending(self) -> int:
        return self._pending

    async def hash(self, password: str) -> str:
        return await self._run(self._hash.hash, password)

    async def verify(self, password: str, stored: str) -> bool:
        return await self._run(self._hash.verify, password, stored)

    async def _run(self, work: Callable[..., T], *args: str) -> T:
        if self._pending >= self._limit:
            raise HashingBusy("too many sign-ins at once; try again in a moment")
        self._pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._pending -= 1


@dataclass(slots=True, frozen=True)
class Principal:
    """Who is calling: what routes and pages check."""

    username: str
    role: str
    generation: int = 0
    """The account's token generation: a token or session issued at an older one is no longer honoured."""

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class UserStore:
    """Account storage on an engine; every public method is async and runs SQL in a worker thread."""

    def __init__(self, engine: Engine, hasher: Hasher | None = None) -> None:
        self._engine = engine
        self.hasher = hasher or Hasher()

    async def create(self, username: str, password: str, role: str = Role.USER.value) -> dict[str, object]:
        username = normalize_username(username)
        _check_new(username, password, role)
        password_hash = await self.hasher.hash(password)
        return await asyncio.to_thread(self._insert, username, password_hash, role)

    async def authenticate(self, username: str, password: str) -> Principal | None:
        """The principal when the password matches an active account, else None; HashingBusy when flooded."""
        username = normalize_username(username)
        user = await asyncio.to_thread(self._get, username) if USERNAME.fullmatch(username) else None
        stored = user.password_hash if user else self.hasher.dummy
        ok = await self.hasher.verify(password[:MAX_PASSWORD], stored)
        if not ok or user is None or not user.is_active:
            return None
        return _principal(user)

    async def get(self, username: str) -> dict[str, object] | None:
        user = await asyncio.to_thread(self._get, normalize_username(username))
        return _public(user) if user else None

    async def active_principal(self, username: str) -> Principal | None:
        user = await asyncio.to_thread(self._get, username)
        return _principal(user) if user and user.is_active else None

    async def generation(self, username: str) -> int:
        """The account's token generation (0 for an unknown account)."""
        user = await asyncio.to_thread(self._get, username)
        return user.token_generation if user else 0

    async def existing(self, usernames: list[str]) -> set[str]:
        """Those of `usernames` that name active accounts (one query per thousand names)."""
        return await asyncio.to_thread(self._existing, usernames)

    async def all(self) -> list[dict[str, object]]:
        return await asyncio.to_thread(self._list)

    async def usernames(self, role: str | None = None) -> list[str]:
        """Active usernames, optionally of one role."""
        return await asyncio.to_thread(self._usernames, role)

    async def update(self, username: str, *, is_active: bool | None = None, role: str | None = None) -> dict | None:
        if role is not None and role not in {r.value for r in Role}:
            raise UserError(f"role must be one of {', '.join(r.value for r in Role)}")
        return await asyncio.to_thread(self._update, username, is_active, role)

    async def has_admin(self) -> bool:
        return await asyncio.to_thread(self._has_admin)

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

    def _existing(self, usernames: list[str]) -> set[str]:
        found: set[str] = set()
        with Session(self._engine) as session:
            for start in range(0, len(usernames), 1000):
                chunk = usernames[start:start + 1000]
                query = select(User.username).where(col(User.username).in_(chunk), col(User.is_active).is_(True))
                found.update(session.exec(query))
        return found

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
            if is_active is False and user.is_active:
                user.token_generation += 1  # every token and session issued so far ends here, for good
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


def _principal(user: User) -> Principal:
    return Principal(user.username, user.role, user.token_generation)


def _check_new(username: str, password: str, role: str) -> None:
    if not USERNAME.fullmatch(username or ""):
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
