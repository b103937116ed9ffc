# The two commands a new machine needs: `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

.PHONY: setup run test lint validate validate-qos bench bench-sweep bench-radio bench-api bench-peers-setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

run: setup
	$(BIN)/nettwin simulate

lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

validate: setup
	$(BIN)/pytest -q -m slow

validate-qos: setup
	$(BIN)/nettwin qos-validate

bench: setup
	$(PY) benchmarks/bench_engine.py

# pyNTM and ngraph live in their own virtualenv: pyNTM pins networkx 3.1.
bench-peers-setup:
	python3 -m venv .venv-peers
	.venv-peers/bin/python -m pip install --quiet --upgrade pip
	.venv-peers/bin/python -m pip install --quiet pyNTM ngraph

bench-sweep: setup
	$(PY) benchmarks/bench_sweep.py

bench-radio: setup
	$(PY) benchmarks/bench_radio.py

bench-api: setup
	$(PY) benchmarks/bench_api.py

clean:
	rm -rf $(VENV) .venv-peers .pytest_cache .mypy_cache .ruff_cache
	find src -name __pycache__ -prune -exec rm -rf {} +
