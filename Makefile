# Two commands for a newcomer: `make demo` and `make test`. Both set up .venv from pyproject.toml first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint format clean deploy-check sar-template check-python

# Checked every time, before anything is installed; the install itself runs only when needed.
setup: check-python
	@$(MAKE) --no-print-directory $(VENV)/.installed

# Rebuilt when pyproject.toml changes, or when check-python removed a .venv made by another interpreter.
$(VENV)/.installed: pyproject.toml
	@echo "setting up $(VENV) with $$($(PYTHON) --version): installing the project and its tools (about a minute the first time)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev,deploy]'
	@if command -v npm >/dev/null 2>&1; then echo "installing json-server for its tests (npm)"; \
	 npm ci --silent --no-audit --no-fund --prefix tests/json_server; \
	 else echo "npm not found: the json-server tests will fail to run (CI fails on skipped tests)"; fi
	touch $@
	@echo "ready: . $(BIN)/activate puts saas-connectors on PATH"

# The Python version first, before anything is installed: the project needs 3.11 or 3.12.
check-python:
	@$(PYTHON) -c 'import sys; ok = (3, 11) <= sys.version_info[:2] <= (3, 12); \
	 print(f"$(PYTHON) is Python {sys.version.split()[0]}" + ("" if ok else ": this project needs 3.11 or 3.12; run make PYTHON=python3.12 (or python3.11)")); \
	 sys.exit(0 if ok else 1)' || { echo "no usable $(PYTHON): install Python 3.11 or 3.12 and run make PYTHON=python3.12"; exit 1; }
	@want=$$($(PYTHON) -c 'import sys; print(sys.base_prefix, sys.version_info[:2])'); \
	 have=$$($(BIN)/python -c 'import sys; print(sys.base_prefix, sys.version_info[:2])' 2>/dev/null || echo none); \
	 if [ -d $(VENV) ] && [ "$$want" != "$$have" ]; then \
	   echo "$(VENV) was made by another Python ($$have); removing it to rebuild with $(PYTHON) ($$want)"; rm -rf $(VENV); fi

demo: setup
	$(BIN)/saas-connectors demo

# Every test must run: a skipped one fails the run (-rs lists each skip with its reason).
test: setup lint
	$(BIN)/python -m pytest -p no:cacheprovider -rs --fail-on-skip

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
