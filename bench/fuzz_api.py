"""Property-based fuzzing of every REST route from the OpenAPI schema: no input may produce a 5xx.

`make fuzz` installs schemathesis (the `fuzz` extra) and runs this against a fresh server, signed in as
admin so the generated requests reach the handlers rather than stopping at 401. Prints schemathesis's summary;
exits non-zero when a server error was found.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from _server import admin_token, app_server

BIN = Path(sys.executable).parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=100, help="examples per operation")
    args = parser.parse_args()
    schemathesis = shutil.which("schemathesis", path=str(BIN)) or shutil.which("schemathesis")
    if schemathesis is None:
        sys.exit("schemathesis is needed: make fuzz installs it (the fuzz extra)")
    # Generous login limits: the fuzzer tries many wrong passwords on purpose.
    with app_server(core=0, LOGIN_MAX_FAILURES="1000000") as url:
        token = admin_token(url)
        result = subprocess.run([schemathesis, "run", f"{url}/openapi.json", "--checks", "not_a_server_error",
                                 "--max-examples", str(args.max_examples), "-H", f"Authorization: Bearer {token}"],
                                check=False)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
