# The two commands of the README, and a few more. Everything runs in ./.venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench install serve worker beat clean

run: install .env  ## set up and run on the embedded default (SQLite, eager tasks, console email)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# This checkout's development settings: DEBUG on and a random secret key, so that every manage.py
# command works here. Delete .env to go back to the production defaults.
.env:
	printf 'DEBUG=1\nSECRET_KEY=%s\n' "$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > $@

test: install  ## the whole suite, on PostgreSQL (DATABASE_URL, default the local server)
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

bench: install  ## timings and memory of the heavy paths, written to docs/benchmarks.md (not a test)
	$(BIN)/python -m bench

install: $(VENV)/.installed node_modules/.package-lock.json

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# axe-core, which the browser tests run on every page they screenshot (package-lock.json pins it).
node_modules/.package-lock.json: package.json package-lock.json
	if command -v npm >/dev/null; then npm ci --no-audit --no-fund; \
	else echo 'npm not found: the app runs, but the browser tests need Node.js and npm (then: npm ci)'; fi

serve: install  ## gunicorn, as in production (needs SECRET_KEY and collected static files)
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/gunicorn config.wsgi --bind 127.0.0.1:8000 --workers 3

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var
