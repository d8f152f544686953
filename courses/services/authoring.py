"""Staff: publishing, archiving and deleting courses; saving lessons with their version history."""

from __future__ import annotations

from django.db import transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from bloom.exceptions import ApplicationError

from ..content import slides_clean, video_embed_url
from ..models import (
    Course,
    CourseContentVersion,
    CourseLesson,
    PublishStatus,
)
from .progress import course_progress_recompute


def course_publish(*, course: Course) -> Course:
    """Publish the course (idempotent). Refused (ApplicationError) while it has no published lesson:
    members could enroll, or pay, for an empty course."""
    if course.status != PublishStatus.PUBLISHED:
        refusal = course.publish_refusal()
        if refusal:
            raise ApplicationError(refusal)
        course.status = PublishStatus.PUBLISHED
        course.published_at = course.published_at or timezone.now()
        course.save(update_fields=["status", "published_at", "updated_at"])
    return course


def course_unpublish(*, course: Course) -> Course:
    if course.status != PublishStatus.DRAFT:
        course.status = PublishStatus.DRAFT
        course.save(update_fields=["status", "updated_at"])
    return course


def course_archive(*, course: Course) -> Course:
    """Hide the course from the catalog. Enrollments are untouched: members keep their access."""
    course.archive()
    return course


def course_restore(*, course: Course) -> Course:
    course.restore()
    return course


def course_delete(*, course: Course) -> None:
    """Delete a course nobody holds. Refused (ApplicationError) while it has enrollments, certificates or legacy purchases."""
    held = course.enrollments.count()
    if held:
        raise ApplicationError(
            f'"{course.title}" has {held} enrollment{"s" if held != 1 else ""} and cannot be deleted. '
            "Archive it instead: it leaves the catalog and members keep their access."
        )
    try:
        with transaction.atomic():
            course.delete()
    except ProtectedError as exc:
        raise ApplicationError(
            f'"{course.title}" is still referenced ({len(exc.protected_objects)} rows such as discount codes '
            "or legacy purchases) and cannot be deleted. Archive it instead."
        ) from exc


SNAPSHOT_FIELDS = ("title", "summary", "slides", "video_url", "status", "is_preview", "duration_minutes")


def lesson_snapshot(lesson: CourseLesson) -> dict:
    return {name: getattr(lesson, name) for name in SNAPSHOT_FIELDS}


def lesson_save(*, lesson: CourseLesson, changed_by=None, change_summary: str = "") -> CourseLesson:
    """Save a staff edit of a lesson and keep its history.

    Slides are sanitised and the video address checked (ApplicationError when not an
    allowed embed URL). A course_content_versions row is written when the snapshot
    (title, slides, video ...) differs from the latest version, numbered under the lesson's
    row lock. When the set of counted lessons changes (new, published, archived, moved),
    every enrollment's percent is recomputed; completions and certificates stay.
    """
    lesson.slides = slides_clean(lesson.slides)
    lesson.video_url = (lesson.video_url or "").strip()
    if lesson.video_url and video_embed_url(lesson.video_url) is None:
        raise ApplicationError("Only YouTube or Vimeo embed addresses can be used for a lesson video.")
    with transaction.atomic():
        before = None
        if not lesson._state.adding:
            before = (
                CourseLesson.all_objects.select_for_update()
                .filter(pk=lesson.pk)
                .values("status", "archived_at", "module__course_id")
                .first()
            )
        lesson.save()
        _version_record(lesson=lesson, changed_by=changed_by, change_summary=change_summary)
        course_id = CourseLesson.all_objects.filter(pk=lesson.pk).values_list("module__course_id", flat=True).get()
        changed = before is None or (
            before["status"] != lesson.status
            or before["archived_at"] != lesson.archived_at
            or before["module__course_id"] != course_id
        )
        if changed:
            course_progress_recompute(course_id=course_id)
            if before is not None and before["module__course_id"] != course_id:
                course_progress_recompute(course_id=before["module__course_id"])
    return lesson


def _version_record(*, lesson: CourseLesson, changed_by, change_summary: str) -> CourseContentVersion | None:
    snapshot = lesson_snapshot(lesson)
    latest = lesson.versions.order_by("-version_number").first()
    if latest is not None and latest.snapshot == snapshot:
        return None
    return CourseContentVersion.objects.create(
        lesson=lesson,
        version_number=(latest.version_number + 1) if latest else 1,
        snapshot=snapshot,
        change_summary=change_summary[:300],
        changed_by=changed_by if changed_by is not None and changed_by.is_authenticated else None,
    )


def lesson_version_restore(*, version: CourseContentVersion, restored_by) -> CourseLesson:
    """Put a lesson back to a saved version; the restore itself becomes a new version."""
    lesson = CourseLesson.all_objects.get(pk=version.lesson_id)
    for name in SNAPSHOT_FIELDS:
        if name in version.snapshot:
            setattr(lesson, name, version.snapshot[name])
    return lesson_save(
        lesson=lesson, changed_by=restored_by, change_summary=f"Restored version {version.version_number}"
    )


def lesson_archive(*, lesson: CourseLesson, changed_by=None) -> CourseLesson:
    lesson.archived_at = lesson.archived_at or timezone.now()
    return lesson_save(lesson=lesson, changed_by=changed_by, change_summary="Archived")


def lesson_restore(*, lesson: CourseLesson, changed_by=None) -> CourseLesson:
    lesson.archived_at = None
    return lesson_save(lesson=lesson, changed_by=changed_by, change_summary="Restored from archive")
