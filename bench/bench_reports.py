"""Reports benchmark: each admin report page against a bare one-query admin page, in the same run.

Every figure is a median over REQUESTS requests, alternating with the baseline (baseline,
measured, measured, baseline, ...), logged in as the same staff member:

- baseline: a page behind `admin.site.admin_view` under /admin/ that runs one query (a count
  of content types) and renders the admin's base template: the same middleware (the staff
  session's once-a-minute touch included: it is only made under /admin/), session, user and
  staff checks, template and client as a report page;
- measured: each report page (bloom/admin_reports.py) for the last twelve months.

The target (issue 14 point 3) is at most 3x the baseline; each line says PASS or MISS.

Data: with `BENCH_SCALE=N make bench` the scratch database is a copy of the seeded N x
database (docs/bench.md). Without it, the bench seeds the demo size itself
(`seed_scale --factor 1`). `seed_scale` makes no payments, refunds or campaigns, so the bench
adds them set-based in the same proportion (three payments per member over two years, one in
twenty refunded, one in two hundred disputed; a campaign a week with metrics for a tenth of
the subscribers). Then it refreshes the reporting views (`report_views_refresh`, timed) and
measures. At demo size it also grows the data to 3x and checks each page's query count is
unchanged; at any size it prints each count next to the fixed number the tests pin (the
bare page's queries less its one, plus "Figures as of" and one per section), so the 1x and
100x runs can be compared line by line (docs/bench.md "Reports").

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_reports.py
    BENCH_SCALE=100 BENCH_SCALE_TEMPLATE=bloom_bench_scale100 python bench/bench_reports.py  # as make bench does
"""

from __future__ import annotations

import os
import time

from support import alternating, baseline_line, print_sections, ratio_line, scratch_database, setup_environment

# isort: split
from django.conf import settings
from django.contrib import admin
from django.core.management import call_command
from django.db import connection
from django.template.response import TemplateResponse
from django.test import Client
from django.urls import include, path, reverse

REQUESTS = 40
WARMUP = 3
TARGET = 3.0


def bare_admin_page(request):
    """The baseline: one query, the admin's base template."""
    from django.contrib.contenttypes.models import ContentType

    count = ContentType.objects.count()
    context = {**admin.site.each_context(request), "title": f"{count} content types"}
    return TemplateResponse(request, "admin/base_site.html", context)


BARE_URL = "/admin/bench/bare/"

urlpatterns = [
    path(BARE_URL.strip("/") + "/", admin.site.admin_view(bare_admin_page)),
    path("", include("bloom.urls")),
]

PAYMENTS_SQL = """
INSERT INTO payment_intents (id, created_at, updated_at, kind, object_id, description, amount, discount_amount,
    amount_refunded, currency, status, capture_method, disputed, checkout_url, metadata, failure_message,
    needs_action, paid_at, user_id)
SELECT gen_random_uuid(), t.paid, t.paid, (ARRAY['course', 'workshop', 'appointment'])[1 + q.n % 3], q.n::text,
       'bench payment', 20 + q.n % 7 * 15, 0, 0, 'usd', 'succeeded', 'automatic', q.n % 200 = 0, '', '{}',
       '', false, t.paid, q.user_id
FROM (SELECT u.id AS user_id, row_number() OVER () AS n FROM users u CROSS JOIN generate_series(1, 3)) q,
     LATERAL (SELECT now() - ((q.n * 7919 % 730) || ' days')::interval AS paid) t
"""

REFUNDS_SQL = """
INSERT INTO refund_requests (id, created_at, updated_at, amount_requested, amount_approved, amount_refunded,
    currency, reason, status, source, decision_note, failure_message, refunded_at, payment_id, user_id)
SELECT gen_random_uuid(), p.paid_at, p.paid_at, p.amount, p.amount, p.amount, 'usd', 'bench', 'refunded', 'staff',
       '', '', p.paid_at + interval '3 days', p.id, p.user_id
FROM payment_intents p WHERE p.description = 'bench payment' AND p.object_id::int % 20 = 0
"""

CAMPAIGNS_SQL = """
INSERT INTO newsletter_campaigns (id, created_at, updated_at, subject, preheader, body_html, status, sent_at,
    send_started_at, recipients_count)
SELECT gen_random_uuid(), now() - (w || ' weeks')::interval, now(), 'Bench newsletter ' || w, '', '<p>News</p>',
       'sent', now() - (w || ' weeks')::interval, now() - (w || ' weeks')::interval, 0
FROM generate_series(1, 104) w
"""

