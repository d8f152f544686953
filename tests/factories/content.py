"""Factories for content models; every one builds valid related rows by default."""

from __future__ import annotations

import io
import zipfile

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import AdminUser
from content.models import (
    AnalyticsEvent,
    BlogPost,
    BlogPostVersion,
    CareerApplication,
    ChatConversation,
    ChatMessage,
    ChatSender,
    ContactSubmission,
    ContentApproval,
    EventCategory,
    JobPosting,
    NewsletterCampaign,
    PostStatus,
    Subscriber,
    SubscriberSegment,
    SubscriberSegmentMember,
    SubscriberStatus,
)
from tests.factories.accounts import UserFactory


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def cv_upload(name: str = "cv.pdf", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes() if content is None else content, content_type="application/pdf")


class StaffUserFactory(UserFactory):
    is_staff = True


class AdminUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AdminUser
        django_get_or_create = ("user",)

    user = factory.SubFactory(StaffUserFactory)
    display_name = factory.Faker("name")


class BlogPostFactory(factory.django.DjangoModelFactory):
    """A draft by default; `BlogPostFactory(published=True)` is live on the site."""

    class Meta:
        model = BlogPost

    class Params:
        published = factory.Trait(status=PostStatus.PUBLISHED, published_at=factory.LazyFunction(timezone.now))

    title = factory.Sequence(lambda n: f"Caring for yourself after birth, part {n}")
    slug = factory.Sequence(lambda n: f"caring-after-birth-{n}")
    excerpt = "A short, kind introduction."
    body = "<h2>Rest</h2><p>Sleep when you can and ask for help.</p>"
    author = factory.SubFactory(AdminUserFactory)
    tags = factory.LazyFunction(lambda: ["postpartum"])


class BlogPostVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BlogPostVersion

    post = factory.SubFactory(BlogPostFactory)
    version_number = factory.Sequence(lambda n: n + 1)
    snapshot = factory.LazyAttribute(lambda o: {"title": o.post.title, "slug": o.post.slug, "body": o.post.body})
    editor = factory.SubFactory(StaffUserFactory)


class ContentApprovalFactory(factory.django.DjangoModelFactory):
    """An open review request on a post in review."""

    class Meta:
        model = ContentApproval

    post = factory.SubFactory(BlogPostFactory, status=PostStatus.IN_REVIEW)
    requested_by = factory.SubFactory(StaffUserFactory)


class SubscriberFactory(factory.django.DjangoModelFactory):
    """A confirmed subscriber; pass `status=SubscriberStatus.PENDING` for one awaiting opt-in."""

    class Meta:
        model = Subscriber

    email = factory.Sequence(lambda n: f"reader{n}@example.org")
    first_name = factory.Faker("first_name")
    status = SubscriberStatus.CONFIRMED
    source = "footer"
    confirmed_at = factory.LazyAttribute(lambda o: timezone.now() if o.status == SubscriberStatus.CONFIRMED else None)


class SubscriberSegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubscriberSegment

    name = factory.Sequence(lambda n: f"Segment {n}")
    slug = factory.Sequence(lambda n: f"segment-{n}")
    description = "Readers who asked about pregnancy topics."


class SubscriberSegmentMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SubscriberSegmentMember

    segment = factory.SubFactory(SubscriberSegmentFactory)
    subscriber = factory.SubFactory(SubscriberFactory)


class NewsletterCampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NewsletterCampaign

    subject = factory.Sequence(lambda n: f"Bloom newsletter no. {n}")
    preheader = "This month: sleep, support and small wins."
    body_html = "<h2>Hello</h2><p>Our news this month.</p>"
    created_by = factory.SubFactory(StaffUserFactory)


class AnalyticsEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AnalyticsEvent

    event_name = "page_view"
    category = EventCategory.PAGE_VIEW
    session_id = factory.Sequence(lambda n: f"journey-{n:08d}")
    path = "/blog/"
    properties = factory.LazyFunction(dict)


class ContactSubmissionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactSubmission

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"visitor{n}@example.org")
    subject = "Question about therapy"
    message = "Do you offer evening appointments?"


class JobPostingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = JobPosting

    title = factory.Sequence(lambda n: f"Perinatal therapist {n}")
    slug = factory.Sequence(lambda n: f"perinatal-therapist-{n}")
    location = "Remote"
    summary = "Support parents from pregnancy on."
    description = "<p>Join us.</p>"


class CareerApplicationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareerApplication

    job_posting = factory.SubFactory(JobPostingFactory)
    full_name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"applicant{n}@example.org")
    cv = factory.LazyFunction(lambda: cv_upload())
    cv_original_name = "cv.pdf"


class ChatConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatConversation

    visitor_name = factory.Faker("first_name")
    visitor_email = factory.Sequence(lambda n: f"chat{n}@example.org")
    subject = "Booking question"


class ChatMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChatMessage

    conversation = factory.SubFactory(ChatConversationFactory)
    sender = ChatSender.VISITOR
    body = "Hello, can I book a consultation?"
