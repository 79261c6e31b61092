# Two commands set everything up on a fresh Debian machine with Python 3.11:
#   make run    install what is missing, then run the demo (generate a sample contest, read and grade it)
#   make test   install what is missing, then run the test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   ?= out/demo

.PHONY: install system run test bench clean

install: system $(STAMP)

system:
	@PYTHON=$(PYTHON) bash scripts/install-system.sh $(SYSTEM_EXTRA)

$(STAMP): setup.cfg pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	@touch $@

run: install
	$(BIN)/omr demo --out $(DEMO)

test: SYSTEM_EXTRA = postgresql chromium
test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python -m bench.read_bench

clean:
	rm -rf $(VENV) out .pytest_cache
