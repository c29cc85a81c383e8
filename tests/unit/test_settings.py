"""Configuration: every variable read once, bad values named, the secret kept under the data directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings

ROOT = Path(__file__).parents[2]


def test_defaults_are_the_embedded_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "PORT", "HOST"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'liberation.db'}"
    assert settings.broker_url == "memory://"
    assert (settings.host, settings.port, settings.ws_max_connections) == ("127.0.0.1", 8000, 10_000)


def test_environment_values_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://app@db/liberation")
    monkeypatch.setenv("REDIS_URL", "redis://cache:6379/1")
    monkeypatch.setenv("WS_PING_INTERVAL", "12.5")
    monkeypatch.setenv("EVENT_RETENTION_DAYS", "7")
    settings = load_settings()
    assert settings.effective_database_url == "postgresql+psycopg://app@db/liberation"
    assert settings.broker_url == "redis://cache:6379/1"
    assert settings.ws_ping_interval == 12.5 and settings.event_retention_days == 7


@pytest.mark.parametrize(("variable", "value"), [
    ("PORT", "eighty"), ("PORT", "70000"), ("WS_PING_INTERVAL", "0"), ("DATABASE_URL", "mysql://x"),
    ("DATABASE_URL", "sqlite://"), ("DATABASE_URL", "sqlite:///:memory:"), ("REDIS_URL", "http://x"),
    ("NOTIFICATION_HISTORY_SIZE", "-1"), ("REDIS_PREFIX", "has space"),
])
def test_a_bad_value_names_the_variable(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as stopped:
        load_settings()
    assert variable in str(stopped.value)


def test_the_secret_key_is_generated_once_and_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_settings(data_dir=tmp_path).resolved_secret_key()
    assert len(first) >= 32
    assert load_settings(data_dir=tmp_path).resolved_secret_key() == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only
    monkeypatch.setenv("SECRET_KEY", "given")
    assert load_settings(data_dir=tmp_path).resolved_secret_key() == "given"


def test_the_app_refuses_to_start_with_a_bad_value(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "PORT": "eighty"}
    env.pop("PYTEST_CURRENT_TEST", None)
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "PORT" in result.stderr and "Invalid configuration" in result.stderr


@pytest.mark.parametrize(("env", "named"), [
    ({"SECRET_KEY": ""}, "SECRET_KEY"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
    ({"SECRET_KEY": "k" * 40, "ADMIN_PASSWORD": "admin"}, "ADMIN_PASSWORD"),
    ({"SECRET_KEY": "k" * 40, "ADMIN_PASSWORD": "changeme"}, "ADMIN_PASSWORD"),
    ({"SECRET_KEY": "k" * 40, "ADMIN_PASSWORD": "eleven-char"}, "ADMIN_PASSWORD"),
])
def test_production_refuses_generated_or_weak_secrets(monkeypatch: pytest.MonkeyPatch, env: dict[str, str],
                                                      named: str) -> None:
    monkeypatch.setenv("ENV", "production")
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as stopped:
        load_settings()
    assert named in str(stopped.value)


def test_production_accepts_a_given_key_and_a_strong_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("ADMIN_PASSWORD", "a long and unusual phrase")
    assert load_settings().env == "production"


def test_production_will_not_generate_the_first_admin_password(tmp_path: Path) -> None:
    env = {**os.environ, "DATA_DIR": str(tmp_path), "ENV": "production", "SECRET_KEY": "k" * 40,
           "PORT": "8799"}
    for name in ("PYTEST_CURRENT_TEST", "ADMIN_PASSWORD", "DATABASE_URL", "REDIS_URL"):
        env.pop(name, None)
    result = subprocess.run([sys.executable, "main.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0
    assert "ADMIN_PASSWORD" in result.stderr + result.stdout
    assert "password '" not in result.stdout  # nothing was generated and printed


def test_the_database_file_is_private(tmp_path: Path) -> None:
    from app.db import create_db_engine, migrate

    engine = create_db_engine(f"sqlite:///{tmp_path / 'data' / 'liberation.db'}")
    migrate(engine)
    engine.dispose()
    for name in ("liberation.db", "liberation.db-wal"):
        path = tmp_path / "data" / name
        if path.exists():
            assert path.stat().st_mode & 0o077 == 0, name


def test_the_leader_lease_is_configurable_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from app.settings import Settings

    monkeypatch.setenv("LEADER_LEASE_SECONDS", "4")
    assert Settings().leader_lease_seconds == 4
    monkeypatch.setenv("LEADER_LEASE_SECONDS", "0.1")
    with pytest.raises(ValidationError):
        Settings()
