# Two commands set everything up from nothing: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

$(BIN)/gateway: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $@

.PHONY: venv run test lint bench
venv: $(BIN)/gateway

run: venv
	$(BIN)/python scripts/run_demo.py

test: venv
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check gateway tests bench
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/overhead.py
