# The two commands a new machine needs: `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

# Debian packages the tests drive: Chromium (dashboard), FRR + iproute2 (lab), Prometheus.
SYSTEM_PACKAGES := chromium frr prometheus iproute2

.PHONY: system setup run simulate test lint validate validate-qos bench bench-sweep bench-radio bench-api bench-live bench-qos bench-peers-setup clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

# The main job: the embedded twin (example networks, simulated live telemetry and weather),
# API and dashboard on http://127.0.0.1:8080 (the first start prints a sign-in link).
run: setup
	$(BIN)/nettwin serve

simulate: setup
	$(BIN)/nettwin simulate

# Installs what is missing only (root and apt-get required; elsewhere it says what to do).
system:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null \
	    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }; \
	  else echo "missing Debian packages: $$missing (tests that need them are skipped)"; fi; \
	fi

lint: setup
	$(BIN)/ruff check src tests benchmarks tools
	$(BIN)/mypy
	$(BIN)/lint-imports

test: system lint
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

bench-qos: setup
	$(PY) benchmarks/bench_qos.py

bench-live: setup
	$(PY) benchmarks/bench_live.py

bench-api: setup
	$(PY) benchmarks/bench_api.py

clean:
	rm -rf $(VENV) .venv-peers .pytest_cache .mypy_cache .ruff_cache
	find src -name __pycache__ -prune -exec rm -rf {} +

# Traffic engineering against Parham et al. (CoNEXT 2021): `make bench-te ARGS=--quick`.
.PHONY: bench-te
bench-te: setup
	$(PY) benchmarks/bench_te.py $(ARGS)
