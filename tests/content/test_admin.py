import pytest
from django.test import Client
from django.urls import reverse

from content import services
from content.models import (
    AnalyticsEvent,
    BlogPost,
    BlogPostVersion,
    ChatSender,
    ChatStatus,
    ContactStatus,
    ContactSubmission,
    JobPosting,
    PostStatus,
    SubscriberSegmentMember,
)
from tests.factories.content import (
    AnalyticsEventFactory,
    BlogPostFactory,
    CareerApplicationFactory,
    ChatConversationFactory,
    ChatMessageFactory,
    ContactSubmissionFactory,
    NewsletterCampaignFactory,
    SubscriberFactory,
    SubscriberSegmentFactory,
)

pytestmark = pytest.mark.django_db

MODELS = [
    "blogpost",
    "blogpostversion",
    "contentapproval",
    "subscriber",
    "subscribersegment",
    "subscribersegmentmember",
    "newslettercampaign",
    "analyticsevent",
    "contactsubmission",
    "jobposting",
    "careerapplication",
    "chatconversation",
    "chatmessage",
]


@pytest.mark.parametrize("model", MODELS)
def test_every_changelist_renders(admin_client, model):
    response = admin_client.get(reverse(f"admin:content_{model}_changelist") + "?q=a")
    assert response.status_code == 200


def test_change_pages_render(admin_client):
    objects = [
        BlogPostFactory(),
        NewsletterCampaignFactory(),
        ContactSubmissionFactory(),
        CareerApplicationFactory(),
        ChatConversationFactory(),
        SubscriberSegmentFactory(),
    ]
    for obj in objects:
        url = reverse(f"admin:content_{obj._meta.model_name}_change", args=[obj.pk])
        assert admin_client.get(url).status_code == 200, url


def test_deleting_a_post_referenced_by_analytics_is_refused_with_a_message(admin_client):
    post = BlogPostFactory(published=True)
    AnalyticsEventFactory(blog_post=post)
    response = admin_client.post(reverse("admin:content_blogpost_delete", args=[post.pk]), {"post": "yes"}, follow=True)
    assert BlogPost.all_objects.filter(pk=post.pk).exists()
    text = response.content.decode()
    assert "referenced by 1 analytics events" in text and "archive it instead" in text


def test_an_unreferenced_draft_can_be_deleted(admin_client):
    post = BlogPostFactory()
    admin_client.post(reverse("admin:content_blogpost_delete", args=[post.pk]), {"post": "yes"})
    assert not BlogPost.all_objects.filter(pk=post.pk).exists()


def test_bulk_delete_is_replaced_by_archive(admin_client):
    post = BlogPostFactory(published=True)
    AnalyticsEventFactory(blog_post=post)
    changelist = reverse("admin:content_blogpost_changelist")
    response = admin_client.post(changelist, {"action": "delete_selected", "_selected_action": [post.pk]}, follow=True)
    assert BlogPost.all_objects.filter(pk=post.pk).exists()
    admin_client.post(changelist, {"action": "archive", "_selected_action": [post.pk]})
    post.refresh_from_db()
    assert post.archived_at is not None and post.status == PostStatus.ARCHIVED
    # Archived posts stay visible to staff.
    response = admin_client.get(changelist)
    assert post.title in response.content.decode()


