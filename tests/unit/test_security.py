"""Tokens and accounts: a token verified once is remembered, but never past its expiry or for a forged copy;
usernames are canonical; hashing is bounded."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import Engine

from app.security import Auth, LoginThrottle
from services.users import Hasher, HashingBusy, UserError, UserExists, UserStore


@pytest.fixture
async def auth(sqlite_engine: Engine) -> Auth:
    users = UserStore(sqlite_engine)
    await users.create("alice", "alice-password-1")
    return Auth(users, "a-secret-for-tests", token_ttl=60, throttle=LoginThrottle())


async def test_a_token_names_its_account_until_it_expires_also_once_remembered(
        auth: Auth, monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now)
    principal = await auth.active("alice")
    assert principal is not None
    token = auth.issue_token(principal)
    for _ in range(2):  # verified, then remembered
        found = await auth.principal_from_token(token)
        assert found is not None and found.username == "alice"
    monkeypatch.setattr(time, "time", lambda: now + 59)
    assert await auth.principal_from_token(token) is not None
    monkeypatch.setattr(time, "time", lambda: now + 62)
    assert await auth.principal_from_token(token) is None


async def test_a_changed_token_or_another_secret_is_refused(auth: Auth, sqlite_engine: Engine) -> None:
    principal = await auth.active("alice")
    assert principal is not None
    token = auth.issue_token(principal)
    assert await auth.principal_from_token(token) is not None
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert await auth.principal_from_token(tampered) is None
    elsewhere = Auth(UserStore(sqlite_engine), "another-secret", token_ttl=60, throttle=LoginThrottle())
    assert await elsewhere.principal_from_token(token) is None


async def test_a_remembered_token_stops_working_when_its_account_is_deactivated(auth: Auth) -> None:
    principal = await auth.active("alice")
    assert principal is not None
    token = auth.issue_token(principal)
    assert await auth.principal_from_token(token) is not None
    await auth.users.update("alice", is_active=False)
    auth.forget("alice")  # what the users API does after a change
    assert await auth.principal_from_token(token) is None


async def test_remembered_tokens_are_bounded(auth: Auth) -> None:
    principal = await auth.active("alice")
    assert principal is not None
    for n in range(Auth.CACHE_SIZE + 50):
        token = auth._serializer.dumps({"sub": "alice", "role": "user", "n": n})
        assert await auth.principal_from_token(token) is not None
    assert len(auth._tokens) == Auth.CACHE_SIZE


@pytest.mark.parametrize("name", ["ad\nmin", "ad min", "admin\u200b", "a" * 65, "", "ädmin", "x/y"])
async def test_usernames_outside_the_allowed_characters_are_refused(auth: Auth, name: str) -> None:
    with pytest.raises(UserError):
        await auth.users.create(name, "long-enough-password")


async def test_usernames_are_normalised_so_lookalikes_are_the_same_account(auth: Auth) -> None:
    await auth.users.create("  ｃａｒｏｌ ", "long-enough-password")  # full-width letters fold to "carol"
    assert await auth.users.get("carol") is not None
    with pytest.raises(UserExists):
        await auth.users.create("carol", "another-password")
    assert await auth.login(" carol ", "long-enough-password", "here") is not None
    with pytest.raises(UserExists):
        await auth.users.create("alice\n", "long-enough-password")  # the trailing newline is no new account


async def test_an_unknown_name_costs_the_same_hash_as_a_wrong_password(auth: Auth, monkeypatch: pytest.MonkeyPatch
                                                                       ) -> None:
    await auth.users.create("dave", "long-enough-password")
    verified: list[str] = []
    original = auth.users.hasher.verify

    async def counting(password: str, stored: str) -> bool:
        verified.append(stored)
        return await original(password, stored)

    monkeypatch.setattr(auth.users.hasher, "verify", counting)
    assert await auth.login("dave", "wrong-password", "a") is None
    assert await auth.login("nobody-here", "wrong-password", "b") is None
    assert await auth.login("bad\nname", "wrong-password", "c") is None
    assert len(verified) == 3  # one argon2 verification each, account or not


async def test_a_full_hashing_queue_turns_sign_ins_away(auth: Auth) -> None:
    hasher = Hasher(workers=1, queue=2)
    results = await asyncio.gather(*(hasher.verify("pw", hasher.dummy) for _ in range(6)), return_exceptions=True)
    assert sum(isinstance(r, HashingBusy) for r in results) == 4
