"""manage.py gdpr_export --email ADDRESS --out FILE: a member's data export as a zip (docs/accounts.md)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from accounts.models import DataRequestKind
from accounts.selectors import member_data_zip
from accounts.services import data_request_process

from ._gdpr import confirm_address, member_for_address, open_request


class Command(BaseCommand):
    help = "Write a member's data export (JSON per model, her files, a summary) to a zip file."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True, help="The member's email address.")
        parser.add_argument("--out", required=True, help="Where to write the zip.")
        parser.add_argument("--yes", action="store_true", help="Do not ask to confirm.")

    def handle(self, *args, email, out, yes, **options):
        member = member_for_address(email)
        confirm_address(self, address=email, member=member, what="Exporting everything Bloom holds", assume_yes=yes)
        self.stdout.write("Gathering her records from every registered model…")
        done = data_request_process(
            data_request=open_request(member=member, kind=DataRequestKind.EXPORT), staff_user=None
        )
        counts = {label: len(rows) for label, rows in done.export_data["records"].items() if rows}
        for label, count in sorted(counts.items()):
            self.stdout.write(f"  {label}: {count}")
        Path(out).write_bytes(member_data_zip(archive=done.export_data))
        self.stdout.write(
            self.style.SUCCESS(
                f"Wrote {out}: {sum(counts.values())} records, {len(done.export_data['files'])} file(s)."
            )
        )
