"""manage.py gdpr_erase --email ADDRESS: erase a member everywhere the registry knows (docs/accounts.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.models import DataRequestKind
from accounts.services import data_request_process
from bloom.exceptions import ApplicationError

from ._gdpr import confirm_address, member_for_address, open_request


class Command(BaseCommand):
    help = "Erase a member: every registered model by its rule, her files and mentions. Cannot be undone."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The member's email address.")
        parser.add_argument("--yes", action="store_true", help="Do not ask to confirm.")

    def handle(self, *args, email, yes, **options):
        member = member_for_address(email)
        confirm_address(
            self,
            address=email,
            member=member,
            what="Erasing (this cannot be undone) everything Bloom holds",
            assume_yes=yes,
        )
        self.stdout.write("Erasing her records from every registered model…")
        try:
            data_request_process(data_request=open_request(member=member, kind=DataRequestKind.DELETE), staff_user=None)
        except ApplicationError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(f"Erased member {member.pk}; she has been emailed that it is done."))
