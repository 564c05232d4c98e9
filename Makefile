# The two commands of the quick start: `make run` starts overcast, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test test-postgres lint bench clean conformance

# Bytecode caches on, whatever the shell says: some machines set PYTHONDONTWRITEBYTECODE, and then
# every one of the suite's ~140 servers compiles overcast's modules again, and each pytest worker
# rewrites and compiles all 200 test files again (18 s of CPU per worker on a 2-core machine).
unexport PYTHONDONTWRITEBYTECODE

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.installed
	$(BIN)/overcast start $(ARGS)

test: $(VENV)/.installed
	$(BIN)/ruff check overcast tests bench examples conformance
	$(BIN)/python -m pytest -n 4 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The whole suite on PostgreSQL (docs/cluster.md): every server of the session on a fresh database
# of its own, dropped at the end. POSTGRES_URL names the server (any database on it).
POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/postgres
test-postgres: $(VENV)/.installed
	OVERCAST_TEST_DATABASE_URL=$(POSTGRES_URL) $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check overcast tests bench examples conformance

# Test suites overcast did not write (docs/conformance.md):
#   make conformance LOCALSTACK=~/src/localstack FLOCI=~/src/floci
conformance: $(VENV)/.installed
	$(BIN)/python -m conformance $(if $(LOCALSTACK),--localstack $(LOCALSTACK)) $(if $(FLOCI),--floci $(FLOCI)) $(CONFORMANCE_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
