"""Member pages benchmark (issue 18 point 2): every member page against a minimal logged-in view.

For each page pinned in tests/bloom/test_views_query_counts.py it prints the query count and
the median time as a ratio to a minimal view served through the same middleware and client,
timed alternately with it (bench/support.py `alternating`), with the target and PASS/MISS:
at most 10 queries, and within 3x the minimal view at demo size or 4x at `BENCH_SCALE` (the
member's own rows are the query test's history, grown once; at scale they sit among the
seeded practice's rows). The course page is measured again at 500 lessons.

Creates and drops its own scratch database (bench/support.py), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_member_pages.py
    make bench BENCH_SCALE=100   # the same among 100x the demo's rows (docs/bench.md)
"""

from __future__ import annotations

import os

from bench_courses import _course, _enroll
from support import alternating, minimal, page_target, print_sections, scratch_database, setup_environment

# isort: split
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path, reverse

ROUNDS = 40
WARMUP = 3
MAX_QUERIES = 10

urlpatterns = [path("bench/minimal/", minimal), path("", include("bloom.urls"))]


def _big_course(member):
    """A course of 500 lessons in 20 modules (bench_courses' shape), `member` enrolled, one lesson done."""
    course = _course(500, lessons=500, modules=20)
    _enroll(member, course)
    return course


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(ctx.captured_queries)


def run() -> list[str]:
    from tests.bloom.test_views_query_counts import PINNED, _grow, _history

    print("building a member's history (the query-count test's, grown once) ...", flush=True)
    history = _history()
    _grow(history)
    big = _big_course(history.member)
    client = Client()
    client.force_login(history.member)
    pages = [(name, reverse(name, kwargs=kwargs_for(history))) for name, (kwargs_for, _) in sorted(PINNED.items())]
    pages = [(name, url) for name, url in pages if name != "accounts:onboarding"]  # only before onboarding ends
    pages.append(("courses:course_detail (500 lessons)", reverse("courses:course_detail", kwargs={"slug": big.slug})))
    target = page_target()
    scale = os.environ.get("BENCH_SCALE_TEMPLATE", "") or "demo size"
    lines = [f"member pages at {scale}: target <= {MAX_QUERIES} queries and <= {target:.0f}x the minimal view"]
    missed = []
    for name, url in pages:
        for _ in range(WARMUP):
            client.get(url)
            client.get("/bench/minimal/")
        queries = _queries(client, url)
        base, median, _ = alternating(lambda i: client.get("/bench/minimal/"), lambda i, u=url: client.get(u), ROUNDS)
        ratio = median / base
        ok = queries <= MAX_QUERIES and ratio <= target
        if not ok:
            missed.append(name)
        lines.append(
            f"{name:<44} {queries:>3} queries  median {median:7.2f} ms  minimal {base:5.2f} ms"
            f"  = {ratio:5.1f}x  {'PASS' if ok else 'MISS'}"
        )
    lines.append(f"member pages: {len(pages) - len(missed)} of {len(pages)} PASS; MISS: {', '.join(missed) or 'none'}")
    return lines


def main() -> None:
    setup_environment(__name__)
    with scratch_database("member_pages"):
        print_sections(run)


if __name__ == "__main__":
    main()
