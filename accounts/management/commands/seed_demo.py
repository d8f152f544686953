"""Load idempotent demo data: a member, a staff owner, then each app's `demo.py`.

Every local app may provide `<app>/demo.py` with `seed(*, stdout) -> None`; it must be
idempotent (get_or_create on natural keys) so `make run` can call this on every start.
"""

import importlib

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.demo import DEMO_LOGINS


class Command(BaseCommand):
    help = "Create or refresh the demo data (safe to run repeatedly)."

    def handle(self, *args, **options):
        for label in settings.LOCAL_APPS:
            try:
                module = importlib.import_module(f"{label}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{label}.demo":
                    raise
                continue
            with transaction.atomic():
                module.seed(stdout=self.stdout)
            self.stdout.write(f"  demo data: {label} ready")
        self.stdout.write(self.style.SUCCESS("Demo logins:"))
        for role, email, password in DEMO_LOGINS:
            self.stdout.write(f"  {role:<8} {email}  /  {password}")
