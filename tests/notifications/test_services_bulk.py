"""The bulk outbox (issue 18 point 4): each row is what email_enqueue makes for that recipient,
the refusals and quiet hours are the same, re-runs queue only what is missing, and the queries
per call do not grow with the number of recipients."""

import datetime
import email
import email.policy
import re
import uuid

import pytest
from django.core import signing
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.services import member_pause_start
from notifications import tokens
from notifications.models import EmailCampaignMetric, EmailQueue, EmailSuppression
from notifications.services import BulkRecipient, bulk, email_enqueue, email_enqueue_bulk
from tests.factories.accounts import UserFactory
from tests.factories.content import SubscriberFactory

pytestmark = pytest.mark.django_db

TEMPLATE = "content/newsletter"
BODY = (
    '<h2>Hello {{ first_name|default:"friend" }}</h2><p>'
    + "Perinatal support matters. " * 60
    + '</p><p><a href="https://bloom.example/blog/">Read more</a> or '
    + '<a href="https://bloom.example/workshops/">join us</a>. Written to {{ email }}.</p>'
)
_TOKEN_PATH = re.compile(r"/notifications/(unsubscribe|t/o|t/c)/[A-Za-z0-9_:\-]+/")


def _shared(campaign_id: uuid.UUID, *, body: str = BODY) -> dict:
    from bloom.sanitize import EMAIL, html_to_text, sanitize_html

    body_html = sanitize_html(body, EMAIL)
    return {
        "subject": 'News for {{ first_name|default:"you" }}',
        "preheader": "A calm month",
        "body_html": body_html,
        "body_text": html_to_text(body_html),
        "first_name": "",
        "campaign_id": str(campaign_id),
    }


def _normalised(text: str) -> str:
    return _TOKEN_PATH.sub(lambda m: f"/notifications/{m.group(1)}/TOKEN/", text)


def _parts(mime: str) -> list[tuple[str, str, str]]:
    parsed = email.message_from_string(mime, policy=email.policy.default)
    return [
        (
            part.get_content_type(),
            part["Content-Transfer-Encoding"],
            part.get_content().replace("\r\n", "\n") if part.get_content_maintype() == "text" else "",
        )
        for part in parsed.walk()
    ]


@pytest.mark.parametrize(
    "first_name", ["Maya", "", "Anne Marie", "Zoë", "O'Brien", "<b>Ed</b>", "Jo  Ann", "Ms " + "x" * 140]
)
def test_each_row_is_what_the_single_email_path_makes_for_that_recipient(first_name):
    campaign_id = uuid.uuid4()
    shared = _shared(campaign_id)
    subscribers = [SubscriberFactory(first_name=first_name) for _ in range(3)]
    for n, subscriber in enumerate(subscribers):
        email_enqueue(
            to=subscriber.email,
            template=TEMPLATE,
            context={**shared, "first_name": subscriber.first_name},
            category="marketing",
            priority=90,
            idempotency_key=f"single:{n}",
            campaign_id=campaign_id,
        )
    queued = email_enqueue_bulk(
        template=TEMPLATE,
        shared_context=shared,
        recipients=[
            BulkRecipient(email=s.email, context={"first_name": s.first_name}, idempotency_key=f"bulk:{n}")
            for n, s in enumerate(subscribers)
        ],
        category="marketing",
        priority=90,
        campaign_id=campaign_id,
    )
    assert queued == 3
    for n, subscriber in enumerate(subscribers):
        single = EmailQueue.objects.get(idempotency_key=f"single:{n}")
        many = EmailQueue.objects.get(idempotency_key=f"bulk:{n}")
        assert many.to_email == single.to_email == subscriber.email
        assert many.subject == single.subject
        assert _normalised(many.text_body) == _normalised(single.text_body)
        assert _normalised(many.html_body) == _normalised(single.html_body)
        assert many.tracked_links == single.tracked_links
        assert list(many.headers) == list(single.headers)
        assert _normalised(many.headers["List-Unsubscribe"]) == _normalised(single.headers["List-Unsubscribe"])
        assert many.message_id == many.headers["Message-ID"] != single.message_id
        assert (many.category, many.priority, many.campaign_id, many.template_key, many.context) == (
            single.category,
            single.priority,
            single.campaign_id,
            single.template_key,
            single.context,
        )
        many_parts, single_parts = _parts(many.mime_message), _parts(single.mime_message)
        assert [p[:2] for p in many_parts] == [p[:2] for p in single_parts]
        assert [_normalised(p[2]) for p in many_parts] == [_normalised(p[2]) for p in single_parts]
        assert many_parts[1][2] == many.text_body and many_parts[2][2] == many.html_body
        parsed = email.message_from_string(many.mime_message, policy=email.policy.default)
        assert parsed["To"] == subscriber.email and parsed["Message-ID"] == many.message_id
        assert EmailCampaignMetric.objects.get(email=many).recipient_email == subscriber.email
        # Everything but the tokens and the Message-ID is the single path's bytes, line for line.
        assert _normalised_mime(many) == _normalised_mime(single)


