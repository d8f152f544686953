"""Load idempotent demo data: a member, a staff owner, then each app's `demo.py`.

Every local app may provide `<app>/demo.py` with `seed(*, stdout) -> None`; it must be
idempotent (get_or_create on natural keys) so `make run` can call this on every start.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import DEMO_LOGINS
from bloom.discovery import local_app_modules
from bloom.reports import report_views_refresh


class Command(BaseCommand):
    help = "Create or refresh the demo data (safe to run repeatedly)."

    def handle(self, *args, **options):
        for label, module in local_app_modules("demo"):
            with transaction.atomic():
                module.seed(stdout=self.stdout)
            self.stdout.write(f"  demo data: {label} ready")
        # The admin's reports read materialized views that beat refreshes hourly: refresh them now,
        # so a newcomer's first look at /admin/reports/ shows the demo data just loaded.
        timings = report_views_refresh()
        self.stdout.write(f"  reports: {len(timings)} reporting views refreshed in {sum(timings.values()):.1f} s")
        self.stdout.write(self.style.SUCCESS("Demo logins:"))
        for role, email, password in DEMO_LOGINS:
            self.stdout.write(f"  {role:<10} {email}  /  {password}")
