#!/bin/sh
# Started by `make test` inside bloom.devservices (DATABASE_URL and REDIS_URL are set).
set -e
python -m ruff check .
python -m ruff format --check .
python manage.py makemigrations --check --dry-run
python -m pytest "$@"
