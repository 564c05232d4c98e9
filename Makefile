# The two commands of the quick start: `make run` starts overcast, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean conformance

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
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: $(VENV)/.installed
	$(BIN)/ruff check overcast tests bench examples conformance

# Test suites overcast did not write (docs/conformance.md):
#   make conformance LOCALSTACK=~/src/localstack FLOCI=~/src/floci
conformance: $(VENV)/.installed
	$(BIN)/python -m conformance $(if $(LOCALSTACK),--localstack $(LOCALSTACK)) $(if $(FLOCI),--floci $(FLOCI)) $(CONFORMANCE_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info
