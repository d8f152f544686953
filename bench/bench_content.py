"""Content benchmark: newsletter campaign sends through the outbox, and the public blog list page.

Every figure is reported as a ratio to a baseline timed in the same process and run:

- campaign_send (per queued email: render, CSS inline, track links, insert outbox and
  metrics rows, in batches; since issue 18 point 4 through `email_enqueue_bulk`) vs rendering the same newsletter templates with Django's
  render_to_string plus a bare ORM insert of the email row in one transaction, timed half
  before and half after the send (means, since the send is one call);
- campaign_send to a large audience (BENCH_BULK_RECIPIENTS, default 50,000 subscribers created
  with one INSERT ... SELECT), as emails/s and as a multiple of the render+insert rate (the same
  baseline, timed again before and after), against the target of issue 18 point 4: >= 2,000
  emails/s and >= 2.7x the render+insert rate (PASS/MISS);
- an idempotent re-run of the finished send vs one bare read of the subscriber ids and
  the campaign's idempotency keys, alternating (medians);
- the blog list page vs a minimal view through the same middleware and client,
  alternating (medians).

Creates and drops its own scratch database named after DATABASE_URL's (`make bench`), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_content.py
"""

from __future__ import annotations

import os
import time

from support import (
    alternating,
    baseline_line,
    minimal,
    page_target,
    print_sections,
    ratio_line,
    scratch_database,
    setup_environment,
)

# isort: split
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.test import Client
from django.urls import include, path
from django.utils import timezone

SUBSCRIBERS = 1000
FLOOR_EMAILS = 200  # before the send, and as many after
RERUNS = 10
PAGE_REQUESTS = 100
WARMUP = 5
POSTS = 200
BULK_RECIPIENTS = int(os.environ.get("BENCH_BULK_RECIPIENTS", "50000"))
BULK_TARGET_RATE = 2000  # emails/s
BULK_TARGET_RATIO = 2.7  # x the render+insert rate


# This module is also the URLconf: the project's URLs plus one minimal view to compare with.
urlpatterns = [path("bench/minimal/", minimal), path("", include("bloom.urls"))]


def _newsletter_context(campaign) -> dict:
    """The context campaign_send gives the newsletter template, with a sample unsubscribe link."""
    from bloom.sanitize import EMAIL, html_to_text, sanitize_html

    body_html = sanitize_html(campaign.body_html, EMAIL)
    return {
        "site_url": settings.SITE_URL,
        "site_name": "Bloom Psychology",
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "body_html": body_html,
        "body_text": html_to_text(body_html),
        "campaign_id": str(campaign.pk),
        "unsubscribe_url": "https://bloom.example/notifications/unsubscribe/token/",
    }


def _floor(context: dict):
    from notifications.models import EmailQueue

    def floor(first: int, count: int) -> float:
        """Per email: render_to_string of the newsletter's subject, text and HTML, then a bare
        insert; one transaction for them all, as campaign_send commits once per batch."""
        start = time.perf_counter()
        with transaction.atomic():
            for n in range(first, first + count):
                row = {**context, "first_name": f"Floor{n}", "recipient_email": f"floor{n}@bench.example"}
                EmailQueue.objects.create(
                    to_email=row["recipient_email"],
                    subject=render_to_string("emails/content/newsletter.subject.txt", row).strip(),
                    text_body=render_to_string("emails/content/newsletter.txt", row),
                    html_body=render_to_string("emails/content/newsletter.html", row),
                    template_key="content/newsletter",
                    context=row,
                    category="marketing",
                )
        return time.perf_counter() - start

    return floor


def _bench_body() -> str:
    return (
        "<h2>Hello</h2><p>"
        + "Perinatal support matters. " * 80
        + '</p><p><a href="https://bloom.example/blog/">Read more</a></p>'
    )


def bench_campaign() -> list[str]:
    from content.models import CampaignStatus, NewsletterCampaign, Subscriber, SubscriberStatus
    from content.services import campaign_send
    from notifications.models import EmailQueue

    now = timezone.now()
    # At BENCH_SCALE the seeded practice's confirmed readers are set aside: this figure is a
    # campaign to the bench's own 1,000 (among the seeded outbox's million rows); the 50,000-reader
    # campaign below sends to a segment of its own.
    Subscriber.objects.filter(status=SubscriberStatus.CONFIRMED).update(status=SubscriberStatus.UNSUBSCRIBED)
    Subscriber.objects.bulk_create(
        [
            Subscriber(
                email=f"reader{n}@bench.example",
                first_name=f"Reader{n}",
                status=SubscriberStatus.CONFIRMED,
                confirmed_at=now,
            )
            for n in range(SUBSCRIBERS)
        ]
    )
    campaign = NewsletterCampaign.objects.create(
        subject="Bench newsletter",
        body_html=_bench_body(),
        status=CampaignStatus.SENDING,
    )
    context = _newsletter_context(campaign)
    floor = _floor(context)

    floor(-5, 5)  # warm-up
    before = floor(0, FLOOR_EMAILS)
    start = time.perf_counter()
    queued = campaign_send(campaign=campaign)
    send = (time.perf_counter() - start) * 1000
    after = floor(FLOOR_EMAILS, FLOOR_EMAILS)
    base = (before + after) / (2 * FLOOR_EMAILS) * 1000
    assert queued == SUBSCRIBERS, queued
    assert EmailQueue.objects.filter(campaign_id=campaign.pk).count() == SUBSCRIBERS

    def rerun(i: int) -> None:
        NewsletterCampaign.objects.filter(pk=campaign.pk).update(status=CampaignStatus.SENDING)
        assert campaign_send(campaign=campaign) == 0

    def bare_read(i: int) -> None:
        list(Subscriber.objects.filter(status=SubscriberStatus.CONFIRMED).values_list("id", flat=True))
        set(EmailQueue.objects.filter(campaign_id=campaign.pk).values_list("idempotency_key", flat=True))

    read, again, _ = alternating(bare_read, rerun, RERUNS)
    return [
        baseline_line("render_to_string of the 3 newsletter templates + insert", base, "mean"),
        ratio_line(
            f"campaign_send, {SUBSCRIBERS} subscribers, per email queued",
            send / queued,
            send / queued / base,
            "render+insert",
            f" ({queued / send * 1000:.0f} emails/s)",
            "mean",
        ),
        baseline_line("bare read of subscriber ids + the campaign's keys", read),
        ratio_line(f"campaign_send re-run, all {SUBSCRIBERS} already queued", again, again / read, "bare read"),
    ]


