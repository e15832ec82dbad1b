# machi: `make run` serves the demo on http://127.0.0.1:8000, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HOST PORT

.PHONY: run test lint bench-search bench-datastore bench-ingest bench-geo bench-ask clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are pinned by requirements.lock so a fresh clone gets what CI tested.
$(VENV)/.installed: $(BIN)/python pyproject.toml requirements.lock
	$(BIN)/pip install --quiet -c requirements.lock -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -c requirements.lock -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/machi serve

test: $(VENV)/.installed-test
	$(BIN)/ruff check machi bench
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check machi bench
	$(BIN)/ruff format --check machi bench

bench-search: $(VENV)/.installed-test
	$(BIN)/python bench/search.py

# Needs wrk (apt-get install wrk); installs Datasette in var/bench-venv, never in .venv.
bench-datastore: $(VENV)/.installed-test
	$(BIN)/python bench/datastore.py

# Installs sqlite-utils in var/bench-venv, never in .venv; a full run takes a long while.
bench-ingest: $(VENV)/.installed-test
	$(BIN)/python bench/ingest.py

# 100,000 generated points on SQLite and on PostgreSQL (--postgres-url; 127.0.0.1 by default).
bench-geo: $(VENV)/.installed-test
	$(BIN)/python bench/geo.py

bench-ask: $(VENV)/.installed-test
	$(BIN)/python bench/ask.py

clean:
	rm -rf $(VENV) var test-results
