# Two entry points, each doing its own set-up in a local virtual environment:
#   make demo   -> reproduce the papers' figures into out/
#   make test   -> lint, tests (including executed notebooks)
# and one extra: make docs -> physics pages + API reference from the docstrings into site/
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# One BLAS/OpenMP thread per process: JAX already parallelises, and oversubscribed OpenBLAS
# made small dense solves (fits, Newton steps) up to 100x slower on a 2-core machine.
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: demo test lint bench docs clean venv

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip -q
	$(BIN)/python -m pip install -q -e ".[test]"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/diffsc reproduce --out out

lint: $(STAMP)
	$(BIN)/ruff check .

# --max-worker-restart=0: a worker that dies (a crash in native code) ends the run with the
# test it died on named; pytest-xdist's loadfile scheduler can wait forever for a replacement.
test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --max-worker-restart=0 --durations=15

bench: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[bench]" || echo "resonator_tools not installed: its comparison is skipped"
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

# --strict: a broken link, a missing page or a docstring mkdocstrings cannot read fails the build.
docs: $(STAMP)
	$(BIN)/python -m pip install -q -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) out site .pytest_cache .ruff_cache
