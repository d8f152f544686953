"""Finding what each local app declares in a module of a conventional name (ARCHITECTURE.md).

`orphans.py`, `retention.py`, `schedule.py` and `demo.py` are optional per app; the project
package reads them here instead of importing domain apps by name.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from django.conf import settings


def local_app_modules(name: str) -> list[tuple[str, ModuleType]]:
    """(app label, module) for every local app, in LOCAL_APPS order, that has `<app>/<name>.py`."""
    found = []
    for label in settings.LOCAL_APPS:
        try:
            module = importlib.import_module(f"{label}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{label}.{name}":
                raise  # the module exists but imports something missing
            continue
        found.append((label, module))
    return found