def test_admin_save_goes_through_the_service(admin_client, superuser):
    response = admin_client.post(
        reverse("admin:content_blogpost_add"),
        {
            "title": "Feeding and feelings",
            "slug": "feeding-and-feelings",
            "excerpt": "",
            "body": "<p>Hi</p><script>x()</script>",
            "cover_image_url": "",
            "tags": "feeding,mood",
            "author": "",
            "seo_title": "",
            "meta_description": "",
            "canonical_url": "",
            **_empty_inlines(),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    post = BlogPost.objects.get(slug="feeding-and-feelings")
    assert post.body == "<p>Hi</p>"
    assert post.author == superuser.admin_user
    assert BlogPostVersion.objects.filter(post=post, editor=superuser).count() == 1


def _empty_inlines():
    return {
        f"{prefix}-{key}": value
        for prefix in ("approvals", "versions")
        for key, value in (
            ("TOTAL_FORMS", "0"),
            ("INITIAL_FORMS", "0"),
            ("MIN_NUM_FORMS", "0"),
            ("MAX_NUM_FORMS", "1000"),
        )
    }


def test_restore_version_page_then_post(admin_client, superuser):

    post = services.blog_post_save(post=BlogPost(title="One", slug="one", body="<p>v1</p>"), editor=superuser)
    post.body = "<p>v2</p>"
    services.blog_post_save(post=post, editor=superuser)
    version = post.versions.get(version_number=1)
    url = reverse("admin:content_blogpost_restore_version", args=[post.pk, version.pk])
    assert b"Restore version 1" in admin_client.get(url).content
    post.refresh_from_db()
    assert post.body == "<p>v2</p>"  # GET changes nothing
    admin_client.post(url)
    post.refresh_from_db()
    assert post.body == "<p>v1</p>"


def test_analytics_are_read_only(admin_client):
    event = AnalyticsEventFactory()
    assert admin_client.get(reverse("admin:content_analyticsevent_add")).status_code == 403
    admin_client.post(reverse("admin:content_analyticsevent_delete", args=[event.pk]), {"post": "yes"})
    assert AnalyticsEvent.objects.filter(pk=event.pk).exists()


def test_job_posting_with_applications_cannot_be_deleted(admin_client):
    application = CareerApplicationFactory()
    posting = application.job_posting
    response = admin_client.post(
        reverse("admin:content_jobposting_delete", args=[posting.pk]), {"post": "yes"}, follow=True
    )
    assert JobPosting.all_objects.filter(pk=posting.pk).exists()
    assert "archive it instead" in response.content.decode()


def test_add_to_segment_action_uses_an_intermediate_page(admin_client):
    segment = SubscriberSegmentFactory()
    subscribers = SubscriberFactory.create_batch(2)
    changelist = reverse("admin:content_subscriber_changelist")
    selected = [s.pk for s in subscribers]
    page = admin_client.post(changelist, {"action": "add_to_segment", "_selected_action": selected})
    assert page.status_code == 200 and b"Add to segment" in page.content
    assert not SubscriberSegmentMember.objects.exists()
    admin_client.post(
        changelist, {"action": "add_to_segment", "_selected_action": selected, "apply": "1", "segment": segment.pk}
    )
    assert SubscriberSegmentMember.objects.filter(segment=segment).count() == 2


def test_cv_download_is_staff_only(admin_client, editor):
    application = CareerApplicationFactory()
    url = reverse("admin:content_careerapplication_cv", args=[application.pk])
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(f"/accounts/login/?next={url}")
    response = admin_client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    # Staff without the careers view permission get nothing.
    admin_client.force_login(editor)
    assert admin_client.get(url).status_code == 403


def test_staff_reply_in_admin_becomes_a_staff_message(admin_client, superuser):
    conversation = ChatConversationFactory()
    ChatMessageFactory(conversation=conversation)
    url = reverse("admin:content_chatconversation_change", args=[conversation.pk])
    response = admin_client.post(
        url,
        {
            "user": "",
            "visitor_name": conversation.visitor_name,
            "visitor_email": conversation.visitor_email,
            "subject": conversation.subject,
            "status": "open",
            "assigned_to": "",
            "messages-TOTAL_FORMS": "2",
            "messages-INITIAL_FORMS": "1",
            "messages-MIN_NUM_FORMS": "0",
            "messages-MAX_NUM_FORMS": "1000",
            "messages-0-id": str(conversation.messages.get().pk),
            "messages-0-conversation": str(conversation.pk),
            "messages-1-id": "",
            "messages-1-conversation": str(conversation.pk),
            "messages-1-body": "We have evening slots on Tuesdays.",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    reply = conversation.messages.get(sender=ChatSender.STAFF)
    assert reply.staff_user == superuser and reply.body == "We have evening slots on Tuesdays."
    conversation.refresh_from_db()
    assert conversation.status == ChatStatus.WAITING


def test_staff_close_a_message(admin_client, superuser):
    submission = ContactSubmission.objects.create(name="A", email="a@example.org", message="Hi")
    admin_client.post(
        reverse("admin:content_contactsubmission_changelist"),
        {"action": "mark_closed", "_selected_action": [submission.pk]},
    )
    submission.refresh_from_db()
    assert submission.status == ContactStatus.CLOSED
    assert submission.handled_by == superuser and submission.closed_at is not None
