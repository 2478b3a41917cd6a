# The commands the README names. Python 3.11+ is the only prerequisite.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo test serve install install-test lint format migrate clean bench leakcheck drill

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
## (with the background worker that sends e-mail and the scheduler; they print here)
demo: migrate
	$(PY) manage.py demo
	@echo ""
	@echo "Jobline is running at http://$(HOST):$(PORT)/  (Ctrl+C stops it; e-mails print here)"
	$(PY) manage.py run_worker & worker=$$!; \
	$(PY) manage.py run_scheduler & scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
	JOBLINE_BASE_URL=http://$(HOST):$(PORT) $(PY) manage.py runserver $(HOST):$(PORT)

## make test: install test dependencies and run the whole suite
test: install-test
	$(PY) -m pytest $(PYTEST_ARGS)

## make serve: gunicorn + whitenoise, the worker and the scheduler, with production settings
## (set DJANGO_SECRET_KEY, ALLOWED_HOSTS); the same three processes as docs/deploy.md's units
serve: install
	JOBLINE_ENV=production $(PY) manage.py collectstatic --noinput
	JOBLINE_ENV=production $(PY) manage.py migrate --noinput
	JOBLINE_ENV=production $(PY) manage.py run_worker & worker=$$!; \
	JOBLINE_ENV=production $(PY) manage.py run_scheduler & scheduler=$$!; \
	trap 'kill $$worker $$scheduler 2>/dev/null' EXIT INT TERM; \
	JOBLINE_ENV=production $(VENV)/bin/gunicorn jobline.wsgi --bind $(HOST):$(PORT) --workers 3

## make bench: generate (once) 100,000 jobs, 1,000,000 feed entries, bookings and quotes on
## PostgreSQL and SQLite, then time the board, list, search, job page, a move, the calendar
## week, a job's visits, a staff feed and the quote list, in-process and over HTTP through
## gunicorn (demo size and 100k). Knobs: BENCH_MODE=inprocess|http|both, BENCH_SIZES=demo,100k,
## BENCH_BACKENDS=postgres,sqlite, BENCH_RUNS=30, BENCH_ONLY=board,move, BENCH_COMPARE=<checkout>,
## BENCH_CACHE_URL=redis://…, BENCH_RESET=1, BENCH_EXPLAIN=1 (bench/README.md)
bench: install
	$(PY) -m bench

## make drill: the operations drill on PostgreSQL (as root): 50 users for 5 minutes through
## gunicorn, a PostgreSQL restart, a worker kill -9, a full tmpfs, a backup restored
## (bench/README.md). Knobs: DRILL_SECONDS=300, DRILL_USERS=50
drill: install-test
	$(PY) -m bench.drill

## make leakcheck: the visibility oracle (the written rules, modelled in the test) on 10,000
## random job histories. One rule or facet alone: make leakcheck LEAKCHECK_RULES=R4,S1/staff-preview
leakcheck: install-test
	LEAKCHECK_EXAMPLES=$${LEAKCHECK_EXAMPLES:-10000} LEAKCHECK_RULES=$${LEAKCHECK_RULES:-} \
		$(PY) -m pytest -q -p no:randomly --hypothesis-show-statistics \
		tests/portal/test_visibility_oracle.py

## make lint: ruff, ruff format and the apps' import layers (pyproject.toml [tool.importlinter])
lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean:
	rm -rf $(VENV) var/static
