"""Orphaned course data (seed section 4C; see bloom/orphans.py).

Enrollments of an archived course are NOT orphans: members hold them and keep access
(PROTECT keeps the course row). Orphans are rows that no longer fit what they point at.
"""

from allauth.account.models import EmailAddress
from django.db.models import F, OuterRef, Q, Subquery
from django.utils import timezone

from bloom.orphans import OrphanCheck

from .models import CourseDiscountCode, CourseProgress, CourseUser


def _progress_on_archived_lessons():
    archived = Q(lesson__archived_at__isnull=False) | Q(lesson__module__archived_at__isnull=False)
    return CourseProgress.objects.filter(archived, enrollment__course__archived_at__isnull=True)


def _progress_outside_enrollment():
    return CourseProgress.objects.exclude(lesson__module__course_id=F("enrollment__course_id")) | (
        CourseProgress.objects.exclude(user_id=F("enrollment__user_id"))
    )


def _codes_of_archived_courses():
    now = timezone.now()
    return CourseDiscountCode.objects.filter(course__archived_at__isnull=False).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


def _unlinked_purchases_of_verified_addresses():
    verified = EmailAddress.objects.filter(email__iexact=OuterRef("email"), verified=True).values("user_id")[:1]
    return (
        CourseUser.objects.filter(auth_user__isnull=True).annotate(_user=Subquery(verified)).filter(_user__isnull=False)
    )


def _link(queryset) -> int:
    from django.contrib.auth import get_user_model

    from .services import course_users_link

    users = get_user_model().objects.in_bulk([row._user for row in queryset])
    linked = 0
    for row in queryset:
        linked += course_users_link(user=users[row._user], email=row.email)
    return linked


CHECKS = [
    OrphanCheck(
        name="course_progress on archived lessons (of courses still offered)",
        find=_progress_on_archived_lessons,
        fix=lambda qs: qs.delete()[0],
        fix_description="delete the progress rows and their details (completions of the course and certificates stay)",
    ),
    OrphanCheck(
        name="course_progress whose lesson or member does not match its enrollment",
        find=_progress_outside_enrollment,
        fix=lambda qs: CourseProgress.objects.filter(pk__in=list(qs.values_list("pk", flat=True))).delete()[0],
        fix_description="delete the mismatched progress rows",
    ),
    OrphanCheck(
        name="course_discount_codes still valid for an archived course",
        find=_codes_of_archived_courses,
        fix=lambda qs: qs.update(valid_until=timezone.now()),
        fix_description="end their validity now",
    ),
    OrphanCheck(
        name="course_users (legacy purchases) not linked to the member who verified that email",
        find=_unlinked_purchases_of_verified_addresses,
        fix=_link,
        fix_description="link them and grant the courses",
    ),
]