METRICS_SQL = """
INSERT INTO email_campaign_metrics (id, campaign_id, recipient_email, sent_at, opened_at, clicked_at, bounced_at)
SELECT gen_random_uuid(), c.id, s.email, c.sent_at,
       CASE WHEN s.n % 3 = 0 THEN c.sent_at + interval '1 hour' END,
       CASE WHEN s.n % 9 = 0 THEN c.sent_at + interval '2 hours' END,
       CASE WHEN s.n % 50 = 0 THEN c.sent_at END
FROM newsletter_campaigns c
CROSS JOIN LATERAL (
    SELECT email, row_number() OVER (ORDER BY id) AS n FROM subscribers TABLESAMPLE BERNOULLI (10) REPEATABLE (1)
) s
WHERE c.subject LIKE 'Bench newsletter %'
"""


def _add_money_and_campaigns() -> None:
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM refund_requests WHERE reason = 'bench'")
        cursor.execute(
            "DELETE FROM email_campaign_metrics WHERE campaign_id IN "
            "(SELECT id FROM newsletter_campaigns WHERE subject LIKE 'Bench newsletter %')"
        )
        cursor.execute("DELETE FROM newsletter_campaigns WHERE subject LIKE 'Bench newsletter %'")
        cursor.execute("DELETE FROM payment_intents WHERE description = 'bench payment'")
        for sql in (PAYMENTS_SQL, REFUNDS_SQL, CAMPAIGNS_SQL, METRICS_SQL):
            cursor.execute(sql)


def _refresh() -> float:
    from bloom.reports import report_views_refresh

    started = time.perf_counter()
    report_views_refresh()
    return time.perf_counter() - started


def _queries(client: Client, url: str) -> int:
    """The page's queries: the fewer of two requests, since the staff session is saved at most
    once a minute (StaffIdleLogoutMiddleware), on whichever request comes then."""
    found = []
    for _ in range(2):
        seen: list[str] = []
        with connection.execute_wrapper(lambda execute, sql, *args, seen=seen: seen.append(sql) or execute(sql, *args)):
            assert client.get(url).status_code == 200, url
        found.append(len(seen))
    return min(found)


def _counts(client: Client, urls: dict[str, str]) -> dict[str, int]:
    return {slug: _queries(client, url) for slug, url in urls.items()}


def bench_reports() -> list[str]:
    from accounts.models import User
    from bloom.reports import REPORTS

    scale = os.environ.get("BENCH_SCALE_TEMPLATE", "")
    lines = []
    if not scale:
        call_command("seed_scale", factor=1, verbosity=0)
    _add_money_and_campaigns()
    refresh = _refresh()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM payment_intents")
        (payments,) = cursor.fetchone()
    size = f"{os.environ.get('BENCH_SCALE', '')}x" if scale else "demo size (1x)"
    lines.append(
        f"data: {size}, {User.objects.count():,} users, {payments:,} payments; "
        f"every report view refreshed CONCURRENTLY in {refresh:.2f} s"
    )

    staff = User.objects.create_user("reports@bench.example", password="x" * 12, is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    urls = {slug: reverse("report_page", args=[slug]) for slug in REPORTS}
    for _ in range(WARMUP):
        client.get(BARE_URL)
        for url in urls.values():
            client.get(url)
    counts = _counts(client, urls)
    base_queries = _queries(client, BARE_URL)

    def get(url: str):
        def fetch(i: int) -> None:
            assert client.get(url).status_code == 200, url

        return fetch

    # The bare page's queries less its one, plus "Figures as of" and one per section (as the tests pin).
    pinned = {slug: base_queries + len(report.sections) for slug, report in REPORTS.items()}
    for slug, url in urls.items():
        base, page, _ = alternating(get(BARE_URL), get(url), REQUESTS)
        ratio = page / base
        verdict = "PASS" if ratio <= TARGET else "MISS"
        queries = f"{counts[slug]} queries, pinned {pinned[slug]}"
        lines.append(baseline_line(f"bare one-query admin page ({base_queries} queries)", base))
        lines.append(
            ratio_line(f"report {slug} ({queries})", page, ratio, "bare page", f"  target {TARGET:.0f}x {verdict}")
        )

    lines.append(f"query counts {counts}: {'as pinned' if counts == pinned else f'NOT as pinned {pinned}'}")
    if not scale:
        call_command("seed_scale", factor=3, verbosity=0)
        _add_money_and_campaigns()
        grown_refresh = _refresh()
        grown = _counts(client, urls)
        steady = "equal" if grown == counts else "NOT EQUAL"
        lines.append(f"query counts at 3x (views refreshed in {grown_refresh:.2f} s): {grown}: {steady}")
    return lines


def main() -> None:
    setup_environment(__name__)
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # the bench measures the pages, not the TOTP step
    with scratch_database("reports"):
        print("Reports bench: each report page vs a bare one-query admin page. Medians, ratio to the baseline above.")
        print_sections(bench_reports)


if __name__ == "__main__":
    main()
