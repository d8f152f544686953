from django.core.management.base import BaseCommand, CommandError

from bloom.progress import progress_bar
from bloom.retention import retention_apply, retention_policies


class Command(BaseCommand):
    help = (
        "Apply the data-retention policies (docs/adr/0081, 0350; table in docs/operations.md). "
        "--dry-run only counts what is due; --only NAME runs one policy (its setting key or name)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what is due, change nothing")
        parser.add_argument("--only", metavar="NAME", help="only policies with this setting key or name")

    def handle(self, *args, dry_run: bool = False, only: str | None = None, **options):
        if only is not None and not retention_policies(only):
            keys = sorted({policy.setting for _label, policy in retention_policies()})
            raise CommandError(f"No retention policy is called {only!r}. Known keys: {', '.join(keys)}.")

        def on_batch(label, policy, done, due):
            self.stdout.write(f"  {label}: {policy.name} {progress_bar(done, due)} {done}/{due}")

        results = retention_apply(dry_run=dry_run, only=only, on_batch=None if dry_run else on_batch)
        for r in results:
            if dry_run:
                done = f"would {r.policy.action}" if r.due else "nothing to do"
            else:
                done = f"{r.changed} changed ({r.policy.action})"
            held = f"; {r.held} kept by a hold" if r.held else ""
            self.stdout.write(f"{r.app_label}: {r.policy.name} (over {r.days} days): {r.due} due, {done}{held}")
        due = sum(r.due for r in results)
        if dry_run:
            summary = f"{len(results)} policies, {due} rows due; run without --dry-run to apply."
        else:
            summary = f"{len(results)} policies, {sum(r.changed for r in results)} rows changed."
        self.stdout.write(self.style.SUCCESS(summary))
