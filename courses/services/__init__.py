"""Writes for courses, one module per sub-domain; import the package: `from courses import services`.

discounts     discount codes and affiliate ids
enrollment    enrollment, the payment outcomes billing reports, legacy purchases, staff access changes
progress      lesson views and completions, percent, milestones (the seed's update_course_progress)
certificates  issue, name, download, revoke
authoring     staff: publish, archive, delete courses; save lessons with their versions
activity      the course activity log rows the others write

Row locks: the enrollment row serialises one member's place in a course (payments, refunds,
progress); the discount code row serialises its uses. Notices go through
notifications.services in the same transaction (the outbox).
"""

from .authoring import (
    SNAPSHOT_FIELDS,
    course_archive,
    course_delete,
    course_publish,
    course_restore,
    course_unpublish,
    lesson_archive,
    lesson_restore,
    lesson_save,
    lesson_snapshot,
    lesson_version_restore,
)
from .certificates import certificate_download, certificate_issue, certificate_name_set, certificate_revoke
from .discounts import (
    DiscountCodeError,
    affiliate_clean,
    discount_code_check,
    discount_code_redeem,
    discount_code_save,
)
from .enrollment import (
    PURCHASE_KIND,
    STAFF_CLOSED_MESSAGE,
    EnrollmentStart,
    course_users_link,
    enrollment_access_expiries_shift,
    enrollment_access_restore,
    enrollment_access_revoke,
    enrollment_payment_failed,
    enrollment_payment_refunded,
    enrollment_payment_succeeded,
    enrollment_start,
)
from .progress import (
    MAX_TIME_PER_CALL,
    LessonView,
    course_progress_recompute,
    course_progress_update,
    lesson_view_record,
)

__all__ = [
    "DiscountCodeError",
    "EnrollmentStart",
    "MAX_TIME_PER_CALL",
    "PURCHASE_KIND",
    "SNAPSHOT_FIELDS",
    "STAFF_CLOSED_MESSAGE",
    "affiliate_clean",
    "certificate_download",
    "certificate_issue",
    "certificate_name_set",
    "certificate_revoke",
    "course_archive",
    "course_delete",
    "course_progress_recompute",
    "course_progress_update",
    "lesson_view_record",
    "LessonView",
    "course_publish",
    "course_restore",
    "course_unpublish",
    "course_users_link",
    "discount_code_check",
    "discount_code_redeem",
    "discount_code_save",
    "enrollment_access_expiries_shift",
    "enrollment_access_restore",
    "enrollment_access_revoke",
    "enrollment_payment_failed",
    "enrollment_payment_refunded",
    "enrollment_payment_succeeded",
    "enrollment_start",
    "lesson_archive",
    "lesson_restore",
    "lesson_save",
    "lesson_snapshot",
    "lesson_version_restore",
]
