# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv from pyproject.toml first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint format clean deploy-check sar-template

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev,deploy]'
	@if command -v npm >/dev/null 2>&1; then npm ci --silent --no-audit --no-fund --prefix tests/json_server; \
	 else echo "npm not found: json-server tests will be skipped"; fi
	touch $@

demo: setup
	$(BIN)/saas-connectors demo

test: setup lint
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The templates and both Lambda packages, offline: lint, validate, build, and the size budgets. template-sar.yaml
# (the Serverless Application Repository build) must be what deploy/sar_template.py makes of template.yaml; its
# build reuses the same function Makefiles, into its own directory.
deploy-check: setup
	$(BIN)/python deploy/sar_template.py --check
	$(BIN)/cfn-lint template.yaml template-sar.yaml
	SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint --template-file template.yaml
	SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint --template-file template-sar.yaml
	SAM_CLI_TELEMETRY=0 $(BIN)/sam build --template-file template.yaml
	$(BIN)/python deploy/package_sizes.py --zipped
	SAM_CLI_TELEMETRY=0 $(BIN)/sam build --template-file template-sar.yaml --build-dir .aws-sam/build-sar
	$(BIN)/python deploy/package_sizes.py --build-dir .aws-sam/build-sar

# Rewrite template-sar.yaml from template.yaml (after editing template.yaml or the version in pyproject.toml).
sar-template: setup
	$(BIN)/python deploy/sar_template.py

format: setup
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache tests/json_server/node_modules
