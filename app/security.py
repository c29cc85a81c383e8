"""Bearer tokens, login throttling, account changes that end sessions at once, and the principal cache that every
REST route and page checks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from services.broker import Broker
from services.users import Principal, UserStore, normalize_username

log = logging.getLogger(__name__)

ACCOUNTS_CHANNEL = "#accounts"
"""Broker channel of account changes. '#' is outside the hub's channel names, so no client can publish on it."""


class LoginThrottled(Exception):
    """Too many failed logins for this account (from this client, or from everywhere)."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; retry in {max(retry_after, 1):.0f} s")
        self.retry_after = max(retry_after, 1.0)


@dataclass(slots=True)
class _Tally:
    failures: int = 0
    last: float = 0.0
    in_flight: int = 0


@dataclass(slots=True)
class LoginThrottle:
    """Counts login failures, with every attempt counted as a failure from the moment it starts until it succeeds.

    - Per account and client address: `max_failures` failures lock that pair out for `lockout_seconds`.
    - Per account, from every address together: past `account_free_failures` recent failures, an attempt from an
      address that never signed in to the account must wait a delay that doubles with each failure (up to
      `account_max_delay`) after the account's last failure. Addresses that signed in to the account before are
      exempt, so guessing from many addresses cannot lock the owner out, while it slows to one guess per delay.
    """

    max_failures: int = 5
    lockout_seconds: float = 60
    account_free_failures: int = 20
    account_window: float = 900
    account_max_delay: float = 30
    max_entries: int = 10_000
    _pairs: OrderedDict[tuple[str, str], _Tally] = field(default_factory=OrderedDict)
    _accounts: OrderedDict[str, _Tally] = field(default_factory=OrderedDict)
    _trusted: OrderedDict[tuple[str, str], float] = field(default_factory=OrderedDict)

    def begin(self, account: str, client: str, now: float | None = None) -> None:
        """Admit an attempt or raise LoginThrottled; an admitted attempt must be ended with `end`."""
        now = time.monotonic() if now is None else now
        pair = self._tally(self._pairs, (account, client), now, self.lockout_seconds)
        if pair.failures + pair.in_flight >= self.max_failures:
            raise LoginThrottled(self.lockout_seconds - (now - pair.last) if pair.failures >= self.max_failures
                                 else 1.0)
        tally = self._tally(self._accounts, account, now, self.account_window)
        excess = tally.failures + tally.in_flight - self.account_free_failures
        if excess >= 0 and (account, client) not in self._trusted:
            delay = min(self.account_max_delay, 2.0 ** min(excess, 16))
            if tally.in_flight or now - tally.last < delay:
                raise LoginThrottled(delay - (now - tally.last) if not tally.in_flight else 1.0)
        pair.in_flight += 1
        tally.in_flight += 1

    def end(self, account: str, client: str, succeeded: bool, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for tally in (self._pairs.get((account, client)), self._accounts.get(account)):
            if tally is None:
                continue
            tally.in_flight = max(0, tally.in_flight - 1)
            if succeeded:
                tally.failures = 0
            else:
                tally.failures += 1
                tally.last = now
        if succeeded:
            self._trusted[(account, client)] = now
            self._trusted.move_to_end((account, client))
            self._bound(self._trusted)

    def _tally(self, table: OrderedDict[Any, _Tally], key: Any, now: float, window: float) -> _Tally:
        tally = table.get(key)
        if tally is None:
            tally = table[key] = _Tally()
            self._bound(table)
        elif not tally.in_flight and tally.failures and now - tally.last >= window:
            tally.failures = 0  # the window passed without a failure: start afresh
        table.move_to_end(key)
        return tally

    def _bound(self, table: OrderedDict[Any, Any]) -> None:
        while len(table) > self.max_entries:
            table.popitem(last=False)


@dataclass(slots=True, frozen=True)
class AccountChange:
    """An account was deactivated, reactivated or given another role: what every process must act on at once."""

    username: str
    is_active: bool
    role: str
    generation: int

    def as_message(self) -> dict[str, Any]:
        return {"username": self.username, "is_active": self.is_active, "role": self.role,
                "generation": self.generation}


AccountListener = Callable[[AccountChange], Awaitable[object] | None]


class Auth:
    """Logs callers in and recognises them again from a token or a browser session."""

    CACHE_SECONDS = 5.0
    CACHE_SIZE = 4096

    def __init__(self, users: UserStore, secret: str, *, token_ttl: int, throttle: LoginThrottle,
                 broker: Broker | None = None) -> None:
        self.users = users
        self.token_ttl = token_ttl
        self.throttle = throttle
        self.broker = broker
        self._serializer = URLSafeTimedSerializer(secret, salt="api-token")
        self._cache: OrderedDict[str, tuple[Principal | None, float]] = OrderedDict()
        self._tokens: OrderedDict[str, tuple[str, int, float]] = OrderedDict()  # token -> (username, gen, expiry)
        self._listeners: list[AccountListener] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Follow account changes made through any process (idempotent)."""
        if self.broker is not None and self._unsubscribe is None:
            self._unsubscribe = self.broker.add_listener(ACCOUNTS_CHANNEL, self._on_message)

    def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    async def login(self, username: str, password: str, client: str) -> Principal | None:
        """The principal for good credentials; raises LoginThrottled while locked out, HashingBusy when flooded."""
        account = normalize_username(username).lower()
        self.throttle.begin(account, client)
        principal = None
        try:
            principal = await self.users.authenticate(username, password)
        finally:
            self.throttle.end(account, client, succeeded=principal is not None)
        return principal

    def issue_token(self, principal: Principal) -> str:
        return self._serializer.dumps({"sub": principal.username, "role": principal.role,
                                       "gen": principal.generation})

    async def principal_from_token(self, token: str) -> Principal | None:
        """The active account a token names, or None when the token is forged, expired or revoked, or the account
        is gone or inactive."""
        subject = self._token_subject(token)
        if subject is None:
            return None
        principal = await self.active(subject[0])
        return principal if principal is not None and principal.generation == subject[1] else None

    def _token_subject(self, token: str) -> tuple[str, int] | None:
        """The username and generation a valid, unexpired token names. A token seen before is not verified again
        until it expires: the signature check costs more than the rest of a small request's authentication."""
        known = self._tokens.get(token)
        if known is not None:
            if time.time() < known[2]:
                return known[0], known[1]
            del self._tokens[token]
        try:
            claims, signed_at = self._serializer.loads(token, max_age=self.token_ttl, return_timestamp=True)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
            return None
        generation = claims.get("gen", 0)
        if not isinstance(generation, int):
            return None
        self._tokens[token] = (claims["sub"], generation, signed_at.timestamp() + self.token_ttl)
        while len(self._tokens) > self.CACHE_SIZE:
            self._tokens.popitem(last=False)
        return str(claims["sub"]), generation

    async def active(self, username: str) -> Principal | None:
        """The account if it exists and is active; cached briefly so a request does not always hit the database.
        Account changes clear the cache in every process at once (see `update_account`)."""
        now = time.monotonic()
        hit = self._cache.get(username)
        if hit is not None and now - hit[1] < self.CACHE_SECONDS:
            return hit[0]
        principal = await self.users.active_principal(username)
        self._cache[username] = (principal, now)
        self._cache.move_to_end(username)
        while len(self._cache) > self.CACHE_SIZE:
            self._cache.popitem(last=False)
        return principal

    async def current(self, username: str) -> Principal | None:
        """The account as the database has it now, past the cache: for actions that must not run on a stale role."""
        principal = await self.users.active_principal(username)
        self._cache[username] = (principal, time.monotonic())
        return principal

    def forget(self, username: str) -> None:
        """Drop a cached account after its role or active flag changed."""
        self._cache.pop(username, None)

    async def update_account(self, username: str, *, is_active: bool | None = None,
                             role: str | None = None) -> dict[str, Any] | None:
        """Change an account and end what it may no longer have, in every process: open WebSockets and browser
        views (through the listeners) and, on deactivation, every token and session issued so far."""
        updated = await self.users.update(username, is_active=is_active, role=role)
        if updated is None:
            return None
        generation = await self.users.generation(username)
        change = AccountChange(username, bool(updated["is_active"]), str(updated["role"]), generation)
        self._apply(change)
        if self.broker is not None:
            await self.broker.publish(ACCOUNTS_CHANNEL, change.as_message())
        return updated

    def on_account_change(self, listener: AccountListener) -> None:
        self._listeners.append(listener)

    def _on_message(self, _channel: str, message: dict[str, Any]) -> None:
        try:
            change = AccountChange(str(message["username"]), bool(message["is_active"]), str(message["role"]),
                                   int(message["generation"]))
        except (KeyError, TypeError, ValueError):
            log.warning("ignoring a malformed account change %r", message)
            return
        self._apply(change)

    def _apply(self, change: AccountChange) -> None:
        """Idempotent: the process that made the change applies it at once, and again when the broker echoes it."""
        self.forget(change.username)
        for listener in self._listeners:
            try:
                result = listener(change)
                if asyncio.iscoroutine(result):
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            except Exception:
                log.warning("account change listener %r failed for %s", listener, change.username, exc_info=True)
