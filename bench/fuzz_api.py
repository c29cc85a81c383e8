"""Property-based fuzzing of every REST route from the OpenAPI schema: no 5xx, and every answer as documented.

`make fuzz` installs schemathesis (the `fuzz` extra) and runs it against a fresh server twice: signed in as a plain
user (an account this script creates through the API), so that every admin route is tried by someone it must
refuse, and then as admin, so that the generated requests reach the handlers rather than stopping at 401/403.
Each run checks that no answer is a server error and that each conforms to the schema: its status code is one the
schema lists for the operation, and its content type, headers and body are what the schema says. Prints
schemathesis's summary of each run; exits non-zero when either found a failure.

    python bench/fuzz_api.py [--max-examples 100] [--as user admin]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from _server import admin_token, app_server

BIN = Path(sys.executable).parent
CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
          "response_schema_conformance")
USER, USER_PASSWORD = "fuzz-user", "fuzz-user-password"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=100, help="examples per operation")
    parser.add_argument("--as", dest="identities", nargs="+", choices=["user", "admin"], default=["user", "admin"],
                        help="identities to fuzz as, in order (the user first: the admin run may change accounts)")
    args = parser.parse_args()
    schemathesis = shutil.which("schemathesis", path=str(BIN)) or shutil.which("schemathesis")
    if schemathesis is None:
        sys.exit("schemathesis is needed: make fuzz installs it (the fuzz extra)")
    # Generous login limits: the fuzzer tries many wrong passwords on purpose.
    with app_server(core=0, LOGIN_MAX_FAILURES="1000000") as url:
        tokens = {"admin": admin_token(url)}
        tokens["user"] = _user_token(url, tokens["admin"])
        failed = []
        for identity in args.identities:
            print(f"\n=== fuzzing as {identity} ({', '.join(CHECKS)}) ===", flush=True)
            command = [schemathesis, "run", f"{url}/openapi.json", "--checks", ",".join(CHECKS),
                       "--max-examples", str(args.max_examples), "-H", f"Authorization: Bearer {tokens[identity]}"]
            if shutil.which("taskset"):
                command[:0] = ["taskset", "-c", "1"]  # the server runs on core 0
            if subprocess.run(command, check=False).returncode != 0:
                failed.append(identity)
    print(f"\nfuzzing {'found failures as ' + ' and '.join(failed) if failed else 'found nothing'}")
    sys.exit(1 if failed else 0)


def _user_token(url: str, admin: str) -> str:
    """A plain user account, created through the API, and its token."""
    with httpx.Client(base_url=url, timeout=30) as api:
        created = api.post("/api/v1/users", headers={"Authorization": f"Bearer {admin}"},
                           json={"username": USER, "password": USER_PASSWORD, "role": "user"})
        created.raise_for_status()
        answer = api.post("/api/v1/auth/token", json={"username": USER, "password": USER_PASSWORD})
        answer.raise_for_status()
        return str(answer.json()["access_token"])


if __name__ == "__main__":
    main()
