"""Data retention for appointments (docs/adr/0081, 0350; defaults in docs/operations.md "Retention").

Clinical records are kept BLOOM_RETENTION_DAYS["clinical_records"] (7 years) after the member's
last session. Appointment and note rows stay afterwards (payments, receipts and the ledger point
at them): their free text is redacted. A scheduled appointment or a live charge holds the
member's rows (HOLDS).
"""

from django.db.models import Q, QuerySet

from bloom.retention import RetentionHold, RetentionPolicy, redact_rows, webhook_events_policy

from .models import (
    AppointmentData,
    AppointmentPayment,
    AppointmentStatus,
    CalendlyWebhookEvent,
    PaymentStatus,
    SessionNote,
    SessionNoteVersion,
)

LIVE_PAYMENT_STATUSES = [PaymentStatus.PENDING, PaymentStatus.CHECKING, PaymentStatus.AUTHORIZED]


def _members_seen_since(cutoff) -> QuerySet:
    """Members with a session starting on or after `cutoff` (NULLs left out: NOT IN would match nothing)."""
    return AppointmentData.objects.filter(starts_at__gte=cutoff, user__isnull=False).values("user_id")


def _past_last_session(queryset: QuerySet, cutoff, path: str = "") -> QuerySet:
    """Rows of `queryset` whose appointment (via `path`) started before `cutoff`, for a member not seen since."""
    return queryset.filter(**{f"{path}starts_at__lt": cutoff}).exclude(
        **{f"{path}user__in": _members_seen_since(cutoff)}
    )


def _notes_with_text(cutoff) -> QuerySet:
    return _past_last_session(SessionNote.objects.exclude(body=""), cutoff, "appointment__")


def _redact_notes(notes: QuerySet) -> int:
    """Empty each note's body and every version's (draft, signed, addenda); dates, authors and status stay."""
    SessionNoteVersion.objects.filter(note__in=notes).exclude(body="").update(body="")
    return notes.update(body="")


APPOINTMENT_TEXT = (
    Q(~Q(invitee_name="") | ~Q(cancel_reason="") | Q(location__isnull=False) | Q(zoom_meeting_url__isnull=False))
    | ~Q(diagnosis_codes=[])
    | ~Q(service_code="")
)


def _appointments_with_text(cutoff) -> QuerySet:
    return _past_last_session(AppointmentData.objects.filter(APPOINTMENT_TEXT), cutoff)


PAYMENT_TEXT = ~Q(waive_reason="") | ~Q(failure_message="")

POLICIES = [
    webhook_events_policy(CalendlyWebhookEvent),
    RetentionPolicy(
        name="session_notes bodies past the limit after the last session",
        setting="clinical_records",
        find=_notes_with_text,
        apply=_redact_notes,
        action="empty the note's and its versions' bodies",
        member="appointment__user",
    ),
    RetentionPolicy(
        name="appointment_data free text past the limit after the last session",
        setting="clinical_records",
        find=_appointments_with_text,
        apply=redact_rows(
            invitee_name="",
            cancel_reason="",
            location=None,
            zoom_meeting_url=None,
            diagnosis_codes=[],
            service_code="",
        ),
        action="empty name, reasons, location, join link and superbill codes",
        member="user",
    ),
    RetentionPolicy(
        name="appointment_payments free text older than the limit",
        setting="payments",
        find=lambda cutoff: AppointmentPayment.objects.filter(PAYMENT_TEXT, created_at__lt=cutoff).exclude(
            status__in=LIVE_PAYMENT_STATUSES
        ),
        apply=redact_rows(waive_reason="", failure_message=""),
        action="empty waive reason and failure message",
        member="user",
    ),
]

HOLDS = [
    RetentionHold(
        name="scheduled appointment",
        users=lambda now: AppointmentData.objects.filter(status=AppointmentStatus.SCHEDULED, user__isnull=False).values(
            "user_id"
        ),
    ),
    RetentionHold(
        name="live appointment charge",
        users=lambda now: AppointmentPayment.objects.filter(status__in=LIVE_PAYMENT_STATUSES).values("user_id"),
    ),
]