def bench_campaign_bulk() -> list[str]:
    """A campaign to BULK_RECIPIENTS subscribers of their own rule segment (created set-based)."""
    from django.db import connection

    from content.models import CampaignStatus, NewsletterCampaign, SegmentKind, SubscriberSegment
    from content.services import campaign_send
    from notifications.models import EmailQueue

    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO subscribers (id, created_at, updated_at, email, first_name, status, source, confirmed_at) "
            "SELECT gen_random_uuid(), now(), now(), 'bulk' || n || '@bench.example', "
            "CASE WHEN n %% 10 = 0 THEN '' ELSE 'Bulk' || n END, 'confirmed', 'bench-bulk', now() "
            "FROM generate_series(1, %s) AS n",
            [BULK_RECIPIENTS],
        )
    segment = SubscriberSegment.objects.create(
        name="Bench bulk", slug="bench-bulk", kind=SegmentKind.RULE, rule={"sources": ["bench-bulk"]}
    )
    campaign = NewsletterCampaign.objects.create(
        subject='Bench newsletter for {{ first_name|default:"you" }}',
        body_html=_bench_body(),
        status=CampaignStatus.SENDING,
        segment=segment,
    )
    floor = _floor(_newsletter_context(campaign))
    floor(10_000, 5)  # warm-up
    before = floor(10_005, FLOOR_EMAILS)
    start = time.perf_counter()
    queued = campaign_send(campaign=campaign)
    send = time.perf_counter() - start
    after = floor(10_005 + FLOOR_EMAILS, FLOOR_EMAILS)
    base = (before + after) / (2 * FLOOR_EMAILS) * 1000
    assert queued == BULK_RECIPIENTS, queued
    assert EmailQueue.objects.filter(campaign_id=campaign.pk).count() == BULK_RECIPIENTS
    rate = queued / send
    ratio = rate / (1000 / base)
    verdict = "PASS" if rate >= BULK_TARGET_RATE and ratio >= BULK_TARGET_RATIO else "MISS"
    return [
        baseline_line("render_to_string of the 3 newsletter templates + insert", base, "mean"),
        ratio_line(
            f"campaign_send, {BULK_RECIPIENTS} subscribers, per email queued",
            send * 1000 / queued,
            send * 1000 / queued / base,
            "render+insert",
            f" ({rate:.0f} emails/s = {ratio:.1f}x the render+insert rate; target >= {BULK_TARGET_RATE} "
            f"emails/s and >= {BULK_TARGET_RATIO}x: {verdict})",
            "mean",
        ),
    ]


def bench_blog_list() -> list[str]:
    from content.models import BlogPost, PostStatus

    now = timezone.now()
    BlogPost.objects.bulk_create(
        [
            BlogPost(
                title=f"Post {n}",
                slug=f"post-{n}",
                excerpt="A short excerpt.",
                status=PostStatus.PUBLISHED,
                published_at=now,
            )
            for n in range(POSTS)
        ]
    )
    client = Client()
    for _ in range(WARMUP):
        assert client.get("/blog/").status_code == 200
        assert client.get("/bench/minimal/").status_code == 200

    def page(i: int) -> None:
        assert client.get(f"/blog/?page={i % 20 + 1}").status_code == 200

    def bare(i: int) -> None:
        assert client.get("/bench/minimal/").status_code == 200

    base, blog, _ = alternating(bare, page, PAGE_REQUESTS)
    return [
        baseline_line("minimal view, same middleware and client, anonymous", base),
        ratio_line(
            f"blog list page ({POSTS} posts, pages 1-20)", blog, blog / base, "minimal view", target=page_target()
        ),
    ]


def main() -> None:
    setup_environment(__name__)
    with scratch_database("content"):
        print(
            "Content bench: newsletter campaign send through the outbox, the blog list page. "
            "Each figure as a ratio to the baseline above it, timed in this process (synchronous_commit=off)."
        )
        print_sections(bench_campaign, bench_campaign_bulk, bench_blog_list)


if __name__ == "__main__":
    main()
