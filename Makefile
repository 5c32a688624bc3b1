# Every target works from a fresh clone: each installs what it needs.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
KERNELS := $(VENV)/.kernels
# datatrove, a peer of `make bench`, lives in its own venv: it pins xxhash<4 and brings spaCy.
DATATROVE_VENV := .venv-datatrove
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
$(KERNELS): $(STAMP) audit/signing/_kernels.py audit/index/_kernels.py \
		audit/match/_kernels.py audit/kernels.py
	$(PY) -m audit.kernels
	touch $(KERNELS)

system-deps:
	scripts/install-system-deps.sh

test: setup system-deps
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy commons crawler audit pipelines bench scripts
	$(PY) scripts/check_layout.py

demo: setup system-deps
	$(PY) scripts/demo.py --workdir $(DATA)

bench: setup $(DATATROVE_VENV)/.installed
	$(PY) -m pip install -q -e '.[dev,bench]'
	$(PY) -m bench.run $(BENCH_ARGS)

# Best effort: without it the bench reports datatrove as not run, and says why.
$(DATATROVE_VENV)/.installed:
	( test -x $(DATATROVE_VENV)/bin/python || $(PYTHON) -m venv $(DATATROVE_VENV) ) && \
	$(DATATROVE_VENV)/bin/pip install -q 'datatrove[processing]>=0.4' 'spacy>=3.7' pyarrow numpy && \
	touch $@ || echo "datatrove's venv could not be installed; the bench reports it as not run"

clean:
	rm -rf $(VENV) $(DATATROVE_VENV) $(DATA) .pytest_cache .mypy_cache .ruff_cache
