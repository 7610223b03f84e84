# The two commands of the README, and a few more. Everything runs in ./.venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEV := DEBUG=1

.PHONY: run test lint install serve worker beat clean

run: install  ## set up and run on the embedded default (SQLite, eager tasks, console email)
	$(DEV) $(BIN)/python manage.py migrate --noinput
	$(DEV) $(BIN)/python manage.py seed_demo
	$(DEV) $(BIN)/python manage.py runserver 127.0.0.1:8000

test: install  ## the whole suite, on PostgreSQL (DATABASE_URL, default the local server)
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

serve: install  ## gunicorn, as in production (needs SECRET_KEY and collected static files)
	$(BIN)/python manage.py collectstatic --noinput
	$(BIN)/gunicorn config.wsgi --bind 127.0.0.1:8000 --workers 3

worker: install
	$(BIN)/celery -A config worker --loglevel=INFO

beat: install
	$(BIN)/celery -A config beat --loglevel=INFO --schedule var/celerybeat-schedule

clean:
	rm -rf $(VENV) var
