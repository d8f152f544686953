"""Blog posts and the approval workflow (docs/adr/0070): edits, versions, review, publication, archive."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.db.models import F, Max, ProtectedError
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.sanitize import BLOG, sanitize_html

from ..models import AnalyticsEvent, ApprovalDecision, BlogPost, BlogPostVersion, ContentApproval, PostStatus
from ..selectors import user_is_publisher
from ..seo import seo_evaluate

if TYPE_CHECKING:
    from accounts.models import User


SNAPSHOT_FIELDS = (
    "title",
    "slug",
    "excerpt",
    "body",
    "cover_image_url",
    "seo_title",
    "meta_description",
    "canonical_url",
    "tags",
)


def _snapshot(post: BlogPost) -> dict:
    data = {name: getattr(post, name) for name in SNAPSHOT_FIELDS}
    data["tags"] = list(data["tags"] or [])
    data["author_id"] = str(post.author_id) if post.author_id else None
    return data


def _lock_post(post: BlogPost) -> BlogPost:
    return BlogPost.all_objects.select_for_update().get(pk=post.pk)


def _latest_version_number(post: BlogPost) -> int:
    return post.versions.aggregate(n=Max("version_number"))["n"] or 0


@transaction.atomic
def blog_post_save(*, post: BlogPost, editor: User, note: str = "") -> BlogPost:
    """Save a staff member's edit of a post and write its next `blog_post_versions` snapshot.

    Guarantees: the body is sanitised and the SEO score recomputed; status, publication
    date and archive state never change through an edit (only workflow services move
    them); a published post can only be edited by someone who may publish; editing an
    approved post sends it back to draft (the approval was for other words). Locks the
    post row, so version numbers never collide.
    """
    post.body = sanitize_html(post.body, BLOG)
    post.excerpt = (post.excerpt or "").strip()
    post.tags = sorted({tag.strip().lower() for tag in post.tags or [] if tag.strip()})
    if post._state.adding:
        post.status, post.published_at, post.archived_at = PostStatus.DRAFT, None, None
        if post.author_id is None:
            post.author = getattr(editor, "admin_user", None)
    else:
        previous = _lock_post(post)
        post.status, post.published_at, post.archived_at = previous.status, previous.published_at, previous.archived_at
        changed = _snapshot(previous) != _snapshot(post)
        if changed and previous.status == PostStatus.PUBLISHED and not user_is_publisher(user=editor):
            raise ApplicationError("This post is published: only staff who may publish can change it.")
        if changed and previous.status == PostStatus.APPROVED:
            post.status = PostStatus.DRAFT
            note = note or "Edited after approval: back to draft for a new review."
    post.seo_score = seo_evaluate(
        title=post.title, seo_title=post.seo_title, meta_description=post.meta_description, body=post.body
    ).score
    try:
        with transaction.atomic():
            post.save()
    except IntegrityError as exc:
        raise ApplicationError("Another post already uses this slug.") from exc
    BlogPostVersion.objects.create(
        post=post,
        version_number=_latest_version_number(post) + 1,
        snapshot=_snapshot(post),
        editor=editor,
        note=note[:200],
    )
    return post


@transaction.atomic
def blog_post_version_restore(*, version: BlogPostVersion, editor: User) -> BlogPost:
    """Put a post's editable fields back to an earlier snapshot, as a new version.

    The same rules as any edit apply (a published post needs a publisher).
    """
    post = _lock_post(version.post)
    for name in SNAPSHOT_FIELDS:
        if name in version.snapshot:
            setattr(post, name, version.snapshot[name])
    return blog_post_save(post=post, editor=editor, note=f"Restored version {version.version_number}.")


def _require_publisher(user, action: str) -> None:
    if not user_is_publisher(user=user):
        raise ApplicationError(f"You need the publish permission to {action} posts.")


def _pending_approval(post: BlogPost) -> ContentApproval | None:
    return ContentApproval.objects.select_for_update().filter(post=post, decision=ApprovalDecision.PENDING).first()


def content_approval_open(*, post: BlogPost, requested_by: User | None, comment: str = "") -> ContentApproval:
    """The post's one pending `content_approvals` row: opened for the latest version, or the one
    already open (a second submission adds nothing). The caller holds the post's row lock."""
    return _pending_approval(post) or ContentApproval.objects.create(
        post=post,
        requested_by=requested_by,
        comment=comment.strip(),
        version_number=_latest_version_number(post) or None,
    )


def content_approval_close(
    *, post: BlogPost, reviewer: User | None, decision: str, comment: str = ""
) -> ContentApproval:
    """Close the post's pending review with `decision` (one is made for a review opened before
    `content_approvals` existed), naming the version that was reviewed. The caller holds the lock."""
    approval = _pending_approval(post) or ContentApproval(post=post)
    approval.reviewer = reviewer
    approval.decision = decision
    approval.decided_at = timezone.now()
    approval.version_number = _latest_version_number(post) or None
    if comment.strip():
        approval.comment = f"{approval.comment}\n\n{comment.strip()}".strip()
    approval.save()
    return approval


