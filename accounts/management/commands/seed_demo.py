"""Load idempotent demo data: a member, a staff owner, then each app's `demo.py`.

Every local app may provide `<app>/demo.py` with `seed(*, stdout) -> None`; it must be
idempotent (get_or_create on natural keys) so `make run` can call this on every start.
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import DEMO_LOGINS
from bloom.discovery import local_app_modules


class Command(BaseCommand):
    help = "Create or refresh the demo data (safe to run repeatedly)."

    def handle(self, *args, **options):
        for label, module in local_app_modules("demo"):
            with transaction.atomic():
                module.seed(stdout=self.stdout)
            self.stdout.write(f"  demo data: {label} ready")
        self.stdout.write(self.style.SUCCESS("Demo logins:"))
        for role, email, password in DEMO_LOGINS:
            self.stdout.write(f"  {role:<10} {email}  /  {password}")
