"""What the Django benchmarks in this folder share: Django setup, timing, report lines, scratch database.

Importing this module sets Django up (with bloom.settings.test unless DJANGO_SETTINGS_MODULE
says otherwise), so a bench script imports it before any Django model or project module:

    from support import alternating, minimal, ...

    # isort: split
    from django.conf import settings
from django.contrib.auth.decorators import login_not_required
    from appointments.models import ...

The scripts run as `python bench/bench_<name>.py`, which puts this folder first on sys.path,
so `support` is importable as a top-level module from `make bench` and from direct runs alike.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import django
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.test.utils import setup_test_environment
from django.urls import clear_url_caches

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bloom.settings.test")
django.setup()

LABEL_WIDTH = 64


def minimal(request):
    """The baseline page: a view that does nothing, served through the same middleware and client."""
    return HttpResponse("ok")


minimal.login_required = False  # as @login_not_required marks it: LoginRequiredMiddleware would redirect


def alternating(
    baseline: Callable[[int], object], measured: Callable[[int], object], rounds: int
) -> tuple[float, float, float]:
    """Time `baseline(i)` and `measured(i)` for i in range(rounds), alternating which goes first
    (baseline, measured, measured, baseline, ...) so that load on the machine weighs on both alike.

    Returns the baseline's and the measured callable's median in ms, and the measured
    callable's total time in seconds (for a throughput)."""
    base, meas = [], []
    for i in range(rounds):
        for fn, out in ((baseline, base), (measured, meas)) if i % 2 == 0 else ((measured, meas), (baseline, base)):
            start = time.perf_counter()
            fn(i)
            out.append(time.perf_counter() - start)
    return statistics.median(base) * 1000, statistics.median(meas) * 1000, sum(meas)


def _figure(figure: float | str, stat: str) -> str:
    """A time in ms as `<stat> <ms> ms` (e.g. `median    1.23 ms`); a string is taken as already formatted."""
    return figure if isinstance(figure, str) else f"{stat:<6} {figure:7.2f} ms"


def baseline_line(label: str, figure: float | str, stat: str = "median") -> str:
    """Report line of a baseline: `baseline: <label>` and its figure, a time in ms of the kind
    `stat` names (median, mean) or a preformatted figure such as a rate."""
    return f"{'baseline: ' + label:<{LABEL_WIDTH}} {_figure(figure, stat)}"


def page_target() -> float:
    """Issue 18 point 2's target for a member page: within 3x a minimal logged-in view at demo
    size, 4x among 100x the demo's rows (`BENCH_SCALE_TEMPLATE` set)."""
    return 4.0 if os.environ.get("BENCH_SCALE_TEMPLATE") else 3.0


def verdict(ratio: float, target: float) -> str:
    """`target <= 2.0x PASS` (or MISS): how a ratio to its baseline stands against its target."""
    return f"target <= {target:.2f}x {'PASS' if ratio <= target else 'MISS'}"


def ratio_line(
    label: str,
    figure: float | str,
    ratio: float,
    base_name: str,
    extra: str = "",
    stat: str = "median",
    target: float | None = None,
) -> str:
    """Report line of a measured figure (as in `baseline_line`), then `ratio` as a multiple of the
    baseline called `base_name`, then `extra` as given, then with `target` the `verdict`."""
    if target is None:
        return f"{label:<{LABEL_WIDTH}} {_figure(figure, stat)} = {ratio:5.1f}x {base_name}{extra}"
    return (
        f"{label:<{LABEL_WIDTH}} {_figure(figure, stat)} = {ratio:5.2f}x {base_name}{extra}  {verdict(ratio, target)}"
    )


def setup_environment(urlconf: str) -> None:
    """Set up Django's test environment (for the test Client) with `urlconf` as ROOT_URLCONF."""
    setup_test_environment()
    settings.ROOT_URLCONF = urlconf
    clear_url_caches()


@contextmanager
def scratch_database(suffix: str) -> Iterator[None]:
    """Create a scratch database for the body, migrated from scratch (or copied from the
    seeded `BENCH_SCALE_TEMPLATE`), and drop it afterwards.

    It is named after DATABASE_URL's with `_<suffix>` added, so benches can run side by side.
    Commits skip waiting for the WAL flush (synchronous_commit=off): baseline and measured
    paths commit alike, and disk contention from other processes would otherwise swamp the figures.
    """
    database = settings.DATABASES["default"]  # the dict `connection.settings_dict` is
    database.setdefault("TEST", {})["NAME"] = f"{database['NAME']}_{suffix}"
    options = database.setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()
    # `BENCH_SCALE=N make bench` seeds one database with `seed_scale` and names it here: each
    # scratch database starts as a copy of it (docs/bench.md). Copying needs nobody connected to
    # it, and serialising millions of rows (which no bench reads back) would take longer than the bench.
    template = os.environ.get("BENCH_SCALE_TEMPLATE", "")
    if template:
        database["TEST"]["TEMPLATE"] = template
        connection.close()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False, serialize=not template)
    try:
        yield
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)


def print_sections(*sections: Callable[[], list[str]]) -> None:
    """Run each section in turn and print its report lines as they come."""
    for section in sections:
        for line in section():
            print(line, flush=True)


def calendly_signature(raw: bytes) -> str:
    """A `Calendly-Webhook-Signature` header for `raw`, signed now with the configured key
    (Calendly's scheme: `t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>">`)."""
    import hashlib
    import hmac

    stamp = int(time.time())
    key = settings.CALENDLY_WEBHOOK_SIGNING_KEY.encode()
    return f"t={stamp},v1={hmac.new(key, f'{stamp}.'.encode() + raw, hashlib.sha256).hexdigest()}"
