# Included by deploy/functions/<name>/Makefile, which `sam build` runs (BuildMethod: makefile) as
#   make --makefile <abs path>/Makefile build-<LogicalId>   with ARTIFACTS_DIR set.
# ROOT is set by the including Makefile from its own (absolute) path, so it works from SAM's scratch copy.
#
# The build needs any Python >= 3.11 with pip (the project's .venv by default): it downloads Linux wheels for
# the Lambda runtime (CPython 3.12, x86_64) whatever the host Python is. Override with SAAS_BUILD_PYTHON=...
SAAS_BUILD_PYTHON ?= $(firstword $(wildcard $(ROOT)/.venv/bin/python) python3)
BUILD_FUNCTION = "$(SAAS_BUILD_PYTHON)" "$(ROOT)/deploy/build_function.py" --out "$(ARTIFACTS_DIR)"
