# Kreis: `make run` installs and serves the CRM; `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
export KREIS_DATA ?= $(CURDIR)/var
# The suite runs in one process per core (pytest-xdist; `make test TEST_WORKERS=1` for one) and
# ends with its 15 slowest tests.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --durations=15

.PHONY: run test test-postgres lint format messages makemessages install dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
dev: $(VENV)/.dev-installed

# Compile the gettext catalogues (.po -> .mo) with Babel: no system gettext needed.
messages: $(VENV)/.installed
	$(BIN)/pybabel compile -d src/kreis/locale -D django

# Refresh the catalogues from the source (needs GNU gettext's xgettext).
makemessages: $(VENV)/.installed
	cd src/kreis && ../../$(BIN)/django-admin makemessages -l de --settings=kreis.settings --no-obsolete -i "static/*"

run: install messages
	$(BIN)/kreis migrate -v0
	$(BIN)/kreis collectstatic --noinput -v0
	$(BIN)/kreis demo --if-empty
	$(BIN)/kreis serve

lint: dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

format: dev
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

test: dev messages lint
	KREIS_DATA=$(CURDIR)/var/test $(BIN)/kreis makemigrations --check --dry-run
	KREIS_DATA=$(CURDIR)/var/test $(PYTEST)

# The same suite on PostgreSQL (DATABASE_URL must point at a server; a fresh test database is
# made per worker: test_test_gw0, test_test_gw1, …). The generated tests sample less than the
# SQLite run, which already ran the same Python code: the API fuzz keeps schemathesis' boundary
# values (its coverage phase, where PostgreSQL's stricter types show) with 5 random examples per
# route, and the route-access test calls each route as charlie, alice and dana (the visibility
# SQL and the full success path) instead of all six personas.
test-postgres: dev messages
	KREIS_DATA=$(CURDIR)/var/test-pg DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
		KREIS_FUZZ_EXAMPLES=$${KREIS_FUZZ_EXAMPLES:-5} \
		KREIS_ROUTE_PERSONAS=$${KREIS_ROUTE_PERSONAS:-charlie,alice,dana} $(PYTEST) --create-db

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
