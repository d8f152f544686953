"""Data retention for courses (docs/adr/0350): a member with access to a course keeps all her rows (HOLDS)."""

from bloom.retention import RetentionHold

from .models import CourseEnrollment

HOLDS = [
    RetentionHold(
        name="active course enrollment",
        users=lambda now: CourseEnrollment.objects.with_access().values("user_id"),
    )
]
