# Two commands on a fresh machine: `make serve` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=
BENCH_ARGS ?=
DEMO_ARGS ?=

# torch is pinned, and its CPU-only build comes from PyTorch's own index: on Linux the
# package index (PyPI) holds only the multi-GB CUDA build. Where that index cannot be
# reached, the plain pin is installed instead (with a warning): a CPU wheel where the
# pip configuration holds one, otherwise PyPI's build. README.md, "Install and run", says more.
TORCH_VERSION := 2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
# What `make install` pins: the torch it installed, so no later install swaps it.
CONSTRAINTS := $(VENV)/constraints.txt

.PHONY: install install-dev serve demo test test-fast soak bench eval lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# The service: runtime dependencies only.
$(STAMP): pyproject.toml | $(BIN)/python
	@echo "installing torch $(TORCH_VERSION), CPU build, from $(TORCH_INDEX)"
	@$(BIN)/pip install --quiet --retries 1 --timeout 20 --index-url $(TORCH_INDEX) \
		torch==$(TORCH_VERSION) 2> $(VENV)/torch-index.log || { \
		echo "warning: $(TORCH_INDEX) could not be reached ($(VENV)/torch-index.log);" \
			"installing torch==$(TORCH_VERSION) from the package index instead. Unless your" \
			"pip configuration holds a CPU wheel, that is the multi-GB CUDA build on Linux" \
			"(README.md, Install and run)." >&2; \
		$(BIN)/pip install --quiet torch==$(TORCH_VERSION); }
	@$(BIN)/python -c "from importlib.metadata import version; print('torch==' + version('torch'))" \
		> $(CONSTRAINTS)
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e .
	@$(BIN)/python -c "import torch; c = torch.version.cuda; print('torch', torch.__version__, \
		'(CUDA ' + c + ' build: large, see README.md, Install and run)' if c else '(CPU build)')"
	@touch $(STAMP)

# Tests, lint, benchmarks and evaluation: the dev extras on top (same torch).
$(DEV_STAMP): $(STAMP)
	$(BIN)/pip install --quiet --constraint $(CONSTRAINTS) -e '.[dev]'
	@touch $(DEV_STAMP)

install: $(STAMP)

install-dev: $(DEV_STAMP)

serve: $(STAMP)
	STORYLINE_DATA_DIR=$${STORYLINE_DATA_DIR:-./data} $(BIN)/storyline serve --port $(PORT) \
		--host $${STORYLINE_HOST:-127.0.0.1}

# the seed story and NTREX passages in a server of their own (./demo-data): URLs printed
demo: $(STAMP)
	$(BIN)/storyline demo --port $(PORT) $(DEMO_ARGS)

# everything, as CI runs it: tests/unit, tests/integration and tests/e2e (tests/README.md)
test: $(DEV_STAMP)
	$(BIN)/python -m pytest tests $(PYTEST_ARGS)

# the loop while working: no separate processes, crashes, long runs or browser
test-fast: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/unit tests/integration $(PYTEST_ARGS)

# The stateful walk at length: 5,000 steps with 100+ SIGKILLs and 50+ re-indexes.
soak: $(DEV_STAMP)
	STORYLINE_STATEFUL_STEPS=$${STORYLINE_STATEFUL_STEPS:-5000} \
		STORYLINE_STATEFUL_REPORT=bench/results/soak.json \
		$(BIN)/python -m pytest -q -s tests/e2e/test_stateful.py $(PYTEST_ARGS)

bench: $(DEV_STAMP)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

# clustering quality on ../shared/dev-data and the seed story: bench/results/quality.md,
# quality-*.json, and precision/recall-vs-threshold plots pr-report.png, pr-story.png
eval: $(DEV_STAMP)
	$(BIN)/python bench/quality.py $(EVAL_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy app engine embeddings index stories storage language evaluation childproc filetrust storyline_client

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache .mypy_cache
