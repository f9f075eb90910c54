# Huikuan — two commands for a fresh machine:
#   make demo   set up, load demo data and serve the web UI on http://127.0.0.1:8000
#   make test   run the whole test suite (SQLite, then PostgreSQL when reachable)

VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install lint serve

$(STAMP): pyproject.toml
	@test -x $(PY) || "$$(scripts/find-python)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/huikuan demo

serve: $(STAMP)
	$(VENV)/bin/huikuan serve

test: $(STAMP)
	scripts/run-tests

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
