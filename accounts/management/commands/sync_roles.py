"""Create or refresh the default staff roles (accounts/roles.py DEFAULT_ROLES); idempotent."""

from django.core.management.base import BaseCommand

from accounts.roles import roles_sync_defaults


class Command(BaseCommand):
    help = "Create the default staff roles and sync their permissions (safe to run repeatedly)."

    def handle(self, *args, **options):
        result = roles_sync_defaults()
        for role, count in result:
            self.stdout.write(f"  {role.slug:<15} {count} permissions")
        self.stdout.write(self.style.SUCCESS(f"Synced {len(result)} roles."))
