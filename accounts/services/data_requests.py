"""Data requests: a member's export or deletion, carried out by staff."""

from __future__ import annotations

import uuid

from allauth.account.models import EmailAddress
from django.db import IntegrityError, transaction
from django.utils import timezone

from bloom.exceptions import ApplicationError
from notifications.services import email_enqueue, notification_create

from ..models import (
    CalendarFeed,
    DataRequest,
    DataRequestKind,
    DataRequestStatus,
    User,
    UserPreferences,
    UserProfile,
    WellnessEntry,
)


def data_request_create(*, member: User, kind: str) -> DataRequest:
    """Open an export or deletion request; refuses a second open request of the same kind."""
    try:
        with transaction.atomic():
            return DataRequest.objects.create(user=member, kind=kind)
    except IntegrityError as exc:
        raise ApplicationError("You already have a request of this kind waiting; we will be in touch.") from exc


@transaction.atomic
def data_request_process(*, data_request: DataRequest, staff_user: User) -> DataRequest:
    """Carry out a pending request (staff action).

    Export: stores the member's accounts data as JSON for them to download and sends a
    portal notice (and email, per preferences). Delete: mails the member, then anonymises the account (payment and clinical records other apps must keep stay,
    pointing at an anonymous, inactive user) and removes wellness entries.
    Idempotent: a request that is no longer pending is returned unchanged.
    """
    from ..selectors.members import member_data_export

    request_row = DataRequest.objects.select_for_update().get(pk=data_request.pk)
    if request_row.status != DataRequestStatus.PENDING:
        return request_row
    member = request_row.user
    if request_row.kind == DataRequestKind.EXPORT:
        request_row.export_data = member_data_export(member=member)
    else:
        email_enqueue(
            to=member.email,
            user=member,
            subject="Your Bloom account has been deleted",
            text_body=(
                "As you asked, we have deleted your Bloom account and the personal information it held.\n"
                "Records we must keep by law (payments, clinical records) are kept without your contact details.\n"
            ),
            idempotency_key=f"data-request:{request_row.pk}",
        )
        member_anonymize(member=member)
    request_row.status = DataRequestStatus.COMPLETED
    request_row.completed_at = timezone.now()
    request_row.processed_by = staff_user
    request_row.save(update_fields=["export_data", "status", "completed_at", "processed_by"])
    if request_row.kind == DataRequestKind.EXPORT:
        notification_create(
            member=member,
            type="data_export_ready",
            title="Your data export is ready",
            message="Download it from Sign-in and security in your account.",
            data={"data_request_id": str(request_row.pk)},
        )
    return request_row


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
def member_anonymize(*, member: User) -> None:
    """Erase a member's personal data and make the account unusable, keeping the row for
    records other apps must hold (payments, clinical records). Registered erasers run first."""
    for erase in _ERASERS:
        erase(member=member)
    member.email = f"deleted-{uuid.uuid4().hex}@deleted.invalid"
    member.first_name = ""
    member.last_name = ""
    member.is_active = False
    member.set_unusable_password()
    member.save(update_fields=["email", "first_name", "last_name", "is_active", "password"])
    EmailAddress.objects.filter(user=member).delete()
    WellnessEntry.objects.filter(user=member).delete()
    # Her screening answers go too; risk alerts stay, as the record of the care team's response.
    member.screening_points.all().delete()
    member.screening_responses.all().delete()
    member.pauses.all().delete()  # why she paused is health information
    CalendarFeed.objects.filter(user=member).delete()  # her calendar link stops working
    UserProfile.objects.filter(user=member).update(
        first_name="",
        last_name="",
        preferred_name="",
        phone="",
        due_date=None,
        baby_birth_date=None,
        topics=[],
        referral_source=None,
        marketing_consent=False,
    )
    UserPreferences.objects.filter(user=member).update(newsletter=False, notification_channel="portal")
