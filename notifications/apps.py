from django.apps import AppConfig
from django.db.models.signals import post_migrate


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications and email"

    def ready(self) -> None:
        from . import privacy

        privacy.register()  # the personal-data registry (docs/adr/0320)
        from . import webhooks  # noqa: F401 - connects the anymail tracking signal
        from .defaults import install_default_sequences

        post_migrate.connect(install_default_sequences, sender=self, dispatch_uid="notifications-default-sequences")
