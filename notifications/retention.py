"""Data retention for the outbox (docs/adr/0081).

Finished emails keep their row (campaign metrics and automation logs point at it, and the
recipient, subject, status and dates stay as the record of what was sent), but their bodies
and template context, which can hold health details, are emptied after
BLOOM_RETENTION_DAYS["email_bodies"].
"""

from django.db.models import Q, Value
from django.db.models.fields.json import JSONField

from bloom.retention import RetentionPolicy

from .models import EmailQueue, EmailStatus

FINISHED = [EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.CANCELLED]


def _finished_with_bodies(cutoff):
    has_content = ~Q(text_body="") | ~Q(html_body="") | ~Q(context={})
    return EmailQueue.objects.filter(has_content, status__in=FINISHED, created_at__lt=cutoff)


def _redact(queryset) -> int:
    return queryset.update(text_body="", html_body="", context=Value({}, JSONField()))


POLICIES = [
    RetentionPolicy(
        name="email_queue bodies of finished mail",
        setting="email_bodies",
        find=_finished_with_bodies,
        apply=_redact,
        action="empty text_body, html_body and context",
    )
]
