# Two commands a new machine needs: `make run` (set up, seed a demo, serve the dashboard)
# and `make test` (set up, run the whole suite). Everything else here supports those two.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
DATA ?= data
PORT ?= 8501

.PHONY: run test check test-fast lint format typecheck bench demo browser clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installed marker: re-install only when the dependencies change.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[fast]"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[fast,dev,train,cluster,storage]"
	touch $@

run: $(VENV)/.installed
	@if [ -z "$$(ls $(DATA)/runs/*/run.parquet 2>/dev/null)" ]; then \
		echo "No runs in $(DATA)/: seeding a demo with the embedded player (about a minute)"; \
		$(BIN)/automem demo --data $(DATA) || exit $$?; \
	fi
	@echo "Dashboard: http://localhost:$(PORT)"
	AUTOMEM_DATA=$(DATA) $(BIN)/streamlit run dashboard/app.py \
		--server.address 127.0.0.1 --server.port $(PORT) --server.headless true

demo: $(VENV)/.installed
	$(BIN)/automem demo --data $(DATA)

# Debian's Chromium for the browser tests (a downloaded browser build is not used).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "Installing Debian's chromium for the browser tests"; \
		(apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || \
		echo "warning: could not install chromium (needs root); the browser test will not run"; }

# The whole suite, after the checks the pre-commit config suggests (CI enforces them here).
test: $(VENV)/.installed-dev browser check
	$(BIN)/python -m pytest -q

check: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy automem_core dashboard

test-fast: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy automem_core dashboard

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/storage.py
	$(BIN)/python benchmarks/engine_overhead.py
	$(BIN)/python benchmarks/concurrency.py
	$(BIN)/python benchmarks/dashboard.py
	$(BIN)/python benchmarks/cli_startup.py
	$(BIN)/python benchmarks/labelling_browser.py
	$(BIN)/python benchmarks/compare_browser.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
