# Two commands from a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# llama.cpp is compiled portably: a -march=native build crashes on some AVX-512/AMX hosts and
# would not run on another machine anyway.
export CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test lint typecheck unit bench bench-detection clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $(VENV)/.installed $@

run: $(VENV)/.installed
	$(BIN)/zonegate serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest --cov --cov-report=term:skip-covered

test: lint typecheck unit

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/overhead.py

bench-detection: $(VENV)/.installed-dev
	$(BIN)/pip install -q -e '.[bench]'
	PYTHONHASHSEED=0 $(BIN)/python benchmarks/detection.py
	$(BIN)/python benchmarks/detection_cost.py

clean:
	rm -rf $(VENV) build .mypy_cache .pytest_cache .ruff_cache .coverage
