"""Staff onboarding: the owner invites a colleague by email with a role (docs/admin.md).

The invitation email carries a one-time link. Following it, she chooses her name and password;
her account is made staff with the role's group and a verified address, since the link proves
the address and nobody ticks "verified" by hand. The back office then asks for an authenticator
(StaffMFARequiredMiddleware) before anything opens.
"""

from __future__ import annotations

import datetime
import hashlib
import secrets

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from bloom.exceptions import ApplicationError
from bloom.links import absolute_url
from bloom.text import normalize_email
from notifications.services import EmailPriority, email_enqueue

from ..models import AdminRole, StaffInvitation, User
from .staff import admin_user_ensure, admin_user_role_set


class InvitationRefused(ApplicationError):
    """The invitation cannot be made or used; `message` says why in staff or invitee language."""


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _lifetime() -> datetime.timedelta:
    return datetime.timedelta(days=settings.BLOOM_STAFF_INVITATION_DAYS)


def _send(*, invitation: StaffInvitation, token: str) -> None:
    inviter = invitation.invited_by
    email_enqueue(
        to=invitation.email,
        template="accounts/staff_invitation",
        context={
            "role": invitation.role.name,
            "inviter": inviter.get_full_name() if inviter else "The practice",
            "accept_url": absolute_url(reverse("accounts:staff_invitation_accept", args=[token])),
            "expires_at": invitation.expires_at,
        },
        priority=EmailPriority.HIGH,
        idempotency_key=f"staff-invitation:{invitation.token_hash[:40]}",
    )


@transaction.atomic
def staff_invitation_create(*, email: str, role: AdminRole, invited_by: User) -> StaffInvitation:
    """Invite `email` to the back office with `role` and queue the invitation email.

    Refuses an address that already has an account (give that account a role from its user page
    instead) or that already has a pending invitation (resend that one). The token is returned
    only inside the email; the row keeps its digest.
    """
    address = normalize_email(email)
    if User.objects.filter(email__iexact=address).exists():
        raise InvitationRefused(
            f"{address} already has a Bloom account. Open it under Members › Users and give it a role there."
        )
    pending = StaffInvitation.objects.filter(
        email__iexact=address, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    if pending.exists():
        raise InvitationRefused(f"{address} already has a pending invitation. Use “Send again” on it instead.")
    token = secrets.token_urlsafe(32)
    invitation = StaffInvitation.objects.create(
        email=address,
        role=role,
        invited_by=invited_by,
        token_hash=_digest(token),
        expires_at=timezone.now() + _lifetime(),
    )
    _send(invitation=invitation, token=token)
    return invitation


@transaction.atomic
def staff_invitation_resend(*, invitation: StaffInvitation) -> StaffInvitation:
    """A new link (the old one stops working) and a new expiry, for a pending or expired invitation."""
    invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationRefused(f"The invitation for {invitation.email} was {invitation.state}; make a new one.")
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _digest(token)
    invitation.expires_at = timezone.now() + _lifetime()
    invitation.save(update_fields=["token_hash", "expires_at"])
    _send(invitation=invitation, token=token)
    return invitation


@transaction.atomic
def staff_invitation_revoke(*, invitation: StaffInvitation) -> StaffInvitation:
    """The link stops working at once. An accepted invitation cannot be revoked (edit the account)."""
    invitation = StaffInvitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at:
        raise InvitationRefused(f"{invitation.email} has already joined; change her account instead.")
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
    return invitation


def staff_invitation_for_token(*, token: str) -> StaffInvitation:
    """The usable invitation behind a link, or InvitationRefused with a sentence for the invitee."""
    invitation = StaffInvitation.objects.select_related("role").filter(token_hash=_digest(token)).first()
    if invitation is None or invitation.revoked_at:
        raise InvitationRefused("This invitation link is not valid any more. Ask the practice for a new one.")
    if invitation.accepted_at:
        raise InvitationRefused("This invitation has already been used. Sign in with the password you chose.")
    if invitation.expires_at <= timezone.now():
        raise InvitationRefused("This invitation has expired. Ask the practice to send it again.")
    return invitation


@transaction.atomic
def staff_invitation_accept(*, token: str, first_name: str, last_name: str, password: str) -> User:
    """Make her staff account from the invitation: role, verified primary address, password.

    One use only: the row is locked and stamped in the same transaction as the account, so two
    clicks on the link make one account. The password has been through the validators already.
    """
    invitation = staff_invitation_for_token(token=token)
    invitation = StaffInvitation.objects.select_for_update().select_related("role").get(pk=invitation.pk)
    if invitation.accepted_at or invitation.revoked_at:
        raise InvitationRefused("This invitation has already been used. Sign in with the password you chose.")
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise InvitationRefused("An account with this address exists already. Sign in, or ask the practice.")
    user = User.objects.create_user(
        invitation.email, password, first_name=first_name.strip(), last_name=last_name.strip(), is_staff=True
    )
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    admin_user_role_set(admin_user=admin_user_ensure(user=user), role=invitation.role)
    invitation.accepted_at = timezone.now()
    invitation.accepted_user = user
    invitation.save(update_fields=["accepted_at", "accepted_user"])
    return user
