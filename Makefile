# Every target creates the virtual environment and installs what it needs, so a fresh clone
# needs nothing but Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev
PYTEST_ARGS ?=
# Two pytest-xdist workers: half the suite's time is spent waiting (service subprocesses
# starting, the crash loops' kills, PostgreSQL), which the other worker fills. TEST_WORKERS=0
# runs everything in one process.
TEST_WORKERS ?= 2

.PHONY: install demo test test-fast lint bench clean system-packages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/wirewatch demo

# OCR reads images with the distribution's Tesseract and its Ukrainian, Russian and English data;
# the tests render Cyrillic with DejaVu. Installed when missing (apt-get, as root); when that is
# not possible the OCR tests skip and pytest's summary says why. PostgreSQL: the storage and
# end-to-end tests also run on it (tests/pg.py starts a throwaway server); without it they skip
# and say why.
APT_PACKAGES := tesseract-ocr tesseract-ocr-ukr tesseract-ocr-rus tesseract-ocr-eng fonts-dejavu-core \
	postgresql

system-packages:
	@missing=""; \
	for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing system packages:$$missing"; \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing >/dev/null ) \
		|| echo "WARNING: could not install$$missing; OCR or PostgreSQL tests will be skipped"; \
	else \
		echo "WARNING: missing system packages:$$missing (run as root with apt-get, or install" \
			"them); OCR or PostgreSQL tests will be skipped"; \
	fi

test: $(STAMP) system-packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) $(PYTEST_ARGS)

# The inner loop: everything but the long end-to-end scenarios (crash loops, 10k imports).
test-fast: $(STAMP) system-packages
	$(BIN)/python -m pytest -n $(TEST_WORKERS) -m "not slow" $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m bot.i18n check

# Every benchmark at its --quick size (under 15 minutes on 2 cores), its output kept in
# var/bench/bench.txt, and the README's figures table rewritten from that output. Full sizes:
# run a benchmark without --quick (see README, Benchmarks).
BENCHES := import_search matching alerts memory startup drafts capture
bench: $(STAMP)
	@mkdir -p var/bench
	@bash -o pipefail -c 'echo "BENCH-RUN| $$(date -u +%Y-%m-%d), commit $$(git rev-parse --short HEAD 2>/dev/null || echo unknown), $$(nproc) cores, load $$(cut -d" " -f1 /proc/loadavg), command: make bench" | tee var/bench/bench.txt; \
	  for b in $(BENCHES); do echo "== bench/$$b.py --quick"; $(BIN)/python bench/$$b.py --quick || exit $$?; done 2>&1 | tee -a var/bench/bench.txt'
	$(BIN)/python bench/report.py var/bench/bench.txt README.md

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
