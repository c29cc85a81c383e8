"""Bearer tokens, login throttling and the principal cache that every REST route and page checks."""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from services.users import Principal, UserStore


class LoginThrottled(Exception):
    """Too many failed logins for this account from this client."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"too many failed logins; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


@dataclass(slots=True)
class LoginThrottle:
    """Counts failures per (username, client); locks the pair out for a while after too many."""

    max_failures: int = 5
    lockout_seconds: float = 60
    max_entries: int = 10_000
    _failures: OrderedDict[tuple[str, str], tuple[int, float]] = field(default_factory=OrderedDict)

    def check(self, key: tuple[str, str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        count, last = self._failures.get(key, (0, 0.0))
        if count >= self.max_failures and now - last < self.lockout_seconds:
            raise LoginThrottled(self.lockout_seconds - (now - last))

    def failed(self, key: tuple[str, str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        count, last = self._failures.pop(key, (0, 0.0))
        if now - last >= self.lockout_seconds:
            count = 0
        self._failures[key] = (count + 1, now)
        while len(self._failures) > self.max_entries:
            self._failures.popitem(last=False)

    def succeeded(self, key: tuple[str, str]) -> None:
        self._failures.pop(key, None)


class Auth:
    """Logs callers in and recognises them again from a token or a browser session."""

    CACHE_SECONDS = 5.0
    CACHE_SIZE = 4096

    def __init__(self, users: UserStore, secret: str, *, token_ttl: int, throttle: LoginThrottle) -> None:
        self.users = users
        self.token_ttl = token_ttl
        self.throttle = throttle
        self._serializer = URLSafeTimedSerializer(secret, salt="api-token")
        self._cache: OrderedDict[str, tuple[Principal | None, float]] = OrderedDict()
        self._tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()  # token -> (username, expiry, epoch s)

    async def login(self, username: str, password: str, client: str) -> Principal | None:
        """The principal for good credentials; raises LoginThrottled while locked out."""
        key = (username.lower(), client)
        self.throttle.check(key)
        principal = await self.users.authenticate(username, password)
        if principal is None:
            self.throttle.failed(key)
            return None
        self.throttle.succeeded(key)
        return principal

    def issue_token(self, principal: Principal) -> str:
        return self._serializer.dumps({"sub": principal.username, "role": principal.role})

    async def principal_from_token(self, token: str) -> Principal | None:
        """The active account a token names, or None when the token is forged, expired or the account is gone."""
        username = self._token_subject(token)
        return None if username is None else await self.active(username)

    def _token_subject(self, token: str) -> str | None:
        """The username a valid, unexpired token names. A token seen before is not verified again until it expires:
        the signature check costs more than the rest of a small request's authentication."""
        known = self._tokens.get(token)
        if known is not None:
            if time.time() < known[1]:
                return known[0]
            del self._tokens[token]
        try:
            claims, signed_at = self._serializer.loads(token, max_age=self.token_ttl, return_timestamp=True)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(claims, dict) or not isinstance(claims.get("sub"), str):
            return None
        self._tokens[token] = (claims["sub"], signed_at.timestamp() + self.token_ttl)
        while len(self._tokens) > self.CACHE_SIZE:
            self._tokens.popitem(last=False)
        return str(claims["sub"])

    async def active(self, username: str) -> Principal | None:
        """The account if it exists and is active; cached briefly so a request does not always hit the database."""
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

    def forget(self, username: str) -> None:
        """Drop a cached account after its role or active flag changed."""
        self._cache.pop(username, None)
