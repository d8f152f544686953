from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class BloomAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with Bloom's site: the admin home and sections (bloom/admin_site.py)."""

    default = False  # named in INSTALLED_APPS; BloomConfig stays bloom's own config
    default_site = "bloom.admin_site.BloomAdminSite"


class BloomConfig(AppConfig):
    default = True
    name = "bloom"
    verbose_name = "Bloom platform"

    def ready(self):
        from bloom import audit, constraints, privacy
        from bloom.beat import install_beat_schedule
        from bloom.logging import connect_celery_signals

        constraints.install()  # every constraint tells staff a sentence naming its field (docs/adr/0240)
        privacy.register()  # the personal-data registry (docs/adr/0320)
        connect_celery_signals()  # task id, name and timing on a task's log lines (docs/adr/0152)

        post_migrate.connect(install_beat_schedule, sender=self, dispatch_uid="bloom-beat-schedule")
        # Every audited table, including ones a later migration adds, carries the trail's trigger (ADR 0310).
        post_migrate.connect(audit.install_after_migrate, sender=self, dispatch_uid="bloom-audit-triggers")
        audit.connect_signals()  # who is acting, written to the session before a write (ADR 0310)
