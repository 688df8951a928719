# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export BASTION_DATA_DIR ?= ./bastion-data

.PHONY: run test lint format bench install dev clean

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

## Start Bastion on SQLite with the data folder $(BASTION_DATA_DIR).
run: $(VENV)/.installed
	$(BIN)/bastion run --host $(HOST) --port $(PORT)

## Lint, type-check and run the whole suite (Postgres tests run when
## BASTION_TEST_DATABASE_URL is set, as .ci/run does).
test: lint
	$(BIN)/pytest

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

clean:
	rm -rf $(VENV) .venv-bench .pytest_cache .mypy_cache .ruff_cache
