# Two commands on a fresh machine with Python 3.11:
#   make demo   - install, set up Airflow + MLflow under .local/, write sample data, run the churn DAGs
#                 through Airflow's scheduler (started and stopped by the demo), print a summary
#   (make init   - set up Airflow only: metadata database, deploy pool, DAGs serialised)
#   make test   - install, then lint and run every test suite
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
STAMP := $(VENV)/.installed

.PHONY: install init demo test test-fast test-unit test-dags test-integration test-e2e lint airflow-ui mlflow-ui clean

# The venv is filled by uv (pinned below, itself installed from the package index into the venv), on
# the same requirements and constraints files; pip is the fallback when uv cannot be installed or
# fails, and INSTALLER=pip uses pip only. benchmarks/install_benchmark.py times both from clean venvs.
UV_VERSION ?= 0.13.9
INSTALLER ?= uv
$(STAMP): requirements.txt requirements-dev.txt constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found (set PYTHON=/path/to/python3.11)"; exit 1; }
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	@if [ "$(INSTALLER)" = uv ] && $(VENV)/bin/pip install --quiet "uv==$(UV_VERSION)" && \
		$(VENV)/bin/uv pip install --quiet --system-certs --python $(VENV)/bin/python -r requirements-dev.txt -c constraints.txt; then \
		echo "install: uv $(UV_VERSION)"; \
	else \
		echo "install: pip$(if $(filter uv,$(INSTALLER)), (uv failed: see above),)"; \
		$(VENV)/bin/pip install --quiet --upgrade pip && \
		$(VENV)/bin/pip install --quiet -r requirements-dev.txt -c constraints.txt; \
	fi
	@touch $(STAMP)

install: $(STAMP)

# Airflow under .local/airflow (or $AIRFLOW_HOME): migrate the metadata database, create the deploy
# pool, serialise the DAGs (scripts/init_airflow.sh; scripts/airflow does it on first use too).
init: install
	@scripts/init_airflow.sh

# scripts/demo.py: starts api-server, scheduler and dag-processor (include/dev/local_airflow.py), triggers
# retrain x2, batch_score, promote, monitor, waits for each; then `make airflow-ui` shows the runs and logs.
demo: install
	@source scripts/env.sh && python scripts/demo.py

# ruff (style, complexity <= 15, import rules between pipelines: include/*/ruff.toml), contract
# literals outside include/contracts.py, module size (<= 400 lines), mypy on include/ and plugins/.
lint: install
	@source scripts/env.sh && ruff check . && echo "ruff: clean" && python scripts/check_contracts.py && \
		python scripts/check_layout.py && mypy && echo "mypy: clean"

# Two pytest workers (pytest-xdist), a test file at a time each (--dist loadfile; tests/conftest.py:
# the stack suite's files as one, slowest first). PYTEST_WORKERS=0 runs in-process.
PYTEST_WORKERS ?= 2
test: install lint
	@source scripts/env.sh && python -m pytest tests -q --durations=15 -n $(PYTEST_WORKERS) --dist loadfile

# The inner loop: unit tests and DAG integrity, no services.
test-fast: install
	@source scripts/env.sh && python -m pytest tests/unit tests/dags -q -n $(PYTEST_WORKERS) --dist loadfile

test-dags: install
	@source scripts/env.sh && python -m pytest tests/dags -q

test-unit: install
	@source scripts/env.sh && python -m pytest tests/unit -q

# Real services on 127.0.0.1, among them the distributed stack of tests/integration/stack (Airflow
# CeleryExecutor + MLflow + S3; needs PostgreSQL :5432 and Redis :6379 running, and /usr/bin/chromium
# for the browser test). Stack phase timings are printed at the end and kept in test-artifacts/stack/.
test-integration: install
	@source scripts/env.sh && python -m pytest tests/integration -q

test-e2e: install
	@source scripts/env.sh && python -m pytest tests/e2e -q

# The Airflow web UI on the demo's state (admin password is printed in the log and stored in
# .local/airflow/simple_auth_manager_passwords.json.generated).
airflow-ui: init
	@source scripts/env.sh && airflow standalone

mlflow-ui: install
	@source scripts/env.sh && mlflow ui --backend-store-uri "$$MLFLOW_TRACKING_URI" --port $${MLFLOW_PORT:-5000}

clean:
	rm -rf .local
