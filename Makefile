# Two commands matter: `make run` and `make test` (CI runs `make test` then `make audit`).
# Everything else is a step they share, or a tool: `make audit`, `make bench`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck pytest setup clean bench audit e2e

# The demo needs no Bot Framework identity: dev mode (loopback only) lets `juno chat` talk to it.
run: setup
	@echo "JUNO is starting on 127.0.0.1:$${JUNO_PORT:-3978}. To chat with it, in a second terminal here:"
	@echo "    .venv/bin/juno chat --locale en        (or --locale tr)"
	@echo "Operator commands are .venv/bin/juno too (or: source .venv/bin/activate, then juno ...)."
	JUNO_BOT_DEV_MODE=$${JUNO_BOT_DEV_MODE:-1} JUNO_LOG_FORMAT=$${JUNO_LOG_FORMAT:-console} $(BIN)/juno serve

test: setup lint typecheck pytest

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/find-python.sh
	@PY="$$(scripts/find-python.sh)" || exit 1; \
	if [ ! -x $(BIN)/python ] || ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))'; then \
		rm -rf $(VENV); echo "creating $(VENV) with $$PY"; "$$PY" -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $(STAMP)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest

# JUNO in Microsoft's Teams client emulator (the Agents Playground) in headless Chromium: every
# flow in English and Turkish, a screenshot per step in var/e2e/. Installs Debian's chromium and
# the npm packages (into var/e2e/node) on first use. See tests/e2e/run.py.
e2e: setup
	$(BIN)/python tests/e2e/run.py

# Known vulnerabilities in everything installed in .venv (pip-audit, needs PyPI); exceptions
# with reasons and review dates live in audit-exceptions.toml. See scripts/audit.py.
audit: setup
	$(BIN)/python scripts/audit.py

# Every benchmark once: 8.5 minutes on 2 shared cores (2026-11-25). Four run smaller than their
# defaults, which take far longer on the embedded database: lookup (default 100k profiles),
# sync (100k users: its full round alone took 417 s), export's retention sweep (100k events)
# and load (10,000 activities: 5 min). README's figures come from the defaults: run a script
# alone for those.
bench: setup
	$(BIN)/python bench/embedded_db.py
	$(BIN)/python bench/bot.py
	$(BIN)/python bench/lookup.py --profiles 20000
	$(BIN)/python bench/sync.py --users 20000
	$(BIN)/python bench/export.py --sweep-events 20000
	$(BIN)/python bench/load.py --activities 3000
	$(BIN)/python bench/notify.py

clean:
	rm -rf $(VENV) var .mypy_cache .pytest_cache .ruff_cache
