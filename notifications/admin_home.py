"""notifications' card on the admin home (bloom/admin_home.py): failed and stuck email."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from bloom.admin_home import Card, counted_lines

from .models import EmailQueue, EmailStatus

# The drain runs every minute; an email still waiting (or still "sending") this long after its
# time has lost its worker or its lease and needs a look.
STUCK_AFTER = timedelta(minutes=15)


def email_stuck_q(*, now: datetime | None = None) -> Q:
    """Emails queued or being sent whose time passed more than STUCK_AFTER ago."""
    now = now or timezone.now()
    return Q(status__in=[EmailStatus.PENDING, EmailStatus.SENDING], scheduled_at__lt=now - STUCK_AFTER)


def _email_lines(request):
    minutes = int(STUCK_AFTER.total_seconds() // 60)
    return counted_lines(
        EmailQueue.objects.filter(status__in=[EmailStatus.FAILED, EmailStatus.PENDING, EmailStatus.SENDING]),
        [
            (Q(status=EmailStatus.FAILED), "{n} failed", {"status__exact": EmailStatus.FAILED}),
            (email_stuck_q(), f"{{n}} stuck in the queue for more than {minutes} minutes", {"stuck": "yes"}),
        ],
    )


CARDS = [Card("email", "Email that did not go out", "notifications.view_emailqueue", _email_lines, order=50)]
