# Two entry points for a fresh machine (see README.md): `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
CORES ?= 2
BIN := $(VENV)/bin

.PHONY: setup run test bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --disable-pip-version-check -q -e '.[test]'
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/snakemake --workflow-profile workflow/profiles/local --cores $(CORES)
	$(BIN)/snakemake --report results/default/report.html

test: setup
	$(BIN)/python -m pytest

bench: setup
	for b in benchmarks/bench_*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .snakemake
