# gridgeo: the two commands are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
GRIDGEO := $(BIN)/gridgeo
STAMP := $(VENV)/.installed

.PHONY: demo test stop setup system venv db lint bench clean

demo: setup db  ## install, start the database, load the demo town, serve on :5000
	$(GRIDGEO) demo --if-missing
	$(GRIDGEO) serve --background

test: setup db lint  ## install, lint, and run the whole test suite against a real PostGIS
	$(BIN)/pytest $(PYTEST_ARGS)

stop:  ## stop the server and the private database cluster
	-@[ -x $(GRIDGEO) ] && $(GRIDGEO) stop

setup: system venv

system:
	@bash scripts/install-system.sh

venv: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info[:2] >= (3, 11), "gridgeo needs Python 3.11+"'
	@[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

db: venv  ## start the private cluster (unless GRIDGEO_DATABASE_URL is set) and migrate
	$(GRIDGEO) db start
	$(GRIDGEO) db migrate

LINTED := gridgeo plugins tests scripts

lint: venv  ## ruff and mypy over the code, the tests and the scripts (mypy caches in .mypy_cache)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy $(LINTED)

clean: stop
	rm -rf .gridgeo $(VENV)