@transaction.atomic
def blog_post_submit_for_review(*, post: BlogPost, user: User, comment: str = "") -> ContentApproval:
    """Move a draft to `in_review` and open its one pending `content_approvals` row."""
    post = _lock_post(post)
    if not user.has_perm("content.change_blogpost"):
        raise ApplicationError("You cannot edit blog posts.")
    if post.status != PostStatus.DRAFT:
        raise ApplicationError(f"Only drafts can be submitted for review; this post is {post.get_status_display()}.")
    approval = content_approval_open(post=post, requested_by=user, comment=comment)
    post.status = PostStatus.IN_REVIEW
    post.save(update_fields=["status", "updated_at"])
    return approval


# What closing a review with each decision does to the post, and the word for a refusal.
_REVIEW_OUTCOMES = {
    ApprovalDecision.APPROVED: (PostStatus.APPROVED, "approved"),
    ApprovalDecision.CHANGES_REQUESTED: (PostStatus.DRAFT, "sent back"),
}


def _decide(*, post: BlogPost, reviewer: User, decision: str, comment: str) -> ContentApproval:
    """Close the post's review with `decision` and move the (locked) post on; a post not in
    review is refused."""
    status, refused = _REVIEW_OUTCOMES[decision]
    post = _lock_post(post)
    if post.status != PostStatus.IN_REVIEW:
        raise ApplicationError(f"Only posts in review can be {refused}; this post is {post.get_status_display()}.")
    approval = content_approval_close(post=post, reviewer=reviewer, decision=decision, comment=comment)
    post.status = status
    post.save(update_fields=["status", "updated_at"])
    return approval


@transaction.atomic
def blog_post_approve(*, post: BlogPost, reviewer: User, comment: str = "") -> ContentApproval:
    """Approve a post in review (publishers only); it can then be published."""
    _require_publisher(reviewer, "approve")
    return _decide(post=post, reviewer=reviewer, decision=ApprovalDecision.APPROVED, comment=comment)


@transaction.atomic
def blog_post_request_changes(*, post: BlogPost, reviewer: User, comment: str) -> ContentApproval:
    """Send a post in review back to draft with the reviewer's comment (publishers only)."""
    _require_publisher(reviewer, "review")
    if not comment.strip():
        raise ApplicationError("Say what should change.")
    return _decide(post=post, reviewer=reviewer, decision=ApprovalDecision.CHANGES_REQUESTED, comment=comment)


@transaction.atomic
def blog_post_publish(*, post: BlogPost, user: User) -> BlogPost:
    """Publish an approved post (publishers only). Idempotent for a published post; the
    first publication date is kept."""
    _require_publisher(user, "publish")
    post = _lock_post(post)
    if post.status == PostStatus.PUBLISHED:
        return post
    if post.status != PostStatus.APPROVED:
        raise ApplicationError(f"Only approved posts can be published; this post is {post.get_status_display()}.")
    post.status = PostStatus.PUBLISHED
    post.published_at = post.published_at or timezone.now()
    post.save(update_fields=["status", "published_at", "updated_at"])
    return post


@transaction.atomic
def blog_post_archive(*, post: BlogPost, user: User) -> BlogPost:
    """Take a post off the site (soft delete) and withdraw any open review. Idempotent.
    Archiving a published post needs the publish permission."""
    post = _lock_post(post)
    if post.archived_at is not None:
        return post
    if post.status == PostStatus.PUBLISHED:
        _require_publisher(user, "archive published")
    ContentApproval.objects.filter(post=post, decision=ApprovalDecision.PENDING).update(
        decision=ApprovalDecision.WITHDRAWN, decided_at=timezone.now(), reviewer=user
    )
    post.status = PostStatus.ARCHIVED
    post.archived_at = timezone.now()
    post.save(update_fields=["status", "archived_at", "updated_at"])
    return post


@transaction.atomic
def blog_post_restore(*, post: BlogPost, user: User) -> BlogPost:
    """Bring an archived post back as a draft (it needs a new review to be published)."""
    post = _lock_post(post)
    if post.archived_at is None and post.status != PostStatus.ARCHIVED:
        return post
    post.status = PostStatus.DRAFT
    post.archived_at = None
    post.save(update_fields=["status", "archived_at", "updated_at"])
    return post


def blog_post_delete(*, post: BlogPost) -> None:
    """Delete a post for good, refused while analytics rows point at it (seed 4C)."""
    referenced = AnalyticsEvent.objects.filter(blog_post=post).count()
    if referenced:
        raise ApplicationError(
            f"“{post.title}” is referenced by {referenced} analytics events and cannot be deleted; archive it instead."
        )
    try:
        with transaction.atomic():
            post.delete()
    except ProtectedError as exc:
        raise ApplicationError(f"“{post.title}” is still referenced; archive it instead.") from exc


def blog_post_view_record(*, post: BlogPost) -> None:
    """Count one view with a single `UPDATE ... SET view_count = view_count + 1`."""
    BlogPost.all_objects.filter(pk=post.pk).update(view_count=F("view_count") + 1)
