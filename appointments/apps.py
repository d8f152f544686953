from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"
    verbose_name = "Appointments and therapists"

    def ready(self) -> None:
        from . import privacy

        privacy.register()  # the personal-data registry (docs/adr/0320)
        from accounts.calendar import register_calendar_source
        from accounts.care_team import register_care_team_filter
        from accounts.dashboard import DashboardPanel, register_panel
        from accounts.risk import register_clinician_lookup
        from billing.registry import register_purchase_kind

        from . import calendar, services
        from .selectors import appointment_next_for_member, care_team_members_q, clinician_for_member

        for kind in services.PURCHASE_KINDS:
            register_purchase_kind(
                kind,
                on_paid=services.appointment_payment_succeeded,
                on_failed=services.appointment_payment_failed,
                on_refunded=services.appointment_payment_refunded,
            )

        register_calendar_source("appointments", calendar.appointment_calendar_source)  # docs/calendar.md

        register_panel(
            DashboardPanel(
                key="appointments",
                title="Your sessions",
                order=40,
                template="appointments/_dashboard_panel.html",
                context=lambda member: {"appointments": appointment_next_for_member(member=member)},
            )
        )

        # A member's clinician, for crisis routing in accounts (docs/adr/0102).
        register_clinician_lookup(clinician_for_member)
        # The therapist of any of her sessions is in her care team (accounts/care_team.py).
        register_care_team_filter(care_team_members_q)