def _normalised_mime(row: EmailQueue) -> str:
    """The MIME message with each token of the row written as TOKEN (also inside QP soft breaks)."""
    unsubscribe = row.headers["List-Unsubscribe"].split("/unsubscribe/")[1].split("/")[0]
    found = [unsubscribe, *re.findall(r"/notifications/t/[oc]/([A-Za-z0-9_:\-]+)/", row.html_body)]
    text = row.mime_message
    parsed = email.message_from_string(text, policy=email.policy.default)
    pieces = [text.split("\r\n\r\n", 1)[0]]
    for part in parsed.walk():
        if part.get_content_maintype() == "text":
            pieces.append(part["Content-Transfer-Encoding"] + "\r\n" + part.get_content().replace("\r\n", "\n"))
    joined = "\r\n".join(pieces)
    for token in found:
        joined = joined.replace(token, "TOKEN")
    joined = re.sub(r"\r\n\s+", " ", joined)
    return re.sub(r'boundary="[^"]+"', 'boundary="B"', joined.replace(row.message_id, "<MESSAGE-ID>"))


def test_plain_recipients_are_filled_in_from_one_rendering(monkeypatch):
    calls = []
    real = bulk._render_into
    monkeypatch.setattr(bulk, "_render_into", lambda row, **kw: (calls.append(row.to_email), real(row, **kw)))
    campaign_id = uuid.uuid4()
    subscribers = SubscriberFactory.create_batch(6) + [SubscriberFactory(first_name="")]
    queued = email_enqueue_bulk(
        template=TEMPLATE,
        shared_context=_shared(campaign_id),
        recipients=[BulkRecipient(email=s.email, context={"first_name": s.first_name}) for s in subscribers],
        campaign_id=campaign_id,
    )
    assert queued == 7
    # One single-email rendering per shape (named / unnamed) checks the stencil; the rest are filled in.
    assert len(calls) == 2


def test_tokens_minted_in_bulk_are_djangos_own(monkeypatch):
    monkeypatch.setattr("time.time", lambda: 1_790_000_000.5)
    minted = tokens.BatchTokens()
    email_id = uuid.uuid4()
    assert minted.open(email_id) == tokens.open_token(email_id)
    assert minted.click(email_id, 3) == tokens.click_token(email_id, 3)
    assert minted.unsubscribe(email="ada@example.org", email_id=email_id) == tokens.unsubscribe_token(
        email="ada@example.org", email_id=email_id
    )
    assert tokens.unsubscribe_token_read(minted.unsubscribe(email="a@b.org", email_id=email_id)) == (
        "a@b.org",
        str(email_id),
    )
    with pytest.raises(signing.BadSignature):
        signing.loads(minted.open(email_id), salt=tokens.CLICK_SALT)


def test_refused_recipients_are_skipped_in_a_few_queries():
    ok = SubscriberFactory(email="ok@example.org")
    SubscriberFactory(email="suppressed@example.org")
    EmailSuppression.objects.create(email="suppressed@example.org", reason="complaint")
    SubscriberFactory(email="gone@example.org", status="unsubscribed")
    member = UserFactory(email="member@example.org")
    member.profile.marketing_consent = True
    member.profile.save()
    paused = UserFactory(email="paused@example.org")
    paused.profile.marketing_consent = True
    paused.profile.save()
    member_pause_start(member=paused, weeks=2)
    unconsenting = UserFactory(email="noconsent@example.org")
    SubscriberFactory(email=unconsenting.email)  # her account's choice wins over the subscriber row
    addresses = [
        "ok@example.org",
        "suppressed@example.org",
        "gone@example.org",
        "stranger@example.org",
        "Member@Example.org",
        "paused@example.org",
        "noconsent@example.org",
        "not an address",
    ]
    campaign_id = uuid.uuid4()
    queued = email_enqueue_bulk(
        template=TEMPLATE,
        shared_context=_shared(campaign_id),
        recipients=[BulkRecipient(email=a, context={"first_name": "Ada"}, idempotency_key=a) for a in addresses],
        campaign_id=campaign_id,
    )
    assert queued == 2
    assert sorted(EmailQueue.objects.values_list("to_email", flat=True)) == sorted([ok.email, member.email])
    assert EmailCampaignMetric.objects.filter(campaign_id=campaign_id).count() == 2


