from django.apps import AppConfig
from django.db.models.signals import post_migrate


class BloomConfig(AppConfig):
    name = "bloom"
    verbose_name = "Bloom platform"

    def ready(self):
        from bloom.beat import install_beat_schedule

        post_migrate.connect(install_beat_schedule, sender=self, dispatch_uid="bloom-beat-schedule")
