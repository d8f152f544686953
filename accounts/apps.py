from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and members"

    def ready(self) -> None:
        from . import privacy

        privacy.register()  # the personal-data registry (docs/adr/0320)
        from . import panels, receivers  # noqa: F401  (allauth signals)

        panels.register()

        from notifications.services import register_pause_check, register_unsubscribe_handler

        from .selectors import member_is_paused, members_paused_many
        from .services import marketing_unsubscribed

        # An unsubscribe link (or a complaint) is a recorded marketing withdrawal (docs/accounts.md "Consent").
        register_unsubscribe_handler(marketing_unsubscribed)

        # Newsletters and nudges are not queued to a member on a pause (docs/accounts.md).
        register_pause_check(member_is_paused, many=members_paused_many)
