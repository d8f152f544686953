from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing and payments"

    def ready(self) -> None:
        from . import privacy

        privacy.register()  # the personal-data registry (docs/adr/0320)
        from accounts.dashboard import DashboardPanel, register_panel

        register_panel(
            DashboardPanel(
                key="billing",
                title="Billing",
                template="billing/_dashboard_panel.html",
                context=_dashboard_context,
                order=80,
            )
        )


def _dashboard_context(member) -> dict:
    from . import selectors

    summary = selectors.payment_summary_for_member(member=member)
    return {"summary": summary, "needs_action": summary.needs_action_count if summary else 0}
