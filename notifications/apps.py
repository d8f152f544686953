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
        from .services.notices import unread_count_watch

        unread_count_watch()  # the bell's kept unread count (selectors.notification_unread_count)
        from bloom.workflow import register_publish_refusal_listener, register_workflow_kind

        from . import workflow

        register_workflow_kind(workflow.EMAIL_TEMPLATE)
        register_publish_refusal_listener(workflow.publish_refused_alert)  # staff told when beat is refused
