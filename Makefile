# Two commands on a fresh machine (Python 3.11+): `make serve` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test check build feeds schema clean

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

## keep the calendars of events.yaml in feeds/ (committed, so a git host serves them as
## subscription URLs); like every build it updates events.state.json: commit both
feeds: $(STAMP)
	$(BIN)/icalpub build --events events.yaml --out public --ics-out feeds

## events.schema.json, the JSON Schema editors read (events.yaml names it on its first line)
schema: $(STAMP)
	$(BIN)/icalpub schema --out events.schema.json

clean:
	rm -rf $(VENV) .pytest_cache
