# Every target works from a fresh clone: each installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNELS := $(VENV)/.kernels
DATA   ?= demo-data

.PHONY: setup system-deps test lint demo bench clean

setup: $(STAMP) $(KERNELS)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Compile the audit's numba kernels into their on-disk cache once (~30 s), so a cold
# `commons audit` starts in well under a second.
$(KERNELS): $(STAMP) audit/_fastkernels.py audit/_fastjoin.py audit/fast.py
	$(PY) -m audit.fast
	touch $(KERNELS)

system-deps:
	scripts/install-system-deps.sh

test: setup system-deps
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy commons crawler audit pipelines bench

demo: setup system-deps
	$(PY) scripts/demo.py --workdir $(DATA)

bench: setup
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache
