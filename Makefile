# The first target run on a fresh machine creates .venv and installs everything
# (ffmpeg comes from the imageio-ffmpeg package: no system install).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: all install test lint demo videos bench clean

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# pytest exits 5 when nothing was collected (e.g. an empty -k selection): not a failure.
test: $(STAMP)
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests selected"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(PY) -m ruff check pipeline tests benchmarks
	$(PY) -m mypy pipeline

demo: $(STAMP)
	$(PY) -m pipeline demo
	$(PY) -m pipeline build

videos: $(STAMP)
	$(PY) -m pipeline build

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf output .cache
