# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
BENCH_ARGS ?=

.PHONY: install serve test test-fast soak bench eval lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# torch is pinned to the CPU build first; any other version pulls a multi-GB CUDA build.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	STORYLINE_DATA_DIR=$${STORYLINE_DATA_DIR:-./data} $(BIN)/storyline serve --port $(PORT) \
		--host $${STORYLINE_HOST:-127.0.0.1}

# everything, as CI runs it: tests/unit, tests/integration and tests/e2e (tests/README.md)
test: $(STAMP)
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

# the loop while working: no separate processes, crashes, long runs or browser
test-fast: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/integration $(PYTEST_ARGS)

# The stateful walk at length: 5,000 steps with 100+ SIGKILLs and 50+ re-indexes.
soak: $(STAMP)
	STORYLINE_STATEFUL_STEPS=$${STORYLINE_STATEFUL_STEPS:-5000} \
		STORYLINE_STATEFUL_REPORT=bench/results/soak.json \
		$(BIN)/python -m pytest -q -s tests/e2e/test_stateful.py $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# clustering quality on ../shared/dev-data and the seed story: bench/results/quality.md,
# quality-*.json, and precision/recall-vs-threshold plots pr-report.png, pr-story.png
eval: $(STAMP)
	$(BIN)/python bench/quality.py $(EVAL_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app engine embeddings index stories storage language evaluation childproc storyline_client

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
