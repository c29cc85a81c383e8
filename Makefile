# Two commands matter: `make run` and `make test`. Everything installs into .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
CHROMIUM ?= $(shell command -v chromium 2>/dev/null || command -v chromium-browser 2>/dev/null)

.PHONY: run test check bench fuzz browser clean migration

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dev]"
	@touch $(STAMP)

run: $(STAMP)  ## start the app at http://$${HOST:-127.0.0.1}:$${PORT:-8000}
	$(BIN)/python main.py

browser:  ## Chromium for the browser tests (Debian's package; Playwright drives it via executable_path)
	@if [ -z "$(CHROMIUM)" ] && [ -z "$$CHROMIUM_PATH" ]; then \
		echo "installing chromium (Debian package)"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

test: $(STAMP) browser  ## the whole suite
	$(BIN)/python -m pytest $(PYTEST_ARGS)

check: $(STAMP)  ## lint and types
	$(BIN)/ruff check .
	$(BIN)/mypy app services components theme main.py

bench: $(STAMP)  ## benchmarks that print figures (server and load pinned to different cores)
	taskset -c 1 $(BIN)/python bench/events.py
	taskset -c 1 $(BIN)/python bench/metrics.py
	$(BIN)/python bench/rest.py
	$(BIN)/python bench/startup.py

fuzz: $(STAMP)  ## every REST route fuzzed from the OpenAPI schema (schemathesis): no input may give a 5xx
	$(BIN)/python -m pip install --quiet "schemathesis>=4,<5"
	$(BIN)/python bench/fuzz_api.py

migration: $(STAMP)  ## autogenerate a migration: make migration MESSAGE="add x"
	$(BIN)/python -m app.migrations.new_revision "$(MESSAGE)"

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
