# The commands the README names. Python 3.11+ is the only prerequisite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test serve install install-test lint format migrate clean bench leakcheck

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamp files: reinstall only when the dependency list changes.
$(VENV)/.installed: pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(PY)
	$(PIP) install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

migrate: install
	mkdir -p var
	$(PY) manage.py migrate --noinput

## make demo: install, migrate SQLite under var/, load the demo workspace, serve on :8000
## (with the background worker that sends e-mail; they print to this terminal)
demo: migrate
	$(PY) manage.py demo
	@echo ""
	@echo "Jobline is running at http://$(HOST):$(PORT)/  (Ctrl+C stops it; e-mails print here)"
	$(PY) manage.py db_worker --no-startup-delay & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	JOBLINE_BASE_URL=http://$(HOST):$(PORT) $(PY) manage.py runserver $(HOST):$(PORT)

## make test: install test dependencies and run the whole suite
test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

## make serve: gunicorn + whitenoise + the task worker, with production settings (set DJANGO_SECRET_KEY, ALLOWED_HOSTS)
serve: install
	JOBLINE_ENV=production $(PY) manage.py collectstatic --noinput
	JOBLINE_ENV=production $(PY) manage.py migrate --noinput
	JOBLINE_ENV=production $(PY) manage.py db_worker & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	JOBLINE_ENV=production $(VENV)/bin/gunicorn jobline.wsgi --bind $(HOST):$(PORT) --workers 3

## make bench: generate (once) 100,000 jobs and 1,000,000 feed entries on PostgreSQL and SQLite,
## then time the board, list, search, job page and a move. Knobs: BENCH_BACKENDS=postgres,sqlite,
## BENCH_RUNS=30, BENCH_RESET=1 (regenerate), BENCH_ONLY=board,move, BENCH_EXPLAIN=1 (bench/README.md)
bench: install
	$(PY) -m bench

## make leakcheck: the portal visibility property test with 10,000 random jobs
leakcheck: install-test
	LEAKCHECK_EXAMPLES=$${LEAKCHECK_EXAMPLES:-10000} $(PY) -m pytest -q -p no:randomly \
		tests/portal/test_visibility_property.py

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var/static
