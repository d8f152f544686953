from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "courses"
    verbose_name = "Courses"

    def ready(self) -> None:
        from . import privacy

        privacy.register()  # the personal-data registry (docs/adr/0320)
        from accounts.activity import register_activity_source
        from accounts.assignables import register_assignable
        from accounts.dashboard import DashboardPanel, register_panel
        from accounts.services import register_pause_shift_handler
        from billing.registry import register_purchase_kind
        from notifications.registry import register_sequence_stop_check

        from . import (
            assignables,
            receivers,  # noqa: F401  (allauth's email_confirmed)
            selectors,
            services,
        )

        register_purchase_kind(
            services.PURCHASE_KIND,
            on_paid=services.enrollment_payment_succeeded,
            on_failed=services.enrollment_payment_failed,
            on_refunded=services.enrollment_payment_refunded,
        )
        register_sequence_stop_check("purchased", selectors.member_has_purchased_course)
        # A member's pause moves her course access expiries by the pause (drips are computed).
        register_pause_shift_handler(services.enrollment_access_expiries_shift)
        # Courses and lessons a clinician can suggest to a client (docs/accounts.md).
        register_assignable(assignables.COURSE)
        from .models import CourseProgress

        # lessons count as showing up
        register_activity_source(selectors.activity_days_for_member, models=(CourseProgress,))
        register_assignable(assignables.LESSON)
        # Lessons, modules and courses go through review (docs/courses.md "Approval and scheduling").
        from bloom.workflow import register_workflow_kind

        from . import workflow

        for kind in (workflow.LESSON, workflow.MODULE, workflow.COURSE):
            register_workflow_kind(kind)
        register_panel(
            DashboardPanel(
                key="courses",
                title="Your courses",
                order=10,
                template="courses/_dashboard_panel.html",
                context=lambda member: {"stats": list(selectors.enrollment_list_for_member(member=member))},
            )
        )
