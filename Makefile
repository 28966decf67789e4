# Muutostutka developer entry points. Each target sets up what it needs (a virtualenv in .venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test fast unit lint typecheck system clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## demo: generate a synthetic labour market, run the pipeline, report (no broker, no shared data)
demo: $(STAMP)
	$(BIN)/tutka demo

## test: the system programs the tests start, lint, type-check, and every test (those that need no
# service on every core, pytest-xdist; then the integration tests, two files at a time: they start
# brokers, Prometheus, Alertmanager and Chromium on free ports and mostly wait on them. Two, not
# one per core: each worker may run its own broker.)
test: system lint typecheck
	$(BIN)/python -m pytest -n auto --dist loadfile -m "not integration"
	$(BIN)/python -m pytest -n 2 --dist loadfile -m integration

## system: Prometheus, Alertmanager, Chromium and its driver, a JDK and Maven, installed if missing
# (root or passwordless sudo; otherwise it says what to install). Silent and instant when all are
# there. Only the integration tests need them: demo, fast and unit do not.
system:
	@scripts/setup-system.sh

## fast: the inner loop, under a minute: every module's core behaviour, no slow or integration tests
# (tests/integration holds only integration tests: not even collected. Bytecode is cached even
# where PYTHONDONTWRITEBYTECODE is set, so pytest does not rewrite every test module each run.
# On every core, a file per worker: one core alone took 57 s, on the edge of the minute.)
fast: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n auto --dist loadfile \
	  -m "not slow and not integration" --ignore=tests/integration

## unit: every test that needs no external service (slow ones included)
unit: $(STAMP)
	$(BIN)/python -m pytest -m "not integration"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/python scripts/check_dependencies.py

typecheck: $(STAMP)
	$(BIN)/mypy

clean:
	rm -rf $(VENV) tutka-out .pytest_cache .mypy_cache .ruff_cache .hypothesis
