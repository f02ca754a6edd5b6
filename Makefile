# Every target installs what it needs first, so each works on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install services demo test lint bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python >= 3.11 is required"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# mosquitto and NATS on loopback for the integration tests, nginx and wrk for tests and benchmarks.
services:
	bash scripts/start-services.sh

demo: install
	$(BIN)/streamtestbench demo

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

test: lint services
	$(BIN)/pytest

bench: install services
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache
