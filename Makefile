# The first target run on a fresh machine creates .venv and installs everything
# (ffmpeg comes from the imageio-ffmpeg package: no system install).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: all install test lint demo videos bench clean review browser

all: test

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The browser tests drive Debian's chromium (browser downloads are not reachable): as root
# (CI) it is installed with apt-get when missing; otherwise the tests say how to get it.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  echo "installing chromium (Debian package) for the browser tests"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	    || { echo "error: could not install chromium with apt-get" >&2; exit 1; }; \
	else echo "note: $(CHROMIUM) missing; the browser tests will skip (sudo apt-get install chromium)"; fi

# pytest exits 5 when nothing was collected (e.g. an empty -k selection): not a failure.
test: $(STAMP) browser
	$(PY) -m pytest -q $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest: no tests selected"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(PY) -m ruff check pipeline tests benchmarks
	$(PY) -m mypy pipeline

review: $(STAMP)
	$(PY) -m pipeline review $(if $(PORT),--port $(PORT))

demo: $(STAMP)
	$(PY) -m pipeline demo
	$(PY) -m pipeline build

videos: $(STAMP)
	$(PY) -m pipeline build

bench: $(STAMP)
	$(PY) -m benchmarks

clean:
	rm -rf output .cache
