#!/bin/sh
# Started by `make run` inside bloom.devservices (DATABASE_URL and REDIS_URL are set).
set -e
python manage.py migrate --noinput
python manage.py collectstatic --noinput >/dev/null
python manage.py seed_demo
echo
echo "  Bloom is starting at http://127.0.0.1:${PORT:-8000}/"
echo "  Admin: http://127.0.0.1:${PORT:-8000}/admin/   Health: http://127.0.0.1:${PORT:-8000}/healthz"
echo "  Press Ctrl-C to stop web, worker and beat."
echo
exec honcho start -f Procfile
