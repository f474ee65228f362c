# Two commands on a fresh machine: `make setup` then `make test`.
PY      := .venv/bin/python
PIP     := .venv/bin/pip
SHELL   := /bin/bash

.PHONY: setup test lint fmt clean

setup: .venv/.installed node_modules/.installed
	$(PY) -m fedmarket.chain.compile
	scripts/install-browser
	scripts/install-postgres

# torch is installed first and pinned: the machine ships a CPU wheel of 2.13.0, and any
# looser request would pull several GB of CUDA packages.
.venv/.installed: pyproject.toml
	test -d .venv || python3 -m venv .venv
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

test: lint
	$(PY) -m pytest -q

lint:
	.venv/bin/ruff check .
	.venv/bin/mypy fedmarket trainer aggregator verifier market-api/market_api

clean:
	rm -rf build .fedmarket .pytest_cache .mypy_cache .ruff_cache
