from django.apps import AppConfig


class WorkshopsConfig(AppConfig):
    name = "workshops"
    verbose_name = "Workshops"

    def ready(self) -> None:
        from . import privacy

        privacy.register()  # the personal-data registry (docs/adr/0320)
        from accounts.assignables import register_assignable
        from accounts.calendar import register_calendar_source
        from accounts.dashboard import DashboardPanel, register_panel
        from billing.registry import register_purchase_kind

        from . import assignables, calendar, selectors, services

        register_calendar_source("workshops", calendar.workshop_calendar_source)  # docs/calendar.md

        register_assignable(assignables.WORKSHOP)  # a clinician can suggest a workshop to a client

        register_panel(
            DashboardPanel(
                key="workshops",
                title="Your workshops",
                order=20,
                template="workshops/_dashboard_panel.html",
                context=lambda member: {
                    "registrations": selectors.registration_list_upcoming_for_member(member=member)
                },
            )
        )
        register_purchase_kind(
            services.PURCHASE_KIND,
            on_paid=services.registration_payment_succeeded,
            on_failed=services.registration_payment_failed,
            on_refunded=services.registration_payment_refunded,
        )
