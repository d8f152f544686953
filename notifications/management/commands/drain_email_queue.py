"""Send every due email now (what the worker does), e.g. after Redis was down."""

from django.core.management.base import BaseCommand

from bloom.progress import progress_bar
from notifications.drain import email_queue_drain
from notifications.services import email_queue_sweep


class Command(BaseCommand):
    help = "Reclaim expired leases, then send every due email in the outbox, with progress."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=None)

    def handle(self, *args, batch_size=None, **options):
        sweep = email_queue_sweep()
        self.stdout.write(f"{sweep.due} due, {sweep.reclaimed} expired lease(s) reclaimed")

        def progress(result):
            total = max(sweep.due, result.handled) or 1
            self.stdout.write(f"\r{progress_bar(result.handled, total, width=30)} {result.handled}/{total}", ending="")
            self.stdout.flush()

        result = email_queue_drain(batch_size=batch_size, progress=progress)
        self.stdout.write("")
        if result.transport_down:
            self.stdout.write(
                self.style.WARNING(
                    "Stopped early: the mail server could not be reached (see each email's last error in the "
                    "admin's Email queue). What is left stays pending for the next attempt."
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Drained the email queue: {result.sent} sent, {result.retried} to retry, "
                f"{result.failed} failed in {result.batches} batch(es)."
            )
        )
