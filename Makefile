# Two commands matter: `make run` and `make test`. Every target installs exactly what uv.lock says into .venv
# (uv sync --frozen, with the extras that target needs); uv itself lives in a small bootstrap venv, .tools/.
PYTHON     ?= python3
UV_VERSION := 0.13.9
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
BIN        := .venv/bin
SYNC       := $(UV) sync --frozen --quiet
CHROMIUM   ?= $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null)

.PHONY: run demo test check lock-check upgrade bench fuzz browser clean migration cluster cluster-stop

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

run: | $(UV)  ## runtime dependencies only; start the app at http://$${HOST:-127.0.0.1}:$${PORT:-8000}
	$(SYNC)
	$(BIN)/python main.py

demo: | $(UV)  ## like run, plus built-in traffic of the three external systems (DEMO_RATE=10 for a busy one)
	$(SYNC)
	DEMO=1 $(BIN)/python main.py

browser:  ## Chromium for the browser tests, nginx for the cluster tests (Debian's packages; Playwright drives Chromium via executable_path)
	@missing=""; \
	if [ -z "$(CHROMIUM)" ] && [ -z "$$CHROMIUM_PATH" ]; then missing="chromium"; fi; \
	if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] && [ -z "$$NGINX_BIN" ]; then missing="$$missing nginx"; fi; \
	if [ -n "$$missing" ]; then \
		echo "installing$$missing (Debian packages)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

test: browser | $(UV)  ## the whole suite
	$(SYNC) --extra test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lock-check: | $(UV)  ## fail when uv.lock does not match pyproject.toml
	$(UV) lock --check

upgrade: | $(UV)  ## move the lock to the newest versions the bounds allow, then run the whole suite
	$(UV) lock --upgrade
	$(MAKE) test

check: | $(UV)  ## lint and types
	$(SYNC) --extra test --extra dev
	$(BIN)/ruff check .
	$(BIN)/mypy app services components theme main.py

bench: | $(UV)  ## benchmarks that print figures (server and load pinned to different cores)
	$(SYNC) --extra test
	taskset -c 1 $(BIN)/python bench/events.py
	taskset -c 1 $(BIN)/python bench/metrics.py
	$(BIN)/python bench/rest.py
	$(BIN)/python bench/startup.py

fuzz: | $(UV)  ## every REST route fuzzed from the OpenAPI schema (schemathesis), as a user and as admin: no 5xx, answers as documented
	$(SYNC) --extra test --extra fuzz
	$(BIN)/python bench/fuzz_api.py $(FUZZ_ARGS)

cluster: | $(UV)  ## REPLICAS (2) replicas on PostgreSQL (DATABASE_URL) and Redis (REDIS_URL) behind nginx on PROXY_PORT (8080)
	@if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ] && [ -z "$$NGINX_BIN" ]; then \
		echo "installing nginx (Debian package)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq nginx >/dev/null; \
	fi
	$(SYNC) --inexact  # the runtime set as locked; leaves the test extras of a checkout that also runs the suite
	$(BIN)/python deploy/cluster.py start

cluster-stop:  ## stop the proxy and every replica that make cluster started
	@if [ -x $(BIN)/python ]; then $(BIN)/python deploy/cluster.py stop; else $(PYTHON) deploy/cluster.py stop; fi

migration: | $(UV)  ## autogenerate a migration: make migration MESSAGE="add x"
	$(SYNC)
	$(BIN)/python -m app.migrations.new_revision "$(MESSAGE)"

clean:
	rm -rf .venv $(TOOLS) .pytest_cache .mypy_cache .ruff_cache
