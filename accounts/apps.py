from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and members"

    def ready(self) -> None:
        from . import panels, receivers  # noqa: F401  (allauth signals)

        panels.register()
