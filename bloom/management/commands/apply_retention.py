from django.core.management.base import BaseCommand

from bloom.retention import retention_apply


class Command(BaseCommand):
    help = "Apply the data-retention policies (docs/adr/0081); --dry-run only counts what is due."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what is due, change nothing")

    def handle(self, *args, dry_run: bool = False, **options):
        def on_batch(label, policy, done, due):
            bar = "#" * int(20 * done / due) if due else "#" * 20
            self.stdout.write(f"  [{bar:<20}] {done}/{due} {label}: {policy.name}")

        results = retention_apply(dry_run=dry_run, on_batch=None if dry_run else on_batch)
        for r in results:
            done = "would " + r.policy.action if dry_run else f"{r.changed} changed ({r.policy.action})"
            self.stdout.write(f"{r.app_label}: {r.policy.name} (over {r.days} days): {r.due} due, {done}")
        due = sum(r.due for r in results)
        if dry_run:
            summary = f"{len(results)} policies, {due} rows due; run without --dry-run to apply."
        else:
            summary = f"{len(results)} policies, {sum(r.changed for r in results)} rows changed."
        self.stdout.write(self.style.SUCCESS(summary))
