"""What gdpr_export and gdpr_erase share: finding the member and asking to confirm."""

from __future__ import annotations

from django.core.management.base import CommandError

from accounts.models import DataRequest, DataRequestStatus, User


def member_for_address(address: str) -> User:
    member = User.objects.filter(email__iexact=address.strip()).first()
    if member is None:
        raise CommandError(f"No member has the address {address!r}. Check the spelling; nothing was changed.")
    return member


def confirm_address(command, *, address: str, member: User, what: str, assume_yes: bool) -> None:
    command.stdout.write(f"{what} for {member.email}.")
    if assume_yes:
        return
    typed = input("Type the address to confirm: ").strip()
    if typed.lower() != member.email.lower():
        raise CommandError("The address you typed does not match; nothing was changed.")


def open_request(*, member: User, kind: str) -> DataRequest:
    """Her pending request of this kind, or a new one (the command is the request's record)."""
    pending = DataRequest.objects.filter(user=member, kind=kind, status=DataRequestStatus.PENDING).first()
    return pending or DataRequest.objects.create(user=member, kind=kind)
