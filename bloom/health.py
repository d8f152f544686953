"""GET /healthz: database, broker, worker and migrations, as JSON. Never a 500."""

from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _check_database() -> dict:
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT 1")
        return {"status": "up"}
    except Exception as exc:  # noqa: BLE001  (a health check reports any failure; never a 500)
        return {"status": "down", "error": type(exc).__name__}


def _check_migrations() -> dict:
    try:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        return {"status": "up" if not plan else "pending", "pending": len(plan)}
    except Exception as exc:  # noqa: BLE001  (a health check reports any failure; never a 500)
        return {"status": "unknown", "error": type(exc).__name__}


def _check_broker() -> dict:
    from bloom.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0, timeout=1)
        return {"status": "up"}
    except Exception as exc:  # noqa: BLE001  (a health check reports any failure; never a 500)
        return {"status": "down", "error": type(exc).__name__}


def _check_worker() -> dict:
    from bloom.celery import app

    try:
        replies = app.control.ping(timeout=0.5)
        return {"status": "up" if replies else "down", "workers": len(replies)}
    except Exception as exc:  # noqa: BLE001  (a health check reports any failure; never a 500)
        return {"status": "down", "error": type(exc).__name__}


@login_not_required
@never_cache
@require_GET
def healthz(request):
    database = _check_database()
    checks = {
        "database": database,
        "migrations": _check_migrations() if database["status"] == "up" else {"status": "unknown"},
        "broker": _check_broker(),
    }
    checks["worker"] = _check_worker() if checks["broker"]["status"] == "up" else {"status": "down"}
    status = 200 if database["status"] == "up" else 503
    return JsonResponse({"status": "ok" if status == 200 else "unavailable", "checks": checks}, status=status)
