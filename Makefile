# Two commands do everything: `make run` and `make test`.
SHELL := /bin/bash
PORT ?= 8000
VENV := .venv
BIN := $(VENV)/bin
# The Python named by .python-version (3.12), found through pyenv when it is there.
PYTHON ?= $(shell pyenv which python3.12 2>/dev/null || command -v python3.12 || command -v python3)

.PHONY: run test bench lint chromium clean

$(BIN)/activate: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/activate

run: $(BIN)/activate
	SANDBOX_ENABLED=1 $(BIN)/python manage.py migrate --no-input -v 0
	SANDBOX_ENABLED=1 $(BIN)/python manage.py provision --demo
	SANDBOX_ENABLED=1 PORT=$(PORT) $(BIN)/python manage.py runstudio --port $(PORT)

# Browser tests drive Debian's Chromium; no tool downloads a browser of its own.
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

test: $(BIN)/activate chromium
	$(BIN)/ruff check .
	$(BIN)/mypy studio
	$(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks print their figures against a baseline measured in the same run, each on a
# throw-away database: PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set (see
# bench/common.py). BENCH_ARGS (say --quick, or --runs 3) goes to the scripts that take it.
BENCH_SCRIPTS := live_progress live_progress_rate live_completed submit_to_grid \
	webhook_throughput result_ingest submit_queue gallery_first_page fanout_sockets budget_holds
bench: $(BIN)/activate
	$(BIN)/python bench/webhook_receiver.py
	$(BIN)/python bench/gallery_pages.py
	$(BIN)/python bench/provider_outage.py
	$(BIN)/python bench/video_poster.py
	set -e; for script in $(BENCH_SCRIPTS); do $(BIN)/python bench/$$script.py $(BENCH_ARGS); done

lint: $(BIN)/activate
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy studio

clean:
	rm -rf $(VENV) var staticfiles
