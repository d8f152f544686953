"""Blog posts go through the one approval workflow (bloom/workflow.py) like every other kind of
content: the content editor submits, the practice manager (the reviewer role) approves or sends
back, and each review is still recorded in the seed's `content_approvals` table. The blog's own
older buttons (a separate workflow form and list actions) are gone."""

import pytest
from django.urls import reverse

from bloom.workflow_models import ContentWorkflowState, WorkflowState
from content.models import ApprovalDecision, BlogPost, ContentApproval, PostStatus
from tests.appointments.support_workspace import staff_login
from tests.factories.content import BlogPostFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_mfa(settings):
    settings.BLOOM_STAFF_MFA_REQUIRED = False  # staff MFA has its own tests


def _step(client, post, action, comment=""):
    url = reverse("admin:content_blogpost_workflow", args=[post.pk, action])
    return client.post(url, {"workflow_comment": comment}, follow=True)


def _state(post) -> str:
    return ContentWorkflowState.objects.get(object_id=str(post.pk)).state


def test_the_editor_submits_the_manager_approves_and_content_approvals_records_both():
    editor, manager = staff_login("content_editor"), staff_login("practice_manager")
    post = BlogPostFactory(status=PostStatus.DRAFT, title="Sleep when the baby sleeps?")

    _step(editor, post, "submit", "Ready for a look")
    post.refresh_from_db()
    assert (post.status, _state(post)) == (PostStatus.IN_REVIEW, WorkflowState.IN_REVIEW)
    review = ContentApproval.objects.get(post=post)
    assert (review.decision, review.requested_by, review.comment) == (
        ApprovalDecision.PENDING,
        editor.user,
        "Ready for a look",
    )

    page = _step(editor, post, "approve").content.decode()
    post.refresh_from_db()
    assert post.status == PostStatus.IN_REVIEW, "a content editor cannot approve"
    assert "Only reviewers can approve content" in page

    _step(manager, post, "approve", "Clinically accurate")
    post.refresh_from_db()
    review.refresh_from_db()
    assert (post.status, _state(post)) == (PostStatus.APPROVED, WorkflowState.APPROVED)
    assert (review.decision, review.reviewer, review.decided_at is not None) == (
        ApprovalDecision.APPROVED,
        manager.user,
        True,
    )
    assert review.comment == "Ready for a look\n\nClinically accurate"

    _step(manager, post, "publish")
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED and post.published_at is not None
    assert ContentApproval.objects.filter(post=post).count() == 1


def test_sending_back_closes_the_review_with_the_reviewers_comment_and_a_new_submission_opens_another():
    editor, manager = staff_login("content_editor"), staff_login("practice_manager")
    post = BlogPostFactory(status=PostStatus.DRAFT)
    _step(editor, post, "submit")

    page = _step(manager, post, "request_changes", "").content.decode()
    assert "Say what should change" in page
    assert ContentApproval.objects.get(post=post).decision == ApprovalDecision.PENDING

    _step(manager, post, "request_changes", "Add the crisis line")
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT
    closed = ContentApproval.objects.get(post=post)
    assert (closed.decision, closed.reviewer, closed.comment) == (
        ApprovalDecision.CHANGES_REQUESTED,
        manager.user,
        "Add the crisis line",
    )

    _step(editor, post, "submit", "Crisis line added")
    reviews = list(ContentApproval.objects.filter(post=post).order_by("created_at"))
    assert [r.decision for r in reviews] == [ApprovalDecision.CHANGES_REQUESTED, ApprovalDecision.PENDING]


def test_the_two_person_rule_keeps_the_author_from_approving_her_own_post_even_as_reviewer():
    manager = staff_login("practice_manager")
    post = BlogPostFactory(status=PostStatus.DRAFT, author__user=manager.user)
    from bloom.workflow import content_submit

    content_submit(obj=post, user=staff_login("content_editor").user)
    page = _step(manager, post, "approve").content.decode()
    post.refresh_from_db()
    assert post.status == PostStatus.IN_REVIEW
    assert "two-person rule is on for blog posts" in page


def test_the_blog_has_no_second_workflow_of_its_own():
    manager = staff_login("practice_manager")
    post = BlogPostFactory(status=PostStatus.IN_REVIEW)
    change = manager.get(reverse("admin:content_blogpost_change", args=[post.pk])).content.decode()
    assert "Approval and publishing" in change
    assert 'id="workflow-heading"' not in change and 'name="action" value="approve"' not in change
    changelist = manager.get(reverse("admin:content_blogpost_changelist")).content.decode()
    for retired in ("approve_posts", "publish_posts", "submit_for_review"):
        assert f'value="{retired}"' not in changelist
    # The old one-URL-for-every-step endpoint is gone (only /workflow/<action>/ acts): posting to it changes nothing.
    old = manager.post(f"/admin/content/blogpost/{post.pk}/workflow/", {"action": "approve"})
    assert old.status_code in (302, 404)  # the admin's catch-all sends an unknown path to its index
    assert BlogPost.objects.get(pk=post.pk).status == PostStatus.IN_REVIEW
