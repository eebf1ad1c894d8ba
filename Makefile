# Every target sets up what it needs itself: a fresh clone on a fresh machine needs nothing else.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: demo test lint typecheck pytest lab bench chromium clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	rm -f $(VENV)/.installed-* && touch $@

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/triggerlab demo

# Debian's Chromium for the browser tests (never `playwright install`: no outside network).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

lint: $(STAMP)
	$(BIN)/ruff check toolkit tests benchmarks
	$(BIN)/ruff format --check toolkit tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# the test suite, then every notebook executed by nbval (cells marked NBVAL_CHECK_OUTPUT compared)
pytest: $(STAMP) chromium
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest --nbval-lax --nbval-sanitize-with notebooks/sanitize.cfg \
	  --nbval-current-env -p no:cacheprovider notebooks

test: lint typecheck pytest

# JupyterLab refuses to run as root without --allow-root (containers, CI machines)
lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=notebooks $(if $(filter 0,$(shell id -u)),--allow-root)

# the benchmarks, after the engines' differential test on 2,000 scenarios (make test runs 300)
DIFF_EXAMPLES ?= 2000
bench: $(STAMP)
	TRIGGERLAB_DIFF_EXAMPLES=$(DIFF_EXAMPLES) $(BIN)/python -m pytest -q -p no:cacheprovider \
	  tests/test_engine_differential.py
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis tests/artifacts
