"""gunicorn's configuration for the web process (deploy/Procfile, docs/deploy.md).

    gunicorn --config bloom/gunicorn_conf.py

Every value can be overridden from the environment, so one file serves a 2-core VM and a
16-core host. DJANGO_SETTINGS_MODULE must be set (bloom.wsgi refuses to guess).
"""

import os


def usable_cores() -> int:
    """The cores this process may run on (cpuset-aware), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def default_workers(cores: int, ceiling: int) -> int:
    """gunicorn's usual 2 x cores + 1 worker processes, capped so a big host does not open more
    database connections than PostgreSQL allows (each process has its own pool, docs/adr/0006)."""
    return max(2, min(2 * cores + 1, ceiling))


wsgi_app = "bloom.wsgi:application"
proc_name = "bloom-web"
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# WEB_CONCURRENCY is the variable hosting platforms set; it wins over the core count.
workers = int(
    os.environ.get("WEB_CONCURRENCY")
    or default_workers(usable_cores(), int(os.environ.get("GUNICORN_MAX_WORKERS", "12")))
)
# Threads share a worker's psycopg pool (BLOOM_DB_POOL_MAX_SIZE, 10 by default), so keep
# threads below it: at most workers x threads connections are busy at once.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
# A worker is replaced after this many requests (jittered so they do not all restart at once).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "1000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "100"))
# Each worker imports the app itself: a pool opened before fork would be shared by every worker.
preload_app = False
# The heartbeat file on tmpfs, so a slow disk never gets a healthy worker killed.
_SHM = "/dev/shm"  # noqa: S108 (a directory gunicorn creates its own private file in)
worker_tmp_dir = _SHM if os.path.isdir(_SHM) else None
# Only the proxy in front may set X-Forwarded-Proto (SECURE_PROXY_SSL_HEADER in prod settings).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
# No access log: its lines carry query strings (tokens, addresses). Bloom logs one structured
# line per request itself, with a request id and no personal data (docs/adr/0152).
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
