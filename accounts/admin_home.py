"""accounts' cards on the admin home (bloom/admin_home.py): risk alerts and data requests."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from bloom.admin_home import Card, counted_lines

from .models import DataRequest, DataRequestStatus, RiskAlert
from .roles import risk_alerts_in_scope

# A member's data request is answered within one month of her asking (selectors.data_request_deadline);
# the home warns as far ahead as the reminder emails do (BLOOM_DATA_REQUEST_REMINDER_DAYS, default 7).


def a_month_before(moment: datetime) -> datetime:
    """The same time one calendar month earlier (the 31st becomes the month's last day)."""
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


def data_request_deadline_q(deadline: str, *, now: datetime | None = None) -> Q:
    """Pending requests whose deadline (asked + one month) has passed ("overdue") or falls in
    the next BLOOM_DATA_REQUEST_REMINDER_DAYS days ("soon")."""
    now = now or timezone.now()
    pending = Q(status=DataRequestStatus.PENDING)
    if deadline == "overdue":
        return pending & Q(requested_at__lt=a_month_before(now))
    soon = now + timedelta(days=settings.BLOOM_DATA_REQUEST_REMINDER_DAYS)
    return pending & Q(requested_at__gte=a_month_before(now), requested_at__lt=a_month_before(soon))


def _risk_alert_lines(request):
    open_ = Q(acknowledged_at__isnull=True)
    # The count is of the alerts the reader's list shows (a clinician: her clients' and hers).
    return counted_lines(
        risk_alerts_in_scope(RiskAlert.objects.filter(open_), staff_user=request.user),
        [
            (open_, "{n} waiting for a clinician", {"status": "open"}),
            (Q(escalated_at__isnull=False), "{n} escalated to the owner", {"status": "escalated"}),
        ],
    )


def _data_request_lines(request):
    now = timezone.now()
    return counted_lines(
        DataRequest.objects.filter(status=DataRequestStatus.PENDING),
        [
            (data_request_deadline_q("overdue", now=now), "{n} past the one-month deadline", {"deadline": "overdue"}),
            (
                data_request_deadline_q("soon", now=now),
                f"{{n}} due within {settings.BLOOM_DATA_REQUEST_REMINDER_DAYS} days",
                {"deadline": "soon"},
            ),
        ],
    )


CARDS = [
    Card(
        "risk-alerts", "Crisis and risk alerts to acknowledge", "accounts.view_riskalert", _risk_alert_lines, order=10
    ),
    Card("data-requests", "Data requests by deadline", "accounts.view_datarequest", _data_request_lines, order=40),
]
