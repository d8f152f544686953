"""Data requests: a member's export or deletion, carried out by staff."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.privacy import ERASED_ADDRESS, privacy_erase
from bloom.retention import legal_hold_users
from notifications.services import email_enqueue, notification_create

from ..models import (
    AdminAction,
    AdminActivityLog,
    AdminUser,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    User,
)
from ..selectors.members import data_request_deadline


def data_request_create(*, member: User, kind: str) -> DataRequest:
    """Open an export or deletion request; refuses a second open request of the same kind."""
    try:
        with transaction.atomic():
            return DataRequest.objects.create(user=member, kind=kind)
    except IntegrityError as exc:
        raise ApplicationError("You already have a request of this kind waiting; we will be in touch.") from exc


@transaction.atomic
def data_request_process(*, data_request: DataRequest, staff_user: User | None) -> DataRequest:
    """Carry out a pending request (staff action, after the admin's confirmation page).

    Export: stores her rows of every registered model (bloom/privacy.py) and the list of her
    files for her to download as a zip, notifies her in the portal and by email (the link
    needs her to sign in). Delete: erases her from every registered model by its rule
    (member_anonymize), then mails her old address that it is done; refused (ApplicationError)
    while she is under a legal hold. Writes the audit row.
    Idempotent: a request that is no longer pending is returned unchanged.
    """
    from ..selectors.members import member_data_archive

    request_row = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if request_row.status != DataRequestStatus.PENDING:
        return request_row
    member = request_row.user
    if request_row.kind == DataRequestKind.EXPORT:
        request_row.export_data = member_data_archive(member=member)
    else:
        if legal_hold_users(timezone.now()).filter(pk=member.pk).exists():
            # GDPR Art. 17(3)(e): data needed for legal claims is not erased while the hold lasts.
            raise ApplicationError(
                "This member is under a legal hold (BLOOM_RETENTION_LEGAL_HOLD_EMAILS), so she cannot be erased "
                "until it is lifted. Her request stays open."
            )
        address = member.email
        member_anonymize(member=member)
        email_enqueue(
            to=address,
            subject="Your Bloom account has been deleted",
            text_body=(
                "As you asked, we have deleted your Bloom account and the personal information it held.\n"
                "Records we must keep by law (payments, clinical records) are kept without your contact details.\n"
                "Thank you for letting us be part of your care. If you ever want to come back, you are welcome.\n"
            ),
            idempotency_key=f"{FAREWELL_KEY}{request_row.pk}",
        )
    request_row.status = DataRequestStatus.COMPLETED
    request_row.completed_at = timezone.now()
    request_row.processed_by = staff_user
    request_row.save(update_fields=["export_data", "status", "completed_at", "processed_by"])
    data_request_audit(data_request=request_row, staff_user=staff_user, via="admin" if staff_user else "command")
    if request_row.kind == DataRequestKind.EXPORT:
        notification_create(
            member=member,
            type="data_export_ready",
            title="Your data export is ready",
            message="Download it from Sign-in and security in your account.",
            data={"data_request_id": str(request_row.pk)},
        )
        email_enqueue(
            to=member.email,
            user=member,
            subject="Your Bloom data export is ready",
            text_body=(
                "The copy of your information you asked for is ready.\n"
                f"Sign in and download it here: {settings.SITE_URL}{reverse('accounts:security')}\n"
                "For your privacy the link only works once you are signed in.\n"
            ),
            idempotency_key=f"data-request-done:{request_row.pk}",
        )
    return request_row


FAREWELL_KEY = "data-request:"


def data_request_farewells_scrub() -> int:
    """Once the email telling an erased member it is done has left the outbox (sent, failed or
    cancelled), blank its address, message and headers: the last copy of her address goes.
    Idempotent. Returns rows scrubbed."""
    from notifications.models import EmailQueue, EmailStatus

    erased = DataRequest.objects.filter(kind=DataRequestKind.DELETE, status=DataRequestStatus.COMPLETED)
    keys = [f"{FAREWELL_KEY}{pk}" for pk in erased.values_list("pk", flat=True)]
    return (
        EmailQueue.objects.filter(
            idempotency_key__in=keys,
            status__in=[EmailStatus.SENT, EmailStatus.FAILED, EmailStatus.CANCELLED],
        )
        .exclude(to_email=ERASED_ADDRESS)
        .update(to_email=ERASED_ADDRESS, mime_message="", headers={}, text_body="", last_error="")
    )


def data_request_audit(*, data_request: DataRequest, staff_user: User | None, via: str) -> AdminActivityLog:
    """The audit row for a carried-out request: who, which kind, how (admin or command line).
    Names the request, never her email (she may just have been erased)."""
    return AdminActivityLog.objects.create(
        admin_user=AdminUser.objects.filter(user=staff_user).first() if staff_user else None,
        user=staff_user,
        action=AdminAction.VIEW_HEALTH if data_request.kind == DataRequestKind.EXPORT else AdminAction.DELETE,
        object_type="accounts.datarequest",
        object_id=str(data_request.pk),
        object_repr=f"{data_request.get_kind_display()} carried out",
        changes={"kind": data_request.kind, "via": via, "member_id": str(data_request.user_id)},
    )


def data_request_reminders_send(*, today: datetime.date | None = None) -> int:
    """Email owners and support about pending requests whose deadline is within
    BLOOM_DATA_REQUEST_REMINDER_DAYS (default 7) days, or past. One email per request per day
    (idempotency key). Returns emails queued."""
    from ..selectors.staff import staff_owner_list

    today = today or timezone.localdate()
    horizon = today + datetime.timedelta(days=settings.BLOOM_DATA_REQUEST_REMINDER_DAYS)
    support = User.objects.filter(
        is_active=True, is_staff=True, admin_user__is_active=True, admin_user__role__slug="support"
    )
    recipients = sorted({user.email for user in [*staff_owner_list(), *support]}) or [settings.BLOOM_STAFF_ALERT_EMAIL]
    sent = 0
    for request_row in DataRequest.objects.filter(status=DataRequestStatus.PENDING).order_by("requested_at"):
        deadline = timezone.localdate(data_request_deadline(data_request=request_row))
        if deadline > horizon:
            continue
        days = (deadline - today).days
        when = (
            f"in {days} day(s), on {deadline:%-d %B %Y}"
            if days >= 0
            else f"{-days} day(s) ago, on {deadline:%-d %B %Y}"
        )
        for address in recipients:
            email_enqueue(
                to=address,
                subject=f"A data request is due {'soon' if days >= 0 else '(overdue)'}",
                text_body=(
                    f"A member's request ({request_row.get_kind_display().lower()}) must be answered by law {when}.\n"
                    f"Open it here: {settings.SITE_URL}"
                    f"{reverse('admin:accounts_datarequest_change', args=[request_row.pk])}\n"
                ),
                idempotency_key=f"data-request-reminder:{request_row.pk}:{address}:{today.isoformat()}",
            )
            sent += 1
    return sent


@transaction.atomic
def data_request_reject(*, data_request: DataRequest, staff_user: User, note: str = "") -> DataRequest:
    """Close a pending request without acting on it (e.g. a duplicate)."""
    request_row = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if request_row.status == DataRequestStatus.PENDING:
        request_row.status = DataRequestStatus.REJECTED
        request_row.completed_at = timezone.now()
        request_row.processed_by = staff_user
        request_row.staff_note = note
        request_row.save(update_fields=["status", "completed_at", "processed_by", "staff_note"])
    return request_row


# Apps above accounts erase their part from AppConfig.ready() (the layer contract keeps accounts
# from importing them). Each eraser takes member= and runs first, while her email is still hers.
_ERASERS: list = []


def register_eraser(erase) -> None:
    if erase not in _ERASERS:
        _ERASERS.append(erase)


@transaction.atomic
def member_anonymize(*, member: User) -> dict[str, int]:
    """Erase a member everywhere the personal-data registry knows (bloom/privacy.py): each
    model by its rule (delete, anonymise, or keep pseudonymised for a stated legal reason),
    her files, the mentions of her in webhook payloads and logs, and her cache keys; the
    account row stays, anonymous and unusable, for the records other apps must keep.
    Registered erasers run first. Returns rows touched per model."""
    for erase in _ERASERS:
        erase(member=member)
    return privacy_erase(member=member)
