"""Security events, and refused sign-ins with the owners alerted once per burst."""

from __future__ import annotations

import datetime
import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError
from django.urls import reverse

from bloom.http import client_ip
from bloom.links import absolute_url
from notifications.services import EmailPriority, email_enqueue

from ..models import (
    SecurityEvent,
    User,
)
from ..selectors import security_alert_recipient_list


def security_event_record(
    *,
    event_type: str,
    severity: str = SecurityEvent.Severity.WARNING,
    request=None,
    user: User | None = None,
    details: dict | None = None,
) -> SecurityEvent | None:
    """Write a security log row; never raises into the caller (logging must not break a request)."""
    meta = getattr(request, "META", {}) if request is not None else {}
    try:
        return SecurityEvent.objects.create(
            event_type=event_type,
            severity=severity,
            user=user if user is not None and user.is_authenticated else None,
            ip_address=client_ip(request),
            user_agent=meta.get("HTTP_USER_AGENT", "")[:500],
            path=getattr(request, "path", "")[:500],
            details=details or {},
        )
    except IntegrityError:
        return None


# Refused sign-ins: a wrong password, a wrong MFA code, or an attempt the lockout turned away.
SIGN_IN_FAILURES = ("login_failed", "login_locked_out", "mfa_failed", "mfa_locked_out")
SIGN_IN_BURST = "sign_in_burst"


def sign_in_failure_record(
    *, event_type: str, request, login: str, user: User | None = None, details: dict | None = None
) -> SecurityEvent | None:
    """Write one refused sign-in as a Security event and alert the owners if it completes a burst.

    `event_type` is one of SIGN_IN_FAILURES; `login` is the address typed (stored lower-cased,
    so failures for an address without an account are counted too); `user` is the account
    when there is one. The password or code typed is never stored.
    """
    if event_type not in SIGN_IN_FAILURES:
        raise ValueError(f"{event_type!r} is not a sign-in failure")
    event = security_event_record(
        event_type=event_type,
        request=request,
        user=user,
        details={"login": (login or "").strip().lower()[:254], **(details or {})},
    )
    if event is not None:
        sign_in_burst_alert(event=event)
    return event


def sign_in_burst_alert(*, event: SecurityEvent) -> int:
    """Alert the owners when refused sign-ins for `event`'s account or for its address reach
    BLOOM_SIGNIN_ALERT_THRESHOLD within BLOOM_SIGNIN_ALERT_WINDOW_MINUTES.

    Once per burst: an account or address named by a `sign_in_burst` event younger than the
    window is not alerted again, and each mail's idempotency key names the burst's first
    failure, so two requests at the same moment cannot both send. A burst that goes on alerts
    again one window later. One alert names every account and address it is about; it writes one
    critical `sign_in_burst` event and queues one mail per recipient (high priority).
    Returns the number of mails queued.
    """
    window = datetime.timedelta(minutes=settings.BLOOM_SIGNIN_ALERT_WINDOW_MINUTES)
    since = event.created_at - window
    failures = SecurityEvent.objects.filter(
        event_type__in=SIGN_IN_FAILURES, created_at__gt=since, created_at__lte=event.created_at
    )
    candidates = []
    if login := event.details.get("login"):
        candidates.append(({"subject": "account", "value": login}, failures.filter(details__login=login)))
    if event.ip_address:
        candidates.append(
            ({"subject": "address", "value": event.ip_address}, failures.filter(ip_address=event.ip_address))
        )
    subjects = []
    for subject, rows in candidates:
        count = rows.count()
        if count < settings.BLOOM_SIGNIN_ALERT_THRESHOLD:
            continue
        alerted = SecurityEvent.objects.filter(
            event_type=SIGN_IN_BURST, created_at__gt=since, details__subjects__contains=[subject]
        ).exists()
        if not alerted:
            first = rows.order_by("created_at", "pk").values_list("pk", flat=True).first()
            subjects.append({**subject, "failures": count, "first_failure": str(first)})
    if not subjects:
        return 0
    return _sign_in_burst_send(subjects=subjects, window=window)


def _sign_in_burst_send(*, subjects: list[dict], window: datetime.timedelta) -> int:
    changelist = absolute_url(reverse("admin:accounts_securityevent_changelist"))
    context = {
        "subjects": [
            {**subject, "admin_url": f"{changelist}?{urlencode({'q': subject['value']})}"} for subject in subjects
        ],
        "window_minutes": int(window.total_seconds() // 60),
    }
    burst = ",".join(f"{subject['subject']}:{subject['value']}:{subject['first_failure']}" for subject in subjects)
    queued = 0
    for recipient in security_alert_recipient_list():
        digest = hashlib.sha256(f"{burst}|{recipient}".encode()).hexdigest()[:40]
        row = email_enqueue(
            to=recipient,
            template="accounts/staff_sign_in_burst",
            context=context,
            priority=EmailPriority.HIGH,
            idempotency_key=f"security:sign-in-burst:{digest}",
        )
        queued += row is not None
    security_event_record(
        event_type=SIGN_IN_BURST,
        severity=SecurityEvent.Severity.CRITICAL,
        details={
            "subjects": [{"subject": s["subject"], "value": s["value"]} for s in subjects],
            "failures": {s["value"]: s["failures"] for s in subjects},
        },
    )
    return queued
