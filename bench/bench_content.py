"""Content benchmark: newsletter campaign sends through the outbox, and the public blog list page.

Every figure is reported as a ratio to a baseline timed in the same process and run:

- campaign_send (per queued email: render, CSS inline, track links, insert outbox and
  metrics rows, in batches) vs rendering the same newsletter templates with Django's
  render_to_string plus a bare ORM insert of the email row in one transaction, timed half
  before and half after the send (means, since the send is one call);
- an idempotent re-run of the finished send vs one bare read of the subscriber ids and
  the campaign's idempotency keys, alternating (medians);
- the blog list page vs a minimal view through the same middleware and client,
  alternating (medians).

Creates and drops its own scratch database named after DATABASE_URL's (`make bench`), e.g.
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bloom_bench python bench/bench_content.py
"""

from __future__ import annotations

import time

from support import alternating, baseline_line, minimal, print_sections, ratio_line, scratch_database, setup_environment

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


# This module is also the URLconf: the project's URLs plus one minimal view to compare with.
urlpatterns = [path("bench/minimal/", minimal), path("", include("bloom.urls"))]


def bench_campaign() -> list[str]:
    from bloom.sanitize import EMAIL, html_to_text, sanitize_html
    from content.models import CampaignStatus, NewsletterCampaign, Subscriber, SubscriberStatus
    from content.services import campaign_send
    from notifications.models import EmailQueue

    now = timezone.now()
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
        body_html="<h2>Hello</h2><p>"
        + "Perinatal support matters. " * 80
        + '</p><p><a href="https://bloom.example/blog/">Read more</a></p>',
        status=CampaignStatus.SENDING,
    )
    body_html = sanitize_html(campaign.body_html, EMAIL)
    context = {
        "site_url": settings.SITE_URL,
        "site_name": "Bloom Psychology",
        "subject": campaign.subject,
        "preheader": campaign.preheader,
        "body_html": body_html,
        "body_text": html_to_text(body_html),
        "campaign_id": str(campaign.pk),
        "unsubscribe_url": "https://bloom.example/notifications/unsubscribe/token/",
    }

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
        ratio_line(f"blog list page ({POSTS} posts, pages 1-20)", blog, blog / base, "minimal view"),
    ]


def main() -> None:
    setup_environment(__name__)
    with scratch_database("content"):
        print(
            "Content bench: newsletter campaign send through the outbox, the blog list page. "
            "Each figure as a ratio to the baseline above it, timed in this process (synchronous_commit=off)."
        )
        print_sections(bench_campaign, bench_blog_list)


if __name__ == "__main__":
    main()
