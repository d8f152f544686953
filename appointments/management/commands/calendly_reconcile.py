from django.core.management.base import BaseCommand, CommandError

from appointments import reconcile
from bloom.progress import progress_bar

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Read Calendly's scheduled events (from --days ago on) and apply, through the webhook path, "
        "every booking and cancellation whose webhook never arrived. Fails (exit 1) when Calendly "
        "cannot be read (nothing is applied then) or any difference could not be applied."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=reconcile.DEFAULT_DAYS,
            help=f"Sessions starting this many days ago or later (default {reconcile.DEFAULT_DAYS}).",
        )

    def handle(self, *args, days, **options):
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        self.stdout.write(f"Reading Calendly's scheduled events of the last {days} days and ahead ...")
        interactive = hasattr(self.stdout, "isatty") and self.stdout.isatty()

        def progress(done: int, total: int) -> None:
            line = f"{progress_bar(done, total, width=BAR_WIDTH)} {done}/{total} events' invitees read"
            if interactive:
                self.stdout.write(f"\r{line}", ending="")
                if done == total:
                    self.stdout.write("")
            elif done == total or done % 25 == 0:
                self.stdout.write(line)

        result = reconcile.calendly_reconcile(days=days, progress=progress)
        for failure in result.failures:
            self.stderr.write(f"  not applied: {failure}")
        if not result.ok:
            raise CommandError(result.summary())
        self.stdout.write(self.style.SUCCESS(result.summary()))
