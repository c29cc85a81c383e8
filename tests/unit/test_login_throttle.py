"""The login throttle counts an attempt from its start, per account and address and per account overall."""

import pytest

from app.pages.session import safe_redirect
from app.security import LoginThrottle, LoginThrottled


def test_attempts_in_flight_count_against_the_limit() -> None:
    throttle = LoginThrottle(max_failures=3)
    for _ in range(3):
        throttle.begin("bob", "1.2.3.4", now=0)  # three checks running at once, none finished
    with pytest.raises(LoginThrottled):
        throttle.begin("bob", "1.2.3.4", now=0)
    for _ in range(3):
        throttle.end("bob", "1.2.3.4", succeeded=False, now=1)
    with pytest.raises(LoginThrottled) as locked:
        throttle.begin("bob", "1.2.3.4", now=2)
    assert 50 < locked.value.retry_after <= 60
    throttle.begin("bob", "1.2.3.4", now=62)  # the lock-out passed


def test_guesses_from_many_addresses_slow_down_but_the_owner_gets_in() -> None:
    throttle = LoginThrottle(max_failures=5, account_free_failures=10, account_max_delay=30)
    throttle.begin("admin", "home", now=0)
    throttle.end("admin", "home", succeeded=True, now=0)  # the owner signed in from here before
    for i in range(10):
        throttle.begin("admin", f"10.0.0.{i}", now=1)
        throttle.end("admin", f"10.0.0.{i}", succeeded=False, now=1)
    with pytest.raises(LoginThrottled) as slowed:
        throttle.begin("admin", "10.0.1.1", now=1.5)  # a new address must wait
    assert slowed.value.retry_after >= 0.5
    throttle.begin("admin", "home", now=1.5)  # the owner's address is not held back
    throttle.end("admin", "home", succeeded=True, now=1.6)


def test_the_delay_for_new_addresses_grows_and_is_bounded() -> None:
    throttle = LoginThrottle(max_failures=100, account_free_failures=0, account_max_delay=30)
    now, delays = 0.0, []
    for i in range(12):
        while True:
            try:
                throttle.begin("admin", f"a{i}", now=now)
                break
            except LoginThrottled as waiting:
                delays.append(round(waiting.retry_after, 1))
                now += waiting.retry_after
        throttle.end("admin", f"a{i}", succeeded=False, now=now)
    assert delays == sorted(delays) and max(delays) == 30


def test_tables_are_bounded() -> None:
    throttle = LoginThrottle(max_entries=100)
    for i in range(1000):
        throttle.begin(f"user{i}", f"addr{i}", now=0)
        throttle.end(f"user{i}", f"addr{i}", succeeded=i % 2 == 0, now=0)
    assert max(len(throttle._pairs), len(throttle._accounts), len(throttle._trusted)) <= 100


@pytest.mark.parametrize("target, expected", [
    ("/admin", "/admin"), ("/?tab=events#x", "/?tab=events#x"), ("", "/"), (None, "/"),
    ("//evil.example", "/"), ("/\\evil.example", "/"), ("/\\\\evil.example", "/"), ("/\t/evil.example", "/"),
    ("https://evil.example", "/"), ("javascript:alert(1)", "/"), ("/ok path", "/"), ("/\x00", "/"),
])
def test_a_redirect_after_login_stays_on_this_site(target: str | None, expected: str) -> None:
    assert safe_redirect(target) == expected
