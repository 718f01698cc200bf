# The two commands: `make run` and `make test`. Both set themselves up from a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
UV_VERSION := 0.13.9
UV := $(VENV)/bin/uv
INSTALLED := $(VENV)/.installed

.PHONY: install run test lint bench schema clean

# Python compiles every module it imports, and where PYTHONDONTWRITEBYTECODE is set (many CI
# images and containers) it keeps nothing and compiles again in every process: the service,
# each runner and each sandbox's forkserver then spent seconds starting. The bytecode is
# written here, once per change, for the installed packages (uv) and for our own sources. A
# source that does not compile is said here and left to ruff and pytest to report in full.
install: $(INSTALLED)
	@$(VENV)/bin/python -m compileall -q -j 0 service runner tests bench db || true

# The virtualenv is made from uv.lock exactly (uv itself is pinned in the lock's dev group).
$(INSTALLED): pyproject.toml uv.lock Makefile
	@test -x $(UV) || { $(PYTHON) -m venv $(VENV) && $(VENV)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION); }
	@UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet --compile-bytecode
	@touch $@

run: install
	@$(VENV)/bin/editroom run --port $${EDITROOM_PORT:-8000}

# `python -m pytest`, not the pytest script: each sandbox child (multiprocessing's forkserver)
# runs its parent's main script again before it starts, unless main is a `-m` module's
# __main__, and the script imports pytest: 250 ms more for every child the tests start.
test: install lint
	@$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

lint: install
	@$(VENV)/bin/ruff check service runner tests bench db
	@$(VENV)/bin/ruff format --check service runner tests bench db
	@$(VENV)/bin/mypy
	@$(VENV)/bin/lint-imports --no-cache

bench: install
	@$(VENV)/bin/python -m bench $(BENCH_ARGS)

# Regenerate db/schema.expected after an intended schema change (review the diff).
schema: install
	@$(VENV)/bin/python -m tests.schema_expected > db/schema.expected

clean:
	rm -rf $(VENV) .editroom .mypy_cache .pytest_cache .ruff_cache
