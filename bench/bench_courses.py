"""Courses benchmark: query counts and speed of the dashboard, course page and lesson page.

Shows that the query count of each page does not grow from 1 to 50 enrollments or from
10 to 500 lessons, and reports each page's median time as a ratio to a minimal Django
view measured in the same run (in-process test Client, same middleware).

Creates and drops its own scratch database named after DATABASE_URL's, with
synchronous_commit=off like the other benches (`make bench`), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_courses.py
"""

from __future__ import annotations

import statistics
import time

from support import minimal, page_target, print_sections, scratch_database, setup_environment, verdict

# isort: split
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone

REQUESTS = 60
WARMUP = 5


# This module is also the URLconf: the project's URLs plus one minimal view to compare with.
urlpatterns = [path("bench/minimal/", minimal), path("", include("bloom.urls"))]


def _course(n: int, lessons: int, modules: int):
    from courses.models import Course, CourseLesson, CourseModule

    course = Course.objects.create(
        title=f"Bench course {n} ({lessons} lessons)", slug=f"bench-{n}-{lessons}", status="published"
    )
    made = CourseModule.objects.bulk_create(
        [CourseModule(course=course, title=f"Module {m}", position=m) for m in range(modules)]
    )
    CourseLesson.objects.bulk_create(
        [
            CourseLesson(
                module=made[i * modules // lessons],
                title=f"Lesson {i}",
                position=i,
                status="published",
                duration_minutes=8,
                slides=[f"<h2>Slide {s}</h2><p>{'Calm, kind words. ' * 20}</p>" for s in range(4)],
            )
            for i in range(lessons)
        ]
    )
    return course


def _enroll(member, course):
    from courses.models import CourseEnrollment, CourseLesson
    from courses.services import course_progress_update

    CourseEnrollment.objects.create(user=member, course=course, payment_status="free", enrolled_at=timezone.now())
    first = CourseLesson.objects.select_related("module").filter(module__course=course).order_by("position").first()
    course_progress_update(member=member, lesson=first, completed=True, time_spent_seconds=120)


def _measure(client: Client, url: str) -> tuple[int, float]:
    for _ in range(WARMUP):
        assert client.get(url).status_code == 200, url
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    queries = len(ctx.captured_queries)
    timings = []
    for _ in range(REQUESTS):
        start = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - start)
        assert response.status_code == 200, url
    return queries, statistics.median(timings) * 1000


def run() -> list[str]:
    from courses.models import CourseLesson
    from tests.factories.accounts import UserFactory

    print("building 52 courses (one of 500 lessons) and 52 enrollments ...", flush=True)
    one, fifty, big = UserFactory(), UserFactory(), UserFactory()
    small = _course(0, lessons=10, modules=2)
    large = _course(1, lessons=500, modules=20)
    _enroll(one, small)  # 1 enrollment, 10 lessons
    _enroll(big, large)  # 1 enrollment, 500 lessons
    _enroll(fifty, small)  # 50 enrollments of 10 lessons each
    for n in range(2, 51):
        _enroll(fifty, _course(n, lessons=10, modules=2))

    def lesson(course):
        item = CourseLesson.objects.filter(module__course=course).order_by("position")[1]
        return f"/courses/{course.slug}/lessons/{item.pk}/"

    scenarios = {
        "dashboard": [
            ("1 enrollment, 10 lessons", one, "/dashboard/"),
            ("50 enrollments, 10 lessons each", fifty, "/dashboard/"),
            ("1 enrollment, 500 lessons", big, "/dashboard/"),
        ],
        "course page": [
            ("10 lessons, member with 1 enrollment", one, f"/courses/{small.slug}/"),
            ("10 lessons, member with 50 enrollments", fifty, f"/courses/{small.slug}/"),
            ("500 lessons, member with 1 enrollment", big, f"/courses/{large.slug}/"),
        ],
        "lesson page": [
            ("10 lessons, member with 1 enrollment", one, lesson(small)),
            ("10 lessons, member with 50 enrollments", fifty, lesson(small)),
            ("500 lessons, member with 1 enrollment", big, lesson(large)),
        ],
    }
    clients = {}
    for member in (one, fifty, big):
        clients[member.pk] = Client()
        clients[member.pk].force_login(member)
    print(f"measuring: {WARMUP} warm-up then {REQUESTS} timed requests per page ...", flush=True)
    _, base = _measure(clients[one.pk], "/bench/minimal/")
    lines = [f"minimal view (same middleware, logged in): median {base:.2f} ms over {REQUESTS} requests"]
    for page, cases in scenarios.items():
        counts = []
        for label, member, url in cases:
            queries, median = _measure(clients[member.pk], url)
            counts.append(queries)
            lines.append(
                f"{page:<12} {label:<40} {queries:>3} queries  median {median:6.2f} ms  = {median / base:5.1f}x minimal"
                f"  {verdict(median / base, page_target())} (queries <= 10 {'PASS' if queries <= 10 else 'MISS'})"
            )
        constant = "constant" if len(set(counts)) == 1 else f"GROWS {counts}"
        lines.append(f"{page:<12} query count {constant}")
        assert len(set(counts)) == 1, f"{page}: query count changes with size: {counts}"
    return lines


def main() -> None:
    setup_environment(__name__)
    with scratch_database("courses"):
        print_sections(run)


if __name__ == "__main__":
    main()
