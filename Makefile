# Everything starts from a bare Python 3.11+ and make: the first target that needs the
# virtual environment creates it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PIP_QUIET ?= -q

.PHONY: test lint typecheck pytest demo bench bench-plan docs fuzz clean ui-screenshots

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install $(PIP_QUIET) --upgrade pip
	$(BIN)/python -m pip install $(PIP_QUIET) -e '.[dev]'
	touch $(STAMP)

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools fuzz
	$(BIN)/ruff format --check src tests bench tools fuzz

typecheck: $(STAMP)
	$(BIN)/mypy

# s2-python 0.11.1 for the interop tests lives in its own environment (it pins websockets 13);
# the tests run interop/*.py with its interpreter and skip with a reason when it is missing.
S2PYTHON_VENV := .venv-s2python
S2PYTHON_STAMP := $(S2PYTHON_VENV)/.installed-s2python

.PHONY: interop-venv
interop-venv: $(S2PYTHON_STAMP)

$(S2PYTHON_STAMP):
	$(PYTHON) -m venv $(S2PYTHON_VENV)
	$(S2PYTHON_VENV)/bin/python -m pip install $(PIP_QUIET) 's2-python[ws]==0.11.1'
	touch $(S2PYTHON_STAMP)

pytest: $(STAMP) $(S2PYTHON_STAMP)
	$(BIN)/pytest

demo: $(STAMP)
	$(BIN)/s2ws demo

# The API reference, generated from the docstrings by pdoc into docs/api/ (not committed).
# It fails on any pdoc warning, cross-reference naming nothing, or broken link between pages.
docs: $(STAMP)
	rm -rf docs/api
	$(BIN)/python tools/api_docs.py docs/api

# The browser tests (headless Chromium from the system, see tests/web_browser_support.py) save a
# 1280x800 screenshot of each view into docs/img for docs/ui.md.
ui-screenshots: $(STAMP)
	S2WS_UI_SCREENSHOTS=docs/img $(BIN)/pytest tests/test_web_browser.py -q

# Benchmarks run in their own environment (s2ws, orjson and s2-python 0.11.1 side by side),
# so that .venv stays as the tests need it; the stamp keeps it from being reinstalled each time.
BENCH_VENV := .venv-bench
BENCH_STAMP := $(BENCH_VENV)/.installed-bench

$(BENCH_STAMP): pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install $(PIP_QUIET) --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install $(PIP_QUIET) -e . orjson 's2-python==0.11.1'
	touch $(BENCH_STAMP)

# The session benchmark also runs s2-python's WebSocket client, which needs the interop environment.
bench: $(BENCH_STAMP) $(S2PYTHON_STAMP)
	$(BENCH_VENV)/bin/python -m bench.codec --write-docs --invoked-as 'make bench'
	$(BENCH_VENV)/bin/python -m bench.session --write-docs --invoked-as 'make bench'
	$(BENCH_VENV)/bin/python -m bench.memory --write-docs --invoked-as 'make bench'

# Coverage-guided fuzzing (atheris): every target for FUZZ_SECONDS, one after the other, then a
# table of executions per second and coverage. The corpus grows in .fuzz/corpus between runs;
# a crashing input is left in .fuzz/crashes. make test runs each target for a few seconds.
FUZZ_SECONDS ?= 60

fuzz: $(STAMP)
	$(BIN)/python -m fuzz.run --all --seconds $(FUZZ_SECONDS)

EMHASS_VENV := .venv-emhass
EMHASS_STAMP := $(EMHASS_VENV)/.installed-emhass

# The planning benchmark: the reference home over simulated days under every kind of control, recorded
# in docs/planning.md. It runs in .venv (the optimiser's solver is a dependency of s2ws); EMHASS runs
# beside it in its own environment (.venv-emhass, from PyPI), made first.
bench-plan: $(STAMP) $(EMHASS_STAMP)
	$(BIN)/python -m bench.plan --write-docs --invoked-as 'make bench-plan'

.PHONY: emhass-venv
emhass-venv: $(EMHASS_STAMP)

$(EMHASS_STAMP):
	$(PYTHON) -m venv $(EMHASS_VENV)
	$(EMHASS_VENV)/bin/python -m pip install $(PIP_QUIET) emhass
	touch $(EMHASS_STAMP)

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(S2PYTHON_VENV) $(EMHASS_VENV) docs/api build dist .mypy_cache .pytest_cache .ruff_cache .hypothesis .fuzz
