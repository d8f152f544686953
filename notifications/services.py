"""The messaging service (ARCHITECTURE.md). Placeholder interface: the outbox arrives with issue 4."""

from django.db import models


class EmailCategory(models.TextChoices):
    TRANSACTIONAL = "transactional", "Transactional"
    CLINICAL = "clinical", "Clinical"
    MARKETING = "marketing", "Marketing"


class EmailPriority(models.IntegerChoices):
    HIGH = 10, "High"
    NORMAL = 50, "Normal"
    LOW = 90, "Low"


def queue_email(
    *,
    to,
    subject="",
    text_body="",
    html_body="",
    user=None,
    category=EmailCategory.TRANSACTIONAL,
    priority=EmailPriority.NORMAL,
    **kwargs,
):
    raise NotImplementedError("notifications outbox not built yet")
