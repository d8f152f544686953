"""Courses' part of the personal-data registry (bloom/privacy.py; docs/adr/0320)."""

from __future__ import annotations

from bloom.privacy import Erase, PersonalDataEntry, privacy_not_personal, privacy_register

PURCHASE = (
    "A purchase record: tax and accounting law (US IRS 26 CFR 1.6001-1, UK HMRC six years) keeps it; "
    "kept on the anonymous account without her name or address."
)


def register() -> None:
    user = ("user",)
    privacy_register(
        PersonalDataEntry(
            "courses.CourseUser",
            ("auth_user", "email"),
            Erase.KEEP_PSEUDONYMISED,
            reason=PURCHASE,
            scrub={"email": lambda row: f"erased-{row.pk}@deleted.invalid", "name": ""},
        ),
        PersonalDataEntry("courses.CourseEnrollment", user, Erase.KEEP_PSEUDONYMISED, reason=PURCHASE),
        PersonalDataEntry("courses.CourseProgress", user, Erase.DELETE, order=45),
        PersonalDataEntry("courses.LessonCompletionDetail", ("progress__user",), Erase.DELETE, order=40),
        PersonalDataEntry("courses.CourseMilestone", user, Erase.DELETE),
        PersonalDataEntry("courses.CourseActivityLog", user, Erase.DELETE),
        PersonalDataEntry("courses.CourseCertificate", user, Erase.DELETE),
    )
    for model in (
        "courses.Course",
        "courses.CourseModule",
        "courses.CourseLesson",
        "courses.CourseResource",
        "courses.CourseContentVersion",
        "courses.CourseDiscountCode",
    ):
        privacy_not_personal(model, "Course material made by staff; the user link is the staff author.")
    for model in ("courses.UserCourseStats", "courses.CourseOverview"):
        privacy_not_personal(model, "A read-only database view over registered tables; erased with them.")
