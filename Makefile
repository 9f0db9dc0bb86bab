# Two commands on a fresh machine (Python 3.11+): `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test check build clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,serve]'
	touch $(STAMP)

## serve the bundled events.yaml at http://127.0.0.1:8000
serve: $(STAMP)
	$(BIN)/icalpub serve --events events.yaml --host 127.0.0.1 --port 8000

## install everything and run the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest

check: $(STAMP)
	$(BIN)/icalpub check events.yaml

## write the static tree (web root) to public/
build: $(STAMP)
	$(BIN)/icalpub build --events events.yaml --out public

clean:
	rm -rf $(VENV) .pytest_cache
