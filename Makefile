# Two commands on a fresh machine with only Python 3.11: `make run` and `make test`.
# Both resolve PostgreSQL and Redis through bloom.devservices (docs/adr/0002).

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SERVICES := $(PY) -m bloom.devservices
PORT ?= 8000

.PHONY: run test install browser lint format bench seed-scale check clean prod-check multihost

$(PY):
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

install: $(STAMP)

# Debian's chromium for the Playwright browser journeys (skipped where apt is unavailable).
browser:
	@if command -v chromium >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = "0" ]; then \
		echo "Installing Debian's chromium for browser tests..."; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed; browser tests will be skipped"; \
	else echo "chromium not found and apt-get unavailable; browser tests will be skipped"; fi

run: install
	@DJANGO_SETTINGS_MODULE=bloom.settings.dev PORT=$(PORT) BLOOM_SITE_URL=$${BLOOM_SITE_URL:-http://127.0.0.1:$(PORT)} PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(SERVICES) --db-name bloom -- sh scripts/run.sh

test: install browser
	@DJANGO_SETTINGS_MODULE=bloom.settings.test PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(SERVICES) --db-name bloom -- sh scripts/test.sh $(ARGS)

# `make bench BENCH_SCALE=100` runs the benches on a practice 100x the demo (docs/bench.md).
bench: install
	@DJANGO_SETTINGS_MODULE=bloom.settings.test BENCH_SCALE=$(BENCH_SCALE) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(SERVICES) --db-name bloom_bench -- sh scripts/bench.sh

# `make seed-scale FACTOR=100 [ARGS="--only members,emails --dry-run"]`: top `make run`'s database
# up to FACTOR times the demo (manage.py seed_scale; idempotent; docs/bench.md).
FACTOR ?= 1
seed-scale: install
	@DJANGO_SETTINGS_MODULE=bloom.settings.dev PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(SERVICES) --db-name bloom -- python manage.py seed_scale --factor $(FACTOR) $(ARGS)

# Production settings under gunicorn with generated secrets: /healthz, portal, login, admin, static (docs/deploy.md).
prod-check: install
	@PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(SERVICES) --db-name bloom_prodcheck -- python scripts/prod_check.py

# Three worker hosts (network namespaces) drain 10,000 emails and 3,000 Stripe events through a
# SIGKILL and a 30 s network cut in a database of its own; root only, skips otherwise (docs/operations.md).
multihost: install
	@DJANGO_SETTINGS_MODULE=bench.settings_multihost PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(SERVICES) --db-name postgres -- python bench/multihost.py $(ARGS)

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf $(VENV) .services staticfiles .pytest_cache
