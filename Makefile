PYTHON ?= python3
PIP ?= $(PYTHON) -m pip

.PHONY: install install-dev system-deps run test lint bench installer

install:
	$(PIP) install -q -e .

system-deps:
	bash .ci/install-system-deps.sh

install-dev: system-deps
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e ".[dev,train]"

run: install
	$(PYTHON) -m desktop

lint:
	ruff check desktop models tests installer
	lint-imports

test: install-dev lint
	$(PYTHON) -m pytest -q

bench: install
	$(PYTHON) -m desktop bench

installer:
	$(PIP) install -q -e ".[installer]"
	$(PYTHON) installer/build.py
