"""Several replicas of the app behind nginx on this machine: `make cluster` runs `start`, `make cluster-stop` `stop`.

    python deploy/cluster.py start | stop | status

Read from the environment (defaults in brackets):
    REPLICAS [2]              how many replicas of main.py; replica N is named app-N and listens on FIRST_PORT + N - 1
    FIRST_PORT [8001]
    PROXY_PORT [8080]         where nginx listens
    DATABASE_URL [postgresql://postgres@127.0.0.1:5432/liberation]   the database is created when it is missing
    REDIS_URL [redis://127.0.0.1:6379/0], REDIS_PREFIX [liberation]
    RUN_DIR [.cluster]        pid files, logs, the nginx configuration, the shared SECRET_KEY, each replica's data
    SECRET_KEY                default: generated once into RUN_DIR/secret_key, so restarts keep every session valid
    NGINX_BIN [nginx on PATH, else /usr/sbin/nginx]
Every other variable (ADMIN_PASSWORD, METRICS_PUSH_INTERVAL, ...) reaches the replicas unchanged.

`start` is idempotent: it starts only the replicas that are not running (after a crash, say) and reloads nginx only
when its configuration changed. `stop` ends nginx and every replica it started, and nothing else.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
TEMPLATE_NAMES = ("PROXY_PORT", "UPSTREAM_SERVERS")
"""The only ${...} names of the template (compose.yaml's nginx service sets the same ones)."""
UPSTREAM_OPTIONS = "max_fails=1 fail_timeout=2s"
REPLICA_PREFIX = "app-"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
ADMIN_LINE = re.compile(r"Admin account created: username '([^']*)', password '([^']*)'")


@dataclass(frozen=True, slots=True)
class Config:
    replicas: int
    first_port: int
    proxy_port: int
    database_url: str
    redis_url: str
    redis_prefix: str
    run_dir: Path
    nginx: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Config:
        env = dict(os.environ) if env is None else env
        try:
            replicas, first_port, proxy_port = (int(env.get(name) or default) for name, default in
                                                (("REPLICAS", 2), ("FIRST_PORT", 8001), ("PROXY_PORT", 8080)))
        except ValueError as error:
            raise SystemExit(f"REPLICAS, FIRST_PORT and PROXY_PORT must be integers ({error})") from None
        if not 1 <= replicas <= 64:
            raise SystemExit("REPLICAS must be between 1 and 64")
        run_dir = Path(env.get("RUN_DIR") or ROOT / ".cluster")
        return cls(replicas=replicas, first_port=first_port, proxy_port=proxy_port,
                   database_url=env.get("DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/liberation",
                   redis_url=env.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
                   redis_prefix=env.get("REDIS_PREFIX") or "liberation",
                   run_dir=run_dir.resolve(), nginx=env.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx")

    def port(self, number: int) -> int:
        return self.first_port + number - 1

    @property
    def numbers(self) -> range:
        return range(1, self.replicas + 1)

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"


def replica_name(number: int) -> str:
    return f"{REPLICA_PREFIX}{number}"


def replica_environment(config: Config, number: int, secret_key: str) -> dict[str, str]:
    """What replica `number` is started with on top of the caller's environment (compose.yaml sets the same
    names for its app services)."""
    data = config.run_dir / replica_name(number)
    return {
        "HOST": "127.0.0.1",
        "PORT": str(config.port(number)),
        "REPLICA_NAME": replica_name(number),
        "SECRET_KEY": secret_key,
        "DATABASE_URL": config.database_url,
        "REDIS_URL": config.redis_url,
        "REDIS_PREFIX": config.redis_prefix,
        "FORWARDED_ALLOW_IPS": "127.0.0.1",
        "DATA_DIR": str(data),
        "NICEGUI_STORAGE_PATH": str(data / "nicegui"),
    }


def upstream_servers(addresses: list[str]) -> str:
    """The UPSTREAM_SERVERS value for replicas at `addresses` (host:port)."""
    return " ".join(f"server {address} {UPSTREAM_OPTIONS};" for address in addresses)


def render(template: str, values: dict[str, str]) -> str:
    """Fill in ${NAME} as envsubst does; nginx's own $variables are left alone."""
    missing = sorted(set(template_names(template)) - set(values))
    if missing:
        raise SystemExit(f"the nginx template needs {', '.join(missing)}")
    return re.sub(r"\$\{([A-Z_][A-Z0-9_]*)\}", lambda m: values[m.group(1)], template)


def template_names(template: str) -> list[str]:
    return re.findall(r"\$\{([A-Z_][A-Z0-9_]*)\}", template)


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "start"
    config = Config.from_env()
    if command == "start":
        start(config)
    elif command == "stop":
        stop(config)
    elif command == "status":
        return status(config)
    else:
        print(__doc__)
        return 2
    return 0


def start(config: Config) -> None:
    config.run_dir.mkdir(parents=True, exist_ok=True)
    secret = shared_secret(config)
    ensure_database(config.database_url)
    missing = [n for n in config.numbers if running_replica(config, n) is None]
    if missing and len(missing) == config.replicas:  # a fresh database: one replica migrates it, then the rest
        wait_healthy(config, missing[0], launch(config, missing[0], secret))
        missing = missing[1:]
    launched = [(number, launch(config, number, secret)) for number in missing]
    for number, process in launched:
        wait_healthy(config, number, process)
    start_nginx(config)
    report(config)


def stop(config: Config) -> None:
    nginx_pid = alive(read_pid(config.run_dir / "nginx.pid"), "nginx")
    if nginx_pid is not None:
        end(nginx_pid, signal.SIGQUIT)  # graceful: open connections finish
    (config.run_dir / "nginx.pid").unlink(missing_ok=True)
    pids = [(n, pid) for n in known_replicas(config) if (pid := running_replica(config, n)) is not None]
    for _, pid in pids:
        os.kill(pid, signal.SIGTERM)
    for number, pid in pids:
        end(pid, None)
        print(f"stopped {replica_name(number)} (pid {pid})")
    for pid_file in config.run_dir.glob(f"{REPLICA_PREFIX}*.pid"):
        pid_file.unlink(missing_ok=True)
    print("cluster stopped" if nginx_pid or pids else "nothing was running")


def status(config: Config) -> int:
    up = 0
    for number in known_replicas(config):
        pid = running_replica(config, number)
        up += pid is not None
        print(f"{replica_name(number)}: {'pid ' + str(pid) if pid else 'not running'} (port {config.port(number)})")
    nginx_pid = alive(read_pid(config.run_dir / "nginx.pid"), "nginx")
    print(f"nginx: {'pid ' + str(nginx_pid) if nginx_pid else 'not running'} (port {config.proxy_port})")
    return 0 if up and nginx_pid else 1


# --- replicas ---------------------------------------------------------------------------------------------------

def shared_secret(config: Config) -> str:
    """SECRET_KEY from the environment, else the key generated at the first start (kept in the run directory)."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = config.run_dir / "secret_key"
    if not path.exists():
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` when it does not exist yet."""
    if not url.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        return
    import psycopg  # a runtime dependency of the app
    from psycopg import sql

    plain = re.sub(r"^postgres(ql)?(\+psycopg)?://", "postgresql://", url)
    head, _, tail = plain.partition("?")
    base, _, name = head.rpartition("/")
    if not name:
        return
    try:
        with psycopg.connect(f"{base}/postgres" + (f"?{tail}" if tail else ""), autocommit=True,
                             connect_timeout=5) as connection:
            if connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
                print(f"created database {name}")
    except psycopg.Error as error:
        raise SystemExit(f"DATABASE_URL: cannot reach or create the database {name!r}: {error}".strip()) from None


def launch(config: Config, number: int, secret: str) -> subprocess.Popen[bytes]:
    if not port_free(config.port(number)):
        raise SystemExit(f"port {config.port(number)} of {replica_name(number)} is taken by a program this run "
                         f"directory did not start ({config.run_dir}): stop it, or set FIRST_PORT")
    env = {**os.environ, **replica_environment(config, number, secret)}
    for name in ("PYTEST_CURRENT_TEST", "PYTEST_VERSION"):
        env.pop(name, None)
    Path(env["DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    log = (config.run_dir / f"{replica_name(number)}.log").open("ab")
    process = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    (config.run_dir / f"{replica_name(number)}.pid").write_text(str(process.pid))
    return process


def wait_healthy(config: Config, number: int, process: subprocess.Popen[bytes]) -> None:
    """Until the replica answers /api/v1/health; its log's end when it exits or never answers."""
    pid_file = config.run_dir / f"{replica_name(number)}.pid"
    url = f"http://127.0.0.1:{config.port(number)}/api/v1/health"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pid_file.unlink(missing_ok=True)
            raise SystemExit(f"{replica_name(number)} exited during start-up:\n{log_tail(config, number)}")
        if answers(url):
            return
        time.sleep(0.2)
    process.kill()
    pid_file.unlink(missing_ok=True)
    raise SystemExit(f"{replica_name(number)} did not answer {url} within {START_TIMEOUT:.0f} s:\n"
                     f"{log_tail(config, number)}")


def running_replica(config: Config, number: int) -> int | None:
    return alive(read_pid(config.run_dir / f"{replica_name(number)}.pid"), "main.py")


def known_replicas(config: Config) -> list[int]:
    """Replicas with a pid file (a earlier start may have had more than REPLICAS), and those REPLICAS names."""
    found = {int(m.group(1)) for p in config.run_dir.glob(f"{REPLICA_PREFIX}*.pid")
             if (m := re.fullmatch(rf"{REPLICA_PREFIX}(\d+)\.pid", p.name))}
    return sorted(found | set(config.numbers))


def log_tail(config: Config, number: int, lines: int = 30) -> str:
    path = config.run_dir / f"{replica_name(number)}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


# --- nginx ------------------------------------------------------------------------------------------------------

def nginx_config(config: Config) -> tuple[str, str]:
    """The main configuration (paths inside the run directory) and the rendered template it includes."""
    addresses = [f"127.0.0.1:{config.port(n)}" for n in config.numbers]
    site = render(TEMPLATE.read_text(), {"PROXY_PORT": str(config.proxy_port),
                                         "UPSTREAM_SERVERS": upstream_servers(addresses)})
    run = config.run_dir
    main_config = f"""# Written by deploy/cluster.py from deploy/nginx.conf.template; rewritten at every start.
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    client_body_temp_path {run}/nginx-temp/body;
    proxy_temp_path {run}/nginx-temp/proxy;
    fastcgi_temp_path {run}/nginx-temp/fastcgi;
    uwsgi_temp_path {run}/nginx-temp/uwsgi;
    scgi_temp_path {run}/nginx-temp/scgi;
    include {run}/liberation.conf;
    access_log {run}/nginx-access.log liberation;
}}
"""
    return main_config, site


def start_nginx(config: Config) -> None:
    if not Path(config.nginx).exists() and shutil.which(config.nginx) is None:
        raise SystemExit(f"nginx not found ({config.nginx}): install Debian's nginx package, or set NGINX_BIN")
    run = config.run_dir
    (run / "nginx-temp").mkdir(exist_ok=True)
    main_config, site = nginx_config(config)
    changed = False
    for name, text in (("nginx.conf", main_config), ("liberation.conf", site)):
        path = run / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
            changed = True
    command = [config.nginx, "-p", str(run), "-c", str(run / "nginx.conf"), "-e", str(run / "nginx-error.log")]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, timeout=30,
                             env={k: v for k, v in os.environ.items() if k != "NGINX"})
    if checked.returncode != 0:
        raise SystemExit(f"nginx refuses the configuration:\n{checked.stderr}")
    pid = alive(read_pid(run / "nginx.pid"), "nginx")
    if pid is None:
        # nginx reads NGINX as sockets inherited from an old master; the daemon must not keep the caller's pipes.
        env = {k: v for k, v in os.environ.items() if k != "NGINX"}
        with (run / "nginx-error.log").open("ab") as log:
            started = subprocess.run(command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=30)
        if started.returncode != 0:
            raise SystemExit(f"nginx did not start; see {run / 'nginx-error.log'}")
    elif changed:
        os.kill(pid, signal.SIGHUP)  # reload: new workers take the new configuration, open connections finish
    deadline = time.monotonic() + 10
    while not answers(f"{config.proxy_url}/api/v1/health"):
        if time.monotonic() > deadline:
            raise SystemExit(f"nginx does not answer on {config.proxy_url}; see {run / 'nginx-error.log'}")
        time.sleep(0.1)


# --- processes --------------------------------------------------------------------------------------------------

def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def alive(pid: int | None, command: str) -> int | None:
    """`pid` if it runs and is what we started (its command line mentions `command`), so a pid reused by another
    program is never signalled."""
    if pid is None:
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None
    return pid if command in cmdline and state != "Z" else None


def end(pid: int, sig: signal.Signals | None) -> None:
    """Send `sig` (if any), wait STOP_TIMEOUT seconds for the process to end, then kill it."""
    if sig is not None:
        os.kill(pid, sig)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or alive(pid, "") is None:
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def port_free(port: int) -> bool:
    """Nothing listens on `port` (a bind test would also fail on connections of a stopped replica in TIME_WAIT)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True  # 503 "degraded" is an answer too: the process serves
    except OSError:
        return False


# --- what to tell the person ------------------------------------------------------------------------------------

def admin_login(config: Config) -> str:
    """The admin login: ADMIN_PASSWORD, or the one a replica printed at the database's first start (kept)."""
    username = os.environ.get("ADMIN_USERNAME") or "admin"
    if os.environ.get("ADMIN_PASSWORD"):
        return f"username '{username}', password from ADMIN_PASSWORD"
    kept = config.run_dir / "admin-login"
    for number in config.numbers:
        log = config.run_dir / f"{replica_name(number)}.log"
        found = ADMIN_LINE.search(log.read_text(errors="replace")) if log.exists() else None
        if found and not kept.exists():
            descriptor = os.open(kept, os.O_CREAT | os.O_WRONLY, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(f"username '{found.group(1)}', password '{found.group(2)}'\n")
    if kept.exists():
        return kept.read_text().strip()
    return (f"username '{username}'; the account existed before this run dir, so use its password "
            "(ADMIN_PASSWORD only applies when the database has no admin yet)")


def report(config: Config) -> None:
    print(f"\n  Liberation cluster: {config.replicas} replica(s) behind nginx")
    print(f"  Proxy:   {config.proxy_url}")
    for number in config.numbers:
        print(f"  {replica_name(number)}:   http://127.0.0.1:{config.port(number)}  "
              f"log {config.run_dir / (replica_name(number) + '.log')}")
    print(f"  Admin:   {admin_login(config)}")
    print("  Stop:    make cluster-stop\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
