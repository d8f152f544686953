from django.apps import AppConfig


class BloomConfig(AppConfig):
    name = "bloom"
    verbose_name = "Bloom platform"
