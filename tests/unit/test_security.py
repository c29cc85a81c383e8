"""Tokens: a token verified once is remembered, but never past its expiry, and never for a forged copy."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import Engine

from app.security import Auth, LoginThrottle
from services.users import UserStore


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
