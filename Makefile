# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export BASTION_DATA_DIR ?= ./bastion-data
# The console's browser tests drive Debian's Chromium through Playwright (no `playwright install`).
CHROMIUM ?= /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint format bench install dev clean screenshots

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

dev: $(VENV)/.dev-installed

## Start Bastion on SQLite with the data folder $(BASTION_DATA_DIR). The preservation vault
## needs a key: unless BASTION_VAULT_KEY(_FILE) is set, a local one is made once, beside the
## data (fine to try Bastion; in production keep the key elsewhere).
run: $(VENV)/.installed
	@if [ -z "$$BASTION_VAULT_KEY" ] && [ -z "$$BASTION_VAULT_KEY_FILE" ]; then \
	  mkdir -p "$(BASTION_DATA_DIR)"; \
	  [ -s "$(BASTION_DATA_DIR).vault-key" ] || { umask 077; $(BIN)/bastion vault keygen > "$(BASTION_DATA_DIR).vault-key"; \
	    echo "Made a vault key in $(BASTION_DATA_DIR).vault-key (keep it safe; removed content is encrypted with it)"; }; \
	fi
	BASTION_VAULT_KEY_FILE=$${BASTION_VAULT_KEY_FILE:-$$( [ -z "$$BASTION_VAULT_KEY" ] && echo "$(BASTION_DATA_DIR).vault-key")} \
	  $(BIN)/bastion run --host $(HOST) --port $(PORT)

## Lint, type-check and run the whole suite (Postgres tests run when
## BASTION_TEST_DATABASE_URL is set, as .ci/run does).
test: lint $(CHROMIUM)
	$(BIN)/pytest

# Outside CI a machine without apt (or sudo) still runs the rest; the browser tests then skip
# and say why. In CI (CI=true) a missing Chromium fails the run.
$(CHROMIUM):
	@echo "Installing Debian's chromium for the console's browser tests"
	@$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	  || ($(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive \
	      apt-get install -y -qq chromium) \
	  || { [ -z "$$CI" ] && echo "warning: could not install chromium; browser tests will skip"; }

lint: $(VENV)/.dev-installed
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/mypy

format: $(VENV)/.dev-installed
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

## Benchmarks side by side with python-threatexchange (installed in .venv-bench only).
bench: $(VENV)/.installed
	bash benchmarks/run.sh

## Re-take the console screenshots in docs/screenshots/ (through the browser test).
screenshots: $(VENV)/.dev-installed $(CHROMIUM)
	BASTION_SCREENSHOTS=docs/screenshots $(BIN)/pytest -q tests/test_console_browser.py

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache
