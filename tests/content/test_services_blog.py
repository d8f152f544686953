import pytest

from bloom.exceptions import ApplicationError
from content import services
from content.models import ApprovalDecision, BlogPost, ContentApproval, PostStatus
from tests.factories.content import AnalyticsEventFactory, BlogPostFactory

pytestmark = pytest.mark.django_db


def _draft(editor, **fields) -> BlogPost:
    values = {"title": "Sleep and mood after birth", "slug": "sleep-and-mood", "body": "<p>Rest matters.</p>", **fields}
    return services.blog_post_save(post=BlogPost(**values), editor=editor)


def test_save_strips_scripts_handlers_and_javascript_urls(editor):
    post = _draft(
        editor,
        body='<p onclick="steal()">Hi <a href="javascript:alert(1)">link</a></p><script>alert(1)</script>'
        '<img src="https://img.example/x.png" onerror="alert(2)"><h2>Kept</h2>',
    )
    post.refresh_from_db()
    assert "script" not in post.body and "alert" not in post.body
    assert "onclick" not in post.body and "onerror" not in post.body
    assert "javascript:" not in post.body
    assert "<h2>Kept</h2>" in post.body
    assert '<img src="https://img.example/x.png">' in post.body


def test_every_staff_save_writes_a_numbered_version_and_scores_seo(editor):
    post = _draft(editor)
    assert post.status == PostStatus.DRAFT
    assert post.author == editor.admin_user
    low_score = post.seo_score
    post.meta_description = "x" * 140
    post.title = "How to recognise postpartum depression early on"
    services.blog_post_save(post=post, editor=editor)
    versions = list(post.versions.order_by("version_number"))
    assert [v.version_number for v in versions] == [1, 2]
    assert versions[0].snapshot["title"] == "Sleep and mood after birth"
    assert versions[1].editor == editor
    post.refresh_from_db()
    assert post.seo_score > low_score


def test_restoring_a_version_brings_back_its_text_as_a_new_version(editor):
    post = _draft(editor)
    post.body = "<p>Rewritten.</p>"
    services.blog_post_save(post=post, editor=editor)
    first = post.versions.get(version_number=1)
    services.blog_post_version_restore(version=first, editor=editor)
    post.refresh_from_db()
    assert post.body == "<p>Rest matters.</p>"
    assert post.versions.count() == 3
    assert post.versions.get(version_number=3).note == "Restored version 1."


def test_an_edit_cannot_change_status(editor):
    post = _draft(editor)
    post.status = PostStatus.PUBLISHED
    services.blog_post_save(post=post, editor=editor)
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT and post.published_at is None


def test_full_workflow_by_editor_and_publisher(editor, publisher):
    post = _draft(editor)
    approval = services.blog_post_submit_for_review(post=post, user=editor, comment="Ready")
    assert approval.decision == ApprovalDecision.PENDING and approval.requested_by == editor
    services.blog_post_approve(post=post, reviewer=publisher, comment="Clinically accurate")
    approval.refresh_from_db()
    assert approval.decision == ApprovalDecision.APPROVED
    assert approval.reviewer == publisher and approval.decided_at is not None
    services.blog_post_publish(post=post, user=publisher)
    post.refresh_from_db()
    assert post.status == PostStatus.PUBLISHED and post.published_at is not None


def test_editor_without_publish_permission_cannot_approve_or_publish(editor, publisher):
    post = _draft(editor)
    services.blog_post_submit_for_review(post=post, user=editor)
    with pytest.raises(ApplicationError, match="publish permission"):
        services.blog_post_approve(post=post, reviewer=editor)
    post.refresh_from_db()
    assert post.status == PostStatus.IN_REVIEW
    services.blog_post_approve(post=post, reviewer=publisher)
    with pytest.raises(ApplicationError, match="publish permission"):
        services.blog_post_publish(post=post, user=editor)
    post.refresh_from_db()
    assert post.status == PostStatus.APPROVED and post.published_at is None


def test_a_draft_cannot_skip_review(publisher):
    post = _draft(publisher)
    with pytest.raises(ApplicationError, match="Only approved posts"):
        services.blog_post_publish(post=post, user=publisher)
    with pytest.raises(ApplicationError, match="Only posts in review"):
        services.blog_post_approve(post=post, reviewer=publisher)


def test_requesting_changes_needs_a_comment_and_returns_the_post_to_draft(editor, publisher):
    post = _draft(editor)
    services.blog_post_submit_for_review(post=post, user=editor)
    with pytest.raises(ApplicationError, match="what should change"):
        services.blog_post_request_changes(post=post, reviewer=publisher, comment=" ")
    approval = services.blog_post_request_changes(post=post, reviewer=publisher, comment="Add crisis line")
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT
    assert approval.decision == ApprovalDecision.CHANGES_REQUESTED and "Add crisis line" in approval.comment
    # It can be submitted again: one open review per post at a time.
    services.blog_post_submit_for_review(post=post, user=editor)
    assert ContentApproval.objects.filter(post=post, decision=ApprovalDecision.PENDING).count() == 1


def test_editing_an_approved_post_sends_it_back_to_draft(editor, publisher):
    post = _draft(editor)
    services.blog_post_submit_for_review(post=post, user=editor)
    services.blog_post_approve(post=post, reviewer=publisher)
    post.refresh_from_db()
    post.body = "<p>Changed after approval.</p>"
    services.blog_post_save(post=post, editor=editor)
    post.refresh_from_db()
    assert post.status == PostStatus.DRAFT


def test_only_publishers_may_edit_a_published_post(editor, publisher):
    post = BlogPostFactory(published=True)
    post.body = "<p>Sneaky change</p>"
    with pytest.raises(ApplicationError, match="only staff who may publish"):
        services.blog_post_save(post=post, editor=editor)
    post.refresh_from_db()
    assert "Sneaky" not in post.body
    post.body = "<p>Typo fixed</p>"
    services.blog_post_save(post=post, editor=publisher)
    post.refresh_from_db()
    assert post.body == "<p>Typo fixed</p>" and post.status == PostStatus.PUBLISHED


def test_archive_withdraws_the_open_review_and_hides_the_post(editor, publisher, client):
    post = _draft(editor)
    services.blog_post_submit_for_review(post=post, user=editor)
    services.blog_post_archive(post=post, user=editor)
    assert not BlogPost.objects.filter(pk=post.pk).exists()
    assert BlogPost.all_objects.get(pk=post.pk).status == PostStatus.ARCHIVED
    assert ContentApproval.objects.get(post=post).decision == ApprovalDecision.WITHDRAWN
    services.blog_post_restore(post=post, user=editor)
    assert BlogPost.objects.get(pk=post.pk).status == PostStatus.DRAFT


def test_archiving_a_published_post_needs_a_publisher(editor):
    post = BlogPostFactory(published=True)
    with pytest.raises(ApplicationError):
        services.blog_post_archive(post=post, user=editor)
    assert BlogPost.objects.filter(pk=post.pk).exists()


def test_delete_is_refused_while_analytics_point_at_the_post():
    post = BlogPostFactory(published=True)
    AnalyticsEventFactory(blog_post=post)
    with pytest.raises(ApplicationError, match="archive it instead"):
        services.blog_post_delete(post=post)
    assert BlogPost.all_objects.filter(pk=post.pk).exists()
    unreferenced = BlogPostFactory()
    services.blog_post_delete(post=unreferenced)
    assert not BlogPost.all_objects.filter(pk=unreferenced.pk).exists()
