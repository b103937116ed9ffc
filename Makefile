# The two commands a new machine needs: `make run` and `make test` (see README.md).
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin

# Debian packages the tests drive: Chromium (dashboard), FRR + iproute2 (lab), Prometheus.
SYSTEM_PACKAGES := chromium frr prometheus iproute2

.PHONY: system setup run simulate test lint validate validate-qos validate-bursty bench bench-sweep bench-radio bench-api bench-live bench-qos bench-peers-setup bench-validate bench-rca bench-lab bench-tables docs docs-serve clean image image-test deploy-check


setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@echo "compiling the engine's kernels once (about 20-30 s; cached for every later run)"
	$(BIN)/nettwin warmup || echo "warm-up failed: the first runs will compile instead"
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

# The slow validations (GNNet accuracy behind the README's figures, every Abilene hour,
# Rocketfuel maps) run too: about 50 s of CPU.
test: system lint
	$(BIN)/pytest -q -m 'slow or not slow'
	$(MAKE) deploy-check image-test

# The OCI image from Debian packages and PyPI wheels (no registry image; buildah, chroot
# isolation), then its smoke test: entrypoint as the non-root user, health, an authenticated
# what-if equal to the library's, no compilers or test tools, size reported.
image: setup
	PYTHON=$(PY) deploy/image/build.sh

image-test: image
	$(PY) deploy/image/smoke.py

# Kubernetes manifests: rendered by kubectl's kustomize, scanned by checkov (its own venv:
# it pins many packages); schemas and policy rules are checked by tests/deploy.
CHECKOV := .venv-checkov/bin/checkov
$(CHECKOV):
	python3 -m venv .venv-checkov
	.venv-checkov/bin/python -m pip install --quiet --upgrade pip
	.venv-checkov/bin/python -m pip install --quiet 'checkov==3.3.30'

deploy-check: $(CHECKOV)
	@mkdir -p build/checkov/k8s build/checkov/image
	@for o in dev prod; do kubectl kustomize deploy/k8s/overlays/$$o > build/checkov/k8s/$$o.yaml; done
	cp deploy/image/Containerfile build/checkov/image/Dockerfile
	$(CHECKOV) --quiet --compact --skip-download --framework kubernetes -d build/checkov/k8s
	$(CHECKOV) --quiet --compact --skip-download --framework dockerfile -d build/checkov/image

validate: setup
	$(BIN)/pytest -q -m slow

validate-qos: setup
	$(BIN)/nettwin qos-validate

# bursty arrivals against stored ns-3 runs (tools/bursty_groundtruth.py regenerates them)
validate-bursty: setup
	$(PY) benchmarks/bench_bursty.py --per-case

bench: setup
	$(PY) benchmarks/bench_engine.py

# pyNTM and ngraph live in their own virtualenv: pyNTM pins networkx 3.1.
bench-peers-setup:
	python3 -m venv .venv-peers
	.venv-peers/bin/python -m pip install --quiet --upgrade pip
	.venv-peers/bin/python -m pip install --quiet pyNTM ngraph

bench-sweep: setup
	$(PY) benchmarks/bench_sweep.py

# Engine regression: ratios vs networkx, ngraph and the stored previous release's figures.
.PHONY: bench-regress
bench-regress: setup
	$(PY) benchmarks/bench_regress.py $(ARGS)

bench-radio: setup
	$(PY) benchmarks/bench_radio.py

bench-qos: setup
	$(PY) benchmarks/bench_qos.py

bench-rca: setup
	$(PY) benchmarks/bench_rca.py

bench-lab: setup
	$(PY) benchmarks/bench_lab.py

bench-live: setup
	$(PY) benchmarks/bench_live.py

bench-tables: setup
	$(PY) benchmarks/bench_tables.py

bench-api: setup
	$(PY) benchmarks/bench_api.py

# The docs site (MkDocs + mkdocstrings: guides and the API reference generated from the
# docstrings) into site/; `make docs-serve` previews it on 127.0.0.1:8000.
docs: setup
	$(BIN)/mkdocs build --strict

docs-serve: setup
	$(BIN)/mkdocs serve

bench-validate: setup
	$(PY) benchmarks/bench_validate.py

# Gymnasium environments: steps/s single, batched, 200 nodes; reset time.
.PHONY: bench-gym
bench-gym: setup
	$(PY) benchmarks/bench_gym.py

clean:
	rm -rf $(VENV) .venv-peers .venv-checkov build .pytest_cache .mypy_cache .ruff_cache site
	find src -name __pycache__ -prune -exec rm -rf {} +

# Traffic engineering against Parham et al. (CoNEXT 2021): `make bench-te ARGS=--quick`.
.PHONY: bench-te
bench-te: setup
	$(PY) benchmarks/bench_te.py $(ARGS)

# Energy saving on measured Abilene and GEANT days (GreenTE anchor): `make bench-energy`.
.PHONY: bench-energy
bench-energy: setup
	$(PY) benchmarks/bench_energy.py $(ARGS)

.PHONY: bench-tm
bench-tm: setup
	$(PY) benchmarks/bench_tm.py

# Slice admission: decisions and wall/CPU time on Abilene and GEANT, without and with n-1.
.PHONY: bench-slices
bench-slices: setup
	$(PY) benchmarks/bench_slices.py

# Capacity planning (MILP vs LP bound vs greedy) on SNDlib networks: `make bench-plan`.
.PHONY: bench-plan
bench-plan: setup
	$(PY) benchmarks/bench_plan.py $(ARGS)