def test_a_re_run_queues_only_what_is_missing_and_counts_what_it_inserted():
    subscribers = SubscriberFactory.create_batch(4)
    campaign_id = uuid.uuid4()

    def recipients(chosen):
        return [
            BulkRecipient(email=s.email, context={"first_name": s.first_name}, idempotency_key=f"k:{s.pk}")
            for s in chosen
        ]

    shared = _shared(campaign_id)
    assert email_enqueue_bulk(template=TEMPLATE, shared_context=shared, recipients=recipients(subscribers[:2])) == 2
    # The same recipient twice in one call, and two already queued: only the two missing go in.
    again = recipients(subscribers) + recipients(subscribers[3:])
    assert email_enqueue_bulk(template=TEMPLATE, shared_context=shared, recipients=again) == 2
    assert email_enqueue_bulk(template=TEMPLATE, shared_context=shared, recipients=again) == 0
    assert EmailQueue.objects.count() == 4


def test_a_key_queued_meanwhile_is_skipped_by_the_insert_and_not_counted(monkeypatch):
    subscriber = SubscriberFactory()
    campaign_id = uuid.uuid4()
    recipients = [BulkRecipient(email=subscriber.email, idempotency_key="raced")]
    shared = _shared(campaign_id)
    # Another worker queues the same key between our read of the used keys and our insert.
    real = bulk._insert

    def raced(rows, **kwargs):
        email_enqueue(to=subscriber.email, subject="x", text_body="x", category="marketing", idempotency_key="raced")
        return real(rows, **kwargs)

    monkeypatch.setattr(bulk, "_insert", raced)
    queued = email_enqueue_bulk(
        template=TEMPLATE, shared_context=shared, recipients=recipients, campaign_id=campaign_id
    )
    assert queued == 0
    assert EmailQueue.objects.count() == 1 and not EmailCampaignMetric.objects.exists()


def test_a_member_in_quiet_hours_waits_and_others_do_not():
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    member = UserFactory()
    member.profile.marketing_consent = True
    member.profile.timezone = "America/New_York"
    member.profile.save()
    local = timezone.now().astimezone(zone)
    member.preferences.quiet_hours = True
    member.preferences.quiet_hours_start = (local - datetime.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    member.preferences.quiet_hours_end = (local + datetime.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    member.preferences.save()
    other = SubscriberFactory()
    before = timezone.now()
    email_enqueue_bulk(
        template=TEMPLATE,
        shared_context=_shared(uuid.uuid4()),
        recipients=[BulkRecipient(email=member.email), BulkRecipient(email=other.email)],
    )
    assert EmailQueue.objects.get(to_email=member.email).scheduled_at > timezone.now() + datetime.timedelta(hours=1)
    assert before <= EmailQueue.objects.get(to_email=other.email).scheduled_at <= timezone.now()


def _queries_for(count: int) -> int:
    subscribers = SubscriberFactory.create_batch(count)
    member = UserFactory()
    member.profile.marketing_consent = True
    member.profile.save()
    campaign_id = uuid.uuid4()
    recipients = [
        BulkRecipient(email=s.email, context={"first_name": s.first_name}, idempotency_key=s.email) for s in subscribers
    ]
    recipients.append(BulkRecipient(email=member.email, context={"first_name": ""}, idempotency_key=member.email))
    with CaptureQueriesContext(connection) as queries:
        assert (
            email_enqueue_bulk(template=TEMPLATE, shared_context=_shared(campaign_id), recipients=recipients)
            == count + 1
        )
    return len(queries)


def test_the_queries_per_call_do_not_grow_with_the_number_of_recipients():
    few = _queries_for(3)
    many = _queries_for(60)
    assert few == many
    assert many <= 16
