#!/bin/sh
# Started by `make test` inside bloom.devservices (DATABASE_URL and REDIS_URL are set).
set -e
echo "== lint (ruff)"
python -m ruff check .
python -m ruff format --check .
echo "== layering (import-linter: the stack in pyproject.toml)"
lint-imports --no-cache
echo "== migrations are complete"
python manage.py makemigrations --check --dry-run
echo "== schema docs are current"
python manage.py schema_docs --check

# The reversibility check migrates a scratch database up, down and up again; it runs on the
# second core while pytest runs, and its verdict is printed after the tests.
mkdir -p .services
MIGRATIONS_LOG=.services/check_migrations.log
python scripts/check_migrations.py >"$MIGRATIONS_LOG" 2>&1 &
MIGRATIONS_PID=$!

echo "== tests"
status=0
python -m pytest "$@" || status=$?

echo "== migrations are reversible"
migrations_status=0
wait "$MIGRATIONS_PID" || migrations_status=$?
cat "$MIGRATIONS_LOG"
if [ "$status" -ne 0 ]; then exit "$status"; fi
exit "$migrations_status"
