# Two commands set everything up on a fresh Debian machine with Python 3.11:
#   make run    install what is missing, then run the demo (generate a sample contest, read and grade it)
#   make test   install what is missing, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= out/demo
TEST_WORKERS ?= auto

.PHONY: install system run test test-fast bench clean

install: system $(STAMP)

system:
	@PYTHON=$(PYTHON) bash scripts/install-system.sh $(SYSTEM_EXTRA)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

run: install
	$(BIN)/omr demo --out $(DEMO)

# the suite runs on every core (pytest-xdist, one test file per worker: module fixtures such as a live server are
# started once per file); ruff first, so that a lint error fails fast
test: SYSTEM_EXTRA = postgresql chromium dovecot-imapd openssl
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# the same without the end-to-end tests marked slow (a few seconds each): a quick check while editing
test-fast: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow"

bench: install
	$(BIN)/python -m bench.read_bench

clean:
	rm -rf $(VENV) out .pytest_cache
