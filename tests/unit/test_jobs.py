"""The job table: deployment-wide jobs run only where this process leads; a failing job is logged, not fatal."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from app.jobs import Job, _guarded


def services(leader: bool) -> Any:
    return SimpleNamespace(leadership=SimpleNamespace(leader=leader))


@pytest.mark.parametrize(("scope", "leader", "runs"), [
    ("process", True, True), ("process", False, True), ("deployment", True, True), ("deployment", False, False),
])
async def test_deployment_jobs_run_only_in_the_leading_process(scope: str, leader: bool, runs: bool) -> None:
    ran: list[str] = []

    async def work(_services: Any) -> None:
        ran.append("ran")

    await _guarded(Job("work", lambda s: 1.0, work, scope=scope), services(leader))()  # type: ignore[arg-type]
    assert bool(ran) is runs


async def test_a_failing_job_is_logged_and_the_next_run_goes_ahead(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(_services: Any) -> None:
        raise RuntimeError("disk full")

    run = _guarded(Job("broken", lambda s: 1.0, broken), services(True))
    await run()
    await run()
    assert [r.getMessage() for r in caplog.records] == ["job broken failed"] * 2
