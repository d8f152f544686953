"""Data retention for analytics (docs/adr/0081): events go after BLOOM_RETENTION_DAYS["analytics_events"]."""

from bloom.retention import RetentionPolicy, delete_rows

from .models import AnalyticsEvent

POLICIES = [
    RetentionPolicy(
        name="analytics_events older than the limit",
        setting="analytics_events",
        find=lambda cutoff: AnalyticsEvent.objects.filter(created_at__lt=cutoff),
        apply=delete_rows,
        action="delete",
    )
]
