"""One failed start-up stays one failure: the next run of main.py starts from a clean app."""

from pathlib import Path

import pytest

from tests.app_fixtures import app_user


async def _start_up_failing_on_purpose(self: object) -> None:
    raise RuntimeError("start-up failed on purpose")


async def test_a_start_up_that_fails_leaves_a_clean_app_for_the_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.container import Services  # the class main.py will build, whatever earlier runs left in sys.modules

    main_file = Path(__file__).parents[2] / "main.py"
    with monkeypatch.context() as patch:
        patch.setattr(Services, "start", _start_up_failing_on_purpose)
        with pytest.raises(RuntimeError, match="on purpose"):
            async with app_user(main_file):
                pass

    async with app_user(main_file) as user:
        await user.open("/login")
        await user.should_see(marker="login")
        response = await user.http_client.get("/api/v1/health")
        assert response.status_code == 200, response.text
