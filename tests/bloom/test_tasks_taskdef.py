"""Every task is declared one way: `bloom.taskdef.task`, named `<app>.<function>`, a named retry policy."""

import re
from pathlib import Path

import pytest

from bloom.discovery import local_app_modules
from bloom.taskdef import BACKOFF, MAX_ATTEMPTS, NO_RETRY, task, task_name
from tests.conftest import BASE_DIR

pytestmark = pytest.mark.django_db  # importing every tasks module runs app code that may read settings rows

LOCAL_APPS = ("accounts", "appointments", "billing", "bloom", "content", "courses", "notifications", "workshops")


def _local_tasks():
    from bloom.celery import app

    app.loader.import_default_modules()
    local_app_modules("tasks")
    import bloom.tasks  # noqa: F401  (bloom is not in LOCAL_APPS)

    return {
        name: t for name, t in app.tasks.items() if t.__module__.split(".", 1)[0] in LOCAL_APPS and name != "bloom.ping"
    }


def test_every_local_task_is_named_after_its_app_and_function():
    tasks = _local_tasks()
    assert len(tasks) >= 20, sorted(tasks)
    wrong = {name: t.run.__name__ for name, t in tasks.items() if name != task_name(t.run)}
    assert not wrong


def test_every_local_task_has_one_of_the_named_retry_policies():
    for name, t in _local_tasks().items():
        if getattr(t, "autoretry_for", None):
            assert tuple(t.autoretry_for) == BACKOFF.options["autoretry_for"], name
            assert t.max_retries == MAX_ATTEMPTS, name
            assert t.retry_backoff == BACKOFF.options["retry_backoff"], name
            assert t.retry_jitter is True, name
        else:
            assert not getattr(t, "retry_backoff", False), name


def test_no_app_declares_a_task_around_the_helper():
    offenders = []
    for app_label in LOCAL_APPS:
        for path in Path(BASE_DIR, app_label).rglob("*.py"):
            if "migrations" in path.parts or path.name in {"taskdef.py", "celery.py"}:
                continue
            if re.search(r"@(shared_task|app\.task)\b", path.read_text()):
                offenders.append(str(path.relative_to(BASE_DIR)))
    assert offenders == []


def test_the_helper_refuses_its_own_names_and_retry_settings():
    with pytest.raises(TypeError):
        task(name="custom")
    with pytest.raises(TypeError):
        task(max_retries=3)
    with pytest.raises(ValueError):
        task(retry=object())
    assert NO_RETRY.options == {}
