"""compose.yaml describes the deployment `make cluster` starts: no container runs here, so this holds the two
descriptions together (same replicas, names, ports, environment variable names and nginx file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml  # PyYAML, locked as a dependency of uvicorn[standard]

from tests.cluster.conftest import ROOT, load_script

TEMPLATE_IN_IMAGE = "/etc/nginx/templates/liberation.conf.template"
PASSED_THROUGH = {"ADMIN_PASSWORD"}
"""Variables make cluster passes from the caller's environment unchanged, where compose names them explicitly."""


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return dict(yaml.safe_load((ROOT / "compose.yaml").read_text()))


@pytest.fixture(scope="module")
def script() -> Any:
    return load_script()


def apps(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: service for name, service in compose["services"].items() if name.startswith("app-")}


def test_the_same_replicas_with_the_same_names_and_ports(compose: dict[str, Any], script: Any) -> None:
    config = script.Config.from_env({})  # make cluster's defaults
    expected = {script.replica_name(n): str(config.port(n)) for n in config.numbers}
    assert {name: str(app["environment"]["PORT"]) for name, app in apps(compose).items()} == expected
    assert {app["environment"]["REPLICA_NAME"] for app in apps(compose).values()} == set(expected)


def test_every_replica_gets_the_variables_make_cluster_gives(compose: dict[str, Any], script: Any) -> None:
    config = script.Config.from_env({})
    for number in config.numbers:
        made = set(script.replica_environment(config, number, "key"))
        composed = set(apps(compose)[script.replica_name(number)]["environment"])
        assert composed - PASSED_THROUGH == made


def test_the_replicas_share_one_database_one_redis_and_one_secret_key(compose: dict[str, Any]) -> None:
    environments = [app["environment"] for app in apps(compose).values()]
    for name in ("DATABASE_URL", "REDIS_URL", "REDIS_PREFIX", "SECRET_KEY"):
        assert len({env[name] for env in environments}) == 1, name
    assert environments[0]["SECRET_KEY"].startswith("${SECRET_KEY:?")  # required, never a default in the file
    assert environments[0]["DATABASE_URL"].startswith("postgresql://")
    assert environments[0]["REDIS_URL"].startswith("redis://")


def test_nginx_reads_the_template_make_cluster_renders(compose: dict[str, Any], script: Any) -> None:
    nginx = compose["services"]["nginx"]
    mounts = {source: target.removesuffix(":ro") for source, _, target in
              (volume.partition(":") for volume in nginx["volumes"])}
    sources = [source for source, target in mounts.items() if target == TEMPLATE_IN_IMAGE]
    assert [(ROOT / source).resolve() for source in sources] == [Path(script.TEMPLATE).resolve()]
    template = Path(script.TEMPLATE).read_text()
    assert set(script.template_names(template)) == set(script.TEMPLATE_NAMES) == set(nginx["environment"])


def test_nginx_proxies_to_the_replicas_as_make_cluster_renders_it(compose: dict[str, Any], script: Any) -> None:
    config = script.Config.from_env({})
    nginx = compose["services"]["nginx"]
    expected = script.upstream_servers([f"{name}:{app['environment']['PORT']}" for name, app in apps(compose).items()])
    assert nginx["environment"]["UPSTREAM_SERVERS"] == expected
    local = script.upstream_servers([f"127.0.0.1:{config.port(n)}" for n in config.numbers])
    assert re.sub(r"server \S+:", "server HOST:", local) == re.sub(r"server \S+:", "server HOST:", expected)
    assert nginx["environment"]["PROXY_PORT"] == f"${{PROXY_PORT:-{config.proxy_port}}}"
    assert nginx["ports"] == [f"${{PROXY_PORT:-{config.proxy_port}}}:${{PROXY_PORT:-{config.proxy_port}}}"]


def test_the_rendered_template_is_valid_nginx_configuration(script: Any, tmp_path: Path) -> None:
    """make cluster's rendering passes `nginx -t` (compose's differs only in the upstream host names, which resolve
    only inside compose's network)."""
    import shutil
    import subprocess

    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed")
    config = script.Config.from_env({"RUN_DIR": str(tmp_path), "PROXY_PORT": "18080"})
    main_config, site = script.nginx_config(config)
    (tmp_path / "nginx.conf").write_text(main_config)
    (tmp_path / "liberation.conf").write_text(site)
    (tmp_path / "nginx-temp").mkdir()
    checked = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"),
                              "-e", str(tmp_path / "error.log")], capture_output=True, text=True, timeout=30,
                             env={"PATH": "/usr/bin:/bin"})
    assert checked.returncode == 0, checked.stderr


def test_the_image_is_built_from_the_lock_runs_unprivileged_and_checks_its_health() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim", dockerfile, re.M)
    assert "uv sync --frozen" in dockerfile and "--extra" not in dockerfile  # the locked runtime set
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*/api/v1/health", dockerfile, re.M)
    assert "HOST=0.0.0.0" in dockerfile
    uv_version = re.search(r'^UV_VERSION\s*:=\s*(\S+)', (ROOT / "Makefile").read_text(), re.M)
    assert uv_version and f'"uv=={uv_version.group(1)}"' in dockerfile  # the uv the Makefile pins
